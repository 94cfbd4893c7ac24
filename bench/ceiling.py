"""ceiling.py - the steady-state concurrency ceiling (bench/workloads/ceiling.conf): each step's
figures from its steady window, whether the step held its target, the next target to try, and
what stopped a backend, named from the step's evidence. Python 3 standard library; report.py
imports it, bench.sh reaches it through `report.py ceilnext`.

A step is one open-loop `llmload run --window` (bench.sh ceil_step). Its JSON carries:
  results.window           the steady window: in_flight.mean (on the wire), started.requests
                           (outcome by class), started.latency, client and server (the mock):
                           cpu_cores, cpu_us_per_request, cpu_us_per_token, rss_per_in_flight_kb,
                           threads_peak, fds_peak, rlimit_nofile; cores
  results.limits           met (descriptors, ports, memory, threads), line, failed by limit,
                           thread_wall (errno, the counter at its limit) when threads failed
  results.requests         connects (connections opened), connections_open_peak (the most open
                           at once, the backend's count); config.client.max_connections (the cap)
and beside it, raw/TAG.server.json (bench.sh server_figures): the mock's own connections
(accepted, the most open at once) and HTTP/2 streams, and its peak of requests in flight.
"""
import math
import re

CLASSES = ("429", "5xx", "4xx", "timeout", "connect", "protocol", "resource", "cancelled")


def dig(doc, path, default=None):
    for k in path.split("."):
        if not isinstance(doc, dict) or k not in doc or doc[k] is None:
            return default
        doc = doc[k]
    return doc


def params(conf):
    """The numbers of ceiling.conf that the judgement needs (conf: key -> text)."""
    f = lambda k, d: float(conf.get(k) or d)  # noqa: E731
    tokens = f("tokens", 400)
    return {
        # how long one answer streams: mockllm sends its first chunk (chunk_tokens tokens) at
        # TTFT and each next one when its last token is due, one ITL per token
        "answer_s": (f("ttft_ms", 0) + (tokens - min(f("chunk_tokens", 1), tokens)) *
                     f("itl_ms", 50)) / 1000.0,
        "min_share": f("min_share", 0.95), "max_stretch": f("max_stretch", 1.25),
        "bisect": int(f("bisect", 0)),
        "targets": sorted(int(t) for t in (conf.get("targets") or "").split()),
    }


def fields(c, doc, server=None):
    """A step's figures into cell c (report.py's cell dict); c["concurrency"] is the target.
    server: the mock's own figures (raw/TAG.server.json), or None."""
    w = dig(doc, "results.window")
    c["target"] = c.get("concurrency", 0)
    c["window"] = w is not None
    c["limit"] = int(dig(doc, "config.concurrency", 0))
    c["cap"] = dig(doc, "config.client.max_connections")  # --max-connections; None: no cap
    c["https"] = any(str(u).startswith("https:") for u in dig(doc, "config.client.base_urls", []))
    c["conns_opened"] = dig(doc, "results.requests.connects")
    c["conns_peak"] = dig(doc, "results.requests.connections_open_peak")
    sv = server or {}
    c["mk_conns"] = sv.get("connections")
    c["mk_conns_peak"] = sv.get("connections_open_peak")
    c["mk_in_flight_peak"] = sv.get("in_flight_peak")
    c["thread_wall"] = dig(doc, "results.limits.thread_wall")
    c["limit_failed"] = dig(doc, "results.limits.failed", {})
    if w is None:
        return
    c["in_flight"] = dig(w, "in_flight.mean", 0.0)
    c["queued"] = dig(w, "in_flight.queued_mean", 0.0)
    c["share"] = c["in_flight"] / c["target"] if c["target"] else 0.0
    c["truncated"] = bool(w.get("truncated"))
    c["started"] = int(dig(w, "started.requests.submitted", 0))
    c["win_failed"] = int(dig(w, "started.requests.failed", 0))
    for cls in CLASSES:
        c["win_err_" + cls] = int(dig(w, "started.requests.by_class." + cls, 0))
    for h, keys in (("e2e", ("p50", "p99", "max")), ("ttft", ("p99",)), ("itl", ("p50", "p99"))):
        for p in keys:
            c["win_%s_%s_ms" % (h, p)] = dig(w, "started.latency.%s.%s_ms" % (h, p), 0.0)
    c["win_tokens_per_s"] = dig(w, "tokens.per_s", 0.0)
    c["cores"] = int(w.get("cores") or 1)
    for who, key in (("cl", "client"), ("mk", "server")):
        p = w.get(key) or {}
        c[who + "_gone"] = bool(p.get("gone")) if p else True
        c[who + "_cores"] = p.get("cpu_cores", 0.0)
        c[who + "_us_req"] = p.get("cpu_us_per_request", 0.0)
        c[who + "_us_tok"] = p.get("cpu_us_per_token", 0.0)
        c[who + "_rss_kb"] = p.get("rss_mean_kb", 0.0)
        c[who + "_rss_kb_inflight"] = p.get("rss_per_in_flight_kb", 0.0)
        c[who + "_threads"] = p.get("threads_peak")
        c[who + "_fds"] = p.get("fds_peak")
        c[who + "_nofile"] = dig(p, "rlimit_nofile.soft")


