#!/usr/bin/env bash
# test_client_h2cap.sh - llmload run --max-connections, the ceiling over HTTP/2 at small scale
# (issue 15 item 10), on BOTH backends, against mockllm --tls. The truths are mockllm's own
# /metrics (a fresh server per check): connections it accepted, its peak of requests in flight,
# its HTTP/2 streams and answers.
#   - evented, HTTP/2: 200 in flight over a cap of 4 connections are carried over at most 4,
#     and the server sees them at once (its peak in flight ~200, so they were multiplexed, not
#     queued); llmload's own counts (opened, peak open) agree with the server's;
#   - evented, 300 in flight over 2 connections of up to 200 streams: 150 streams a connection,
#     past curl's default of 100 (the cap raises curl's own stream limit to the server's);
#   - evented, open loop at 200 in flight with 300 slots over 2 connections of 110 streams: the
#     calls spread evenly over the connections (in blocks of slots the first would need 150),
#     so that what llmload counts on the wire is at the server, not waiting in curl;
#   - evented, fewer streams than in flight (2 connections of 16): the rest wait for a stream in
#     curl's pending list and every request is answered exactly once, none lost;
#   - evented, HTTP/1.1 under a cap of 3: 3 connections, 3 in flight at the server at most,
#     requests waiting for a connection in turn (the longest e2e within 2.5 x the median; curl
#     7.88's own pending list left some waiting the whole run);
#   - threaded: a cap below its workers is refused with one clear line before anything is sent;
#     at or above them it opens one connection per worker (the server's count equals the workers);
#   - the peak of connections open at once on both backends with --no-reuse: far below the
#     connections opened (each is closed before the next), at most the in-flight limit.
# Usage: test_client_h2cap.sh LLMLOAD MOCKLLM. Skips (77) without curl or /usr/bin/python3.
set -u
LL=$1
MOCK=$2
for tool in curl /usr/bin/python3; do
    command -v $tool >/dev/null || { echo "skip: no $tool"; exit 77; }
done
. "$(dirname "$0")/test_mock_netlib.sh"
unset OPENAI_BASE_URL OPENAI_API_KEY

# jget FILE PATH...: values from an llmload --json file ("null" when absent).
jget() {
    local f=$1
    shift
    /usr/bin/python3 - "$f" "$@" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for p in sys.argv[2:]:
    v = d
    for k in p.split("."):
        v = v.get(k) if isinstance(v, dict) else None
    print("null" if v is None else (int(v) if isinstance(v, float) and v == int(v) else v))
EOF
}
expect_le() {
    if [ -n "$2" ] && [ "$2" != null ] && [ "$2" -le "$3" ]; then pass "$1: $2 (<= $3)"; else fail "$1: got '$2', want <= $3"; fi
}
expect_ge() {
    if [ -n "$2" ] && [ "$2" != null ] && [ "$2" -ge "$3" ]; then pass "$1: $2 (>= $3)"; else fail "$1: got '$2', want >= $3"; fi
}

# check NAME MOCKARGS -- LLARGS...: a fresh mockllm --tls with MOCKARGS, one llmload run
# against it; then RC, the run's JSON at $tmp/NAME.json, its text at $tmp/NAME.out, and the
# server's figures: S_CONNS (connections accepted, less the /metrics read's own), S_OPEN (the
# most open at once; the read comes after the client closed its own), S_PEAK (peak in flight),
# S_STREAMS (HTTP/2 streams), S_OK (200 answers).
check() {
    local name=$1 margs=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do margs+=("$1"); shift; done
    shift
    mock_start "$name" --tls "${margs[@]}" || return 1
    timeout 120 "$LL" run --url "$BASE/v1" --cacert "$CA" --no-preflight --retries 0 \
        --json "$tmp/$name.json" "$@" >"$tmp/$name.out" 2>&1
    RC=$?
    "${CURL[@]}" --http1.1 "$BASE/metrics" >"$tmp/$name.m"
    S_CONNS=$(($(metric_in "$tmp/$name.m" mockllm_connections_total) - 1))
    S_OPEN=$(metric_in "$tmp/$name.m" mockllm_connections_open_peak)
    S_PEAK=$(metric_in "$tmp/$name.m" mockllm_in_flight_peak)
    S_STREAMS=$(metric_in "$tmp/$name.m" mockllm_h2_streams_total)
    S_OK=$(metric_in "$tmp/$name.m" 'mockllm_requests_total{model="gpt-mock",status="200"}')
    mock_stop
}
# client NAME: llmload's own counts, "opened peak succeeded failed"
client() {
    jget "$tmp/$1.json" results.requests.connects results.requests.connections_open_peak \
        results.requests.succeeded results.requests.failed | xargs
}
HOLD=(--header 'x-mock-latency-ms: 600')

