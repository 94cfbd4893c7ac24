"""merge_check.py - independent arithmetic over llmload's exact results (issue 16), for the
merge tests: histograms re-added from the agents' sparse buckets and percentiles re-computed
with the rule ll_hist.h states, written here from the layout alone (not from the C code).

    merge_check.py pct MERGED.json AGENT.json...     the merged e2e/corrected/ttft percentiles
                                                     equal those of the agents' summed buckets
    merge_check.py series MERGED.json AGENT.json...  the merged 1 s windows are the agents'
                                                     windows added, aligned by their starts
    merge_check.py schedule RATE AGENT.json...       each agent's intended sends are the global
                                                     constant schedule's arrivals i, i+N, ...
    merge_check.py same A.json B.json                the same results and exact figures
    merge_check.py versus ONE.json MERGED.json J_MS  a split run against a one-host run
Exit 0 when the claim holds, 1 with a line saying what differs.
"""
import datetime
import json
import math
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def upper(i, layout):
    """The largest value bucket i holds (ll_hist.h: octave 0 exact, octave k >= 1 buckets of
    width 2^(k-1) starting at SUB << (k-1))."""
    sub_n = 1 << layout["sub_bits"]
    octave, sub = divmod(i, sub_n)
    if octave == 0:
        return sub
    shift = octave - 1
    return ((sub_n + sub) << shift) + (1 << shift) - 1


def percentile(h, p, layout):
    """Rank ceil(p/100 n) (at least 1), its bucket's upper edge clamped to [min, max]."""
    if h["n"] == 0:
        return None
    if p <= 0:
        return h["min"]
    if p >= 100:
        return h["max"]
    rank = max(1, math.ceil(p / 100.0 * h["n"]))
    seen = 0
    for i, c in h["buckets"]:
        seen += c
        if seen >= rank:
            return min(max(upper(i, layout), h["min"]), h["max"])
    return h["max"]


def add(hists):
    counts, n, lo, hi = {}, 0, None, None
    for h in hists:
        for i, c in h["buckets"]:
            counts[i] = counts.get(i, 0) + c
        if h["n"]:
            n += h["n"]
            lo = h["min"] if lo is None else min(lo, h["min"])
            hi = h["max"] if hi is None else max(hi, h["max"])
    return {"n": n, "min": lo or 0, "max": hi or 0, "buckets": sorted(counts.items())}


def cmd_pct(merged, agents):
    m = load(merged)
    layout = m["exact"]["layout"]["histogram"]
    parts = [load(a) for a in agents]
    for name in ("e2e", "corrected", "ttft"):
        if name not in m["exact"]["histograms"]:
            continue
        summed = add(p["exact"]["histograms"][name] for p in parts)
        if summed["n"] == 0:
            continue
        for p in (50, 90, 99, 99.9):
            want = percentile(summed, p, layout) / 1e6
            key = "p%s_ms" % ("%g" % p).replace(".", "")
            got = m["results"]["latency"][name][key]
            if abs(got - want) > 1e-9 * max(1.0, want):
                print("%s %s: merged %r, the agents' summed buckets give %r" % (name, key, got, want))
                return 1
        if m["results"]["latency"][name]["count"] != summed["n"]:
            print("%s count %r, the agents' %r" % (name, m["results"]["latency"][name]["count"], summed["n"]))
            return 1
    return 0


def utc_ns(text):
    """RFC 3339 with nine fraction digits and Z -> ns since the epoch."""
    head, frac = text.rstrip("Z").split(".")
    t = datetime.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 10**9 + int(frac.ljust(9, "0"))


def cmd_series(merged, agents):
    m = load(merged)
    origin = utc_ns(m["exact"]["start_utc"])
    rows = m["exact"]["series"]["rows"]
    want = [[0] * len(rows[0]) for _ in rows]
    for a in agents:
        d = load(a)
        off = round((utc_ns(d["exact"]["start_utc"]) - origin) / 1e9)
        for k, r in enumerate(d["exact"]["series"]["rows"]):
            if off + k >= len(want):
                print("%s: window %d beyond the merged %d" % (a, off + k, len(want)))
                return 1
            want[off + k] = [x + y for x, y in zip(want[off + k], r)]
    for k, (g, w) in enumerate(zip(rows, want)):
        if g[:-1] != w[:-1] or abs(g[-1] - w[-1]) > 1e-9 * max(1.0, w[-1]):
            print("window %d: merged %r, the agents' %r" % (k, g, w))
            return 1
    if sum(r[0] for r in rows) != m["results"]["requests"]["submitted"]:
        print("the windows' sends do not add up to the submitted requests")
        return 1
    return 0