def held(c, conf):
    """(True, []) when the step held its target; else (False, [the reasons, one phrase each])."""
    pr = params(conf)
    why = []
    if c.get("status") != "ok":
        why.append("the run %s (exit %s)" % (c.get("status"), c.get("rc")))
    if not c.get("window"):
        why.append("no steady window in its JSON")
        return False, why
    failed = max(c.get("failed", 0), c.get("win_failed", 0))
    if failed:
        why.append("%d requests failed (%s)" % (failed, classes_text(c)))
    if c.get("truncated"):
        why.append("the run ended before its window did")
    if c["share"] < pr["min_share"]:
        why.append("%.0f in flight of %d (%.3f < %.2f)" % (c["in_flight"], c["target"], c["share"],
                                                          pr["min_share"]))
    mk_peak = c.get("mk_in_flight_peak")  # the server's own count: requests it was answering
    if mk_peak is not None and mk_peak < pr["min_share"] * c["target"]:
        why.append("the mock's peak in flight %d < %.2f of %d (the rest never reached it)" % (
            mk_peak, pr["min_share"], c["target"]))
    cap, peak = c.get("cap"), c.get("conns_peak")
    if cap and peak is not None and peak > cap:
        why.append("%d connections open at once, over the cap of %d" % (peak, cap))
    p99_s = c.get("win_e2e_p99_ms", 0.0) / 1000.0
    if pr["answer_s"] > 0 and p99_s > pr["max_stretch"] * pr["answer_s"]:
        why.append("answers stretched: p99 %.2f s > %.2f x %.2f s" % (
            p99_s, pr["max_stretch"], pr["answer_s"]))
    return not why, why


def classes_text(c):
    parts = []
    for cls in CLASSES:
        n = max(c.get("err_" + cls, 0), c.get("win_err_" + cls, 0))
        if n:
            parts.append("%s %d" % (cls, n))
    return ", ".join(parts) or "class unknown"


def nice(v):
    """A round target near v: two significant figures."""
    if v < 100:
        return int(round(v))
    step = 10 ** (int(math.log10(v)) - 1)
    return int(round(v / step) * step)


def next_target(steps, conf):
    """steps: [(target, held)] in the order they ran. The next target, or None when done: up the
    configured targets while they hold; after the first that does not, up to `bisect` steps
    between the highest held below it (0 when none) and the lowest that did not hold."""
    pr = params(conf)
    if not pr["targets"]:
        return None
    if not steps:
        return pr["targets"][0]
    bad = [t for t, h in steps if not h]
    if not bad:
        top = max(t for t, _ in steps)
        higher = [t for t in pr["targets"] if t > top]
        return higher[0] if higher else None
    first_bad = next(i for i, (_, h) in enumerate(steps) if not h)
    if len(steps) - 1 - first_bad >= pr["bisect"]:
        return None
    hi = min(bad)
    lo = max([t for t, h in steps if h and t < hi] or [0])
    mid = nice((lo + hi) / 2.0)
    if hi - lo <= max(0.05 * hi, 1) or mid <= lo or mid >= hi or any(t == mid for t, _ in steps):
        return None
    return mid


