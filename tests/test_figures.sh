#!/usr/bin/env bash
# test_figures.sh CASE - the figures of `llmload run` (and compare) against independent truths,
# on both backends: the mock's own counters (its summary line, /metrics), arithmetic from the
# configured latency and rate, the wall clock. One ctest test per CASE (tests/figures.cmake).
#
#   failures    issue 11 item 1: a run whose every request failed has 0 req/s of successes, an
#               error share of 1, failures by class equal to the mock's count, exit 1
#   classes     item 2: no success exits 1 whatever the class (4xx, 429, 5xx, timeout, partial)
#   compare     item 1: compare of a failed run against a good one shows no throughput gain
#   thresholds  item 2: --threshold / --max-error-rate judged against arithmetic truths, exit 3
#               with one line naming the threshold; bad expressions exit 2
#   abort       item 2: the endpoint dies mid-run; --abort-on-fail stops the run long before
#               the retries' backoff would have ended it
#   anchor      item 4: closed-loop goodput counts from the slot (look-ahead or not), no
#               corrected figure there; open loop counts from the intended send
#   nulls       item 10: not measured is null / "-"; --json's schema, version, commit, time
#   keepup      item 5: an open loop that cannot keep up says so: offered, achieved, why
#   exitcodes   issue 13 item 10: the same exit codes for every subcommand, documented
#   loop        item 12: loop figures true in every mode; the lag probe wakes nothing
#   little      item 11: Little's law judged only when it can be
#   timeout     item 14: a timeout below its 1 ms resolution is refused; one applied works
#   memory      item 13: RSS per request in flight from before the backend was created
#   report      item 10 / issue 13 item 19: bench/report.py's cells.csv and report.md leave
#               what was not measured empty / "-"
# Needs LL_LLMLOAD and LL_MOCKLLM.
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
MOCKLLM=${LL_MOCKLLM:?set LL_MOCKLLM to the mockllm binary}
PY=python3
SRC=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
mockpid=""
cleanup() {
    [ -n "$mockpid" ] && kill "$mockpid" 2>/dev/null && wait "$mockpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
BACKENDS="threaded evented"

# jcheck FILE 'python expression over d (the JSON) and r (its results)' MESSAGE
jcheck() {
    $PY - "$1" "$2" <<'PY' || fail "$3"
import json, math, sys
d = json.load(open(sys.argv[1]))
r = d.get("results", {})
ok = eval("(" + sys.argv[2] + ")")
if not ok:
    print("  check failed: %s" % sys.argv[2])
sys.exit(0 if ok else 1)
PY
}

# The embedded mock's summary on llmload's stderr: "mockllm: 200 requests (429 65, 500 71, ...)"
# -> "429=65 500=71 ..."
mock_counts() {
    sed -n 's/^mockllm: [0-9]* requests (\(.*\)),.*/\1/p' "$1" | head -1 | tr -d ',' |
        awk '{for (i = 1; i < NF; i += 2) printf "%s=%s ", $i, $(i + 1)}'
}

# start_mock ARGS... : mockllm on a free port -> $port, $mockpid
start_mock() {
    "$MOCKLLM" --port 0 "$@" >"$tmp/mock.out" 2>"$tmp/mock.err" &
    mockpid=$!
    for _ in $(seq 1 200); do
        port=$(awk '/listening/{print $3; exit}' "$tmp/mock.out" 2>/dev/null)
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    fail "mockllm did not start"
    return 1
}

# mock_metric NAME_WITH_LABELS: one value from the mock's /metrics
mock_metric() {
    curl -s "http://127.0.0.1:$port/metrics" | awk -v k="$1" '$1 == k {print $2}'
}

case_failures() {
    for be in $BACKENDS; do
        "$LLMLOAD" run --backend "$be" --requests 200 --concurrency 10 --retries 0 --fault-rate 1 \
            --latency-ms 50 --json "$tmp/f.json" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 1 ] || fail "$be all failed: exit $rc, want 1"
        grep -q "no request succeeded: 200 failed" "$tmp/err" ||
            fail "$be all failed: no 'no request succeeded' line: $(cat "$tmp/err")"
        # the mock's own count of what it answered is the truth for the classes
        counts=$(mock_counts "$tmp/err")
        n429=$(echo "$counts" | tr ' ' '\n' | sed -n 's/^429=//p')
        n5xx=$(echo "$counts" | tr ' ' '\n' | sed -n 's/^50[03]=//p' | paste -sd+ | bc)
        [ -n "$n429" ] && [ -n "$n5xx" ] || fail "$be: no mock summary line: $(cat "$tmp/err")"
        jcheck "$tmp/f.json" "r['requests']['succeeded'] == 0 and r['requests']['failed'] == 200
            and r['requests']['by_class']['429'] == ${n429:-0}
            and r['requests']['by_class']['5xx'] == ${n5xx:-0}" \
            "$be all failed: by class differs from the mock's count ($counts)"
        jcheck "$tmp/f.json" "r['requests']['throughput_rps'] == 0
            and r['requests']['error_share'] == 1 and r['requests']['failed_rps'] > 0" \
            "$be all failed: throughput must be 0 req/s of successes, error share 1"
        jcheck "$tmp/f.json" "r['resources']['cpu_s_per_1000_requests'] is None
            and r['latency']['e2e']['p50_ms'] is None and r['latency']['e2e']['count'] == 0" \
            "$be all failed: CPU per request and e2e p50 must be null (not measured)"
        grep -Eq '^throughput \(succeeded\) +0\.000 req/s' "$tmp/out" ||
            fail "$be all failed: the table's throughput is not 0: $(grep throughput "$tmp/out")"
        grep -Eq '^error share +100\.000 %' "$tmp/out" || fail "$be all failed: no error share 100%"
        grep -Eq '^cpu per 1000 succeeded +- s' "$tmp/out" || fail "$be: cpu per request not '-'"
        # half the requests fail: throughput counts the other half only
        "$LLMLOAD" run --backend "$be" --requests 100 --concurrency 10 --retries 0 \
            --mock-arg=--faults=500=0.5 --mock-arg=--seed=3 --latency-ms 5 \
            --json "$tmp/h.json" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 0 ] || fail "$be half failed: exit $rc, want 0 (some succeeded)"
        n500=$(mock_counts "$tmp/err" | tr ' ' '\n' | sed -n 's/^500=//p')
        jcheck "$tmp/h.json" "r['requests']['failed'] == ${n500:-0} > 0
            and abs(r['requests']['throughput_rps'] * r['requests']['wall_s']
                    - r['requests']['succeeded']) < 0.01
            and abs(r['requests']['error_share'] - ${n500:-0} / 100.0) < 1e-9" \
            "$be half failed: throughput is not successes / wall, or the share is not the mock's"
    done
}

