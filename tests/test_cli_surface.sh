#!/usr/bin/env bash
# test_cli_surface.sh - llmload's surfaces say what they do (issue 13 items 7, 11, 12, 13, 15):
#   7. sized to the work: --requests 10 --concurrency 1000000 runs 10 in flight (JSON
#      concurrency 10, asked 1000000) in little memory; a concurrency the machine cannot give
#      is refused before anything starts, one line naming the limit;
#  11. run, batch and ab share their defaults for model, timeout and retries (read from their
#      --help); the run header says max_tokens=not sent, never max_tokens=0;
#  12. run's progress line (on a pty) counts on the wire (never above --concurrency) apart
#      from queued (the lookahead); batch's shows a rate, an ETA and what is on the wire;
#  13. ab on the embedded mock: a model's latency follows its name, not its place (a,b and
#      b,a agree; fast,fast,fast is one latency); failed rows show "-" and null, never -1;
#  15. run -n -c -d, --duration (requests null, ends at the time), --warmup N and T: the
#      mock's own request count is the measured requests plus the warm-up, the figures count
#      only the measured ones; a flag missing its value before the next flag says so in
#      one line (exit 2), while a list (--mock-arg --tls) passes flags on.
# Truths come from the mock (its shutdown line "mockllm: K requests" on stderr), arithmetic
# and ordering; the time bounds are wide. Needs LL_LLMLOAD (and LL_MOCKLLM, read by llmload).
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
unset OPENAI_BASE_URL
py() { python3 - "$@"; }
mock_requests() { sed -n 's/^mockllm: \([0-9]*\) requests .*/\1/p' "$1"; }

# --- 7. sized to the work; refused when the machine cannot give it ---
"$LLMLOAD" run --backend evented --requests 10 --concurrency 1000000 --json "$tmp/big.json" \
    >"$tmp/out" 2>"$tmp/err" || fail "10 requests at concurrency 1e6: exit $?: $(cat "$tmp/err")"
py "$tmp/big.json" <<'PY' || fail "10 requests at concurrency 1e6: JSON"
import json, sys
d = json.load(open(sys.argv[1]))
c, r = d["config"], d["results"]
assert c["concurrency"] == 10 and c["concurrency_asked"] == 1000000, c
assert r["requests"]["succeeded"] == 10, r["requests"]
assert r["resources"]["rss_peak_kb"] < 200 * 1024, r["resources"]  # 1e6 slots took 6.2 GB
PY
grep -q "concurrency=10 .*(1000000 asked" "$tmp/out" || fail "header does not say 10 of 1000000"
for be in threaded evented; do
    timeout 60 "$LLMLOAD" run --backend "$be" --requests 1000000 --concurrency 1000000 \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 1 ] || fail "$be: 1e6 in flight: exit $rc, want 1"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$be: 1e6 in flight: stderr: $(cat "$tmp/err")"
    [ ! -s "$tmp/out" ] || fail "$be: 1e6 in flight: the run started"
    grep -Eq "^llmload run: local limit met: (threads|descriptors|memory) \(" "$tmp/err" ||
        fail "$be: 1e6 in flight: $(cat "$tmp/err")"
done

# --- 11. shared defaults, documented; no max_tokens=0 ---
default_of() { # default_of CMD FLAG
    # shellcheck disable=SC2086
    "$LLMLOAD" $1 --help | grep -A1 -- "--$2 " | grep -o '(default: [^)]*)' | head -1
}
for flag in model timeout retries; do
    want=$(default_of run "$flag")
    [ -n "$want" ] || fail "run --help has no default for --$flag"
    for cmd in batch ab; do
        [ "$flag" = model ] && [ "$cmd" = ab ] && continue # ab: --models, no default by design
        got=$(default_of "$cmd" "$flag")
        [ "$got" = "$want" ] || fail "--$flag: run $want, $cmd ${got:-none}"
    done
done
"$LLMLOAD" ab --help | grep -q "no default: ab is about the names you give" ||
    fail "ab --help does not explain why --models has no default"
"$LLMLOAD" run --backend evented -n 3 >"$tmp/out" 2>&1
grep -q "max_tokens=not sent" "$tmp/out" || fail "header: $(grep max_tokens "$tmp/out")"
grep -q "max_tokens=0" "$tmp/out" && fail "header prints max_tokens=0"