def cmd_schedule(rate, agents):
    for a in agents:
        d = load(a)
        f = d["exact"]["fields"]
        i, n = d["segment"]["index"], d["segment"]["count"]
        share = d["segment"]["requests"]
        period = 1e9 / float(rate)
        first, last = i * period, (i + (share - 1) * n) * period
        # the schedule's own clock is a sum of doubles, truncated to whole ns: allow 1 us
        if abs(f["intended_first"] - first) > 1000 or abs(f["intended_last"] - last) > 1000:
            print("%s: intended sends %r..%r ns after the start, the global schedule's arrivals "
                  "%d, %d, ... give %r..%r" % (a, f["intended_first"], f["intended_last"], i, i + n,
                                             first, last))
            return 1
        if f["sends_scheduled"] != share:
            print("%s: %r scheduled sends, its share is %r" % (a, f["sends_scheduled"], share))
            return 1
    return 0


def differ(x, y, path):
    """The first path where x and y differ; floats within 1e-12 relative (sums of doubles added
    in another order differ in their last bits), everything else exactly."""
    if isinstance(x, dict) and isinstance(y, dict):
        for k in sorted(set(x) | set(y)):
            d = differ(x.get(k), y.get(k), path + "." + k)
            if d:
                return d
        return None
    if isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            return "%s (length %d vs %d)" % (path, len(x), len(y))
        for i, (a, b) in enumerate(zip(x, y)):
            d = differ(a, b, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    if isinstance(x, float) or isinstance(y, float):
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and \
                abs(x - y) <= 1e-12 * max(abs(x), abs(y)):
            return None
    return None if x == y else "%s (%r vs %r)" % (path, x, y)


def cmd_same(a, b):
    x, y = load(a), load(b)
    for key in ("results", "exact"):
        d = differ(x[key], y[key], key)
        if d:
            print("%s and %s differ at %s" % (a, b, d))
            return 1
    return 0


def cmd_versus(one, merged, jitter_ms):
    """A split run against a one-host run of the same workload (test_multihost.sh explains the
    tolerance): the same counts exactly; e2e p50/p90/p99 within the stated relative error of the
    one-host figure plus the allowance for the client path; throughput within 5%."""
    a, b = load(one), load(merged)
    ra, rb = a["results"]["requests"], b["results"]["requests"]
    bad = 0
    for k in ("submitted", "succeeded", "failed", "cancelled"):
        print("  %-22s one host %10d   merged %10d" % (k, ra[k], rb[k]))
        if ra[k] != rb[k]:
            print("  FAIL: %s differs" % k)
            bad = 1
    rel = 1.0 / (1 << a["exact"]["layout"]["histogram"]["sub_bits"])
    for p in ("p50", "p90", "p99"):
        x = a["results"]["latency"]["e2e"][p + "_ms"]
        y = b["results"]["latency"]["e2e"][p + "_ms"]
        tol = x * rel + float(jitter_ms)
        print("  e2e %-18s one host %10.3f   merged %10.3f   |diff| %7.3f ms  (stated error "
              "%.3f + allowance %s = %.3f ms)" % (p, x, y, abs(x - y), x * rel, jitter_ms, tol))
        if abs(x - y) > tol:
            print("  FAIL: %s outside the tolerance" % p)
            bad = 1
    ta, tb = ra["throughput_rps"], rb["throughput_rps"]
    print("  %-22s one host %10.3f   merged %10.3f   (%+.2f%%)" % ("throughput req/s", ta, tb,
                                                                  100.0 * (tb - ta) / ta))
    if abs(tb - ta) > 0.05 * ta:
        print("  FAIL: throughput differs by more than 5%")
        bad = 1
    return bad


def main(argv):
    cmd = argv[1]
    if cmd == "pct":
        return cmd_pct(argv[2], argv[3:])
    if cmd == "series":
        return cmd_series(argv[2], argv[3:])
    if cmd == "schedule":
        return cmd_schedule(argv[2], argv[3:])
    if cmd == "versus":
        return cmd_versus(argv[2], argv[3], argv[4])
    if cmd == "same":
        return cmd_same(argv[2], argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
