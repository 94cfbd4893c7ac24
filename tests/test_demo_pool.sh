#!/usr/bin/env bash
# test_demo_pool.sh - the other forms of `llmload demo pool` (test_demos.sh pool runs the
# default, HTTPS across an emulated round trip), on both backends:
#   - the old form, cleartext on loopback (--no-tls --rtt-ms 0): no handshakes anywhere, no
#     handshake or wall claim (nothing to derive a margin from), the connection claim holds;
#   - --url: a server llmload did not start gets none of the mock's transport (the text says
#     so), its counts are curl's, the server's are null, the connection claim still holds;
#   - --rtt-ms or --no-tls with --url, or with a scenario that has no transport to choose: one
#     line, exit 2, nothing run.
# Needs LL_LLMLOAD and LL_MOCKLLM.
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
MOCK=${LL_MOCKLLM:?set LL_MOCKLLM to the mockllm binary}
scale=0.25
fails=0
tmp=$(mktemp -d)
mock_pid=""
cleanup() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

# check FORM JSON: the figures of one form (cleartext or url) on both backends.
check() {
    python3 - "$1" "$2" <<'PY'
import json, sys
form, doc = sys.argv[1], json.load(open(sys.argv[2]))
fails = []
rows, claims, t = doc.get("rows", []), doc.get("claims", {}), doc.get("transport", {})
if t.get("tls") is not False:
    fails.append("transport %s, want cleartext" % t)
if form == "cleartext" and t.get("rtt_ms") != 0:
    fails.append("cleartext: round trip %s, want 0" % t.get("rtt_ms"))
if form == "url" and t.get("rtt_ms", 0) is not None:
    fails.append("url: round trip %s, want null (not ours to set)" % t.get("rtt_ms"))
for be in ("threaded", "evented"):
    by = {r["case"]: r for r in rows if r["backend"] == be}
    if set(by) != {"shared-pool", "no-reuse", "client-per-request"}:
        fails.append("%s: modes %s" % (be, sorted(by)))
        continue
    for case, r in by.items():
        srv = [r.get(k) for k in ("connections", "tls_full", "tls_resumed", "mock_cpu_s")]
        if form == "url" and srv != [None] * 4:
            fails.append("%s %s: server figures %s from a server we did not start" % (be, case, srv))
        if form == "cleartext" and (r.get("connections") != r.get("client_connections") or
                                    r.get("tls_full") != 0 or r.get("tls_resumed") != 0):
            fails.append("%s %s: %s" % (be, case, r))
        if r.get("client_tls_full") != 0 or r.get("client_tls_resumed") != 0:
            fails.append("%s %s: curl counted handshakes on cleartext: %s" % (be, case, r))
        if r.get("ok") != r.get("requests"):
            fails.append("%s %s: ok %s of %s" % (be, case, r.get("ok"), r.get("requests")))
    s, n = by["shared-pool"], by["no-reuse"]
    if not (0 < s["client_connections"] <= s["limit"] and n["client_connections"] == n["requests"]):
        fails.append("%s: curl's connections shared %s, no-reuse %s" %
                     (be, s["client_connections"], n["client_connections"]))
    want = {"%s_shared_opens_fewer" % be}
    got = {k for k in claims if k.startswith(be + "_")}
    if got != want or claims[be + "_shared_opens_fewer"] is not True:
        fails.append("%s: claims %s, want only %s holding" % (be, {k: claims[k] for k in got}, want))
for f in fails:
    print("FAIL: %s: %s" % (form, f))
sys.exit(1 if fails else 0)
PY
}

# --- the old form: cleartext, no round trip ---
"$LLMLOAD" demo pool --no-tls --rtt-ms 0 --scale $scale --json "$tmp/clear.json" >"$tmp/clear.out" 2>&1 ||
    fail "--no-tls --rtt-ms 0: exit $?: $(tail -5 "$tmp/clear.out")"
