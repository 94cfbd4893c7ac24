#!/usr/bin/env bash
# test_merge_cli.sh CASE - one workload split over agents (llmload run --segment, --start-at) and
# merged (llmload merge), end to end on both backends, against independent truths: the mock's
# own request count, the schedule's arithmetic, histograms re-added and percentiles re-computed
# in Python from the files' sparse buckets (tests/merge_check.py). One ctest test per CASE
# (tests/multi.cmake):
#
#   open      4 agents, one --start-at, a constant open loop: the agents send the global
#             schedule's arrivals i, i+4, ... at their global times; merged counts equal the
#             mock's; merged percentiles equal the summed buckets'; the 1 s windows add up;
#             a merge of two merges equals the merge of the four
#   closed    closed loop: requests and concurrency split with the remainder on the first
#             agents, exactly the workload's requests in all
#   refuse    one line and exit 1 for files that do not add up: another workload, another
#             configuration, another histogram layout, another split, a segment twice, a file
#             of schema 2, not a run's file
#   missing   a missing segment and a failed agent make the merged run fail (exit 1), with the
#             report still printed and the JSON saying why
#   flags     bad --segment / --start-at values are usage errors; a late start is said, recorded
#             and caught up on; --duration ends at the common instant
#   workload  gamma arrivals with a ramp, drawn lengths, a replayed trace: split and merged, the
#             whole run's requests (prompt tokens, max_tokens asked, schedule span)
#   ssh       bench/multihost/run-ssh.sh with ssh and scp standing in locally
#   k8s       bench/multihost/llmload-agents.yaml rendered by run-k8s.sh, its pods' scripts run
#             here with the environment an Indexed Job gives them
# Needs LL_LLMLOAD and LL_MOCKLLM.
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
MOCKLLM=${LL_MOCKLLM:?set LL_MOCKLLM to the mockllm binary}
PY=python3
HERE=$(cd "$(dirname "$0")" && pwd)
CHECK="$PY $HERE/merge_check.py"
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

# jcheck FILE 'python expression over d (the JSON)' MESSAGE
jcheck() {
    $PY - "$1" "$2" <<'PY' || fail "$3"
import json, sys
d = json.load(open(sys.argv[1]))
ok = eval("(" + sys.argv[2] + ")")
if not ok:
    print("  check failed: %s" % sys.argv[2])
sys.exit(0 if ok else 1)
PY
}

# jedit IN OUT 'python statement over d': a doctored copy of a file.
jedit() {
    $PY - "$1" "$2" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))
PY
}

# start_mock [ARGS...]: a shared mockllm on loopback; sets $port.
start_mock() {
    "$MOCKLLM" --port 0 "$@" >"$tmp/mock.out" 2>"$tmp/mock.err" &
    mockpid=$!
    for _ in $(seq 100); do
        port=$(awk '/^listening/ {print $3}' "$tmp/mock.out")
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "mockllm did not start"
    exit 1
}

stop_mock() {
    kill "$mockpid" 2>/dev/null && wait "$mockpid" 2>/dev/null
    mockpid=""
}

mock_requests() {
    curl -s "http://127.0.0.1:$port/metrics" |
        awk '/^mockllm_requests_total/ {n += $2} END {print n + 0}'
}

# agents N TAG ARGS...: N agents of the same run, one --start-at a second ahead, in parallel;
# their files $tmp/TAG.I.json, exit codes $tmp/TAG.I.rc.
agents() {
    local n=$1 tag=$2 at i pids=()
    shift 2
    at=$(($(date +%s) + 2))
    for i in $(seq 0 $((n - 1))); do
        (
            timeout 60 "$LLMLOAD" run --url "http://127.0.0.1:$port/v1" --no-preflight \
                --segment "$i/$n" --start-at "$at" --json "$tmp/$tag.$i.json" --quiet "$@" \
                2>"$tmp/$tag.$i.err"
            echo $? >"$tmp/$tag.$i.rc"
        ) &
        pids+=($!)
    done
    wait "${pids[@]}" # the agents, not the mock
    for i in $(seq 0 $((n - 1))); do
        [ "$(cat "$tmp/$tag.$i.rc")" = 0 ] || fail "$tag agent $i exited $(cat "$tmp/$tag.$i.rc"): $(cat "$tmp/$tag.$i.err")"
    done
}

