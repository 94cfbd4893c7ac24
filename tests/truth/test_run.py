"""test_run.py - `llmload run`'s figures against truths from outside llmload, on both backends.

  latency, throughput, reuse  the embedded mock at 50 ms, 10 in flight: e2e p50 is the mock's
                              latency (not the look-ahead queue's wait on top of it), throughput
                              is at most C / latency (and text and JSON agree), and mockllm's own
                              summary counts every request and at most C + 1 connections;
                              --no-reuse opens one per request
  faults                      --fault-rate 1 --retries 0: mockllm answered no request 200 and
                              the run counts every request failed
  retries                     injected 500s with retries: JSON, text and mockllm's count of the
                              requests it saw agree (attempts = requests + retries)
  arrivals                    --rate 200, constant and Poisson: ll_scriptsrv's arrival log spans
                              (N - 1) / rate, with the spread of gaps each kind has
  timeout                     --timeout 1 at a server that never answers, or answers after 3 s:
                              the server sees the client leave 0.9-1.3 s after each attempt
  bearer token                OPENAI_API_KEY arrives as 'Authorization: Bearer KEY', and no
                              header is sent without it
  non-OpenAI answer           a text/html 200 exits 1 with one line naming the endpoint
  --blocking                  the evented pitfall serialises: mockllm never sees two at once,
                              and the wall is the sum of the latencies; threaded refuses it
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from truthlib import (BACKENDS, ScriptSrv, check, finish, jget, llmload, need_binaries,  # noqa
                      note, run_json, scaled, LLMLOAD, MOCKLLM, SCRIPTSRV)


def closed_loop(be):
    n, c, lat = 100, 10, 50.0
    r, doc = run_json(["--backend", be, "--requests", str(n), "--concurrency", str(c),
                       "--latency-ms", str(lat)])
    if not check(r.rc == 0 and doc is not None, "%s closed loop: exit %d: %s" % (be, r.rc, r.err)):
        return
    t, ms = r.table(), r.mock_summary()
    p50 = jget(doc, "results.latency.e2e.p50_ms")
    rps = jget(doc, "results.requests.throughput_rps")
    note("%s: e2e p50 %.1f ms (mock %g ms), %.1f req/s (ceiling %g), mock: %s, client "
         "connects %s" % (be, p50, lat, rps, c / lat * 1000, ms, jget(doc, "results.requests.connects")))
    # Latency runs from the moment a request gets its slot: the mock's 50 ms, not 50 ms more
    # spent queued in the look-ahead.
    check(lat * 0.97 <= p50 <= lat * 1.5, "%s: e2e p50 %.1f ms, want the mock's %g ms" % (be, p50, lat))
    # Each request holds a slot for at least the mock's latency: C / latency bounds throughput.
    check(rps <= c / (lat / 1000) * 1.05, "%s: throughput %.1f req/s above the ceiling %g" %
          (be, rps, c / lat * 1000))
    check(rps >= n / r.wall_s, "%s: throughput %.1f below requests / process wall %.1f" %
          (be, rps, n / r.wall_s))
    text_rps = next((v for k, v in t.items() if k.startswith("throughput")), -1)  # "(succeeded)"
    check(abs(text_rps - rps) <= 0.01 * rps, "%s: text throughput %s vs JSON %s" % (be, text_rps, rps))
    check(ms is not None and ms["requests"] == n and ms["status"].get("200") == n,
          "%s: mockllm answered %s, want %d x 200" % (be, ms, n))
    check(ms is not None and 1 <= ms["connections"] <= c + 1,
          "%s: mockllm saw %s connections, want at most C + 1 = %d" % (be, ms and ms["connections"], c + 1))
    check(ms is not None and ms["peak"] <= c, "%s: mockllm peak in flight %s > C" % (be, ms and ms["peak"]))
    check(ms is not None and jget(doc, "results.requests.connects") == ms["connections"],
          "%s: client reports %s connections, mockllm accepted %s" %
          (be, jget(doc, "results.requests.connects"), ms and ms["connections"]))
    check(jget(doc, "results.requests.succeeded") == n and t.get("requests succeeded") == n,
          "%s: succeeded JSON %s text %s, want %d" %
          (be, jget(doc, "results.requests.succeeded"), t.get("requests succeeded"), n))

    r = llmload(["run", "--backend", be, "--requests", "60", "--concurrency", str(c), "--no-reuse"])
    ms = r.mock_summary()
    check(r.rc == 0 and ms is not None and ms["connections"] >= 60,
          "%s --no-reuse: mockllm saw %s connections for 60 requests" % (be, ms))


def faults(be):
    n = 30
    r, doc = run_json(["--backend", be, "--requests", str(n), "--concurrency", "10",
                       "--retries", "0", "--fault-rate", "1"])
    ms = r.mock_summary()
    note("%s --fault-rate 1: mock %s, client failed %s" % (be, ms, jget(doc, "results.requests.failed")))
    check(ms is not None and ms["requests"] == n and "200" not in ms["status"],
          "%s --fault-rate 1: mockllm answered %s, want %d and none 200" % (be, ms, n))
    check(jget(doc, "results.requests.failed") == n and jget(doc, "results.requests.succeeded") == 0,
          "%s --fault-rate 1: JSON %s" % (be, jget(doc, "results.requests")))


def retries(be):
    n = 40
    r, doc = run_json(["--backend", be, "--requests", str(n), "--concurrency", "8", "--retries", "8",
                       "--seed", "5", "--mock-arg=--faults=500=0.3"])
    ms, t = r.mock_summary(), r.table()
    if not check(r.rc == 0 and doc is not None and ms is not None,
                 "%s retries: exit %d, mock %s: %s" % (be, r.rc, ms, r.err)):
        return
    want = ms["requests"] - n  # every request reaches the mock; the rest are retries
    got = jget(doc, "results.requests.retries")
    note("%s: mockllm saw %d requests for %d: %d retries; JSON %s, text %s" %
         (be, ms["requests"], n, want, got, t.get("retries")))
    check(want > 0, "%s: no injected 500 (mock %s)" % (be, ms))
    check(got == want and t.get("retries") == want,
          "%s: retries JSON %s, text %s; mockllm says %d" % (be, got, t.get("retries"), want))
    check(jget(doc, "results.requests.wire_requests") == ms["requests"] == t.get("wire requests"),
          "%s: wire requests JSON %s, text %s; mockllm %d" %
          (be, jget(doc, "results.requests.wire_requests"), t.get("wire requests"), ms["requests"]))


def arrivals(be):
    n, rate = 100, 200.0
    for kind in ("constant", "poisson"):
        srv = ScriptSrv("200")
        r = llmload(["run", "--backend", be, "--url", srv.base_url, "--no-preflight",
                     "--requests", str(n), "--rate", str(rate), "--arrivals", kind, "--seed", "3"])
        srv.stop()
        t = [e[0] for e in srv.requests()]
        if not check(r.rc == 0 and len(t) == n, "%s %s: exit %d, %d arrivals: %s" %
                     (be, kind, r.rc, len(t), r.err)):
            continue
        span = (t[-1] - t[0]) / 1000.0
        gaps = [b - a for a, b in zip(t, t[1:])]
        cv = statistics.pstdev(gaps) / statistics.mean(gaps)
        med = statistics.median(gaps) / 1000.0
        want = (n - 1) / rate
        note("%s %s --rate %g: %d arrivals over %.3f s at the server (want %.3f), median gap "
             "%.2f ms, CV %.2f" % (be, kind, rate, n, span, want, med * 1000, cv))
        check(0.6 * want <= span <= scaled(1.8) * want,
              "%s %s: arrivals spanned %.3f s, --rate %g wants %.3f" % (be, kind, span, rate, want))
        # The kind of gaps (jitter on a busy machine only widens them, so only these bounds):
        # exponential gaps spread as much as they are long; constant ones sit at 1 / rate.
        if kind == "poisson":
            check(cv >= 0.8, "%s poisson: gaps' CV %.2f, exponential gaps have 1" % (be, cv))
        else:
            check(0.8 / rate <= med <= 1.2 / rate,
                  "%s constant: median gap %.2f ms, want %.2f" % (be, med * 1000, 1000 / rate))


def timeout(be):
    srv = ScriptSrv("silent,200@3000")
    r, doc = run_json(["--backend", be, "--url", srv.base_url, "--no-preflight", "--requests", "2",
                       "--concurrency", "2", "--retries", "0", "--timeout", "1"])
    srv.stop()
    ev = srv.events()
    eof = {f["conn"]: t for t, e, f in ev if e == "eof"}
    waits = [(eof.get(f["conn"], 1e12) - t) / 1000.0 for t, e, f in ev if e == "request"]
    note("%s --timeout 1: the server saw the client leave after %s s" %
         (be, ", ".join("%.3f" % w for w in waits)))
    check(len(waits) == 2, "%s --timeout 1: %d attempts, want 2" % (be, len(waits)))
    for w in waits:
        check(0.9 <= w <= scaled(1.3), "%s --timeout 1: attempt abandoned after %.3f s" % (be, w))
    check(jget(doc, "results.requests.by_class.timeout") == 2,
          "%s --timeout 1: classes %s" % (be, jget(doc, "results.requests.by_class")))
    check(r.wall_s < scaled(4.0), "%s --timeout 1: the run took %.1f s" % (be, r.wall_s))


def bearer(be):
    srv = ScriptSrv("200")
    key = "sk-truth-%s-1234" % be
    r1 = llmload(["run", "--backend", be, "--url", srv.base_url, "--requests", "3",
                  "--concurrency", "1"], env={"OPENAI_API_KEY": key})
    r2 = llmload(["run", "--backend", be, "--url", srv.base_url, "--requests", "2",
                  "--concurrency", "1"])
    srv.stop()
    auth = [f["auth"] for _, _, f in srv.requests()]
    note("%s: Authorization as received: %s" % (be, auth))
    check(r1.rc == 0 and r2.rc == 0, "%s bearer: exits %d %d" % (be, r1.rc, r2.rc))
    # preflight + 3 with the key, preflight + 2 without
    check(auth == ["Bearer " + key] * 4 + ["-"] * 3, "%s: the server received %s" % (be, auth))
    check(key not in r1.out + r1.err, "%s: the key was printed" % be)


def not_openai(be):
    for extra in ([], ["--no-preflight"]):
        srv = ScriptSrv("html")
        r = llmload(["run", "--backend", be, "--url", srv.base_url, "--requests", "4",
                     "--concurrency", "2", "--retries", "0"] + extra)
        srv.stop()
        lines = r.err.strip().splitlines()
        note("%s %s: exit %d: %s" % (be, " ".join(extra) or "(preflight)", r.rc, lines))
        check(r.rc == 1, "%s %s: a text/html answer exits %d, want 1" % (be, extra, r.rc))
        check(len(lines) == 1 and "OpenAI" in lines[0] and srv.base_url in lines[0],
              "%s %s: want one line naming the endpoint: %s" % (be, extra, lines))


def blocking():
    lat, n = 200, 3
    res = {}
    for be, flag in (("evented", ["--blocking"]), ("evented", []), ("threaded", [])):
        r = llmload(["run", "--backend", be, "--requests", str(n), "--concurrency", str(n),
                     "--latency-ms", str(lat)] + flag)
        res[(be, bool(flag))] = (r, r.mock_summary())
        note("%s %s: wall %.3f s, mock %s" % (be, " ".join(flag), r.wall_s, r.mock_summary()))
    r, ms = res[("evented", True)]
    check(r.rc == 0 and ms is not None and ms["peak"] == 1,
          "evented --blocking: mockllm saw %s at once, want 1 (calls made inside the loop)" % ms)
    check(r.wall_s >= 0.95 * n * lat / 1000, "evented --blocking: wall %.3f s < %d x %d ms" %
          (r.wall_s, n, lat))
    for key in (("evented", False), ("threaded", False)):
        r, ms = res[key]
        check(ms is not None and ms["peak"] == n, "%s: mockllm peak %s, want %d" % (key[0], ms, n))
    r = llmload(["run", "--backend", "threaded", "--requests", "1", "--blocking"])
    check(r.rc == 2 and "--blocking" in r.err, "threaded --blocking: exit %d %s" % (r.rc, r.err))


def main():
    need_binaries(LLMLOAD, MOCKLLM, SCRIPTSRV)
    for be in BACKENDS:
        closed_loop(be)
        faults(be)
        retries(be)
        arrivals(be)
        timeout(be)
        bearer(be)
        not_openai(be)
    blocking()
    finish("test_truth_run")


if __name__ == "__main__":
    main()
