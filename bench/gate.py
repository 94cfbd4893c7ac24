#!/usr/bin/python3
"""gate.py - the bench regression gate: ratios measured in repeated rounds, judged with intervals.

    gate.py cells [--only W,...] [--backends B,...]   the gated cells, "WORKLOAD CLIENT C" lines
    gate.py validate BASELINE.json                    exit 0 when BASELINE is usable, else 2
    gate.py decide BASELINE.json REPS.json            exit 0 when every ratio is decided, 3 if not
    gate.py check  BASELINE.json REPS.json            verdict table; exit 0 pass, 1 regression
    gate.py update BASELINE.json REPS.json            write REPS as the new baseline

REPS is what `report.py gatereps` (or bench.sh's summary.json) holds: {"gate_reps": [{metric:
value}, ...], "measured": [workload, ...], "level": ..., "machine": {...}}, one object per round.

Why rounds and intervals: one cell moves by +-15% between runs on a shared 2-core machine,
so a single run's ratio cannot tell a 25% regression from a bad second. bench.sh runs the gated
cells in rounds (A B C, then C B A, so that a drift of the machine falls on both sides of a
ratio) and every round gives one value of each ratio. Per metric, with x_i = ln(value_i /
baseline) turned so that positive is worse:

    limit     the midpoint, on the log scale, between "no change" and a regression of the size
              the metric must catch (`regression`, 0.25 by default): x = ln(1/(1-r))/2 for a
              higher-is-better ratio (0.866 x baseline), ln(1+r)/2 for a lower-is-better one
              (1.118 x baseline). A clean run sits a half-regression below it, a regressed run
              a half-regression above it.
    interval  mean(x) +- t(0.975, df) * sqrt(s^2/n + s_b^2/n_b): this run's spread over its
              rounds and the baseline's own (stored with it), Welch's degrees of freedom.
    verdict   ok when the whole interval lies below the limit, FAIL when it lies wholly above,
              undecided otherwise; bench.sh runs more rounds while any metric is undecided,
              and at its last round an undecided metric is judged by its mean (said so).

A gated metric that this run did not measure because its workload or backend was left out is
"not measured", not a failure; one whose workload ran but which is absent fails. Standard
library only: CI needs nothing but /usr/bin/python3.
"""
import json
import math
import os
import sys

REGRESSION = 0.25  # the size of regression a gated ratio must catch

# The gated cells: (workload, client, concurrency). The points are ones both --quick and --full
# run; a round runs each once, in the order given (reversed every other round).
CELLS = [("throughput", "threaded", 100), ("throughput", "evented", 100),
         ("throughput", "wrk", 100), ("latency-bound", "threaded", 1000),
         ("latency-bound", "evented", 1000)]

# metric -> (cells it needs, better, definition)
METRICS = {
    "throughput.evented_over_threaded_rps@100":
        ((("throughput", "evented", 100), ("throughput", "threaded", 100)), "higher",
         "evented req/s / threaded req/s, zero latency, successes only"),
    "throughput.evented_cpu_vs_wrk@100":
        ((("throughput", "evented", 100), ("throughput", "wrk", 100)), "lower",
         "evented CPU per request / wrk's, same round"),
    "throughput.threaded_cpu_vs_wrk@100":
        ((("throughput", "threaded", 100), ("throughput", "wrk", 100)), "lower",
         "threaded CPU per request / wrk's, same round"),
    "latency-bound.evented_efficiency@1000":
        ((("latency-bound", "evented", 1000),), "higher",
         "ideal wall / measured wall, 100 ms mock latency"),
    "latency-bound.threaded_efficiency@1000":
        ((("latency-bound", "threaded", 1000),), "higher",
         "ideal wall / measured wall, 100 ms mock latency"),
    "latency-bound.evented_rss_kb_per_inflight@1000":
        ((("latency-bound", "evented", 1000),), "lower", "RSS growth per request in flight"),
    "latency-bound.threaded_rss_kb_per_inflight@1000":
        ((("latency-bound", "threaded", 1000),), "lower", "RSS growth per request in flight"),
}

# Ratios that hold across CPU models (memory per request depends on the libraries, not the CPU).
PORTABLE = {k for k in METRICS if "rss_kb_per_inflight" in k}