case_classes() {
    for be in $BACKENDS; do
        # close: mockllm closes after the answer began, so it is partial (issue 12), not connect
        for f in 400=1:4xx 429=1:429 500=1:5xx stall=1:timeout close=1:partial; do
            "$LLMLOAD" run --backend "$be" --requests 5 --concurrency 2 --retries 0 --timeout 0.3 \
                --mock-arg=--faults="${f%%:*}" --json "$tmp/c.json" >"$tmp/out" 2>"$tmp/err"
            rc=$?
            [ "$rc" -eq 1 ] || fail "$be ${f%%:*}: no request succeeded but exit $rc, want 1"
            jcheck "$tmp/c.json" "r['requests']['by_class']['${f##*:}'] == 5" \
                "$be ${f%%:*}: want 5 failures of class ${f##*:}"
            [ "$(grep -c "no request succeeded" "$tmp/err")" -eq 1 ] ||
                fail "$be ${f%%:*}: want one 'no request succeeded' line: $(cat "$tmp/err")"
        done
    done
}

case_compare() {
    for be in $BACKENDS; do
        "$LLMLOAD" run --backend "$be" --requests 100 --concurrency 10 --retries 0 --latency-ms 20 \
            --json "$tmp/good.json" >/dev/null 2>&1 || fail "$be good run: exit $?"
        "$LLMLOAD" run --backend "$be" --requests 200 --concurrency 10 --retries 0 --fault-rate 1 \
            --latency-ms 50 --json "$tmp/bad.json" >/dev/null 2>&1
        "$LLMLOAD" compare "$tmp/good.json" "$tmp/bad.json" >"$tmp/cmp" 2>&1 ||
            fail "$be compare: exit $?"
        # B (all failed) must show no throughput gain over A: its ratio is 0
        ratio=$(awk '/^throughput req\/s/ {print $NF}' "$tmp/cmp")
        [ "$ratio" = "0.00" ] || fail "$be compare: throughput B/A '$ratio', want 0.00: $(cat "$tmp/cmp")"
        # the same from files that predate successes-only throughput (completions / wall)
        $PY - "$tmp/bad.json" "$tmp/old.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
q = d["results"]["requests"]
q["throughput_rps"] = q["completed"] / q["wall_s"]
del q["error_share"], q["failed_rps"]
d.pop("schema_version", None)
json.dump(d, open(sys.argv[2], "w"))
PY
        "$LLMLOAD" compare "$tmp/good.json" "$tmp/old.json" >"$tmp/cmp" 2>&1
        ratio=$(awk '/^throughput req\/s/ {print $NF}' "$tmp/cmp")
        [ "$ratio" = "0.00" ] || fail "$be compare (old file): throughput B/A '$ratio', want 0.00"
        grep -q "B: .*" "$tmp/cmp" && grep -q "no request succeeded (200 failed)" "$tmp/cmp" ||
            fail "$be compare: B's failure is not said"
    done
    # Issue 13 item 14: the mock's settings are part of the configuration (given on one side,
    # mockllm's default on the other); --json; thresholds on B/A for CI; an unknown flag.
    "$LLMLOAD" compare "$tmp/good.json" "$tmp/bad.json" --json "$tmp/cmp.json" \
        --threshold 'throughput>=0.9' --threshold 'p99<=110%' >"$tmp/cmp" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 3 ] || fail "compare thresholds: exit $rc, want 3"
    [ "$(grep -c 'threshold failed' "$tmp/err")" -eq 2 ] &&
        grep -q "threshold failed: throughput>=0.9 (B/A 0.000)" "$tmp/err" &&
        grep -q "threshold failed: p99<=110% (not measured)" "$tmp/err" ||
        fail "compare thresholds: one line each: $(cat "$tmp/err")"
    grep -q "mock.latency_ms: 20 vs 50" "$tmp/cmp" && grep -q "mock.fault_rate: mockllm's default vs 1" \
        "$tmp/cmp" || fail "compare: the mock's settings are not among the differences"
    jcheck "$tmp/cmp.json" "d['command'] == 'compare' and d['schema_version'] == 3
        and {x['key'] for x in d['config_differences']} >= {'mock.latency_ms', 'mock.fault_rate'}
        and [t['ok'] for t in d['thresholds']] == [False, False]
        and [f for f in d['figures'] if f['path'] == '=ok_rps'][0]['ratio'] == 0" \
        "compare --json"
    "$LLMLOAD" compare "$tmp/good.json" "$tmp/good.json" --threshold 'throughput>=1' \
        --threshold 'e2e.p50<=1' >"$tmp/cmp" 2>"$tmp/err" || fail "compare A A: exit $?"
    "$LLMLOAD" compare "$tmp/good.json" "$tmp/bad.json" --json - 2>/dev/null |
        $PY -c "import json, sys; json.load(sys.stdin)" || fail "compare --json -: not JSON alone"
    for args in "--bogus $tmp/good.json $tmp/bad.json" "$tmp/good.json" "a b c" \
        "$tmp/good.json $tmp/bad.json --threshold" "a b --threshold p99<5ms"; do
        # shellcheck disable=SC2086
        "$LLMLOAD" compare $args >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ] ||
            fail "compare $args: exit $rc, want 2 with one line: $(cat "$tmp/err")"
    done
    grep -q "unknown flag '--bogus'" <("$LLMLOAD" compare --bogus a b 2>&1) ||
        fail "compare --bogus: not an unknown-flag line"
}