# --- 12. progress lines, on a pty ---
if script --version >/dev/null 2>&1; then
    script -qefc "$LLMLOAD run --backend threaded -n 80 -c 5 --lookahead 5 --latency-ms 100" \
        /dev/null >"$tmp/pty" 2>&1 || fail "run on a pty: exit $?"
    py "$tmp/pty" <<'PY' || fail "run progress line"
import re, sys
text = open(sys.argv[1], errors="replace").read()
pairs = [(int(w), int(q)) for w, q in re.findall(r"on the wire (\d+)  queued (\d+)", text)]
assert pairs, "no progress line: " + text[:300]
assert all(w <= 5 for w, _ in pairs), pairs          # never above --concurrency
assert all(w + q <= 10 for w, q in pairs), pairs      # C + lookahead
assert any(q > 0 for _, q in pairs), pairs            # the lookahead shows as queued
PY
    for i in $(seq 1 60); do echo "{\"id\": $i, \"prompt\": \"p $i\"}"; done >"$tmp/p.jsonl"
    script -qefc "$LLMLOAD batch --in $tmp/p.jsonl --out $tmp/p.out --concurrency 5 \
        --mock-arg=--latency-ms=100" /dev/null >"$tmp/pty" 2>&1 || fail "batch on a pty: exit $?"
    py "$tmp/pty" <<'PY' || fail "batch progress line"
import re, sys
text = open(sys.argv[1], errors="replace").read()
lines = re.findall(r"\] (\d+)/60 .*?([\d.]+)/s  ETA (\S+)  on the wire (\d+) of (\d+)", text)
assert lines, "no progress line: " + text[:300]
assert all(int(c) == 5 and int(w) <= 5 for *_, w, c in lines), lines
assert any(int(w) > 0 for *_, w, c in lines), lines   # not "in flight 0" throughout
assert any(float(r) > 0 and e.rstrip("s").isdigit() for _, r, e, *_ in lines), lines
PY
else
    echo "progress: skipped (no script(1) for a pty)"
fi

# --- 13. ab: latency by name ---
ab_lat() { # ab_lat MODELS -> "name=ms name=ms ..." in row order
    "$LLMLOAD" ab --models "$1" --json - 2>/dev/null |
        python3 -c 'import json,sys; print(" ".join("%s=%.0f" % (r["model"], r["latency_s"]*1e3) for r in json.load(sys.stdin)["rows"]))'
}
ab=$(ab_lat fast,fast,fast)
py "$ab" <<'PY' || fail "ab fast,fast,fast: $ab"
import sys
ms = [float(x.split("=")[1]) for x in sys.argv[1].split()]
assert len(ms) == 3 and max(ms) - min(ms) <= 15, ms   # one model, one fixed latency
PY
ab1=$(ab_lat alpha,omega) ab2=$(ab_lat omega,alpha)
py "$ab1" "$ab2" <<'PY' || fail "ab by place, not by name: $ab1 / $ab2"
import sys
a = dict(x.split("=") for x in sys.argv[1].split())
b = dict(x.split("=") for x in sys.argv[2].split())
for m in ("alpha", "omega"):
    x, y = float(a[m]), float(b[m])
    assert abs(x - y) <= 0.1 * min(x, y) + 5, (m, x, y)
PY
"$LLMLOAD" ab --models a,b --url http://127.0.0.1:1/v1 --retries 0 --json "$tmp/abf.json" \
    >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] || fail "ab unreachable: exit not 1"
grep -q -- "-1" "$tmp/out" && fail "ab failed rows print -1: $(cat "$tmp/out")"
grep -Eq '^a +[0-9.]+ ms +- +- +connect' "$tmp/out" || fail "ab failed row: $(cat "$tmp/out")"
py "$tmp/abf.json" <<'PY' || fail "ab failed rows JSON"
import json, sys
for r in json.load(open(sys.argv[1]))["rows"]:
    assert r["class"] == "connect" and r["completion_tokens"] is None, r
    assert r["tokens_per_s"] is None and r["error"], r
PY

# --- 15. -n -c -d, --duration, --warmup ---
"$LLMLOAD" run --backend evented -n7 -c 3 -d 60 --json "$tmp/s.json" >/dev/null 2>&1 ||
    fail "-n7 -c 3 -d 60: exit $?"
py "$tmp/s.json" <<'PY' || fail "-n -c -d: JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["config"]["requests"] == 7 and d["config"]["concurrency"] == 3, d["config"]
assert d["config"]["duration_s"] == 60 and d["results"]["requests"]["submitted"] == 7
PY
for be in threaded evented; do
    "$LLMLOAD" run --backend "$be" --duration 1.5s -c 4 --latency-ms 20 --json "$tmp/d.json" \
        >"$tmp/out" 2>"$tmp/err" || fail "$be --duration: exit $?: $(cat "$tmp/err")"
    py "$tmp/d.json" "$(mock_requests "$tmp/err")" <<'PY' || fail "$be --duration: JSON"