# Two-sided 95% Student t quantiles, by degrees of freedom (beyond the table: 1.96).
T975 = [0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t975(df):
    if df < 1:
        return float("inf")
    i = int(math.floor(df))
    return T975[i] if i < len(T975) else 1.96


def die(msg, code=2):
    print("gate: " + msg, file=sys.stderr)
    sys.exit(code)


def load(path, what):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        die("cannot read %s %s: %s" % (what, path, e))
    if not isinstance(doc, dict):
        die("%s %s: not a JSON object" % (what, path))
    return doc


def machine_key(machine):
    """The baseline entry a machine reads: ratios such as CPU per request against wrk's differ
    between CPU models by more than the noise (2.3 on one, 3.0 on another), so a baseline
    belongs to the model it was taken on."""
    return "%s, %s cores" % (machine.get("cpu", "?"), machine.get("cores", "?"))


def validate(base, path):
    machines = base.get("machines")
    if not isinstance(machines, dict) or not machines:
        die("%s: no \"machines\" object (a baseline per CPU model; rewrite it with bench/bench.sh "
            "--quick --update-baseline)" % path)
    for key, entry in machines.items():
        ms = entry.get("metrics") if isinstance(entry, dict) else None
        if not isinstance(ms, dict) or not ms:
            die("%s: machine %s has no \"metrics\" object" % (path, key))
        for name, m in ms.items():
            if name not in METRICS:
                die("%s: unknown metric %s (known: %s)" % (path, name, ", ".join(sorted(METRICS))))
            try:
                v, n, s = float(m["value"]), int(m.get("n", 1)), float(m.get("sd_log", 0.0))
                r = float(m.get("regression", REGRESSION))
            except (KeyError, TypeError, ValueError):
                die("%s: %s needs a numeric \"value\" (and n, sd_log, regression when given)" % (
                    path, name))
            if not v > 0 or n < 1 or s < 0 or not 0 < r < 1:
                die("%s: %s: value must be > 0, n >= 1, sd_log >= 0, 0 < regression < 1" % (
                    path, name))
            if m.get("better", METRICS[name][1]) != METRICS[name][1]:
                die("%s: %s is %s-is-better" % (path, name, METRICS[name][1]))
    return 0


def pick_baseline(base, reps_doc):
    """-> (metrics to judge, a line saying which baseline was used). An unknown machine is
    judged only on the ratios that do not depend on the CPU model (METRICS' portable ones),
    against the most recent baseline."""
    machines = base["machines"]
    key = machine_key(reps_doc.get("machine", {}))
    if key in machines:
        return machines[key]["metrics"], "baseline for %s, taken %s" % (
            key, machines[key].get("taken", "?"))
    latest = max(machines, key=lambda k: machines[k].get("taken", ""))
    ms = {k: v for k, v in machines[latest]["metrics"].items() if k in PORTABLE}
    return ms, ("no baseline for this machine (%s); only the ratios that do not depend on the "
                "CPU model are judged, against %s's: add one with --update-baseline" % (key, latest))


def worse_sign(name):
    return 1.0 if METRICS[name][1] == "lower" else -1.0


def limit_x(name, m):
    r = float(m.get("regression", REGRESSION))
    return (math.log(1 + r) if METRICS[name][1] == "lower" else math.log(1 / (1 - r))) / 2


def mean_sd(xs):
    n = len(xs)
    mu = sum(xs) / n
    sd = math.sqrt(sum((x - mu) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    return mu, sd


def judge(name, m, values):
    """-> dict: n, value (geometric mean), x (mean worse-log), lo, hi, lim, verdict."""
    xs = [worse_sign(name) * math.log(v / float(m["value"])) for v in values if v > 0]
    lim = limit_x(name, m)
    out = {"n": len(xs), "lim": lim}
    if not xs:
        out["verdict"] = "missing"
        return out
    mu, sd = mean_sd(xs)
    nb, sb = int(m.get("n", 1)), float(m.get("sd_log", 0.0))
    var = (sd * sd / len(xs) if len(xs) > 1 else 0.0) + (sb * sb / nb if nb > 1 else 0.0)
    if len(xs) > 1 and var > 0:
        # Welch-Satterthwaite degrees of freedom over the two samples
        parts = [(sd * sd / len(xs), len(xs) - 1)] + ([(sb * sb / nb, nb - 1)] if nb > 1 else [])
        df = var * var / sum(p * p / d for p, d in parts if d > 0)
        h = t975(df) * math.sqrt(var)
    else:
        h = float("inf") if len(xs) < 2 else 0.0
    out.update({"x": mu, "lo": mu - h, "hi": mu + h,
                "value": float(m["value"]) * math.exp(worse_sign(name) * mu)})
    if mu + h < lim:
        out["verdict"] = "ok"
    elif mu - h > lim:
        out["verdict"] = "FAIL"
    else:
        out["verdict"] = "undecided"
    return out


def measured(reps_doc, name):
    """Values of one metric over the rounds, and whether its workload ran at all."""
    values = [float(r[name]) for r in reps_doc.get("gate_reps", []) if name in r]
    wls = {c[0] for c in METRICS[name][0]}
    ran = wls <= set(reps_doc.get("measured", [])) and \
        {c[1] for c in METRICS[name][0]} <= set(reps_doc.get("clients", []))
    return values, ran


def check(metrics, reps_doc, final=True):
    """Print the table (when final); return (failed, undecided, judged)."""
    rows, failed, undecided, judged = [], 0, 0, 0
    for name in sorted(metrics):
        m = metrics[name]
        values, ran = measured(reps_doc, name)
        j = judge(name, m, values)
        sign = worse_sign(name)
        lim_v = float(m["value"]) * math.exp(sign * j["lim"])
        if j["verdict"] == "missing":
            verdict = "FAIL (missing)" if ran else "not measured"
            failed += 1 if ran else 0
            judged += 1 if ran else 0
            rows.append((name, "%.3f" % float(m["value"]), "-", "-",
                         ("min " if sign < 0 else "max ") + "%.3f" % lim_v, verdict))
            continue
        judged += 1
        v = j["verdict"]
        if v == "undecided":
            undecided += 1
            v = ("FAIL" if j["x"] > j["lim"] else "ok") + " (undecided at %d rounds: mean)" % j["n"]
        if v.startswith("FAIL"):
            failed += 1
        ends = sorted(float(m["value"]) * math.exp(sign * e) for e in (j["lo"], j["hi"]))
        ci = "[%.3f, %.3f]" % tuple(ends) if all(map(math.isfinite, ends)) else "-"
        rows.append((name, "%.3f" % float(m["value"]), "%.3f (%d)" % (j["value"], j["n"]), ci,
                     ("min " if sign < 0 else "max ") + "%.3f" % lim_v, v))
    if final:
        head = ("metric", "baseline", "this run (rounds)", "95% interval", "limit", "verdict")
        w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
        print("| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |")
        print("|" + "|".join("-" * (x + 2) for x in w) + "|")
        for r in rows:
            print("| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |")
    return failed, undecided, judged


def cmd_check(base, reps_doc):
    metrics, which = pick_baseline(base, reps_doc)
    print("gate: " + which)
    failed, _, judged = check(metrics, reps_doc)
    for line in reps_doc.get("failed_cells", []):
        # a gated cell that did not finish is a regression of its own, whatever the ratios say
        print("gate: FAIL: a gated cell failed: " + line)
        failed += 1
    if judged == 0:
        print("gate: nothing gated was measured in this run; no verdict", file=sys.stderr)
        return 2
    print("gate: %s (%d failures over %d measured metrics; limit: halfway to a %d%% "
          "regression)" % ("FAIL" if failed else "PASS", failed, judged, round(REGRESSION * 100)))
    return 1 if failed else 0


def cmd_decide(base, reps_doc):
    _, undecided, _ = check(pick_baseline(base, reps_doc)[0], reps_doc, final=False)
    return 3 if undecided else 0


def cmd_update(path, base, reps_doc):
    """Write this machine's entry from the rounds; other machines' entries stay as they are."""
    reps = reps_doc.get("gate_reps", [])
    mach = reps_doc.get("machine", {})
    machines = base.get("machines") if isinstance(base.get("machines"), dict) else {}
    entry = machines.setdefault(machine_key(mach), {})
    metrics = entry.setdefault("metrics", {})
    n_new = 0
    for name in sorted(METRICS):
        values = [float(r[name]) for r in reps if name in r and float(r[name]) > 0]
        if not values:
            continue
        mu, sd = mean_sd([math.log(v) for v in values])
        m = metrics.setdefault(name, {})
        m.update({"value": round(math.exp(mu), 4), "better": METRICS[name][1],
                  "n": len(values), "sd_log": round(sd, 4), "what": METRICS[name][2]})
        m.setdefault("regression", REGRESSION)
        n_new += 1
    if n_new == 0:
        die("the rounds hold no gated figure; baseline %s left alone" % path)
    entry["taken"] = mach.get("date", "?")
    entry["level"] = reps_doc.get("level", "?")
    entry["metrics"] = dict(sorted(metrics.items()))
    doc = {"comment": "bench/gate.py baseline, one entry per machine (CPU model, cores): per "
                      "metric the geometric mean of n rounds and the standard deviation of their "
                      "logs. Rewrite this machine's entry with bench/bench.sh --quick "
                      "--update-baseline. regression: the size of regression the gate must catch.",
           "machines": dict(sorted(machines.items()))}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    print("gate: baseline %s: %s written (%d metrics, %d rounds)" % (
        path, machine_key(mach), n_new, len(reps)))
    return 0


def cmd_cells(argv):
    only = backends = None
    while argv:
        if argv[0] in ("--only", "--backends") and len(argv) > 1:
            (only, backends) = (argv[1], backends) if argv[0] == "--only" else (only, argv[1])
            argv = argv[2:]
        else:
            die("cells: unknown argument %s" % argv[0])
    wls = set(only.split(",")) if only else None
    bes = set(backends.split(",")) if backends else None
    for w, c, conc in CELLS:
        if (wls is None or w in wls) and (bes is None or c not in ("threaded", "evented") or
                                          c in bes):
            print(w, c, conc)
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "cells":
        return cmd_cells(argv[2:])
    if len(argv) == 3 and argv[1] == "validate":
        return validate(load(argv[2], "baseline"), argv[2])
    if len(argv) != 4 or argv[1] not in ("check", "update", "decide"):
        sys.stderr.write(__doc__)
        return 2
    reps_doc = load(argv[3], "rounds")
    if argv[1] == "update":
        base = load(argv[2], "baseline") if os.path.exists(argv[2]) else {}
        return cmd_update(argv[2], base, reps_doc)
    base = load(argv[2], "baseline")
    validate(base, argv[2])
    return cmd_check(base, reps_doc) if argv[1] == "check" else cmd_decide(base, reps_doc)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
