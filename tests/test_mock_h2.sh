#!/usr/bin/env bash
# test_mock_h2.sh - mockllm's HTTP/2 (--model loop), seen by curl, nghttp, h2load and raw
# frames; every count is read back from mockllm's /metrics:
#   - ALPN h2 over TLS and h2c with prior knowledge on the cleartext port (which still serves
#     HTTP/1.1); a completion and a stream arrive whole over both;
#   - 200 requests of 300 ms over ONE connection with 100 streams at a time: all answered, one
#     HTTP/2 connection, at least 90 in flight at once; with --h2-max-streams 8, never more
#     than 8; curl --parallel multiplexes 20 onto one connection too;
#   - flow control: a 3,000-token stream read through a 1 KiB stream window (nghttp -w 10)
#     arrives whole;
#   - --h2-goaway-after 3: GOAWAY names the 3rd stream as the last, 3 of 5 are processed and
#     answered, the others not at all (the client may send them again);
#   - RST_STREAM mid-stream (x-mock-fault: close over HTTP/2): the stream ends with
#     INTERNAL_ERROR after role + 3 chunks while the other stream of the same connection
#     finishes;
#   - --h2-settings-after 1 --h2-settings-max 2: SETTINGS lowers MAX_CONCURRENT_STREAMS to 2;
#     never more than 2 in flight since; every request answered or refused (RST_STREAM
#     REFUSED_STREAM, unprocessed), none lost;
#   - bad frames (DATA on stream 0, a bad HPACK index, no preface after ALPN h2): GOAWAY with
#     the right error code, the connection closed, counted; another connection's request is
#     answered meanwhile;
#   - stop: a stream being answered when SIGTERM comes finishes (GOAWAY, grace), exit 0.
# Usage: test_mock_h2.sh MOCKLLM
set -u
MOCK=$1
. "$(dirname "$0")/test_mock_netlib.sh"
for tool in nghttp h2load; do
    command -v $tool >/dev/null || { echo "skip: no $tool (Debian nghttp2-client)"; exit 77; }
done
printf '%s' "$CHAT_BODY" >"$tmp/chat.json"

# ---- ALPN h2 and h2c, completions and streams whole ----
mock_start tls --tls || exit 1
TLS_PORT=$PORT TLS_CA=$CA TLS_BASE=$BASE TLS_CURL=("${CURL[@]}") TLS_PID=$PID
for how in alpn h2c; do
    if [ $how = alpn ]; then
        c=("${TLS_CURL[@]}") base=$TLS_BASE
    else
        mock_start clear || exit 1
        CLEAR_BASE=$BASE CLEAR_PORT=$PORT
        c=("${CURL[@]}" --http2-prior-knowledge) base=$BASE
    fi
    v=$("${c[@]}" -o "$tmp/c.json" -w '%{http_version}' "$base/v1/chat/completions" -d "$CHAT_BODY")
    expect_eq "$how: HTTP version" "$v" 2
    tokens=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["usage"]["completion_tokens"])' "$tmp/c.json" 2>/dev/null)
    expect_eq "$how: completion_tokens" "$tokens" 7
    "${c[@]}" -o "$tmp/s.txt" "$base/v1/chat/completions" -d "$STREAM_BODY"
    expect_eq "$how: stream events" "$(grep -c '^data: ' "$tmp/s.txt")" 10
    expect_eq "$how: stream's last event" "$(grep '^data: ' "$tmp/s.txt" | tail -1)" "data: [DONE]"
    code=$("${c[@]}" -o /dev/null -w '%{http_code}' -I "$base/health")
    expect_eq "$how: HEAD /health" "$code" 200
done
expect_eq "cleartext port still speaks HTTP/1.1" \
    "$("${CURL[@]}" -o /dev/null -w '%{http_version} %{http_code}' "$CLEAR_BASE/health")" "1.1 200"
expect_eq "mockllm_h2_connections_total (h2c: one per curl)" "$(metric mockllm_h2_connections_total)" 3

# ---- a reader that grants no window paces its stream; memory stays bounded ----
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
/usr/bin/python3 "$WIRE" h2-slow "$PORT" || fail "h2 slow reader"
rss1=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
[ $((rss1 - rss0)) -lt 16384 ] && pass "RSS after a 13 MB stream to a slow reader: +$((rss1 - rss0)) KiB" ||
    fail "RSS grew $((rss1 - rss0)) KiB for one paced stream"

# ---- many streams on one connection ----
snapshot "$tmp/m0"
h2load -n 200 -c 1 -m 100 -d "$tmp/chat.json" -H 'content-type: application/json' \
    -H 'x-mock-latency-ms: 300' "$CLEAR_BASE/v1/chat/completions" >"$tmp/h2load.txt" 2>&1
snapshot "$tmp/m1"
grep -q "200 succeeded" "$tmp/h2load.txt" || fail "h2load -m 100: $(grep requests: "$tmp/h2load.txt")"
expect_eq "200 streams: connections opened" \
    "$(($(metric_in "$tmp/m1" mockllm_h2_connections_total) - $(metric_in "$tmp/m0" mockllm_h2_connections_total)))" 1
