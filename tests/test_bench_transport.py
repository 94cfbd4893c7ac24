#!/usr/bin/python3
"""test_bench_transport.py BENCH_DIR [MOCKLLM] - the transport workload's report (bench/transport.py
through report.py, as bench.sh drives it), on a small results directory made here with known
right values:

    table     each cell's row: req/s over successes (succeeded / wall), p50/p99, client CPU per
              request (s per 1000 x 1000), the mock's CPU per request it served, connections,
              TLS full/resumed and requests per connection from llmload's JSON for the backends
              and from mockllm's counts for wrk and h2load; TLS columns "-" over cleartext
    savings   req/s shared pool / new per request for the same client, transport and round trip
    failures  a line per cell that went wrong: failed requests with their classes, a run that
              failed with its log's last line, a skipped peer, llmload's connection count
              against mockllm's; nothing else gets a line
    limits    the known libcurl 7.88 limits, with this run's full handshakes of HTTP/2 new
    preamble  names the peers that ran (wrk, h2load), not those that did not (httpx, libcurl)
    h2load    h2load2json: successes and failures from its summary, percentiles from its
              per-request log (non-2xx rows left out), CPU per success from time(1)
    metrics   parse_metrics takes the scrape's own connection (and, over TLS, its full
              handshake) off mockllm's counts; with MOCKLLM, against a live mockllm --tls and a
              cleartext one: exactly the 3 connections (and full handshakes) made here
Exit 0 when every case holds; each failure is printed.
"""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.request

BENCH = sys.argv[1]
MOCKLLM = sys.argv[2] if len(sys.argv) > 2 else ""
PY = "/usr/bin/python3"
sys.dont_write_bytecode = True
sys.path.insert(0, BENCH)
import transport  # noqa: E402

work = tempfile.mkdtemp()
errors = []


def expect(cond, what, got=""):
    if not cond:
        errors.append("%s%s" % (what, (": " + str(got)) if got != "" else ""))


def expect_eq(got, want, what):
    expect(got == want, what, "got %r, want %r" % (got, want))


# --- a results directory as bench.sh leaves it ----------------------------------------------------
out = os.path.join(work, "run")
for sub in ("conf", "raw", "logs"):
    os.makedirs(os.path.join(out, sub))
with open(os.path.join(out, "conf", "transport.env"), "w") as f:
    f.write("title=Transport\\ test\nmode=transport\nconcurrency=100\nduration=2\n"
            "protocols=h1\\ h1-tls\\ h2-tls\nreuse=pool\\ new\nrtts=0\\ 20\n")
with open(os.path.join(out, "machine.txt"), "w") as f:
    f.write("curl=7.88.1\ncores=2\n")
rows = []


def run_doc(ok, failed, wall, cpu1000, p50, p99, conns, full, resumed, rpc, tls_p50, classes=None):
    by = {"connect": 0, "timeout": 0, "5xx": 0}
    by.update(classes or {})
    return {"config": {"concurrency": 100}, "results": {
        "requests": {"submitted": ok + failed, "succeeded": ok, "failed": failed, "wall_s": wall,
                     "throughput_rps": (ok + failed) / wall, "retries": 0, "by_class": by,
                     "connects": conns, "tls_handshakes_full": full,
                     "tls_handshakes_resumed": resumed, "requests_per_connection": rpc},
        "latency": {"e2e": {"p50_ms": p50, "p99_ms": p99},
                    "tls": {"p50_ms": tls_p50} if tls_p50 is not None else {"count": 0}},
        "resources": {"cpu_user_s": 1.0, "cpu_sys_s": 0.0, "cpu_s_per_1000_requests": cpu1000}}}


def add(cell, client, rc="0", doc=None, mock=None, mock_cpu="", log=""):
    tag = "transport-%s-%s" % (client, cell.replace("/", "-"))
    jpath = ""
    if doc is not None:
        jpath = "raw/%s.json" % tag
        json.dump(doc, open(os.path.join(out, jpath), "w"))
    if mock is not None:
        json.dump(mock, open(os.path.join(out, "raw", tag + ".mock.json"), "w"))
    lpath = "logs/%s.log" % tag
    open(os.path.join(out, lpath), "w").write(log)
    rows.append(["transport", client, "100", "", "1000000", rc, jpath, lpath, mock_cpu, "", cell])


def mockc(conns, full, resumed, reqs):
    return {"connections": conns, "tls_full": full, "tls_resumed": resumed, "requests": reqs,
            "h2_connections": 0, "h2_streams": 0}


