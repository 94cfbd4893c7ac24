#!/usr/bin/env bash
# bench/mock_bench.sh - mockllm alone under wrk, beside nginx serving the same bytes, same run.
#
#   bench/mock_bench.sh [--duration S] [--reps N] [--out DIR] [--only PARTS] [--pin]
#
# PARTS: a comma-separated subset of clear (the HTTP/1.1 cells), tls (the transport cells) and
# 10k (10,000 waiting connections); all three by default.
#
# Cells: wrk at 1, 10, 100, 1000 connections against mockllm (one loop) and nginx (one worker),
# then mockllm --threads 2 and nginx with two workers; zero latency. The two servers of a pair
# run side by side and wrk alternates between them, N times per connection count (default 5;
# A then B, then B then A): a figure is the median of its N runs and a ratio the median of the
# N back-to-back ratios, so a noisy moment of the machine hits both sides. Single runs here
# differ by +-15%, so each cell also gets the geometric mean of its N ratios with a 95%
# confidence interval: it says whether a cell's difference is larger than the noise. Beside
# throughput, each server's own CPU time per request (utime + stime of its threads over the
# run, /proc): on 2 cores wrk and the server share the CPUs, and how the scheduler splits them
# moves throughput, while CPU per request is what the server itself costs. One more pair:
# mockllm --no-memo (every body parsed, every text generated) at 100 connections. Then 10,000
# connections each waiting 1 s on mockllm: every request answered, p99, peak RSS, and how late
# mockllm itself wrote the answers (its /metrics). Then the transport (issue 15), one loop
# against one worker, both serving the same ECDSA P-256 certificate: keep-alive HTTPS under
# wrk at 10 and 100 connections, a new TLS connection per request (wrk with Connection: close,
# 10 connections: handshakes per second; wrk resumes its TLS sessions, so these are resumed
# handshakes, as mockllm's /metrics shows), and HTTP/2 over TLS under h2load (10 connections,
# 10 streams each). Prints Markdown tables.
#
# --pin: the one-loop / one-worker servers on CPU 0 and wrk or h2load (one thread) on CPU 1, so
# that neither side takes the other's core and a cell measures the server rather than how the
# scheduler shared two cores that moment (the two-worker pair still runs unpinned).
set -euo pipefail
LL_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$LL_TOP/scripts/deps.sh"
duration=5 reps=5 out="" only=clear,tls,10k pin=0
while [ $# -gt 0 ]; do
    case $1 in
    --duration) duration=$2; shift ;;
    --reps) reps=$2; shift ;;
    --out) out=$2; shift ;;
    --only) only=$2; shift ;;
    --pin) pin=1 ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "mock_bench.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
for p in ${only//,/ }; do
    case $p in clear | tls | 10k) ;; *) echo "mock_bench.sh: --only takes clear, tls, 10k, not '$p'" >&2; exit 2 ;; esac
done
[ "$pin" = 0 ] || [ "$(nproc)" -ge 2 ] || { echo "mock_bench.sh: --pin needs two CPUs" >&2; exit 2; }
# srv_pin and cli_pin: the taskset prefixes of a server and of the load generator (empty unless
# --pin); a server started with srv_pin set keeps CPU 0, its workers too.
srv_pin=() cli_pin=()
pin_servers() { [ "$pin" = 1 ] && srv_pin=(taskset -c 0) cli_pin=(taskset -c 1) || true; }
unpin_servers() { srv_pin=() cli_pin=(); }
# want PART -> true when PART is to run
want() { case ",$only," in *",$1,"*) return 0 ;; esac; return 1; }
ll_deps $LL_BUILD_DEPS wrk nginx-light nghttp2-client openssl
ll_build "$LL_TOP/build"
mockllm=$LL_TOP/build/mock_server/mockllm
out=${out:-$LL_TOP/bench/results/mock-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# start_mock ARGS... -> sets MOCK_PID, MOCK_PORT (the ready line may go on: "tls CAFILE")
start_mock() {
    coproc MOCK { exec "${srv_pin[@]}" "$mockllm" --port 0 "$@"; }
    MOCK_PID=$MOCK_PID
    read -r -t 10 _ _ MOCK_PORT _ <&"${MOCK[0]}"
    pids+=("$MOCK_PID")
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# start_nginx WORKERS BODYFILE [tls] -> sets NGINX_PID, NGINX_PORT. Serves the body mockllm
# sent, from memory (`return 200`), so neither side touches the disk; with tls, HTTPS and
# HTTP/2 with $work/cert.pem and key.pem, tickets and a session cache (as mockllm resumes).
start_nginx() {
    NGINX_PORT=$(free_port)
    local body listen="listen 127.0.0.1:$NGINX_PORT reuseport backlog=4096;" scheme=http
    body=$(sed 's/\\/\\\\/g; s/"/\\"/g' "$2")
    if [ "${3:-}" = tls ]; then
        scheme=https
        listen="listen 127.0.0.1:$NGINX_PORT ssl http2 reuseport backlog=4096;
        ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m; ssl_session_tickets on;
        http2_max_concurrent_streams 100;"
    fi
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
        $listen
        location / { default_type application/json; return 200 "$body"; }
    }
}
NGX
    "${srv_pin[@]}" nginx -c "$work/nginx.conf" -p "$work" &
    NGINX_PID=$!
    pids+=("$NGINX_PID")
    for _ in $(seq 50); do curl -sk -o /dev/null "$scheme://127.0.0.1:$NGINX_PORT/" && return 0; sleep 0.1; done
    echo "nginx did not start" >&2; return 1
}

