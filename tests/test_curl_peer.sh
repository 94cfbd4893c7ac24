#!/usr/bin/env bash
# test_curl_peer.sh - the libcurl reference peer bench.sh runs: a bad flag exits 2 with a usage
# line; a small run against a mockllm answers every request and writes the run-like JSON that
# bench/report.py reads (completed = succeeded = requests, latency and CPU figures present).
# Usage: test_curl_peer.sh CURL_MULTI_PEER MOCKLLM
set -u
PEER=$1 MOCK=$2
tmp=$(mktemp -d)
mock_pid=""
trap '[ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$PEER" --concurrency 4 >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || fail "missing --url: want exit 2"
grep -q "^usage:" "$tmp/err" || fail "missing --url: no usage line"
"$PEER" --url http://127.0.0.1:9/v1 --concurrency 0 --requests 5 2>/dev/null
[ $? -eq 2 ] || fail "--concurrency 0: want exit 2"

# Readiness by mockllm's "listening HOST PORT" line, read as it is written (no polling).
exec {mock_fd}< <(exec "$MOCK" --port 0 2>/dev/null)
mock_pid=$!
read -r -t 10 _ host port <&"$mock_fd" || fail "mockllm did not say it listens"
"$PEER" --url "http://$host:$port/v1" --concurrency 4 --requests 50 --json "$tmp/run.json" \
    2>"$tmp/err" || fail "run: exit $?: $(cat "$tmp/err")"
/usr/bin/python3 - "$tmp/run.json" <<'PY' || fail "JSON check"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"]
assert d["config"]["concurrency"] == 4 and d["config"]["requests"] == 50, d["config"]
assert r["requests"]["completed"] == 50 and r["requests"]["succeeded"] == 50, r["requests"]
assert r["requests"]["throughput_rps"] > 0
e = r["latency"]["e2e"]
assert 0 < e["p50_ms"] <= e["p99_ms"] <= e["max_ms"], e
assert r["resources"]["cpu_s_per_1000_requests"] > 0
PY
[ "$fails" -eq 0 ] && echo "test_curl_peer: all passed"
exit $((fails > 0))