echo "== evented, HTTP/2, 200 in flight over a cap of 4 connections"
check ev4 --h2-max-streams 64 -- --backend evented --http 2 --max-connections 4 \
    --concurrency 200 --requests 400 "${HOLD[@]}"
expect_eq "ev4: exit" "$RC" 0
read -r opened peak ok failed <<<"$(client ev4)"
expect_eq "ev4: succeeded" "$ok" 400
expect_eq "ev4: answered by the server" "$S_OK" 400
expect_eq "ev4: HTTP/2 streams" "$S_STREAMS" 400
expect_le "ev4: connections open at once at the server" "$S_OPEN" 4
expect_ge "ev4: the server's peak in flight (multiplexed at once)" "$S_PEAK" 190
expect_eq "ev4: connections opened, llmload's count = the server's" "$opened" "$S_CONNS"
expect_le "ev4: connections open at once (llmload's peak)" "$peak" 4
expect_ge "ev4: connections open at once (llmload's peak)" "$peak" 1
grep -q "max_connections=4" "$tmp/ev4.out" && pass "ev4: the header names the cap" ||
    fail "ev4: no max_connections=4 in: $(grep -m1 transport "$tmp/ev4.out")"
grep -Eq "^connections open, peak +[1-4]$" "$tmp/ev4.out" && pass "ev4: the text report's peak" ||
    fail "ev4: text report: $(grep -m1 'connections open' "$tmp/ev4.out")"

echo "== evented, HTTP/2, 150 streams a connection (past curl's default 100)"
check ev150 --h2-max-streams 200 -- --backend evented --http 2 --max-connections 2 \
    --concurrency 300 --requests 300 "${HOLD[@]}"
expect_eq "ev150: exit" "$RC" 0
expect_le "ev150: connections open at once at the server" "$S_OPEN" 2
expect_ge "ev150: the server's peak in flight" "$S_PEAK" 285

echo "== evented, HTTP/2, open loop: 200 in flight of 300 slots over 2 connections of 110 streams"
# 400/s of 0.5 s answers for 2 s: 200 in flight, 100 a connection when spread evenly. Dealt in
# blocks, the first 150 slots would share one connection: 40 of them would wait in curl for a
# stream, on the wire by llmload's count (242 at its peak when planted) but not at the server.
# On a loaded machine (CI runs tests side by side) the server can lag in reading what was sent,
# which also shows as an excess; a planted block dealing shows it on every attempt, so up to three
# attempts are made and the last is judged.
for attempt in 1 2 3; do
    check evopen --h2-max-streams 110 -- --backend evented --http 2 --max-connections 2 \
        --concurrency 300 --rate 400 --requests 800 --header 'x-mock-latency-ms: 500'
    wire=$(jget "$tmp/evopen.json" results.littles_law.in_flight_peak)
    [ $((wire - S_PEAK)) -le 10 ] && break
    echo "evopen: attempt $attempt: llmload's peak $wire, the server's $S_PEAK (again)"
done
expect_eq "evopen: exit" "$RC" 0
read -r opened peak ok failed <<<"$(client evopen)"
expect_eq "evopen: succeeded" "$ok" 800
expect_le "evopen: connections open at once at the server" "$S_OPEN" 2
expect_ge "evopen: the server's peak in flight" "$S_PEAK" 190
expect_le "evopen: llmload's peak on the wire, past the server's (waiting in curl)" \
    $((wire - S_PEAK)) 10

echo "== evented, HTTP/2, fewer streams than in flight: the rest wait, none lost"
check evwait --h2-max-streams 16 -- --backend evented --http 2 --max-connections 2 \
    --concurrency 100 --requests 200 --header 'x-mock-latency-ms: 100'
