#!/usr/bin/python3
"""report.py - bench.sh's reader: raw JSON of every run -> cells.csv, summary.json, report.md,
gnuplot charts, tables on the terminal. Python 3 standard library only.

    report.py report OUTDIR WORKLOADS_DIR LEVEL   the whole report of one bench.sh run
    report.py get FILE KEY.PATH...                print figures from a JSON (0 when absent)
    report.py wrk2json WRK_OUT TIME_OUT CONNS     wrk's text + /usr/bin/time -> run-like JSON
    report.py gatereps OUTDIR LEVEL               the gate's rounds so far, as bench/gate.py reads them
    report.py ceilnext OUTDIR WORKLOAD BACKEND    the ceiling ramp's next target, or "done"
    report.py h2load2json OUT LOG TIME CONC CONNS h2load's summary, --log-file and time -> JSON
    report.py mockfigs METRICS_URL CAFILE|-       a running mockllm's connections, handshakes

A figure that was not measured (absent, or null in the run's JSON) is None here: empty in
cells.csv and "-" in report.md, never 0.

summary.json holds every cell's figures plus the gate's rounds ("gate_reps": the ratios of
bench/gate.py's METRICS, one object per round) and "gate", their geometric means.
"""
import csv
import json
import math
import os
import re
import shlex
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ceiling  # noqa: E402  (bench/ceiling.py: the steady-state ceiling's steps)
import charts  # noqa: E402  (bench/charts.py)
import gate  # noqa: E402  (bench/gate.py: the gated metrics' names)
import transport  # noqa: E402  (bench/transport.py: the transport workload)

BACKENDS = ("threaded", "evented")
PEERS = ("wrk", "libcurl", "httpx")
CLIENTS = BACKENDS + PEERS


def dig(doc, path, default=0.0):
    for k in path.split("."):
        if not isinstance(doc, dict) or k not in doc or doc[k] is None:
            return default
        doc = doc[k]
    return doc


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# --- wrk ---------------------------------------------------------------------------------------
def wrk_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        return 0.0
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]


def wrk2json(wrk_out, time_out, conns):
    text = open(wrk_out, errors="replace").read()
    pct, n, wall, errors, non2xx = {}, 0, 0.0, 0, 0
    for m in re.finditer(r"^\s+([\d.]+)%\s+(\S+)", text, re.M):
        pct[float(m.group(1))] = wrk_ms(m.group(2))
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", text)
    if m:
        n = int(m.group(1))
        wall = float(m.group(2)) * {"ms": 1e-3, "s": 1.0, "m": 60.0}.get(m.group(3), 1.0)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        non2xx = int(m.group(1))
    m = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", text)
    lat_max = wrk_ms(m.group(1)) if m else 0.0
    user = sys_ = 0.0
    maxrss = 0
    try:
        user, sys_, maxrss = open(time_out).read().split()[-3:]
        user, sys_, maxrss = float(user), float(sys_), int(maxrss)
    except (OSError, ValueError):
        pass
    cpu = user + sys_
    ok = n - non2xx  # throughput and CPU per request count successes only, as llmload's do
    doc = {
        "tool": "wrk", "config": {"backend": "wrk", "mode": "closed", "concurrency": conns},
        "results": {
            "requests": {"wall_s": wall, "throughput_rps": ok / wall if wall else 0.0,
                         "submitted": n, "completed": n, "succeeded": ok,
                         "failed": non2xx + errors, "retries": 0},
            # wrk prints p50/75/90/99 (no p99.9) and no context switches: those stay absent
            "latency": {"e2e": {"p50_ms": pct.get(50.0), "p90_ms": pct.get(90.0),
                                "p99_ms": pct.get(99.0), "max_ms": lat_max if n else None}},
            "resources": {"cpu_user_s": user, "cpu_sys_s": sys_,
                          "cpu_s_per_1000_requests": cpu * 1000.0 / ok if ok else None,
                          "rss_peak_kb": maxrss, "threads_peak": 2 if conns > 1 else 1},
        },
    }
    print(json.dumps(doc, indent=1))


# --- one cell ----------------------------------------------------------------------------------
def read_env(path):
    conf = {}
    for line in open(path):
        k, _, v = line.rstrip("\n").partition("=")
        if k:
            conf[k] = " ".join(shlex.split(v)) if v else ""
    return conf