expect_eq "200 streams: requests answered 200" \
    "$(($(metric_in "$tmp/m1" 'mockllm_requests_total{model="gpt-mock",status="200"}') - $(metric_in "$tmp/m0" 'mockllm_requests_total{model="gpt-mock",status="200"}')))" 200
peak=$(metric_in "$tmp/m1" mockllm_in_flight_peak)
[ "$peak" -ge 90 ] && pass "100 streams at a time: peak in flight $peak" || fail "peak in flight $peak, want >= 90"
mock_stop
# (over TLS: curl 7.88 cannot reuse an h2c connection, curl issue 10634)
urls=()
for i in $(seq 20); do urls+=("$TLS_BASE/health?$i" -o /dev/null); done
PORT=$TLS_PORT BASE=$TLS_BASE CURL=("${TLS_CURL[@]}")
n0=$(metric mockllm_h2_connections_total)
"${CURL[@]}" --no-progress-meter --parallel --parallel-max 20 "${urls[@]}"
n1=$(metric mockllm_h2_connections_total)
expect_eq "curl --parallel: 20 requests over HTTP/2 connections (+1 scrape)" "$((n1 - n0))" 2

mock_start capped --h2-max-streams 8 || exit 1
CAPPED_PID=$PID
# h2load opens its 40 streams before it reads the server's SETTINGS: those over 8 are refused
# (RST_STREAM REFUSED_STREAM: not processed, safe to send again), as nginx or h2o refuse them.
h2load -n 40 -c 1 -m 40 -d "$tmp/chat.json" -H 'x-mock-latency-ms: 200' \
    "$BASE/v1/chat/completions" >"$tmp/h2load8.txt" 2>&1
ok=$(sed -n 's/.* \([0-9]*\) succeeded.*/\1/p' "$tmp/h2load8.txt")
expect_eq "--h2-max-streams 8: peak in flight" "$(metric mockllm_in_flight_peak)" 8
expect_eq "--h2-max-streams 8: answered + refused" "$((ok + $(metric mockllm_h2_resets_total)))" 40
mock_stop

# ---- flow control: a long stream through a 1 KiB window ----
PORT=$TLS_PORT BASE=$TLS_BASE CURL=("${TLS_CURL[@]}") PID=$TLS_PID
printf '{"model":"gpt-mock","messages":[{"role":"user","content":"hi"}],"max_tokens":3000,"stream":true}' >"$tmp/long.json"
timeout 60 nghttp -w 10 -d "$tmp/long.json" "$BASE/v1/chat/completions" >"$tmp/long.txt" 2>"$tmp/long.err"
expect_eq "1 KiB window: events of a 3,000-token stream" "$(grep -c '^data: ' "$tmp/long.txt")" 3003
expect_eq "1 KiB window: last event" "$(grep '^data: ' "$tmp/long.txt" | tail -1)" "data: [DONE]"

# ---- RST_STREAM mid-stream, the connection's other stream unharmed ----
# (tokens 20 ms apart: curl 7.88 drops DATA it has not yet delivered when a RST_STREAM comes
# in the same read; nghttp -v shows HEADERS, DATA, RST_STREAM in that order either way)
rst0=$(metric mockllm_h2_resets_total)
"${CURL[@]}" --no-progress-meter -Z -o "$tmp/ok.txt" "$BASE/v1/chat/completions" -d "$STREAM_BODY" -w '%{num_connects}\n' \
    --next --cacert "$TLS_CA" -H 'x-mock-fault: close' -H 'x-mock-itl-ms: 20' -o "$tmp/rst.txt" \
    "$BASE/v1/chat/completions" \
    -d "$STREAM_BODY" -w '%{num_connects}\n' >"$tmp/conns.txt" 2>"$tmp/rst.err"
grep -q "not closed cleanly: INTERNAL_ERROR" "$tmp/rst.err" && pass "reset stream: $(grep -o 'HTTP/2 stream.*' "$tmp/rst.err")" ||
    fail "reset stream: curl said $(cat "$tmp/rst.err")"
expect_eq "reset stream: events before the reset (role + close_after 3)" "$(grep -c '^data: ' "$tmp/rst.txt")" 4
expect_eq "the other stream: last event" "$(grep '^data: ' "$tmp/ok.txt" | tail -1)" "data: [DONE]"
expect_eq "both streams on one connection (connects: 1 + 0)" "$(sort "$tmp/conns.txt" | tr '\n' ' ')" "0 1 "
expect_eq "mockllm_h2_resets_total" "$(($(metric mockllm_h2_resets_total) - rst0))" 1
# a plain answer cut by the close fault: its headers and half its body, then the reset
nghttp -v -H 'x-mock-fault: close' -d "$tmp/chat.json" "$BASE/v1/chat/completions" 2>&1 |
    grep -Eo "recv (HEADERS|DATA|RST_STREAM) frame" | uniq | tr '\n' ' ' >"$tmp/frames.txt"
