#!/usr/bin/env bash
# tests/valgrind.sh - valgrind memcheck over a short integration run: `llmload run` on both
# backends against its embedded mockllm, with faults (429/5xx, closes, stalls) and retries,
# JSON and streaming. llmload and every mockllm it starts run under memcheck
# (--leak-check=full --error-exitcode=1); the script fails unless every process reports zero
# errors and nothing definitely or indirectly lost.
#
#   LL_LLMLOAD=build/bench/llmload LL_MOCKLLM=build/mock_server/mockllm tests/valgrind.sh
# Exit: 0 clean, 1 a report or a failed run, 77 valgrind missing (ctest: skipped).
set -u
LLMLOAD=${LL_LLMLOAD:?set LL_LLMLOAD to the llmload binary}
MOCKLLM=${LL_MOCKLLM:?set LL_MOCKLLM to the mockllm binary}
command -v valgrind >/dev/null || { echo "valgrind not installed: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vg=(valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --error-exitcode=1 --track-fds=no --num-callers=30)

# llmload starts mockllm through $LL_MOCKLLM: a wrapper puts it under memcheck too.
cat >"$tmp/mockllm" <<WRAP
#!/bin/sh
exec ${vg[*]} --log-file=$tmp/vg-mockllm.%p.log "$MOCKLLM" "\$@"
WRAP
chmod +x "$tmp/mockllm"

fails=0
for be in threaded evented; do
    for mode in "" "--stream"; do
        # shellcheck disable=SC2086
        LL_MOCKLLM=$tmp/mockllm "${vg[@]}" --log-file="$tmp/vg-llmload-$be${mode:+-stream}.log" \
            "$LLMLOAD" run --backend "$be" --requests 60 --concurrency 4 $mode --max-tokens 8 \
            --retries 6 --timeout 3 --seed 3 \
            --mock-arg=--faults=429=0.05,500=0.05,503=0.03,close=0.04,stall=0.03,retry_after=0 \
            --json "$tmp/$be.json" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [ "$rc" -ne 0 ]; then
            echo "FAIL: llmload run --backend $be $mode: exit $rc"
            cat "$tmp/err"
            fails=$((fails + 1))
        fi
        grep "^accounting" "$tmp/out" | sed "s/^/  $be${mode:+ stream}: /"
    done
done

nlogs=0
for log in "$tmp"/vg-*.log; do
    nlogs=$((nlogs + 1))
    summary=$(grep "ERROR SUMMARY" "$log" | tail -1)
    case $summary in
    *"ERROR SUMMARY: 0 errors"*) ;;
    *)
        echo "FAIL: $(basename "$log"): ${summary:-no summary}"
        cat "$log"
        fails=$((fails + 1))
        ;;
    esac
done
echo "valgrind: $nlogs processes checked (llmload x4, its mockllm x4), $fails failures"
[ "$nlogs" -ge 8 ] || { echo "FAIL: expected 8 memcheck logs"; fails=$((fails + 1)); }
[ "$fails" -eq 0 ]
