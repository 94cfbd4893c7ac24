#!/usr/bin/env bash
# test_demos.sh SCENARIO SCALE - run `llmload demo SCENARIO` on both backends at a small scale
# and check its claims from the --json output: every claim the demo evaluated must hold, plus
# scenario-specific checks on the raw figures (orderings and ratios, never absolute times).
# Needs LL_LLMLOAD (and LL_MOCKLLM, read by llmload).
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
scenario=$1
scale=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$LLMLOAD" demo "$scenario" --scale "$scale" --json "$tmp/out.json" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
cat "$tmp/stdout"
if [ "$rc" -ne 0 ]; then
    echo "FAIL: llmload demo $scenario exited $rc"
    cat "$tmp/stderr"
    exit 1
fi
python3 - "$tmp/out.json" "$scenario" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
scenario = sys.argv[2]
fails = []
LOOP_BACKENDS = ("evented",)  # backends with an event loop a call can block
claims = doc.get("claims", {})
if not claims:
    fails.append("no claims in the JSON")
for k, v in claims.items():
    if v is not True:
        fails.append("claim %s does not hold" % k)
rows = doc.get("rows", [])
backends = sorted({r["backend"] for r in rows})
if len(backends) < 2 and scenario != "server":  # server: one client, two servers
    fails.append("want rows for both backends, got %s" % backends)
if scenario == "server":
    # each size once per server model, every figure from the server's own counters
    by = {}
    for r in rows:
        by.setdefault(r["connections"], {})[r["server_model"]] = r
    if not by or any(set(v) != {"loop", "threads"} for v in by.values()):
        fails.append("want a loop and a threads row per size, got %s" % sorted(by))
    for n, v in sorted(by.items()):
        lp, th = v.get("loop", {}), v.get("threads", {})
        if lp.get("ok") != n or lp.get("server_threads_peak") != 1:
            fails.append("loop at %d: %s" % (n, lp))
        if th.get("ok") == n and th.get("server_threads_peak", 0) < n:
            fails.append("threads at %d: fewer threads than connections: %s" % (n, th))
        if th.get("ok") != n and not th.get("stopped_by"):
            fails.append("threads at %d stopped without saying why: %s" % (n, th))
    top = max(by) if by else 0
    if by and not by[top]["threads"]["server_rss_peak_kb"] > by[top]["loop"]["server_rss_peak_kb"]:
        fails.append("at %d the threads server used no more memory than the loop" % top)
    backends = []

def row(be, case, **kw):
    for r in rows:
        if r["backend"] == be and r["case"] == case and all(r.get(a) == b for a, b in kw.items()):
            return r
    fails.append("no row %s/%s %s" % (be, case, kw))
    return {"wall_s": 1, "ok": 0, "attempts": 0}

