#!/usr/bin/env bash
# test_cli_files.sh - llmload never loses the user's data, and its files are checked before
# anything starts (issue 13 items 1-3, 8, 9):
#   1. batch --out refuses the input file (same inode: itself, a hard link, a symlink) and any
#      existing file it did not write (text, other JSON); the file is left byte for byte;
#   2. batch --out must be a regular file (/dev/full, a FIFO: refused at once); a full disk
#      (RLIMIT_FSIZE) stops the batch at the first failed write with one line, the summary's
#      "done K ok" is the number of lines in the file, no torn line; a rerun finishes;
#      an input without newlines is read with a bound (one line, exit 1, no memory run-away);
#   3. --in a directory, an empty or blank input: one line, exit 1, no output file, no mock;
#   8. --json / --out in a missing directory or naming a directory: one line naming the cause
#      before anything starts (nothing on stdout, no mock), in run, ab, demo and batch;
#      a full disk names itself; compare names a directory as such;
#   9. --json - writes the JSON alone on stdout (run, ab, demo), the text on stderr;
#      --quiet prints no text;
#   --cacert naming no loadable PEM certificate (text, a broken PEM, a directory, nothing):
#      one line, exit 2, before anything starts, in run on both backends and in batch.
# "No mock started" is read from stderr: mockllm prints its summary there when it stops.
# Needs LL_LLMLOAD (and LL_MOCKLLM, read by llmload).
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
unset OPENAI_BASE_URL

# one_line_exit1 LABEL: the last command exited 1 with exactly one line on stderr, none on stdout
one_line_exit1() {
    local rc=$1 label=$2
    [ "$rc" -eq 1 ] || fail "$label: exit $rc, want 1"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$label: stderr is not one line: $(cat "$tmp/err")"
    [ ! -s "$tmp/out" ] || fail "$label: printed on stdout: $(head -3 "$tmp/out")"
}

for i in $(seq 1 30); do echo "{\"id\": \"q$i\", \"prompt\": \"question $i\"}"; done >"$tmp/q.jsonl"
sum_q=$(sha256sum <"$tmp/q.jsonl")

# --- 1. the input, and files batch did not write, are never overwritten ---
ln "$tmp/q.jsonl" "$tmp/hard.jsonl"
ln -s "$tmp/q.jsonl" "$tmp/sym.jsonl"
for out in q.jsonl hard.jsonl sym.jsonl; do
    "$LLMLOAD" batch --in "$tmp/q.jsonl" --out "$tmp/$out" >"$tmp/out" 2>"$tmp/err"
    one_line_exit1 $? "--out $out (the input)"
    grep -q "is the input file" "$tmp/err" || fail "--out $out: $(cat "$tmp/err")"
done
[ "$(sha256sum <"$tmp/q.jsonl")" = "$sum_q" ] || fail "the input file was changed"
printf 'my notes\nline two\n' >"$tmp/notes.txt"
printf '{"a": 1}\n' >"$tmp/other.json"
for out in notes.txt other.json; do
    before=$(sha256sum <"$tmp/$out")
    "$LLMLOAD" batch --in "$tmp/q.jsonl" --out "$tmp/$out" >"$tmp/out" 2>"$tmp/err"
    one_line_exit1 $? "--out $out (not a results file)"
    grep -q "not a results file" "$tmp/err" || fail "--out $out: $(cat "$tmp/err")"
    [ "$(sha256sum <"$tmp/$out")" = "$before" ] || fail "--out $out was changed"
done

# --- 2. regular files only; a full disk stops at the first failed write ---
mkfifo "$tmp/fifo"
for out in /dev/full "$tmp/fifo"; do
    timeout 20 "$LLMLOAD" batch --in "$tmp/q.jsonl" --out "$out" >"$tmp/out" 2>"$tmp/err"
    one_line_exit1 $? "--out $out"
    grep -q "not a regular file" "$tmp/err" || fail "--out $out: $(cat "$tmp/err")"
done
# 4 KiB of file size: about 15 of the 30 result lines fit.
(ulimit -f 4; exec "$LLMLOAD" batch --in "$tmp/q.jsonl" --out "$tmp/full.jsonl") \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "disk full: exit $rc, want 1"
n_err=$(grep -c "writing .*full.jsonl" "$tmp/err")
[ "$n_err" -eq 1 ] || fail "disk full: $n_err write error lines, want 1: $(cat "$tmp/err")"
grep -q "file too large" "$tmp/err" || fail "disk full: cause not named: $(cat "$tmp/err")"
lines=$(wc -l <"$tmp/full.jsonl")
ok=$(sed -n 's/^done \([0-9]*\) ok.*/\1/p' "$tmp/out")
echo "disk full: $lines lines in the file, summary says ${ok:-?} ok"
[ "$lines" -gt 0 ] && [ "$lines" -lt 30 ] || fail "disk full: $lines lines written"
[ "${ok:-x}" = "$lines" ] || fail "disk full: summary says ${ok:-?} ok, the file has $lines lines"
[ -z "$(tail -c 1 "$tmp/full.jsonl")" ] || fail "disk full: the file ends in a torn line"
"$LLMLOAD" batch --in "$tmp/q.jsonl" --out "$tmp/full.jsonl" >"$tmp/out" 2>"$tmp/err" ||
    fail "disk full: the rerun failed: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/full.jsonl")" -eq 30 ] || fail "disk full: rerun did not finish every id"