def figures(row, conf, outdir):
    """A cell's row of cells.csv: every figure the tables and the gate use."""
    wl, client, conc, rate, requests, rc, jpath, log = row[:8]
    doc = load_json(os.path.join(outdir, jpath)) if jpath else None
    c = {"workload": wl, "client": client, "concurrency": int(conc) if conc else 0,
         "rate": float(rate) if rate else 0.0, "rc": rc, "json": jpath, "log": log,
         "mock_cpu_s": float(row[8]) if len(row) > 8 and row[8] else 0.0,
         "rep": row[9] if len(row) > 9 else "", "cell": row[10] if len(row) > 10 else ""}
    if rc == "skipped":
        c["status"] = "skipped"
        return c
    c["status"] = "ok" if rc == "0" and doc is not None else ("timeout" if rc == "124" else "failed")
    if conf.get("mode") == "ceiling":
        c["target"] = c["concurrency"]  # the column holds a step's target
    if doc is None:
        return c
    r = doc.get("results", {})
    if not c["concurrency"]:
        c["concurrency"] = int(dig(doc, "config.concurrency"))
    req = r.get("requests", {})
    c.update({
        "requests": int(req.get("submitted", 0)), "succeeded": int(req.get("succeeded", 0)),
        "failed": int(req.get("failed", 0)), "retries": int(req.get("retries", 0)),
        "wall_s": req.get("wall_s", 0.0), "rps": req.get("throughput_rps", 0.0),
    })
    if c["wall_s"] and "succeeded" in req:  # successes per second, also from older files
        c["rps"] = c["succeeded"] / c["wall_s"]
    for cls in ("429", "5xx", "4xx", "timeout", "connect", "protocol", "resource", "cancelled"):
        c["err_" + cls] = int(dig(req, "by_class." + cls))
    for h in ("e2e", "corrected", "last_attempt", "ttft", "tpot", "itl", "chunk_gap"):
        for p in ("p50", "p90", "p99", "p999", "max"):
            c["%s_%s_ms" % (h, p)] = dig(r, "latency.%s.%s_ms" % (h, p), None)
    # completion_tokens: the server's usage, or counted from chunks (tokens_source); null
    # when nothing counted them: then tokens/s is not known either, never 0
    toks = req.get("completion_tokens")
    c["tokens_per_s"] = toks / c["wall_s"] if toks is not None and c["wall_s"] else None
    res = r.get("resources", {})
    vol, invol = res.get("ctx_switches_voluntary"), res.get("ctx_switches_involuntary")
    c.update({
        "cpu_s": res.get("cpu_user_s", 0.0) + res.get("cpu_sys_s", 0.0),
        "cpu_per_1000": res.get("cpu_s_per_1000_requests"),
        "rss_peak_kb": res.get("rss_peak_kb"), "rss_per_inflight_kb":
        res.get("rss_per_in_flight_kb"), "threads_peak": res.get("threads_peak"),
        # both kinds or nothing: a peer that counts only one has not measured the sum
        "ctx_switches": vol + invol if vol is not None and invol is not None else None,
        "loop_lag_p99_ms": dig(r, "backend.loop_lag.p99_ms", None),
        # the run's own verdict first (results.limits, per request), else the backend's flag
        "limit_hit": dig(r, "limits.met", "") or dig(r, "backend.limit_hit", "") or "",
        "limit_line": dig(r, "limits.line", "") or "",
        "goodput_share": dig(r, "goodput.share", None),
        "l_measured": dig(r, "littles_law.l_measured", None),
        "littles_flagged": bool(dig(r, "littles_law.flagged", False)),
        "slip_max_ms": dig(r, "schedule.slip_max_ms", None),
    })
    ideal_ms = float(conf.get("ideal_ms") or 0)
    c["efficiency"] = None
    if conf.get("mode") == "ceiling":  # a step of the steady-state ramp: its window's figures
        ceiling.fields(c, doc, load_json(os.path.join(outdir, jpath[:-len(".json")] +
                                                      ".server.json")))
        c["efficiency"] = c.get("share")
        return c
    if c["rate"] > 0 and c["rate"] and c["requests"]:
        c["efficiency"] = c["rps"] / c["rate"]  # achieved / offered
    elif ideal_ms > 0 and c["wall_s"] > 0 and c["concurrency"] and client in BACKENDS + ("libcurl", "httpx"):
        # the ideal wall of the requests that SUCCEEDED: fast failures are not efficiency
        ideal = math.ceil(c["succeeded"] / c["concurrency"]) * ideal_ms / 1000.0
        c["efficiency"] = ideal / c["wall_s"]
    elif ideal_ms > 0 and c["concurrency"]:  # wrk runs for a time: achieved / ideal rate
        c["efficiency"] = c["rps"] * ideal_ms / 1000.0 / c["concurrency"]
    return c


# --- burst turnaround: what stopped each backend ------------------------------------------------
def read_log(c, outdir):
    try:
        return open(os.path.join(outdir, c["log"]), errors="replace").read() if c.get("log") else ""
    except OSError:
        return ""