# ticks PID... -> utime + stime of every thread of the PIDs, in clock ticks
ticks() {
    local p t s=0
    for p in "$@"; do
        for t in /proc/"$p"/task/*/stat; do
            s=$((s + $(awk '{ print $14 + $15 }' "$t" 2>/dev/null || echo 0)))
        done
    done
    echo "$s"
}
hz=$(getconf CLK_TCK)

# run_wrk PORT CONNS PIDS -> "rps p50_ms p99_ms errors cpu_us_per_request"; $scheme (http or
# https) and $wrk_args (extra wrk arguments) apply.
scheme=http wrk_args=()
run_wrk() {
    local t=2 c0 c1; [ "$2" -lt 2 ] || [ ${#cli_pin[@]} -gt 0 ] && t=1
    c0=$(ticks $3)
    "${cli_pin[@]}" wrk -t"$t" -c"$2" -d"${duration}s" --timeout 10s --latency -s "$LL_TOP/bench/lib/post.lua" \
        "${wrk_args[@]}" "$scheme://127.0.0.1:$1/v1/chat/completions" >"$work/wrk.out" 2>&1
    c1=$(ticks $3)
    awk -v out="$work/wrk.out" -v dt=$((c1 - c0)) -v hz="$hz" '
        function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
        /Non-2xx/ { err += $NF } /Socket errors/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
        / requests in / { n = $1 }
        END { printf "%.0f %.3f %.3f %d %.2f\n", rps, p50, p99, err, (n > 0 ? dt * 1e6 / hz / n : 0) }' "$work/wrk.out"
}

# run_h2load PORT CONNS PIDS -> the same fields from h2load over TLS (ALPN h2), 10 streams per
# connection (h2load gives no percentiles: p50 and p99 are its mean and max).
run_h2load() {
    local c0 c1
    c0=$(ticks $3)
    "${cli_pin[@]}" h2load -D "$duration" -c "$2" -m 10 -t 1 -d "$work/post.json" \
        "https://127.0.0.1:$1/v1/chat/completions" >"$work/h2load.out" 2>&1 || true
    c1=$(ticks $3)
    awk -v dt=$((c1 - c0)) -v hz="$hz" -v d="$duration" '
        function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
        /^requests:/ { ok = $8; err = $10 + $12 }
        /^time for request:/ { mean = ms($6); mx = ms($5) }
        END { printf "%.0f %.3f %.3f %d %.2f\n", ok / d, mean, mx, err, (ok > 0 ? dt * 1e6 / hz / ok : 0) }' "$work/h2load.out"
}

runner=run_wrk
conns=(1 10 100 1000)
declare -A rps p99 errs ratio cpu
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# ratio A B -> A / B with four decimals (0 when B is 0)
ratio_of() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }'; }
# gci: ratios on stdin (one per paired run) -> "GEOMEAN LO HI", the geometric mean and its 95%
# confidence interval (Student's t over the log ratios; the pairs are independent runs). A cell
# whose interval lies wholly above 1 is faster beyond this machine's noise, wholly below slower.
gci() {
    tr ' ' '\n' | awk 'NF { n++; l = log($1); s += l; q += l * l }
        END {
            split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228 2.201 2.179 2.160 2.145 2.131 2.120 2.110 2.101 2.093 2.086", t, " ")
            m = s / n; sd = n > 1 ? sqrt((q - n * m * m) / (n - 1)) : 0
            tq = n - 1 < 1 ? 0 : (n - 1 <= 20 ? t[n - 1] : 2.0)
            h = n > 1 ? tq * sd / sqrt(n) : 0
            printf "%.3f %.3f %.3f\n", exp(m), exp(m - h), exp(m + h) }'
}
# pair A PORT_A "PIDS_A" B PORT_B "PIDS_B" [CONNS...]: for each connection count (default all),
# REPS pairs of runs, A first in odd pairs and B first in even ones.
pair() {
    local a=$1 pa=$2 ia=$3 b=$4 pb=$5 ib=$6 c cs; shift 6
    cs=("$@"); [ ${#cs[@]} -gt 0 ] || cs=("${conns[@]}")
    for c in "${cs[@]}"; do
        local ra=() rb=() qa=() qb=() ua=() ub=() rr=() cr=() ea=0 eb=0
        for i in $(seq "$reps"); do
            # A then B, then B then A: whatever the order itself does (a warm cache, a
            # frequency step) falls on both sides alike.
            if [ $((i % 2)) -eq 1 ]; then
                read -r r1 _ q1 e1 u1 < <($runner "$pa" "$c" "$ia")
                read -r r2 _ q2 e2 u2 < <($runner "$pb" "$c" "$ib")
            else
                read -r r2 _ q2 e2 u2 < <($runner "$pb" "$c" "$ib")
                read -r r1 _ q1 e1 u1 < <($runner "$pa" "$c" "$ia")
            fi
            ra+=("$r1") rb+=("$r2") qa+=("$q1") qb+=("$q2") ua+=("$u1") ub+=("$u2")
            ea=$((ea + e1)) eb=$((eb + e2))
            rr+=("$(ratio_of "$r1" "$r2")") cr+=("$(ratio_of "$u1" "$u2")")
            printf '  c=%-5s %-7s %8s req/s %6s us/req   %-7s %8s req/s %6s us/req   ratio %s\n' \
                "$c" "$a" "$r1" "$u1" "$b" "$r2" "$u2" "${rr[-1]}" >&2
        done
        rps[$a,$c]=$(echo "${ra[*]}" | median) rps[$b,$c]=$(echo "${rb[*]}" | median)
        p99[$a,$c]=$(echo "${qa[*]}" | median) p99[$b,$c]=$(echo "${qb[*]}" | median)
        cpu[$a,$c]=$(echo "${ua[*]}" | median) cpu[$b,$c]=$(echo "${ub[*]}" | median)
        errs[$a,$c]=$ea errs[$b,$c]=$eb ratio[$a,$c]=$(echo "${rr[*]}" | median)
        ratios_all[$a,$c]="${rr[*]}"
        rci[$a,$c]=$(echo "${rr[*]}" | gci) cci[$a,$c]=$(echo "${cr[*]}" | gci)
    done
}
# The master and its workers (the kernel lists a process's children in /proc).
nginx_pids() { echo "$NGINX_PID" $(cat /proc/"$NGINX_PID"/task/*/children 2>/dev/null); }
declare -A ratios_all rci cci

