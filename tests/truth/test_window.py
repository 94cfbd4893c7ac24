"""test_window.py - every figure of `llmload run` describes the measured run and only it, on both
backends, against truths from outside llmload.

  deadline        -d 1s, 10 in flight, 100 ms per request: nothing goes on the wire after the
                  deadline. Each round takes >= 100 ms, so at most 10 rounds start before 1 s:
                  mockllm counts <= 100 requests (requests queued in the look-ahead used to go out
                  after the deadline: 110); the queued ones are withdrawn and counted as not sent,
                  not as requests or cancellations.
  graceful stop   -d 0.5s at 3 s per request, --graceful-stop 0.5: the two in flight at the
                  deadline are cancelled 0.5 s after it (wall ~1 s, not 3 s) and counted as
                  cancelled; the two queued are not sent.
  interrupted     SIGINT during -d without -n: how many were not sent is unknown (null, "-");
                  with -n it is a count.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from truthlib import (BACKENDS, TMP, check, finish, jget, need_binaries, note, run_json,  # noqa
                      scaled, LLMLOAD, MOCKLLM)


def deadline(be):
    c, lat = 10, 100
    r, doc = run_json(["--backend", be, "-d", "1s", "-c", str(c), "--latency-ms", str(lat)])
    if not check(r.rc == 0 and doc is not None, "%s -d 1s: exit %d: %s" % (be, r.rc, r.err)):
        return
    ms, req, run = r.mock_summary(), jget(doc, "results.requests"), doc["run"]
    note("%s -d 1s: mock %s; submitted %s, wall %.3f s; run %s" %
         (be, ms, req["submitted"], req["wall_s"], run))
    # 10 rounds of 10 fit in 1 s; the 11th would start at >= 1 s, after the deadline.
    check(ms is not None and ms["requests"] <= 10 * c,
          "%s -d 1s: mockllm saw %s requests, want <= %d (nothing sent after the deadline)" %
          (be, ms and ms["requests"], 10 * c))
    check(ms is not None and req["submitted"] == req["succeeded"] == ms["requests"],
          "%s -d 1s: submitted %s, succeeded %s, mockllm %s: want all equal" %
          (be, req["submitted"], req["succeeded"], ms and ms["requests"]))
    check(req["cancelled"] == 0, "%s -d 1s: %s cancelled, want 0 (queued ones were never sent)"
          % (be, req["cancelled"]))
    check(1 <= run["withdrawn"] <= c and run["not_sent"] == run["withdrawn"],
          "%s -d 1s: withdrawn %s, not_sent %s: want the queued ones (1..%d), counted as not sent"
          % (be, run["withdrawn"], run["not_sent"], c))
    check(jget(doc, "run.deadline.reached") is True, "%s -d 1s: deadline %s" %
          (be, jget(doc, "run.deadline")))
    check("queued requests withdrawn (not sent)" in r.out,
          "%s -d 1s: no deadline line in the report: %s" % (be, r.out[-400:]))


def graceful(be):
    r, doc = run_json(["--backend", be, "-d", "0.5s", "-c", "2", "--latency-ms", "3000",
                       "--graceful-stop", "0.5"])
    if not check(doc is not None, "%s graceful stop: no JSON: %s" % (be, r.err)):
        return
    req, run = jget(doc, "results.requests"), doc["run"]
    note("%s graceful stop: wall %.3f s (process %.3f s), cancelled %s, run %s" %
         (be, req["wall_s"], r.wall_s, req["cancelled"], run))
    check(0.9 <= req["wall_s"] <= scaled(2.0),
          "%s graceful stop: wall %.3f s, want ~1 s (deadline 0.5 s + grace 0.5 s, not 3 s)" %
          (be, req["wall_s"]))
    check(req["submitted"] == req["cancelled"] == 2 and jget(
        doc, "run.deadline.cancelled_at_graceful_stop") == 2,
        "%s graceful stop: submitted %s, cancelled %s, deadline %s: want the 2 in flight "
        "cancelled" % (be, req["submitted"], req["cancelled"], run.get("deadline")))
    check(run["not_sent"] == run["withdrawn"] == 2,
          "%s graceful stop: not_sent %s, withdrawn %s, want the 2 queued" %
          (be, run["not_sent"], run["withdrawn"]))


def interrupted(be):
    for extra, want_known in (([], False), (["-n", "1000"], True)):
        path = os.path.join(TMP, "int-%s-%d.json" % (be, time.monotonic_ns()))
        env = dict(os.environ)
        env.pop("OPENAI_BASE_URL", None)
        p = subprocess.Popen([LLMLOAD, "run", "--backend", be, "-d", "20s", "-c", "2",
                              "--latency-ms", "50", "--json", path] + extra,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # SIGINT once the run is under way: the header line says the client started.
        t0 = time.monotonic()
        line = b""
        while b"mode=" not in line and time.monotonic() - t0 < 30:
            line = p.stdout.readline()
            if not line:
                break
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        err = err.decode(errors="replace")
        doc = json.load(open(path)) if os.path.exists(path) else {}
        ns = jget(doc, "run.not_sent", "absent")
        note("%s interrupted %s: exit %d, not_sent %s, withdrawn %s" %
             (be, extra, p.returncode, ns, jget(doc, "run.withdrawn")))
        check(p.returncode == 130, "%s interrupted %s: exit %d, want 130" %
              (be, extra, p.returncode))
        if want_known:
            check(isinstance(ns, int) and ns >= 1000 - 200,
                  "%s interrupted -n 1000: not_sent %s, want the count left" % (be, ns))
        else:
            check(ns is None and "interrupted: - requests not sent" in err,
                  "%s interrupted -d without -n: not_sent %r, want null and '-' (unknown): %s" %
                  (be, ns, err))


def main():
    need_binaries(LLMLOAD, MOCKLLM)
    for be in BACKENDS:
        deadline(be)
        graceful(be)
        interrupted(be)
    finish("test_truth_window")


if __name__ == "__main__":
    main()