grep -q "^transport: cleartext HTTP (--no-tls), HTTP/1.1,$" "$tmp/clear.out" &&
    grep -q "^ *no round trip emulated" "$tmp/clear.out" ||
    fail "--no-tls --rtt-ms 0: transport line: $(grep -m1 transport "$tmp/clear.out")"
check cleartext "$tmp/clear.json" || fails=$((fails + 1))
# The mock's CPU in the text is the JSON's at the resolution of /proc's 10 ms ticks: a mode
# that used less than a tick (a short shared pool on cleartext) reads "< 0.01 s", not 0.000 s.
python3 - "$tmp/clear.out" "$tmp/clear.json" <<'PY' || fail "mock CPU column against the JSON"
import json, re, sys
rows = {(r["backend"], r["case"]): r for r in json.load(open(sys.argv[2]))["rows"]}
seen = 0
for ln in open(sys.argv[1]):
    m = re.match(r"^\s+(threaded|evented)\s+(\S+)\s.*\s\d+\.\d{3} s\s+(< 0\.01|\d+\.\d\d) s\s+\d+/\d+$", ln)
    if not m:
        continue
    seen += 1
    cpu = rows[(m.group(1), m.group(2))]["mock_cpu_s"]
    want = "< 0.01" if cpu < 0.005 else "%.2f" % cpu
    if m.group(3) != want:
        print("FAIL: %s %s: mock CPU shown %s s, the JSON's %s s" % (m.group(1), m.group(2), m.group(3), cpu))
        sys.exit(1)
if seen != 6:
    print("FAIL: %d rows with a mock CPU column, want 6" % seen)
    sys.exit(1)
PY

# --- --url: a mockllm of our own, with a round trip the demo must not claim to have set ---
exec {fd}< <(exec "$MOCK" --port 0 --rtt-ms 2 2>"$tmp/mock.err")
mock_pid=$!
if read -r -t 15 w _ port _ <&"$fd" && [ "$w" = listening ]; then
    url=http://127.0.0.1:$port/v1
    "$LLMLOAD" demo pool --url "$url" --scale $scale --json "$tmp/url.json" >"$tmp/url.out" 2>&1 ||
        fail "--url: exit $?: $(tail -5 "$tmp/url.out")"
    grep -q "^transport: the endpoint's own (cleartext" "$tmp/url.out" &&
        grep -q "apply only to a" "$tmp/url.out" ||
        fail "--url: the text does not say the mock's transport does not apply: $(grep -A2 transport "$tmp/url.out")"
    check url "$tmp/url.json" || fails=$((fails + 1))
    for flag in "--rtt-ms 5" "--no-tls"; do
        # shellcheck disable=SC2086
        "$LLMLOAD" demo pool --url "$url" $flag >"$tmp/o" 2>"$tmp/e"
        rc=$?
        [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/e")" -eq 1 ] && [ ! -s "$tmp/o" ] &&
            grep -q "with --url the endpoint's own transport" "$tmp/e" ||
            fail "--url $flag: exit $rc, stderr: $(cat "$tmp/e"), stdout: $(head -2 "$tmp/o")"
    done
else
    fail "mockllm did not start: $(cat "$tmp/mock.err")"
fi
exec {fd}<&-

# --- the transport flags where there is no transport to choose ---
for flag in "--rtt-ms 5" "--no-tls"; do
    # shellcheck disable=SC2086
    "$LLMLOAD" demo basics $flag >"$tmp/o" 2>"$tmp/e"
    rc=$?
    [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/e")" -eq 1 ] && [ ! -s "$tmp/o" ] &&
        grep -q "applies to the pool scenario only" "$tmp/e" ||
        fail "demo basics $flag: exit $rc, stderr: $(cat "$tmp/e")"
done

[ "$fails" -eq 0 ] && echo "test_demo_pool: all passed"
exit $((fails > 0))
