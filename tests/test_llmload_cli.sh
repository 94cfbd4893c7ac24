#!/usr/bin/env bash
# test_llmload_cli.sh - llmload run end to end: bad flags exit 2 with one line, small runs on
# every backend against the embedded mockllm exit 0 with the accounting line OK, --json parses
# and holds the figures and never the API key, an unreachable URL exits 1 with one line.
# Needs LL_LLMLOAD (and LL_MOCKLLM, read by llmload itself).
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# usage errors: exit 2, exactly one line on stderr, nothing on stdout
bad_flags=(
    "run"
    "run --backend nosuch"
    "run --backend threaded --requests 0"
    "run --backend threaded --requests 10x"
    "run --backend threaded --concurrency -1"
    "run --backend threaded --rate abc"
    "run --backend threaded --timeout 1e999"
    "run --backend threaded --slo ttft=fast"
    "run --backend threaded --slo itl=20"
    "run --backend threaded --slo e2e=9,tpot=20"
    "run --backend threaded --arrivals poisson"
    "run --backend threaded --bogus"
    "run --backend threaded --requests"
    "run --backend threaded --stream=yes"
    "run --backend threaded --url ftp://example.com"
    "run --backend threaded --url http://127.0.0.1:1/v1 --latency-ms 5"
    "run --backend threaded --rate 10 --lookahead 4"
    "run --backend threaded --lookahead -1"
    "nosuchcommand"
)
for args in "${bad_flags[@]}"; do
    # shellcheck disable=SC2086
    "$LLMLOAD" $args >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] || fail "'$args': exit $rc, want 2"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "'$args': stderr is not one line: $(cat "$tmp/err")"
    [ ! -s "$tmp/out" ] || fail "'$args': wrote to stdout"
done

"$LLMLOAD" run --help >"$tmp/help" || fail "run --help: exit $?"
for flag in backend requests concurrency lookahead rate arrivals model stream max-tokens retries timeout \
    connect-timeout no-reuse blocking stack-size slo url json seed header latency-ms \
    fault-rate mock-arg; do
    grep -q -- "--$flag.*default" "$tmp/help" ||
        grep -A1 -- "--$flag" "$tmp/help" | grep -q default || fail "--help misses --$flag"
done

# a small run on every backend, closed and open loop, streaming and with faults + retries
export OPENAI_API_KEY=sk-test-never-printed
unset OPENAI_BASE_URL
for be in threaded evented; do
    for mode in "--concurrency 4" "--rate 200 --arrivals poisson --concurrency 8"; do
        # shellcheck disable=SC2086
        "$LLMLOAD" run --backend $be --requests 40 $mode --stream --max-tokens 8 \
            --fault-rate 0.2 --retries 5 --mock-arg=--seed=7 --slo ttft=500,e2e=5000 \
            --json "$tmp/$be.json" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 0 ] || fail "$be $mode: exit $rc: $(cat "$tmp/err")"
        grep -q "^accounting OK: submitted 40 " "$tmp/out" || fail "$be $mode: no accounting OK"
        grep -q "backend=$be" "$tmp/out" || fail "$be $mode: header does not name the backend"
        ! grep -rq "sk-test" "$tmp/out" "$tmp/err" "$tmp/$be.json" || fail "$be: API key leaked"
        python3 - "$tmp/$be.json" "$be" <<'PY' || fail "$be $mode: JSON check"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"]
assert d["config"]["backend"] == sys.argv[2]
assert d["config"]["client"]["api_key_set"] is True
assert r["requests"]["submitted"] == 40
assert r["requests"]["succeeded"] + r["requests"]["failed"] + r["requests"]["cancelled"] == 40
assert r["accounting"]["ok"] is True
for k in ("e2e", "corrected", "last_attempt", "queue_wait", "ttft", "itl"):
    if k == "corrected" and d["config"]["mode"] == "closed":
        assert r["latency"][k] is None  # no schedule, no corrected figure (issue 11 item 4)
        continue
    for f in ("count", "p50_ms", "p99_ms", "p999_ms", "max_ms"):
        assert f in r["latency"][k], (k, f)
for k in ("cpu_user_s", "rss_peak_kb", "threads_peak", "cpu_s_per_1000_requests"):
    assert k in r["resources"], k
assert "l_measured" in r["littles_law"] and "good" in r["goodput"]
# Closed loop: 4 on the wire, up to 4 more queued (the default lookahead min(C, 64)).
ll = r["littles_law"]
if d["config"]["mode"] == "closed":
    assert d["config"]["lookahead"] == 4, d["config"]
    assert ll["in_flight_peak"] == 4 and 4 < ll["outstanding_peak"] <= 8, ll
else:
    assert d["config"]["lookahead"] == 0 and ll["in_flight_peak"] <= 8, (d["config"], ll)
PY
    done
done

# --lookahead 0: exactly C submitted, as many outstanding as in flight
"$LLMLOAD" run --backend threaded --requests 30 --concurrency 3 --lookahead 0 \
    --json "$tmp/la0.json" >"$tmp/out" 2>"$tmp/err" || fail "lookahead 0: exit $?: $(cat "$tmp/err")"
python3 - "$tmp/la0.json" <<'PY' || fail "lookahead 0: JSON check"
import json, sys
ll = json.load(open(sys.argv[1]))["results"]["littles_law"]
assert ll["outstanding_peak"] == 3 and ll["in_flight_peak"] == 3, ll
PY

# an unreachable endpoint: one line, exit 1
"$LLMLOAD" run --backend evented --requests 5 --url http://127.0.0.1:1/v1 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "unreachable: exit $rc, want 1"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "unreachable: stderr is not one line: $(cat "$tmp/err")"
grep -q "unreachable" "$tmp/err" || fail "unreachable: $(cat "$tmp/err")"

[ "$fails" -eq 0 ] && echo "test_llmload_cli: all passed"
exit $((fails > 0))
