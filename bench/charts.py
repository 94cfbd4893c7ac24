"""charts.py - bench.sh's charts, drawn with gnuplot from report.py's cells.

One colour and one point shape per system across every chart; a log axis wherever a chart's
values span more than a decade; reference lines where a figure has a target (efficiency 0.9,
the SLO, the mock's latency); a cell that failed, or whose requests partly failed, drawn with an
open marker of its system's colour and counted in the key; a stamp (build, date, machine) in
the corner of each. Python 3 standard library; gnuplot from Debian (gnuplot-nox).
"""
import os
import subprocess

# One colour per system, the same in every chart (colour-blind-safe Okabe-Ito palette).
COLOURS = {"threaded": "#0072B2", "evented": "#D55E00", "wrk": "#009E73", "libcurl": "#CC79A7",
           "httpx": "#E69F00"}
POINTS = {"threaded": 7, "evented": 5, "wrk": 9, "libcurl": 11, "httpx": 13}  # filled shapes
SYSTEMS = ("threaded", "evented", "wrk", "libcurl", "httpx")
SPAN_FOR_LOG = 10.0  # a value axis that spans more than this factor gets a log scale


def flawed(c):
    """A cell whose figure does not stand for a clean run: it failed, timed out, or some of its
    requests failed."""
    return c.get("status") not in ("ok", None) or (c.get("failed") or 0) > 0


class Plotter:
    def __init__(self, outdir, stamp):
        self.ddir = os.path.join(outdir, "charts")
        self.stamp = stamp.replace("'", "")
        self.made = []

    def available(self):
        return subprocess.call(["sh", "-c", "command -v gnuplot >/dev/null"]) == 0

    def plot(self, name, title, xlabel, ylabel, lines, logx=True, logy=None, refs=(),
             yrange=None):
        """lines: [(system, label, [(x, y, flawed)])]; refs: [(axis 'x'|'y', value, label)].
        logy None: decided from the values' span."""
        lines = [(s, lab, pts) for s, lab, pts in lines if pts]
        if not lines:
            return
        os.makedirs(self.ddir, exist_ok=True)
        ys = [y for _, _, pts in lines for _, y, _ in pts if y > 0]
        if logy is None:
            logy = bool(ys) and max(ys) / min(ys) > SPAN_FOR_LOG
        dat = os.path.join(self.ddir, name + ".dat")
        plots, index = [], 0
        with open(dat, "w") as f:
            # gnuplot's `index` counts blocks between double blank lines and skips empty ones,
            # so only non-empty blocks are written, and counted
            for s, lab, pts in lines:
                colour, pt = COLOURS.get(s, "#000000"), POINTS.get(s, 1)
                bad = [(x, y) for x, y, b in pts if b]
                for part, style, key in (
                        ([(x, y) for x, y, _ in pts],
                         "lines dt 2 lw 1.5" if s == "target" else
                         "linespoints lw 2 pt %d ps 1.2" % pt, lab),
                        (bad, "points pt %d ps 2.6 lw 2" % (pt - 1),
                         "%s: %d cell(s) with failures" % (lab, len(bad)))):
                    if not part:
                        continue
                    f.write("# %s\n" % key)
                    for x, y in part:
                        f.write("%g %g\n" % (x, y))
                    f.write("\n\n")
                    plots.append("'%s.dat' index %d with %s lc rgb '%s' title '%s'" % (
                        name, index, style, colour, key))
                    index += 1
        gp = ["set terminal pngcairo size 900,560 noenhanced", "set output '%s.png'" % name,
              "set title '%s'" % title, "set xlabel '%s'" % xlabel, "set ylabel '%s'" % ylabel,
              "set grid", "set key outside right top", "set bmargin 5",
              "set label 1 '%s' at screen 0.99, screen 0.015 right font ',8' tc rgb '#666666'"
              % self.stamp]
        if logx:
            gp.append("set logscale x")
        if logy:
            gp.append("set logscale y")
        if yrange:
            gp.append("set yrange [%s:%s]" % yrange)
        for k, (axis, v, lab) in enumerate(refs, 2):
            if axis == "y":
                gp.append("set arrow %d from graph 0, first %g to graph 1, first %g nohead dt 2 "
                          "lw 1.5 lc rgb '#444444'" % (k, v, v))
                gp.append("set label %d '%s' at graph 0.01, first %g offset 0,0.6 font ',9' "
                          "tc rgb '#444444'" % (k + 20, lab, v))
            else:
                gp.append("set arrow %d from first %g, graph 0 to first %g, graph 1 nohead dt 2 "
                          "lw 1.5 lc rgb '#444444'" % (k, v, v))
                gp.append("set label %d '%s' at first %g, graph 0.97 offset 0.5,0 font ',9' "
                          "tc rgb '#444444'" % (k + 20, lab, v))
        gp.append("plot " + ", ".join(plots))
        with open(os.path.join(self.ddir, name + ".gp"), "w") as f:
            f.write("\n".join(gp) + "\n")
        if subprocess.call(["gnuplot", name + ".gp"], cwd=self.ddir) == 0:
            self.made.append((title, "charts/%s.png" % name))


def series(cells, client, xkey, ykey, scale=1.0):
    """Points of one system: (x, y, flawed); cells without the figure are left out."""
    return sorted((x[xkey], x[ykey] * scale, flawed(x)) for x in cells
                  if x["client"] == client and isinstance(x.get(ykey), (int, float))
                  and x.get(ykey) is not None and x.get("status") != "skipped"
                  and (x.get(ykey) or 0) > 0)


