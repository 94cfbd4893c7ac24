#!/usr/bin/env bash
# test_batch.sh - `llmload batch` and `llmload ab` end to end against the embedded mockllm:
# a bad line is reported with its number and becomes an error result; every id appears exactly
# once; a rerun sends only missing or failed ids; SIGINT exits 130 leaving no torn or duplicate
# line and a rerun completes every id; the client-side RPM bucket paces requests; ab gives one
# row per model. Needs LL_LLMLOAD (and LL_MOCKLLM, read by llmload).
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# check_out FILE N: every line is whole JSON, ids unique, N ids; prints the failed count.
check_out() {
    python3 - "$1" "$2" <<'PY'
import json, sys
path, want = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
if data and not data.endswith(b"\n"):
    sys.exit("torn last line in %s" % path)
ids, failed = [], 0
for n, line in enumerate(data.decode().splitlines(), 1):
    o = json.loads(line)
    ids.append(json.dumps(o["id"]) if o["id"] is not None else "#line:%d" % o["line"])
    failed += not o["ok"]
if len(ids) != len(set(ids)):
    sys.exit("duplicate ids in %s" % path)
if len(ids) != want:
    sys.exit("%d ids in %s, want %d" % (len(ids), path, want))
print(failed)
PY
}
sent_of() { sed -n 's/^sent \([0-9]*\),.*/\1/p' "$1"; }

# 1. bad lines, duplicates, numeric ids
cat >"$tmp/in.jsonl" <<'J'
{"id": "a", "prompt": "hello"}
{"id": "b", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "temperature": 0}
this is not json

{"id": "a", "prompt": "duplicate"}
{"prompt": "no id"}
{"id": 7, "prompt": "numeric id"}
J
"$LLMLOAD" batch --in "$tmp/in.jsonl" --out "$tmp/out1.jsonl" >"$tmp/o" 2>"$tmp/e"
[ $? -eq 1 ] || fail "bad lines: want exit 1 (some failed)"
grep -q 'in.jsonl:3: not valid JSON' "$tmp/e" || fail "line 3 not reported: $(cat "$tmp/e")"
grep -q 'in.jsonl:5: duplicate id "a"' "$tmp/e" || fail "duplicate not reported"
grep -q 'in.jsonl:6: no "id"' "$tmp/e" || fail "missing id not reported"
n=$(check_out "$tmp/out1.jsonl" 5) || fail "out1: $n"
[ "$n" = 2 ] || fail "out1: $n failed lines, want 2 (lines 3 and 6)"
grep -q '"line":3,"ok":false,"error":{"class":"input"' "$tmp/out1.jsonl" ||
    fail "line 3 is not an input error result"

# 2. resume sends only what failed: 30 ids with injected 500s and no retries, then a clean rerun
for i in $(seq 1 30); do echo "{\"id\": \"q$i\", \"prompt\": \"question $i\"}"; done >"$tmp/q.jsonl"
"$LLMLOAD" batch --in "$tmp/q.jsonl" --out "$tmp/out2.jsonl" --retries 0 \
    --mock-arg=--faults=500=0.3 --mock-arg=--seed=3 >"$tmp/o" 2>"$tmp/e"
failed=$(check_out "$tmp/out2.jsonl" 30) || fail "out2: $failed"
[ "$failed" -gt 0 ] || fail "resume: no injected failure to redo"
"$LLMLOAD" batch --in "$tmp/q.jsonl" --out "$tmp/out2.jsonl" >"$tmp/o" 2>"$tmp/e"
[ $? -eq 0 ] || fail "resume rerun: exit not 0: $(cat "$tmp/e")"
[ "$(sent_of "$tmp/o")" = "$failed" ] || fail "resume sent $(sent_of "$tmp/o"), want $failed"
n=$(check_out "$tmp/out2.jsonl" 30) || fail "out2 after resume: $n"
[ "$n" = 0 ] || fail "out2 after resume: $n failed"

# 3. SIGINT mid-run on each backend, plus a torn line, then a rerun
for be in threaded evented; do
    out="$tmp/out3-$be.jsonl"
    "$LLMLOAD" batch --backend "$be" --in "$tmp/q.jsonl" --out "$out" --concurrency 3 \
        --mock-arg=--latency-ms=150 >"$tmp/o" 2>"$tmp/e" &
    pid=$!
    # Right after the first result line is written (30 requests, 3 at a time, 150 ms each:
    # about 1.5 s of run left), so the interrupt lands mid-run with requests in flight, every
    # time: the batch's own output is the signal, not a guessed delay.
    for _ in $(seq 1000); do
        [ -s "$out" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
    done
    echo "$be: SIGINT after $(wc -l <"$out") result line(s)"
    kill -INT "$pid"
    wait "$pid"
    rc=$?
    [ "$rc" -eq 130 ] || fail "$be SIGINT: exit $rc, want 130"
    got=$(wc -l <"$out")
    [ "$got" -gt 0 ] && [ "$got" -lt 30 ] || fail "$be SIGINT: $got lines written"
    check_out "$out" "$got" >/dev/null || fail "$be SIGINT: output not clean"
    printf '{"id":"q1","ok":tr' >>"$out" # what a crash mid-write would leave
    "$LLMLOAD" batch --backend "$be" --in "$tmp/q.jsonl" --out "$out" >"$tmp/o" 2>"$tmp/e"
    [ $? -eq 0 ] || fail "$be rerun after SIGINT: $(cat "$tmp/e")"
    grep -q "torn last line" "$tmp/e" || fail "$be: torn line not noticed"
    [ "$(sent_of "$tmp/o")" = $((30 - got)) ] || fail "$be rerun sent $(sent_of "$tmp/o")"
    check_out "$out" 30 >/dev/null || fail "$be after rerun: not every id exactly once"
done

# 4. client-side RPM: 600/min allows 10 at once, then 10 per second
"$LLMLOAD" batch --in "$tmp/q.jsonl" --out "$tmp/out4.jsonl" --rpm 600 >"$tmp/o" 2>"$tmp/e"
wall=$(sed -n 's/.*wall \([0-9.]*\) s$/\1/p' "$tmp/o")
python3 -c "import sys; sys.exit(0 if 1.6 <= float('$wall') <= 4 else 1)" ||
    fail "--rpm 600 for 30 requests took $wall s, want about 2 s"

# 5. ab: one row per model
"$LLMLOAD" ab --models a,b,c --prompt "Say hi" --json "$tmp/ab.json" >"$tmp/o" 2>"$tmp/e" ||
    fail "ab exited non-zero: $(cat "$tmp/e")"
python3 - "$tmp/ab.json" <<'PY' || fail "ab JSON"
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
assert [r["model"] for r in rows] == ["a", "b", "c"], rows
assert all(r["class"] == "ok" and r["answer"] for r in rows), rows
assert rows[0]["latency_s"] < rows[2]["latency_s"], "profiles do not differ"
PY

[ "$fails" -eq 0 ] && echo "test_batch: all passed"
exit $((fails > 0))