# 20 ms, HTTP/1.1 + TLS, shared pool: both backends and wrk, clean; evented's count of
# connections disagrees with mockllm's by one (the cross-check must say so)
add("h1-tls/pool/20", "threaded", doc=run_doc(4000, 0, 2.0, 0.05, 20.5, 30.5, 100, 10, 90, 40.0,
                                               41.5), mock=mockc(100, 10, 90, 4000), mock_cpu="0.8")
add("h1-tls/pool/20", "evented", doc=run_doc(6000, 0, 2.0, 0.025, 20.25, 22.5, 100, 100, 0, 60.0,
                                              40.5), mock=mockc(101, 100, 0, 6000), mock_cpu="0.6")
wrk = {"tool": "wrk", "config": {"concurrency": 100}, "results": {
    "requests": {"submitted": 9000, "succeeded": 9000, "failed": 0, "wall_s": 2.0,
                 "throughput_rps": 4500.0},
    "latency": {"e2e": {"p50_ms": 20.1, "p99_ms": 25.5}},
    "resources": {"cpu_user_s": 0.09, "cpu_sys_s": 0.0, "cpu_s_per_1000_requests": 0.01}}}
add("h1-tls/pool/20", "wrk", doc=wrk, mock=mockc(100, 100, 0, 9050), mock_cpu="0.181")
# 20 ms, HTTP/1.1 + TLS, new per request: 3 requests of threaded failed (connect), evented's run
# failed with no JSON, wrk was not installed
add("h1-tls/new/20", "threaded", doc=run_doc(1000, 3, 2.0, 1.5, 80.5, 140.5, 1003, 100, 903, 1.0,
                                              60.5, {"connect": 3}),
    mock=mockc(1003, 100, 903, 1003), mock_cpu="0.5")
add("h1-tls/new/20", "evented", rc="1", log="starting\nllmload run: the mock went away\n")
rows.append(["transport", "wrk", "100", "", "", "skipped", "", "", "", "", "h1-tls/new/20"])
# 20 ms, HTTP/2 + TLS, new per request: mostly full handshakes
add("h2-tls/new/20", "threaded", doc=run_doc(800, 0, 2.0, 2.0, 120.5, 200.5, 800, 760, 40, 1.0,
                                              70.5), mock=mockc(800, 760, 40, 800), mock_cpu="1")
add("h2-tls/new/20", "evented", doc=run_doc(900, 0, 2.0, 1.8, 110.5, 180.5, 900, 900, 0, 1.0,
                                             68.5), mock=mockc(900, 900, 0, 900), mock_cpu="1")
# 0 ms, HTTP/1.1 cleartext, shared pool: no TLS figures
add("h1/pool/0", "threaded", doc=run_doc(50000, 0, 2.0, 0.03, 1.5, 4.5, 100, 0, 0, 500.0, None),
    mock=mockc(100, 0, 0, 50000), mock_cpu="1.5")

# h2load's own output, made into the run-like JSON by report.py as bench.sh does
h2out = os.path.join(work, "h2load.out")
with open(h2out, "w") as f:
    f.write("finished in 2.00s, 495.00 req/s, 1.66MB/s\n"
            "requests: 1010 total, 1010 started, 1000 done, 990 succeeded, 10 failed, 10 errored, "
            "0 timeout\nstatus codes: 990 2xx, 0 3xx, 0 4xx, 10 5xx\n")
h2log = os.path.join(work, "h2load.reqs")
with open(h2log, "w") as f:
    for i in range(1, 991):  # 1 .. 990 ms, in an order that is not sorted
        f.write("1796069554897102\t200\t%d\n" % (((i * 7919) % 990 + 1) * 1000))
    for i in range(10):
        f.write("1796069554897102\t500\t%d\n" % 5_000_000)  # 5 s failures: never a percentile
h2time = os.path.join(work, "h2load.time")
open(h2time, "w").write("0.5 0.1 10872\n")
r = subprocess.run([PY, os.path.join(BENCH, "report.py"), "h2load2json", h2out, h2log, h2time,
                    "100", "1"], capture_output=True, text=True)
expect(r.returncode == 0, "report.py h2load2json", r.stderr)
h2 = json.loads(r.stdout or "{}")
req = h2.get("results", {}).get("requests", {})
expect_eq((req.get("succeeded"), req.get("failed"), req.get("submitted"), req.get("wall_s")),
          (990, 10, 1010, 2.0), "h2load: successes, failures (done - succeeded), started, wall")
e2e = h2.get("results", {}).get("latency", {}).get("e2e", {})
# nearest rank over the 990 successes: p50 the 495th (495 ms), p99 the 981st, max 990
expect_eq((e2e.get("p50_ms"), e2e.get("p99_ms"), e2e.get("max_ms")), (495.0, 981.0, 990.0),
          "h2load percentiles from its log, successes only")
