#!/usr/bin/env bash
# test_workloads_cli.sh - llmload run's workload flags (issue 14 items 5-7) from the command line:
#   - bad input: a missing dataset or trace file, a malformed line (named with its line number),
#     a bad length spec, flags that cannot go together: exit 2, one line on stderr, nothing on
#     stdout, before anything starts;
#   - the lengths against mockllm's own count (usage.prompt_tokens is mockllm's count of the
#     bytes it received, completion_tokens the tokens it generated), both backends: synthetic
#     prompts of 37 tokens x 30 requests = 1110; drawn lengths equal under the same seed and
#     differ under another; a trace's input and output sums; a ShareGPT file's prompts;
#   - short answers: mockllm capped at 20 tokens (x-mock-tokens) while 30 are asked: all 10 are
#     short, 200 of 300 tokens, and the run warns.
# Needs LL_LLMLOAD (and LL_MOCKLLM, read by llmload itself).
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
unset OPENAI_BASE_URL OPENAI_API_KEY

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

printf '{"prompt": "one"}\n\n{"prompt": "two"\n' >"$tmp/bad.jsonl"
printf 'timestamp,input_tokens,output_tokens\n0,10,5\n# note\n0.5,x,5\n' >"$tmp/bad.csv"
printf '0,10,5\n1,20,6\n' >"$tmp/ok.csv"
printf '{"prompt": "one"}\n' >"$tmp/ok.jsonl"

# usage errors: exit 2, exactly one line on stderr (matching the pattern), nothing on stdout
bad=(
    "--dataset $tmp/none.jsonl|none.jsonl: No such file"
    "--trace $tmp/none.csv|none.csv: No such file"
    "--dataset $tmp/bad.jsonl|bad.jsonl:3: not valid JSON"
    "--trace $tmp/bad.csv|bad.csv:4: "
    "--input-tokens uniform:9,3|--input-tokens uniform"
    "--output-tokens lognormal:x|--output-tokens"
    "--input-tokens 0|--input-tokens"
    "--dataset $tmp/ok.jsonl --trace $tmp/ok.csv|--trace and --dataset"
    "--dataset-sample 5|needs --dataset"
    "--trace-speed 2|needs --trace"
    "--trace $tmp/ok.csv --rate 5|own arrival times"
    "--trace $tmp/ok.csv --max-tokens 5|a trace gives"
    "--trace $tmp/ok.csv --ramp-up 2|--ramp-up"
    "--burstiness 2|--burstiness needs --rate"
    "--arrivals gamma|--arrivals needs --rate"
    "--arrivals bursty --rate 5|want constant, poisson or gamma"
    "--ignore-eos|--ignore-eos needs"
    "--max-tokens 5 --output-tokens 9|--output-tokens"
    "--prompt hi --input-tokens 9|choose one source"
    "--prompt hi --dataset $tmp/ok.jsonl|choose one source"
    "--ramp-up -1|--ramp-up"
    "--burstiness 0 --rate 5|--burstiness"
)
for case in "${bad[@]}"; do
    args=${case%%|*} want=${case#*|}
    # shellcheck disable=SC2086
    "$LLMLOAD" run --backend threaded $args >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] || fail "'$args': exit $rc, want 2"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "'$args': stderr is not one line: $(cat "$tmp/err")"
    grep -qF -- "$want" "$tmp/err" || fail "'$args': stderr '$(cat "$tmp/err")' lacks '$want'"
    [ ! -s "$tmp/out" ] || fail "'$args': wrote to stdout"
done

"$LLMLOAD" run --help >"$tmp/help" || fail "run --help: exit $?"
for flag in dataset dataset-sample input-tokens output-tokens ignore-eos ramp-up burstiness \
    trace trace-speed; do
    grep -q -- "--$flag" "$tmp/help" || fail "--help misses --$flag"
done

# figures from the run's JSON: "name=value ..." for the fields asked
figs() {
    python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r, w = d["results"]["requests"], d["config"]["workload"]
vals = {"ok": r["succeeded"], "prompt": r["prompt_tokens"], "completion": r["completion_tokens"],
        "sent_in": w["sent"]["input_tokens"], "sent_out": w["sent"]["output_tokens_asked"],
        "short": r["short_answers"], "asked": r["output_tokens_asked"],
        "received": r["output_tokens_received_of_asked"], "requests": d["config"]["requests"]}
print(" ".join("%s=%s" % (k, vals[k]) for k in sys.argv[2:]))
PY
}

run() { # run BACKEND JSON ARGS...: a run against the embedded mock, exit 0 expected
    local be=$1 json=$2
    shift 2
    "$LLMLOAD" run --backend "$be" --concurrency 4 --json "$json" "$@" >"$tmp/out" 2>"$tmp/err" ||
        fail "$be $*: exit $?: $(cat "$tmp/err")"
}

