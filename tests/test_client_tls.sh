#!/usr/bin/env bash
# test_client_tls.sh - llmload's client over HTTPS and HTTP/2 (issue 15 items 5-7), on BOTH
# backends, against mockllm --tls. Every count is checked against mockllm's own /metrics
# (handshakes full and resumed, HTTP/2 connections and streams, answers, resets):
#   - the embedded mock over HTTPS (run --tls): its CA is trusted, every request succeeds,
#     handshakes = connections << requests, the TLS phase is measured;
#   - reuse: handshakes counted by llmload = mockllm's = connections opened, far fewer than
#     requests; --no-reuse: one handshake per request, paced requests resume the session of
#     the first (the threaded pool shares sessions between workers through its share handle);
#   - a wrong CA fails as a connect-class error with one clear line, the API key never shown;
#   - --http 2: every request over HTTP/2 streams (the evented backend multiplexes them over
#     one or two connections, the threaded one opens one per worker); ALPN falls back to
#     HTTP/1.1 when the server offers no h2 (--h2-max-streams 0); h2c with prior knowledge;
#   - HTTP/2 faults lose nothing: GOAWAY after 5 streams (the unprocessed streams are sent
#     again, each request answered exactly once), RST_STREAM (each reset request one failure,
#     never sent twice), SETTINGS lowering the concurrent streams (all answered);
#   - the time to first byte over HTTPS/1.1, HTTP/2 and h2c with a 20 ms round trip and 30 ms
#     of latency: 50 ms, 70 over h2c (a new connection each: the TCP round trip in its first
#     bytes); curl 7.88's STARTTRANSFER read it as 0 for a POST over HTTP/2.
# Usage: test_client_tls.sh LLMLOAD MOCKLLM. Skips (77) without curl or /usr/bin/python3.
set -u
LL=$1
MOCK=$2
for tool in curl /usr/bin/python3; do
    command -v $tool >/dev/null || { echo "skip: no $tool"; exit 77; }
done
. "$(dirname "$0")/test_mock_netlib.sh"
export OPENAI_API_KEY=sk-never-shown-7f3a9c # any key: it must appear in no output
unset OPENAI_BASE_URL

# jget FILE KEY...: results.requests.KEY of an llmload --json file (one value per key).
jget() {
    local f=$1
    shift
    /usr/bin/python3 - "$f" "$@" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"]["requests"]
for k in sys.argv[2:]:
    v = r["by_class"].get(k[3:]) if k.startswith("by_") else r.get(k)
    if k == "tls_count":
        v = d["results"]["latency"]["tls"]["count"]
    print(v if v is not None else "null")
EOF
}

# delta M0 M1 'NAME{labels}': the metric's growth between two snapshots (0 when absent).
delta() {
    local a b
    a=$(metric_in "$1" "$3")
    b=$(metric_in "$2" "$3")
    echo $((${b:-0} - ${a:-0}))
}
HS_FULL='mockllm_tls_handshakes_total{kind="full"}'
HS_RES='mockllm_tls_handshakes_total{kind="resumed"}'
OK200='mockllm_requests_total{model="gpt-mock",status="200"}'

# llrun NAME ARGS...: llmload run against the current server ($BASE, its CA) into
# $tmp/NAME.{json,out}, between two /metrics snapshots ($tmp/NAME.m0, .m1). The snapshot
# after the run costs one full handshake of its own (curl's), which hs_full() takes off.
llrun() {
    local name=$1
    shift
    snapshot "$tmp/$name.m0"
    local ca=()
    [ -n "$CA" ] && ca=(--cacert "$CA") # none over cleartext
    timeout 120 "$LL" run --url "$BASE/v1" "${ca[@]}" --no-preflight --quiet \
        --json "$tmp/$name.json" "$@" >"$tmp/$name.out" 2>&1
    RC=$?
    snapshot "$tmp/$name.m1"
    if grep -q "$OPENAI_API_KEY" "$tmp/$name.out"; then fail "$name: the API key was printed"; fi
}
mdelta() { delta "$tmp/$1.m0" "$tmp/$1.m1" "$2"; }
# requests NAME: requests mockllm processed during the run, whatever their status
requests() {
    local a b
    a=$(awk '$1 ~ /^mockllm_requests_total\{/ { s += $2 } END { print s + 0 }' "$tmp/$1.m0")
    b=$(awk '$1 ~ /^mockllm_requests_total\{/ { s += $2 } END { print s + 0 }' "$tmp/$1.m1")
    echo $((b - a))
}
hs_full() { echo $(($(mdelta "$1" "$HS_FULL") - 1)); }

