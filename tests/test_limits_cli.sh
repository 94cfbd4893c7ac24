#!/usr/bin/env bash
# test_limits_cli.sh - `llmload run` says which local limit it met:
#   - descriptors, up front: under `ulimit -n 64` (soft and hard, so the raise to the hard
#     limit cannot help), --concurrency 200 is refused before anything starts: exit 1, one
#     line naming RLIMIT_NOFILE and what 200 in flight need, nothing on stdout, no JSON;
#   - descriptors, per request: the same with --no-limit-check (the run goes on; against a
#     mockllm started outside the limit): exit 0, the table has
#     "local limit met: descriptors (N requests failed; RLIMIT_NOFILE soft 64 hard 64)", the
#     JSON has results.limits.met = "descriptors" and the same count, accounting OK;
#   - descriptors over TLS: a request whose new connection got its socket but not the CA file
#     (--cacert; OpenSSL's fopen met EMFILE, curl says "error setting certificate file") met the
#     descriptor limit too: under `ulimit -n` rising one at a time from 7 until one request
#     succeeds, each failed request is counted resource/descriptors, never connect, on both
#     backends (curl loads the CA file once a multi handle: the first connection of each);
#   - a tiny `ulimit -n` (5 to 12, soft and hard; at 4 the loader cannot start a program):
#     libuv 1.44 calls abort() when its first loop cannot make its signal pipe, so both
#     programs check for room before it; llmload (evented, --no-limit-check, against the mock
#     started outside) and mockllm alone either work or exit 1 with a line that names the
#     descriptors, never die of a signal (caught when planted: 134 at 5-7, 'libuv call failed');
#   - the soft limit is raised to the hard one and the header says so;
#   - threads: under `ulimit -v` the threaded backend cannot map 2000 stacks: exit 1 and one
#     line "local limit met: threads (...)" naming what bounds threads, refused up front; with
#     --no-limit-check the threads are started and the line names the wall from the counters
#     read when pthread_create failed ("EAGAIN after N of 2000 threads ...; met RLIMIT_AS ...")
#     (skipped under ASan, whose shadow memory needs the address space).
# Needs LL_LLMLOAD and LL_MOCKLLM.
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
MOCKLLM=${LL_MOCKLLM:?set LL_MOCKLLM to the mockllm binary}
tmp=$(mktemp -d)
mock_pid= tmock_pid=
cleanup() {
    local p
    for p in $mock_pid $tmock_pid; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# mockllm with its own (unlowered) limit; readiness is its "listening HOST PORT" line.
mkfifo "$tmp/ready"
"$MOCKLLM" --port 0 --latency-ms 300 >"$tmp/ready" 2>"$tmp/mock.err" &
mock_pid=$!
read -r _ host port <"$tmp/ready" || { echo "FAIL: mockllm did not start"; exit 1; }
url="http://$host:$port/v1"

for be in threaded evented; do
    # Refused up front, before anything starts: one line naming the limit (issue 13 item 7).
    (
        ulimit -n 64
        exec "$LLMLOAD" run --backend "$be" --url "$url" --requests 300 --concurrency 200 \
            --json "$tmp/$be.json"
    ) >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 1 ] || fail "$be: refusal: exit $rc, want 1"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$be: refusal: stderr is not one line: $(cat "$tmp/err")"
    [ ! -s "$tmp/out" ] || fail "$be: refusal: the run started: $(cat "$tmp/out")"
    grep -q "^llmload run: local limit met: descriptors (--concurrency 200 on the $be backend needs about [0-9]* descriptors; RLIMIT_NOFILE soft 64 hard 64 allows 64" "$tmp/err" ||
        fail "$be: refusal line: $(cat "$tmp/err")"
    [ ! -e "$tmp/$be.json" ] || fail "$be: refusal left a JSON file"
    # --no-limit-check runs anyway: the limit is then met per request and reported.
    (
        ulimit -n 64
        exec "$LLMLOAD" run --backend "$be" --url "$url" --requests 300 --concurrency 200 \
            --no-limit-check --json "$tmp/$be.json"
    ) >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 0 ] || fail "$be: exit $rc: $(cat "$tmp/err")"
    line=$(grep '^local limit met: ' "$tmp/out")
    echo "$be: $line"
    n=$(sed -n 's/^local limit met: descriptors (\([0-9]*\) requests failed; RLIMIT_NOFILE soft 64 hard 64)$/\1/p' "$tmp/out")
    if [ -z "$n" ] || [ "$n" -eq 0 ]; then fail "$be: no descriptors limit line: $(cat "$tmp/out")"; fi
    grep -q '^limits: RLIMIT_NOFILE soft 64 (hard 64)$' "$tmp/out" || fail "$be: header lacks limits"
    grep -q '^accounting OK: submitted 300 ' "$tmp/out" || fail "$be: accounting"
    python3 - "$tmp/$be.json" "${n:-0}" <<'PY' || fail "$be: JSON limits"