# --- what stopped it ----------------------------------------------------------------------------
def cpu_text(c):
    """(whose CPU was saturated or None, the figures): each against what it can use -- the
    evented client and the mock run one thread each, so one core is their whole; a threaded
    client can use every core."""
    cores = c.get("cores", 1)
    cl_cap = 1 if (c.get("cl_threads") or 1) <= 1 else cores
    mk_cap = min(max(c.get("mk_threads") or 1, 1), cores)
    cl, mk = c.get("cl_cores", 0.0), c.get("mk_cores", 0.0)
    total = cl + mk
    detail = "client %.2f of %d core%s, mock %.2f of %d; %.2f of the machine's %d" % (
        cl, cl_cap, "" if cl_cap == 1 else "s", mk, mk_cap, total, cores)
    if cl >= 0.9 * cl_cap and cl / cl_cap >= mk / mk_cap:
        return "the client's", detail
    if mk >= 0.9 * mk_cap:
        return "the mock's", detail
    if total >= 0.9 * cores:
        return "the machine's, client and mock together", detail
    return None, detail


def stop(c, conf, log_text=""):
    """What stopped the step, named from its evidence: "threads: ...", "descriptors: ...", ...
    "" when the step held."""
    ok, why = held(c, conf)
    if ok:
        return ""
    lim = c.get("limit_hit") or ""
    line = c.get("limit_line") or ""
    m = re.search(r"local limit met: threads \((.*)\)", line or log_text)
    if lim == "threads" or m:
        tw = c.get("thread_wall") or {}
        if tw:
            return "threads: pthread_create %s after %s of %s threads, %s" % (
                tw.get("errno"), tw.get("started"), tw.get("wanted"), wall_text(tw))
        return "threads: " + (m.group(1) if m else "the backend could not start its threads")
    failed = c.get("limit_failed") or {}
    if lim == "descriptors":
        nf, fds = c.get("cl_nofile"), c.get("cl_fds")
        # at its limit: within 2% (or 8) of it -- the sample is taken once a second, and the
        # count leaves out the descriptors llmload's own watch holds
        at = nf and fds is not None and fds >= nf - max(8, 0.02 * nf)
        return ("descriptors: %d requests failed on socket()%s with %s; the client held %s of "
                "RLIMIT_NOFILE %s" % (failed.get("descriptors", 0),
                                      # over HTTPS a new connection also opens the CA file
                                      " or opening the CA file" if c.get("https") else "",
                                      "EMFILE" if at else "EMFILE or ENFILE",
                                      num(fds), num(nf)))
    if lim == "ports":
        return ("ports: %d connects failed with EADDRNOTAVAIL (%s)" %
                (failed.get("ports", 0), line or "ephemeral ports exhausted"))
    if lim == "memory":
        return "memory: %d requests failed with ENOMEM (%s)" % (failed.get("memory", 0), line)
    mk_nf, mk_fds = c.get("mk_nofile"), c.get("mk_fds")
    conn = max(c.get("err_connect", 0), c.get("win_err_connect", 0))
    if conn and mk_nf and mk_fds is not None and mk_fds >= mk_nf - max(8, 0.02 * mk_nf):
        return ("descriptors, the mock's: %d connections refused or reset while the mock held "
                "%s of its RLIMIT_NOFILE %s (accept EMFILE)" % (conn, num(mk_fds), num(mk_nf)))
    if c.get("status") == "timeout":
        return "the step's time limit (timeout(1) stopped the run; see %s)" % c.get("log")
    if str(c.get("rc")) in ("137", "-9") or "Killed" in log_text:
        return "memory: the run was killed (SIGKILL; the OOM killer?), client RSS %s KiB" % num(
            c.get("cl_rss_kb"))
    if c.get("status") != "ok":
        return "the run failed (exit %s), see %s" % (c.get("rc"), c.get("log"))
    if c.get("failed") or c.get("win_failed"):
        return "failures: %s" % "; ".join(why)
    who, detail = cpu_text(c)
    if who:
        return "CPU, %s (%s): %s" % (who, detail, "; ".join(why))
    return "not held with no limit met and no CPU saturated (%s): %s" % (detail, "; ".join(why))