case_thresholds() {
    for be in $BACKENDS; do
        # 20 ms per request: e2e p99 cannot be under 20 ms, and is far under 2 s
        "$LLMLOAD" run --backend "$be" --requests 40 --concurrency 4 --latency-ms 20 \
            --threshold 'p99<2s' --threshold 'e2e.p50 >= 20ms' --threshold 'error_rate<1%' \
            --threshold 'throughput>1' --json "$tmp/t.json" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 0 ] || fail "$be thresholds that hold: exit $rc: $(cat "$tmp/err")"
        [ "$(grep -c '^threshold .*: ok' "$tmp/out")" -eq 4 ] || fail "$be: want 4 'ok' lines"
        jcheck "$tmp/t.json" "len(d['thresholds']) == 4 and all(t['ok'] for t in d['thresholds'])" \
            "$be: thresholds in the JSON"
        "$LLMLOAD" run --backend "$be" --requests 40 --concurrency 4 --latency-ms 20 \
            --threshold 'p99<10ms' --threshold 'p99<2s' --json "$tmp/t.json" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 3 ] || fail "$be p99<10ms at 20 ms latency: exit $rc, want 3"
        [ "$(grep -c 'threshold failed' "$tmp/err")" -eq 1 ] &&
            grep -q 'threshold failed: p99<10ms (' "$tmp/err" ||
            fail "$be: want one line naming p99<10ms: $(cat "$tmp/err")"
        jcheck "$tmp/t.json" "[t['ok'] for t in d['thresholds']] == [False, True]
            and d['thresholds'][0]['value'] >= 20" "$be: failed threshold in the JSON"
        # error rate: the mock's count of injected 500s is the truth
        "$LLMLOAD" run --backend "$be" --requests 60 --concurrency 4 --retries 0 \
            --mock-arg=--faults=500=0.3 --mock-arg=--seed=5 --max-error-rate 0.01 \
            --json "$tmp/e.json" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        n500=$(mock_counts "$tmp/err" | tr ' ' '\n' | sed -n 's/^500=//p')
        [ "$rc" -eq 3 ] || fail "$be --max-error-rate 0.01 with ${n500:-?} of 60 failed: exit $rc"
        grep -q "threshold failed: error_rate<=0.01 (" "$tmp/err" || fail "$be: no error_rate line"
        jcheck "$tmp/e.json" "abs(d['thresholds'][0]['value'] - ${n500:-0} / 60.0) < 1e-9" \
            "$be: error_rate differs from the mock's count"
        # not measured fails: TTFT of a run that did not stream
        "$LLMLOAD" run --backend "$be" --requests 5 --threshold 'ttft.p50<1s' >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 3 ] && grep -q "threshold failed: ttft.p50<1s (not measured)" "$tmp/err" ||
            fail "$be: a threshold on an unmeasured figure must fail: exit $rc $(cat "$tmp/err")"
        # no request succeeded: the run failed (1), whatever the thresholds say
        "$LLMLOAD" run --backend "$be" --requests 5 --retries 0 --fault-rate 1 \
            --threshold 'p99<1s' >/dev/null 2>&1
        rc=$?
        [ "$rc" -eq 1 ] || fail "$be: no success with a threshold: exit $rc, want 1"
    done
    for bad in 'p99' 'p101<5' 'p0<5' 'foo<5' 'p99<5kg' 'error_rate<2' 'p99<-1' 'e2e.p(99<5' \
        'throughput<5ms' 'ttft.<5' 'p99<' '<5'; do
        "$LLMLOAD" run --backend threaded --threshold "$bad" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ] ||
            fail "--threshold '$bad': exit $rc, want 2 with one line: $(cat "$tmp/err")"
    done
    "$LLMLOAD" run --backend threaded --abort-on-fail >/dev/null 2>"$tmp/err"
    [ $? -eq 2 ] || fail "--abort-on-fail without a threshold must be a usage error"
}

