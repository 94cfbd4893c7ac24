#!/usr/bin/env bash
# The official OpenAI Node client (npm "openai", pinned in tests/openai_client/package.json)
# against mockllm, streaming included: over HTTP, then over HTTPS (mockllm --tls, its throwaway
# CA trusted through NODE_EXTRA_CA_CERTS, verification on) under both concurrency models.
# Skips (exit 77) when node/npm or the package cannot be had.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mockllm=${LL_MOCKLLM:?LL_MOCKLLM must name the mockllm binary}
command -v node >/dev/null && command -v npm >/dev/null || { echo "skip: node/npm missing"; exit 77; }
if [ ! -d "$here/openai_client/node_modules/openai" ]; then
    (cd "$here/openai_client" && timeout 300 npm install --no-audit --no-fund --silent >/dev/null 2>&1) ||
        { echo "skip: npm install openai failed"; exit 77; }
fi

# check ARGS...: one mockllm with ARGS, the client against it.
check() {
    local word host port tls ca url
    coproc MOCK { exec "$mockllm" --port 0 --seed 7 "$@"; }
    local pid=$MOCK_PID
    trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
    read -r -t 10 word host port tls ca <&"${MOCK[0]}" || { echo "mockllm did not start"; exit 1; }
    [ "$word" = listening ] || { echo "unexpected first line: $word $host $port"; exit 1; }
    if [ "${tls:-}" = tls ]; then
        [ -f "$ca" ] || { echo "mockllm --tls named no CA file"; exit 1; }
        NODE_EXTRA_CA_CERTS=$ca node "$here/openai_client/check.mjs" "https://localhost:$port/v1"
        # the same client without the CA must refuse the certificate
        if node "$here/openai_client/check.mjs" "https://localhost:$port/v1" >/dev/null 2>&1; then
            echo "openai-client: an untrusted certificate was accepted"
            exit 1
        fi
    else
        node "$here/openai_client/check.mjs" "http://$host:$port/v1"
    fi
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    trap - EXIT
    echo "ok: openai client with mockllm $*"
}

check
check --tls
check --tls --model threads
