#!/usr/bin/env bash
# test_mock_tls.sh - mockllm --tls, seen from outside by curl, openssl and raw sockets, under one
# concurrency model (loop or threads):
#   - the ready line names the throwaway CA; curl trusts it with --cacert (127.0.0.1 and
#     localhost are both in the leaf), fails without it (verification is real); the file holds
#     a CA certificate and no key, and is removed when mockllm stops;
#   - TLS 1.2 and TLS 1.3 each negotiated; a completion, a stream, a forced 429 and an injected
#     close behave over TLS as over cleartext;
#   - resumption: three URLs in one curl with Connection: close are one full handshake and two
#     resumed ones (TLS 1.3 tickets), and 1 + 1 with TLS 1.2, counted on /metrics; openssl
#     s_client -sess_out/-sess_in reports "Reused" for both versions;
#   - ALPN: h2 (loop) or http/1.1 (threads: HTTP/2 is the loop's), http/1.1 when asked;
#   - bad TLS input (garbage, cleartext, a record that does not decrypt) closes that connection
#     with mockllm_tls_failures_total counting each, while a request on another connection is
#     answered;
#   - --cert/--key serve a given certificate; a key that does not match stops mockllm with one
#     line naming the file, a missing file is a usage error (exit 2) saying why.
# Usage: test_mock_tls.sh MOCKLLM [loop|threads]
set -u
MOCK=$1 MODEL=${2:-loop}
. "$(dirname "$0")/test_mock_netlib.sh"
command -v openssl >/dev/null || { echo "skip: no openssl"; exit 77; }

mock_start tls --tls --model "$MODEL" --seed 3 --verbose || exit 1
CA_FILE=$CA
[ -f "$CA_FILE" ] || fail "the ready line names '$CA_FILE': no such file"
openssl x509 -in "$CA_FILE" -noout -text | grep -q "CA:TRUE" || fail "the CA file holds no CA certificate"
grep -q "PRIVATE" "$CA_FILE" && fail "the CA file holds a key"

# Trust: both names of the leaf, and nothing without the CA.
for host in 127.0.0.1 localhost; do
    code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "https://$host:$PORT/health")
    expect_eq "GET /health as $host" "$code" 200
done
curl -sS --max-time 10 -o /dev/null "$BASE/health" 2>/dev/null
expect_eq "without --cacert curl refuses the certificate (exit)" "$?" 60