case_abort() {
    for be in $BACKENDS; do
        start_mock --latency-ms 20 || return
        "$LLMLOAD" run --backend "$be" --requests 2000 --concurrency 10 --no-preflight \
            --url "http://127.0.0.1:$port/v1" --max-error-rate 0.01 --abort-on-fail \
            --json "$tmp/a.json" >"$tmp/out" 2>"$tmp/err" &
        llpid=$!
        # the endpoint dies once it has answered 200 requests (its own counter says when)
        for _ in $(seq 1 400); do
            n=$(mock_metric 'mockllm_requests_total{model="gpt-mock",status="200"}')
            [ "${n:-0}" -ge 200 ] && break
            sleep 0.05
        done
        t0=$(date +%s.%N)
        kill -9 "$mockpid"
        wait "$mockpid" 2>/dev/null
        mockpid=""
        wait "$llpid"
        rc=$?
        took=$(echo "$(date +%s.%N) - $t0" | bc)
        [ "$rc" -eq 3 ] || fail "$be endpoint died: exit $rc, want 3: $(cat "$tmp/err")"
        # 4 attempts with 1+2+4 s of backoff each: 21 failures come within ~2 rounds; without
        # the abort the ~1,800 requests left take ~20 min at 10 in flight
        echo "  $be: stopped $took s after the endpoint died"
        $PY -c "import sys; sys.exit(0 if $took < 60 else 1)" ||
            fail "$be: took $took s after the endpoint died"
        grep -q "stopped early: threshold error_rate<=0.01 can no longer pass" "$tmp/err" ||
            fail "$be: no 'stopped early' line: $(cat "$tmp/err")"
        jcheck "$tmp/a.json" "d['run']['stopped_by'] == 'error_rate<=0.01'
            and d['run']['not_sent'] > 1000 and r['accounting']['ok']
            and r['requests']['failed'] >= 21 and d['thresholds'][0]['stopped_run']" \
            "$be: the stopped run's JSON"
    done
}

# Item 4 (hunt case02): closed loop, 100 ms per request, SLO e2e=150 ms. Every request is
# answered in ~100 ms from its slot, so goodput is ~100% with the look-ahead queue (where a
# request waits ~100 ms for its slot) and without it; there is no corrected figure. Open loop at
# twice what one slot can carry: the backlog grows ~10 ms per request, so latency from the
# intended send (request i: ~i x 10 ms + 20 ms) has p50 ~520 ms and the SLO is missed.
case_anchor() {
    for be in $BACKENDS; do
        for la in default 0; do
            args=()
            [ "$la" = 0 ] && args=(--lookahead 0)
            "$LLMLOAD" run --backend "$be" --requests 100 --concurrency 10 --latency-ms 100 \
                --slo e2e=150 "${args[@]}" --json "$tmp/c.json" >"$tmp/out" 2>"$tmp/err" ||
                fail "$be closed lookahead=$la: exit $?"
            jcheck "$tmp/c.json" "r['goodput']['share'] >= 0.9 and r['latency']['corrected'] is None
                and r['latency']['e2e']['p50_ms'] >= 100" \
                "$be closed lookahead=$la: goodput must count from the slot, not the queue"
            ! grep -q '^corrected ' "$tmp/out" || fail "$be closed: a 'corrected' row in closed loop"
        done
        # the look-ahead queue did hold requests back: the queue wait is where that shows
        jcheck "$tmp/c.json" "r['latency']['queue_wait']['count'] == 100" "$be: queue wait"
        "$LLMLOAD" run --backend "$be" --requests 100 --rate 100 --concurrency 1 --latency-ms 20 \
            --slo e2e=30 --json "$tmp/o.json" >"$tmp/out" 2>"$tmp/err"
        jcheck "$tmp/o.json" "400 <= r['latency']['corrected']['p50_ms'] <= 900
            and r['goodput']['share'] < 0.1 and r['latency']['e2e']['p50_ms'] < 200" \
            "$be open loop: latency from the intended send, SLO missed"
        grep -q '^corrected ' "$tmp/out" || fail "$be open: no 'corrected' row"
    done
}

