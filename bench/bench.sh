#!/usr/bin/env bash
# bench/bench.sh - both backends on the same workloads against mockllm, beside wrk, a bare libcurl
# multi loop (bench/peers/curl_multi_peer.c) and the seed's Python stack (asyncio + httpx), and a
# report a person can read in a minute.
#
#   bench/bench.sh [--quick | --full] [--only W[,W...]] [--backends threaded,evented]
#                  [--out DIR] [--check BASELINE.json] [--update-baseline [FILE]] [--reps N]
#
#   --quick            short cells, fewer points: about 5 minutes with --check (269 s in CI
#                      on 2026-12-01, 12 gate rounds included; up to 16 rounds now)
#   --full             every point of every workload (the default)
#   --only W,...       only these workloads (names of bench/workloads/*.conf)
#   --backends LIST    comma-separated backends (default: threaded,evented)
#   --out DIR          results directory, new or empty (default: bench/results/<timestamp>)
#   --check FILE       regression gate: after the workloads, the gated cells run again in
#                      repeated rounds and each gated ratio is judged against FILE with a 95%
#                      interval (bench/gate.py); exit 1 on a regression
#   --update-baseline [FILE]  the same rounds, then write them as the baseline to FILE (else
#                      --check's FILE, else bench/baseline.json), whatever the flags' order
#   --reps N           gate rounds: at most N (default 16); the gate stops earlier, from round
#                      5 on, once every ratio is decided
#   --no-build         use build/ as it is
#   --dry-run          print what would run (workloads, gate cells, files) and exit
#
# Each workload is a small file in bench/workloads/ (shell key=value, documented in each file);
# add one there, no C needed. Every cell runs against a fresh mockllm started here and stopped by
# PID; every client run is bounded in time (timeout(1)) and every loop in count.
set -euo pipefail
LL_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$LL_TOP/scripts/deps.sh"
. "$LL_TOP/bench/lib/transport.sh" # mode=transport: its cells, h2load, the mock's counts

usage() { echo "bench.sh: $*" >&2; echo "usage: bench/bench.sh [--quick|--full] [--only W,...] [--backends LIST] [--out DIR] [--check FILE] [--update-baseline [FILE]] [--reps N] [--no-build] [--dry-run] (see --help)" >&2; exit 2; }
# need_value FLAG "$@": the flag's value, or a usage line when it is missing.
need_value() { [ $# -ge 2 ] && [ -n "$2" ] && [ "${2#--}" = "$2" ] || usage "$1 needs a value"; }

level=full only="" backends="threaded,evented" out="" check="" update="" update_to="" build=1
tag_suffix="" reps=16 dry_run=0
while [ $# -gt 0 ]; do
    case $1 in
    --quick) level=quick ;;
    --full) level=full ;;
    --only) need_value "$@"; only=$2; shift ;;
    --backends) need_value "$@"; backends=$2; shift ;;
    --out) need_value "$@"; out=$2; shift ;;
    --check) need_value "$@"; check=$2; shift ;;
    --update-baseline)
        update=1
        if [ $# -gt 1 ] && [ -n "$2" ] && [ "${2#--}" = "$2" ]; then update_to=$2; shift; fi ;;
    --reps) need_value "$@"; reps=$2; shift
        [[ $reps =~ ^[0-9]+$ ]] && [ "$reps" -ge 2 ] && [ "$reps" -le 50 ] ||
            usage "--reps wants a whole number from 2 to 50, not '$reps'" ;;
    --no-build) build=0 ;;
    --dry-run) dry_run=1 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage "unknown option '$1'" ;;
    esac
    shift
done
# Resolved after every flag is read, so that the order of --check and --update-baseline does
# not change which file is written.
[ -n "$update" ] && update=${update_to:-${check:-$LL_TOP/bench/baseline.json}}

PY=/usr/bin/python3
GATE="$PY $LL_TOP/bench/gate.py"
REPORT="$PY $LL_TOP/bench/report.py"