# expect_le WHAT GOT MAX
expect_le() {
    if [ -n "$2" ] && [ "$2" -le "$3" ]; then pass "$1: $2 (<= $3)"; else fail "$1: got '$2', want <= $3"; fi
}
expect_ge() {
    if [ -n "$2" ] && [ "$2" -ge "$3" ]; then pass "$1: $2 (>= $3)"; else fail "$1: got '$2', want >= $3"; fi
}

mock_start tls --tls || exit 1
TLS_BASE=$BASE TLS_CA=$CA TLS_PID=$PID
mock_start other --tls || exit 1 # only its CA is used: one that did not sign the server's
OTHER_CA=$CA
mock_start noh2 --tls --h2-max-streams 0 || exit 1
NOH2_BASE=$BASE NOH2_CA=$CA NOH2_PID=$PID
mock_start h2c || exit 1
H2C_BASE=$BASE H2C_PID=$PID
mock_start goaway --tls --h2-goaway-after 5 || exit 1
GA_BASE=$BASE GA_CA=$CA GA_PID=$PID
mock_start rst --tls --faults close=0.25 --seed 3 || exit 1
RST_BASE=$BASE RST_CA=$CA RST_PID=$PID
mock_start settings --tls --h2-settings-after 1 --h2-settings-max 2 || exit 1
SET_BASE=$BASE SET_CA=$CA SET_PID=$PID
# 20 ms of round trip and 30 ms of latency: a request's time to first byte is 50 ms
mock_start rtt --tls --rtt-ms 20 --latency-ms 30 || exit 1
RTT_BASE=$BASE RTT_CA=$CA RTT_PID=$PID
mock_start rttc --rtt-ms 20 --latency-ms 30 || exit 1
RTTC_BASE=$BASE RTTC_PID=$PID
# use BASE CA PID: the server the next checks talk to; /metrics read over HTTP/1.1, so that
# the snapshot adds no HTTP/2 connection or stream of its own.
use() {
    BASE=$1 CA=$2 PID=$3 CURL=(curl -sS --max-time 30 --http1.1)
    [ -n "$CA" ] && CURL+=(--cacert "$CA")
}

