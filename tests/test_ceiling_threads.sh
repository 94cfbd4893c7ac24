#!/usr/bin/env bash
# test_ceiling_threads.sh - a thread wall named from evidence, on both backends: llmload runs in a
# control group of its own whose pids.max is 40 (the tests run as root, where RLIMIT_NPROC does
# not bind; a cgroup's pids limit binds root too).
#   threaded   --concurrency 100 cannot start its workers: exit 1, one line "local limit met:
#              threads (... pthread_create EAGAIN after N of 100 threads ...; met cgroup pids.max
#              40 (pids.current 40 ...)" with N < 40; the JSON has limits.met = threads and
#              limits.thread_wall.wall = "cgroup pids.max"; bench/ceiling.py names the step's
#              stop "threads: pthread_create EAGAIN after N of 100 threads, cgroup pids.max 40
#              reached"
#   evented    the same run in the same group holds its target: one thread needs no more
# Skipped (exit 77) where no pids controller can be written (not root, no cgroup v1 pids or v2
# pids, read-only /sys/fs/cgroup). Needs LL_LLMLOAD, LL_MOCKLLM.
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
MOCKLLM=${LL_MOCKLLM:?set LL_MOCKLLM to the mockllm binary}
BENCH=$(cd "$(dirname "$0")/../bench" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PIDS_MAX=40

# A pids cgroup we may create: v1's pids hierarchy, else v2 with the pids controller on.
cg=""
for root in /sys/fs/cgroup/pids /sys/fs/cgroup/unified /sys/fs/cgroup; do
    if [ -f "$root/cgroup.procs" ] && { [ "$root" = /sys/fs/cgroup/pids ] ||
        grep -qw pids "$root/cgroup.subtree_control" 2>/dev/null; }; then
        if mkdir "$root/llmload-test-$$" 2>/dev/null; then
            cg="$root/llmload-test-$$"
            break
        fi
    fi
done
if [ -z "$cg" ] || ! echo "$PIDS_MAX" >"$cg/pids.max" 2>/dev/null; then
    [ -n "$cg" ] && rmdir "$cg"
    echo "SKIP: no pids cgroup can be created here (needs root and a writable pids controller)"
    exit 77
fi
tmp=$(mktemp -d)
mock_pid=
cleanup() {
    [ -n "$mock_pid" ] && { kill "$mock_pid" 2>/dev/null; wait "$mock_pid" 2>/dev/null; }
    # the group is empty once its llmload exited; wait a little for the kernel to say so
    for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$cg" 2>/dev/null && break; sleep 0.2; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The mock outside the group: only llmload's threads count against pids.max.
mkfifo "$tmp/ready"
"$MOCKLLM" --port 0 --itl 50 --tokens 20 >"$tmp/ready" 2>/dev/null &
mock_pid=$!
read -r _ _ port <"$tmp/ready" || { echo "FAIL: mockllm did not start"; exit 1; }

for be in threaded evented; do
    (
        echo "$BASHPID" >"$cg/cgroup.procs" || exit 99
        exec timeout 60 "$LLMLOAD" run --backend "$be" --url "http://127.0.0.1:$port/v1" \
            --rate 100 --concurrency 100 --requests 300 --duration 3s --window 1.2s --stream \
            --retries 0 --no-preflight --no-limit-check --json "$tmp/$be.json"
    ) >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -ne 99 ] || { fail "$be: could not join $cg"; continue; }
    [ -n "${LL_KEEP:-}" ] && cp "$tmp/$be.json" "$LL_KEEP/$be-pids.json"
    if [ "$be" = threaded ]; then
        echo "  $(cat "$tmp/err")"
        [ "$rc" -eq 1 ] || fail "threaded: exit $rc, want 1"
        [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "threaded: stderr is not one line"
        grep -Eq "^llmload run: local limit met: threads \(cannot start the threaded backend with 100 threads, all or none: pthread_create EAGAIN after [0-9]+ of 100 threads \([0-9]+ in the process\); met cgroup pids.max $PIDS_MAX \(pids.current $PIDS_MAX in $cg\);" "$tmp/err" ||
            fail "threaded: limit line"
    else
        [ "$rc" -eq 0 ] || fail "evented: exit $rc: $(cat "$tmp/err")"
        grep -q '^local limit met' "$tmp/out" && fail "evented met a limit: $(cat "$tmp/out")"
    fi
    $PY - "$BENCH" "$tmp/$be.json" "$be" "$PIDS_MAX" <<'PY' || fail "$be: JSON and naming"
import json, sys
sys.path.insert(0, sys.argv[1])
sys.dont_write_bytecode = True
import ceiling
d, be, pmax = json.load(open(sys.argv[2])), sys.argv[3], int(sys.argv[4])
lim = d["results"]["limits"]
c = {"status": "ok" if be == "evented" else "failed", "rc": "0" if be == "evented" else "1",
     "concurrency": 100, "failed": d["results"]["requests"]["failed"],
     "limit_hit": lim["met"] or "", "limit_line": lim["line"] or ""}
ceiling.fields(c, d)
conf = {"ttft_ms": "0", "itl_ms": "50", "tokens": "20", "targets": "95"}
c["concurrency"] = c["target"] = 95  # R x L
ok, why = ceiling.held(c, conf)
name = ceiling.stop(c, conf)
print("  %s: held %s %s" % (be, ok, name))
if be == "threaded":
    tw = lim["thread_wall"]
    assert lim["met"] == "threads" and tw["wall"] == "cgroup pids.max", lim
    assert tw["errno"] == "EAGAIN" and tw["cgroup_pids_max"] == pmax, tw
    assert 0 < tw["started"] < pmax and tw["wanted"] == 100, tw
    assert d["results"]["requests"]["submitted"] == 0, d["results"]["requests"]
    assert not ok
    assert name.startswith("threads: pthread_create EAGAIN after %d of 100 threads, cgroup "
                           "pids.max %d reached" % (tw["started"], pmax)), name
else:
    assert lim["met"] is None, lim
    assert ok, why
    assert name == "", name
PY
done

[ "$fails" -eq 0 ] && echo "test_ceiling_threads: OK" || echo "test_ceiling_threads: $fails failure(s)"
[ "$fails" -eq 0 ]