case_open() {
    for be in $BACKENDS; do
        start_mock --ttft uniform:20,60
        agents 4 "o$be" --backend "$be" --rate 100 --requests 150
        local files=("$tmp/o$be".{0,1,2,3}.json)
        "$LLMLOAD" merge "${files[@]}" --json "$tmp/o$be.m.json" >"$tmp/o$be.m.out" 2>"$tmp/o$be.m.err" ||
            fail "$be merge exited $?: $(cat "$tmp/o$be.m.err")"
        local served
        served=$(mock_requests)
        stop_mock
        [ "$served" = 150 ] || fail "$be: the mock answered $served requests, want 150"
        jcheck "$tmp/o$be.m.json" "d['results']['requests']['submitted'] == 150
            and d['results']['requests']['succeeded'] == 150 and d['merge']['ok']
            and d['segment']['covers'] == [0, 1, 2, 3] and d['segment']['missing'] == []
            and d['results']['schedule']['offered_rps'] == 100
            and [a['submitted'] for a in d['agents']] == [38, 38, 37, 37]" \
            "$be: merged counts"
        # the shares of one schedule: 150 arrivals 10 ms apart, agent i's are i, i+4, ...
        $CHECK schedule 100 "${files[@]}" || fail "$be: the agents did not split the global schedule"
        $CHECK pct "$tmp/o$be.m.json" "${files[@]}" || fail "$be: merged percentiles"
        $CHECK series "$tmp/o$be.m.json" "${files[@]}" || fail "$be: merged series"
        # throughput over the common window: the earliest start to the latest end
        jcheck "$tmp/o$be.m.json" "abs(d['results']['requests']['throughput_rps'] * d['results']['requests']['wall_s'] - 150) < 1e-6
            and d['results']['requests']['wall_s'] >= max(a['wall_s'] for a in d['agents'])" \
            "$be: merged throughput over the common window"
        grep -q "^accounting OK: submitted 150" "$tmp/o$be.m.out" || fail "$be: merged accounting line"
        grep -q "^e2e  *150 " "$tmp/o$be.m.out" || fail "$be: merged table has no e2e row of 150"
        # merges merge again
        "$LLMLOAD" merge "${files[0]}" "${files[1]}" --json "$tmp/o$be.m01.json" >/dev/null 2>&1
        [ $? -eq 1 ] || fail "$be: a merge of 2 of 4 segments did not fail"
        "$LLMLOAD" merge "${files[2]}" "${files[3]}" --json "$tmp/o$be.m23.json" >/dev/null 2>&1
        "$LLMLOAD" merge "$tmp/o$be.m01.json" "$tmp/o$be.m23.json" --json "$tmp/o$be.mm.json" \
            >/dev/null 2>"$tmp/o$be.mm.err" || fail "$be: merge of merges: $(cat "$tmp/o$be.mm.err")"
        $CHECK same "$tmp/o$be.m.json" "$tmp/o$be.mm.json" || fail "$be: merge of merges differs"
    done
}

case_closed() {
    start_mock --latency-ms 5
    for be in $BACKENDS; do
        agents 4 "c$be" --backend "$be" --requests 30 --concurrency 6
        for i in 0 1 2 3; do
            local want_r=(8 8 7 7) want_c=(2 2 1 1)
            jcheck "$tmp/c$be.$i.json" "d['segment']['requests'] == ${want_r[$i]}
                and d['segment']['concurrency'] == ${want_c[$i]}
                and d['results']['requests']['submitted'] == ${want_r[$i]}
                and d['config']['requests'] == 30 and d['config']['concurrency'] == 6
                and d['config']['client']['concurrency'] == ${want_c[$i]}" \
                "$be closed: agent $i's share"
        done
        "$LLMLOAD" merge "$tmp/c$be".{0,1,2,3}.json --json "$tmp/c$be.m.json" >/dev/null 2>&1 ||
            fail "$be closed: merge failed"
        jcheck "$tmp/c$be.m.json" "d['results']['requests']['succeeded'] == 30 and d['merge']['ok']
            and d['results']['latency']['corrected'] is None" "$be closed: merged"
    done
    local before
    before=$(mock_requests)
    [ "$before" = 60 ] || fail "closed: the mock answered $before, want 60"
    # too few to split: a usage error naming it
    "$LLMLOAD" run --backend evented --url "http://127.0.0.1:$port/v1" -n 30 -c 3 --segment 3/4 \
        >/dev/null 2>"$tmp/err"
    [ $? -eq 2 ] && grep -q "segment 3/4: --concurrency 3 leaves this segment nothing" "$tmp/err" ||
        fail "closed: 3 slots over 4 agents: $(cat "$tmp/err")"
    stop_mock
}

