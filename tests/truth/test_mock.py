"""test_mock.py - mockllm's README claims, checked from outside: the kernel's socket table, the
process's threads, and arithmetic from the configured latencies (llmload on both backends as
the client, where one is needed).

  127.0.0.1     by default every listening socket of mockllm is bound to 127.0.0.1 (the
                kernel's /proc/net/tcp and tcp6), one per loop
  --threads N   N loops: N listeners, at least N threads, and connections served by several
                loops (its --verbose lines name the loop)
  --max-running 2 of 6 requests at once at 200 ms each: they finish in three waves, so the
                slowest takes about 600 ms
  --slowdown F  per-token time x (1 + F x (running - 1)): four streams at once with F = 1 take
                about four times as long as one alone; with F = 0 (the default) just as long
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from truthlib import (BACKENDS, Mock, check, finish, jget, need_binaries, note,  # noqa: E402
                      run_json, scaled, LLMLOAD, MOCKLLM, SCRIPTSRV)


def listeners(pid):
    """[(family, local address, port)] of the listening TCP sockets the process holds."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            m = re.match(r"socket:\[(\d+)\]", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            continue
        if m:
            inodes.add(m.group(1))
    out = []
    for fam in ("tcp", "tcp6"):
        with open("/proc/net/%s" % fam) as f:
            next(f)
            for line in f:
                p = line.split()
                if p[3] == "0A" and p[9] in inodes:  # TCP_LISTEN
                    addr, port = p[1].split(":")
                    if fam == "tcp":
                        a = ".".join(str(int(addr[i:i + 2], 16)) for i in (6, 4, 2, 0))
                    else:
                        a = addr
                    out.append((fam, a, int(port, 16)))
    return out


def threads_of(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def bind_and_threads():
    for n in (1, 3):
        m = Mock("--threads", str(n), "--verbose")
        ls = listeners(m.pid)
        nthreads = threads_of(m.pid)
        r, doc = run_json(["--backend", "evented", "--url", m.base_url, "--requests", "48",
                           "--concurrency", "12", "--no-reuse"])
        err = m.stop()
        loops = sorted(set(re.findall(r"^mockllm\[(\d+)\]: POST", err, re.M)))
        note("mockllm --threads %d: listeners %s, %d threads, requests served by loops %s" %
             (n, ls, nthreads, loops))
        check(len(ls) == n and all(fam == "tcp" and a == "127.0.0.1" and port == m.port
                                   for fam, a, port in ls),
              "mockllm --threads %d: listening on %s, want %d x 127.0.0.1:%d" % (n, ls, n, m.port))
        check(nthreads >= n, "mockllm --threads %d: %d threads" % (n, nthreads))
        check(r.rc == 0, "mockllm --threads %d: the run failed: %s" % (n, r.err))
        if n > 1:
            check(len(loops) >= 2, "mockllm --threads %d: 48 connections all served by loops %s" %
                  (n, loops))


def e2e(doc, key):
    return jget(doc, "results.latency.e2e.%s" % key)


def max_running(be):
    m = Mock("--max-running", "2", "--latency-ms", "200")
    r, doc = run_json(["--backend", be, "--url", m.base_url, "--no-preflight", "--requests", "6",
                       "--concurrency", "6"])
    peak = m.metric("mockllm_in_flight_peak")
    m.stop()
    lo, hi = e2e(doc, "p50_ms"), e2e(doc, "max_ms")
    note("%s vs --max-running 2, 6 x 200 ms at once: e2e p50 %s, max %s ms, wall %.2f s, mock "
         "in-flight peak %s" % (be, lo, hi, r.wall_s, peak))
    check(r.rc == 0 and hi is not None and 540 <= hi <= scaled(900),
          "%s --max-running 2: the slowest of 6 took %s ms, three waves of 200 want ~600" % (be, hi))
    check(r.wall_s >= 0.54, "%s --max-running 2: 6 requests in %.2f s" % (be, r.wall_s))


def slowdown(be):
    got = {}
    for f in ("1", "0"):
        m = Mock("--itl", "20", "--tokens", "10", "--max-running", "8", "--slowdown", f)
        for c in (1, 4):
            r, doc = run_json(["--backend", be, "--url", m.base_url, "--no-preflight", "--stream",
                               "--requests", str(c), "--concurrency", str(c)])
            got[(f, c)] = e2e(doc, "max_ms") if r.rc == 0 else None
        m.stop()
    note("%s: streams of 10 tokens 20 ms apart, e2e max alone / 4 at once: --slowdown 1: %s / %s "
         "ms, --slowdown 0: %s / %s ms" % (be, got[("1", 1)], got[("1", 4)], got[("0", 1)],
                                           got[("0", 4)]))
    if not check(None not in got.values(), "%s --slowdown: a run failed: %s" % (be, got)):
        return
    one = got[("1", 1)]
    check(150 <= one <= scaled(300), "%s: one stream of 10 tokens 20 ms apart took %s ms" % (be, one))
    check(2.5 <= got[("1", 4)] / one <= 5.5,
          "%s --slowdown 1: 4 at once took %.1fx one alone, (1 + 1 x 3) wants ~4" %
          (be, got[("1", 4)] / one))
    check(got[("0", 4)] / got[("0", 1)] <= 1.4,
          "%s --slowdown 0: 4 at once took %.1fx one alone, want the same" %
          (be, got[("0", 4)] / got[("0", 1)]))


def main():
    need_binaries(LLMLOAD, MOCKLLM, SCRIPTSRV)
    bind_and_threads()
    for be in BACKENDS:
        max_running(be)
        slowdown(be)
    finish("test_truth_mock")


if __name__ == "__main__":
    main()
