#!/usr/bin/env bash
# bench/mock_bench.sh - mockllm alone under wrk, beside nginx serving the same bytes, same run.
#
#   bench/mock_bench.sh [--duration S] [--out DIR]
#
# Cells: wrk at 1, 10, 100, 1000 connections against mockllm (one loop), nginx (one worker),
# mockllm --threads 2 and nginx with two workers; zero latency. Then 10,000 connections each
# waiting 1 s on mockllm: every request answered, p99, peak RSS. Prints a Markdown table.
set -euo pipefail
LL_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$LL_TOP/scripts/deps.sh"
duration=5 out=""
while [ $# -gt 0 ]; do
    case $1 in
    --duration) duration=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "mock_bench.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
ll_deps $LL_BUILD_DEPS wrk nginx-light
ll_build "$LL_TOP/build"
mockllm=$LL_TOP/build/mock_server/mockllm
out=${out:-$LL_TOP/bench/results/mock-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# start_mock ARGS... -> sets MOCK_PID, MOCK_PORT
start_mock() {
    coproc MOCK { exec "$mockllm" --port 0 "$@"; }
    MOCK_PID=$MOCK_PID
    read -r -t 10 _ _ MOCK_PORT <&"${MOCK[0]}"
    pids+=("$MOCK_PID")
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# start_nginx WORKERS BODYFILE -> sets NGINX_PID, NGINX_PORT. Serves the body mockllm sent, from
# memory (`return 200`), so neither side touches the disk.
start_nginx() {
    NGINX_PORT=$(free_port)
    local body; body=$(sed 's/\\/\\\\/g; s/"/\\"/g' "$2")
    cat >"$work/nginx.conf" <<NGX
worker_processes $1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 16384; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:$NGINX_PORT reuseport backlog=4096;
        location / { default_type application/json; return 200 "$body"; }
    }
}
NGX
    nginx -c "$work/nginx.conf" -p "$work" &
    NGINX_PID=$!
    pids+=("$NGINX_PID")
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" && return 0; sleep 0.1; done
    echo "nginx did not start" >&2; return 1
}

# run_wrk PORT CONNS -> "rps p50_ms p99_ms errors"
run_wrk() {
    local t=2; [ "$2" -lt 2 ] && t=1
    wrk -t"$t" -c"$2" -d"${duration}s" --timeout 10s --latency -s "$LL_TOP/bench/lib/post.lua" \
        "http://127.0.0.1:$1/v1/chat/completions" >"$work/wrk.out" 2>&1
    awk -v out="$work/wrk.out" '
        function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
        /Non-2xx/ { err += $NF } /Socket errors/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
        END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, err }' "$work/wrk.out"
}

conns=(1 10 100 1000)
declare -A rps p99 errs
cell() { # NAME PORT
    for c in "${conns[@]}"; do
        read -r r _ q e < <(run_wrk "$2" "$c")
        rps[$1,$c]=$r p99[$1,$c]=$q errs[$1,$c]=$e
        printf '  %-14s c=%-5s %8s req/s  p99 %7s ms  errors %s\n' "$1" "$c" "$r" "$q" "$e" >&2
    done
}

echo "mockllm against nginx, wrk ${duration}s per cell" >&2
start_mock --seed 1
curl -s -X POST -H 'Content-Type: application/json' \
    -d '{"model":"gpt-mock","messages":[{"role":"user","content":"Hello"}],"max_tokens":16}' \
    "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" >"$work/body.json"
cell mock1 "$MOCK_PORT"; stop_pid "$MOCK_PID"
start_nginx 1 "$work/body.json"; cell nginx1 "$NGINX_PORT"; stop_pid "$NGINX_PID"
start_mock --seed 1 --threads 2; cell mock2 "$MOCK_PORT"; stop_pid "$MOCK_PID"
start_nginx 2 "$work/body.json"; cell nginx2 "$NGINX_PORT"; stop_pid "$NGINX_PID"

# 10,000 connections, each request waiting 1 s on a uv timer.
start_mock --seed 1 --latency-ms 1000
wrk -t2 -c10000 -d10s --timeout 5s --latency -s "$LL_TOP/bench/lib/post.lua" \
    "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" >"$work/wrk10k.out" 2>&1 || true
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$MOCK_PID/status")
stop_pid "$MOCK_PID"

{
    echo "### mockllm against nginx (wrk, zero latency, ${duration} s per cell, $(nproc) cores)"
    echo
    echo "Command: \`bench/mock_bench.sh --duration $duration\`"
    echo
    echo "| connections | mockllm 1 loop | nginx 1 worker | ratio | mockllm --threads 2 | nginx 2 workers | ratio |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
    for c in "${conns[@]}"; do
        awk -v c="$c" -v a="${rps[mock1,$c]}" -v b="${rps[nginx1,$c]}" -v d="${rps[mock2,$c]}" -v e="${rps[nginx2,$c]}" \
            'BEGIN { printf "| %s | %d | %d | %.2f | %d | %d | %.2f |\n", c, a, b, a/b, d, e, d/e }'
    done
    echo
    echo "p99 latency (ms) at the same cells: mockllm 1 loop ${p99[mock1,1]} / ${p99[mock1,10]} / ${p99[mock1,100]} / ${p99[mock1,1000]};" \
         "nginx 1 worker ${p99[nginx1,1]} / ${p99[nginx1,10]} / ${p99[nginx1,100]} / ${p99[nginx1,1000]}. Errors: mockllm" \
         "$(( ${errs[mock1,1]} + ${errs[mock1,10]} + ${errs[mock1,100]} + ${errs[mock1,1000]} + ${errs[mock2,1]} + ${errs[mock2,10]} + ${errs[mock2,100]} + ${errs[mock2,1000]} ))."
    echo
    echo "### 10,000 connections, each request waiting 1 s (\`--latency-ms 1000\`, wrk -c10000 -d10s)"
    echo
    echo '```'
    grep -E 'Latency|Req/Sec|50%|90%|99%|requests in|Socket errors|Non-2xx|Requests/sec' "$work/wrk10k.out" || true
    echo "mockllm peak RSS: $((rss_kb / 1024)) MiB"
    echo '```'
} | tee "$out/mock_report.md"