def stop_reason(c, outdir, min_eff):
    text = ""
    if c.get("log"):
        try:
            text = open(os.path.join(outdir, c["log"]), errors="replace").read()
        except OSError:
            pass
    lim = c.get("limit_hit") or ""
    if c["status"] == "timeout":
        return "time limit of the cell (timeout)"
    # llmload's own line says which limit and what the machine allowed:
    # "local limit met: descriptors (412 requests failed; RLIMIT_NOFILE soft 1024 hard 20000)"
    # on stdout, or "local limit met: threads (cannot start ...)" on stderr when create failed.
    m = re.search(r"local limit met: (\w+) \((.*)\)", c.get("limit_line") or text)
    if m:
        return "%s (%s)" % (m.group(1), m.group(2))
    # The run header names the backend ("pthread pool"): match error lines only.
    checks = [
        ("threads", r"cannot start the threaded backend.*|pthread_create.*"),
        ("descriptors", r"Too many open files|EMFILE"),
        ("ports", r"Cannot assign requested address|EADDRNOTAVAIL"),
        ("memory", r"out of memory|Cannot allocate memory"),
    ]
    for name, rx in checks:
        m = re.search(rx, text)
        if lim == name or m:
            return "%s (%s)" % (name, m.group(0).strip() if m else "limit_hit in the run's JSON")
    if c.get("err_connect"):
        return ("%d connect errors: descriptors, ports or the server's backlog (see %s)"
                % (c["err_connect"], c.get("log")))
    if c.get("err_resource"):
        return "local resources (%d failed)" % c["err_resource"]
    if c["status"] != "ok":
        return "run failed (exit %s), see %s" % (c["rc"], c.get("log"))
    if c.get("failed"):
        return "%d requests failed" % c["failed"]
    if c.get("efficiency") is not None and c["efficiency"] < min_eff:
        # In a closed loop every round's C requests finish together, so each round costs the
        # CPU to turn C completions around on top of the latency: that, not threads, memory or
        # descriptors, is the wall when nothing failed.
        wall = c.get("wall_s") or 1
        rounds = max(1, math.ceil(c.get("requests", 0) / max(1, c.get("concurrency", 1))))
        cpu = c["cpu_s"] + c.get("mock_cpu_s", 0)
        ideal = wall * c["efficiency"]
        # Three decimals when two would round up to the limit ("0.90 < 0.90").
        digits = 2 if round(c["efficiency"], 2) < min_eff else 3
        return ("efficiency %.*f < %.2f: %.0f ms lost per round against %.0f ms of CPU per round "
                "(client %.0f + mock %.0f) to turn C completions around; %.0f client threads"
                % (digits, c["efficiency"], min_eff, (wall - ideal) / rounds * 1e3, cpu / rounds * 1e3,
                   c["cpu_s"] / rounds * 1e3, c.get("mock_cpu_s", 0) / rounds * 1e3,
                   c.get("threads_peak", 0)))
    return ""


# --- tables ------------------------------------------------------------------------------------
def fmt(v, kind):
    if v is None or v == "":
        return "-"
    if kind == "int":
        return "{:,.0f}".format(v)
    if kind == "ms":
        return "%.3g" % v if v < 10 else "{:,.0f}".format(v) if v >= 1000 else "%.1f" % v
    if kind == "ratio":
        return "%.2f" % v
    if kind == "pct":
        return "%.1f%%" % (100 * v)
    if kind == "mib":
        return "%.1f" % (v / 1024.0)
    return "%.3g" % v if abs(v) < 100 else "{:,.0f}".format(v)


def fmt3(v):
    return "-" if v is None else "%.3f" % v


def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---:" if i else "---" for i in range(len(head))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


CLOSED_METRICS = [
    ("req/s", "rps", "num", True), ("efficiency vs ideal", "efficiency", "ratio", True),
    ("p50 ms", "e2e_p50_ms", "ms", True), ("p90 ms", "e2e_p90_ms", "ms", True),
    ("p99 ms", "e2e_p99_ms", "ms", True),
    ("p99.9 ms", "e2e_p999_ms", "ms", True), ("max ms", "e2e_max_ms", "ms", True),
    ("failed", "failed", "int", False), ("CPU s / 1000 req", "cpu_per_1000", "num", True),
    ("RSS peak MiB", "rss_peak_kb", "mib", True),
    ("RSS KiB / in flight", "rss_per_inflight_kb", "num", True),
    ("threads", "threads_peak", "int", False), ("context switches", "ctx_switches", "int", True),
    ("loop lag p99 ms", "loop_lag_p99_ms", "ms", False),
]
STREAM_METRICS = [
    ("TTFT p50 ms", "ttft_p50_ms", "ms", True), ("TTFT p99 ms", "ttft_p99_ms", "ms", True),
    ("TPOT p50 ms", "tpot_p50_ms", "ms", True),
    ("ITL p50 ms", "itl_p50_ms", "ms", True), ("ITL p99 ms", "itl_p99_ms", "ms", True),
    ("chunk gap p50 ms", "chunk_gap_p50_ms", "ms", True),
    ("tokens/s", "tokens_per_s", "num", True),
]
ERROR_METRICS = [
    ("goodput (ok share)", "ok_share", "pct", True), ("retries", "retries", "int", True),
    ("429 / 5xx final", "final_errs", "text", False),
    ("last-attempt p99 ms", "last_attempt_p99_ms", "ms", True),
]


def closed_table(cells, conf):
    metrics = list(CLOSED_METRICS)
    if "--stream" in conf.get("run_args", ""):
        metrics[2:2] = STREAM_METRICS
    if "fault" in conf.get("mock_args", ""):
        metrics[1:1] = ERROR_METRICS
    if not float(conf.get("ideal_ms") or 0):
        metrics = [m for m in metrics if m[1] != "efficiency"]
    clients = [c for c in CLIENTS if any(x["client"] == c for x in cells)]
    have_both = all(any(x["client"] == b for x in cells) for b in BACKENDS)
    head = ["C", "figure"] + clients[:0]
    head += [b for b in BACKENDS if b in clients]
    if have_both:
        head.append("evented / threaded")
    head += [p for p in PEERS if p in clients]
    rows = []
    for conc in sorted({x["concurrency"] for x in cells}):
        at = {x["client"]: x for x in cells if x["concurrency"] == conc}
        for label, key, kind, ratio in metrics:
            if key == "loop_lag_p99_ms" and "evented" not in at:
                continue
            row = [fmt(conc, "int"), label]
            for b in BACKENDS:
                if b in clients:
                    row.append(cell_text(at.get(b), key, kind))
            if have_both:
                th, ev = at.get("threaded"), at.get("evented")
                ok = th and ev and ratio and th.get(key) and ev.get(key) is not None
                row.append(fmt(ev[key] / th[key], "ratio") if ok else "")
            for p in PEERS:
                if p in clients:
                    row.append(cell_text(at.get(p), key, kind))
            rows.append(row)
    return md_table(head, rows)


