"""transport.py - the transport workload (bench/workloads/transport.conf, bench/lib/transport.sh):
each cell's connection and handshake figures, h2load's output as a run-like JSON, the mock's own
counts from its /metrics, and the report's transport section. Python 3 standard library;
report.py imports it (and bench.sh reaches it through `report.py h2load2json` and `mockfigs`).

A cell is PROTO/REUSE/RTT (cells.tsv's 11th column): h1, h1-tls or h2-tls; pool or new; the
round trip mockllm emulated, in ms. Connections and handshakes are llmload's own counts for the
backends (results.requests: connects, tls_handshakes_full/_resumed, requests_per_connection)
and mockllm's (raw/TAG.mock.json, read from /metrics before it stopped) for wrk and h2load,
which count neither.
"""
import json
import re
import ssl
import urllib.request

PROTOCOLS = (("h1", "HTTP/1.1"), ("h1-tls", "HTTP/1.1 + TLS"), ("h2-tls", "HTTP/2 + TLS"))
REUSE = (("pool", "shared pool"), ("new", "new per request"))
CLIENT_ORDER = ("threaded", "evented", "wrk", "h2load")
BACKENDS = ("threaded", "evented")


def dig(doc, path, default=None):
    for k in path.split("."):
        if not isinstance(doc, dict) or k not in doc or doc[k] is None:
            return default
        doc = doc[k]
    return doc


def parse_cell(text):
    """'h2-tls/new/20' -> ('h2-tls', 'new', 20); None when it is not a cell."""
    m = re.match(r"^([\w-]+)/(\w+)/(\d+)$", text or "")
    return (m.group(1), m.group(2), int(m.group(3))) if m else None


# --- the mock's own counts ---------------------------------------------------------------------
def parse_metrics(text, tls):
    """mockllm's /metrics text -> its counts, less the scrape's own connection (and, over TLS,
    its own full handshake: a fresh client has no session to resume)."""
    m = {"connections": 0, "tls_full": 0, "tls_resumed": 0, "requests": 0, "h2_connections": 0,
         "h2_streams": 0}
    names = {"mockllm_connections_total": "connections", "mockllm_h2_connections_total":
             "h2_connections", "mockllm_h2_streams_total": "h2_streams"}
    seen = False
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, v = line.rpartition(" ")
        base = name.split("{")[0]
        try:
            v = float(v)
        except ValueError:
            continue
        if base in names:
            m[names[base]] += v
            seen = seen or base == "mockllm_connections_total"
        elif base == "mockllm_tls_handshakes_total":
            m["tls_full" if 'kind="full"' in name else "tls_resumed"] += v
        elif base == "mockllm_requests_total":
            m["requests"] += v
    if not seen:
        return None
    m["connections"] -= 1
    if tls:
        m["tls_full"] -= 1
    return {k: int(v) for k, v in m.items()}


def mock_figures(url, cafile):
    """Scrape a running mockllm (HTTP/1.1, one connection; cafile '-' for cleartext) -> JSON
    text of parse_metrics, or {"error": why}."""
    ctx = ssl.create_default_context(cafile=cafile) if cafile != "-" else None
    try:
        text = urllib.request.urlopen(url, timeout=10, context=ctx).read().decode()
    except (OSError, ValueError) as e:
        return json.dumps({"error": str(e)})
    got = parse_metrics(text, cafile != "-")
    return json.dumps(got if got is not None else {"error": "no mockllm_connections_total"})