# refuse WANT_LINE FILES...: exit 1 and exactly one line on stderr, containing WANT_LINE.
refuse() {
    local want=$1
    shift
    "$LLMLOAD" merge "$@" >"$tmp/r.out" 2>"$tmp/r.err"
    local rc=$?
    [ $rc -eq 1 ] || fail "refuse '$want': exit $rc, want 1"
    [ "$(wc -l <"$tmp/r.err")" -eq 1 ] && grep -qF -- "$want" "$tmp/r.err" ||
        fail "refuse '$want': stderr was: $(cat "$tmp/r.err")"
}

case_refuse() {
    start_mock --latency-ms 5
    agents 2 r --backend evented --rate 200 --requests 20
    stop_mock
    local a="$tmp/r.0.json" b="$tmp/r.1.json"
    jedit "$b" "$tmp/rate.json" "d['config']['rate'] = 150"
    refuse "are different workloads: config.rate 200 vs 150" "$a" "$tmp/rate.json"
    jedit "$b" "$tmp/prompt.json" "d['config']['prompt'] = 'another'"
    refuse "different workloads: config.prompt" "$a" "$tmp/prompt.json"
    jedit "$b" "$tmp/be.json" "d['config']['backend'] = 'threaded'"
    refuse "are different configurations: config.backend \"evented\" vs \"threaded\"" "$a" "$tmp/be.json"
    jedit "$b" "$tmp/retry.json" "d['config']['client']['retry']['max_attempts'] = 9"
    refuse "different configurations: config.client.retry.max_attempts 4 vs 9" "$a" "$tmp/retry.json"
    jedit "$b" "$tmp/slo.json" "d['exact']['fields']['slo.e2e_ms'] = 100"
    refuse "different configurations: --slo" "$a" "$tmp/slo.json"
    jedit "$b" "$tmp/layout.json" "d['exact']['layout']['histogram']['sub_bits'] = 6"
    refuse "histogram sub_bits 6, this build's 7" "$a" "$tmp/layout.json"
    jedit "$b" "$tmp/hist.json" "d['exact']['histograms']['zz'] = d['exact']['histograms']['e2e']"
    refuse "histograms: " "$a" "$tmp/hist.json"
    jedit "$b" "$tmp/field.json" "d['exact']['fields']['new_counter'] = 1"
    refuse "field new_counter unknown to this build" "$a" "$tmp/field.json"
    jedit "$b" "$tmp/split.json" "d['segment']['count'] = 3"
    refuse "one of 3: different splits" "$a" "$tmp/split.json"
    refuse "both hold segment 0/2: overlapping segments" "$a" "$a"
    jedit "$b" "$tmp/v2.json" "d['schema_version'] = 2; del d['exact']"
    refuse "schema_version 2 without exact results" "$a" "$tmp/v2.json"
    echo '{"tool": "llmload", "command": "compare"}' >"$tmp/cmp.json"
    refuse "is not an \`llmload run --json\` file" "$a" "$tmp/cmp.json"
    refuse "cannot read $tmp/nope.json" "$a" "$tmp/nope.json"
    # the host's own keys may differ: another endpoint, another descriptor limit
    jedit "$b" "$tmp/host.json" "d['config']['endpoint'] = 'http://10.0.0.9:8000/v1'; d['config']['rlimit_nofile']['soft'] = 7"
    "$LLMLOAD" merge "$a" "$tmp/host.json" >/dev/null 2>"$tmp/err" ||
        fail "refuse: host keys refused: $(cat "$tmp/err")"
    # different --start-at instants merge, with a warning: their schedules do not line up
    jedit "$b" "$tmp/at.json" "d['start']['at_utc'] = '2001-01-01T00:00:00.000000000Z'"
    "$LLMLOAD" merge "$a" "$tmp/at.json" >/dev/null 2>"$tmp/err" &&
        grep -q "were given different --start-at" "$tmp/err" ||
        fail "refuse: different --start-at not warned about: $(cat "$tmp/err")"
    "$LLMLOAD" merge >/dev/null 2>"$tmp/err"
    [ $? -eq 2 ] || fail "refuse: merge without files is not a usage error"
    "$LLMLOAD" merge --frob "$a" >/dev/null 2>"$tmp/err"
    [ $? -eq 2 ] || fail "refuse: an unknown flag is not a usage error"
}