def cell_text(c, key, kind):
    if c is None:
        return "-"
    if c["status"] == "skipped":
        return "skipped"
    if key not in c:
        return "-" if c["status"] == "ok" else c["status"]
    v = c[key]
    if kind == "text":
        return str(v)
    if key in ("loop_lag_p99_ms",) and c["client"] != "evented":
        return "-"
    if c["client"] in PEERS and key in ("ctx_switches", "rss_per_inflight_kb", "e2e_p999_ms") \
            and not v:
        return "-"
    s = fmt(v, kind)
    return s if c["status"] == "ok" else s + " (" + c["status"] + ")"


def open_table(cells):
    rates = sorted({x["rate"] for x in cells})
    head = ["offered req/s"]
    for b in BACKENDS:
        head += [b + " achieved", b + " p50 ms", b + " p99 ms"]
    head.append("p99 evented / threaded")
    rows = []
    for r in rates:
        at = {x["client"]: x for x in cells if x["rate"] == r}
        row = [fmt(r, "int")]
        for b in BACKENDS:
            c = at.get(b)
            row += [cell_text(c, "rps", "num"), cell_text(c, "corrected_p50_ms", "ms"),
                    cell_text(c, "corrected_p99_ms", "ms")]
        th, ev = at.get("threaded"), at.get("evented")
        row.append(fmt(ev["corrected_p99_ms"] / th["corrected_p99_ms"], "ratio")
                   if th and ev and th.get("corrected_p99_ms") and ev.get("corrected_p99_ms") is not None
                   else "")
        rows.append(row)
    return md_table(head, rows)


def knee(cells, backend):
    """Open loop: the highest offered rate still served (achieved >= 90% of offered and corrected
    p99 within 10x the lowest rate's)."""
    mine = sorted((x for x in cells if x["client"] == backend and "rps" in x),
                  key=lambda x: x["rate"])
    if not mine:
        return None
    base, best = max(mine[0]["corrected_p99_ms"] or 0.0, 1.0), None
    for x in mine:
        if x["status"] != "ok" or x["rps"] < 0.9 * x["rate"] or \
                x["corrected_p99_ms"] is None or x["corrected_p99_ms"] > 10 * base:
            break
        best = x
    return best


# --- the verdict: five lines at the top of report.md ---------------------------------------
def clean(c):
    return c is not None and c["status"] == "ok" and not c.get("failed")


def at(cells, client, conc):
    xs = [x for x in cells if x["client"] == client and x["concurrency"] == conc]
    return xs[-1] if xs else None


def tag(c):
    """' (N of M failed)' for a cell whose requests partly failed, '' for a clean one."""
    if c is None or clean(c):
        return ""
    if c["status"] != "ok":
        return " (cell %s)" % c["status"]
    return " (%s of %s failed)" % (fmt(c["failed"], "int"), fmt(c.get("requests", 0), "int"))