import json, sys
d = json.load(open(sys.argv[1]))
lim = d["results"]["limits"]
assert lim["met"] == "descriptors", lim
assert lim["failed"]["descriptors"] == int(sys.argv[2]), lim
assert lim["failed"]["descriptors"] == d["results"]["requests"]["by_class"]["resource"], lim
assert lim["rlimit_nofile"] == {"soft": 64, "hard": 64}, lim
assert d["config"]["rlimit_nofile"]["soft"] == 64, d["config"]
PY
done

# Over TLS, up the descriptor limit one at a time: every failure below the first success met
# the limit (resource/descriptors), whichever descriptor it lacked: the socket's or the CA file's.
mkfifo "$tmp/tready"
"$MOCKLLM" --port 0 --tls >"$tmp/tready" 2>"$tmp/tmock.err" &
tmock_pid=$!
read -r _ thost tport _ tca <"$tmp/tready" || fail "mockllm --tls did not start"
for be in threaded evented; do
    ok=0
    # (from 7: below it libuv aborts in uv_loop_init when it cannot make its signal pipe)
    for n in $(seq 7 40); do
        (ulimit -n "$n"; exec "$LLMLOAD" run --backend "$be" --http 2 --requests 1 --concurrency 1 \
            --url "https://$thost:$tport/v1" --cacert "$tca" --no-preflight --retries 0 \
            --no-limit-check --json "$tmp/tls.json") >"$tmp/out" 2>"$tmp/err"
        [ -s "$tmp/tls.json" ] || continue # too few descriptors for llmload itself
        read -r got conn res <<<"$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]["requests"]; c=r["by_class"]; print(r["succeeded"], c["connect"], c["resource"])' "$tmp/tls.json")"
        rm -f "$tmp/tls.json"
        [ "$conn" = 0 ] || fail "$be over TLS at ulimit -n $n: a request failed as connect: $(grep -m1 -o 'first: .*' "$tmp/err")"
        if [ "$got" = 1 ]; then ok=1; break; fi
        [ "$res" = 1 ] || fail "$be over TLS at ulimit -n $n: neither succeeded nor met a limit"
    done
    [ "$ok" = 1 ] || fail "$be over TLS: no request succeeded up to ulimit -n 40"
    echo "$be over TLS: first success at ulimit -n $n"
done
kill "$tmock_pid" 2>/dev/null
wait "$tmock_pid" 2>/dev/null
tmock_pid=

# The soft limit is raised to the hard one (when they differ).
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -gt 64 ]; then
    (ulimit -Sn 64; exec "$LLMLOAD" run --backend evented --url "$url" --requests 20 \
        --concurrency 10) >"$tmp/out" 2>"$tmp/err" || fail "raise: exit $?: $(cat "$tmp/err")"
    grep -q "^limits: RLIMIT_NOFILE soft 64 -> $hard (hard $hard)$" "$tmp/out" ||
        fail "soft limit not raised: $(grep '^limits' "$tmp/out")"
    grep -q '^local limit met' "$tmp/out" && fail "raised run still met a limit"