# Issue 13 item 19 / issue 11 item 10: bench/report.py writes a figure that was not measured as
# an empty cell in cells.csv and "-" in report.md, never 0: wrk's p99.9 and context switches,
# TTFT of a run that did not stream, loop lag of the threaded backend, every latency and the
# CPU per request of a run in which nothing succeeded (whose throughput is a measured 0).
case_report() {
    local out=$tmp/bench
    mkdir -p "$out/raw" "$out/logs" "$out/conf"
    printf 'mode=closed\ntitle=zero\nideal_ms=0\n' >"$out/conf/throughput.env"
    for be in $BACKENDS; do
        "$LLMLOAD" run --backend "$be" --requests 20 --concurrency 4 \
            --json "$out/raw/tp-$be.json" >/dev/null 2>&1 || fail "$be run: exit $?"
        printf 'throughput\t%s\t4\t\t20\t0\traw/tp-%s.json\tlogs/x.log\t0.1\n' "$be" "$be" \
            >>"$out/cells.tsv"
    done
    "$LLMLOAD" run --backend evented --requests 20 --concurrency 8 --retries 0 --fault-rate 1 \
        --json "$out/raw/bad.json" >/dev/null 2>&1
    printf 'throughput\tevented\t8\t\t20\t1\traw/bad.json\tlogs/bad.log\t0.1\n' >>"$out/cells.tsv"
    printf '[ 1/1] progress\nllmload run: why this cell failed\n\n' >"$out/logs/bad.log"
    cat >"$out/logs/wrk.log" <<'WRK'
Running 5s test @ http://127.0.0.1:1/v1/chat/completions
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.00ms    0.10ms   5.00ms   90.00%
  Latency Distribution
     50%    1.00ms
     75%    1.10ms
     90%    1.20ms
     99%    2.00ms
  50000 requests in 5.00s, 10.00MB read
Requests/sec:  10000.00
WRK
    echo "1.00 2.00 5000" >"$out/logs/wrk.time"
    $PY "$SRC/bench/report.py" wrk2json "$out/logs/wrk.log" "$out/logs/wrk.time" 4 \
        >"$out/raw/wrk.json" || fail "wrk2json: exit $?"
    printf 'throughput\twrk\t4\t\t\t0\traw/wrk.json\tlogs/wrk.log\t0.1\n' >>"$out/cells.tsv"
    $PY "$SRC/bench/report.py" report "$out" "$SRC/bench/workloads" quick >/dev/null 2>"$tmp/err" ||
        fail "report.py: exit $?: $(cat "$tmp/err")"
    $PY - "$out/cells.csv" "$out/report.md" <<'PY' || fail "report.py: not-measured figures"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {(r["client"], r["concurrency"]): r for r in rows}
bad = []
def empty(row, *keys):
    for k in keys:
        if row.get(k, "") != "":
            bad.append("%s %s=%r, want empty (not measured)" % (row["client"], k, row.get(k)))
def number(row, key, want=None):
    try:
        v = float(row[key])
    except (KeyError, ValueError):
        bad.append("%s %s=%r, want a number" % (row["client"], key, row.get(key)))
        return
    if want is not None and abs(v - want) > 1e-9:
        bad.append("%s %s=%r, want %r" % (row["client"], key, v, want))
empty(by[("wrk", "4")], "e2e_p999_ms", "ctx_switches", "ttft_p50_ms", "rss_per_inflight_kb")
number(by[("wrk", "4")], "e2e_p99_ms", 2.0)
number(by[("wrk", "4")], "rps", 10000.0)
for be in ("threaded", "evented"):
    empty(by[(be, "4")], "ttft_p50_ms", "itl_p99_ms", "corrected_p99_ms")
    number(by[(be, "4")], "e2e_p50_ms")
    number(by[(be, "4")], "ctx_switches")
empty(by[("threaded", "4")], "loop_lag_p99_ms")
number(by[("evented", "4")], "cpu_per_1000")
failed = by[("evented", "8")]
empty(failed, "e2e_p50_ms", "e2e_p99_ms", "last_attempt_p99_ms", "cpu_per_1000")
number(failed, "rps", 0.0)
md = open(sys.argv[2]).read()
# a failed cell is listed with what its program said last, so a reader sees why
if "logs/bad.log: llmload run: why this cell failed" not in md:
    bad.append("report.md: the failed cell's line does not give its log's last line")
for line in md.splitlines():
    if "| p99.9 ms |" in line and line.startswith("| 4 |"):
        if not line.rstrip(" |").endswith("-"):
            bad.append("report.md p99.9 row: wrk's cell is not '-': " + line)
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
PY
}