def verdict(by_wl, summary):
    """Where each backend wins and where each meets its wall, with the figures: one line each
    for throughput, waiting, resources, walls and the SLO, from this run's cells."""
    out = []
    tp = by_wl.get("throughput", [])
    wins = {b: [] for b in BACKENDS}
    for conc in sorted({x["concurrency"] for x in tp}):
        th, ev = at(tp, "threaded", conc), at(tp, "evented", conc)
        if clean(th) and clean(ev):
            w, l = (ev, th) if ev["rps"] >= th["rps"] else (th, ev)
            wins[w["client"]].append("%s in flight (%s against %s req/s)" % (
                fmt(conc, "int"), fmt(w["rps"], "int"), fmt(l["rps"], "int")))
    if any(wins.values()):
        out.append("- **Throughput, zero latency:** " + "; ".join(
            "%s is faster at %s" % (b, ", ".join(v)) for b, v in wins.items() if v) + ".")
    lb = by_wl.get("latency-bound", [])
    both = sorted(c for c in {x["concurrency"] for x in lb}
                  if at(lb, "threaded", c) and at(lb, "evented", c))
    if both:
        top = max(c for c in both if c <= 1000) if any(c <= 1000 for c in both) else both[0]
        th, ev = at(lb, "threaded", top), at(lb, "evented", top)
        out.append("- **Waiting (latency-bound) at %s in flight:** efficiency %s threaded%s, %s "
                   "evented%s; p99 %s against %s ms; peak RSS %s against %s MiB." % (
                       fmt(top, "int"), fmt(th.get("efficiency"), "ratio"), tag(th),
                       fmt(ev.get("efficiency"), "ratio"), tag(ev), fmt(th.get("e2e_p99_ms"), "ms"),
                       fmt(ev.get("e2e_p99_ms"), "ms"), fmt(th.get("rss_peak_kb"), "mib"),
                       fmt(ev.get("rss_peak_kb"), "mib")))
    th, ev = at(tp, "threaded", 100), at(tp, "evented", 100)
    if th and ev and th.get("cpu_per_1000") and ev.get("cpu_per_1000"):
        out.append("- **CPU per request at 100 in flight, zero latency:** %s µs threaded, %s µs "
                   "evented (%s)." % (fmt(th["cpu_per_1000"] * 1000, "num"),
                                      fmt(ev["cpu_per_1000"] * 1000, "num"),
                                      fmt(ev["cpu_per_1000"] / th["cpu_per_1000"], "ratio") + "x"))
    walls = []
    for wl, ce in summary["workloads"].items():
        if ce.get("mode") != "ceiling":
            continue
        for b in BACKENDS:
            if b + "_ceiling" in ce:
                walls.append("%s holds %s streams in flight in steady state%s%s" % (
                    b, fmt(ce[b + "_ceiling"], "int"), "" if wl == "ceiling" else " (%s)" % wl,
                    ", then " + ce[b + "_stop"] if ce.get(b + "_stop") else ""))
    for x in lb:
        if x["client"] in BACKENDS and x.get("failed"):
            walls.append("at %s in flight %s failed %s of %s requests%s" % (
                fmt(x["concurrency"], "int"), x["client"], fmt(x["failed"], "int"),
                fmt(x.get("requests", 0), "int"),
                " (" + x["limit_hit"] + ")" if x.get("limit_hit") else ""))
    if walls:
        out.append("- **Walls:** " + "; ".join(walls) + ".")
    sl = summary["workloads"].get("slo-search", {})
    if any(b + "_slo_rps" in sl for b in BACKENDS):
        out.append("- **Under the SLO (%s):** %s." % (sl.get("slo", "?"), ", ".join(
            "%s holds it to %s req/s" % (b, fmt(sl[b + "_slo_rps"], "int"))
            for b in BACKENDS if b + "_slo_rps" in sl)))
    return out


# --- the gate's figures ------------------------------------------------------------------------
def pick(cells, wl, client, conc=None):
    xs = [x for x in cells if x["workload"] == wl and x["client"] == client and
          x["status"] == "ok" and (conc is None or x["concurrency"] == conc)]
    return xs[-1] if xs else None


def gate_metrics(cells):
    """The gated ratios (bench/gate.py's METRICS names them) from one round's cells."""
    g = {}
    th, ev, wrk = (pick(cells, "throughput", b, 100) for b in ("threaded", "evented", "wrk"))
    if th and ev and th.get("rps"):
        g["throughput.evented_over_threaded_rps@100"] = ev["rps"] / th["rps"]
    for b, x in (("threaded", th), ("evented", ev)):
        if x and wrk and wrk.get("cpu_per_1000") and x.get("cpu_per_1000"):
            g["throughput.%s_cpu_vs_wrk@100" % b] = x["cpu_per_1000"] / wrk["cpu_per_1000"]
    for b in BACKENDS:
        x = pick(cells, "latency-bound", b, 1000)
        if x and x.get("efficiency") is not None:
            g["latency-bound.%s_efficiency@1000" % b] = x["efficiency"]
        if x and x.get("rss_per_inflight_kb"):
            g["latency-bound.%s_rss_kb_per_inflight@1000" % b] = x["rss_per_inflight_kb"]
    return {k: v for k, v in g.items() if k in gate.METRICS}


def gate_rounds(cells, machine, level):
    """bench/gate.py's input: one dict of ratios per round of the gate's cells."""
    # bench.sh names a round's cells "gate:WORKLOAD" (their conf is the gate's variant)
    gc = [dict(c, workload=c["workload"].split(":", 1)[-1]) for c in cells if c.get("rep")]
    reps = sorted({c["rep"] for c in gc}, key=int)
    rounds = [gate_metrics([c for c in gc if c["rep"] == r]) for r in reps]
    failed = ["round %s: %s %s C=%s %s (exit %s, log %s)" % (
        c["rep"], c["workload"], c["client"], c["concurrency"], c["status"], c["rc"], c["log"])
        for c in gc if c["status"] not in ("ok", "skipped")]
    return {"level": level, "machine": machine, "gate_reps": rounds, "failed_cells": failed,
            "measured": sorted({c["workload"] for c in gc}),
            "clients": sorted({c["client"] for c in gc if c["status"] != "skipped"})}


def gate_mean(rounds):
    """Per metric, the geometric mean over the rounds (what a reader of summary.json wants)."""
    names = sorted({k for r in rounds for k in r})
    return {k: math.exp(sum(math.log(r[k]) for r in rounds if k in r) /
                        len([r for r in rounds if k in r])) for k in names}


def read_cells(outdir):
    rows = []
    if os.path.exists(os.path.join(outdir, "cells.tsv")):
        with open(os.path.join(outdir, "cells.tsv")) as f:
            rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    confs, cells = {}, []
    for row in rows:
        wl = row[0]
        if wl not in confs:
            p = os.path.join(outdir, "conf", wl + ".env")
            confs[wl] = read_env(p) if os.path.exists(p) else {}
        cells.append(figures(row, confs[wl], outdir))
        if confs[wl].get("mode") == "transport":
            transport_fields(cells[-1], outdir)
    return cells, confs


