#!/usr/bin/env bash
# test_ceiling_cli.sh - `llmload run --window` on both backends, judged against arithmetic from
# the configured latencies and against mockllm's own counters, and the ceiling's naming of a
# descriptor wall (bench/ceiling.py) from a real run under a lowered `ulimit -n`:
#   window     an open loop at R = 200/s of streams lasting L = 0.95 s (20 tokens 50 ms apart)
#              holds R x L = 190 in flight: the window's mean on the wire is within 15% of 190,
#              and so is mockllm's own peak in flight; the requests that started inside number
#              R x its length (constant arrivals: +-2), tokens arrive at R x 20 per second
#              (+-15%), none queued, the client and the server each hold at least that many
#              descriptors, and the server's RLIMIT_NOFILE is what /proc says of its PID
#   spread     with two base URLs (one mock on 127.0.0.1 and 127.0.0.2) each in-flight slot
#              keeps to one: mockllm accepted no more connections than there are slots, and
#              both addresses served requests
#   usage      --window without TO or --duration, FROM after TO, --server-pid alone: exit 2,
#              one line
#   EMFILE     under `ulimit -n 128` with 200 in flight and --no-limit-check: the JSON says
#              limits.met = descriptors, and ceiling.py names "descriptors ... EMFILE" with the
#              client's count at RLIMIT_NOFILE 128
# Needs LL_LLMLOAD, LL_MOCKLLM; the bench dir is found from this script. LL_KEEP=DIR keeps the
# JSON files (the fixtures of test_bench_ceiling.py were made so).
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
MOCKLLM=${LL_MOCKLLM:?set LL_MOCKLLM to the mockllm binary}
BENCH=$(cd "$(dirname "$0")/../bench" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
tmp=$(mktemp -d)
mock_pid=
stop_mock() {
    if [ -n "$mock_pid" ]; then
        kill "$mock_pid" 2>/dev/null
        wait "$mock_pid" 2>/dev/null
    fi
    mock_pid=
}
trap 'stop_mock; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# start_mock: a fresh mockllm on 127.0.0.1 and 127.0.0.2 (streams of 20 tokens 50 ms apart);
# sets mock_pid, port, urls.
start_mock() {
    rm -f "$tmp/ready"
    mkfifo "$tmp/ready"
    "$MOCKLLM" --port 0 --listen 127.0.0.1 --listen 127.0.0.2 --itl 50 --tokens 20 \
        >"$tmp/ready" 2>"$tmp/mock.err" &
    mock_pid=$!
    read -r _ _ port <"$tmp/ready" || { echo "FAIL: mockllm did not start"; exit 1; }
    urls=(--url "http://127.0.0.1:$port/v1" --url "http://127.0.0.2:$port/v1")
}

for be in threaded evented; do
    start_mock
    timeout 60 "$LLMLOAD" run --backend "$be" "${urls[@]}" --rate 200 --concurrency 220 \
        --requests 600 --duration 3s --window 1.2s --server-pid "$mock_pid" --stream \
        --retries 0 --no-preflight --json "$tmp/$be.json" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 0 ] || fail "$be window: exit $rc: $(cat "$tmp/err")"
    grep '^steady window' "$tmp/out" || fail "$be: no steady window line"
    m=$(curl -s "http://127.0.0.1:$port/metrics")
    peak=$(awk '$1 == "mockllm_in_flight_peak" { print $2 }' <<<"$m")
    conns=$(awk '$1 == "mockllm_connections_total" { print $2 - 1 }' <<<"$m") # less this scrape
    mock_nofile=$(awk '/^Max open files/ { print $4 }' "/proc/$mock_pid/limits")
    $PY - "$tmp/$be.json" "${peak:-0}" "${conns:-0}" "$mock_nofile" <<'PY' || fail "$be: window figures"
import json, sys
d = json.load(open(sys.argv[1]))
peak, conns, mock_nofile = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
w = d["results"]["window"]
L, R = 0.95, 200.0      # 19 gaps of 50 ms after the first token; requests a second
want = R * L            # in flight from L on
inf = w["in_flight"]["mean"]
print("  in flight %.1f (want %.0f), mock peak %d, connections %d, started %d, %.0f tokens/s"
      % (inf, want, peak, conns, w["started"]["requests"]["submitted"], w["tokens"]["per_s"]))
