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
  loop lag        evented: an idle loop (10 requests of 50 ms, one at a time) spends its time
                  blocked in poll: lag p90 a few ms, not the wait before each response (the
                  probe counted the wait before a response that emptied the loop as late: p90
                  ~45 ms);
                  --blocking stalls the loop one whole call at a time: lag max ~ one call.
                  threaded has no loop: null.
  warm-up         --warmup 1s then 50 requests of 50 ms: the backend's figures are the measured
                  run's (loop time and lag samples within its wall, not the warm-up's 1 s on top;
                  backoff waits = the run's retries, each retry waiting once); the mock counts
                  the warm-up's requests and connections beside the run's, and the report says
                  the run reused the warm-up's connections.
  memory          one RSS peak (no '(sampled)' and '(ru_maxrss)' peaks that disagree): the max
                  of its two sources, above every other RSS figure, and RSS per request in
                  flight computed from it.
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
            check(ns is None and "interrupted: outstanding ones cancelled" in err
                  and "not sent" not in err,
                  "%s interrupted -d without -n: not_sent %r, want null and no count of requests "
                  "not sent (none exists) in the line: %s" % (be, ns, err))


def lag(be):
    # One request at a time (10 per s, 50 ms each): the probe starts and stops with each, and
    # each ends in the I/O callback right after a 50 ms wait in poll -- the moment the wait was
    # counted as lag (p90 ~45 ms). p90, not the max: a preemption of a loaded machine may make
    # a few samples late, never a tenth of them.
    r, doc = run_json(["--backend", be, "-n", "10", "--rate", "10", "--latency-ms", "50"])
    if not check(r.rc == 0 and doc is not None, "%s idle lag: exit %d: %s" % (be, r.rc, r.err)):
        return
    lag = jget(doc, "results.backend.loop_lag")
    if be == "threaded":
        check(lag is None, "threaded: loop lag %s, want null (no loop)" % lag)
        return
    note("%s idle: loop lag %s" % (be, {k: lag[k] for k in ("count", "p90_ms", "max_ms")}))
    check(lag["count"] >= 400 and lag["p90_ms"] <= 5,
          "%s idle loop: lag p90 %.1f ms over %d samples, want <= 5 ms (the loop waited in "
          "poll, it was not late)" % (be, lag["p90_ms"], lag["count"]))
    r, doc = run_json(["--backend", be, "-n", "3", "-c", "3", "--latency-ms", "200",
                       "--blocking"])
    lag = jget(doc, "results.backend.loop_lag") or {}
    note("%s --blocking: loop lag %s" % (be, {k: lag.get(k) for k in ("count", "p99_ms", "max_ms")}))
    check(160 <= (lag.get("max_ms") or 0) <= scaled(400),
          "%s --blocking: lag max %s ms, want about one call (200 ms)" % (be, lag.get("max_ms")))


def warmup(be):
    r, doc = run_json(["--backend", be, "--warmup", "1s", "-n", "50", "-c", "10",
                       "--latency-ms", "50"])
    if not check(r.rc == 0 and doc is not None, "%s warm-up: exit %d: %s" % (be, r.rc, r.err)):
        return
    req, bk, w, ms = (jget(doc, "results.requests"), jget(doc, "results.backend"),
                      jget(doc, "run.warmup"), r.mock_summary())
    wall_ms = req["wall_s"] * 1000
    note("%s warm-up: wall %.0f ms, loop %s ms, lag count %s; warm-up %s; mock %s; run connects %s"
         % (be, wall_ms, bk["loop_run_ms"], (bk["loop_lag"] or {}).get("count"), w, ms,
            req["connects"]))
    if be == "evented":
        check(bk["loop_run_ms"] <= wall_ms * 1.02 + 5 and bk["loop_lag"]["count"] <= wall_ms + 5,
              "%s warm-up: loop time %.0f ms, %d lag samples in a %.0f ms run: the warm-up's "
              "second is in them" % (be, bk["loop_run_ms"], bk["loop_lag"]["count"], wall_ms))
        check(bk["loop_busy_share"] + bk["loop_idle_share"] <= 1.0001,
              "%s warm-up: busy %s + idle %s > 1" % (be, bk["loop_busy_share"],
                                                     bk["loop_idle_share"]))
    check(ms is not None and ms["requests"] == w["sent"] + req["submitted"],
          "%s warm-up: mockllm saw %s requests, want warm-up %s + run %s" %
          (be, ms and ms["requests"], w["sent"], req["submitted"]))
    check(ms is not None and ms["connections"] == w["connections_opened"] + req["connects"],
          "%s warm-up: mockllm accepted %s connections, want warm-up %s + run %s" %
          (be, ms and ms["connections"], w["connections_opened"], req["connects"]))
    check("warm, opened by the warm-up" in r.out, "%s warm-up: the table does not say the run "
          "reused the warm-up's connections" % be)
    # Backoff counters: each retry of the measured run waited once; the warm-up's are not in.
    r, doc = run_json(["--backend", be, "--warmup", "30", "-n", "30", "-c", "3",
                       "--fault-rate", "0.5", "--retries", "3", "--retry-base", "5ms",
                       "--seed", "7"])
    waits, retries = jget(doc, "results.backend.backoff_waits"), jget(doc, "results.requests.retries")
    note("%s warm-up with faults: run retries %s, backoff waits %s" % (be, retries, waits))
    check(retries is not None and retries > 0 and waits == retries,
          "%s warm-up: %s backoff waits for the run's %s retries (the warm-up's waits are in)"
          % (be, waits, retries))


def memory(be):
    r, doc = run_json(["--backend", be, "-n", "200", "-c", "50", "--latency-ms", "50"])
    if not check(r.rc == 0 and doc is not None, "%s memory: exit %d: %s" % (be, r.rc, r.err)):
        return
    res = jget(doc, "results.resources")
    src = res["rss_peak_sources"]
    note("%s memory: peak %s (sources %s), base %s, start %s, mean %.0f, per in flight %.1f" %
         (be, res["rss_peak_kb"], src, res["rss_base_kb"], res["rss_start_kb"],
          res["rss_mean_kb"], res["rss_per_in_flight_kb"]))
    peaks = [ln for ln in r.out.splitlines() if ln.startswith("rss peak")]
    check(len(peaks) == 1, "%s memory: %d 'rss peak' lines, want one: %s" % (be, len(peaks), peaks))
    check(res["rss_peak_kb"] == max(src["sampled_max_kb"], src["kernel_hwm_kb"]),
          "%s memory: peak %s is not the max of its sources %s" % (be, res["rss_peak_kb"], src))
    for k in ("rss_base_kb", "rss_start_kb", "rss_mean_kb"):
        check(res["rss_peak_kb"] >= res[k], "%s memory: peak %s below %s %s" %
              (be, res["rss_peak_kb"], k, res[k]))
    inflight = jget(doc, "results.littles_law.in_flight_peak")
    want = (res["rss_peak_kb"] - res["rss_base_kb"]) / inflight
    check(abs(res["rss_per_in_flight_kb"] - want) < 0.01,
          "%s memory: per in flight %s, want (peak - base) / %s = %s" %
          (be, res["rss_per_in_flight_kb"], inflight, want))


def main():
    need_binaries(LLMLOAD, MOCKLLM)
    for be in BACKENDS:
        deadline(be)
        graceful(be)
        interrupted(be)
        lag(be)
        warmup(be)
        memory(be)
    finish("test_truth_window")


if __name__ == "__main__":
    main()