for be in backends:
    if scenario == "basics":
        seq, con = row(be, "sequential")["wall_s"], row(be, "concurrent")["wall_s"]
        if seq / con < 2.5:
            fails.append("%s sequential/concurrent %.2f < 2.5" % (be, seq / con))
        # The pitfall exists exactly on the backends with a loop to block (evented): its
        # calls run one after another (wall ~ 3 calls) and the loop-lag probe fires about one
        # whole call late.
        pit = [r for r in rows if r["backend"] == be and r["case"] == "pitfall"]
        if be in LOOP_BACKENDS and not pit:
            fails.append("%s: no pitfall row (the evented loop can be blocked)" % be)
        if be not in LOOP_BACKENDS and pit:
            fails.append("%s: a pitfall row on a backend without a loop" % be)
        if pit and pit[0]["wall_s"] / con < 2.5:
            fails.append("%s pitfall/concurrent %.2f < 2.5" % (be, pit[0]["wall_s"] / con))
        if pit and pit[0]["loop_lag_max_s"] < 0.5 * pit[0]["latency_s"]:
            fails.append("%s pitfall: loop lag max %.3f s, want about one call (%.3f s)" %
                         (be, pit[0]["loop_lag_max_s"], pit[0]["latency_s"]))
        # Without the pitfall the loop waits in poll: its lag stays far below a call. The probe
        # once counted the wait before a response that emptied the loop as lag: up to the
        # client's 50 ms wait slice, or the whole call when shorter.
        for r in rows:
            bound = min(0.25 * r["latency_s"], 0.025)
            if r["backend"] == be and r["case"] != "pitfall" and r["loop_lag_max_s"] is not None \
                    and r["loop_lag_max_s"] >= bound:
                fails.append("%s %s: loop lag max %.3f s on a loop that only waits (call %.3f s)"
                             % (be, r["case"], r["loop_lag_max_s"], r["latency_s"]))
        # mockllm's own count: the calls overlapped at the server exactly when they should
        for r in rows:
            if r["backend"] == be and r.get("server_peak") is not None:
                want = 1 if r["case"] == "pitfall" else r["limit"]
                if r["server_peak"] != want:
                    fails.append("%s %s: mockllm saw %s at once, want %d" %
                                 (be, r["case"], r["server_peak"], want))
    elif scenario == "semaphore":
        lim = sorted((r for r in rows if r["backend"] == be), key=lambda r: r["limit"])
        for r in lim:
            if not (0 < r["peak_in_flight"] <= r["limit"]):
                fails.append("%s limit %d: peak %s" % (be, r["limit"], r["peak_in_flight"]))
        # mockllm's count: a higher limit lets more in at once
        peaks = [r["peak_in_flight"] for r in lim]
        if peaks != sorted(set(peaks)):
            fails.append("%s peaks do not grow with the limit: %s" % (be, peaks))
        # walls ordered where waves set them; the last step may cost in opening 100
        # connections at once what it saves (a loaded machine): a quarter of room there
        walls = [r["wall_s"] for r in lim]
        if walls[:-1] != sorted(walls[:-1], reverse=True) or walls[-1] >= 1.25 * walls[-2]:
            fails.append("%s walls not ordered: %s" % (be, walls))
    elif scenario == "errors":
        c, f = row(be, "collect"), row(be, "fail-fast")
        if c["ok"] + c["failed"] != 10 or c["failed"] != 3:
            fails.append("%s collect counts %s" % (be, c))
        if f["ok"] + f["failed"] + f["cancelled"] != 10 or f["ok"] >= c["ok"]:
            fails.append("%s fail-fast counts %s" % (be, f))
    elif scenario == "retry":
        want = {"429,503,500,ok": 4, "429+Retry-After": 3, "503 once": 2, "500 twice": 3, "500 always": 4,
                "400": 1, "401": 1}
        for case, n in want.items():
            r = row(be, case)
            if r.get("attempts") != n or len(r.get("timeline", [])) != n:
                fails.append("%s %s: %s attempts, want %d" % (be, case, r.get("attempts"), n))
            # Each attempt starts no sooner than the wait the timeline printed before it (the
            # wall clock against the policy's figure), and not much later.
            tl = r.get("timeline", [])
            for a, b in zip(tl, tl[1:]):
                gap = b["start_s"] - a["start_s"]
                if not (0.9 * a["wait_s"] <= gap <= 1.5 * a["wait_s"] + 0.1):
                    fails.append("%s %s: attempt %d started %.1f ms after attempt %d, which "
                                 "printed a wait of %.1f ms" % (be, case, b["attempt"], gap * 1e3,
                                                               a["attempt"], a["wait_s"] * 1e3))
    elif scenario == "pool":
        s, n = row(be, "shared-pool"), row(be, "no-reuse")
        if not (0 < s["connections"] < n["connections"]):
            fails.append("%s connections shared %s, no-reuse %s" % (be, s["connections"],
                                                                     n["connections"]))
        # mockllm's count: one pool of 10 reuses its connections (<= C + 1), no-reuse opens one
        # per request.
        if s["connections"] > 11 or n["connections"] < s["ok"]:
            fails.append("%s connections shared %s (want <= 11), no-reuse %s (want >= %s)" %
                         (be, s["connections"], n["connections"], s["ok"]))
    elif scenario == "patterns":
        # overlap: the share of the shorter of served time and other work that ran together,
        # from the answers' and the work's timestamps; in [0, 1] by definition (it read 103%
        # and -9% when it was a difference of walls)
        for r in rows:
            if r["backend"] == be and not (r.get("overlap") is not None and
                                           0 <= r["overlap"] <= 1):
                fails.append("%s %s %s: overlap %s outside [0, 1]" %
                             (be, r["case"], r["work"], r.get("overlap")))
        g = row(be, "gather-then-work", work="wait (asyncio.sleep)")
        o = row(be, "submit-work-collect", work="wait (asyncio.sleep)")
        if not (o.get("overlap", 0) >= 0.5 and g.get("overlap", 1) <= 0.5):
            fails.append("%s waiting: overlap %s submit-work-collect, %s gather-then-work" %
                         (be, o.get("overlap"), g.get("overlap")))
        # An event loop runs requests only when given control: computing with no yield point,
        # none of them is served meanwhile.
        if be in LOOP_BACKENDS:
            n = row(be, "submit-work-collect", work="compute, no yield")
            if n.get("overlap", 1) > 0.5:
                fails.append("%s compute with no yield: overlap %s, want ~0" % (be, n.get("overlap")))
    elif scenario == "io-vs-cpu":
        io, cpu = row(be, "io-only"), row(be, "cpu-step")
        if cpu["cpu_s"] < 5 * io["cpu_s"] or cpu["wall_s"] <= io["wall_s"]:
            fails.append("%s CPU step not visible: %s vs %s" % (be, cpu, io))
for f in fails:
    print("FAIL:", f)
sys.exit(1 if fails else 0)
PY