expect_eq(round(h2["results"]["resources"]["cpu_s_per_1000_requests"], 6), round(0.6 / 990 * 1000, 6),
          "h2load CPU per success")
add("h2-tls/pool/0", "h2load", doc=h2, mock=mockc(1, 1, 0, 1010), mock_cpu="0.0101")

with open(os.path.join(out, "cells.tsv"), "w") as f:
    for row in rows:
        f.write("\t".join(row) + "\n")
r = subprocess.run([PY, os.path.join(BENCH, "report.py"), "report", out,
                    os.path.join(BENCH, "workloads"), "full"], capture_output=True, text=True)
expect(r.returncode == 0, "report.py report", r.stderr[-2000:])
md = open(os.path.join(out, "report.md")).read() if r.returncode == 0 else ""

# The preamble names the peers this run ran (wrk and h2load here), not httpx or libcurl.
peers = [ln for ln in md.splitlines() if "Peers:" in ln]
expect(len(peers) == 1 and "wrk at the same" in peers[0] and "h2load over one" in peers[0]
       and "httpx" not in peers[0] and "curl_multi" not in peers[0],
       "preamble: the peers that ran, and only them", peers)


def table_after(heading):
    """The first Markdown table after the line starting with `heading`: a list of dicts."""
    lines = md.splitlines()
    at = [i for i, ln in enumerate(lines) if ln.startswith(heading)]
    if not at:
        return []
    i = at[0] + 1
    while i < len(lines) and not lines[i].startswith("|"):
        i += 1
    head = [h.strip() for h in lines[i].strip("|").split("|")]
    out_rows = []
    for ln in lines[i + 2:]:
        if not ln.startswith("|"):
            break
        out_rows.append(dict(zip(head, (v.strip() for v in ln.strip("|").split("|")))))
    return out_rows


def row(table, transport_name, reuse, client):
    xs = [x for x in table if x.get("transport") == transport_name and x.get("reuse") == reuse and
          x.get("client") == client]
    return xs[0] if len(xs) == 1 else {}


FIGS = ("req/s", "p50 ms", "p99 ms", "CPU µs/req", "mock CPU µs/req", "connections opened",
        "TLS full", "TLS resumed", "req/conn", "TLS p50 ms", "failed")


def expect_row(table, key, want):
    got = row(table, *key)
    expect_eq(tuple(got.get(k) for k in FIGS), want, "row %s" % (key,))


t20 = table_after("**Round trip 20 ms**")
t0 = table_after("**Round trip 0 ms**")
# (req/s = succeeded / wall; CPU µs = s per 1000 x 1000; mock CPU µs = mock s x 1e6 / requests)
expect_row(t20, ("HTTP/1.1 + TLS", "shared pool", "threaded"),
           ("2,000", "20.5", "30.5", "50", "200", "100", "10", "90", "40", "41.5", "0"))
expect_row(t20, ("HTTP/1.1 + TLS", "shared pool", "evented"),
           ("3,000", "20.2", "22.5", "25", "100", "100", "100", "0", "60", "40.5", "0"))
# wrk: its connections and handshakes are mockllm's; requests per connection 9,050 / 100
expect_row(t20, ("HTTP/1.1 + TLS", "shared pool", "wrk"),
           ("4,500", "20.1", "25.5", "10", "20", "100", "100", "0", "90.5", "-", "0"))
expect_row(t20, ("HTTP/1.1 + TLS", "new per request", "threaded"),
           ("500", "80.5", "140.5", "1,500", "499", "1,003", "100", "903", "1", "60.5", "3"))
expect_eq(row(t20, "HTTP/1.1 + TLS", "new per request", "wrk").get("req/s"), "skipped",
          "a skipped peer's row")
expect_row(t20, ("HTTP/2 + TLS", "new per request", "evented"),
           ("450", "110.5", "180.5", "1,800", "1,111", "900", "900", "0", "1", "68.5", "0"))
expect_row(t0, ("HTTP/1.1", "shared pool", "threaded"),
           ("25,000", "1.5", "4.5", "30", "30", "100", "-", "-", "500", "-", "0"))
expect_row(t0, ("HTTP/2 + TLS", "shared pool", "h2load"),
           ("495", "495.0", "981.0", "606", "10", "1", "1", "0", "1,010", "-", "10"))
expect_eq(len(t20) + len(t0), 10, "one row per cell (10 cells)")
expect("**Round trip 20 ms**" in md and md.index("**Round trip 0 ms**") < md.index("**Round trip 20 ms**"),
       "round trips in order, 0 then 20")