assert 0.85 * want <= inf <= 1.15 * want, inf
assert 0.85 * want <= peak <= 220, peak
assert abs(w["seconds"] - 1.8) < 1e-6 and not w["truncated"], w
assert abs(w["started"]["requests"]["submitted"] - R * 1.8) <= 2, w["started"]["requests"]
assert w["started"]["requests"]["failed"] == 0, w["started"]["requests"]
assert 0.85 * R * 20 <= w["tokens"]["per_s"] <= 1.15 * R * 20, w["tokens"]
assert w["in_flight"]["queued_mean"] < 0.05 * want, w["in_flight"]
assert w["client"]["fds_peak"] >= 0.85 * want and w["server"]["fds_peak"] >= 0.85 * want, w
assert w["server"]["rlimit_nofile"]["soft"] == mock_nofile, w["server"]
assert w["client"]["cpu_cores"] > 0 and w["server"]["cpu_cores"] > 0, w
assert w["client"]["cpu_us_per_token"] > 0 and w["client"]["rss_per_in_flight_kb"] > 0, w
# spread: each slot keeps one connection to one address
assert conns <= d["config"]["concurrency"], (conns, d["config"]["concurrency"])
PY
    stop_mock
    [ -n "${LL_KEEP:-}" ] && cp "$tmp/$be.json" "$LL_KEEP/$be-held.json"
done

# Spread: two mocks, two slots; each slot keeps to its own mock and its one connection.
mkfifo "$tmp/ready2"
"$MOCKLLM" --port 0 >"$tmp/ready2" 2>/dev/null &
mock2_pid=$!
trap 'stop_mock; kill "$mock2_pid" 2>/dev/null; wait "$mock2_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
read -r _ _ port2 <"$tmp/ready2" || fail "second mockllm did not start"
start_mock
for be in threaded evented; do
    "$LLMLOAD" run --backend "$be" --url "http://127.0.0.1:$port/v1" \
        --url "http://127.0.0.1:$port2/v1" --requests 20 --concurrency 2 --no-preflight \
        >/dev/null 2>"$tmp/err" || fail "$be spread: $(cat "$tmp/err")"
done
for p in "$port" "$port2"; do
    m=$(curl -s "http://127.0.0.1:$p/metrics") # this scrape's own connection is not counted yet
    c=$(awk '$1 == "mockllm_connections_total" { print $2 }' <<<"$m")
    r=$(awk '/^mockllm_requests_total/ { n += $2 } END { print n + 0 }' <<<"$m")
    echo "  spread: mock on port $p: $r requests on $c connections"
    [ "${c:-0}" -eq 3 ] || fail "spread: port $p accepted ${c:-?} connections, want 3: one slot of each of 2 runs, and this scrape"
    [ "${r:-0}" -gt 0 ] || fail "spread: port $p served no request"
done
stop_mock
kill "$mock2_pid" 2>/dev/null

# Usage errors: one line, exit 2.
usage() { # WHAT WANT-IN-LINE ARGS...
    local what=$1 want=$2; shift 2
    "$LLMLOAD" run --backend evented --url http://127.0.0.1:9/v1 "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ "$rc" -eq 2 ] || fail "usage $what: exit $rc"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- "$want" "$tmp/err" ||
        fail "usage $what: $(cat "$tmp/err")"
}
usage "no TO, no duration" "ends with --duration" --rate 10 --window 5
usage "FROM after TO" "FROM must come before TO" --rate 10 --duration 10s --window 5:2
usage "bad FROM" "want FROM" --rate 10 --duration 10s --window x:2
usage "server pid alone" "needs --window" --rate 10 --server-pid 1

# EMFILE: 200 in flight under 128 descriptors, on both backends.
start_mock
for be in threaded evented; do
    (
        ulimit -n 128
        exec timeout 60 "$LLMLOAD" run --backend "$be" "${urls[@]}" --rate 200 \
            --concurrency 220 --requests 600 --duration 3s --window 1.2s \
            --server-pid "$mock_pid" --stream --retries 0 --no-preflight --no-limit-check \
            --json "$tmp/$be-emfile.json"
    ) >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 0 ] || fail "$be EMFILE: exit $rc: $(cat "$tmp/err")"
    [ -n "${LL_KEEP:-}" ] && cp "$tmp/$be-emfile.json" "$LL_KEEP/$be-emfile.json"
    $PY - "$BENCH" "$tmp/$be-emfile.json" <<'PY' || fail "$be: EMFILE naming"
import json, sys
sys.path.insert(0, sys.argv[1])
sys.dont_write_bytecode = True
import ceiling
d = json.load(open(sys.argv[2]))
assert d["results"]["limits"]["met"] == "descriptors", d["results"]["limits"]
c = {"status": "ok", "rc": "0", "concurrency": 190, "failed": d["results"]["requests"]["failed"],
     "limit_hit": "descriptors", "limit_line": d["results"]["limits"]["line"]}
ceiling.fields(c, d)
conf = {"ttft_ms": "0", "itl_ms": "50", "tokens": "20", "targets": "190"}
ok, why = ceiling.held(c, conf)
name = ceiling.stop(c, conf)
print("  " + name)
assert not ok and any("failed" in w for w in why), why
assert name.startswith("descriptors: ") and "with EMFILE; the client held" in name and "RLIMIT_NOFILE 128" in name, name
PY
done
stop_mock

[ "$fails" -eq 0 ] && echo "test_ceiling_cli: OK" || echo "test_ceiling_cli: $fails failure(s)"
[ "$fails" -eq 0 ]