# Item 10: what was not measured is null in the JSON and "-" in the table, never 0; every
# --json document says which schema, llmload version and git commit wrote it, and when (UTC,
# checked against this machine's clock).
case_nulls() {
    for be in $BACKENDS; do
        "$LLMLOAD" run --backend "$be" --requests 20 --concurrency 4 --json "$tmp/n.json" \
            >"$tmp/out" 2>&1 || fail "$be: exit $?"
        jcheck "$tmp/n.json" "all(r['latency'][h][k] is None for h in ('ttft', 'itl')
                for k in ('min_ms', 'mean_ms', 'p50_ms', 'p99_ms', 'p999_ms', 'max_ms'))
            and r['latency']['ttft']['count'] == 0 and r['latency']['corrected'] is None
            and r['goodput']['share'] is None and r['goodput']['goodput_rps'] is None
            and r['schedule']['slip_max_ms'] is None and r['schedule']['slip_mean_ms'] is None
            and r['latency']['e2e']['p50_ms'] > 0" \
            "$be: TTFT/ITL of a run that did not stream, goodput without an SLO, slip without a
            schedule must be null"
        jcheck "$tmp/n.json" "d['schema_version'] == 3 and d['tool'] == 'llmload'
            and d['command'] == 'run'
            and __import__('re').fullmatch(r'\d+\.\d+\.\d+', d['llmload_version'])
            and __import__('re').fullmatch(r'([0-9a-f]{7,40}(-dirty)?|unknown)', d['git_commit'])
            and abs(__import__('calendar').timegm(__import__('time').strptime(d['created_utc'],
                '%Y-%m-%dT%H:%M:%SZ')) - __import__('time').time()) < 3600" \
            "$be: schema version, llmload version, git commit, UTC timestamp"
        # all failed: the latency rows have a count of 0 and '-' for every figure
        "$LLMLOAD" run --backend "$be" --requests 10 --retries 0 --fault-rate 1 >"$tmp/out" 2>&1
        grep -Eq '^e2e +0( +-){6} *$' "$tmp/out" ||
            fail "$be: the e2e row of a run with no success: $(grep '^e2e' "$tmp/out")"
        ! grep -Eq '^e2e .* 0\.000' "$tmp/out" || fail "$be: 0.000 in an empty row"
    done
    "$LLMLOAD" ab --models a,b --json "$tmp/ab.json" >/dev/null 2>&1 || fail "ab: exit $?"
    jcheck "$tmp/ab.json" "d['schema_version'] == 3 and d['command'] == 'ab' and d['git_commit']" \
        "ab --json: the document's metadata"
}

# Item 13: RSS per request in flight counts the whole footprint the requests cause, from the
# process before the backend was created (threads' stacks and handles included). Truth: the
# kernel's high-water mark (VmHWM) of the same run at C=1 and at C=300 (1 s per request, so all
# of them are in flight together): the figure must account for all of the growth between the two (the old one,
# counted from after the backend's creation, gave 70-75% of it) and no more than the process
# grew from its base.
case_memory() {
    local n=300
    for be in $BACKENDS; do
        for c in 1 $n; do
            "$LLMLOAD" run --backend "$be" --requests $c --concurrency $c --latency-ms 1000 \
                --json "$tmp/m$c.json" >"$tmp/out$c" 2>&1 || fail "$be C=$c: exit $?"
        done
        grep -q "(rss peak - rss before the backend) / in-flight peak" "$tmp/out$n" ||
            fail "$be: the table does not say how RSS per request in flight is computed"
        $PY - "$tmp/m1.json" "$tmp/m$n.json" "$n" "$be" <<'PY' || fail "$be: RSS per in flight"
import json, sys
one = json.load(open(sys.argv[1]))["results"]["resources"]
big = json.load(open(sys.argv[2]))["results"]
n = int(sys.argv[3])
res = big["resources"]
per = res["rss_per_in_flight_kb"]
hwm = lambda r: r["rss_peak_sources"]["kernel_hwm_kb"]  # the kernel's high-water mark
grown = hwm(big["resources"]) - hwm(one)  # the kernel's: n - 1 more in flight
whole = hwm(res) - res["rss_base_kb"]
print("  %s: %.1f KiB per request in flight; kernel: %d KiB more at C=%d than at C=1, %d KiB "
      "over the base" % (sys.argv[4], per, grown, n, whole))
ok = big["littles_law"]["in_flight_peak"] == n and "before the backend" in \
    res["rss_per_in_flight_method"] and per * n >= 0.9 * grown and per * n <= 1.05 * whole
sys.exit(0 if ok else 1)
PY
    done
}

# Item 14: a timeout below the 1 ms resolution it is applied with is refused (it used to become
# 0, "no timeout", and let 100 ms requests through); one that is applied does end requests that
# take longer (300 ms of mock latency against 50 ms), on both backends.
case_timeout() {
    for args in "run --backend threaded --timeout 0.0004 --latency-ms 100" \
        "run --backend evented --timeout 1e-5 --latency-ms 100" \
        "run --backend evented --connect-timeout 0.0009" \
        "batch --in /dev/null --out $tmp/b.jsonl --timeout 0.0004"; do
        # shellcheck disable=SC2086
        "$LLMLOAD" $args >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "below the 1 ms resolution" \
            "$tmp/err" || fail "'$args': exit $rc, want 2 and one line: $(cat "$tmp/err")"
    done
    for be in $BACKENDS; do
        "$LLMLOAD" run --backend "$be" --requests 4 --concurrency 4 --retries 0 --timeout 0.05 \
            --latency-ms 300 --json "$tmp/t.json" >"$tmp/out" 2>"$tmp/err"
        jcheck "$tmp/t.json" "r['requests']['by_class']['timeout'] == 4
            and d['config']['client']['timeout_ms'] == 50" "$be: a 50 ms timeout against 300 ms"
        "$LLMLOAD" run --backend "$be" --requests 2 --timeout 0.0015 --connect-timeout 2.0004 \
            --json "$tmp/t.json" >/dev/null 2>&1
        jcheck "$tmp/t.json" "d['config']['client']['timeout_ms'] == 2
            and d['config']['client']['connect_timeout_ms'] == 2000" "$be: whole ms, rounded"
    done
}

