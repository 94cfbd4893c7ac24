#!/usr/bin/env bash
# tests/test_bench_gate.sh MODE GATE_PY BASELINE - prove the bench gate passes and can fail.
#   clean      a result equal to the baseline passes (exit 0)
#   regressed  a doctored result (evented/threaded throughput halved, RSS per request in flight
#              tripled) fails with exit 1 and names both metrics
#   missing    a result without one of the baseline's metrics fails (exit 1)
set -u
mode=$1 gate=$2 baseline=$3
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A summary.json whose "gate" figures are the baseline's values, doctored per MODE.
$PY - "$baseline" "$mode" >"$work/summary.json" <<'PY' || exit 2
import json, sys
base = json.load(open(sys.argv[1]))["metrics"]
gate = {k: m["value"] for k, m in base.items()}
if sys.argv[2] == "regressed":
    for k in gate:
        if k.startswith("throughput.evented_over_threaded_rps"):
            gate[k] *= 0.5
        if "rss_kb_per_inflight" in k and k.startswith("latency-bound.evented"):
            gate[k] *= 3.0
elif sys.argv[2] == "missing":
    gate.pop(sorted(gate)[0])
print(json.dumps({"level": "test", "gate": gate}))
PY

$PY "$gate" check "$baseline" "$work/summary.json" >"$work/out.txt" 2>&1
rc=$?
cat "$work/out.txt"
case $mode in
clean) [ $rc -eq 0 ] && grep -q 'gate: PASS' "$work/out.txt" ;;
regressed)
    [ $rc -eq 1 ] && grep -q 'evented_over_threaded_rps.*FAIL' "$work/out.txt" &&
        grep -q 'evented_rss_kb_per_inflight.*FAIL' "$work/out.txt" ;;
missing) [ $rc -eq 1 ] && grep -q 'FAIL (missing)' "$work/out.txt" ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac
ok=$?
[ $ok -eq 0 ] && echo "test_bench_gate $mode: ok (gate exit $rc)" || echo "test_bench_gate $mode: FAILED (gate exit $rc)"
exit $ok
