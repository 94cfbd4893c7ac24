#!/usr/bin/env bash
# test_endpoints_cli.sh - the real-endpoint rules of the CLI (issue 12), end to end:
#   - an endpoint URL that cannot work (port 99999, port 0, a scheme curl speaks but not HTTP)
#     is a usage error of run, demo, ab and batch: exit 2, one line, nothing run, nothing written
#   - run and demo send load only where they were told for this run: an exported
#     OPENAI_BASE_URL (here a second mockllm standing for a paid endpoint) gets nothing unless
#     run is given --url-from-env, and the first line says where the load goes; batch and ab
#     still read the environment
#   - the API key is never printed, whichever header carries it (--api-key-header)
# The "paid" mockllm's own request counter is the truth. Needs LL_LLMLOAD and LL_MOCKLLM.
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
MOCKLLM=${LL_MOCKLLM:?set LL_MOCKLLM to the mockllm binary}
command -v curl >/dev/null || { echo "SKIP: no curl"; exit 77; }
tmp=$(mktemp -d)
mock_pid=""
cleanup() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# --- invalid endpoint URLs: usage errors before anything runs --------------------------------
printf '{"id":"a","prompt":"hi"}\n' >"$tmp/in.jsonl"
unset OPENAI_BASE_URL
for url in http://127.0.0.1:99999/v1 http://127.0.0.1:0/v1 ftp://127.0.0.1/v1 "not a url"; do
    for cmd in "run --backend evented --requests 100000" "demo basics" "ab --models a,b" \
        "batch --in $tmp/in.jsonl --out $tmp/out.jsonl"; do
        # shellcheck disable=SC2086
        timeout 20 "$LLMLOAD" $cmd --url "$url" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 2 ] || fail "$cmd --url '$url': exit $rc, want 2 ($(head -c 200 "$tmp/out"))"
        [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$cmd --url '$url': stderr: $(cat "$tmp/err")"
        grep -q "not a usable endpoint URL" "$tmp/err" || fail "$cmd '$url': $(cat "$tmp/err")"
        [ ! -s "$tmp/out" ] || fail "$cmd --url '$url': ran: $(head -c 200 "$tmp/out")"
        [ ! -e "$tmp/out.jsonl" ] || fail "$cmd --url '$url': wrote its output file"
    done
done
OPENAI_BASE_URL=http://127.0.0.1:99999/v1 timeout 20 "$LLMLOAD" run --backend threaded \
    --requests 10 --url-from-env >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || fail "run --url-from-env with OPENAI_BASE_URL port 99999: not a usage error"

# --- a "paid" endpoint in the environment ---------------------------------------------------
"$MOCKLLM" --port 0 >"$tmp/mock.out" 2>"$tmp/mock.err" &
mock_pid=$!
for _ in $(seq 1 100); do grep -q listening "$tmp/mock.out" && break; sleep 0.05; done
port=$(awk '/listening/{print $3; exit}' "$tmp/mock.out")
[ -n "$port" ] || { echo "FAIL: mockllm did not start"; exit 1; }
paid() { # requests the paid endpoint has served
    curl -s "http://127.0.0.1:$port/metrics" | awk '/^mockllm_requests_total/{s+=$NF} END{print s+0}'
}
export OPENAI_BASE_URL=http://127.0.0.1:$port/v1
export OPENAI_API_KEY=sk-PAID-KEY-never-printed

for be in threaded evented; do
    timeout 60 "$LLMLOAD" run --backend "$be" --requests 20 --concurrency 2 >"$tmp/out" 2>&1
    [ $? -eq 0 ] || fail "$be run: exit $?: $(tail -3 "$tmp/out")"
    head -1 "$tmp/out" | grep -q "^llmload run: load goes to http://127.0.0.1:[0-9]*/v1 (embedded mockllm); OPENAI_BASE_URL is set but not used" ||
        fail "$be run: first line: $(head -1 "$tmp/out")"
    [ "$(paid)" -eq 0 ] || fail "$be run without --url: the endpoint in OPENAI_BASE_URL got $(paid) requests"
done
timeout 60 "$LLMLOAD" demo basics --scale 0.02 --backend evented >"$tmp/out" 2>&1 ||
    fail "demo basics: exit $?"
head -1 "$tmp/out" | grep -q "^llmload demo basics: load goes to the embedded mockllm" ||
    fail "demo: first line: $(head -1 "$tmp/out")"
[ "$(paid)" -eq 0 ] || fail "demo: the endpoint in OPENAI_BASE_URL got $(paid) requests"

timeout 60 "$LLMLOAD" run --backend evented --requests 20 --concurrency 2 --url-from-env \
    --api-key-header api-key --json "$tmp/run.json" >"$tmp/out" 2>&1 ||
    fail "run --url-from-env: exit $?: $(tail -3 "$tmp/out")"
head -1 "$tmp/out" | grep -q "^llmload run: load goes to $OPENAI_BASE_URL (OPENAI_BASE_URL, --url-from-env)$" ||
    fail "run --url-from-env: first line: $(head -1 "$tmp/out")"
n=$(paid)
[ "$n" -ge 20 ] || fail "run --url-from-env: the paid endpoint served $n requests, want 20 (+ preflight)"
grep -q "sk-PAID" "$tmp/out" "$tmp/run.json" && fail "the API key was printed"
grep -q '"api_key_header":[[:space:]]*"api-key"' "$tmp/run.json" ||
    fail "run.json does not name the key's header"

timeout 60 "$LLMLOAD" batch --in "$tmp/in.jsonl" --out "$tmp/b.jsonl" >"$tmp/out" 2>&1 ||
    fail "batch: exit $?"
[ "$(paid)" -gt "$n" ] || fail "batch no longer reads OPENAI_BASE_URL"
grep -q "sk-PAID" "$tmp/out" "$tmp/b.jsonl" && fail "batch printed the API key"

[ "$fails" -eq 0 ] && echo "PASS" || exit 1