# --- what runs: checked before anything is built or started -------------------------------
all_workloads=$(cd "$LL_TOP/bench/workloads" && ls ./*.conf | sed 's|^\./||; s|\.conf$||' | sort)
if [ -n "$only" ]; then
    IFS=, read -r -a want <<<"$only"
    for w in "${want[@]}"; do
        grep -qx -- "$w" <<<"$all_workloads" ||
            usage "--only: no workload '$w' (there are: $(echo $all_workloads | tr ' ' ','))"
    done
fi
IFS=, read -r -a BACKENDS <<<"$backends"
for b in "${BACKENDS[@]}"; do
    [ "$b" = threaded ] || [ "$b" = evented ] || usage "--backends: unknown backend '$b'"
done
if [ -n "$check" ]; then
    [ -x "$PY" ] || usage "--check needs /usr/bin/python3"
    # (a baseline about to be rewritten from this run may be of an older form)
    [ "$(realpath -m "$check")" = "$(realpath -m "${update:-/}")" ] ||
        $GATE validate "$check" || usage "--check $check: not a usable baseline"
fi
if [ -n "$update" ] && [ -e "$update" ] && [ ! -f "$update" ]; then
    usage "--update-baseline $update: not a regular file"
fi
gate_cells=()
if [ -n "$check$update" ]; then
    mapfile -t gate_cells < <($GATE cells ${only:+--only "$only"} --backends "$backends")
    [ ${#gate_cells[@]} -gt 0 ] ||
        usage "--check/--update-baseline: no gated cell runs with --only '$only' --backends '$backends'"
fi
if [ -n "$out" ] && [ -e "$out" ] && { [ ! -d "$out" ] || [ -n "$(ls -A "$out")" ]; }; then
    usage "--out $out: exists and is not an empty directory (results of another run stay as they are)"
fi

# --- workloads -------------------------------------------------------------------------------
# load_conf FILE [gate]: reset the keys, source the file, then let quick_KEY replace KEY in
# --quick; for the gate's rounds quick_KEY and then gate_KEY replace KEY, whatever the level.
# (So no key may be named X where quick_X or gate_X is a variable of this script: gate_cells.)
KEYS="title mode mock_args run_args ideal_ms concurrency rounds min_requests requests peers
      httpx_max_concurrency httpx_max_requests rates duration slo slo_share start_rate max_rate
      bisect max_probes min_efficiency listen_addrs wrk_duration cell_timeout server_models
      client_backend protocols reuse rtts cell_list h2load_streams
      targets ttft_ms itl_ms tokens chunk_tokens settle_s steady_s min_share max_stretch headroom
      run_args_threaded run_args_evented"
load_conf() {
    local k q
    for k in $KEYS; do unset "$k" "quick_$k" "gate_$k"; done
    title="" mode=closed mock_args="" run_args="" ideal_ms=0 concurrency="" rounds=3
    min_requests=20 requests=0 peers="" httpx_max_concurrency=1000 httpx_max_requests=5000
    rates="" duration=2 slo="" slo_share=0.99 start_rate=1000 max_rate=100000 bisect=3
    max_probes=14 min_efficiency=0.9 listen_addrs=1 wrk_duration=5 cell_timeout=300
    targets="" ttft_ms=0 itl_ms=50 tokens=400 chunk_tokens=1 settle_s=2 steady_s=20 min_share=0.95
    max_stretch=1.25 headroom=0.02 server_models="" client_backend=""
    protocols="h1 h1-tls h2-tls" reuse="pool new" rtts=0 cell_list="" h2load_streams=100
    # A key with no default above is empty, never unset: a new key must not trip `set -u` in
    # every workload whose .conf does not name it.
    for k in $KEYS; do [ -n "${!k+x}" ] || printf -v "$k" '%s' ""; done
    [ "$level" = quick ] || [ "${2:-}" = gate ] && wrk_duration=2 cell_timeout=60
    # shellcheck disable=SC1090
    . "$1"
    local pre=()
    [ "$level" = quick ] || [ "${2:-}" = gate ] && pre+=(quick)
    [ "${2:-}" = gate ] && pre+=(gate)
    for q in "${pre[@]}"; do
        for k in $KEYS; do
            q_k=${q}_$k
            [ -n "${!q_k+x}" ] && printf -v "$k" '%s' "${!q_k}"
        done
    done
    return 0
}

# conf_env: the loaded workload's settings, one KEY=value line each (as conf/W.env keeps them).
conf_env() { local k; for k in $KEYS; do printf '%s=%q\n' "$k" "${!k}"; done; }

# The issue's order first, then any workload a user added, by name.
workloads=()
order="latency-bound throughput streaming errors open-loop slo-search ceiling burst-turnaround"
for w in $order $(cd "$LL_TOP/bench/workloads" && ls ./*.conf | sed 's|^\./||; s|\.conf$||' | sort); do
    [ -f "$LL_TOP/bench/workloads/$w.conf" ] || continue
    [[ " ${workloads[*]} " == *" $w "* ]] && continue
    if [ -n "$only" ] && [[ ",$only," != *",$w,"* ]]; then continue; fi
    workloads+=("$w")
done

# Cells are counted up front (an upper bound for the searches) for the progress line.
cells_total=0 dry_lines=()
for w in "${workloads[@]}"; do
    load_conf "$LL_TOP/bench/workloads/$w.conf"
    conf_env >/dev/null # every key renders, also in --dry-run
    case $mode in
    closed|burst) n=$(wc -w <<<"$concurrency"); np=0
        for p in $peers; do np=$((np + 1)); done
        cells_total=$((cells_total + n * (${#BACKENDS[@]} + np))) ;;
    open) cells_total=$((cells_total + $(wc -w <<<"$rates") * ${#BACKENDS[@]})) ;;
    slo-search) cells_total=$((cells_total + max_probes * ${#BACKENDS[@]})) ;;
    ceiling) cells_total=$((cells_total + ($(wc -w <<<"$targets") + bisect) * ${#BACKENDS[@]})) ;;
    server) cells_total=$((cells_total + $(wc -w <<<"$concurrency") * $(wc -w <<<"$server_models"))) ;;
    transport) transport_count ${#BACKENDS[@]}; cells_total=$((cells_total + TCOUNT))
        [ $dry_run = 1 ] && dry_lines+=("$w: $concurrency in flight, ${duration} s a run, $TCOUNT runs over ${#TCELLS[@]} cells: ${TCELLS[*]}") ;;
    *) usage "bench/workloads/$w.conf: unknown mode '$mode'" ;;
    esac
done
[ ${#gate_cells[@]} -gt 0 ] && cells_total=$((cells_total + ${#gate_cells[@]} * reps))

if [ $dry_run = 1 ]; then
    echo "level: $level"
    echo "workloads: ${workloads[*]}"
    echo "backends: ${BACKENDS[*]}"
    echo "cells: up to $cells_total"
    [ ${#dry_lines[@]} -gt 0 ] && printf '%s\n' "${dry_lines[@]}"
    [ ${#gate_cells[@]} -gt 0 ] && echo "gate cells a round: $(printf '%s; ' "${gate_cells[@]}")up to $reps rounds"
    echo "check against: ${check:--}"
    echo "baseline written to: ${update:--}"
    echo "results: ${out:-bench/results/<timestamp>}"
    exit 0
fi

# --- setup: packages, build, limits ------------------------------------------------------------
ll_deps python3 time || { echo "bench.sh: needs /usr/bin/python3 and /usr/bin/time" >&2; exit 1; }
notes=()
ll_deps wrk || notes+=("wrk missing: the wrk peer is skipped")
ll_deps nghttp2-client || notes+=("h2load (nghttp2-client) missing: the h2load peer is skipped")
ll_deps gnuplot-nox || notes+=("gnuplot missing: no charts")
ll_deps python3-httpx || notes+=("python3-httpx missing: the httpx peer is skipped")
# Configure build/ as ll_build does, but build only the two programs measured here, so that a
# test being edited elsewhere cannot stop a benchmark.
if [ $build = 1 ]; then
    ll_deps $LL_BUILD_DEPS
    cmake -S "$LL_TOP" -B "$LL_TOP/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
        cmake --build "$LL_TOP/build" -j "$(nproc)" --target llmload mockllm curl_multi_peer >"$LL_TOP/build/bench-build.log" 2>&1 ||
        { tail -20 "$LL_TOP/build/bench-build.log" >&2; echo "bench.sh: build failed" >&2; exit 1; }
fi
LLMLOAD=$LL_TOP/build/bench/llmload
CURLPEER=$LL_TOP/build/bench/curl_multi_peer
MOCKLLM=$LL_TOP/build/mock_server/mockllm
[ -x "$LLMLOAD" ] && [ -x "$MOCKLLM" ] || { echo "bench.sh: no $LLMLOAD or $MOCKLLM" >&2; exit 1; }
# Descriptors must not be the first wall: raise the soft limit to the hard one (say both).
nofile_soft0=$(ulimit -Sn)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

out=${out:-$LL_TOP/bench/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out/raw" "$out/logs"
out=$(cd "$out" && pwd)
CELLS=$out/cells.tsv
: >"$CELLS"
printf '%s\n' "${notes[@]}" >"$out/notes.txt"

# --- processes: everything we start is stopped by PID ----------------------------------------
MOCK_PID="" CLIENT_PID="" MOCK_EXTRA="" RECORD_AS="" SERVER_FIGS="" MOCK_FIGS="" MOCK_CA=""
WRK_ARGS=()
stop_pid() { [ -n "$1" ] || return 0; kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cleanup() { stop_pid "$CLIENT_PID"; stop_pid "$MOCK_PID"; }
trap cleanup EXIT
trap 'echo; echo "bench.sh: interrupted" >&2; exit 130' INT TERM

# mock_start NADDR ARGS...: a fresh mockllm on 127.0.0.1..NADDR, sets MOCK_PID and URLS (array);
# with --tls, https URLs and MOCK_CA, the CA its ready line names ("listening HOST PORT tls CA").
mock_start() {
    local naddr=$1 listen=() i port _a _h _t scheme=http; shift
    for i in $(seq 1 "$naddr"); do listen+=(--listen "127.0.0.$i"); done
    coproc MOCKP { exec "$MOCKLLM" --port 0 "${listen[@]}" "$@" 2>>"$out/logs/mockllm.log"; }
    MOCK_PID=$MOCKP_PID
    if ! read -r -t 10 _a _h port _t MOCK_CA <&"${MOCKP[0]}"; then
        echo "bench.sh: mockllm did not start ($*)" >&2; exit 1
    fi
    [ "$_t" = tls ] && scheme=https || MOCK_CA=""
    URLS=()
    for i in $(seq 1 "$naddr"); do URLS+=("$scheme://127.0.0.$i:$port/v1"); done
}
# backend_args BACKEND: the workload's run_args_BACKEND (e.g. ceiling-h2's --max-connections,
# which only the evented backend can keep below its concurrency).
backend_args() { local k=run_args_$1; echo "${!k:-}"; }
# mock_stop: stop it, leaving its CPU seconds (user + system, from /proc) in MOCK_CPU.
mock_stop() {
    MOCK_CPU=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' \
        "/proc/$MOCK_PID/stat" 2>/dev/null || echo "")
    stop_pid "$MOCK_PID"
    MOCK_PID=""
}

have_wrk=0; command -v wrk >/dev/null && have_wrk=1
have_httpx=0; $PY -c 'import httpx' 2>/dev/null && have_httpx=1
cells_done=0 t_start=$(date +%s)
progress() { # WORKLOAD CLIENT WHAT
    local now el eta=""
    now=$(date +%s) el=$((now - t_start))
    [ $cells_done -gt 0 ] && eta=$(( el * (cells_total - cells_done) / cells_done ))
    printf '[%3d/%d] %-13s %-9s %-14s elapsed %3ds  ETA %ss\n' $((cells_done + 1)) "$cells_total" \
        "$1" "$2" "$3" "$el" "${eta:-?}" >&2
}

# record WORKLOAD CLIENT CONC RATE REQUESTS RC JSON LOG [MOCK_CPU]: one line of cells.tsv per
# client run; then the gate's round ($GATE_REP, empty outside the gate) and the transport
# workload's cell ($CELL, PROTO/REUSE/RTT; empty elsewhere).
GATE_REP="" CELL=""
record() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" \
        "${9:-}" "$GATE_REP" "$CELL" >>"$CELLS"
    cells_done=$((cells_done + 1))
}

# bounded CMD...: run in the background under timeout(1) so that the trap can stop it by PID.
bounded() {
    timeout -k 5 "$cell_timeout" "$@" &
    CLIENT_PID=$!
    local rc=0
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=""
    return $rc
}

# run_llmload WORKLOAD BACKEND CONC RATE REQUESTS [extra llmload flags]
run_llmload() {
    local w=$1 b=$2 c=$3 r=$4 n=$5 tag rc=0 u args=(); shift 5
    tag=$w-$b${c:+-c$c}${r:+-r$r}$tag_suffix
    progress "$w" "$b" "${c:+c=$c}${r:+r=$r}${CELL:+ $CELL}"
    mock_start "$listen_addrs" $mock_args $MOCK_EXTRA
    for u in "${URLS[@]}"; do args+=(--url "$u"); done
    [ -n "$MOCK_CA" ] && args+=(--cacert "$MOCK_CA")
    [ -n "$c" ] && args+=(--concurrency "$c")
    [ -n "$r" ] && args+=(--rate "$r")
    bounded "$LLMLOAD" run --backend "$b" --requests "$n" "${args[@]}" \
        --no-preflight --json "$out/raw/$tag.json" $run_args $(backend_args "$b") "$@" \
        >"$out/logs/$tag.log" 2>&1 || rc=$?
    [ -n "$SERVER_FIGS" ] && server_figures "$out/raw/$tag.server.json"
    [ -n "$MOCK_FIGS" ] && mock_figures "$out/raw/$tag.mock.json"
    mock_stop
    record "$w" "${RECORD_AS:-$b}" "$c" "$r" "$n" "$rc" "raw/$tag.json" "logs/$tag.log" "$MOCK_CPU"
    LAST_JSON=$out/raw/$tag.json LAST_RC=$rc
}

run_wrk() { # WORKLOAD CONC
    local w=$1 c=$2 tag=$1-wrk-c$2$tag_suffix rc=0 t=2
    [ "$c" -lt 2 ] && t=1
    progress "$w" wrk "c=$c${CELL:+ $CELL}"
    mock_start 1 $mock_args $MOCK_EXTRA
    bounded /usr/bin/time -f '%U %S %M' -o "$out/logs/$tag.time" wrk -t"$t" -c"$c" \
        -d"${wrk_duration}s" --timeout 10s --latency -s "$LL_TOP/bench/lib/post.lua" \
        "${WRK_ARGS[@]}" "${URLS[0]}/chat/completions" >"$out/logs/$tag.log" 2>&1 || rc=$?
    [ -n "$MOCK_FIGS" ] && mock_figures "$out/raw/$tag.mock.json"
    mock_stop
    $REPORT wrk2json "$out/logs/$tag.log" "$out/logs/$tag.time" "$c" >"$out/raw/$tag.json" || rc=1
    record "$w" wrk "$c" "" "" "$rc" "raw/$tag.json" "logs/$tag.log" "$MOCK_CPU"
}

run_httpx() { # WORKLOAD CONC REQUESTS
    local w=$1 c=$2 n=$3 tag=$1-httpx-c$2 rc=0
    [ "$n" -gt "$httpx_max_requests" ] && n=$httpx_max_requests
    progress "$w" httpx "c=$c"
    mock_start 1 $mock_args
    bounded "$PY" "$LL_TOP/bench/peers/httpx_peer.py" --url "${URLS[0]}" --concurrency "$c" \
        --requests "$n" --json "$out/raw/$tag.json" >"$out/logs/$tag.log" 2>&1 || rc=$?
    mock_stop
    record "$w" httpx "$c" "" "$n" "$rc" "raw/$tag.json" "logs/$tag.log" "$MOCK_CPU"
}

run_libcurl() { # WORKLOAD CONC REQUESTS
    local w=$1 c=$2 n=$3 tag=$1-libcurl-c$2 rc=0
    progress "$w" libcurl "c=$c"
    mock_start 1 $mock_args
    bounded "$CURLPEER" --url "${URLS[0]}" --concurrency "$c" --requests "$n" \
        --json "$out/raw/$tag.json" >"$out/logs/$tag.log" 2>&1 || rc=$?
    mock_stop
    record "$w" libcurl "$c" "" "$n" "$rc" "raw/$tag.json" "logs/$tag.log" "$MOCK_CPU"
}

cell_requests() { # CONC -> requests for a closed-loop cell
    if [ "$requests" -gt 0 ]; then echo "$requests"; return; fi
    local n=$(($1 * rounds)); [ $n -lt "$min_requests" ] && n=$min_requests
    echo $n
}

do_closed() { # WORKLOAD
    local c b p n
    for c in $concurrency; do
        n=$(cell_requests "$c")
        for b in "${BACKENDS[@]}"; do run_llmload "$1" "$b" "$c" "" "$n"; done
        for p in $peers; do
            case $p in
            wrk)
                if [ $have_wrk = 1 ]; then run_wrk "$1" "$c"; else record "$1" wrk "$c" "" "" skipped "" ""; fi ;;
            libcurl) run_libcurl "$1" "$c" "$n" ;;
            httpx)
                if [ $have_httpx = 1 ] && [ "$c" -le "$httpx_max_concurrency" ]; then
                    run_httpx "$1" "$c" "$n"
                else
                    record "$1" httpx "$c" "" "" skipped "" ""
                fi ;;
            esac
        done
    done
}

# Open loop: rising rates; a backend stops rising once it saturates (see open-loop.conf).
do_open() {
    local b r n base p99 tput sat left
    for b in "${BACKENDS[@]}"; do
        base="" left=$(wc -w <<<"$rates")
        for r in $rates; do
            left=$((left - 1))
            n=$($PY -c "print(max(50, int($r * $duration)))")
            run_llmload "$1" "$b" "" "$r" "$n"
            read -r tput p99 < <($REPORT get "$LAST_JSON" results.requests.throughput_rps \
                results.latency.corrected.p99_ms)
            base=${base:-$p99}
            sat=$($PY -c "print(int($LAST_RC != 0 or $tput < 0.9 * $r or $p99 > 10 * max($base, 1)))")
            if [ "$sat" = 1 ]; then
                cells_done=$((cells_done + left))
                break
            fi
        done
    done
}

# SLO search: double the rate until goodput under the SLO fails, then bisect (bounded probes).
# A near miss (goodput share >= 0.8) counts as a failure only when a second probe at the rate
# fails too: on two shared cores one stall of a few tens of ms (another process, the
# scheduler) sinks a 3 s probe, and the search would then report the stall instead of the
# backend (it once cut a backend's figure from 31,000 to 19,000 req/s).
slo_probe() { # WORKLOAD BACKEND RATE -> sets ok
    run_llmload "$1" "$2" "" "$3" "$($PY -c "print(max(50, int($3 * $duration)))")" \
        --slo "$slo" || true
    share=$($REPORT get "$LAST_JSON" results.goodput.share)
    ok=$($PY -c "print(int($LAST_RC == 0 and $share >= $slo_share))")
}
do_slo() {
    local b rate lo hi probes steps share ok
    for b in "${BACKENDS[@]}"; do
        rate=$start_rate lo=0 hi=0 probes=0 steps=0
        while [ $probes -lt "$max_probes" ]; do
            probes=$((probes + 1))
            slo_probe "$1" "$b" "$rate"
            # Only a near miss is probed again; far below the share is no stall.
            if [ "$ok" = 0 ] && [ $probes -lt "$max_probes" ] &&
                [ "$($PY -c "print(int($LAST_RC == 0 and $share >= 0.8))")" = 1 ]; then
                probes=$((probes + 1))
                tag_suffix=-again
                slo_probe "$1" "$b" "$rate"
                tag_suffix=
            fi
            if [ "$ok" = 1 ]; then lo=$rate; else hi=$rate; fi
            if [ "$hi" = 0 ]; then
                [ "$rate" -ge "$max_rate" ] && break
                rate=$((rate * 2))
            else
                [ $steps -ge "$bisect" ] && break
                steps=$((steps + 1))
                rate=$(( (lo + hi) / 2 ))
                [ $((hi - lo)) -le $((hi / 20)) ] && break # within 5%: good enough
            fi
        done
        printf '%s\t%s\t%s\t%s\t%s\n' "$b" "$lo" "$hi" "$slo" "$slo_share" >>"$out/slo.tsv"
        cells_done=$((cells_done + max_probes - probes))
    done
}

# Burst turnaround: raise concurrency until a run fails or efficiency < min_efficiency; the
# report says what stopped it (from the run's JSON and log: threads, memory, descriptors, ports).
do_burst() {
    local b c n eff nc lim
    nc=$(wc -w <<<"$concurrency")
    for b in "${BACKENDS[@]}"; do
        local i=0
        for c in $concurrency; do
            i=$((i + 1))
            n=$((c * rounds))
            run_llmload "$1" "$b" "$c" "" "$n" || true
            eff=$($REPORT get "$LAST_JSON" results.requests.wall_s)
            eff=$($PY -c "w=$eff; print(0 if w <= 0 else $rounds * $ideal_ms / 1000 / w)")
            # a local limit met (results.limits.met; "0.0" when null) ends the ramp too: failed
            # requests end fast and need not pull the efficiency down
            lim=$($REPORT get "$LAST_JSON" results.limits.met)
            if [ "$LAST_RC" != 0 ] || [ "$lim" != 0.0 ] ||
                $PY -c "import sys; sys.exit(0 if $eff < $min_efficiency else 1)"; then
                cells_done=$((cells_done + nc - i))
                break
            fi
        done
    done
}

# The steady-state ceiling (ceiling.conf): one open-loop run of long streams per step, its
# figures from the steady window; report.py picks each next target from the steps so far
# (`ceilnext`: up the targets while steps hold, then bisect) and judges every step.
ceil_step() { # WORKLOAD BACKEND TARGET
    local w=$1 b=$2 t=$3 tag rc=0 u args=() l_s rate limit dur n from
    read -r l_s rate limit dur n from < <($PY -c "
import math
l = ($ttft_ms + ($tokens - min($chunk_tokens, $tokens)) * $itl_ms) / 1000.0  # ceiling.py's L
d = l + $settle_s + $steady_s
r = $t / l
print('%g %g %d %g %d %g' % (l, r, math.ceil($t * (1 + $headroom)) + 8, d, math.ceil(r * d) + 1,
                              l + $settle_s))")
    tag=$w-$b-t$t$tag_suffix
    progress "$w" "$b" "target=$t"
    mock_start "$listen_addrs" --ttft "$ttft_ms" --itl "$itl_ms" --tokens "$tokens" \
        --chunk-tokens "$chunk_tokens" $mock_args
    for u in "${URLS[@]}"; do args+=(--url "$u"); done
    [ -n "$MOCK_CA" ] && args+=(--cacert "$MOCK_CA")
    # Every run bounded: --duration and --requests end the sending, --timeout each answer.
    local keep=$cell_timeout
    cell_timeout=$($PY -c "print(int($dur + 3 * $l_s + 60))")
    bounded "$LLMLOAD" run --backend "$b" --rate "$rate" --concurrency "$limit" \
        --requests "$n" --duration "${dur}s" --window "${from}s" --server-pid "$MOCK_PID" \
        --stream --retries 0 --timeout "$($PY -c "print(2 * $l_s + 10)")" --no-limit-check \
        --no-preflight --json "$out/raw/$tag.json" "${args[@]}" $run_args \
        $(backend_args "$b") >"$out/logs/$tag.log" 2>&1 || rc=$?
    cell_timeout=$keep
    server_figures "$out/raw/$tag.server.json" # the mock's own count of connections, streams
    mock_stop
    record "$w" "$b" "$t" "$rate" "$n" "$rc" "raw/$tag.json" "logs/$tag.log" "$MOCK_CPU"
}
do_ceiling() {
    local b t steps max_steps
    max_steps=$(( $(wc -w <<<"$targets") + bisect ))
    for b in "${BACKENDS[@]}"; do
        steps=0
        while [ $steps -lt $max_steps ]; do
            t=$($REPORT ceilnext "$out" "$1" "$b")
            [ "$t" = done ] && break
            ceil_step "$1" "$b" "$t"
            steps=$((steps + 1))
        done
        cells_done=$((cells_done + max_steps - steps))
    done
}

# The gate's rounds: every gated cell once per round, in the order gate.py lists them, reversed
# every other round, so that a drift of the machine falls on both sides of each ratio. From
# round 5 on, gate.py says after each round whether every ratio is decided against the
# baseline; the rounds stop then, or at --reps. (Without a baseline, --update-baseline runs
# all --reps rounds.)
do_gate() {
    local rep line w cl c order i
    for rep in $(seq 1 "$reps"); do
        GATE_REP=$rep tag_suffix=-g$rep order=()
        for i in "${!gate_cells[@]}"; do
            if [ $((rep % 2)) = 1 ]; then order+=("${gate_cells[$i]}")
            else order=("${gate_cells[$i]}" "${order[@]}"); fi
        done
        for line in "${order[@]}"; do
            read -r w cl c <<<"$line"
            load_conf "$LL_TOP/bench/workloads/$w.conf" gate
            if [ "$cl" = wrk ]; then
                if [ $have_wrk = 1 ]; then run_wrk "gate:$w" "$c"; else record "gate:$w" wrk "$c" "" "" skipped "" ""; fi
            else
                run_llmload "gate:$w" "$cl" "$c" "" "$(cell_requests "$c")" || true
            fi
        done
        if [ -n "$check" ] && [ "$rep" -ge 5 ] && [ "$rep" -lt "$reps" ]; then
            $REPORT gatereps "$out" "$level" >"$out/gate_reps.json"
            if $GATE decide "$check" "$out/gate_reps.json"; then
                cells_done=$((cells_done + ${#gate_cells[@]} * (reps - rep)))
                break
            fi
        fi
    done
    GATE_REP="" tag_suffix=""
}

# server_figures FILE: the running mock's own figures, read before it stops: peak RSS (VmHWM),
# its threads' peak and the failures to start a thread or accept, its connections (accepted and
# open now, less this read's own; the most open at once) and HTTP/2 streams, and its peak of
# requests in flight (/metrics, read over HTTP/1.1, over HTTPS trusting its CA when it serves
# TLS).
server_figures() {
    local hwm
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$MOCK_PID/status" 2>/dev/null || echo "")
    $PY - "${URLS[0]%/v1}/metrics" "$hwm" "$MOCK_CA" >"$1" <<'PY' || true
import json, ssl, sys, urllib.request
m = {"vmhwm_kb": int(sys.argv[2]) if sys.argv[2] else None, "threads_peak": None,
     "thread_start_failures": 0, "accept_failures": 0}
counts = {"mockllm_connections_total": "connections", "mockllm_connections_open": "connections_open",
          "mockllm_connections_open_peak": "connections_open_peak",
          "mockllm_in_flight_peak": "in_flight_peak", "mockllm_h2_connections_total":
          "h2_connections", "mockllm_h2_streams_total": "h2_streams"}
try:
    ctx = ssl.create_default_context(cafile=sys.argv[3]) if sys.argv[3] else None
    text = urllib.request.urlopen(sys.argv[1], timeout=5, context=ctx).read().decode()
except (OSError, ssl.SSLError):
    text = ""
for line in text.splitlines():
    if line.startswith("#") or not line.strip():
        continue
    name, _, v = line.rpartition(" ")
    base = name.split("{")[0]
    if base == "mockllm_threads_peak":
        m["threads_peak"] = float(v)
    elif base == "mockllm_thread_start_failures_total":
        m["thread_start_failures"] += float(v)
        m.setdefault("thread_start_why", []).append(name)
    elif base == "mockllm_accept_failures_total":
        m["accept_failures"] += float(v)
    elif base in counts:
        m[counts[base]] = int(float(v))
for k in ("connections", "connections_open"):  # this read's own connection, accepted and open
    if k in m:
        m[k] -= 1
print(json.dumps(m))
PY
}

# Server: the same evented client against each of mockllm's concurrency models
# (server.conf); a cell is (model, C), recorded with the model as its "client".
do_server() {
    local c m
    for c in $concurrency; do
        for m in $server_models; do
            MOCK_EXTRA="--model $m" RECORD_AS=$m SERVER_FIGS=1 tag_suffix=-$m
            run_llmload "$1" "$client_backend" "$c" "" "$((c * rounds))" || true
            MOCK_EXTRA="" RECORD_AS="" SERVER_FIGS="" tag_suffix=""
        done
    done
}

# --- run ------------------------------------------------------------------------------------
{
    echo "level=$level"
    echo "backends=$backends"
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host=$(uname -n)"
    echo "kernel=$(uname -r)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "cores=$(nproc)"
    echo "mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
    echo "nofile_soft_before=$nofile_soft0"
    echo "nofile_soft=$(ulimit -Sn)"
    echo "nofile_hard=$(ulimit -Hn)"
    echo "nproc_limit=$(ulimit -u)"
    echo "pid_max=$(cat /proc/sys/kernel/pid_max)"
    echo "threads_max=$(cat /proc/sys/kernel/threads-max)"
    echo "ephemeral_ports=$(tr '\t' '-' </proc/sys/net/ipv4/ip_local_port_range)"
    echo "max_map_count=$(cat /proc/sys/vm/max_map_count)"
    echo "somaxconn=$(cat /proc/sys/net/core/somaxconn)"
    echo "stack_default_kb=$(ulimit -s)"
    echo "curl=$(curl --version 2>/dev/null | head -1 | cut -d' ' -f2)"
    echo "git=$(git -C "$LL_TOP" describe --always --dirty 2>/dev/null || echo none)"
} >"$out/machine.txt"

echo "bench.sh: $level run, ${#workloads[@]} workloads, up to $cells_total cells -> $out" >&2
for w in "${workloads[@]}"; do
    load_conf "$LL_TOP/bench/workloads/$w.conf"
    mkdir -p "$out/conf"
    conf_env >"$out/conf/$w.env"
    case $mode in
    closed) do_closed "$w" ;;
    open) do_open "$w" ;;
    slo-search) do_slo "$w" ;;
    burst) do_burst "$w" ;;
    ceiling) do_ceiling "$w" ;;
    server) do_server "$w" ;;
    transport) do_transport "$w" ;;
    esac
done
if [ ${#gate_cells[@]} -gt 0 ]; then
    for w in $(printf '%s\n' "${gate_cells[@]}" | cut -d' ' -f1 | sort -u); do
        load_conf "$LL_TOP/bench/workloads/$w.conf" gate
        conf_env >"$out/conf/gate:$w.env"
    done
    mkdir -p "$out/conf"
    echo "bench.sh: the gate's rounds (${#gate_cells[@]} cells a round, up to $reps rounds)" >&2
    do_gate
fi
elapsed=$(( $(date +%s) - t_start ))
echo "elapsed_s=$elapsed" >>"$out/machine.txt"

$REPORT report "$out" "$LL_TOP/bench/workloads" "$level"
echo "bench.sh: $level run took ${elapsed}s; report: $out/report.md" >&2

rc=0
if [ -n "$check" ]; then
    $GATE check "$check" "$out/summary.json" | tee "$out/gate.txt" || rc=${PIPESTATUS[0]}
fi
if [ -n "$update" ]; then
    $GATE update "$update" "$out/summary.json" || rc=$?
fi
exit $rc