sv = table_after("**What the shared pool saves**")
got = [(x.get("round trip"), x.get("transport"), x.get("client"), x.get("pool / new")) for x in sv]
# threaded HTTP/1.1 + TLS: 2,000 against 500 req/s; evented's new cell failed: no ratio
expect_eq(got, [("20 ms", "HTTP/1.1 + TLS", "threaded", "4.00")], "savings: only complete pairs")

fails = []
for ln in md.split("**What failed, cell by cell**")[-1].splitlines()[2:]:
    if not ln.startswith("- "):
        break
    fails.append(ln)
expect_eq(sorted(fails), sorted([
    "- 20 ms, HTTP/1.1 + TLS, shared pool, evented: llmload counted 100 connections (TLS 100 "
    "full, 0 resumed), mockllm 101 (100, 0)",
    "- 20 ms, HTTP/1.1 + TLS, new per request, threaded: 3 of 1003 requests failed (connect 3)",
    "- 20 ms, HTTP/1.1 + TLS, new per request, evented: the run failed (exit 1): llmload run: "
    "the mock went away",
    "- 20 ms, HTTP/1.1 + TLS, new per request, wrk: skipped (wrk not installed)",
    "- 0 ms, HTTP/2 + TLS, shared pool, h2load: 10 of 1010 requests failed"]),
    "a line per cell that went wrong, and none for the clean ones")
expect("threaded 20 ms 760 of 800 full, evented 20 ms 900 of 900 full; HTTP/1.1 + TLS: threaded "
       "20 ms 100 of 1003 full" in md, "the HTTP/2 no-reuse limit with this run's handshakes")
expect("libcurl 7.88.1 in this run" in md and "curl issue 10634" in md, "the h2c limit stated")
summ = json.load(open(os.path.join(out, "summary.json"))) if r.returncode == 0 else {}
ws = summ.get("workloads", {}).get("transport", {})
expect_eq(ws.get("h1-tls/pool/20/threaded", {}).get("rps"), 2000.0, "summary.json: a cell's req/s")
expect_eq(ws.get("h1-tls/pool/20/wrk", {}).get("req_per_conn"), 90.5,
          "summary.json: wrk's requests per connection (mockllm's)")

# --- parse_metrics --------------------------------------------------------------------------------
TEXT = """# HELP mockllm_connections_total x
mockllm_requests_total{model="gpt-mock",status="200"} 40
mockllm_requests_total{model="gpt-mock",status="429"} 2
mockllm_connections_open 1
mockllm_connections_total 5
mockllm_tls_handshakes_total{kind="full"} 3
mockllm_tls_handshakes_total{kind="resumed"} 2
mockllm_h2_connections_total 1
mockllm_h2_streams_total 30
"""
expect_eq(transport.parse_metrics(TEXT, True),
          {"connections": 4, "tls_full": 2, "tls_resumed": 2, "requests": 42, "h2_connections": 1,
           "h2_streams": 30}, "parse_metrics over TLS: the scrape's connection and handshake off")
expect_eq(transport.parse_metrics(TEXT, False)["tls_full"], 3, "parse_metrics in cleartext")
expect(transport.parse_metrics("x 1\n", True) is None, "not mockllm's metrics: None")


# --- against a live mockllm -------------------------------------------------------------------------
def live(tls):
    args = [MOCKLLM, "--port", "0", "--listen", "127.0.0.1"] + (["--tls"] if tls else [])
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = p.stdout.readline().split()
        port, ca = ready[2], (ready[4] if tls else "-")
        base = "%s://127.0.0.1:%s" % ("https" if tls else "http", port)
        # one scrape in the mock's life, after the clients, as bench.sh's mock_figures
        figs = lambda: json.loads(transport.mock_figures(base + "/metrics", ca))  # noqa: E731
        body = b'{"model":"gpt-mock","messages":[{"role":"user","content":"Hi"}]}'
        for _ in range(3):  # three connections, each a fresh context: three full handshakes
            ctx = ssl.create_default_context(cafile=ca) if tls else None
            rq = urllib.request.Request(base + "/v1/chat/completions", data=body,
                                        headers={"Content-Type": "application/json"})
            urllib.request.urlopen(rq, timeout=10, context=ctx).read()
        expect_eq(figs(), {"connections": 3, "tls_full": 3 if tls else 0, "tls_resumed": 0,
                           "requests": 3, "h2_connections": 0, "h2_streams": 0},
                  "live mockllm tls=%s: exactly the 3 connections made" % tls)
    finally:
        p.terminate()
        p.wait(timeout=10)


if MOCKLLM:
    live(True)
    live(False)

shutil.rmtree(work, ignore_errors=True)
for e in errors:
    print("FAIL:", e)
print("test_bench_transport: %s" % ("ok" if not errors else "%d failed" % len(errors)))
sys.exit(1 if errors else 0)