echo "mockllm against nginx, wrk ${duration}s per run, $reps alternating runs per cell, parts: $only$([ $pin = 1 ] && echo ', pinned')" >&2
pin_servers
# The answer nginx serves: the bytes mockllm sends for the same request.
start_mock --seed 1
curl -s -X POST -H 'Content-Type: application/json' \
    -d '{"model":"gpt-mock","messages":[{"role":"user","content":"Hello"}],"max_tokens":16}' \
    "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" >"$work/body.json"
if want clear; then
    start_nginx 1 "$work/body.json"
    pair mock1 "$MOCK_PORT" "$MOCK_PID" nginx1 "$NGINX_PORT" "$(nginx_pids)"
    stop_pid "$MOCK_PID"
    # The same cell with every body parsed and every text generated: what the memos save.
    start_mock --seed 1 --no-memo
    pair nomemo "$MOCK_PORT" "$MOCK_PID" nginx1 "$NGINX_PORT" "$(nginx_pids)" 100
    stop_pid "$MOCK_PID"; stop_pid "$NGINX_PID"
    unpin_servers
    start_mock --seed 1 --threads 2
    start_nginx 2 "$work/body.json"
    pair mock2 "$MOCK_PORT" "$MOCK_PID" nginx2 "$NGINX_PORT" "$(nginx_pids)"
    stop_pid "$MOCK_PID"; stop_pid "$NGINX_PID"
    pin_servers
else
    stop_pid "$MOCK_PID"
fi