expect_eq "close fault on a plain answer: frames" "$(cat "$tmp/frames.txt")" \
    "recv HEADERS frame recv DATA frame recv RST_STREAM frame "
mock_stop

# ---- GOAWAY after 3 streams ----
mock_start goaway --tls --h2-goaway-after 3 || exit 1
nghttp -nv "$BASE/health?1" "$BASE/health?2" "$BASE/health?3" "$BASE/health?4" "$BASE/health?5" \
    >"$tmp/goaway.txt" 2>&1
grep -q "last_stream_id=17, error_code=NO_ERROR" "$tmp/goaway.txt" && pass "GOAWAY names stream 17 (the 3rd: 13, 15, 17)" ||
    fail "GOAWAY: $(grep -A1 GOAWAY "$tmp/goaway.txt" | tr -s ' \n' ' ')"
grep -q "total=5, processed=3" "$tmp/goaway.txt" && pass "nghttp: 3 of 5 processed" || fail "nghttp: $(tail -1 "$tmp/goaway.txt")"
expect_eq "GOAWAY fault counted" "$(metric 'mockllm_h2_faults_total{kind="goaway"}')" 1
expect_eq "streams taken: 3 on the faulted connection, 2 scrapes" "$(metric mockllm_h2_streams_total)" 5
mock_stop

# ---- SETTINGS lowering the streams in flight ----
mock_start settings --h2-settings-after 1 --h2-settings-max 2 --latency-ms 100 || exit 1
h2load -n 20 -c 1 -m 10 -d "$tmp/chat.json" "$BASE/v1/chat/completions" >"$tmp/settings.txt" 2>&1
ok=$(sed -n 's/.* \([0-9]*\) succeeded.*/\1/p' "$tmp/settings.txt")
failed=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' "$tmp/settings.txt")
expect_eq "SETTINGS fault counted" "$(metric 'mockllm_h2_faults_total{kind="settings"}')" 1
expect_eq "after SETTINGS: peak in flight" "$(metric mockllm_in_flight_peak)" 2
expect_eq "answered = h2load's successes" "$(metric 'mockllm_requests_total{model="gpt-mock",status="200"}')" "$ok"
expect_eq "refused (RST_STREAM) = h2load's failures" "$(metric mockllm_h2_resets_total)" "$failed"
expect_eq "none lost: answered + refused" "$((ok + failed))" 20
nghttp -nv "$BASE/health?1" "$BASE/health?2" 2>&1 | grep -q "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):2" &&
    pass "nghttp sees SETTINGS_MAX_CONCURRENT_STREAMS 2" || fail "no SETTINGS change seen by nghttp"
mock_stop

# ---- bad frames, others served ----
mock_start bad --tls || exit 1
"${CURL[@]}" -o /dev/null -w '%{http_code}' -H 'x-mock-latency-ms: 1500' "$BASE/v1/chat/completions" \
    -d "$CHAT_BODY" >"$tmp/slow.code" &
slow=$!
/usr/bin/python3 "$WIRE" h2-badframe "$PORT" "$CA" || fail "DATA on stream 0 (ALPN h2)"
/usr/bin/python3 "$WIRE" h2-badhpack "$PORT" "$CA" || fail "bad HPACK (ALPN h2)"
/usr/bin/python3 "$WIRE" h2-badpreface "$PORT" "$CA" || fail "no preface (ALPN h2)"
expect_eq "mockllm_h2_protocol_errors_total" "$(metric mockllm_h2_protocol_errors_total)" 3
wait "$slow"
expect_eq "a request on another connection meanwhile" "$(cat "$tmp/slow.code")" 200
mock_stop
mock_start badc || exit 1
/usr/bin/python3 "$WIRE" h2-badframe "$PORT" || fail "DATA on stream 0 (h2c)"
/usr/bin/python3 "$WIRE" h2-badhpack "$PORT" || fail "bad HPACK (h2c)"
expect_eq "h2c: mockllm_h2_protocol_errors_total" "$(metric mockllm_h2_protocol_errors_total)" 2

# ---- stop while a stream is answered ----
"${CURL[@]}" --http2-prior-knowledge -o "$tmp/last.txt" -w '%{http_code}' -H 'x-mock-latency-ms: 800' \
    "$BASE/v1/chat/completions" -d "$STREAM_BODY" >"$tmp/last.code" &
last=$!
for _ in $(seq 50); do [ "$(metric mockllm_in_flight)" = 1 ] && break; sleep 0.05; done
mock_stop
expect_eq "mockllm exit after SIGTERM with a stream in flight" "$?" 0
wait "$last"
expect_eq "the stream in flight at stop: status" "$(cat "$tmp/last.code")" 200
expect_eq "the stream in flight at stop: last event" "$(grep '^data: ' "$tmp/last.txt" | tail -1)" "data: [DONE]"

[ "$fails" -eq 0 ] && echo "test_mock_h2: all passed"
exit $((fails > 0))