import json, sys
d = json.load(open(sys.argv[1]))
c, r = d["config"], d["results"]["requests"]
assert c["requests"] is None and c["duration_s"] == 1.5, c
assert 1.5 <= r["wall_s"] <= 6, r["wall_s"]         # sends stop at 1.5 s; what is out comes back
assert r["submitted"] == r["succeeded"] == int(sys.argv[2]) > 10, (r, sys.argv[2])
# requests still queued for a slot at the deadline are withdrawn (never sent), at most the
# look-ahead (min(C, 64) = 4); nothing else is left unsent
assert d["run"]["not_sent"] == d["run"]["withdrawn"] <= 4 and not d["run"]["interrupted"], d["run"]
PY
    "$LLMLOAD" run --backend "$be" -n 50 -c 5 --warmup 20 --json "$tmp/w.json" \
        >"$tmp/out" 2>"$tmp/err" || fail "$be --warmup 20: exit $?"
    py "$tmp/w.json" "$(mock_requests "$tmp/err")" <<'PY' || fail "$be --warmup 20: JSON"
import json, sys
d = json.load(open(sys.argv[1]))
r, w = d["results"]["requests"], d["run"]["warmup"]
assert d["config"]["warmup"] == {"requests": 20}, d["config"]
assert w["sent"] == 20 and w["succeeded"] == 20, w
assert 1 <= w["connections_opened"] <= 6, w                         # C = 5, pooled for the run
assert r["submitted"] == 50 and r["succeeded"] == 50, r           # the warm-up is in no figure
assert int(sys.argv[2]) == 70, sys.argv[2]                         # the mock saw both
PY
    "$LLMLOAD" run --backend "$be" -n 30 -c 3 --warmup 300ms --latency-ms 10 \
        --json "$tmp/w.json" >"$tmp/out" 2>"$tmp/err" || fail "$be --warmup 300ms: exit $?"
    py "$tmp/w.json" "$(mock_requests "$tmp/err")" <<'PY' || fail "$be --warmup 300ms: JSON"
import json, sys
d = json.load(open(sys.argv[1]))
r, w = d["results"]["requests"], d["run"]["warmup"]
assert d["config"]["warmup"] == {"seconds": 0.3}, d["config"]
assert w["sent"] > 3 and r["submitted"] == 30, (w, r)
assert int(sys.argv[2]) == 30 + w["sent"], (sys.argv[2], w)
PY
done
for bad in "--warmup 10x" "-d 0" "-d 5parsecs" "-n"; do
    # shellcheck disable=SC2086
    "$LLMLOAD" run --backend evented $bad >"$tmp/out" 2>"$tmp/err"
    [ $? -eq 2 ] || fail "run $bad: exit not 2"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "run $bad: $(cat "$tmp/err")"
done
# A flag whose value is missing before the next flag says so, in every command's parser:
# "--http -n 5" once took "-n" as the HTTP version and then called "5" unexpected.
for cmd in "run --backend evented --http -n 5" "run --model --stream -n 1" \
    "batch --in x.jsonl --http --out y.jsonl" "ab --models a,b --http --json x.json"; do
    # shellcheck disable=SC2086
    "$LLMLOAD" $cmd >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ $rc -eq 2 ] || fail "$cmd: exit $rc, want 2"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "needs a value (.*) before the flag '-" "$tmp/err" ||
        fail "$cmd: want one line 'needs a value ... before the flag', got: $(cat "$tmp/err")"
done
# A list passes flags on: --mock-arg --tls is the mock's flag, not a missing value.
"$LLMLOAD" run --backend evented --mock-arg --tls -n 3 >"$tmp/out" 2>"$tmp/err" ||
    fail "run --mock-arg --tls: $(tail -2 "$tmp/err")"
grep -q "load goes to https://" "$tmp/err" "$tmp/out" || fail "run --mock-arg --tls: not over HTTPS"
"$LLMLOAD" run --help | grep -q -- "-n, --requests" || fail "--help lacks -n"
"$LLMLOAD" run --help | grep -q -- "-d, --duration" || fail "--help lacks -d"

[ "$fails" -eq 0 ] && echo "test_cli_surface: all passed"
exit $((fails > 0))
