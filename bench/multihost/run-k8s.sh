#!/usr/bin/env bash
# run-k8s.sh - one llmload workload split over AGENTS pods of a Kubernetes Indexed Job
# (llmload-agents.yaml), started together, then merged by a second Job. See README.md here.
#
#   bench/multihost/run-k8s.sh --agents 8 --target http://vllm.svc:8000/v1 --image REGISTRY/llmload \
#       --pvc llmload-results [--lead 90] [--cpu 2] [--memory 2Gi] [--run-id NAME] [--dry-run] \
#       -- --backend evented --rate 4000 --requests 400000 --stream --max-tokens 128
#
# --lead: seconds from now to the common start (every pod must be scheduled, pulled and
# started by then; a late agent says by how much and its file records it). --dry-run prints
# the two rendered Jobs and applies nothing. kubectl's current context and namespace are used
# (KUBECTL="kubectl -n load" for another). Exit: the merge's (0 ok, 1 a failed or missing agent,
# 3 a threshold), 2 usage.
set -u
usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}
die() {
    echo "run-k8s.sh: $*" >&2
    exit 2
}

KUBECTL=${KUBECTL:-kubectl}
HERE=$(cd "$(dirname "$0")" && pwd)
AGENTS="" TARGET="" IMAGE="" RESULTS_PVC="" lead=90 AGENT_CPU=2 AGENT_MEMORY=2Gi dry=0
RUN_ID=$(date -u +%Y%m%d-%H%M%S)
while [ $# -gt 0 ]; do
    case $1 in
    --agents) AGENTS=${2:?}; shift ;;
    --target) TARGET=${2:?}; shift ;;
    --image) IMAGE=${2:?}; shift ;;
    --pvc) RESULTS_PVC=${2:?}; shift ;;
    --lead) lead=${2:?}; shift ;;
    --cpu) AGENT_CPU=${2:?}; shift ;;
    --memory) AGENT_MEMORY=${2:?}; shift ;;
    --run-id) RUN_ID=${2:?}; shift ;;
    --dry-run) dry=1 ;;
    -h | --help) usage 0 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
[[ $AGENTS =~ ^[1-9][0-9]*$ ]] || die "--agents: want a count, got '$AGENTS'"
[ -n "$TARGET" ] && [ -n "$IMAGE" ] && [ -n "$RESULTS_PVC" ] || die "--target, --image and --pvc are required"
[[ $lead =~ ^[0-9]+$ ]] || die "--lead: want whole seconds, got '$lead'"
[[ $RUN_ID =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "--run-id: a DNS label (a-z, 0-9, -), got '$RUN_ID'"
[ $# -gt 0 ] || die "the workload goes after --: -- --backend evented --rate 1000 --requests 50000"
for a in "$@"; do # one string in the manifest, split into words by the agent's shell
    case $a in *[[:space:]\"\'\\\$\`]*) die "workload arguments may not contain spaces or quotes here: '$a'" ;; esac
done
LLMLOAD_ARGS="$*"
START_AT=$(date -u -d "@$(($(date +%s) + lead))" +%Y-%m-%dT%H:%M:%SZ)
export RUN_ID AGENTS START_AT TARGET LLMLOAD_ARGS IMAGE RESULTS_PVC AGENT_CPU AGENT_MEMORY

# only these are substituted: the agents' own $variables stay for their shell
vars='${RUN_ID} ${AGENTS} ${START_AT} ${TARGET} ${LLMLOAD_ARGS} ${IMAGE} ${RESULTS_PVC} ${AGENT_CPU} ${AGENT_MEMORY}'
rendered=$(envsubst "$vars" <"$HERE/llmload-agents.yaml") || die "envsubst failed"
agents_doc=$(printf '%s\n' "$rendered" | awk '/^---$/ {exit} {print}')
merge_doc=$(printf '%s\n' "$rendered" | awk 'seen {print} /^---$/ {seen = 1}')
if [ "$dry" -eq 1 ]; then
    printf '%s\n' "$rendered"
    exit 0
fi

# wait_job NAME: until it completed (0) or failed (1)
wait_job() {
    local state
    while :; do
        state=$($KUBECTL get job "$1" -o 'jsonpath={range .status.conditions[?(@.status=="True")]}{.type} {end}') || return 1
        case $state in
        *Complete*) return 0 ;;
        *Failed*) return 1 ;;
        esac
        sleep 5
    done
}

echo "run-k8s.sh: $AGENTS agents of run $RUN_ID start at $START_AT" >&2
printf '%s\n' "$agents_doc" | $KUBECTL apply -f - || exit 1
wait_job "llmload-$RUN_ID-agents" || echo "run-k8s.sh: the agents' Job failed; merging what is there" >&2
printf '%s\n' "$merge_doc" | $KUBECTL apply -f - || exit 1
wait_job "llmload-$RUN_ID-merge"
$KUBECTL logs "job/llmload-$RUN_ID-merge"
code=$($KUBECTL get pods -l "llmload-run=$RUN_ID,llmload-role=merge" \
    -o 'jsonpath={.items[0].status.containerStatuses[0].state.terminated.exitCode}')
echo "run-k8s.sh: merged run in the volume $RESULTS_PVC at $RUN_ID/merged.json; exit $code" >&2
exit "${code:-1}"
