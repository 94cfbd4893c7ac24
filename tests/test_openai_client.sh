#!/usr/bin/env bash
# The official OpenAI Node client (npm "openai", pinned in tests/openai_client/package.json)
# against mockllm, streaming included. Skips (exit 77) when node/npm or the package cannot be had.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mockllm=${LL_MOCKLLM:?LL_MOCKLLM must name the mockllm binary}
command -v node >/dev/null && command -v npm >/dev/null || { echo "skip: node/npm missing"; exit 77; }
if [ ! -d "$here/openai_client/node_modules/openai" ]; then
    (cd "$here/openai_client" && timeout 300 npm install --no-audit --no-fund --silent >/dev/null 2>&1) ||
        { echo "skip: npm install openai failed"; exit 77; }
fi
coproc MOCK { exec "$mockllm" --port 0 --seed 7; }
pid=$MOCK_PID
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
read -r -t 10 word host port <&"${MOCK[0]}" || { echo "mockllm did not start"; exit 1; }
[ "$word" = listening ] || { echo "unexpected first line: $word $host $port"; exit 1; }
node "$here/openai_client/check.mjs" "http://$host:$port/v1"
