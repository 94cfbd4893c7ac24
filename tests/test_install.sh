#!/usr/bin/env bash
# test_install.sh BUILD_DIR - `cmake --install` puts llmload and mockllm in PREFIX/bin, and the
# installed llmload, with no LL_MOCKLLM set, starts the installed mockllm (config.mock.path in
# its JSON), not the one in the build tree.
set -u
build=${1:?usage: test_install.sh BUILD_DIR}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cmake --install "$build" --prefix "$prefix" >"$prefix/log" 2>&1 || fail "cmake --install: $(cat "$prefix/log")"
for p in llmload mockllm; do
    [ -x "$prefix/bin/$p" ] || fail "$prefix/bin/$p is not installed"
done
env -u LL_MOCKLLM "$prefix/bin/llmload" run --backend evented -n 5 --json "$prefix/r.json" \
    >"$prefix/out" 2>&1 || fail "installed llmload run: exit $?: $(cat "$prefix/out")"
python3 - "$prefix/r.json" "$prefix/bin/mockllm" <<'PY' || fail "the installed llmload did not start the installed mockllm"
import json, sys
m = json.load(open(sys.argv[1]))["config"]["mock"]
assert m["embedded"] and m["path"] == sys.argv[2], m
PY
[ "$fails" -eq 0 ] && echo "test_install: all passed"
exit $((fails > 0))