# A device without newlines as input: a bounded read, one line, exit 1.
timeout 60 "$LLMLOAD" batch --in /dev/zero --out "$tmp/zero.jsonl" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "--in /dev/zero: exit $rc, want 1"
grep -q "longer than 16 MiB" "$tmp/err" || fail "--in /dev/zero: $(cat "$tmp/err")"

# --- 3. a directory or an empty input: one line before anything starts ---
mkdir "$tmp/dir"
: >"$tmp/empty.jsonl"
printf '\n  \n\t\n' >"$tmp/blank.jsonl"
for in in dir empty.jsonl blank.jsonl; do
    "$LLMLOAD" batch --in "$tmp/$in" --out "$tmp/res-$in.jsonl" >"$tmp/out" 2>"$tmp/err"
    one_line_exit1 $? "--in $in"
    [ ! -e "$tmp/res-$in.jsonl" ] || fail "--in $in: an output file was created"
done
grep -q "has no prompts" "$tmp/err" || fail "--in blank: $(cat "$tmp/err")"

# --- 8. output paths checked first, causes named ---
checks=(
    "run --backend evented -n 5 --json $tmp/nodir/r.json|no such directory $tmp/nodir"
    "run --backend threaded -n 5 --json $tmp/dir|is a directory"
    "ab --models a,b --json $tmp/nodir/ab.json|no such directory $tmp/nodir"
    "ab --models a --json $tmp/dir|is a directory"
    "demo pool --scale 0.01 --json $tmp/nodir/d.json|no such directory $tmp/nodir"
    "batch --in $tmp/q.jsonl --out $tmp/nodir/b.jsonl|no such directory $tmp/nodir"
    "batch --in $tmp/q.jsonl --out $tmp/dir|not a regular file"
    "compare $tmp/dir $tmp/q.jsonl|is a directory"
)
for c in "${checks[@]}"; do
    args=${c%%|*} want=${c#*|}
    # shellcheck disable=SC2086
    "$LLMLOAD" $args >"$tmp/out" 2>"$tmp/err"
    one_line_exit1 $? "$args"
    grep -qF "$want" "$tmp/err" || fail "$args: want '$want', got: $(cat "$tmp/err")"
done
"$LLMLOAD" run --backend evented -n 5 --json /dev/full >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] || fail "--json /dev/full: exit not 1"
grep -q "/dev/full: disk full" "$tmp/err" || fail "--json /dev/full: $(cat "$tmp/err")"
# A run that cannot write leaves an earlier file as it was.
echo '{"earlier": true}' >"$tmp/keep.json"
"$LLMLOAD" run --backend evented -n 5 --url http://127.0.0.1:1/v1 --json "$tmp/keep.json" \
    >/dev/null 2>&1
grep -q earlier "$tmp/keep.json" || fail "a run that stopped before its report replaced keep.json"

# --- 9. --json - : the JSON alone on stdout; --quiet: no text ---
for cmd in "run --backend threaded -n 10 -c 2" "run --backend evented -n 10 -c 2" \
    "ab --models a,b" "demo pool --scale 0.01 --backend evented"; do
    # shellcheck disable=SC2086
    "$LLMLOAD" $cmd --json - >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 0 ] || fail "$cmd --json -: exit $rc: $(tail -3 "$tmp/err")"
    python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/out" ||
        fail "$cmd --json -: stdout is not one JSON document: $(head -c 300 "$tmp/out")"
    [ "$(wc -l <"$tmp/err")" -gt 2 ] || fail "$cmd --json -: the text is not on stderr"
    # shellcheck disable=SC2086
    "$LLMLOAD" $cmd --quiet --json "$tmp/quiet.json" >"$tmp/out" 2>"$tmp/err"
    [ ! -s "$tmp/out" ] || fail "$cmd --quiet: printed: $(head -3 "$tmp/out")"
    python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/quiet.json" ||
        fail "$cmd --quiet: no JSON file"
done
grep -q "accounting OK" <("$LLMLOAD" run --backend evented -n 5 --json - 2>&1 >/dev/null) ||
    fail "run --json -: the report is not on stderr"

# --- --cacert: a file OpenSSL cannot load as CA certificates is one line and exit 2 before
# anything starts (it used to start, fail every request as "TLS verification" and retry each) ---
echo "not a certificate" >"$tmp/notpem.txt"
printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' >"$tmp/broken.pem"
for f in "$tmp/notpem.txt|no PEM certificate" "$tmp/broken.pem|no PEM certificate" \
    "$tmp/dir|is a directory" "$tmp/none.pem|No such file"; do
    file=${f%%|*} want=${f#*|}
    for cmd in "run --backend threaded --tls -n 2" "run --backend evented --tls -n 2" \
        "batch --in $tmp/q.jsonl --out $tmp/cacert.jsonl"; do
        # shellcheck disable=SC2086
        "$LLMLOAD" $cmd --cacert "$file" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 2 ] || fail "$cmd --cacert $file: exit $rc, want 2"
        [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -qF -- "--cacert '$file': $want" "$tmp/err" ||
            fail "$cmd --cacert $file: want one line '$want', got: $(head -3 "$tmp/err")"
        [ ! -s "$tmp/out" ] || fail "$cmd --cacert $file: printed on stdout"
        [ ! -e "$tmp/cacert.jsonl" ] || fail "$cmd --cacert $file: wrote its --out"
    done
done

[ "$fails" -eq 0 ] && echo "test_cli_files: all passed"
exit $((fails > 0))