# The transport: HTTPS kept alive, a new TLS connection per request, HTTP/2 (h2load).
if want tls; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
    printf '%s' '{"model":"gpt-mock","messages":[{"role":"user","content":"Hello"}],"max_tokens":16}' \
        >"$work/post.json"
    start_mock --seed 1 --tls --cert "$work/cert.pem" --key "$work/key.pem"
    start_nginx 1 "$work/body.json" tls
    scheme=https
    pair mocktls "$MOCK_PORT" "$MOCK_PID" nginxtls "$NGINX_PORT" "$(nginx_pids)" 10 100
    wrk_args=(-H "Connection: close")
    pair mocknew "$MOCK_PORT" "$MOCK_PID" nginxnew "$NGINX_PORT" "$(nginx_pids)" 10
    wrk_args=() runner=run_h2load
    pair mockh2 "$MOCK_PORT" "$MOCK_PID" nginxh2 "$NGINX_PORT" "$(nginx_pids)" 10
    scheme=http runner=run_wrk
    stop_pid "$MOCK_PID"; stop_pid "$NGINX_PID"
fi

# 10,000 connections, each request waiting 1 s on a uv timer.
if want 10k; then
    start_mock --seed 1 --latency-ms 1000
    wrk -t2 -c10000 -d10s --timeout 5s --latency -s "$LL_TOP/bench/lib/post.lua" \
        "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" >"$work/wrk10k.out" 2>&1 || true
    rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$MOCK_PID/status")
    # mockllm's own share of the tail: how late it wrote each answer against its due time.
    curl -s "http://127.0.0.1:$MOCK_PORT/metrics" >"$work/metrics10k.txt" || true
    stop_pid "$MOCK_PID"
fi