for be in threaded evented; do
    echo "== $be"
    # ---- the embedded mock over HTTPS ----
    timeout 120 "$LL" run --backend "$be" --tls --requests 40 --concurrency 4 \
        --json "$tmp/emb.json" >"$tmp/emb.out" 2>&1
    expect_eq "$be embedded --tls: exit" "$?" 0
    grep -q "transport: http=1.1 tls=verified, trusting .*mockllm" "$tmp/emb.out" &&
        pass "$be embedded --tls: the header names the mock's CA" ||
        fail "$be embedded --tls: header: $(grep -m1 transport "$tmp/emb.out")"
    read -r ok conns full res tlsn <<<"$(jget "$tmp/emb.json" succeeded connects tls_handshakes_full tls_handshakes_resumed tls_count | xargs)"
    expect_eq "$be embedded --tls: succeeded" "$ok" 40
    expect_eq "$be embedded --tls: handshakes = connections" "$((full + res))" "$conns"
    expect_le "$be embedded --tls: connections" "$conns" 8
    expect_ge "$be embedded --tls: requests with a TLS phase" "$tlsn" 1

    # ---- reuse: few handshakes, counted alike by llmload and mockllm ----
    use "$TLS_BASE" "$TLS_CA" "$TLS_PID"
    llrun reuse --backend "$be" --requests 60 --concurrency 4
    read -r ok conns full res h2 <<<"$(jget "$tmp/reuse.json" succeeded connects tls_handshakes_full tls_handshakes_resumed http2_requests | xargs)"
    expect_eq "$be reuse: exit, succeeded" "$RC $ok" "0 60"
    expect_eq "$be reuse: full handshakes, llmload = mockllm" "$full" "$(hs_full reuse)"
    expect_eq "$be reuse: resumed handshakes, llmload = mockllm" "$res" "$(mdelta reuse "$HS_RES")"
    expect_eq "$be reuse: handshakes = connections" "$((full + res))" "$conns"
    expect_le "$be reuse: handshakes for 60 requests" "$((full + res))" 8
    expect_eq "$be reuse: HTTP/1.1 by default" "$h2" 0

    # ---- --no-reuse: a handshake per request; paced, they resume the first one's session ----
    llrun noreuse --backend "$be" --requests 12 --concurrency 6 --rate 10 --no-reuse
    read -r ok conns full res <<<"$(jget "$tmp/noreuse.json" succeeded connects tls_handshakes_full tls_handshakes_resumed | xargs)"
    expect_eq "$be --no-reuse: exit, succeeded, connections" "$RC $ok $conns" "0 12 12"
    expect_eq "$be --no-reuse: mockllm's handshakes" "$(($(hs_full noreuse) + $(mdelta noreuse "$HS_RES")))" 12
    expect_eq "$be --no-reuse: llmload's resumed = mockllm's" "$res" "$(mdelta noreuse "$HS_RES")"
    # Each of 6 workers would make its own first handshake in full without the shared cache.
    expect_le "$be --no-reuse: full handshakes (sessions shared between workers)" "$(hs_full noreuse)" 3

    # ---- a wrong CA: connect class, one clear line, no key ----
    use "$TLS_BASE" "$OTHER_CA" "$TLS_PID"
    timeout 60 "$LL" run --backend "$be" --url "$BASE/v1" --cacert "$OTHER_CA" --no-preflight \
        --requests 3 --concurrency 1 --retries 0 --json "$tmp/badca.json" >"$tmp/badca.out" 2>&1
    rc=$?
    [ "$rc" -ne 0 ] && pass "$be wrong CA: exit $rc" || fail "$be wrong CA: exit 0"
    expect_eq "$be wrong CA: failed as connect" "$(jget "$tmp/badca.json" by_connect failed | xargs)" "3 3"
    expect_eq "$be wrong CA: one line says why" \
        "$(grep -c 'failed TLS verification: SSL certificate problem: unable to get local issuer certificate' "$tmp/badca.out")" 1
    grep -q "$OPENAI_API_KEY" "$tmp/badca.out" && fail "$be wrong CA: the API key was printed"
    # The preflight says it before any load, in one line on stderr.
    timeout 60 "$LL" run --backend "$be" --url "$BASE/v1" --cacert "$OTHER_CA" --requests 3 \
        >/dev/null 2>"$tmp/badca_pre.err"
    rc=$?
    [ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/badca_pre.err")" -eq 1 ] &&
        grep -q "failed TLS verification (connect): SSL certificate problem" "$tmp/badca_pre.err" &&
        pass "$be wrong CA, preflight: exit $rc, one line: $(cat "$tmp/badca_pre.err")" ||
        fail "$be wrong CA, preflight: exit $rc: $(head -3 "$tmp/badca_pre.err")"

    # ---- HTTP/2 over ALPN: streams, multiplexed by the evented backend ----
    use "$TLS_BASE" "$TLS_CA" "$TLS_PID"
    llrun h2 --backend "$be" --requests 60 --concurrency 8 --http 2
    read -r ok conns h2 <<<"$(jget "$tmp/h2.json" succeeded connects http2_requests | xargs)"
    expect_eq "$be --http 2: exit, succeeded, over HTTP/2" "$RC $ok $h2" "0 60 60"
    expect_eq "$be --http 2: mockllm's streams" "$(mdelta h2 mockllm_h2_streams_total)" 60
    expect_eq "$be --http 2: mockllm's HTTP/2 connections = llmload's" \
        "$(mdelta h2 mockllm_h2_connections_total)" "$conns"
    if [ "$be" = evented ]; then
        expect_le "$be --http 2: connections for 8 in flight (multiplexed)" "$conns" 2
    else
        expect_le "$be --http 2: connections (one per worker)" "$conns" 8
    fi

    # ---- ALPN fallback: the server offers no h2 ----
    use "$NOH2_BASE" "$NOH2_CA" "$NOH2_PID"
    llrun noh2 --backend "$be" --requests 20 --concurrency 4 --http 2
    read -r ok h2 <<<"$(jget "$tmp/noh2.json" succeeded http2_requests | xargs)"
    expect_eq "$be ALPN fallback: exit, succeeded, over HTTP/2" "$RC $ok $h2" "0 20 0"
    expect_eq "$be ALPN fallback: mockllm's HTTP/2 connections" \
        "$(mdelta noh2 mockllm_h2_connections_total)" 0

    # ---- h2c with prior knowledge (connection reuse is curl 7.88's weak spot: not counted) ----
    use "$H2C_BASE" "" "$H2C_PID"
    snapshot "$tmp/h2c.m0"
    timeout 120 "$LL" run --backend "$be" --url "$BASE/v1" --no-preflight --quiet --requests 20 \
        --concurrency 4 --http 2 --json "$tmp/h2c.json" >"$tmp/h2c.out" 2>&1
    RC=$?
    snapshot "$tmp/h2c.m1"
    read -r ok h2 <<<"$(jget "$tmp/h2c.json" succeeded http2_requests | xargs)"
    expect_eq "$be h2c: exit, succeeded, over HTTP/2" "$RC $ok $h2" "0 20 20"
    expect_eq "$be h2c: mockllm's streams" "$(mdelta h2c mockllm_h2_streams_total)" 20
    # curl 7.88 cannot reuse an h2c connection (curl issue 10634): one per request, said so.
    expect_eq "$be h2c: connections (a new one per request on curl 7.88)" \
        "$(jget "$tmp/h2c.json" connects)" 20

    # ---- GOAWAY after 5 streams: unprocessed streams sent again, each answered once ----
    use "$GA_BASE" "$GA_CA" "$GA_PID"
    llrun goaway --backend "$be" --requests 60 --concurrency 8 --http 2 --retries 0
    read -r ok failed conns <<<"$(jget "$tmp/goaway.json" succeeded failed connects | xargs)"
    expect_eq "$be GOAWAY: exit, succeeded, failed" "$RC $ok $failed" "0 60 0"
    expect_eq "$be GOAWAY: answered by mockllm (none twice)" "$(mdelta goaway "$OK200")" 60
    expect_ge "$be GOAWAY: connections (5 streams each)" "$conns" 12
    expect_ge "$be GOAWAY: mockllm's GOAWAYs" "$(mdelta goaway 'mockllm_h2_faults_total{kind="goaway"}')" 1

    # ---- RST_STREAM: each reset request is one failure, none sent twice ----
    use "$RST_BASE" "$RST_CA" "$RST_PID"
    llrun rst --backend "$be" --requests 60 --concurrency 8 --http 2 --retries 0 --stream
    read -r ok failed cancelled wire <<<"$(jget "$tmp/rst.json" succeeded failed cancelled wire_requests | xargs)"
    resets=$(mdelta rst mockllm_h2_resets_total)
    expect_eq "$be RST_STREAM: succeeded + failed, cancelled" "$((ok + failed)) $cancelled" "60 0"
    expect_eq "$be RST_STREAM: failed = mockllm's resets" "$failed" "$resets"
    expect_eq "$be RST_STREAM: requests mockllm processed (none twice)" "$(requests rst)" 60
    expect_eq "$be RST_STREAM: wire requests (none sent twice)" "$wire" 60
    expect_ge "$be RST_STREAM: resets planted" "$resets" 1

    # ---- SETTINGS lowers the concurrent streams to 2: refused streams sent again ----
    use "$SET_BASE" "$SET_CA" "$SET_PID"
    llrun settings --backend "$be" --requests 40 --concurrency 8 --http 2 --retries 0
    read -r ok failed <<<"$(jget "$tmp/settings.json" succeeded failed | xargs)"
    expect_eq "$be SETTINGS: exit, succeeded, failed" "$RC $ok $failed" "0 40 0"
    expect_eq "$be SETTINGS: answered by mockllm" "$(mdelta settings "$OK200")" 40

    # ---- time to first byte: from the request sent to the answer's first byte. 50 ms over
    # HTTPS (20 ms round trip + 30 ms latency); 70 over h2c, where curl 7.88 opens a connection
    # per request and mockllm's emulation puts the TCP handshake's round trip in a new
    # connection's first bytes. curl 7.88's own STARTTRANSFER - PRETRANSFER reads 0.001 ms for
    # a POST over HTTP/2 (it stamps STARTTRANSFER as the body goes out) ----
    for t in "https 1.1 50" "https 2 50" "h2c 2 70"; do
        read -r kind ver want <<<"$t"
        if [ "$kind" = https ]; then use "$RTT_BASE" "$RTT_CA" "$RTT_PID"; else use "$RTTC_BASE" "" "$RTTC_PID"; fi
        llrun ttfb --backend "$be" --requests 20 --concurrency 4 --http "$ver"
        ttfb=$(/usr/bin/python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["results"]["latency"]["ttfb"]["p50_ms"]))' "$tmp/ttfb.json")
        expect_eq "$be ttfb $kind HTTP/$ver: exit" "$RC" 0
        expect_ge "$be ttfb $kind HTTP/$ver: p50 ms (want $want)" "$ttfb" $((want - 5))
        expect_le "$be ttfb $kind HTTP/$ver: p50 ms (want $want)" "$ttfb" $((want + 30))
    done
done

for p in "$TLS_PID" "$NOH2_PID" "$H2C_PID" "$GA_PID" "$RST_PID" "$SET_PID" "$RTT_PID" "$RTTC_PID"; do
    PID=$p mock_stop >/dev/null
done
if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s); llmload outputs:"
    tail -n 5 "$tmp"/*.out
    exit 1
fi
echo "all passed"