# a trace: inputs 10..14 (sum 60), outputs 5..9 (sum 35); the first 3 rows: 33 and 18
printf 'timestamp,input_tokens,output_tokens\n' >"$tmp/t.csv"
for i in 0 1 2 3 4; do echo "0.0$i,$((10 + i)),$((5 + i))" >>"$tmp/t.csv"; done
# ShareGPT: prompts of 8+12 bytes (2 + 3 tokens), 1 byte (1), 9 bytes (3); one entry skipped
cat >"$tmp/sg.json" <<'EOF'
[{"id": "a", "conversations": [{"from": "system", "value": "12345678"},
  {"from": "human", "value": "123456789012"}, {"from": "gpt", "value": "x"}]},
 {"id": "b", "conversations": [{"from": "human", "value": "1"}]},
 {"id": "c", "conversations": [{"from": "gpt", "value": "no question"}]},
 {"id": "d", "conversations": [{"from": "human", "value": "123456789"}]}]
EOF

for be in threaded evented; do
    run "$be" "$tmp/a.json" --requests 30 --input-tokens 37
    [ "$(figs "$tmp/a.json" ok prompt sent_in)" = "ok=30 prompt=1110 sent_in=1110" ] ||
        fail "$be fixed input: $(figs "$tmp/a.json" ok prompt sent_in), want 30 x 37 = 1110"

    # drawn lengths: mockllm counted what was sent; the same seed twice, then another
    for run_seed in 9a 9b 10; do
        run "$be" "$tmp/s.json" --requests 40 --seed "${run_seed%[ab]}" \
            --input-tokens lognormal:20,200 --output-tokens uniform:5,50
        figs "$tmp/s.json" prompt sent_in completion sent_out short >"$tmp/sum$run_seed"
        read -r p si c so sh <"$tmp/sum$run_seed"
        if [ "${p#*=}" != "${si#*=}" ] || [ "${c#*=}" != "${so#*=}" ] || [ "$sh" != short=0 ]; then
            fail "$be seed $run_seed: mockllm's counts differ from what was sent: $p $si $c $so $sh"
        fi
    done
    cmp -s "$tmp/sum9a" "$tmp/sum9b" ||
        fail "$be: seed 9 twice: $(cat "$tmp/sum9a") and $(cat "$tmp/sum9b")"
    ! cmp -s "$tmp/sum9a" "$tmp/sum10" || fail "$be: seeds 9 and 10 alike: $(cat "$tmp/sum10")"

    run "$be" "$tmp/t.json" --trace "$tmp/t.csv" --trace-speed 10
    [ "$(figs "$tmp/t.json" requests ok prompt completion)" = \
        "requests=5 ok=5 prompt=60 completion=35" ] ||
        fail "$be trace: $(figs "$tmp/t.json" requests ok prompt completion), want 5 60 35"
    run "$be" "$tmp/t3.json" --trace "$tmp/t.csv" --requests 3
    [ "$(figs "$tmp/t3.json" requests prompt completion)" = "requests=3 prompt=33 completion=18" ] ||
        fail "$be trace, 3 rows: $(figs "$tmp/t3.json" requests prompt completion), want 3 33 18"

    # a trace ends the run at its last row, also with --duration (no unbounded wait)
    start=$(date +%s)
    run "$be" "$tmp/td.json" --trace "$tmp/t.csv" --duration 60s
    took=$(($(date +%s) - start))
    if [ "$(figs "$tmp/td.json" requests ok)" != "requests=5 ok=5" ] || [ "$took" -ge 30 ]; then
        fail "$be trace with --duration: $(figs "$tmp/td.json" requests ok), $took s"
    fi
    # --ramp-up takes a duration like --duration's
    run "$be" "$tmp/r.json" --rate 100 --ramp-up 0.2s --requests 20
    grep -q "ramp_up=0.2s" "$tmp/out" || fail "$be --ramp-up 0.2s: $(grep workload "$tmp/out")"

    run "$be" "$tmp/sg.json.out" --dataset "$tmp/sg.json" --requests 3
    [ "$(figs "$tmp/sg.json.out" ok prompt sent_in)" = "ok=3 prompt=9 sent_in=9" ] ||
        fail "$be sharegpt: $(figs "$tmp/sg.json.out" ok prompt sent_in), want 5 + 1 + 3 = 9"
    grep -q "workload: dataset=.*(json, 3 of 3 prompts, 1 skipped)" "$tmp/out" ||
        fail "$be sharegpt: header: $(grep workload "$tmp/out")"

    run "$be" "$tmp/short.json" --requests 10 --output-tokens 30 --header 'x-mock-tokens: 20'
    [ "$(figs "$tmp/short.json" short asked received)" = "short=10 asked=300 received=200" ] ||
        fail "$be short: $(figs "$tmp/short.json" short asked received)"
    grep -q "warning: 10 of 10 answers came back shorter than their max_tokens" "$tmp/err" ||
        fail "$be short: no warning: $(cat "$tmp/err")"
    grep -q "^short answers (< max_tokens) *10 of 10" "$tmp/out" || fail "$be short: no table line"
    run "$be" "$tmp/long.json" --requests 10 --max-tokens 10 --header 'x-mock-tokens: 20'
    [ "$(figs "$tmp/long.json" short asked received)" = "short=0 asked=100 received=100" ] ||
        fail "$be not short: $(figs "$tmp/long.json" short asked received)"
    ! grep -q "shorter" "$tmp/err" || fail "$be not short: warned: $(cat "$tmp/err")"
done

[ "$fails" -eq 0 ] && echo "test_workloads_cli: all passed"
exit $((fails > 0))