def wall_text(tw):
    """The counter at its limit, from results.limits.thread_wall."""
    name = tw.get("wall")
    figures = {
        "cgroup pids.max": "cgroup pids.max %s reached (pids.current %s)" % (
            tw.get("cgroup_pids_max"), tw.get("cgroup_pids_current")),
        "RLIMIT_NPROC": "RLIMIT_NPROC %s reached (%s tasks of the user)" % (
            tw.get("rlimit_nproc"), tw.get("user_tasks")),
        "threads-max": "threads-max %s reached (%s tasks)" % (
            tw.get("threads_max"), tw.get("system_tasks")),
        "pid_max": "pid_max %s reached (%s tasks)" % (tw.get("pid_max"), tw.get("system_tasks")),
        "max_map_count": "max_map_count %s reached (%s mappings)" % (
            tw.get("max_map_count"), tw.get("maps")),
        "RLIMIT_AS": "RLIMIT_AS %s KiB reached (VmSize %s KiB)" % (
            tw.get("rlimit_as_kb"), tw.get("vm_size_kb")),
        "memory": "memory (MemAvailable %s KiB)" % tw.get("mem_available_kb"),
    }
    return figures.get(name, "no counter at its limit (%s)" % tw.get("line", "?"))


def num(v):
    return "?" if v is None else "{:,.0f}".format(v)


# --- the report section -------------------------------------------------------------------------
def fmt(v, digits=2):
    if v is None or v == "":
        return "-"
    if isinstance(v, str):
        return v
    return "{:,.0f}".format(v) if abs(v) >= 100 else "%.*f" % (digits, v)


def section(cells, conf, wsum, machine, read_log):
    """report.md lines for the ceiling workload; fills wsum (summary.json). read_log(c) -> text."""
    pr = params(conf)
    md = ["Each step: an open loop at target / L requests a second of streamed answers lasting "
          "L = %.2f s (TTFT %s ms, then %s tokens %s ms apart, %s per chunk), so that the target "
          "is in flight from L on; the figures are those of the steady window (llmload "
          "`--window`, %s s from L + %s s). Held: mean in flight on the wire >= %.2f of the "
          "target (and the mock's own peak in flight), no failure, p99 <= %.2f x L%s. The mock listened on %s loopback "
          "address%s, each client slot keeping to one%s." % (
              pr["answer_s"], conf.get("ttft_ms"), conf.get("tokens"), conf.get("itl_ms"),
              conf.get("chunk_tokens"), conf.get("steady_s"), conf.get("settle_s"),
              pr["min_share"], pr["max_stretch"],
              ", and never more connections open at once than the cap (--max-connections) "
              "where one was asked" if any(x.get("cap") for x in cells) else "",
              conf.get("listen_addrs"), "" if str(conf.get("listen_addrs")) == "1" else "es",
              transport_text(conf, cells)), ""]
    head = ["backend", "target", "in flight", "share", "failed", "p50 / p99 s", "ITL p99 ms",
            "CPU cores client / mock", "µs/request client / mock", "µs/token client / mock",
            "KiB/in flight client / mock", "threads", "fds client / mock",
            "connections opened / peak open / mock's peak", "held"]
    rows, summ = [], []
    for b in ("threaded", "evented"):
        mine = [x for x in cells if x["client"] == b]
        if not mine:
            continue
        best, first_stop = None, None
        for x in mine:
            ok, _ = held(x, conf)
            reason = "" if ok else stop(x, conf, read_log(x))
            rows.append(step_row(b, x, ok, reason))
            if ok and (best is None or x["target"] > best["target"]):
                best = x
            if not ok and (first_stop is None or x["target"] < first_stop[0]["target"]):
                first_stop = (x, reason)
        top = best["target"] if best else 0
        wsum[b + "_ceiling"] = top
        wsum[b + "_held_in_flight"] = best["in_flight"] if best else 0
        if first_stop:
            wsum[b + "_stop"] = "at %s: %s" % (num(first_stop[0]["target"]),
                                              first_stop[1].split(":")[0])
            wsum[b + "_stop_detail"] = first_stop[1]
        summ.append("- **%s**: holds %s%s; %s" % (
            b, ("%s in flight (%s measured, %.3f of the target)" % (
                num(top), num(best["in_flight"]), best["share"])) if best else "no step",
            held_text(best) if best else "",
            "stopped at %s by %s" % (num(first_stop[0]["target"]), first_stop[1]) if first_stop
            else "not stopped: the ramp ended at its last target (raise targets in the workload)"))
        if best:
            wsum[b + "_connections_peak"] = best.get("conns_peak")
            wsum[b + "_rss_per_in_flight_kb"] = best.get("cl_rss_kb_inflight")
    md.append(md_table(head, rows))
    md += [""] + summ
    md += ["", "The machine allowed: `ulimit -n` %s (hard; the mock raises its own soft limit to "
           "it too, and each step's mock limit is in its JSON), `ulimit -u` %s, pid_max %s, "
           "threads-max %s, max_map_count %s, somaxconn %s, ephemeral ports %s per (source, "
           "destination) pair, %.1f GiB RAM, %s cores." % (
               machine.get("nofile_hard", "?"), machine.get("nproc_limit", "?"),
               machine.get("pid_max", "?"), machine.get("threads_max", "?"),
               machine.get("max_map_count", "?"), machine.get("somaxconn", "?"),
               machine.get("ephemeral_ports", "?"),
               int(machine.get("mem_kb", 0) or 0) / 1048576.0, machine.get("cores", "?"))]
    return md