expect_eq "evwait: exit" "$RC" 0
read -r opened peak ok failed <<<"$(client evwait)"
expect_eq "evwait: succeeded" "$ok" 200
expect_eq "evwait: failed" "$failed" 0
expect_eq "evwait: answered by the server, each once" "$S_OK" 200
# (opened may exceed the cap: before curl has read the server's SETTINGS it may start more
# streams than allowed; the server refuses them (REFUSED_STREAM) and curl retires that
# connection and sends them again on a fresh one once it closed -- never more than 2 open at
# once. The server sees a close only when it next reads the socket, so its own peak may count
# a retired connection beside its successor.)
expect_le "evwait: connections open at once (llmload's peak)" "$peak" 2
expect_le "evwait: connections open at once at the server" "$S_OPEN" $((2 + S_CONNS - 2))
expect_eq "evwait: connections opened, llmload's count = the server's" "$opened" "$S_CONNS"
expect_le "evwait: the server's peak in flight (2 x 16 streams)" "$S_PEAK" 32
grep -q "^accounting OK" "$tmp/evwait.out" && pass "evwait: accounting OK" ||
    fail "evwait: $(grep -m1 accounting "$tmp/evwait.out")"

echo "== evented, HTTP/1.1 under a cap of 3"
check ev11 -- --backend evented --max-connections 3 --concurrency 30 --requests 60 \
    --header 'x-mock-latency-ms: 50'
expect_eq "ev11: exit" "$RC" 0
read -r opened peak ok failed <<<"$(client ev11)"
expect_eq "ev11: succeeded" "$ok" 60
expect_le "ev11: connections open at once at the server" "$S_OPEN" 3
expect_le "ev11: the server's peak in flight" "$S_PEAK" 3
# Waiting for a connection in turn: 300 requests of 20 ms, 30 in flight over 3 connections wait
# about 10 x 20 ms each. curl 7.88's pending list is not first in first out: before llmload
# queued them itself, a few waited the whole run (max 2.1 s where p50 was 0.14 s).
check ev11fair -- --backend evented --max-connections 3 --concurrency 30 --requests 300 \
    --header 'x-mock-latency-ms: 20'
expect_eq "ev11fair: exit" "$RC" 0
read -r p50 mx <<<"$(jget "$tmp/ev11fair.json" results.latency.e2e.p50_ms results.latency.e2e.max_ms | xargs)"
expect_le "ev11fair: the longest wait, in p50s (x10)" "$(awk -v a="$mx" -v b="$p50" 'BEGIN { printf "%d", 10 * a / b }')" 25
expect_le "ev11fair: the server's peak in flight" "$S_PEAK" 3

echo "== threaded: a cap below the workers is refused, at or above them one connection each"
check threfuse -- --backend threaded --http 2 --max-connections 4 --concurrency 200 \
    --requests 400
expect_eq "threfuse: exit (usage)" "$RC" 2
grep -q "threaded backend holds a connection per request in flight" "$tmp/threfuse.out" &&
    pass "threfuse: says why" || fail "threfuse: $(head -3 "$tmp/threfuse.out")"
[ "$(grep -c . "$tmp/threfuse.out")" -eq 1 ] && pass "threfuse: one line" ||
    fail "threfuse: $(grep -c . "$tmp/threfuse.out") lines"
expect_eq "threfuse: nothing reached the server" "$S_CONNS" 0
for c in 8 20; do
    cap=() && [ "$c" = 8 ] && cap=(--max-connections 8)
    check "th$c" --h2-max-streams 64 -- --backend threaded --http 2 "${cap[@]}" \
        --concurrency "$c" --requests $((4 * c)) --header 'x-mock-latency-ms: 100'
    expect_eq "th$c: exit" "$RC" 0
    read -r opened peak ok failed <<<"$(client "th$c")"
    expect_eq "th$c: succeeded" "$ok" $((4 * c))
    expect_eq "th$c: connections the server accepted = workers" "$S_CONNS" "$c"
    expect_eq "th$c: llmload's peak open = workers" "$peak" "$c"
    expect_eq "th$c: the server's peak open = workers" "$S_OPEN" "$c"
done

echo "== the peak of connections open at once, --no-reuse (each closed before the next)"
for be in threaded evented; do
    check "nr$be" -- --backend "$be" --no-reuse --concurrency 4 --requests 40
    expect_eq "nr$be: exit" "$RC" 0
    read -r opened peak ok failed <<<"$(client "nr$be")"
    expect_eq "nr$be: connections opened = the server's" "$opened" "$S_CONNS"
    expect_ge "nr$be: connections opened" "$opened" 40
    # (the server's own peak is no bound here: it sees a close only when it next reads the
    # socket, after the client may have opened the next connection)
    expect_le "nr$be: connections open at once" "$peak" 4
    expect_ge "nr$be: connections open at once" "$peak" 1
done

if [ "$fails" -gt 0 ]; then
    echo "test_client_h2cap: $fails failure(s)"
    exit 1
fi
echo "test_client_h2cap: all passed"