{
    echo "Command: \`bench/mock_bench.sh --duration $duration --reps $reps --only $only$([ $pin = 1 ] && echo ' --pin')\`"
    [ "$pin" = 0 ] || { echo; echo "Pinned: the one-loop / one-worker servers on CPU 0, wrk or h2load with one thread on CPU 1."; }
    echo
    if want clear; then
        echo "### mockllm against nginx (wrk, zero latency, median of $reps alternating ${duration} s runs, $(nproc) cores)"
        echo
        echo "| connections | mockllm 1 loop | nginx 1 worker | ratio | CPU µs/req | mockllm --threads 2 | nginx 2 workers | ratio | CPU µs/req |"
        echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        for c in "${conns[@]}"; do
            awk -v c="$c" -v a="${rps[mock1,$c]}" -v b="${rps[nginx1,$c]}" -v d="${rps[mock2,$c]}" -v e="${rps[nginx2,$c]}" \
                -v r1="${ratio[mock1,$c]}" -v r2="${ratio[mock2,$c]}" \
                -v u1="${cpu[mock1,$c]}" -v v1="${cpu[nginx1,$c]}" -v u2="${cpu[mock2,$c]}" -v v2="${cpu[nginx2,$c]}" \
                'BEGIN { printf "| %s | %d | %d | %.2f | %.1f / %.1f | %d | %d | %.2f | %.1f / %.1f |\n", c, a, b, r1, u1, v1, d, e, r2, u2, v2 }'
        done
        echo
        echo "CPU µs/req: the server's own CPU time (all its threads, user + system) per answered request, mockllm / nginx."
        echo
        awk -v a="${rps[nomemo,100]}" -v b="${rps[nginx1,100]}" -v r="${ratio[nomemo,100]}" -v u="${cpu[nomemo,100]}" -v v="${cpu[nginx1,100]}" \
            'BEGIN { printf "mockllm --no-memo (every body parsed, every text generated), 1 loop, 100 connections: %d req/s against nginx %d, ratio %.2f; CPU %.1f / %.1f µs/req.\n", a, b, r, u, v }'
        echo
        echo "p99 latency (ms) at the same cells: mockllm 1 loop ${p99[mock1,1]} / ${p99[mock1,10]} / ${p99[mock1,100]} / ${p99[mock1,1000]};" \
             "nginx 1 worker ${p99[nginx1,1]} / ${p99[nginx1,10]} / ${p99[nginx1,100]} / ${p99[nginx1,1000]}. Errors: mockllm" \
             "$(( ${errs[mock1,1]} + ${errs[mock1,10]} + ${errs[mock1,100]} + ${errs[mock1,1000]} + ${errs[mock2,1]} + ${errs[mock2,10]} + ${errs[mock2,100]} + ${errs[mock2,1000]} + ${errs[nomemo,100]} ))."
        echo
        # Over every pair of a configuration, all connection counts: the geometric mean of the
        # per-run ratios, and how many pairs mockllm won. More runs than one cell's median sees.
        for k in mock1 mock2; do
            echo "$(for c in "${conns[@]}"; do echo "${ratios_all[$k,$c]}"; done)" | tr ' ' '\n' | awk -v k="$k" '
                NF { n++; s += log($1); w += ($1 >= 1) }
                END { printf "All %d runs of %s, every connection count: geometric mean of the ratios %.3f, mockllm ahead in %d.\n\n",
                      n, (k == "mock1" ? "1 loop / 1 worker" : "--threads 2 / 2 workers"), exp(s / n), w }'
        done
        echo "Per cell, over its $reps paired runs: the geometric mean of mockllm / nginx with its 95% confidence interval (Student's t over the log ratios), for throughput (above 1: mockllm serves more) and for CPU per request (below 1: mockllm costs less)."
        echo
        echo "| server pair | connections | throughput ratio [95% CI] | CPU per request ratio [95% CI] |"
        echo "|---|---:|---|---|"
        for k in mock1 mock2; do
            for c in "${conns[@]}"; do
                read -r g lo hi <<<"${rci[$k,$c]}"; read -r cg clo chi <<<"${cci[$k,$c]}"
                printf '| %s | %s | %s [%s, %s] | %s [%s, %s] |\n' \
                    "$([ $k = mock1 ] && echo "1 loop / 1 worker" || echo "--threads 2 / 2 workers")" \
                    "$c" "$g" "$lo" "$hi" "$cg" "$clo" "$chi"
            done
        done
        echo
        echo "Each run's ratio, mockllm 1 loop / nginx 1 worker: $(for c in "${conns[@]}"; do printf 'c=%s: %s; ' "$c" "${ratios_all[mock1,$c]}"; done)"
        echo
        echo "Each run's ratio, mockllm --threads 2 / nginx 2 workers: $(for c in "${conns[@]}"; do printf 'c=%s: %s; ' "$c" "${ratios_all[mock2,$c]}"; done)"
        echo
    fi
    if want tls; then
        echo "### mockllm against nginx over TLS and HTTP/2 (1 loop / 1 worker, the same ECDSA P-256 certificate)"
        echo
        echo "| cell | connections | mockllm req/s | nginx req/s | ratio [95% CI] | CPU µs/req mockllm / nginx |"
        echo "|---|---:|---:|---:|---|---:|"
        for cell in "mocktls nginxtls HTTPS keep-alive (wrk) 10" "mocktls nginxtls HTTPS keep-alive (wrk) 100" \
            "mocknew nginxnew a new TLS connection per request, resumed (wrk, Connection: close) 10" \
            "mockh2 nginxh2 HTTP/2 over TLS, 10 streams a connection (h2load) 10"; do
            set -- $cell
            a=$1 b=$2; shift 2; c=${*: -1}; name=${*:1:$#-1}
            read -r g lo hi <<<"${rci[$a,$c]}"
            printf '| %s | %s | %s | %s | %s [%s, %s] | %s / %s |\n' "$name" "$c" "${rps[$a,$c]}" "${rps[$b,$c]}" \
                "$g" "$lo" "$hi" "${cpu[$a,$c]}" "${cpu[$b,$c]}"
        done
        echo
    fi
    if want 10k; then
        echo "### 10,000 connections, each request waiting 1 s (\`--latency-ms 1000\`, wrk -c10000 -d10s)"
        echo
        echo '```'
        grep -E 'Latency|Req/Sec|50%|90%|99%|requests in|Socket errors|Non-2xx|Requests/sec' "$work/wrk10k.out" || true
        echo "mockllm peak RSS: $((rss_kb / 1024)) MiB"
        awk '/^mockllm_send_lateness_seconds_bucket/ { split($1, q, "\""); le[++n] = q[2]; c[n] = $2 }
             /^mockllm_send_lateness_seconds_count/ { total = $2 }
             /^mockllm_send_lateness_max_seconds/ { mx = $2 }
             END { if (total == 0) exit
                   printf "mockllm lateness (answers written after their due time), share within:"
                   for (i = 1; i < n; i++) if (le[i] >= 0.001 && le[i] <= 0.1) printf " %g ms %.1f%%", le[i] * 1000, 100 * c[i] / total
                   printf "; latest %.1f ms\n", mx * 1000 }' "$work/metrics10k.txt"
        echo '```'
    fi
} | tee "$out/mock_report.md"