def held_text(x):
    """The held step's p99, its connections and the client's memory per request in flight."""
    out = " at p99 %.2f s" % (x["win_e2e_p99_ms"] / 1000.0)
    if x.get("conns_peak") is not None:
        out += ", over %s connections open at most (%s opened%s)" % (
            num(x["conns_peak"]), num(x.get("conns_opened")),
            "; the mock saw at most %s open at once" % num(x["mk_conns_peak"])
            if x.get("mk_conns_peak") is not None else "")
    if x.get("mk_in_flight_peak") is not None:
        out += ", the mock's peak in flight %s" % num(x["mk_in_flight_peak"])
    return out + ", client RSS %s KiB per request in flight" % fmt(x.get("cl_rss_kb_inflight"), 1)


def transport_text(conf, cells):
    """What the step's client and mock were asked beyond ceiling.conf (TLS, HTTP/2, a cap)."""
    parts = []
    if conf.get("mock_args"):
        parts.append("mock `%s`" % conf["mock_args"])
    if conf.get("run_args"):
        parts.append("client `%s`" % conf["run_args"])
    for b in ("threaded", "evented"):
        if conf.get("run_args_" + b):
            parts.append("%s `%s`" % (b, conf["run_args_" + b]))
    return "; " + ", ".join(parts) if parts else ""


def conns_text(x):
    """connections opened / the most open at once, the client's counts / the most open at once
    at the mock (which sees a close only when it next reads: an upper bound)."""
    cap = " (cap %s)" % num(x["cap"]) if x.get("cap") else ""
    return "%s / %s / %s%s" % (num(x.get("conns_opened")), num(x.get("conns_peak")),
                               num(x.get("mk_conns_peak")), cap)


def pair(c, a, b, digits=2):
    return "%s / %s" % (fmt(c.get(a), digits), fmt(c.get(b), digits))


def step_row(b, x, ok, reason):
    if not x.get("window"):
        return [b, num(x["target"])] + ["-"] * 12 + [reason or "-"]
    return [b, num(x["target"]), num(x["in_flight"]), "%.3f" % x["share"],
            num(max(x.get("failed", 0), x.get("win_failed", 0))),
            "%.2f / %.2f" % (x["win_e2e_p50_ms"] / 1000.0, x["win_e2e_p99_ms"] / 1000.0),
            fmt(x.get("win_itl_p99_ms"), 1), pair(x, "cl_cores", "mk_cores"),
            pair(x, "cl_us_req", "mk_us_req", 0), pair(x, "cl_us_tok", "mk_us_tok", 1),
            pair(x, "cl_rss_kb_inflight", "mk_rss_kb_inflight", 1), num(x.get("cl_threads")),
            pair(x, "cl_fds", "mk_fds", 0), conns_text(x), "yes" if ok else "no: " + reason]


def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---:" if i else "---" for i in range(len(head))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)
