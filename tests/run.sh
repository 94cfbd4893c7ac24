#!/usr/bin/env bash
# tests/run.sh - install what is missing, build, run every test with ctest.
#
#   tests/run.sh            normal build (build/), all tests
#   tests/run.sh --asan     ASan+UBSan build (build-asan/), all tests but valgrind's
#   tests/run.sh --tsan     TSan build (build-tsan/), the tests labelled "threads"
#   tests/run.sh -R REGEX   only tests whose name matches (passed to ctest)
set -euo pipefail
LL_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$LL_TOP/scripts/deps.sh"

build=build sanitize="" ctest_args=() jobs=4
while [ $# -gt 0 ]; do
    case $1 in
    --asan) build=build-asan sanitize=asan ctest_args+=(-LE valgrind) ;;
    # TSan runs a program 5-15 times slower in far more memory: two at a time, as before
    --tsan) build=build-tsan sanitize=tsan ctest_args+=(-L threads -LE valgrind) jobs=2 ;;
    -R) [ $# -ge 2 ] && [ -n "$2" ] || { echo "tests/run.sh: -R needs a regular expression (see --help)" >&2; exit 2; }
        ctest_args+=(-R "$2"); shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "tests/run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

ll_deps $LL_BUILD_DEPS valgrind python3 curl openssl nghttp2-client parallel
ll_build "$LL_TOP/$build" -DLL_BUILD_TESTS=ON -DLL_WERROR=ON -DLL_SANITIZE="$sanitize"
cd "$LL_TOP/$build"
# 4 at once: most tests wait on a mock's latency (tests/CMakeLists.txt gives the tests that
# judge time or CPU 2 slots each)
ctest --output-on-failure -j "$jobs" --timeout 300 "${ctest_args[@]}"