fi

# Threads: stacks cannot be mapped under a small address-space limit.
if nm -D "$LLMLOAD" 2>/dev/null | grep -q __asan_init || ldd "$LLMLOAD" | grep -q libasan; then
    echo "threads: skipped under ASan"
else
    # 2000 requests: a run sized to the work starts no more threads than requests.
    (ulimit -v 1000000; exec "$LLMLOAD" run --backend threaded --url "$url" --requests 2000 \
        --concurrency 2000 --no-preflight) >"$tmp/out" 2>"$tmp/err"
    rc=$?
    echo "threads: $(cat "$tmp/err")"
    [ "$rc" -eq 1 ] || fail "threads: exit $rc, want 1"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "threads: stderr is not one line"
    grep -q '^llmload run: local limit met: threads (cannot start the threaded backend with 2000 threads, all or none: .*RLIMIT_NPROC .*threads-max .*pid_max .*stack .*RLIMIT_AS ' "$tmp/err" ||
        fail "threads: no limit line"
    # --no-limit-check starts them: pthread_create fails and the counter at its limit is named.
    (ulimit -v 1000000; exec "$LLMLOAD" run --backend threaded --url "$url" --requests 2000 \
        --concurrency 2000 --no-preflight --no-limit-check) >"$tmp/out" 2>"$tmp/err"
    rc=$?
    echo "threads, started: $(cat "$tmp/err")"
    [ "$rc" -eq 1 ] || fail "threads, started: exit $rc, want 1"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "threads, started: stderr is not one line"
    grep -Eq '^llmload run: local limit met: threads \(cannot start the threaded backend with 2000 threads, all or none: pthread_create EAGAIN after [0-9]+ of 2000 threads \([0-9]+ in the process\); met RLIMIT_AS [0-9]+ KiB .*RLIMIT_NPROC .*threads-max .*pid_max .*stack .*RLIMIT_AS ' "$tmp/err" ||
        fail "threads, started: no evidence in the limit line"
fi

# A tiny ulimit -n: one line naming descriptors, or success; never abort() (134) or a crash.
names_fds='descriptor|ulimit -n|Too many open files'
for n in $(seq 5 12); do
    (ulimit -n "$n"; exec "$LLMLOAD" run --backend evented --url "$url" --requests 1 \
        --concurrency 1 --no-preflight --no-limit-check) >"$tmp/out" 2>"$tmp/err"
    rc=$?
    case $rc in
    0) ;;
    1) grep -Eq "$names_fds" "$tmp/err" "$tmp/out" ||
        fail "evented at ulimit -n $n: exit 1 without naming descriptors: $(head -c 300 "$tmp/err")" ;;
    *) fail "evented at ulimit -n $n: exit $rc (want 0, or 1 naming descriptors)" ;;
    esac
    # mockllm stays up until timeout stops it (exit 124), or refuses to start in one line
    (ulimit -n "$n"; exec timeout -s TERM 1 "$MOCKLLM" --port 0) >"$tmp/out" 2>"$tmp/err"
    rc=$?
    case $rc in
    124) ;;
    1) [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -Eq "$names_fds" "$tmp/err" ||
        fail "mockllm at ulimit -n $n: exit 1 without one line naming descriptors: $(head -c 300 "$tmp/err")" ;;
    *) fail "mockllm at ulimit -n $n: exit $rc (want 124 from timeout, or 1 naming descriptors)" ;;
    esac
done
echo "tiny ulimit -n 5-12: no abort on either program"

[ "$fails" -eq 0 ] && echo "test_limits_cli: OK" || echo "test_limits_cli: $fails failure(s)"
[ "$fails" -eq 0 ]
