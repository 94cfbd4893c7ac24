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
python3 - "$tmp/out.json" "$scenario" "$tmp/stderr" <<'PY'
import json, re, sys
doc = json.load(open(sys.argv[1]))
scenario = sys.argv[2]
errtext = open(sys.argv[3]).read()
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

def pool_checks(be):
    """demo pool over HTTPS and an emulated round trip (the default): every count from mockllm
    (the server's view) equals curl's (the client's); the shared pool keeps at most one
    connection per slot, the other modes open one per request, a client per request pays a
    full handshake each, no-reuse resumes; every wall is at least what the round trips
    configured make it (so the round trip was applied to every mode)."""
    t = doc.get("transport", {})
    rtt = 20 * float(doc["scale"])
    if t.get("tls") is not True or abs((t.get("rtt_ms") or 0) - rtt) > 1e-6:
        fails.append("transport %s, want TLS and a %g ms round trip" % (t, rtt))
    s, n, c = row(be, "shared-pool"), row(be, "no-reuse"), row(be, "client-per-request")
    N, C = s.get("requests", 0), s.get("limit", 0)
    for r in (s, n, c):
        name = "%s %s" % (be, r.get("case"))
        if r.get("ok") != N or r.get("failed") != 0 or N <= 0:
            fails.append("%s: ok %s of %s" % (name, r.get("ok"), N))
        for k in ("connections", "tls_full", "tls_resumed"):
            if r.get(k) is None or r.get(k) != r.get("client_" + k):
                fails.append("%s: %s mockllm %s, curl %s" % (name, k, r.get(k), r.get("client_" + k)))
        if (r.get("tls_full") or 0) + (r.get("tls_resumed") or 0) != r.get("connections"):
            fails.append("%s: handshakes %s + %s, connections %s" %
                         (name, r.get("tls_full"), r.get("tls_resumed"), r.get("connections")))
        if not (isinstance(r.get("mock_cpu_s"), (int, float)) and r["mock_cpu_s"] >= 0):
            fails.append("%s: mock CPU %s" % (name, r.get("mock_cpu_s")))
    if not (0 < (s.get("connections") or 0) <= C):
        fails.append("%s shared pool: %s connections for %d slots" % (be, s.get("connections"), C))
    if n.get("connections") != N or c.get("connections") != N:
        fails.append("%s: connections no-reuse %s, client-per-request %s, want %d each" %
                     (be, n.get("connections"), c.get("connections"), N))
    if c.get("tls_full") != N or c.get("tls_resumed") != 0:
        fails.append("%s client-per-request: %s full, %s resumed, want %d full" %
                     (be, c.get("tls_full"), c.get("tls_resumed"), N))
    if not (n.get("tls_resumed") or 0) >= N // 2:
        fails.append("%s no-reuse: %s of %d handshakes resumed" % (be, n.get("tls_resumed"), N))
    # The round trips each request waits for, per slot: the request's own (and the mock's
    # latency) on a pooled connection; TCP's and TLS 1.3's more on a new one.
    waves, lat = N // max(C, 1), 20 * float(doc["scale"]) / 1e3
    for r, trips in ((s, 1), (n, 3), (c, 3)):
        floor = 0.9 * waves * (lat + trips * rtt / 1e3)
        if r.get("wall_s", 0) < floor:
            fails.append("%s %s: wall %.3f s below the round trips' %.3f s" %
                         (be, r.get("case"), r.get("wall_s", 0), floor))
    # a full handshake per request costs CPU on both sides
    if not (c.get("cpu_s", 0) > s.get("cpu_s", 1) and c.get("mock_cpu_s", 0) > s.get("mock_cpu_s", 1)):
        fails.append("%s CPU client %s / %s, mock %s / %s (client-per-request / shared)" %
                     (be, c.get("cpu_s"), s.get("cpu_s"), c.get("mock_cpu_s"), s.get("mock_cpu_s")))
    for k in ("shared_opens_fewer", "shared_fewer_full_handshakes", "shared_faster"):
        if claims.get("%s_%s" % (be, k)) is not True:
            fails.append("claim %s_%s: %s" % (be, k, claims.get("%s_%s" % (be, k))))


def pool_mock_cpu():
    """The mock's CPU per mode (its /proc windows, disjoint) sums to no more than the CPU it
    reported at exit, and to most of it: serving the modes is nearly all it did."""
    m = re.search(r"^mockllm: CPU ([0-9.]+) s ", errtext, re.M)
    total = sum(r.get("mock_cpu_s") or 0 for r in rows)
    if m is None:
        fails.append("no mockllm CPU line on stderr")
    elif not (0.5 * float(m.group(1)) <= total <= float(m.group(1)) + 0.02):
        fails.append("mock CPU over the modes %.3f s, mockllm's own %s s" % (total, m.group(1)))

if scenario == "pool":
    pool_mock_cpu()

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
        pool_checks(be)
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
