#!/usr/bin/python3
"""gate.py - the bench regression gate: this run's machine-independent ratios against a baseline.

    gate.py check  BASELINE.json SUMMARY.json   verdict table; exit 0 pass, 1 regression, 2 usage
    gate.py update BASELINE.json SUMMARY.json   rewrite BASELINE's values from SUMMARY (keeps
                                                each metric's tolerance and direction)

SUMMARY is bench.sh's summary.json; only its "gate" object is read: {metric: value}. BASELINE:

    {"comment": "...",
     "metrics": {"throughput.evented_over_threaded_rps@100":
                     {"value": 1.3, "better": "higher", "tolerance": 0.35}, ...}}

A metric regresses when it is worse than value by more than tolerance, relative:
higher-is-better fails below value x (1 - tolerance), lower-is-better above value x (1 +
tolerance). A metric in the baseline but absent from the run fails (a gate that silently
measures nothing is no gate). Standard library only: CI needs nothing but /usr/bin/python3.
"""
import json
import os
import sys

DEFAULT_TOLERANCE = 0.35


def load(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print("gate: cannot read %s %s: %s" % (what, path, e), file=sys.stderr)
        sys.exit(2)


def default_tolerance(name):
    """A new metric's tolerance: CPU and memory ratios swing more than efficiency on a shared
    2-core machine; edit the baseline to tighten them on a quiet one."""
    if "cpu" in name or "rss" in name:
        return 0.5
    if "efficiency" in name:
        return 0.25
    return DEFAULT_TOLERANCE


def limit(m):
    v, tol = float(m["value"]), float(m.get("tolerance", DEFAULT_TOLERANCE))
    return v * (1 - tol) if m.get("better", "higher") == "higher" else v * (1 + tol)


def check(base, summary):
    metrics = base.get("metrics", {})
    got = summary.get("gate", {})
    if not metrics:
        print("gate: the baseline has no metrics", file=sys.stderr)
        return 2
    rows, failed = [], 0
    for name in sorted(metrics):
        m = metrics[name]
        lim = limit(m)
        higher = m.get("better", "higher") == "higher"
        if name not in got:
            verdict, val = "FAIL (missing)", "-"
            failed += 1
        else:
            v = float(got[name])
            ok = v >= lim if higher else v <= lim
            verdict = "ok" if ok else "FAIL"
            failed += 0 if ok else 1
            val = "%.3f" % v
        rows.append((name, "%.3f" % float(m["value"]), val,
                     ("min " if higher else "max ") + "%.3f" % lim, verdict))
    head = ("metric", "baseline", "this run", "limit", "verdict")
    w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    print("| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |")
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |")
    extra = sorted(set(got) - set(metrics))
    if extra:
        print("not gated (absent from the baseline): " + ", ".join(extra))
    print("gate: %s (%d of %d metrics regressed)" % ("FAIL" if failed else "PASS", failed,
                                                     len(rows)))
    return 1 if failed else 0


def update(path, base, summary):
    got = summary.get("gate", {})
    if not got:
        print("gate: %s has no gate figures; baseline left alone" % "SUMMARY", file=sys.stderr)
        return 2
    metrics = base.get("metrics", {})
    for name, v in got.items():
        m = metrics.setdefault(name, {"better": "lower" if ("cpu" in name or "rss" in name)
                                      else "higher", "tolerance": default_tolerance(name)})
        m["value"] = round(float(v), 4)
    base["metrics"] = dict(sorted(metrics.items()))
    base.setdefault("comment", "bench/gate.py baseline: rewrite with bench/bench.sh --quick "
                    "--update-baseline; tolerances are relative")
    base["level"] = summary.get("level", "?")
    base["machine"] = "%s, %s cores" % (summary.get("machine", {}).get("cpu", "?"),
                                        summary.get("machine", {}).get("cores", "?"))
    with open(path, "w") as f:
        json.dump(base, f, indent=2)
        f.write("\n")
    print("gate: baseline %s rewritten (%d metrics)" % (path, len(metrics)))
    return 0


def main(argv):
    if len(argv) != 4 or argv[1] not in ("check", "update"):
        sys.stderr.write(__doc__)
        return 2
    summary = load(argv[3], "summary")
    if argv[1] == "check":
        return check(load(argv[2], "baseline"), summary)
    base = load(argv[2], "baseline") if os.path.exists(argv[2]) else {}
    return update(argv[2], base, summary)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
