# shellcheck shell=bash disable=SC2154,SC2034  # sourced: its keys, helpers and globals are bench.sh's
# bench/lib/transport.sh - sourced by bench/bench.sh: the transport workload (mode=transport,
# bench/workloads/transport.conf). It uses bench.sh's machinery (mock_start, run_llmload,
# run_wrk, bounded, record, progress) and adds the cells' list, h2load, and the mock's own
# connection and handshake counts read from its /metrics before it stops.
#
# A cell is PROTO/REUSE/RTT: PROTO h1 (HTTP/1.1 cleartext), h1-tls (HTTP/1.1 over TLS) or h2-tls
# (HTTP/2 over TLS by ALPN); REUSE pool (one client, its connections kept) or new (a new
# connection per request: llmload --no-reuse, wrk with `Connection: close`); RTT the round trip
# mockllm emulates (--rtt-ms), in ms. Each cell runs on every backend of --backends, then its
# peer: wrk beside HTTP/1.1 (https for h1-tls), h2load beside HTTP/2 with a shared pool (h2load
# has no connection-per-request mode).

# transport_cells: the loaded conf's cells into TCELLS, "PROTO/REUSE/RTT" each: `cell_list`
# when it is set, else rtts x protocols x reuse. A name it does not know is a usage error (exit
# 2). Run in the main shell (not in $(...)), so that the usage line ends bench.sh. (The key is
# not `cells`: load_conf unsets gate_KEY and quick_KEY, and gate_cells is bench.sh's own.)
TCELLS=()
transport_cells() {
    local list=$cell_list p r t c
    if [ -z "$list" ]; then
        for t in $rtts; do for p in $protocols; do for r in $reuse; do
            list+=" $p/$r/$t"
        done; done; done
    fi
    TCELLS=()
    for c in $list; do
        IFS=/ read -r p r t <<<"$c"
        case $p in h1 | h1-tls | h2-tls) ;; *)
            usage "transport: unknown protocol '$p' in '$c' (h1, h1-tls, h2-tls; HTTP/2 only over TLS: libcurl 7.88 cannot reuse an h2c connection)" ;;
        esac
        case $r in pool | new) ;; *) usage "transport: unknown reuse '$r' in '$c' (pool, new)" ;; esac
        [[ $t =~ ^[0-9]+$ ]] || usage "transport: the round trip in '$c' is not a whole number of ms"
        TCELLS+=("$c")
    done
    [ ${#TCELLS[@]} -gt 0 ] || usage "transport: no cells (protocols, reuse and rtts, or cell_list)"
    [[ $concurrency =~ ^[1-9][0-9]*$ ]] || usage "transport: concurrency is one number, not '$concurrency'"
    [[ $duration =~ ^[1-9][0-9]*$ ]] || usage "transport: duration is whole seconds (wrk's -d), not '$duration'"
    [[ $h2load_streams =~ ^[1-9][0-9]*$ ]] || usage "transport: h2load_streams is not a number: '$h2load_streams'"
}

# transport_peer PROTO REUSE -> wrk, h2load or nothing: the reference client beside a cell.
transport_peer() {
    case $1/$2 in
    h1/* | h1-tls/*) [[ " $peers " == *" wrk "* ]] && echo wrk ;;
    h2-tls/pool) [[ " $peers " == *" h2load "* ]] && echo h2load ;;
    esac
    return 0
}

# transport_count NBACKENDS -> TCOUNT, the cells of the loaded conf with their peers'.
transport_count() {
    local c p r t
    transport_cells
    TCOUNT=0
    for c in "${TCELLS[@]}"; do
        IFS=/ read -r p r t <<<"$c"
        TCOUNT=$((TCOUNT + $1))
        [ -n "$(transport_peer "$p" "$r")" ] && TCOUNT=$((TCOUNT + 1))
    done
    return 0
}

# mock_figures FILE: the running mock's own connection, handshake and request counts (its
# /metrics), less what the scrape itself costs (one connection; over TLS one full handshake).
mock_figures() {
    $REPORT mockfigs "${URLS[0]%/v1}/metrics" "${MOCK_CA:--}" >"$1" 2>>"$out/logs/mockfigs.log" || true
}

# run_h2load WORKLOAD CONC: h2load with CONC streams in flight, h2load_streams per connection,
# for `duration` seconds; every request's status and time from its --log-file.
run_h2load() {
    local w=$1 c=$2 tag=$1-h2load-c$2$tag_suffix rc=0 nc
    nc=$(((c + h2load_streams - 1) / h2load_streams))
    progress "$w" h2load "c=$c $CELL"
    mock_start 1 $mock_args $MOCK_EXTRA
    sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$LL_TOP/bench/lib/post.lua" >"$out/logs/h2load-post.json"
    bounded /usr/bin/time -f '%U %S %M' -o "$out/logs/$tag.time" h2load -c "$nc" \
        -m "$h2load_streams" -t 1 -D "$duration" -d "$out/logs/h2load-post.json" \
        -H 'content-type: application/json' --log-file="$out/logs/$tag.reqs" \
        "${URLS[0]}/chat/completions" >"$out/logs/$tag.log" 2>&1 || rc=$?
    mock_figures "$out/raw/$tag.mock.json"
    mock_stop
    $REPORT h2load2json "$out/logs/$tag.log" "$out/logs/$tag.reqs" "$out/logs/$tag.time" "$c" \
        "$nc" >"$out/raw/$tag.json" || rc=1
    rm -f "$out/logs/$tag.reqs" # one line a request: the JSON keeps what the report needs
    record "$w" h2load "$c" "" "" "$rc" "raw/$tag.json" "logs/$tag.log" "$MOCK_CPU"
}

# do_transport WORKLOAD: every cell at `concurrency` in flight, closed loop, `duration` seconds
# each (llmload --duration, wrk -d, h2load -D), against a fresh mockllm with the cell's
# transport; llmload trusts the CA the mock's ready line names.
do_transport() {
    local w=$1 c p r t b peer extra keep_wrk=$wrk_duration
    wrk_duration=$duration
    transport_cells
    for c in "${TCELLS[@]}"; do
        IFS=/ read -r p r t <<<"$c"
        CELL=$c tag_suffix=-$p-$r-rtt$t MOCK_FIGS=1
        MOCK_EXTRA="--rtt-ms $t" extra=(--duration "${duration}s")
        case $p in
        h1) extra+=(--http 1.1) ;;
        h1-tls) MOCK_EXTRA+=" --tls" extra+=(--http 1.1) ;;
        h2-tls) MOCK_EXTRA+=" --tls" extra+=(--http 2) ;;
        esac
        [ "$r" = new ] && extra+=(--no-reuse)
        for b in "${BACKENDS[@]}"; do
            run_llmload "$w" "$b" "$concurrency" "" "$requests" "${extra[@]}" || true
        done
        peer=$(transport_peer "$p" "$r")
        WRK_ARGS=()
        [ "$r" = new ] && WRK_ARGS=(-H "Connection: close")
        case $peer in
        wrk) if [ $have_wrk = 1 ]; then run_wrk "$w" "$concurrency"; else record "$w" wrk "$concurrency" "" "" skipped "" ""; fi ;;
        h2load) if command -v h2load >/dev/null; then run_h2load "$w" "$concurrency"; else record "$w" h2load "$concurrency" "" "" skipped "" ""; fi ;;
        esac
    done
    CELL="" tag_suffix="" MOCK_FIGS="" MOCK_EXTRA="" WRK_ARGS=() wrk_duration=$keep_wrk
}