case_missing() {
    start_mock --latency-ms 5
    agents 3 s --backend threaded --rate 200 --requests 30
    stop_mock
    "$LLMLOAD" merge "$tmp/s.0.json" "$tmp/s.2.json" --json "$tmp/s.m.json" >"$tmp/s.out" 2>"$tmp/s.err"
    [ $? -eq 1 ] || fail "missing: exit $?, want 1"
    grep -q "merged run FAILED: segment 1 of 3 missing" "$tmp/s.err" ||
        fail "missing: not said: $(cat "$tmp/s.err")"
    grep -q "segments 0, 2 of 3 (INCOMPLETE)" "$tmp/s.out" && grep -q "^requests submitted  *20$" "$tmp/s.out" ||
        fail "missing: the report of what is there was not printed"
    jcheck "$tmp/s.m.json" "not d['merge']['ok'] and d['segment']['missing'] == [1]
        and d['run']['exit_code'] == 1 and 'segment 1 of 3 missing' in d['merge']['failures'][0]" \
        "missing: the JSON"
    jedit "$tmp/s.1.json" "$tmp/s.1f.json" "d['run']['exit_code'] = 1"
    "$LLMLOAD" merge "$tmp/s.0.json" "$tmp/s.1f.json" "$tmp/s.2.json" >/dev/null 2>"$tmp/s.err"
    [ $? -eq 1 ] && grep -q "agent $tmp/s.1f.json (host .*) failed: its run exited 1" "$tmp/s.err" ||
        fail "failed agent: $(cat "$tmp/s.err")"
    jedit "$tmp/s.1.json" "$tmp/s.1i.json" "d['run']['exit_code'] = 130; d['run']['interrupted'] = True"
    "$LLMLOAD" merge "$tmp/s.0.json" "$tmp/s.1i.json" "$tmp/s.2.json" >/dev/null 2>"$tmp/s.err"
    [ $? -eq 1 ] && grep -q "failed: its run exited 130" "$tmp/s.err" || fail "interrupted agent: $(cat "$tmp/s.err")"
    # an agent whose threshold failed ran: not a failure of the merged run
    jedit "$tmp/s.1.json" "$tmp/s.1t.json" "d['run']['exit_code'] = 3"
    "$LLMLOAD" merge "$tmp/s.0.json" "$tmp/s.1t.json" "$tmp/s.2.json" >/dev/null 2>"$tmp/s.err" ||
        fail "an agent's threshold failed the merge: $(cat "$tmp/s.err")"
    # a segment that sent fewer than its share: the workload's count does not add up
    jedit "$tmp/s.1.json" "$tmp/s.1n.json" "f = d['exact']['fields']; f['submitted'] -= 1; f['completed'] -= 1; f['by_class']['ok'] -= 1"
    "$LLMLOAD" merge "$tmp/s.0.json" "$tmp/s.1n.json" "$tmp/s.2.json" >/dev/null 2>"$tmp/s.err"
    [ $? -eq 1 ] && grep -q "the agents sent 29 requests, the workload has 30" "$tmp/s.err" ||
        fail "short agent: $(cat "$tmp/s.err")"
    # thresholds on the merged figures
    "$LLMLOAD" merge "$tmp/s.0.json" "$tmp/s.1.json" "$tmp/s.2.json" --threshold 'p50<1ms' \
        >/dev/null 2>"$tmp/s.err"
    [ $? -eq 3 ] && grep -q "threshold failed: p50<1ms" "$tmp/s.err" || fail "merge --threshold: $(cat "$tmp/s.err")"
}