# Both versions, each actually negotiated.
for v in 1.2 1.3; do
    flag=-tls1_${v#1.}
    got=$(echo | timeout 10 openssl s_client $flag -connect "127.0.0.1:$PORT" -CAfile "$CA_FILE" \
        2>/dev/null | grep -Eo "^(New|Reused), TLSv1\.[23]")
    expect_eq "openssl s_client $flag" "$got" "New, TLSv$v"
    echo | timeout 10 openssl s_client $flag -connect "127.0.0.1:$PORT" -CAfile "$CA_FILE" \
        2>/dev/null | grep -q "Verify return code: 0 (ok)"
    expect_eq "openssl s_client $flag verifies the chain (grep)" "$?" 0
done

# The API over TLS: a completion, a stream, a forced status, an injected close.
body=$("${CURL[@]}" "$BASE/v1/chat/completions" -H 'content-type: application/json' -d "$CHAT_BODY")
tokens=$(printf '%s' "$body" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["usage"]["completion_tokens"])' 2>/dev/null)
expect_eq "completion over TLS: completion_tokens" "$tokens" 7
"${CURL[@]}" "$BASE/v1/chat/completions" -d "$STREAM_BODY" -o "$tmp/stream.txt"
expect_eq "stream over TLS: data events (role, 7 tokens, finish, [DONE])" "$(grep -c '^data: ' "$tmp/stream.txt")" 10
expect_eq "stream over TLS ends with [DONE]" "$(grep '^data: ' "$tmp/stream.txt" | tail -1)" "data: [DONE]"
code=$("${CURL[@]}" -o /dev/null -D "$tmp/h429" -w '%{http_code}' -H 'x-mock-status: 429' \
    "$BASE/v1/chat/completions" -d "$CHAT_BODY")
expect_eq "x-mock-status 429 over TLS" "$code" 429
grep -qi '^retry-after: 1' "$tmp/h429" || fail "429 over TLS without Retry-After"
"${CURL[@]}" --http1.1 -o "$tmp/closed.txt" -H 'x-mock-fault: close' "$BASE/v1/chat/completions" \
    -d "$STREAM_BODY" 2>/dev/null
rc=$?
[ "$rc" -ne 0 ] && [ "$(grep -c '^data: ' "$tmp/closed.txt")" = 4 ] &&
    pass "injected close over TLS: curl exit $rc after role + 3 chunks" ||
    fail "injected close over TLS: exit $rc, $(grep -c '^data: ' "$tmp/closed.txt") events (want != 0, 4)"
expect_eq "faults_total{kind=close}" "$(metric 'mockllm_faults_total{kind="close"}')" 1

# Resumption, counted by mockllm: one curl, three connections (Connection: close), one session.
snapshot "$tmp/m0"
full0=$(metric_in "$tmp/m0" 'mockllm_tls_handshakes_total{kind="full"}')
res0=$(metric_in "$tmp/m0" 'mockllm_tls_handshakes_total{kind="resumed"}')
"${CURL[@]}" --http1.1 -H 'Connection: close' -o /dev/null -o /dev/null -o /dev/null \
    "$BASE/health" "$BASE/health" "$BASE/health"
"${CURL[@]}" --http1.1 --tlsv1.2 --tls-max 1.2 -H 'Connection: close' -o /dev/null -o /dev/null \
    "$BASE/health" "$BASE/health"
snapshot "$tmp/m1"
full1=$(metric_in "$tmp/m1" 'mockllm_tls_handshakes_total{kind="full"}')
res1=$(metric_in "$tmp/m1" 'mockllm_tls_handshakes_total{kind="resumed"}')
# a scrape is a full handshake of its own: the second one counts itself
expect_eq "full handshakes (TLS 1.3 curl, TLS 1.2 curl, a scrape)" "$((full1 - full0))" 3
expect_eq "resumed handshakes (2 with tickets in TLS 1.3, 1 in TLS 1.2)" "$((res1 - res0))" 3
for flag in -tls1_3 -tls1_2; do
    (sleep 0.5; echo) | timeout 10 openssl s_client $flag -connect "127.0.0.1:$PORT" -CAfile "$CA_FILE" \
        -sess_out "$tmp/sess$flag" >/dev/null 2>&1
    got=$( (sleep 0.3; echo) | timeout 10 openssl s_client $flag -connect "127.0.0.1:$PORT" \
        -CAfile "$CA_FILE" -sess_in "$tmp/sess$flag" 2>/dev/null | grep -Eo "^(New|Reused)")
    expect_eq "openssl s_client $flag -sess_in" "$got" Reused
done

# ALPN.
want=2
[ "$MODEL" = threads ] && want=1.1
expect_eq "ALPN (curl offers h2 and http/1.1)" "$("${CURL[@]}" -o /dev/null -w '%{http_version}' "$BASE/health")" "$want"
expect_eq "ALPN with --http1.1" "$("${CURL[@]}" --http1.1 -o /dev/null -w '%{http_version}' "$BASE/health")" 1.1
want=h2
[ "$MODEL" = threads ] && want=http/1.1
got=$(echo | timeout 10 openssl s_client -alpn h2,http/1.1 -connect "127.0.0.1:$PORT" -CAfile "$CA_FILE" \
    2>/dev/null | sed -n 's/^ALPN protocol: //p')
expect_eq "openssl s_client -alpn h2,http/1.1" "$got" "$want"

# Bad TLS input: each connection closed and counted; a request on another one is answered.
"${CURL[@]}" --http1.1 -o "$tmp/slow.txt" -w '%{http_code}' -H 'x-mock-latency-ms: 1500' \
    "$BASE/v1/chat/completions" -d "$CHAT_BODY" >"$tmp/slow.code" &
slow=$!
bad0=$(metric mockllm_tls_failures_total)
/usr/bin/python3 "$WIRE" tls-garbage "$PORT" || fail "garbage"
/usr/bin/python3 "$WIRE" tls-plain "$PORT" || fail "cleartext to the TLS port"
/usr/bin/python3 "$WIRE" tls-badrecord "$PORT" "$CA_FILE" || fail "a bad record"
expect_eq "mockllm_tls_failures_total after three bad inputs" "$(($(metric mockllm_tls_failures_total) - bad0))" 3
wait "$slow"
expect_eq "a request on another connection meanwhile" "$(cat "$tmp/slow.code")" 200

# The server's CPU on its summary line (getrusage, every thread) is the process's as /proc sees
# it from outside: 300 full handshakes (one curl, no session cache, a connection each) make it
# measurable; /proc is read just before SIGTERM, so the summary can only be a little more.
"${CURL[@]}" --http1.1 --no-sessionid -H 'Connection: close' "$BASE/health?[1-300]" >/dev/null
proc_cpu=$(awk -v t="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$PID/stat")
# Stop: exit 0, the CA file removed, and no key material ever on stderr.
mock_stop
expect_eq "mockllm --tls exit on SIGTERM" "$?" 0
sum_cpu=$(sed -n 's/^mockllm: CPU \([0-9.]*\) s (user [0-9.]* s, system [0-9.]* s)$/\1/p' "$tmp/tls.err")
if [ -n "$sum_cpu" ] && awk -v p="$proc_cpu" -v s="$sum_cpu" \
    'BEGIN { exit !(p >= 0.02 && s >= p - 0.02 && s <= p + 0.5) }'; then
    pass "summary CPU $sum_cpu s, /proc $proc_cpu s before the stop"
else
    fail "summary CPU '$sum_cpu' s against /proc's $proc_cpu s (want within [-0.02, +0.5] s, /proc >= 0.02)"
fi
[ -e "$CA_FILE" ] && fail "the CA file outlives mockllm: $CA_FILE"
grep -q "PRIVATE\|BEGIN" "$tmp/tls.err" && fail "key or certificate material on stderr"

# A certificate of one's own.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/other.pem" 2>/dev/null
if mock_start own --tls --model "$MODEL" --cert "$tmp/cert.pem" --key "$tmp/key.pem"; then
    expect_eq "ready line with --cert names no CA" "$CA" ""
    code=$(curl -sS --max-time 10 --cacert "$tmp/cert.pem" -o /dev/null -w '%{http_code}' "$BASE/health")
    expect_eq "--cert/--key served" "$code" 200
    mock_stop
fi
"$MOCK" --port 0 --tls --cert "$tmp/cert.pem" --key "$tmp/other.pem" 2>"$tmp/mismatch.err" </dev/null
rc=$?
[ "$rc" -ne 0 ] && grep -q "other.pem" "$tmp/mismatch.err" && [ "$(wc -l <"$tmp/mismatch.err")" -eq 1 ] &&
    pass "a key that does not match: exit $rc, $(cat "$tmp/mismatch.err")" ||
    fail "a key that does not match: exit $rc: $(cat "$tmp/mismatch.err")"
"$MOCK" --port 0 --tls --cert "$tmp/nosuch.pem" --key "$tmp/key.pem" 2>"$tmp/missing.err" </dev/null
rc=$?
# a usage error (exit 2) with the system's word: it said "cannot use it: unknown error", exit 1
[ "$rc" -eq 2 ] && grep -q "nosuch.pem': No such file or directory" "$tmp/missing.err" &&
    [ "$(wc -l <"$tmp/missing.err")" -eq 1 ] && pass "a missing --cert: exit $rc" ||
    fail "a missing --cert: exit $rc (want 2): $(cat "$tmp/missing.err")"
"$MOCK" --port 0 --cert "$tmp/cert.pem" --key "$tmp/key.pem" 2>"$tmp/notls.err" </dev/null
expect_eq "--cert without --tls (exit)" "$?" 2

[ "$fails" -eq 0 ] && echo "test_mock_tls ($MODEL): all passed"
exit $((fails > 0))
