#!/usr/bin/env bash
# run-ssh.sh - one llmload workload split over the hosts of a list, over plain ssh: agent i
# runs `llmload run --segment i/N --start-at T` on host i, its --json is copied back, and the
# files are merged here. See README.md in this folder.
#
#   bench/multihost/run-ssh.sh --hosts hosts.txt --target http://10.0.0.5:8000/v1 \
#       [--lead 15] [--out results/] [--remote-llmload llmload] -- --backend evented --rate 2000 ...
#
# hosts.txt: one ssh destination per line ([user@]host, '#' comments); the same host twice runs
# two agents there. llmload must be installed on every host; OPENAI_API_KEY, when set here, is
# passed to each agent on its standard input, never on a command line.
# Agents run in parallel with GNU parallel when it is installed, else as background ssh jobs
# (the same commands). SSH and SCP may name other commands (SSH="ssh -i key -o ..."). The exit
# code is the merge's: 0 ok, 1 a failed or missing agent (or the files did not merge), 3 a
# --merge-threshold failed; 2 usage.
set -u
usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}
die() {
    echo "run-ssh.sh: $*" >&2
    exit 2
}

SSH=${SSH:-ssh}
SCP=${SCP:-scp}
LLMLOAD=${LLMLOAD:-llmload} # the local one, for the merge
hosts_file="" target="" lead=15 out="" remote=llmload merge_args=()
while [ $# -gt 0 ]; do
    case $1 in
    --hosts) hosts_file=${2:?--hosts needs a file}; shift ;;
    --target) target=${2:?--target needs a URL}; shift ;;
    --lead) lead=${2:?--lead needs seconds}; shift ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    --remote-llmload) remote=${2:?--remote-llmload needs a path}; shift ;;
    --merge-threshold) merge_args+=(--threshold "${2:?--merge-threshold needs an expression}"); shift ;;
    -h | --help) usage 0 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
[ -n "$hosts_file" ] && [ -r "$hosts_file" ] || die "--hosts FILE is required and must be readable"
[ -n "$target" ] || die "--target URL is required"
[[ $lead =~ ^[0-9]+$ ]] || die "--lead: want whole seconds, got '$lead'"
[ $# -gt 0 ] || die "the workload goes after --: -- --backend evented --rate 1000 --requests 50000"
mapfile -t hosts < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^[[:space:]]*$/d' "$hosts_file")
n=${#hosts[@]}
[ "$n" -gt 0 ] || die "$hosts_file names no host"

run_id=$(date -u +%Y%m%dT%H%M%SZ)-$$
out=${out:-results/multihost-$run_id}
mkdir -p "$out" || die "cannot make $out"
start_at=$(($(date +%s) + lead))
# the workload's words, quoted once for the remote shell
args=""
for a in "$@"; do args+=" $(printf '%q' "$a")"; done

# agent I: its command on host I (the key, if any, arrives on stdin: never in `ps`)
agent_cmd() {
    local i=$1
    printf '%s' "read -r k; [ -n \"\$k\" ] && export OPENAI_API_KEY=\"\$k\"; "
    printf '%s' "$(printf '%q' "$remote") run --segment $i/$n --start-at $start_at"
    printf '%s' " --url $(printf '%q' "$target") --json /tmp/llmload-$run_id-$i.json --quiet$args"
}

# one agent: run, then fetch its file; the exit code is the run's (the merge judges it too)
agent() {
    local i=$1 host=${hosts[$1]} rc
    printf '%s\n' "${OPENAI_API_KEY:-}" | $SSH "$host" "$(agent_cmd "$i")" 2>"$out/agent-$i.err"
    rc=$?
    $SCP "$host:/tmp/llmload-$run_id-$i.json" "$out/agent-$i.json" 2>>"$out/agent-$i.err" ||
        echo "run-ssh.sh: agent $i on $host: no result file" >&2
    $SSH "$host" "rm -f /tmp/llmload-$run_id-$i.json" </dev/null 2>/dev/null
    echo "run-ssh.sh: agent $i/$n on $host exited $rc" >&2
    return $rc
}
export -f agent agent_cmd
export SSH SCP out run_id n start_at target remote args
export OPENAI_API_KEY=${OPENAI_API_KEY:-}

echo "run-ssh.sh: $n agents, start at $(date -u -d "@$start_at" +%Y-%m-%dT%H:%M:%SZ), results in $out" >&2
if command -v parallel >/dev/null && [ -z "${LL_NO_PARALLEL:-}" ]; then
    # hosts[] cannot be exported: each job gets its host as an argument and sets it
    parallel --will-cite -j0 --line-buffer --link \
        'hosts=(); hosts[{1}]={2}; agent {1}' ::: $(seq 0 $((n - 1))) ::: "${hosts[@]}"
else
    pids=()
    for i in $(seq 0 $((n - 1))); do
        agent "$i" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
fi
# every agent's file that came back; a missing one is a missing segment to the merge
files=()
for i in $(seq 0 $((n - 1))); do
    [ -s "$out/agent-$i.json" ] && files+=("$out/agent-$i.json")
done
[ ${#files[@]} -gt 0 ] || { echo "run-ssh.sh: no agent's result came back (see $out/agent-*.err)" >&2; exit 1; }
"$LLMLOAD" merge "${files[@]}" --json "$out/merged.json" "${merge_args[@]}"
