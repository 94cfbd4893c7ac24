#!/usr/bin/python3
"""test_bench_ceiling.py BENCH_DIR DATA_DIR - the steady-state ceiling's step logic and its naming
of what stopped a backend (bench/ceiling.py, through report.py as bench.sh uses it), judged on
step results recorded on this machine (DATA_DIR = tests/data/ceiling):
  {threaded,evented}-t{200,500,1000}.json  `bench/bench.sh --quick --only ceiling`: streams of
                                           L = 1.95 s, every step held
  {threaded,evented}-emfile.json           tests/test_ceiling_cli.sh under `ulimit -n 128`: 190
                                           in flight wanted (L = 0.95 s), socket() EMFILE
  threaded-pids.json                       tests/test_ceiling_threads.sh in a cgroup of pids.max
                                           40: the workers could not start (EAGAIN)
  {threaded,evented}-h2-t300{,.server}.json  `bench/bench.sh --quick --only ceiling-h2`: over TLS
                                           and HTTP/2, evented under --max-connections 4 (4
                                           opened, 4 open at most), threaded a connection per
                                           worker; beside each, the mock's /metrics figures
and on variants of them where one figure is changed to stand for a wall that a small run cannot
meet (CPU saturation, the mock's descriptors, stretched answers, a step killed by its time limit,
more connections open at once than the cap).

    held     every recorded step at 200..1,000 holds; the EMFILE and pids steps do not; the
             HTTP/2 steps hold, evented within its cap, and not past it, nor when the mock's
             own peak in flight falls short of the target
    plan     next_target: up the targets while steps hold, then bisect between the highest held
             and the lowest not held, at most `bisect` steps; a first target that fails bisects
             from 0; a midpoint that rounds onto a target already tried ends it
    naming   descriptors (EMFILE, the client at RLIMIT_NOFILE 128), threads (EAGAIN, cgroup
             pids.max 40), CPU (the evented client's one core; the mock's; the machine's for a
             threaded client that can use both cores), the mock's descriptors, the time limit,
             stretched answers with no limit met; evidence of a limit comes before CPU
    bench    a results directory as bench.sh leaves it: `report.py ceilnext` walks the ramp, and
             `report.py report` names each backend's ceiling and wall in report.md, the verdict
             and summary.json; over HTTP/2 each step's connections (opened, the most open at
             once, the mock's) and the cap it ran under
Exit 0 when every case holds; each failure is printed.
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

BENCH, DATA = sys.argv[1], sys.argv[2]
PY = "/usr/bin/python3"
sys.dont_write_bytecode = True
sys.path.insert(0, BENCH)
import ceiling  # noqa: E402
import report  # noqa: E402

QUICK = {"mode": "ceiling", "ttft_ms": "0", "itl_ms": "50", "tokens": "40", "chunk_tokens": "1",
         "targets": "200 500 1000", "settle_s": "1", "steady_s": "3", "min_share": "0.95",
         "max_stretch": "1.25", "bisect": "1", "listen_addrs": "4"}
SMALL = dict(QUICK, tokens="20", targets="190")  # the EMFILE runs: L = 0.95 s, 190 wanted
H2 = dict(QUICK, ttft_ms="1000", itl_ms="100", tokens="4", targets="100 300", listen_addrs="1",
          mock_args="--tls --h2-max-streams 128", run_args="--http 2",
          run_args_evented="--max-connections 4")  # ceiling-h2's --quick: L = 1.3 s
work = tempfile.mkdtemp()
errors = []


def expect(cond, what, got=""):
    if not cond:
        errors.append("%s%s" % (what, (": " + str(got)) if got != "" else ""))


def load(name):
    return json.load(open(os.path.join(DATA, name)))


def cell(doc_or_name, target, conf, rc="0", client="evented", server=None):
    """A step as report.py reads it from cells.tsv, its JSON written to the work dir (and the
    mock's figures beside it, raw/NAME.server.json, when given)."""
    doc = load(doc_or_name) if isinstance(doc_or_name, str) else doc_or_name
    jpath = ""
    if doc is not None:
        os.makedirs(os.path.join(work, "raw"), exist_ok=True)
        jpath = "raw/c%d.json" % len(os.listdir(os.path.join(work, "raw")))
        json.dump(doc, open(os.path.join(work, jpath), "w"))
        if server is not None:
            json.dump(server, open(os.path.join(work, jpath[:-5] + ".server.json"), "w"))
    row = ["ceiling", client, str(target), "100", "1000", rc, jpath, "", ""]
    return report.figures(row, conf, work)


# --- held ---------------------------------------------------------------------------------------
for b in ("threaded", "evented"):
    for t in (200, 500, 1000):
        c = cell("%s-t%d.json" % (b, t), t, QUICK, client=b)
        ok, why = ceiling.held(c, QUICK)
        expect(ok and why == [], "%s t%d holds" % (b, t), why)
        expect(0.95 <= c["share"] <= 1.05, "%s t%d share" % (b, t), c["share"])
        expect(ceiling.stop(c, QUICK) == "", "%s t%d: no stop named" % (b, t))
    c = cell("%s-emfile.json" % b, 190, SMALL, client=b)
    ok, why = ceiling.held(c, SMALL)
    expect(not ok and any("requests failed" in w and "resource" in w for w in why),
           "%s EMFILE step does not hold, for its failures" % b, why)
c = cell("threaded-pids.json", 95, SMALL, rc="1", client="threaded")
ok, why = ceiling.held(c, SMALL)
expect(not ok and "the run failed (exit 1)" in why, "pids step does not hold", why)
# over HTTP/2: the connections each step held, the client's counts beside the mock's
for b, conns in (("evented", 4), ("threaded", 314)):
    c = cell("%s-h2-t300.json" % b, 300, H2, client=b, server=load("%s-h2-t300.server.json" % b))
    ok, why = ceiling.held(c, H2)
    expect(ok and why == [], "%s h2 t300 holds" % b, why)
    expect(c["conns_opened"] == conns and c["conns_peak"] == conns and
           c["mk_conns_peak"] == conns, "%s h2 t300 connections" % b,
           (c["conns_opened"], c["conns_peak"], c["mk_conns_peak"]))
    expect(c["cap"] == (4 if b == "evented" else None), "%s h2 t300 cap" % b, c["cap"])
    expect(c["mk_in_flight_peak"] and c["mk_in_flight_peak"] >= 0.95 * 300,
           "%s h2 t300: the mock's peak in flight" % b, c["mk_in_flight_peak"])
# the threaded backend's wall over TLS: a new connection wants its socket and the CA file
d = load("threaded-h2-t300.json")
d["results"]["requests"]["failed"] = d["results"]["requests"]["by_class"]["resource"] = 40
d["results"]["window"]["started"]["requests"]["failed"] = 40
d["results"]["window"]["started"]["requests"]["by_class"]["resource"] = 40
d["results"]["limits"].update(met="descriptors", failed=dict(d["results"]["limits"]["failed"],
                                                             descriptors=40))
d["results"]["window"]["client"].update(fds_peak=19_995, rlimit_nofile={"soft": 20_000})
name = ceiling.stop(cell(d, 300, H2, client="threaded"), H2)
expect(name.startswith("descriptors: 40 requests failed on socket() or opening the CA file with "
                       "EMFILE; the client held 19,995 of RLIMIT_NOFILE 20,000"),
       "descriptors over TLS named", name)
d = load("evented-h2-t300.json")
d["results"]["requests"]["connections_open_peak"] = 5  # one more than the cap of 4
c = cell(d, 300, H2, server=load("evented-h2-t300.server.json"))
ok, why = ceiling.held(c, H2)
expect(not ok and why == ["5 connections open at once, over the cap of 4"], "over the cap", why)
sv = dict(load("evented-h2-t300.server.json"), in_flight_peak=270)  # 30 waited in the client
ok, why = ceiling.held(cell("evented-h2-t300.json", 300, H2, server=sv), H2)
expect(not ok and why == ["the mock's peak in flight 270 < 0.95 of 300 (the rest never reached "
                          "it)"], "the server's own count of requests in flight", why)

# --- plan ---------------------------------------------------------------------------------------
PLAN = dict(QUICK, targets="1000 2000 4000 8000", bisect="2")
T, F = True, False
for steps, want in [
        ([], 1000),
        ([(1000, T)], 2000),
        ([(1000, T), (2000, T), (4000, T), (8000, T)], None),
        ([(1000, T), (2000, T), (4000, F)], 3000),
        ([(1000, T), (2000, T), (4000, F), (3000, T)], 3500),
        ([(1000, T), (2000, T), (4000, F), (3000, T), (3500, F)], None),  # 2 bisect steps done
        ([(1000, T), (2000, T), (4000, F), (3000, F)], 2500),  # between 2000 and 3000
        ([(1000, F)], 500),  # the first target failed: from 0
        ([(1000, T), (2000, T), (4000, T), (8000, F)], 6000)]:
    got = ceiling.next_target(steps, PLAN)
    expect(got == want, "next_target %s" % steps, "%s, want %s" % (got, want))
expect(ceiling.next_target([(1000, T), (2000, F)], dict(PLAN, bisect="0")) is None,
       "bisect 0 stops at the first failure")
expect(ceiling.next_target([(100, T), (104, F)], dict(PLAN, targets="100 104")) is None,
       "no bisect step within 5% of the failing target")
expect(ceiling.next_target([(1000, T), (1100, F)], dict(PLAN, targets="1000 1100", bisect="3"))
       is None, "a midpoint that rounds onto a target already tried ends the ramp")
expect(ceiling.next_target([], dict(PLAN, targets="")) is None, "no targets: done")

# --- naming -------------------------------------------------------------------------------------
for b in ("threaded", "evented"):
    d = load("%s-emfile.json" % b)
    c = cell(d, 190, SMALL, client=b)
    name = ceiling.stop(c, SMALL)
    expect(name.startswith("descriptors: %d requests failed on socket() with EMFILE;" %
                           d["results"]["limits"]["failed"]["descriptors"]) and
           "RLIMIT_NOFILE 128" in name, "%s EMFILE named" % b, name)
    # the same step with its CPU saturated: the limit is the evidence, named first
    v = copy.deepcopy(d)
    v["results"]["window"]["client"]["cpu_cores"] = 1.9
    name = ceiling.stop(cell(v, 190, SMALL, client=b), SMALL)
    expect(name.startswith("descriptors: "), "%s: a limit met is named before CPU" % b, name)
d = load("threaded-pids.json")
tw = d["results"]["limits"]["thread_wall"]
name = ceiling.stop(cell(d, 95, SMALL, rc="1", client="threaded"), SMALL)
expect(name == "threads: pthread_create EAGAIN after %d of 100 threads, cgroup pids.max 40 "
       "reached (pids.current 40)" % tw["started"], "threads named", name)


def variant(name, edit, target=1000, client="evented", rc="0"):
    d = load(name)
    edit(d["results"])
    return cell(d, target, QUICK, rc=rc, client=client)


def starved(cl, mk):
    """In flight 20% short of the target, the client and the mock at the given CPU (cores)."""
    def edit(r):
        w = r["window"]
        w["in_flight"]["mean"] *= 0.8
        w["client"]["cpu_cores"], w["server"]["cpu_cores"] = cl, mk
    return edit


c = variant("evented-t1000.json", starved(0.97, 0.5))
name = ceiling.stop(c, QUICK)
expect(name.startswith("CPU, the client's (client 0.97 of 1 core, mock 0.50 of 1; 1.47 of the "
                       "machine's 2)") and "in flight of 1000" in name, "client CPU named", name)
c = variant("evented-t1000.json", starved(0.4, 0.95))
name = ceiling.stop(c, QUICK)
expect(name.startswith("CPU, the mock's"), "mock CPU named", name)
c = variant("threaded-t1000.json", starved(1.2, 0.7), client="threaded")
name = ceiling.stop(c, QUICK)
expect(name.startswith("CPU, the machine's, client and mock together (client 1.20 of 2 cores"),
       "machine CPU named for a threaded client", name)
c = variant("evented-t1000.json", starved(0.3, 0.3))
name = ceiling.stop(c, QUICK)
expect(name.startswith("not held with no limit met and no CPU saturated"),
       "nothing saturated: said so, not guessed", name)


def mock_emfile(r):
    r["requests"]["failed"] = r["requests"]["by_class"]["connect"] = 50
    w = r["window"]
    w["started"]["requests"]["failed"] = w["started"]["requests"]["by_class"]["connect"] = 50
    w["server"]["fds_peak"], w["server"]["rlimit_nofile"]["soft"] = 19_990, 20_000


name = ceiling.stop(variant("evented-t1000.json", mock_emfile), QUICK)
expect(name.startswith("descriptors, the mock's: 50 connections refused or reset while the mock "
                       "held 19,990 of its RLIMIT_NOFILE 20,000"), "the mock's descriptors", name)


def stretched(r):
    r["window"]["started"]["latency"]["e2e"]["p99_ms"] = 3000.0


c = variant("evented-t1000.json", stretched)
ok, why = ceiling.held(c, QUICK)
expect(not ok and why == ["answers stretched: p99 3.00 s > 1.25 x 1.95 s"], "stretched", why)
c = cell(None, 1000, QUICK, rc="124")
expect(ceiling.stop(c, QUICK).startswith("the step's time limit"), "timeout named",
       ceiling.stop(c, QUICK))

# --- bench: report.py as bench.sh drives it -----------------------------------------------------
out = os.path.join(work, "bench")
for sub in ("conf", "raw", "logs"):
    os.makedirs(os.path.join(out, sub))
conf = dict(QUICK, targets="200 500 1000 2000", title="ceiling test")
with open(os.path.join(out, "conf", "ceiling.env"), "w") as f:
    for k, v in conf.items():
        f.write("%s=%s\n" % (k, v.replace(" ", "\\ ")))
# which recorded step stands for each target the ramp asks for
STEPS = {"threaded": {200: ("threaded-t200.json", 0), 500: ("threaded-t500.json", 0),
                      1000: ("threaded-t1000.json", 0), 2000: ("threaded-emfile.json", 0),
                      1500: ("threaded-pids.json", 1)},
         "evented": {200: ("evented-t200.json", 0), 500: ("evented-t500.json", 0),
                     1000: ("evented-t1000.json", 0), 2000: ("evented-emfile.json", 0),
                     1500: ("evented-t1000.json", 0)}}
asked = {}
for b in ("threaded", "evented"):
    asked[b] = []
    for _ in range(8):
        r = subprocess.run([PY, os.path.join(BENCH, "report.py"), "ceilnext", out, "ceiling", b],
                           capture_output=True, text=True)
        t = r.stdout.strip()
        if r.returncode != 0 or t == "done" or int(t) not in STEPS[b]:
            expect(r.returncode == 0 and t == "done", "%s ceilnext" % b, r.stdout + r.stderr)
            break
        t = int(t)
        asked[b].append(t)
        src, rc = STEPS[b][t]
        shutil.copy(os.path.join(DATA, src), os.path.join(out, "raw", "%s-t%d.json" % (b, t)))
        open(os.path.join(out, "logs", "%s-t%d.log" % (b, t)), "w").close()
        with open(os.path.join(out, "cells.tsv"), "a") as f:
            f.write("\t".join(["ceiling", b, str(t), "100", "1000", str(rc),
                               "raw/%s-t%d.json" % (b, t), "logs/%s-t%d.log" % (b, t), "", ""])
                    + "\n")
    expect(asked[b] == [200, 500, 1000, 2000, 1500], "%s ramp" % b, asked[b])
r = subprocess.run([PY, os.path.join(BENCH, "report.py"), "report", out,
                    os.path.join(BENCH, "workloads"), "quick"], capture_output=True, text=True)
expect(r.returncode == 0, "report.py report", r.stderr)
md = open(os.path.join(out, "report.md")).read() if r.returncode == 0 else ""
summ = json.load(open(os.path.join(out, "summary.json"))) if r.returncode == 0 else {}
ce = summ.get("workloads", {}).get("ceiling", {})
expect("- **threaded**: holds 1,000 in flight (" in md and
       "stopped at 1,500 by threads: pthread_create EAGAIN after %d of 100 threads, cgroup "
       "pids.max 40 reached" % tw["started"] in md, "report.md: threaded's ceiling and wall", md)
expect("- **evented**: holds 1,000 in flight (" in md and "stopped at 1,500 by not held" in md,
       "report.md: evented's ceiling and what it could not name", md)
expect(ce.get("threaded_ceiling") == 1000 and ce.get("threaded_stop", "").startswith(
    "at 1,500: threads"), "summary.json threaded", ce)
expect(ce.get("evented_ceiling") == 1000, "summary.json evented", ce)
expect("threaded holds 1,000 streams in flight in steady state, then at 1,500: threads" in md,
       "the verdict's walls line", md[:2000])

# --- bench, over HTTP/2: the report names each step's connections, and the verdict the workload -
out = os.path.join(work, "bench-h2")
for sub in ("conf", "raw", "logs"):
    os.makedirs(os.path.join(out, sub))
with open(os.path.join(out, "conf", "ceiling-h2.env"), "w") as f:
    for k, v in dict(H2, title="ceiling h2 test").items():
        f.write("%s=%s\n" % (k, v.replace(" ", "\\ ")))
for b in ("threaded", "evented"):
    for ext in (".json", ".server.json"):
        shutil.copy(os.path.join(DATA, "%s-h2-t300%s" % (b, ext)),
                    os.path.join(out, "raw", "%s-t300%s" % (b, ext)))
    open(os.path.join(out, "logs", "%s-t300.log" % b), "w").close()
    with open(os.path.join(out, "cells.tsv"), "a") as f:
        f.write("\t".join(["ceiling-h2", b, "300", "230", "1000", "0", "raw/%s-t300.json" % b,
                           "logs/%s-t300.log" % b, "", ""]) + "\n")
r = subprocess.run([PY, os.path.join(BENCH, "report.py"), "report", out,
                    os.path.join(BENCH, "workloads"), "quick"], capture_output=True, text=True)
expect(r.returncode == 0, "report.py report (h2)", r.stderr)
md = open(os.path.join(out, "report.md")).read() if r.returncode == 0 else ""
expect("over 4 connections open at most (4 opened; the mock saw at most 4 open at once)" in md,
       "report.md: evented's connections under the cap", md)
expect("| 4 / 4 / 4 (cap 4) |" in md and "| 314 / 314 / 314 |" in md,
       "report.md: the connections column", md)
expect("evented `--max-connections 4`" in md, "report.md: the cap the evented steps ran with", md)
expect("evented holds 300 streams in flight in steady state (ceiling-h2)" in md,
       "the verdict's walls line names the workload", md[:2000])

shutil.rmtree(work, ignore_errors=True)
for e in errors:
    print("FAIL: " + e)
print("test_bench_ceiling: %s" % ("OK" if not errors else "%d failure(s)" % len(errors)))
sys.exit(1 if errors else 0)
