#!/usr/bin/env bash
# tests/test_bench_cli.sh TOP - bench.sh's command line: every mistake is one clear line and exit
# 2 before anything is installed, built or started, and --dry-run shows what a run would do
# (which workloads, which gate cells, which baseline file it would write). Starts no benchmark.
set -u
top=$1
B=$top/bench/bench.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_usage WHAT PATTERN ARGS...: exit 2, a line matching PATTERN, no results directory made
expect_usage() {
    local what=$1 pat=$2 out rc; shift 2
    out=$("$B" --out "$work/never" "$@" 2>&1); rc=$?
    [ $rc -eq 2 ] || fail "$what: exit $rc, want 2 ($out)"
    grep -q -- "$pat" <<<"$out" || fail "$what: no line matching '$pat' in: $out"
    [ ! -e "$work/never" ] || fail "$what: a results directory was made before the check"
    grep -q 'unbound variable' <<<"$out" && fail "$what: bash error instead of a usage line: $out"
}
expect_usage "unknown workload" "no workload 'thruput'" --only thruput --dry-run
expect_usage "one unknown among known" "no workload 'nope'" --only throughput,nope --dry-run
expect_usage "--only without a value" "--only needs a value" --only
expect_usage "--only followed by a flag" "--only needs a value" --only --quick
expect_usage "--out without a value" "--out needs a value" --dry-run --out
expect_usage "--check without a value" "--check needs a value" --check
expect_usage "--check of a missing file" "not a usable baseline" --check "$work/nothing.json"
echo '{"metrics": {}}' >"$work/old.json"
expect_usage "--check of a baseline of the old form" "not a usable baseline" --check "$work/old.json"
echo 'not json' >"$work/junk.json"
expect_usage "--check of a file that is not JSON" "not a usable baseline" --check "$work/junk.json"
expect_usage "--check with nothing gated in --only" "no gated cell runs" --only errors --check "$top/bench/baseline.json"
expect_usage "--reps below 2" "--reps wants" --reps 1
expect_usage "--reps not a number" "--reps wants" --reps x
expect_usage "unknown backend" "unknown backend 'fast'" --backends fast
expect_usage "unknown flag" "unknown option '--fast'" --fast

# a reused --out is refused and left as it was
mkdir -p "$work/used" && echo keep >"$work/used/old.png"
out=$("$B" --out "$work/used" --dry-run 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q 'not an empty directory' <<<"$out" || fail "reused --out: exit $rc: $out"
[ "$(cat "$work/used/old.png")" = keep ] || fail "reused --out: its file was touched"

# --update-baseline writes the file it is told, in either order of the flags
cp "$top/bench/baseline.json" "$work/check.json"
for order in a b; do
    if [ $order = a ]; then
        out=$("$B" --dry-run --check "$work/check.json" --update-baseline "$work/new.json" 2>&1)
    else
        out=$("$B" --dry-run --update-baseline "$work/new.json" --check "$work/check.json" 2>&1)
    fi
    grep -qx "baseline written to: $work/new.json" <<<"$out" ||
        fail "--update-baseline FILE, order $order: $out"
done
out=$("$B" --dry-run --update-baseline --check "$work/check.json" 2>&1)
grep -qx "baseline written to: $work/check.json" <<<"$out" || fail "--update-baseline with --check only: $out"
out=$("$B" --dry-run --update-baseline 2>&1)
grep -qx "baseline written to: $top/bench/baseline.json" <<<"$out" || fail "bare --update-baseline: $out"
out=$("$B" --dry-run 2>&1)
grep -qx "baseline written to: -" <<<"$out" || fail "a plain run would write a baseline: $out"

# every workload's settings render under `set -u` (a key that a .conf does not name is empty,
# not unset: such a key once stopped every real run at its first workload), at both levels
for lvl in --full --quick; do
    out=$("$B" --dry-run $lvl 2>&1) || fail "--dry-run $lvl exits non-zero: $out"
done

# the transport workload renders its cells: 12 at the full level (3 transports x 2 reuse x 2
# round trips), each on both backends, wrk beside the 8 HTTP/1.1 ones and h2load beside the 2
# HTTP/2 shared-pool ones; --quick two cells in a few seconds
expect_dry() { # WHAT PATTERN ARGS...: --dry-run ARGS prints a line matching PATTERN
    local what=$1 pat=$2 out; shift 2
    out=$("$B" --dry-run "$@" 2>&1) || fail "$what: exit non-zero: $out"
    grep -q -- "$pat" <<<"$out" || fail "$what: no line matching '$pat' in: $out"
}
full_cells="h1/pool/0 h1/new/0 h1-tls/pool/0 h1-tls/new/0 h2-tls/pool/0 h2-tls/new/0 h1/pool/20 h1/new/20 h1-tls/pool/20 h1-tls/new/20 h2-tls/pool/20 h2-tls/new/20"
expect_dry "transport, full" "^cells: up to 34$" --only transport
expect_dry "transport, full, its cells" "^transport: 100 in flight, 4 s a run, 34 runs over 12 cells: $full_cells$" --only transport
expect_dry "transport, full, one backend" "^cells: up to 22$" --only transport --backends evented
expect_dry "transport, quick" "^transport: 100 in flight, 1 s a run, 6 runs over 2 cells: h1-tls/new/20 h2-tls/pool/20$" --quick --only transport
expect_dry "transport, quick, one backend" "^cells: up to 4$" --quick --only transport --backends threaded

# a transport .conf with a name it does not know: one line, exit 2, before anything starts (a
# copy of bench.sh's files, so that the real workloads stay as they are)
tree=$work/tree
mkdir -p "$tree/bench/workloads" "$tree/scripts"
cp -r "$top/bench/bench.sh" "$top/bench/lib" "$tree/bench/" && cp "$top/scripts/deps.sh" "$tree/scripts/"
for bad in "protocols=\"h1 h2\"|unknown protocol 'h2' in 'h2/pool/0'" \
    "cell_list=h1/keep/20|unknown reuse 'keep'" "cell_list=h1/pool/x|round trip in 'h1/pool/x'" \
    "duration=1.5|duration is whole seconds" "concurrency=\"10 100\"|concurrency is one number" \
    "protocols=\"\"|no cells"; do
    { grep -v '^quick_' "$top/bench/workloads/transport.conf"; echo "${bad%%|*}"; } >"$tree/bench/workloads/transport.conf"
    out=$("$tree/bench/bench.sh" --dry-run --only transport 2>&1); rc=$?
    [ $rc -eq 2 ] && grep -q "transport: .*${bad#*|}" <<<"$out" ||
        fail "transport.conf with ${bad%%|*}: exit $rc: $out"
done

# a partial run gates only the cells of its workloads
out=$("$B" --dry-run --quick --only throughput --check "$work/check.json" 2>&1)
grep -q '^gate cells a round: throughput threaded 100; throughput evented 100; throughput wrk 100; up to' <<<"$out" ||
    fail "--only throughput --check: gate cells $out"
grep -q 'latency-bound' <<<"$out" && fail "--only throughput --check would run latency-bound cells: $out"

# tests/run.sh -R without its value
out=$("$top/tests/run.sh" -R 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q -- '-R needs' <<<"$out" || fail "tests/run.sh -R: exit $rc: $out"

[ $fails -eq 0 ] && echo "test_bench_cli: ok" || echo "test_bench_cli: $fails failed"
exit $((fails > 0))