def charts(outdir, by_wl, confs, stamp, slo_rows):
    """Draw every chart the run has data for; -> [(title, relative png path)]."""
    p = Plotter(outdir, stamp)
    if not p.available():
        return []
    tp = by_wl.get("throughput", [])
    p.plot("throughput", "Throughput vs concurrency (zero mock latency; successes only)",
           "requests in flight", "successful req/s",
           [(c, c, series(tp, c, "concurrency", "rps")) for c in SYSTEMS])
    p.plot("cpu", "CPU per request vs concurrency (zero mock latency)", "requests in flight",
           "client CPU ms per request",
           [(c, c, series(tp, c, "concurrency", "cpu_per_1000")) for c in SYSTEMS])
    lb = by_wl.get("latency-bound", [])
    lat = float(confs.get("latency-bound", {}).get("ideal_ms") or 0)
    p.plot("rss", "Peak RSS vs concurrency (latency-bound)", "requests in flight", "MiB",
           [(c, c, series(lb, c, "concurrency", "rss_peak_kb", 1 / 1024.0)) for c in SYSTEMS],
           logy=True)
    p.plot("p99", "p99 latency vs concurrency (latency-bound)", "requests in flight", "ms",
           [(c, c, series(lb, c, "concurrency", "e2e_p99_ms")) for c in SYSTEMS],
           refs=[("y", lat, "mock latency %g ms" % lat)] if lat else (), logy=True,
           yrange=("%g" % (lat * 0.8), "*") if lat else None)
    p.plot("efficiency", "Efficiency vs concurrency (latency-bound)", "requests in flight",
           "ideal wall / measured wall",
           [(c, c, series(lb, c, "concurrency", "efficiency")) for c in SYSTEMS],
           refs=[("y", 0.9, "0.9")], logy=False, yrange=("0", "1.1"))
    st = by_wl.get("streaming", [])
    lines = []
    for c in ("threaded", "evented"):
        lines += [(c, c + " TTFT p50", series(st, c, "concurrency", "ttft_p50_ms")),
                  (c, c + " TTFT p99", series(st, c, "concurrency", "ttft_p99_ms")),
                  (c, c + " ITL p99", series(st, c, "concurrency", "itl_p99_ms"))]
    p.plot("streaming", "Streaming: time to first token and inter-token latency",
           "requests in flight", "ms", lines, logy=True)
    er = by_wl.get("errors", [])
    lines = []
    for c in ("threaded", "evented"):
        lines += [(c, c + " successes %", series(er, c, "concurrency", "ok_share", 100.0)),
                  (c, c + " retries per request", series(er, c, "concurrency", "retries_per_req"))]
    p.plot("errors", "Injected errors: share that succeeded, retries per request",
           "requests in flight", "% / retries", lines, logy=False)
    ol = by_wl.get("open-loop", [])
    slo_ms = slo_bound_ms(confs.get("slo-search", {}).get("slo", ""))
    p.plot("open_loop", "Latency vs offered load (Poisson; p99 from each intended send)",
           "offered req/s", "p99 ms",
           [(c, c, series(ol, c, "rate", "corrected_p99_ms")) for c in ("threaded", "evented")],
           refs=[("y", slo_ms, "SLO %g ms" % slo_ms)] if slo_ms else (), logy=True)
    sl = by_wl.get("slo-search", [])
    share = float(confs.get("slo-search", {}).get("slo_share") or 0)
    p.plot("slo_search", "SLO search: goodput share of each probe", "offered req/s",
           "share within the SLO",
           [(c, c, series(sl, c, "rate", "goodput_share")) for c in ("threaded", "evented")],
           refs=([("y", share, "required %g" % share)] if share else []) +
           [("x", float(r), "%s: %s req/s" % (b, r)) for b, r in slo_rows if float(r) > 0],
           logy=False, yrange=("0", "1.05"))
    bu = by_wl.get("burst-turnaround", [])
    min_eff = float(confs.get("burst-turnaround", {}).get("min_efficiency") or 0.9)
    p.plot("burst", "Burst turnaround: efficiency vs requests started at once (1 s each)",
           "requests started together", "ideal wall / measured wall",
           [(c, c, series(bu, c, "concurrency", "efficiency")) for c in ("threaded", "evented")],
           refs=[("y", min_eff, "%g" % min_eff)], logy=False, yrange=("0", "1.1"))
    for wl in sorted(w for w in by_wl if confs.get(w, {}).get("mode") == "ceiling"):
        ce = [x for x in by_wl[wl] if x.get("window")]
        targets = sorted({x["target"] for x in ce})
        p.plot(wl.replace("-", "_"), "Steady-state ceiling%s: requests in flight held vs target "
               "(long streams)" % ("" if wl == "ceiling" else ", " + wl),
               "target in flight", "mean in flight on the wire (steady window)",
               [("target", "target", [(t, t, False) for t in targets])] +
               [(c, c, series(ce, c, "target", "in_flight")) for c in ("threaded", "evented")],
               logy=True)
    return p.made


def slo_bound_ms(spec):
    """The e2e bound of an SLO spec such as 'e2e=50' (0 when none)."""
    for part in spec.split(","):
        k, _, v = part.partition("=")
        if k.strip() == "e2e":
            try:
                return float(v)
            except ValueError:
                return 0.0
    return 0.0