# Item 5: an open loop that cannot keep up says so: offered 5,000 req/s against 10 in flight
# at 100 ms is at most 100 req/s (truth: C / latency), held back by the in-flight cap; one that
# can (200 req/s, 50 in flight, 20 ms) says it kept up; a closed loop is not judged.
case_keepup() {
    for be in $BACKENDS; do
        "$LLMLOAD" run --backend "$be" --requests 300 --rate 5000 --concurrency 10 \
            --latency-ms 100 --json "$tmp/k.json" >"$tmp/out" 2>"$tmp/err" || fail "$be: exit $?"
        # The line is part of the report: on its stream (stdout), after the table that points
        # to it ("why: the line after the table"), not on stderr where a redirect loses it.
        grep -Eq "open loop did not keep up: offered 5000.0 req/s, achieved [0-9.]+ req/s .*held \
back by the in-flight cap \(10\)" "$tmp/out" || fail "$be: no plain 'did not keep up' line: $(cat "$tmp/out")"
        grep -Eq '^kept up +NO' "$tmp/out" || fail "$be: the table does not say 'kept up NO'"
        why=$(grep -n "did not keep up" "$tmp/out" | head -1 | cut -d: -f1)
        lat=$(grep -n "^latency (ms)" "$tmp/out" | head -1 | cut -d: -f1)
        [ -n "$why" ] && [ -n "$lat" ] && [ "$why" -gt "$lat" ] ||
            fail "$be: the keep-up line (line $why) is not after the table (line $lat)"
        jcheck "$tmp/k.json" "r['schedule']['kept_up'] is False and r['schedule']['offered_rps'] == 5000
            and 60 <= r['schedule']['achieved_rps'] <= 105
            and 'in_flight_cap' in r['schedule']['held_back_by']
            and r['schedule']['waited_for_slot'] >= 270" "$be: offered vs achieved, and why"
        "$LLMLOAD" run --backend "$be" --requests 200 --rate 200 --concurrency 50 --latency-ms 20 \
            --json "$tmp/k.json" >"$tmp/out" 2>"$tmp/err" || fail "$be: exit $?"
        ! grep -q "did not keep up" "$tmp/out" "$tmp/err" || fail "$be at 200 req/s: $(cat "$tmp/out")"
        jcheck "$tmp/k.json" "r['schedule']['kept_up'] is True
            and 180 <= r['schedule']['achieved_rps'] <= 220 and r['schedule']['held_back_by'] == []" \
            "$be: 200 req/s kept"
        "$LLMLOAD" run --backend "$be" --requests 20 --concurrency 4 --json "$tmp/k.json" \
            >/dev/null 2>&1
        jcheck "$tmp/k.json" "r['schedule']['kept_up'] is None
            and r['schedule']['offered_rps'] is None" "$be: closed loop is not judged"
    done
}

# Item 11: Little's law is judged only when it can be: zero-latency requests at --rate 5 (the
# README's first example, slowed) are not flagged and say why; 100 ms requests are judged and
# hold (L = throughput x residence, within 5%).
case_little() {
    for be in $BACKENDS; do
        "$LLMLOAD" run --backend "$be" --requests 10 --rate 5 --json "$tmp/l.json" \
            >"$tmp/out" 2>"$tmp/err" || fail "$be: exit $?"
        ! grep -qi "little" "$tmp/err" || fail "$be: a Little's law warning: $(cat "$tmp/err")"
        grep -Eq "^little's law difference +- +not judged: " "$tmp/out" ||
            fail "$be: $(grep "little's" "$tmp/out")"
        jcheck "$tmp/l.json" "not r['littles_law']['judged'] and not r['littles_law']['flagged']
            and r['littles_law']['not_judged']" "$be: not judged in the JSON"
        "$LLMLOAD" run --backend "$be" --requests 100 --concurrency 10 --latency-ms 100 \
            --json "$tmp/l.json" >"$tmp/out" 2>"$tmp/err" || fail "$be: exit $?"
        jcheck "$tmp/l.json" "r['littles_law']['judged'] and not r['littles_law']['flagged']
            and r['littles_law']['not_judged'] is None" "$be: 100 ms requests are judged and hold"
    done
}

