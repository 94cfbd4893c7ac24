# test_mock_netlib.sh - sourced by the transport tests of mockllm (test_mock_tls.sh,
# test_mock_h2.sh, test_mock_rtt.sh): start mockllm servers and read their ready line and
# /metrics, count failures, stop every server by its PID at exit. Needs $MOCK.

fails=0
tmp=$(mktemp -d)
mock_pids=()
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
pass() { echo "ok: $*"; }
mock_cleanup() {
    local p
    for p in "${mock_pids[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap mock_cleanup EXIT

# mock_start NAME ARGS...: start mockllm on a free port and wait for its ready line (never a
# sleep). Sets PORT, CA (the CA file it names, or ""), PID, BASE (scheme://127.0.0.1:PORT) and
# CURL (curl with a time limit, and --cacert when there is a CA). Its stderr goes to
# $tmp/NAME.err. 1 when it did not start.
mock_start() {
    local name=$1 fd w h t
    shift
    exec {fd}< <(exec "$MOCK" --port 0 "$@" 2>"$tmp/$name.err")
    PID=$!
    mock_pids+=("$PID")
    PORT="" CA="" t=""
    if ! read -r -t 15 w h PORT t CA <&"$fd" || [ "$w" != listening ]; then
        fail "$name: mockllm did not start: $(head -c 300 "$tmp/$name.err")"
        return 1
    fi
    exec {fd}<&-
    if [ "$t" = tls ]; then
        BASE=https://127.0.0.1:$PORT
        CURL=(curl -sS --max-time 30)
        [ -n "$CA" ] && CURL+=(--cacert "$CA")
    else
        BASE=http://127.0.0.1:$PORT
        CURL=(curl -sS --max-time 30)
    fi
}

# mock_stop: SIGTERM to the last server started; its exit code, which must be 0 (a sanitizer's
# report at exit makes it fail, with the report's start).
mock_stop() {
    local rc
    kill -TERM "$PID" 2>/dev/null
    wait "$PID"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "mockllm (pid $PID) exit $rc on SIGTERM: $(grep -m3 -E "ERROR|SUMMARY|mockllm" "$tmp"/*.err | head -3)"
    fi
    return "$rc"
}

# metric 'NAME{labels}': its value on the current server's /metrics ("" when absent).
metric() {
    "${CURL[@]}" "$BASE/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# snapshot FILE: the current server's /metrics into FILE; metric_in FILE 'NAME{labels}'.
snapshot() {
    "${CURL[@]}" "$BASE/metrics" >"$1"
}
metric_in() {
    awk -v n="$2" '$1 == n { print $2 }' "$1"
}

# expect_eq WHAT GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then pass "$1: $2"; else fail "$1: got '$2', want '$3'"; fi
}

CHAT_BODY='{"model":"gpt-mock","messages":[{"role":"user","content":"hi"}],"max_tokens":7}'
STREAM_BODY='{"model":"gpt-mock","messages":[{"role":"user","content":"hi"}],"max_tokens":7,"stream":true}'
WIRE=$(dirname "$0")/test_mock_wire.py
