#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] - build the libFuzzer harness over mockllm's request path with
# clang (ASan+UBSan, LL_FUZZ=ON) into build-fuzz/ and fuzz for a bounded time (default 60 s).
#
#   tests/fuzz/run.sh        60 s, what a developer runs by hand
#   tests/fuzz/run.sh 20     CI's short budget
#   tests/fuzz/run.sh 3600   a long run; new inputs land in build-fuzz/corpus (not in git)
#
# The seed corpus tests/fuzz/corpus/ is read, never written. A crash, leak or UBSan report
# leaves a crash-* / leak-* file in build-fuzz/ and exits non-zero.
set -euo pipefail
secs=${1:-60}
case $secs in '' | *[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS]" >&2; exit 2 ;; esac
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build-fuzz
. "$top/scripts/deps.sh"
ll_deps $LL_BUILD_DEPS clang libclang-rt-14-dev || exit 2

CC=clang cmake -S "$top" -B "$build" -DLL_BUILD_TESTS=ON -DLL_FUZZ=ON -DLL_SANITIZE=asan \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j 2 --target fuzz_request >/dev/null

mkdir -p "$build/corpus"
cd "$build"
# -timeout: one input may not take a second (the harness bounds its loop passes);
# -rss_limit_mb: growth across inputs would be a leak the per-input check missed.
set +e
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ./tests/fuzz_request -max_total_time="$secs" -timeout=2 -max_len=16384 -rss_limit_mb=1024 \
    -print_final_stats=1 "$build/corpus" "$top/tests/fuzz/corpus" 2>&1 | tee "$build/fuzz.log" |
    grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)'
status=${PIPESTATUS[0]}
echo "fuzz_request: exit $status, log in $build/fuzz.log"
exit "$status"
