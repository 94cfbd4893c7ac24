#!/usr/bin/env bash
# test_mock_rtt.sh - mockllm --rtt-ms: the emulated round trip's accuracy, by curl's own phase
# times against the same server without it (issue 15 item 3): with --rtt-ms 20,
#   - a request on a reused connection costs 20 ms +/- 10% more than with 0
#     (time_starttransfer of the second URL of one curl: from the transfer's start, so that no
#     pause of curl's can shorten it, as one between its send and its time_pretransfer stamp
#     once did by 3 ms);
#   - a new TLS 1.3 connection costs 40 ms +/- 10% more again (the first URL's
#     time_starttransfer, less the reused request's), within time_appconnect where the TLS
#     handshake is: the TCP handshake's round trip is paid there, since the kernel connected at
#     once (time_connect stays under 5 ms);
#   - a new cleartext connection costs 20 ms +/- 10% more than a reused one (paid in its first
#     request), and HTTP/2 over TLS the same 40 ms as HTTP/1.1;
#   - --model threads refuses --rtt-ms (exit 2).
# Each figure is the least of 7 runs, the others' noise only adds: timing on a loaded machine
# never makes a round trip shorter than it is. The servers with and without the round trip run
# side by side, measured in turn.
# Usage: test_mock_rtt.sh MOCKLLM
set -u
MOCK=$1
. "$(dirname "$0")/test_mock_netlib.sh"
RUNS=7

# once FILE ARGS...: one curl with two URLs against the current server; appends to FILE the
# first URL's time_connect, time_appconnect, time_starttransfer and the second's
# time_starttransfer.
once() {
    local f=$1
    shift
    "${CURL[@]}" -o /dev/null -o /dev/null "$@" "$BASE/health" "$BASE/health" \
        -w '%{time_connect} %{time_appconnect} %{time_starttransfer}\n' |
        paste -sd ' ' | awk '{ print $1, $2, $3, $6 }' >>"$f"
}

# least FILE: the least of each column, in µs.
least() {
    awk 'NR == 1 || $1 < c { c = $1 } NR == 1 || $2 < a { a = $2 }
         NR == 1 || $3 < s { s = $3 } NR == 1 || $4 < r { r = $4 }
         END { printf "%d %d %d %d\n", c * 1e6, a * 1e6, s * 1e6, r * 1e6 }' "$1"
}

# within WHAT GOT_US WANT_MS: GOT within 10% of WANT.
within() {
    local lo=$(($3 * 900)) hi=$(($3 * 1100)) ms
    ms=$(awk -v us="$2" 'BEGIN { printf "%.3f", us / 1000 }')
    if [ "$2" -ge "$lo" ] && [ "$2" -le "$hi" ]; then
        pass "$1: $ms ms (want $3 ms +/- 10%)"
    else
        fail "$1: $ms ms, want $3 ms +/- 10%"
    fi
}

# Both round trips served at once and measured in turn, run after run, so that a busy moment
# of the machine falls on both.
declare -A tls13 tls13h2 clear base curl
for rtt in 0 20; do
    mock_start "tls$rtt" --tls --rtt-ms $rtt || exit 1
    base[tls$rtt]=$BASE curl[tls$rtt]="${CURL[*]}"
    mock_start "clear$rtt" --rtt-ms $rtt || exit 1
    base[clear$rtt]=$BASE curl[clear$rtt]="${CURL[*]}"
done
for i in $(seq $RUNS); do
    for rtt in 0 20; do
        BASE=${base[tls$rtt]} CURL=(${curl[tls$rtt]})
        once "$tmp/tls13.$rtt" --http1.1 --tlsv1.3
        once "$tmp/tls13h2.$rtt" --http2 --tlsv1.3
        BASE=${base[clear$rtt]} CURL=(${curl[clear$rtt]})
        once "$tmp/clear.$rtt" --http1.1
    done
done
for rtt in 0 20; do
    tls13[$rtt]=$(least "$tmp/tls13.$rtt")
    tls13h2[$rtt]=$(least "$tmp/tls13h2.$rtt")
    clear[$rtt]=$(least "$tmp/clear.$rtt")
    echo "rtt $rtt: least connect/appconnect/starttransfer/reused (µs): TLS 1.3 ${tls13[$rtt]}, h2 ${tls13h2[$rtt]}, cleartext ${clear[$rtt]}"
done

read -r c0 a0 s0 r0 <<<"${tls13[0]}"
read -r c20 a20 s20 r20 <<<"${tls13[20]}"
within "reused connection, HTTP/1.1 over TLS: extra" $((r20 - r0)) 20
within "new TLS 1.3 connection: extra beyond a reused one's" $(((s20 - r20) - (s0 - r0))) 40
within "new TLS 1.3 connection: extra in the TLS handshake (time_appconnect)" $((a20 - a0)) 40
[ "$c20" -lt 5000 ] && pass "time_connect stays the kernel's: $c20 µs" || fail "time_connect $c20 µs with --rtt-ms 20"
read -r c0 a0 s0 r0 <<<"${tls13h2[0]}"
read -r c20 a20 s20 r20 <<<"${tls13h2[20]}"
within "reused connection, HTTP/2 over TLS: extra" $((r20 - r0)) 20
within "new TLS 1.3 connection, HTTP/2: extra beyond a reused one's" $(((s20 - r20) - (s0 - r0))) 40
read -r c0 a0 s0 r0 <<<"${clear[0]}"
read -r c20 a20 s20 r20 <<<"${clear[20]}"
within "reused connection, cleartext: extra" $((r20 - r0)) 20
within "new cleartext connection: extra beyond a reused one's" $(((s20 - r20) - (s0 - r0))) 20

for PID in "${mock_pids[@]}"; do
    mock_stop # each exits 0
done
"$MOCK" --port 0 --model threads --rtt-ms 20 2>"$tmp/threads.err" </dev/null
expect_eq "--model threads --rtt-ms (exit)" "$?" 2

[ "$fails" -eq 0 ] && echo "test_mock_rtt: all passed"
exit $((fails > 0))