# --- h2load ------------------------------------------------------------------------------------
def percentile(sorted_ms, q):
    """Nearest rank, as llmload's histograms report (q in 0..100)."""
    if not sorted_ms:
        return None
    k = max(0, min(len(sorted_ms) - 1, int(-(-q * len(sorted_ms) // 100)) - 1))
    return sorted_ms[k]


def h2load2json(out_path, log_path, time_path, conc, conns):
    """h2load's summary, its --log-file (start us, status, us to the end of the response, one
    line a request) and /usr/bin/time's 'user sys maxrss' -> a run-like JSON (as wrk2json)."""
    text = open(out_path, errors="replace").read()
    wall = 0.0
    m = re.search(r"finished in ([\d.]+)(ms|s)", text)
    if m:
        wall = float(m.group(1)) * (1e-3 if m.group(2) == "ms" else 1.0)
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded", text)
    started, done, ok = (int(m.group(i)) for i in (2, 3, 4)) if m else (0, 0, 0)
    lat = []
    try:
        for line in open(log_path):
            f = line.split("\t")
            if len(f) >= 3 and f[1].strip().startswith("2"):
                lat.append(int(f[2]) / 1000.0)
    except (OSError, ValueError):
        lat = []
    lat.sort()
    user = sys_ = 0.0
    maxrss = 0
    try:
        user, sys_, maxrss = open(time_path).read().split()[-3:]
        user, sys_, maxrss = float(user), float(sys_), int(maxrss)
    except (OSError, ValueError):
        pass
    cpu = user + sys_
    doc = {
        "tool": "h2load",
        "config": {"backend": "h2load", "mode": "closed", "concurrency": conc,
                   "connections": conns},
        "results": {
            "requests": {"wall_s": wall, "throughput_rps": ok / wall if wall else 0.0,
                         "submitted": started, "completed": done, "succeeded": ok,
                         "failed": done - ok, "retries": 0},
            "latency": {"e2e": {"p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90),
                                "p99_ms": percentile(lat, 99), "max_ms": lat[-1] if lat else None}},
            "resources": {"cpu_user_s": user, "cpu_sys_s": sys_,
                          "cpu_s_per_1000_requests": cpu * 1000.0 / ok if ok else None,
                          "rss_peak_kb": maxrss, "threads_peak": 1},
        },
    }
    return json.dumps(doc, indent=1)


# --- a cell's figures --------------------------------------------------------------------------
def fields(c, doc, mock):
    """The transport figures into report.py's cell dict c: from the run's JSON (doc) for the
    backends, from the mock's counts (mock, parse_metrics' dict or None) for the peers."""
    cell = parse_cell(c.get("cell"))
    if cell:
        c["protocol"], c["reuse"], c["rtt_ms"] = cell
    tls = bool(cell) and cell[0].endswith("-tls")
    mock = mock if mock and "error" not in mock else None
    for k in ("connections", "tls_full", "tls_resumed", "requests"):
        c["mock_" + k] = mock.get(k) if mock else None
    if c.get("mock_requests") and c.get("mock_cpu_s"):
        c["mock_cpu_us"] = c["mock_cpu_s"] * 1e6 / c["mock_requests"]
    if c.get("cpu_per_1000") is not None:
        c["cpu_us"] = c["cpu_per_1000"] * 1000.0
    if c["client"] in BACKENDS and doc is not None:
        req = dig(doc, "results.requests", {})
        c["conns"] = req.get("connects")
        c["tls_full"] = req.get("tls_handshakes_full") if tls else None
        c["tls_resumed"] = req.get("tls_handshakes_resumed") if tls else None
        c["req_per_conn"] = req.get("requests_per_connection")
        c["tls_p50_ms"] = dig(doc, "results.latency.tls.p50_ms") if tls else None
    elif mock:
        c["conns"] = mock["connections"]
        c["tls_full"] = mock["tls_full"] if tls else None
        c["tls_resumed"] = mock["tls_resumed"] if tls else None
        c["req_per_conn"] = mock["requests"] / mock["connections"] if mock["connections"] else None


# --- the report section ------------------------------------------------------------------------
def _key(c):
    p = [k for k, _ in PROTOCOLS]
    r = [k for k, _ in REUSE]
    return (c.get("rtt_ms", 0), p.index(c["protocol"]) if c.get("protocol") in p else 9,
            r.index(c["reuse"]) if c.get("reuse") in r else 9,
            CLIENT_ORDER.index(c["client"]) if c["client"] in CLIENT_ORDER else 9)


def _name(c):
    return "%s ms, %s, %s, %s" % (c.get("rtt_ms", "?"), dict(PROTOCOLS).get(c.get("protocol"), "?"),
                                  dict(REUSE).get(c.get("reuse"), "?"), c["client"])


def problems(c, why_failed):
    """What went wrong in one cell, as a sentence ('' when nothing did). why_failed(log) gives
    ': <the log's last line>'."""
    if c["status"] == "skipped":
        return "skipped (%s not installed)" % c["client"]
    if c["status"] != "ok":
        return "the run %s (exit %s)%s" % (
            "hit its time limit" if c["status"] == "timeout" else "failed", c["rc"],
            why_failed(c.get("log") or ""))
    out = []
    if c.get("failed"):
        classes = ", ".join("%s %d" % (k[4:], v) for k, v in sorted(c.items())
                            if k.startswith("err_") and v)
        out.append("%d of %d requests failed%s" % (c["failed"], c.get("requests", 0),
                                                  " (%s)" % classes if classes else ""))
    if c["client"] in BACKENDS and c.get("mock_connections") is not None:
        mine = (c.get("conns"), c.get("tls_full"), c.get("tls_resumed"))
        theirs = (c["mock_connections"],) + ((c["mock_tls_full"], c["mock_tls_resumed"])
                                             if c.get("tls_full") is not None else (None, None))
        if mine != theirs:
            out.append("llmload counted %s connections (TLS %s full, %s resumed), mockllm %s (%s, %s)"
                       % (mine + theirs))
    return "; ".join(out)


def section(cells, conf, wsum, machine, fmt, md_table, why_failed):
    """report.md's transport section: a table per round trip with every cell's figures, what a
    shared pool saves against a new connection per request, the known limits, and a line per
    cell on what failed."""
    cells = sorted((c for c in cells if c.get("protocol")), key=_key)
    md = ["Closed loop, %s in flight, zero mock latency, %s s a cell (llmload --duration, wrk -d, "
          "h2load -D); req/s over successes; CPU µs/req the client's (user + system) and the "
          "mock's per request it served. Connections and TLS handshakes: llmload's own counts; "
          "for wrk and h2load, which count neither, mockllm's (its /metrics, less the scrape's "
          "own connection). TLS p50: curl's TLS phase of the requests that opened a connection."
          % (conf.get("concurrency", "?"), conf.get("duration", "?")), ""]
    head = ["transport", "reuse", "client", "req/s", "p50 ms", "p99 ms", "CPU µs/req",
            "mock CPU µs/req", "connections opened", "TLS full", "TLS resumed", "req/conn",
            "TLS p50 ms", "failed"]
    cols = [("rps", "num"), ("e2e_p50_ms", "ms"), ("e2e_p99_ms", "ms"), ("cpu_us", "num"),
            ("mock_cpu_us", "num"), ("conns", "int"), ("tls_full", "int"),
            ("tls_resumed", "int"), ("req_per_conn", "num"), ("tls_p50_ms", "ms"),
            ("failed", "int")]
    for rtt in sorted({c["rtt_ms"] for c in cells}):
        rows = []
        for c in (x for x in cells if x["rtt_ms"] == rtt):
            row = [dict(PROTOCOLS)[c["protocol"]], dict(REUSE).get(c["reuse"], c["reuse"]),
                   c["client"]]
            for key, kind in cols:
                if c["status"] == "skipped":
                    row.append("skipped")
                    continue
                s = fmt(c.get(key), kind)
                row.append(s if c["status"] == "ok" or s == "-" else "%s (%s)" % (s, c["status"]))
            rows.append(row)
            wsum["%s/%s" % (c["cell"], c["client"])] = {
                k: c.get(k) for k, _ in cols if c.get(k) is not None}
        md += ["**Round trip %d ms** (mockllm --rtt-ms %d)" % (rtt, rtt), "", md_table(head, rows), ""]
    md += savings(cells, fmt, md_table)
    md += limits(cells, machine)
    lines = [(c, problems(c, why_failed)) for c in cells]
    lines = ["- %s: %s" % (_name(c), p) for c, p in lines if p]
    md += ["**What failed, cell by cell**", ""]
    md += lines or ["- nothing: every request of every cell succeeded, and llmload's connection "
                    "and handshake counts equal mockllm's"]
    return md


def savings(cells, fmt, md_table):
    """Shared pool against a new connection per request, per round trip, transport and client."""
    rows = []
    for c in cells:
        if c["reuse"] != "pool":
            continue
        new = [x for x in cells if x["reuse"] == "new" and x["client"] == c["client"] and
               x["protocol"] == c["protocol"] and x["rtt_ms"] == c["rtt_ms"]]
        if not new or c["status"] != "ok" or new[0]["status"] != "ok":
            continue
        n = new[0]
        ratio = c["rps"] / n["rps"] if c.get("rps") and n.get("rps") else None
        rows.append(["%d ms" % c["rtt_ms"], dict(PROTOCOLS)[c["protocol"]], c["client"],
                     fmt(c.get("rps"), "num"), fmt(n.get("rps"), "num"), fmt(ratio, "ratio"),
                     fmt(c.get("cpu_us"), "num"), fmt(n.get("cpu_us"), "num")])
    if not rows:
        return []
    return ["**What the shared pool saves** (the same client and transport, a new connection "
            "per request against a shared pool)", "",
            md_table(["round trip", "transport", "client", "req/s shared pool",
                      "req/s new per request", "pool / new", "CPU µs/req pool",
                      "CPU µs/req new"], rows), ""]


def limits(cells, machine):
    """The known limits of this libcurl and the peers, stated with this run's figures."""
    md = ["**Known limits** (libcurl %s in this run)" % machine.get("curl", "?"), "",
          "- HTTP/2 is measured over TLS only: libcurl 7.88 cannot reuse an h2c (cleartext "
          "HTTP/2) connection (curl issue 10634, fixed in 8.0), so llmload gives h2c a new "
          "connection per request whatever the pool."]
    h2 = [c for c in cells if c["protocol"] == "h2-tls" and c["reuse"] == "new" and
          c["client"] in BACKENDS and c.get("tls_full") is not None]
    h1 = [c for c in cells if c["protocol"] == "h1-tls" and c["reuse"] == "new" and
          c["client"] in BACKENDS and c.get("tls_full") is not None]
    part = lambda xs: ", ".join("%s %s ms %d of %d full" % (  # noqa: E731
        c["client"], c["rtt_ms"], c["tls_full"], c["tls_full"] + (c.get("tls_resumed") or 0))
        for c in xs)
    md.append("- HTTP/2 + TLS with a new connection per request: most of those handshakes are "
              "full ones, with their CPU and round trips, where HTTP/1.1 over TLS resumes most "
              "sessions (curl 7.88 says it re-uses the session, mockllm counts a full handshake; "
              "openssl s_client resumes over h2 against the same mockllm: the cause is not "
              "established)%s." % (
                  " (this run: %s; HTTP/1.1 + TLS: %s)" % (part(h2), part(h1)) if h2 else ""))
    md.append("- wrk's latency runs from its request's write: with `Connection: close` it leaves "
              "out the connect and TLS handshake that llmload's e2e includes, and wrk resumes its "
              "TLS sessions. h2load carries its streams on one connection (as the evented backend "
              "multiplexes), its percentiles from its per-request log; it has no connection-per-"
              "request mode, so no h2load cell stands beside HTTP/2 new per request.")
    md.append("- The round trip is mockllm's (`--rtt-ms`: input acted on RTT/2 late, output sent "
              "RTT/2 late): the kernel completes the TCP handshake at once, so a new connection's "
              "round trip for it is added to its first bytes, and shows in the TLS phase over "
              "HTTPS (TLS p50) and in the first request's time to first byte over cleartext; "
              "curl's connect phase stays near 0.")
    return md + [""]