case_flags() {
    local v
    for v in 4/4 1/0 x -1/2 1/2/3; do
        "$LLMLOAD" run --backend evented --segment "$v" >/dev/null 2>"$tmp/err"
        [ $? -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- "--segment: want I/N" "$tmp/err" ||
            fail "--segment $v: $(cat "$tmp/err")"
    done
    for v in 2026-13-01T00:00:00Z 2026-11-25T14:03:09 tomorrow "$(($(date +%s) + 3 * 86400))"; do
        "$LLMLOAD" run --backend evented --start-at "$v" >/dev/null 2>"$tmp/err"
        [ $? -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- "--start-at" "$tmp/err" ||
            fail "--start-at $v: $(cat "$tmp/err")"
    done
    # two seconds late, 3 s of open loop: the schedule starts at the common instant, the late
    # agent sends its backlog at once and stops at the same end as the others
    start_mock --latency-ms 5
    local at
    # --start-at takes whole seconds: wait for a second's turn, so that the start is 2 s late
    # plus llmload's own start, not up to 3 s (a start near the run's 3 s end proves nothing)
    sleep "0.$(printf '%09d' $((1000000000 - 10#$(date +%N))))"
    at=$(($(date +%s) - 2))
    "$LLMLOAD" run --backend evented --url "http://127.0.0.1:$port/v1" --no-preflight --rate 50 \
        --duration 3 --start-at "$at" --segment 1/2 --json "$tmp/late.json" >"$tmp/late.out" 2>"$tmp/late.err" ||
        fail "late start: exit $?: $(cat "$tmp/late.err")"
    stop_mock
    # 2 s late plus llmload's own start (hundreds of ms on a loaded machine)
    grep -q "started 2[0-9][0-9][0-9]\.[0-9] ms after --start-at" "$tmp/late.err" ||
        fail "late start not said: $(cat "$tmp/late.err")"
    grep -q "start-at=.*T" "$tmp/late.out" || fail "the header does not name the start"
    # sends of the global schedule 1, 3, 5, ... (20 ms apart each) until 3 s after the instant
    jcheck "$tmp/late.json" "d['start']['late_ms'] >= 2000 and d['start']['at_utc'].startswith(
            __import__('time').strftime('%Y-%m-%dT%H:%M:%S', __import__('time').gmtime($at)))
        and d['exact']['fields']['sends_scheduled'] == 75 and d['exact']['fields']['sends_late'] >= 45
        and d['exact']['fields']['intended_first'] == 20000000
        and 2.9e9 < d['exact']['fields']['t_stop'] < 3.5e9
        and d['results']['latency']['corrected']['max_ms'] >= 1900" \
        "late start: recorded, caught up, ended at the common instant"
}

# The workload's shapes split the same way (issue 14's arrivals and lengths): gamma arrivals with
# a ramp, drawn prompt and answer lengths, and a replayed trace, each run once whole and once as
# 4 agents. The agents together send the whole run's requests: the same prompt tokens (mockllm's
# count, in its usage), the same max_tokens asked, the same schedule span to the ns.
case_workload() {
    start_mock --latency-ms 5
    local shapes=("--rate 200 --requests 41 --arrivals gamma --burstiness 0.5 --ramp-up 0.1 --input-tokens uniform:10,50 --output-tokens uniform:5,20"
        "--trace $tmp/trace.csv")
    printf 'timestamp_s,input_tokens,output_tokens\n' >"$tmp/trace.csv"
    awk 'BEGIN { for (k = 0; k < 23; k++) printf "%.3f,%d,%d\n", k * 0.013 + (k % 3) * 0.004, 8 + 3 * k, 4 + k % 7 }' \
        >>"$tmp/trace.csv" # uneven gaps, lengths that differ per row
    local n=0
    for shape in "${shapes[@]}"; do
        n=$((n + 1))
        # shellcheck disable=SC2086 # the shape is several flags
        "$LLMLOAD" run --backend evented --url "http://127.0.0.1:$port/v1" --no-preflight $shape \
            --quiet --json "$tmp/w$n.one.json" 2>"$tmp/err" || fail "workload $n whole: $(cat "$tmp/err")"
        # shellcheck disable=SC2086
        agents 4 "w$n" --backend evented $shape
        "$LLMLOAD" merge "$tmp/w$n".{0,1,2,3}.json --json "$tmp/w$n.m.json" >/dev/null 2>"$tmp/err" ||
            fail "workload $n merge: $(cat "$tmp/err")"
        $PY - "$tmp/w$n.one.json" "$tmp/w$n.m.json" <<'PY' || fail "workload $n: the agents did not send the whole run's requests"
import json, sys
one, m = (json.load(open(p)) for p in sys.argv[1:3])
ro, rm = one["results"]["requests"], m["results"]["requests"]
for k in ("submitted", "succeeded", "prompt_tokens", "completion_tokens"):
    assert ro[k] == rm[k] and ro[k] > 0, (k, ro[k], rm[k])
so, sm = one["config"]["workload"]["sent"], m["config"]["workload"]["sent"]
assert so == sm, (so, sm)
fo, fm = one["exact"]["fields"], m["exact"]["fields"]
span_o = fo["intended_last"] - fo["intended_first"]
span_m = fm["intended_last"] - fm["intended_first"]
assert abs(span_o - span_m) <= 1000, (span_o, span_m)
PY
    done
    stop_mock
}

# bench/multihost/run-ssh.sh over a stand-in for ssh and scp that runs each "host" here: the
# agents' commands, the key on stdin, the files fetched and merged; a host that cannot be
# reached is a missing segment and a failed run. Both ways of running the agents (GNU parallel
# when installed, background jobs otherwise).
case_ssh() {
    local bin="$tmp/bin" mh="$HERE/../bench/multihost"
    mkdir -p "$bin"
    cat >"$bin/fake-ssh" <<'SH'
#!/bin/sh
host=$1; shift
case $host in bad*) echo "ssh: connect to host $host port 22: Connection refused" >&2; exit 255 ;; esac
exec sh -c "$*"
SH
    cat >"$bin/fake-scp" <<'SH'
#!/bin/sh
case $1 in bad*) echo "scp: connection refused" >&2; exit 1 ;; esac
exec cp "${1#*:}" "$2"
SH
    chmod +x "$bin/fake-ssh" "$bin/fake-scp"
    start_mock --latency-ms 5 --api-key sk-multihost
    printf 'h0\n# a comment\nuser@h1\nh2\n' >"$tmp/hosts"
    local ways="fallback" nways=1
    command -v parallel >/dev/null && ways="parallel fallback" nways=2
    for way in $ways; do
        local nop=""
        [ "$way" = fallback ] && nop=1
        LL_NO_PARALLEL=$nop SSH="$bin/fake-ssh" SCP="$bin/fake-scp" LLMLOAD="$LLMLOAD" OPENAI_API_KEY=sk-multihost \
            "$mh/run-ssh.sh" --hosts "$tmp/hosts" --target "http://127.0.0.1:$port/v1" --lead 2 \
            --out "$tmp/ssh-$way" --remote-llmload "$LLMLOAD" -- --backend evented --rate 100 \
            --requests 60 --no-preflight >"$tmp/ssh.out" 2>"$tmp/ssh.err" ||
            fail "run-ssh.sh ($way): exit $?: $(tail -5 "$tmp/ssh.err")"
        jcheck "$tmp/ssh-$way/merged.json" "d['results']['requests']['succeeded'] == 60
            and d['segment']['covers'] == [0, 1, 2] and d['merge']['ok']" "run-ssh.sh ($way): merged"
        grep -q "sk-multihost" "$tmp/ssh-$way"/*.json && fail "run-ssh.sh ($way): the key is in a file"
    done
    # 60 a way; GNU parallel is optional (Debian 12 does not bring it), so one way or two.
    [ "$(mock_requests)" = $((60 * nways)) ] ||
        fail "run-ssh.sh: the mock answered $(mock_requests), want $((60 * nways)) ($ways)"
    printf 'h0\nbad-h1\nh2\n' >"$tmp/hosts"
    LL_NO_PARALLEL=1 SSH="$bin/fake-ssh" SCP="$bin/fake-scp" LLMLOAD="$LLMLOAD" OPENAI_API_KEY=sk-multihost \
        "$mh/run-ssh.sh" --hosts "$tmp/hosts" --target "http://127.0.0.1:$port/v1" --lead 2 \
        --out "$tmp/ssh-bad" --remote-llmload "$LLMLOAD" -- --backend evented --rate 100 \
        --requests 60 --no-preflight >/dev/null 2>"$tmp/ssh.err"
    [ $? -eq 1 ] && grep -q "segment 1 of 3 missing" "$tmp/ssh.err" ||
        fail "run-ssh.sh with an unreachable host: $(tail -5 "$tmp/ssh.err")"
    stop_mock
}

# bench/multihost/llmload-agents.yaml as run-k8s.sh renders it: an Indexed Job of N agents and a
# merge Job; then each pod's own script run here with the environment Kubernetes gives it
# (JOB_COMPLETION_INDEX), the shared volume a directory, and the merge Job's script after them.
case_k8s() {
    local mh="$HERE/../bench/multihost" bin="$tmp/kbin"
    mkdir -p "$bin" "$tmp/results"
    ln -sf "$LLMLOAD" "$bin/llmload"
    start_mock --latency-ms 5
    "$mh/run-k8s.sh" --dry-run --agents 3 --target "http://127.0.0.1:$port/v1" --image img \
        --pvc shared --lead 3 --run-id t1 -- --backend evented --rate 100 --requests 60 \
        --no-preflight >"$tmp/k.yaml" 2>"$tmp/k.err" || fail "run-k8s.sh --dry-run: $(cat "$tmp/k.err")"
    $PY - "$tmp/k.yaml" "$tmp" <<'PY' || fail "run-k8s.sh: the rendered Jobs"
import sys, yaml
agents, merge = list(yaml.safe_load_all(open(sys.argv[1])))
a, m = agents["spec"], merge["spec"]
assert agents["kind"] == merge["kind"] == "Job", (agents["kind"], merge["kind"])
assert a["completionMode"] == "Indexed" and a["completions"] == a["parallelism"] == 3, a
assert a["backoffLimit"] == 0 and m["backoffLimit"] == 0
for spec, name in ((a, "agent"), (m, "merge")):
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "shared"
    c = pod["containers"][0]
    assert c["image"] == "img"
    script = c["args"][0].replace("/results", sys.argv[2] + "/results")
    open("%s/%s.sh" % (sys.argv[2], name), "w").write(script)
    with open("%s/%s.env" % (sys.argv[2], name), "w") as f:
        for e in c["env"]:
            if "value" in e:
                f.write("export %s='%s'\n" % (e["name"], e["value"]))
PY
    local pids=() i
    for i in 0 1 2; do
        (. "$tmp/agent.env" && PATH="$bin:$PATH" JOB_COMPLETION_INDEX=$i sh "$tmp/agent.sh" >/dev/null 2>&1) &
        pids+=($!)
    done
    for i in 0 1 2; do wait "${pids[$i]}" || fail "k8s: agent $i's script exited $?"; done
    (. "$tmp/merge.env" && PATH="$bin:$PATH" sh "$tmp/merge.sh" >"$tmp/k.out" 2>&1) ||
        fail "k8s: the merge Job's script: $(tail -3 "$tmp/k.out")"
    jcheck "$tmp/results/t1/merged.json" "d['results']['requests']['succeeded'] == 60
        and d['segment']['covers'] == [0, 1, 2] and d['merge']['ok']" "k8s: merged"
    [ "$(mock_requests)" = 60 ] || fail "k8s: the mock answered $(mock_requests), want 60"
    stop_mock
    "$mh/run-k8s.sh" --agents 3 --target x --image i --pvc p -- --prompt 'two words' >/dev/null 2>&1
    [ $? -eq 2 ] || fail "run-k8s.sh: a workload argument with a space was not refused"
}

"case_$1"
[ "$fails" -eq 0 ] && echo "test_merge_cli $1: ok"
exit $((fails > 0))
