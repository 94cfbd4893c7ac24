#!/usr/bin/python3
"""test_bench_gate.py GATE_PY ROUNDS.json - the bench gate passes clean runs and fails a 25%
regression of any gated ratio, judged on rounds recorded from real bench runs on this project's
machine (tests/data/gate_rounds.json: `bench/bench.sh --quick --only throughput,latency-bound
--update-baseline X --reps 12` several times in a row, each run's rounds kept; see that file's
"how"). The gate is driven as bench.sh drives it: `gate.py decide` after every round from the
fifth on, `check` once decided or at the last round.

    clean       the first run is the baseline; each of the next five runs passes
    regressed   each gated ratio of each of those runs made 25% worse on its own (x0.75 higher-
                is-better, x1.25 lower-is-better): the gate fails and names that ratio alone
    missing     a ratio absent from every round while its workload ran: FAIL (missing)
    partial     only the throughput workload ran: its ratios judged, the others not measured
    cellfail    a gated cell that exited non-zero fails the gate, whatever the ratios
    othercpu    a machine with no baseline of its own: only the portable ratios are judged
    badbase     a malformed baseline is refused with exit 2
Exit 0 when every case holds; each failure is printed.
"""
import json
import os
import subprocess
import sys
import tempfile

GATE, FIXTURE = sys.argv[1], sys.argv[2]
PY = "/usr/bin/python3"
MIN_ROUNDS = 5  # bench.sh asks gate.py decide from the fifth round on
sys.path.insert(0, os.path.dirname(os.path.abspath(GATE)))
sys.dont_write_bytecode = True
import gate  # noqa: E402

fx = json.load(open(FIXTURE))
RUNS = fx["runs"]
MACHINE = fx["machine"]
WORKLOADS = sorted({c[0] for c in gate.CELLS})
CLIENTS = sorted({c[1] for c in gate.CELLS})
work = tempfile.mkdtemp()
errors = []


def doc(rounds, measured=WORKLOADS, clients=CLIENTS, failed=(), machine=MACHINE):
    return {"level": "quick", "machine": machine, "gate_reps": rounds, "failed_cells": list(failed),
            "measured": list(measured), "clients": list(clients)}


def write(name, obj):
    p = os.path.join(work, name)
    with open(p, "w") as f:
        json.dump(obj, f)
    return p


def gate_cmd(*args):
    r = subprocess.run([PY, GATE] + list(args), capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def run_gate(base, rounds, **kw):
    """As bench.sh: decide after each round from MIN_ROUNDS on; check at the stop."""
    k = min(MIN_ROUNDS, len(rounds))
    while k < len(rounds):
        rc, _ = gate_cmd("decide", base, write("reps.json", doc(rounds[:k], **kw)))
        if rc == 0:
            break
        k += 1
    rc, out = gate_cmd("check", base, write("reps.json", doc(rounds[:k], **kw)))
    return rc, out, k


def verdicts(out):
    v = {}
    for line in out.splitlines():
        cols = [c.strip() for c in line.strip("|").split("|")]
        if len(cols) == 6 and cols[0] in gate.METRICS:
            v[cols[0]] = cols[5]
    return v


def expect(cond, what, out=""):
    if not cond:
        errors.append(what + ("\n" + out if out else ""))


base = os.path.join(work, "baseline.json")
rc, out = gate_cmd("update", base, write("r0.json", doc(RUNS[0])))
expect(rc == 0, "update from run 0 failed", out)
clean = RUNS[1:6]
expect(len(clean) == 5, "the fixture needs a baseline run and five more, has %d" % len(RUNS))

# clean: five runs in a row pass
for i, rounds in enumerate(clean, 1):
    rc, out, k = run_gate(base, rounds)
    expect(rc == 0 and "gate: PASS" in out, "clean run %d failed the gate (%d rounds)" % (i, k), out)
    print("clean run %d: exit %d after %d rounds" % (i, rc, k))

# regressed: every gated ratio, 25% worse on its own, in each of the five runs
for name in sorted(gate.METRICS):
    factor = 0.75 if gate.METRICS[name][1] == "higher" else 1.25
    caught = 0
    for i, rounds in enumerate(clean, 1):
        bad = [dict(r, **{name: r[name] * factor}) if name in r else r for r in rounds]
        rc, out, k = run_gate(base, bad)
        v = verdicts(out)
        others = [n for n, x in v.items() if n != name and x.startswith("FAIL")]
        ok = rc == 1 and v.get(name, "").startswith("FAIL") and not others
        caught += ok
        expect(ok, "%s x%.2f in run %d: not caught alone (exit %d, %d rounds)" % (
            name, factor, i, rc, k), out)
    print("%s x%.2f: caught in %d of %d runs" % (name, factor, caught, len(clean)))

# missing: a ratio absent from every round of a run whose workload ran
name = sorted(gate.METRICS)[0]
rounds = [{k: v for k, v in r.items() if k != name} for r in clean[0]]
rc, out, _ = run_gate(base, rounds)
expect(rc == 1 and verdicts(out).get(name) == "FAIL (missing)", "missing %s not failed" % name, out)

# partial: only the throughput workload ran
tp = [{k: v for k, v in r.items() if k.startswith("throughput.")} for r in clean[0]]
rc, out, _ = run_gate(base, tp, measured=["throughput"])
v = verdicts(out)
expect(rc == 0 and all(x == "not measured" for n, x in v.items() if n.startswith("latency-bound."))
       and all(x.startswith("ok") for n, x in v.items() if n.startswith("throughput.")),
       "a throughput-only run was not judged on its own ratios alone", out)

# cellfail: a gated cell that failed in one round
rc, out, _ = run_gate(base, clean[0], failed=["round 2: throughput evented C=100 failed (exit 1)"])
expect(rc == 1 and "a gated cell failed" in out, "a failed gated cell passed the gate", out)

# othercpu: no baseline for this CPU model
other = dict(MACHINE, cpu="Some Other CPU")
rc, out, _ = run_gate(base, clean[0], machine=other)
v = verdicts(out)
expect(rc == 0 and "no baseline for this machine" in out and set(v) == gate.PORTABLE,
       "an unknown machine was judged on CPU-dependent ratios", out)

# badbase: a baseline without machines, and one with a bad value
for bad in ({"metrics": {}}, {"machines": {"x": {"metrics": {name: {"value": -1}}}}}):
    rc, out = gate_cmd("validate", write("bad.json", bad))
    expect(rc == 2, "a malformed baseline was accepted: %s" % json.dumps(bad), out)

for e in errors:
    print("FAIL: " + e)
print("test_bench_gate: %s" % ("FAILED (%d)" % len(errors) if errors else "ok"))
sys.exit(1 if errors else 0)
