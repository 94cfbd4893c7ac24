#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [request|h2] - build a libFuzzer harness over mockllm's request
# path with clang (ASan+UBSan, LL_FUZZ=ON) into build-fuzz/ and fuzz for a bounded time
# (default 60 s): `request` (the default) feeds HTTP/1.1 bytes, `h2` HTTP/2 frames after the
# preface (fuzz_h2).
#
#   tests/fuzz/run.sh           60 s, what a developer runs by hand
#   tests/fuzz/run.sh 20        CI's short budget
#   tests/fuzz/run.sh 300 h2    the HTTP/2 frame path
#   tests/fuzz/run.sh 3600      a long run; new inputs land in build-fuzz/corpus (not in git)
#
# The seed corpora tests/fuzz/corpus/ and corpus_h2/ are read, never written. A crash, leak or UBSan report
# leaves a crash-* / leak-* file in build-fuzz/ and exits non-zero.
set -euo pipefail
secs=${1:-60} which=${2:-request}
case $secs in '' | *[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS] [request|h2]" >&2; exit 2 ;; esac
case $which in
request) target=fuzz_request seeds=corpus ;;
h2) target=fuzz_h2 seeds=corpus_h2 ;;
*) echo "usage: tests/fuzz/run.sh [SECONDS] [request|h2]" >&2; exit 2 ;;
esac
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build-fuzz
. "$top/scripts/deps.sh"
ll_deps $LL_BUILD_DEPS clang libclang-rt-14-dev || exit 2

CC=clang cmake -S "$top" -B "$build" -DLL_BUILD_TESTS=ON -DLL_FUZZ=ON -DLL_SANITIZE=asan \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j 2 --target "$target" >/dev/null

mkdir -p "$build/$seeds"
cd "$build"
# -timeout: one input may not take a second (the harness bounds its loop passes);
# -rss_limit_mb: growth across inputs would be a leak the per-input check missed.
set +e
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ./tests/$target -max_total_time="$secs" -timeout=2 -max_len=16384 -rss_limit_mb=1024 \
    -print_final_stats=1 "$build/$seeds" "$top/tests/fuzz/$seeds" 2>&1 | tee "$build/fuzz.log" |
    grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)'
status=${PIPESTATUS[0]}
echo "$target: exit $status, log in $build/fuzz.log"
exit "$status"