def transport_fields(c, outdir):
    """A transport cell's connection and handshake figures: its run's JSON and the mock's
    counts (raw/TAG.mock.json, bench.sh's mock_figures)."""
    j = c.get("json") or ""
    doc = load_json(os.path.join(outdir, j)) if j else None
    mock = load_json(os.path.join(outdir, j[:-len(".json")] + ".mock.json")) if j else None
    transport.fields(c, doc, mock)


def read_machine(outdir):
    machine = {}
    p = os.path.join(outdir, "machine.txt")
    if os.path.exists(p):
        for line in open(p):
            k, _, v = line.strip().partition("=")
            machine[k] = v
    return machine


# --- the report --------------------------------------------------------------------------------

def why_failed(outdir, log):
    """': <the log's last line>' (what the program said as it stopped), or '' without one."""
    try:
        with open(os.path.join(outdir, log), errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return ""
    return ": " + lines[-1][:400] if lines else ""

# What each peer is, for the report's preamble: only the peers a run ran are named.
PEER_WORDS = (
    ("wrk", "wrk at the same connection count (its duration, not a request count)"),
    ("h2load", "h2load over one HTTP/2 connection (the transport workload's HTTP/2 cells)"),
    ("libcurl", "libcurl, a bare curl_multi_perform + curl_multi_poll loop with no parsing "
                "(bench/peers/curl_multi_peer.c: what libcurl alone costs)"),
    ("httpx", "the seed's stack (Python asyncio + one shared httpx.AsyncClient + Semaphore)"),
)

def peers_sentence(clients):
    """' Peers: a; b.' for the peers among clients (every cell's client), '' when none ran."""
    ran = [words for name, words in PEER_WORDS if name in clients]
    return " Peers: %s." % "; ".join(ran) if ran else ""

def report(outdir, wdir, level):
    every, confs = read_cells(outdir)
    # The gate's rounds (cells with a round number) are kept apart from the tables: a table
    # shows one run of each cell, the gate judges the rounds together (bench/gate.py).
    cells = [c for c in every if not c.get("rep")]
    by_wl = {}
    for c in cells:
        by_wl.setdefault(c["workload"], []).append(c)

    keys = []
    for c in every:
        keys += [k for k in c if k not in keys]
    with open(os.path.join(outdir, "cells.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for c in every:
            w.writerow(c)

    machine = read_machine(outdir)
    notes = [n.strip() for n in open(os.path.join(outdir, "notes.txt"))] \
        if os.path.exists(os.path.join(outdir, "notes.txt")) else []
    notes = [n for n in notes if n]

    md = ["# llmload bench report (%s)" % level, ""]
    md.append("Machine: %s, %s cores, %.1f GiB RAM, kernel %s, %s. `ulimit -n` %s (soft was %s); "
              "`ulimit -u` %s; pid_max %s; threads-max %s; ephemeral ports %s; default stack "
              "%s KiB. curl %s, build %s." % (
                  machine.get("cpu", "?"), machine.get("cores", "?"),
                  int(machine.get("mem_kb", 0) or 0) / 1048576.0, machine.get("kernel", "?"),
                  machine.get("date", "?"), machine.get("nofile_hard", "?"),
                  machine.get("nofile_soft_before", "?"), machine.get("nproc_limit", "?"),
                  machine.get("pid_max", "?"), machine.get("threads_max", "?"),
                  machine.get("ephemeral_ports", "?"), machine.get("stack_default_kb", "?"),
                  machine.get("curl", "?"), machine.get("git", "?")))
    md.append("")
    md.append("Every cell ran against a fresh mockllm (a separate process: its CPU is not the "
              "client's). `evented / threaded` is the ratio of the two backends' figures in this "
              "run." + peers_sentence({c["client"] for c in every}))
    for n in notes:
        md.append("")
        md.append("Note: " + n)
    md.append("")
    verdict_at = len(md)

    summary = {"level": level, "machine": machine, "notes": notes, "workloads": {}}
    for wl, wcells in by_wl.items():
        conf = confs.get(wl, {})
        mode = conf.get("mode", "closed")
        md += ["## %s" % (conf.get("title") or wl), ""]
        wsum = {"mode": mode}
        if mode == "closed":
            for c in wcells:
                if c.get("requests"):
                    c["ok_share"] = c["succeeded"] / c["requests"]
                    c["final_errs"] = "%d / %d" % (c.get("err_429", 0), c.get("err_5xx", 0))
                    c["retries_per_req"] = c.get("retries", 0) / c["requests"]
            md.append(closed_table(wcells, conf))
            skipped = sorted({x["concurrency"] for x in wcells if x["status"] == "skipped"})
            if skipped:
                md += ["", "httpx skipped at C = %s (above httpx_max_concurrency, or httpx "
                       "missing)." % ", ".join(str(s) for s in skipped)]
        elif mode == "open":
            md.append(open_table(wcells))
            md.append("")
            for b in BACKENDS:
                k = knee(wcells, b)
                if k:
                    top = max(x["rate"] for x in wcells if x["client"] == b)
                    md.append("- knee of %s: %s req/s offered (p99 %s ms corrected)%s" % (
                        b, fmt(k["rate"], "int"), fmt(k["corrected_p99_ms"], "ms"),
                        " - not saturated at the highest rate tried" if k["rate"] == top else ""))
                    wsum[b + "_knee_rps"] = k["rate"]
        elif mode == "slo-search":
            md += slo_section(outdir, wcells, conf, wsum)
        elif mode == "burst":
            md += burst_section(outdir, wcells, conf, wsum, machine)
        elif mode == "ceiling":
            md += ceiling.section(wcells, conf, wsum, machine, lambda c: read_log(c, outdir))
        elif mode == "server":
            md += server_section(outdir, wcells, conf, wsum)
        elif mode == "transport":
            md += transport.section(wcells, conf, wsum, machine, fmt, md_table,
                                    lambda log: why_failed(outdir, log))
        md.append("")
        summary["workloads"][wl] = wsum

    v = verdict(by_wl, summary)
    if v:
        md[verdict_at:verdict_at] = ["## Verdict", ""] + v + [""]
    stamp = "llmload %s, %s, %s (%s cores), bench %s" % (
        machine.get("git", "?"), machine.get("date", "?"), machine.get("cpu", "?"),
        machine.get("cores", "?"), level)
    slo_rows = [(r[0], r[1]) for r in read_tsv(os.path.join(outdir, "slo.tsv"))]
    made = charts.charts(outdir, by_wl, confs, stamp, slo_rows)
    if made:
        md += ["## Charts", ""]
        for title, png in made:
            md += ["![%s](%s)" % (title, png), ""]
    bad = [c for c in cells if c["status"] in ("failed", "timeout")]
    if bad:
        md += ["## Runs that failed", ""]
        md += ["- %s %s%s C=%s rate=%s: %s (exit %s), log %s%s" % (
            c["workload"], c["client"], " " + c["cell"] if c.get("cell") else "", c["concurrency"],
            c["rate"] or "-", c["status"], c["rc"], c["log"], why_failed(outdir, c["log"]))
            for c in bad]
        md.append("")
    flagged = sorted({"%s/%s" % (c["workload"], c["client"]) for c in cells
                      if c.get("littles_flagged")})
    if flagged:
        md.append("Little's-law self-check (llmload's) off by more than 5%% in some cells of: "
                  "%s (zero-latency and overloaded cells: a result waits to be collected about as long "
                  "as the request took, so the driver's count runs ahead of throughput x latency; "
                  "see cells.csv)." % ", ".join(flagged))
        md.append("")

    rounds = gate_rounds(every, machine, level)
    summary.update({k: rounds[k] for k in ("gate_reps", "failed_cells", "measured", "clients")})
    summary["gate"] = gate_mean(rounds["gate_reps"])
    summary["cells"] = every
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    text = "\n".join(md) + "\n"
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write(text)
    # The terminal gets the tables, not the chart links.
    print("\n".join(line for line in md if not line.startswith("![")))


def server_section(outdir, cells, conf, wsum):
    """mockllm's two concurrency models under the same client: one row per (C, model), with
    the server's own figures (bench.sh's server_figures, raw/TAG.server.json)."""
    md = ["The same client (%s backend) against mockllm --model loop (one thread, an event loop) "
          "and --model threads (a blocking thread per connection); %s requests per connection, "
          "mock args `%s`. Server figures are the mock's own: peak RSS (VmHWM), its threads' "
          "peak and its failures to start a thread or accept a connection (/metrics)." % (
              conf.get("client_backend", "?"), conf.get("rounds", "?"), conf.get("mock_args", "")),
          ""]
    head = ["C", "server", "ok", "failed", "p50 ms", "p99 ms", "server RSS MiB", "server threads",
            "server CPU s", "thread-start failures", "accept failures"]
    rows = []
    for c in sorted(cells, key=lambda x: (x["concurrency"], x["client"])):
        sv = load_json(os.path.join(outdir, c["json"][:-len(".json")] + ".server.json")) \
            if c.get("json") else None
        sv = sv or {}
        rows.append([fmt(c["concurrency"], "int"), c["client"], fmt(c.get("succeeded"), "int"),
                     fmt(c.get("failed"), "int"), fmt(c.get("e2e_p50_ms"), "ms"),
                     fmt(c.get("e2e_p99_ms"), "ms"),
                     fmt(sv.get("vmhwm_kb"), "mib") if sv.get("vmhwm_kb") else "-",
                     fmt(sv.get("threads_peak"), "int"), fmt(c.get("mock_cpu_s"), "num"),
                     fmt(sv.get("thread_start_failures"), "int"),
                     fmt(sv.get("accept_failures"), "int")])
        wsum["%s_rss_kb@%d" % (c["client"], c["concurrency"])] = sv.get("vmhwm_kb")
    md.append(md_table(head, rows))
    return md


def read_tsv(path):
    if not os.path.exists(path):
        return []
    return [line.rstrip("\n").split("\t") for line in open(path) if line.strip()]


def slo_section(outdir, cells, conf, wsum):
    md = []
    res = read_tsv(os.path.join(outdir, "slo.tsv"))
    head = ["backend", "highest rate meeting SLO (req/s)", "first failing rate",
            "in flight at knee (L)", "p99 ms at knee", "goodput share at knee", "probes"]
    rows = []
    for b, lo, hi, slo, share in res:
        k = [x for x in cells if x["client"] == b and x["rate"] == float(lo)]
        k = k[-1] if k else None
        probes = len([x for x in cells if x["client"] == b])
        rows.append([b, fmt(float(lo), "int") if float(lo) else "none",
                     fmt(float(hi), "int") if float(hi) else "not reached",
                     fmt(k["l_measured"], "num") if k else "-",
                     fmt(k["corrected_p99_ms"], "ms") if k else "-",
                     fmt(k["goodput_share"], "pct") if k else "-", str(probes)])
        wsum[b + "_slo_rps"] = float(lo)
        wsum["slo"] = md_slo = slo
    if res:
        md.append("SLO `%s`, goodput share >= %s; rate doubled from %s, then bisected; a near miss "
                  "(share >= 0.8) fails only when a second probe at the rate fails too. The "
                  "concurrency a backend needs at that rate is Little's L." % (
                      md_slo, conf.get("slo_share"), conf.get("start_rate")))
        md.append("")
        md.append(md_table(head, rows))
    return md


def burst_section(outdir, cells, conf, wsum, machine):
    """Burst turnaround: C requests at once, round after round (not a ceiling: see ceiling.py)."""
    min_eff = float(conf.get("min_efficiency") or 0.9)
    md = ["Requests = %s x C, started together and each waiting 1 s, so they end together: the "
          "cost of turning C completions around in one burst. Efficiency = ideal wall / measured "
          "wall. The mock listened on %s loopback addresses, each client slot keeping to one."
          % (conf.get("rounds"), conf.get("listen_addrs")), ""]
    head = ["backend", "C", "wall s", "efficiency", "failed", "RSS peak MiB", "threads",
            "CPU s", "mock CPU s", "stopped by"]
    rows, summ = [], []
    for b in BACKENDS:
        mine = sorted((x for x in cells if x["client"] == b), key=lambda x: x["concurrency"])
        if not mine:
            continue
        best, why, at = None, "", None
        for x in mine:
            reason = stop_reason(x, outdir, min_eff)
            rows.append([b, fmt(x["concurrency"], "int"), fmt(x.get("wall_s", 0), "num"),
                         fmt3(x.get("efficiency")), fmt(x.get("failed", 0), "int"),
                         fmt(x.get("rss_peak_kb"), "mib"), fmt(x.get("threads_peak"), "int"),
                         fmt(x.get("cpu_s", 0), "num"), fmt(x["mock_cpu_s"], "num"),
                         reason or "-"])
            if reason:
                why, at = reason, x["concurrency"]
                break
            best = x
        top = best["concurrency"] if best else 0
        wsum[b + "_burst"] = top
        if why:
            wsum[b + "_burst_stop"] = "at %s: %s" % (fmt(at, "int"), why.split(":")[0])
        summ.append("- **%s**: turns %s around in a burst; %s" % (
            b, fmt(top, "int") if top else "below the first step",
            "stopped at C=%s by %s" % (fmt(at, "int"), why) if why else
            "not reached: the ramp ended at its last step (raise concurrency in "
            "burst-turnaround.conf)"))
    md.append(md_table(head, rows))
    md += [""] + summ
    md += ["", "The machine allowed: `ulimit -n` %s (hard), `ulimit -u` %s, pid_max %s, "
           "threads-max %s, ephemeral ports %s per (source, destination) pair, %.1f GiB RAM." % (
               machine.get("nofile_hard", "?"), machine.get("nproc_limit", "?"),
               machine.get("pid_max", "?"), machine.get("threads_max", "?"),
               machine.get("ephemeral_ports", "?"),
               int(machine.get("mem_kb", 0) or 0) / 1048576.0)]
    return md


def main(argv):
    if len(argv) >= 3 and argv[1] == "get":
        doc = load_json(argv[2]) or {}
        print(" ".join(str(dig(doc, k)) for k in argv[3:]))
        return 0
    if len(argv) == 5 and argv[1] == "wrk2json":
        wrk2json(argv[2], argv[3], int(argv[4]))
        return 0
    if len(argv) == 7 and argv[1] == "h2load2json":
        print(transport.h2load2json(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6])))
        return 0
    if len(argv) == 4 and argv[1] == "mockfigs":
        print(transport.mock_figures(argv[2], argv[3]))
        return 0
    if len(argv) == 4 and argv[1] == "gatereps":
        print(json.dumps(gate_rounds(read_cells(argv[2])[0], read_machine(argv[2]), argv[3])))
        return 0
    if len(argv) == 5 and argv[1] == "ceilnext":
        cells = read_cells(argv[2])[0]
        conf = read_env(os.path.join(argv[2], "conf", argv[3] + ".env"))
        steps = [(c["target"], ceiling.held(c, conf)[0]) for c in cells
                 if c["workload"] == argv[3] and c["client"] == argv[4] and not c.get("rep")]
        t = ceiling.next_target(steps, conf)
        print("done" if t is None else t)
        return 0
    if len(argv) == 5 and argv[1] == "report":
        report(argv[2], argv[3], argv[4])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