# Item 12: the loop's figures are true in every mode. Zero latency, open loop at 200 req/s:
# the driver sleeps between sends, so most of the wall is outside the loop; busy + idle +
# outside add up to the wall; the lag probe has samples (it had none: a 10 ms timer restarted
# with every request never fired). Its cost: at one request in flight (100 ms each), the
# kernel counts the process's voluntary context switches -- a 10 ms probe timer woke it ~10
# times per request; without wake-ups of its own it needs about one.
case_loop() {
    "$LLMLOAD" run --backend evented --requests 300 --rate 200 --json "$tmp/l.json" \
        >"$tmp/out" 2>"$tmp/err" || fail "evented open loop: exit $?"
    jcheck "$tmp/l.json" "r['backend']['loop_lag']['count'] > 0
        and abs(r['backend']['loop_busy_share'] + r['backend']['loop_idle_share']
                + r['backend']['outside_loop_share'] - 1) < 0.01
        and r['backend']['outside_loop_share'] > 0.5 and r['backend']['loop_busy_share'] < 0.5
        and r['backend']['loop_iterations'] > 0" "evented open loop at zero latency: loop figures"
    grep -Eq '^outside the loop share +[0-9.]+ %' "$tmp/out" || fail "no 'outside the loop' line"
    "$LLMLOAD" run --backend evented --requests 20 --concurrency 1 --latency-ms 100 \
        --json "$tmp/c1.json" >/dev/null 2>&1 || fail "evented C=1: exit $?"
    jcheck "$tmp/c1.json" "r['resources']['ctx_switches_voluntary'] / 20.0 < 4
        and r['backend']['loop_iterations'] / 20.0 < 6 and r['backend']['loop_lag']['count'] > 0" \
        "evented C=1: the probe must not wake the loop (context switches, iterations per request)"
    "$LLMLOAD" run --backend threaded --requests 20 --concurrency 4 --json "$tmp/t.json" \
        >"$tmp/out" 2>&1 || fail "threaded: exit $?"
    jcheck "$tmp/t.json" "r['backend']['loop_busy_share'] is None
        and r['backend']['loop_iterations'] is None and r['backend']['loop_lag'] is None" \
        "threaded: no loop figures"
    ! grep -q "^loop " "$tmp/out" || fail "threaded: loop lines in the table"
}

# Issue 13 item 10: one set of exit codes for every subcommand, documented in each --help:
# 0 ok, 1 the run failed, 2 usage, 3 a threshold failed, 130/143 interrupted. demo exits 1
# when a claim it prints does not hold (its endpoint fails every request: deterministic).
case_exitcodes() {
    for args in "run --backend evented --bogus" "ab --models a --bogus" "batch --bogus" \
        "demo basics --bogus" "compare --bogus a b" "nosuchcommand" "run --backend nosuch"; do
        # shellcheck disable=SC2086
        "$LLMLOAD" $args >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] ||
            fail "'$args': exit $rc, want 2 with one line: $(cat "$tmp/err")"
    done
    "$LLMLOAD" --help >"$tmp/h" || fail "llmload --help: exit $?"
    for code in "0    ok" "1    the run failed" "2    usage" "3    a threshold failed" \
        "130  interrupted by SIGINT, 143 by SIGTERM"; do
        grep -q "^  $code" "$tmp/h" || fail "llmload --help does not document '$code'"
    done
    for cmd in run ab batch "demo basics" compare; do
        # shellcheck disable=SC2086
        "$LLMLOAD" $cmd --help >"$tmp/h" 2>&1 || fail "$cmd --help: exit $?"
        grep -q "^exit: 0 " "$tmp/h" && grep -q "2 usage" "$tmp/h" ||
            fail "$cmd --help documents no exit codes"
    done
    grep -q "3 a threshold failed" <("$LLMLOAD" run --help) || fail "run --help: no code 3"
    grep -q "130/143 interrupted" <("$LLMLOAD" run --help) || fail "run --help: no 130/143"
    start_mock --faults=500=1 || return
    "$LLMLOAD" demo errors --scale 0.05 --backend evented --url "http://127.0.0.1:$port/v1" \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 1 ] || fail "demo with claims that do not hold: exit $rc, want 1"
    grep -q "DOES NOT HOLD" "$tmp/out" && grep -q "claim '.*' does not hold" "$tmp/err" ||
        fail "demo: the failing claim is not named: $(cat "$tmp/err")"
    kill "$mockpid" && wait "$mockpid" 2>/dev/null
    mockpid=""
    # run interrupted by SIGINT once its requests are in flight: 130, summary and JSON written
    for be in $BACKENDS; do
        "$LLMLOAD" run --backend "$be" --requests 20 --concurrency 2 --latency-ms 3000 \
            --json "$tmp/i.json" >"$tmp/out" 2>"$tmp/err" &
        llpid=$!
        port=""
        for _ in $(seq 1 200); do
            port=$(sed -n 's/^endpoint=http:\/\/127.0.0.1:\([0-9]*\)\/.*/\1/p' "$tmp/out")
            [ -n "$port" ] && [ "$(mock_metric mockllm_in_flight)" = 2 ] && break
            sleep 0.05
        done
        kill -INT "$llpid"
        wait "$llpid"
        rc=$?
        [ "$rc" -eq 130 ] || fail "$be run after SIGINT: exit $rc, want 130"
        jcheck "$tmp/i.json" "d['run']['interrupted'] is True and r['accounting']['ok']" \
            "$be: the interrupted run's JSON"
    done
}

case "${1:-}" in
failures | classes | compare | thresholds | abort | anchor | report | nulls | memory | timeout | \
    keepup | little | loop | exitcodes)
    "case_$1"
    ;;
*)
    echo "usage: $0 CASE (see the head of the script)" >&2
    exit 2
    ;;
esac
[ "$fails" -eq 0 ] && echo "test_figures $1: all passed"
exit $((fails > 0))
