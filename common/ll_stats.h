/* ll_stats.h - the figures of one run, folded from results as they arrive.
 *
 * One struct ll_stats per client thread: the driver folds every final result into it on the
 * thread that collects results (no atomics, no locks), then merges several with ll_stats_merge()
 * if it ran more than one client (wrk2's per-thread histograms, merged after join).
 *
 * Latency definitions (all ns, from ll_result timestamps):
 *   e2e          t_end - t_dispatch        first attempt's dispatch (the request got its
 *                                          in-flight slot) to the final outcome, every attempt
 *                                          and backoff included
 *   corrected    t_end - t_intended        open loop only: from the intended start, the
 *                                          coordinated-omission-corrected figure (wrk2). A
 *                                          closed loop has no schedule, so no such figure: the
 *                                          histogram stays empty and the report leaves it out
 *   last_attempt the last wire attempt alone (start to end)
 *   queue_wait   t_dispatch - t_queued     time spent waiting for an in-flight slot
 *   ttft         t_first_token - t_dispatch   the first chunk that carried output on ANY
 *                                          channel: content, reasoning_content / reasoning,
 *                                          tool calls (streamed results with output only)
 *   tpot         (t_end - t_first_token) / (output tokens - 1), one per streamed request with
 *                at least two output tokens: the mean time per token after the first
 *   itl          per token: a chunk that carried k tokens after a gap g since the previous
 *                output chunk gives k samples of g / k (a stream of one token per chunk gives
 *                its chunk gaps); the first chunk's tokens give none
 *   chunk_gap    every gap between consecutive output chunks, whatever they carried
 * Output tokens and the tokens in each chunk (ll_stats_chunk_tokens): the server's usage where
 * sent -- its running count per chunk when every chunk carries one (vLLM's
 * continuous_usage_stats), else the request's usage total spread evenly over its output chunks;
 * without usage, one token per chunk (reported as counted from chunks).
 * Every latency and token figure describes successful requests only: a failed request's
 * timings (a cut stream's gaps, its first token) are not folded in, nor its tokens -- except
 * stream_tokens, which counts what arrived whatever the outcome.
 *   dns, connect, tls   curl's phases of the last attempt, when it opened a connection (a reused
 *                connection has none; tls only over HTTPS): ll_result.ph_*
 *   ttfb         the last attempt's request sent (curl's pretransfer) to its first answer byte
 *
 * Goodput: a request is good when it succeeded and met every bound of the SLO that is set,
 * each measured from its START: the intended send in open loop (so queueing behind a slow
 * endpoint counts against the SLO), the dispatch in closed loop (the moment the request got its
 * slot; time spent submitted ahead in the look-ahead queue is the driver's, not the request's):
 *   ttft  t_first_token - start <= ttft  (a request with no first token fails this bound)
 *   itl   the request's LARGEST per-token gap (itl above) <= itl: a stall anywhere breaks the
 *         stream; a request with fewer than two output chunks meets it trivially
 *   tpot  the request's tpot <= tpot (fewer than two output tokens meet it trivially)
 *   e2e   t_end - start <= e2e
 *
 * Little's law: L (time-weighted mean outstanding, integrated at every submit and collect
 * event the driver reports) against lambda * W (throughput x mean(t_end - t_queued)). Both use
 * the same window, so the check reduces to area(outstanding) vs sum(residence); they differ by
 * the time results waited to be collected and by submit-side overhead.
 */
#ifndef LL_STATS_H
#define LL_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ll_backend.h"
#include "ll_err.h"
#include "ll_hist.h"
#include "ll_request.h"
#include "ll_series.h"

/* Service-level objective for goodput; a bound <= 0 is not set. */
struct ll_slo {
    int64_t ttft_ms, itl_ms, tpot_ms, e2e_ms;
};

/* Parse "ttft=MS,itl=MS,tpot=MS,e2e=MS" (any subset, any order, at least one; MS a non-negative
 * decimal). 0 or LL_EINVAL. */
int ll_slo_parse(const char *spec, struct ll_slo *out);
bool ll_slo_is_set(const struct ll_slo *slo);

/* Process resources over the run: getrusage deltas and /proc samples. */
struct ll_resources {
    double cpu_user_s, cpu_sys_s; /* RUSAGE_SELF delta over the run */
    long nvcsw, nivcsw;           /* voluntary / involuntary context switches, delta */
    long rss_start_kb;            /* /proc/self/statm at the start */
    /* /proc/self/statm before the backend was created (ll_stats_res_base), so that RSS per
     * request in flight counts the whole footprint the requests cause: threads' stacks, easy
     * handles, buffers. -1 when not taken: the figure then counts from rss_start_kb. */
    long rss_base_kb;
    /* THE peak of the run (set by res_end): the larger of the sampled peak and the kernel's
     * high-water mark, each of which can miss some of it (sampling every tick; VmHWM updated
     * lazily). */
    long rss_peak_kb;
    long rss_sampled_kb; /* the largest /proc/self/statm sample during the run */
    long hwm_kb;         /* VmHWM at the end (else ru_maxrss) */
    bool hwm_reset;      /* VmHWM was reset at res_begin: it covers the run, not the process */
    double rss_sum_kb;   /* for the mean */
    uint64_t rss_samples;
    int threads_start, threads_peak; /* /proc/self/status Threads: */
    /* The walls a RESOURCE failure names (ll_report's "local limit met" line), read at
     * res_begin: RLIMIT_NOFILE (-1 = unlimited, 0 = not read) and the ephemeral port range
     * (/proc/sys/net/ipv4/ip_local_port_range; -1 when unknown). */
    int64_t nofile_soft, nofile_hard;
    int ports_lo, ports_hi;
    double ru_user0, ru_sys0; /* getrusage at res_begin, for the deltas */
    long ru_nvcsw0, ru_nivcsw0;
};

/* The latency histograms of a run, in report order. */
#define LL_STATS_HIST_MAP(X)                                                                       \
    X(E2E, "e2e", "dispatch to final outcome, all attempts")                                       \
    X(CORRECTED, "corrected", "intended start to final outcome (coordinated omission)")            \
    X(LAST_ATTEMPT, "last_attempt", "the last wire attempt alone")                                 \
    X(QUEUE_WAIT, "queue_wait", "submit to dispatch (waiting for an in-flight slot)")              \
    X(TTFT, "ttft", "dispatch to the first output token, any channel")                             \
    X(TPOT, "tpot", "per request: (e2e - ttft) / (output tokens - 1)")                             \
    X(ITL, "itl", "per token: a chunk's gap / the tokens it carried")                              \
    X(CHUNK_GAP, "chunk_gap", "gap between consecutive output chunks")                             \
    X(DNS, "dns", "name resolution, attempts that opened a connection (curl)")                     \
    X(CONNECT, "connect", "TCP connect, attempts that opened a connection (curl)")                 \
    X(TLS, "tls", "TLS handshake, attempts that opened an HTTPS connection (curl)")                \
    X(TTFB, "ttfb", "request sent to the answer's first byte, last attempt (curl)")

enum ll_stats_hist {
#define LL_STATS_HIST_ENUM_(name, short_, descr) LL_H_##name,
    LL_STATS_HIST_MAP(LL_STATS_HIST_ENUM_)
#undef LL_STATS_HIST_ENUM_
        LL_H__COUNT
};

const char *ll_stats_hist_name(enum ll_stats_hist h); /* "e2e", "ttft", ... */
const char *ll_stats_hist_descr(enum ll_stats_hist h);

struct ll_stats {
    struct ll_hist *hist[LL_H__COUNT]; /* heap-allocated: a histogram is ~40 KB */

    uint64_t by_class[LL_CLASS__COUNT];
    uint64_t by_limit[LL_LIMIT__COUNT]; /* RESOURCE failures by the local limit they met
                                           (ll_result.limit; [LL_LIMIT_NONE]: cause unknown) */
    uint64_t submitted;                 /* ll_stats_note_submit calls, less the withdrawn */
    uint64_t withdrawn;     /* submitted but never sent: taken back at a stop or a deadline */
    uint64_t completed;     /* results folded (every class, cancelled included) */
    uint64_t retries;       /* sum of attempts - 1 */
    uint64_t wire_requests; /* sum of attempts and connection re-sends */
    uint64_t connects;      /* new connections opened during the run */
    uint64_t resends;       /* connection re-sends (ll_result.resends): not retries */
    /* TLS handshakes of the connections opened (ll_result.tls_*): full, resumed by ticket */
    uint64_t tls_full, tls_resumed;
    uint64_t http2_requests; /* results whose last answer came over HTTP/2 */
    int64_t warm_connects;   /* opened by a warm-up before the run and pooled, -1: no warm-up */
    uint64_t bytes_rx, bytes_tx;
    /* Tokens, successes only. prompt/completion: sums of the usage of the successes that
     * sent one; usage_missing: successes that sent none, of which chunk_counted streamed output
     * and have chunk_tokens (one per output chunk) standing in for their completion tokens. */
    uint64_t prompt_tokens, completion_tokens;
    uint64_t usage_missing, chunk_counted, chunk_tokens;
    uint64_t output_chunks; /* chunks that carried output (ll_result.n_chunks), streamed */
    /* A receipt count, the one token figure of every outcome: tokens that arrived in streams,
     * failed ones included (usage where sent, else one per output chunk). */
    uint64_t stream_tokens;
    /* Reasoning tokens: usage.completion_tokens_details.reasoning_tokens where sent (counted in
     * reasoning_usage), else the tokens of the reasoning chunks (reasoning_chunked). */
    uint64_t reasoning_tokens, reasoning_usage, reasoning_chunked;
    /* Output asked against output received, judged by the server's usage on the successes
     * that asked (ll_result.max_tokens > 0) and sent usage: out_asked of them, asking
     * out_asked_tokens in all and receiving out_received_tokens; out_short came back with
     * fewer tokens than asked (the server stopped at its end of sequence, as AIPerf flags). */
    uint64_t out_asked, out_asked_tokens, out_received_tokens, out_short;

    struct ll_slo slo;
    uint64_t good; /* succeeded and met every bound of slo */
    uint64_t slo_miss_ttft, slo_miss_itl, slo_miss_tpot, slo_miss_e2e; /* succeeded, missed it */

    /* Little's law */
    int64_t ev_last_ns;   /* time of the last submit/collect event */
    uint64_t outstanding; /* submitted, not yet collected */
    uint64_t outstanding_peak;
    /* The client's in-flight limit (cfg.concurrency), set by the runner; 0 = unknown. A closed
     * loop may keep requests queued beyond it (ll_drive's lookahead), so the in-flight peak is
     * min(outstanding_peak, in_flight_limit): a backend starts a queued call whenever a slot
     * is free. */
    uint64_t in_flight_limit;
    double area_ns;      /* integral of outstanding dt */
    double residence_ns; /* sum of (t_end - t_queued) */

    /* Open loop: requests carry an intended start (set by the first scheduled submit). The
     * latency of such a run counts from the schedule; a closed loop's from the dispatch. */
    bool open_loop;
    /* open loop: how late sends were against their schedule */
    uint64_t sends_scheduled; /* submits that carried an intended time */
    uint64_t sends_late;      /* sends later than 1 ms behind schedule */
    int64_t slip_max_ns;
    double slip_sum_ns; /* over every send */
    /* open loop: did the client keep up? Set by the driver: the rate asked for. From results:
     * the span of their intended starts against the span of their dispatches, and how many
     * waited >= 1 ms for an in-flight slot (the cap held them back: k6's dropped iterations). */
    double offered_rps;
    uint64_t dispatched;
    int64_t intended_first, intended_last, dispatch_first, dispatch_last;
    uint64_t slot_waits;

    /* the run's window, set by the driver */
    int64_t t_start, t_stop;

    /* accounting, filled by the driver: results that came back twice or never */
    uint64_t acct_duplicates, acct_missing;
    uint64_t submit_errors; /* submits the client refused; folded as RESOURCE failures */

    struct ll_resources res;

    /* backend figures, copied from ll_client_sample() at the end */
    struct ll_be_stats be;    /* be.loop_lag points to our own copy, or NULL */
    struct ll_hist *loop_lag; /* owned copy when the backend reports loop lag */

    /* Cores the client could use, for the keep-up judgement: 0 = this machine's (see
     * ll_stats_keepup); a merge of several hosts' runs sets their sum. */
    int cpu_usable;
    /* Optional 1 s windows (ll_series.h), fed at every submit and result when set; owned
     * (ll_stats_free frees it). The caller creates it; ll_stats_init leaves it NULL. */
    struct ll_series *series;
};

/* Allocate the histograms. 0 or LL_ENOMEM (then nothing to free). */
int ll_stats_init(struct ll_stats *s, const struct ll_slo *slo);
void ll_stats_free(struct ll_stats *s);

/* A request was submitted at `now`, meant to start at t_intended (0: at once, closed loop;
 * > 0: open loop, and the run is counted as one). */
void ll_stats_note_submit(struct ll_stats *s, int64_t now, int64_t t_intended);

/* A submitted request came back withdrawn (CANCELLED with no attempt: it never went on the
 * wire, ll_call_withdraw_if_late or a cancel while queued) at `now`: it is taken back out of
 * `submitted` and of Little's law (its time queued since t_queued), and counted in `withdrawn`
 * instead of any outcome. The caller does not fold it with ll_stats_add_result. */
void ll_stats_note_withdrawn(struct ll_stats *s, int64_t t_queued, int64_t now);

/* Fold one final result, collected by the driver at `now` (0: use res->t_end). Does not keep
 * any pointer into res; the caller frees it at once. */
void ll_stats_add_result(struct ll_stats *s, const struct ll_result *res, int64_t now);

/* dst += src: histograms, counts, areas; the window becomes the union. 0 or LL_ENOMEM. */
int ll_stats_merge(struct ll_stats *dst, const struct ll_stats *src);

/* Copy the backend's figures (the loop-lag histogram is copied, so the client may go). */
int ll_stats_set_backend(struct ll_stats *s, const struct ll_be_stats *be);

/* Resource figures: base before the backend is created (optional), begin at the start of the
 * run, sample on the driver's cadence, end after the last result. Linux /proc; figures read as
 * -1 where /proc is unavailable. */
void ll_stats_res_base(struct ll_stats *s);
void ll_stats_res_begin(struct ll_stats *s);
void ll_stats_res_sample(struct ll_stats *s);
void ll_stats_res_end(struct ll_stats *s);

/* The first local limit met, in ll_limit order (by_limit, else the backend's be.limit_hit), or
 * LL_LIMIT_NONE when the run met none. */
enum ll_limit ll_stats_limit_met(const struct ll_stats *s);

/* submitted = succeeded + failed by class + cancelled, nothing duplicated or missing. */
bool ll_stats_accounting_ok(const struct ll_stats *s);

/* The tokens chunk i (< r->n_chunks) of r carried, by the rule above; `per_chunk` is
 * ll_stats_usage_per_chunk(r). Pure; any thread. */
int64_t ll_stats_chunk_tokens(const struct ll_result *r, size_t i, bool per_chunk);
/* Every output chunk of r carries the server's running usage count, never decreasing. */
bool ll_stats_usage_per_chunk(const struct ll_result *r);

/* Output tokens of the successes: usage where sent, chunks counted where not. Successes that
 * sent no usage and streamed nothing (ll_stats_tokens_uncounted) are in neither. */
uint64_t ll_stats_output_tokens(const struct ll_stats *s);
uint64_t ll_stats_tokens_uncounted(const struct ll_stats *s);
/* Where the output tokens come from: "usage", "chunks" (no success sent usage; tokens counted
 * from chunks), "usage+chunks", or NULL when none was counted (no success, or only uncounted
 * ones). A static string. */
const char *ll_stats_tokens_source(const struct ll_stats *s);
/* One line saying what the server did not send, e.g. "no usage from server; tokens counted
 * from chunks", into buf (snprintf's contract); "" when every success sent usage. */
int ll_stats_tokens_note(char *buf, size_t n, const struct ll_stats *s);

/* Internal to ll_stats*.c (ll_stats_add_result folds a success with them). fold_chunks: the
 * per-token figures of one successful stream with output (n_chunks > 0): chunk gaps, per-token
 * gaps (ITL), TPOT and the tokens of its reasoning chunks; sets *max_itl to the request's
 * largest per-token gap (-1 when none) and *tpot (-1 with fewer than two output tokens).
 * fold_tokens: the tokens of one success, usage where sent, else its chunks; its reasoning
 * tokens likewise (`reasoning`: fold_chunks' count of them). */
void ll_stats__fold_chunks(struct ll_stats *s, const struct ll_result *r, int64_t *max_itl,
                           int64_t *tpot, uint64_t *reasoning);
void ll_stats__fold_tokens(struct ll_stats *s, const struct ll_result *r, uint64_t reasoning);

/* Derived figures. A figure that was not measured is NAN (ll_report writes it as null / "-"),
 * never 0: a run in which nothing succeeded has no CPU per request, an empty histogram no p50. */
uint64_t ll_stats_succeeded(const struct ll_stats *s);
uint64_t ll_stats_failed(const struct ll_stats *s); /* not ok, not cancelled */
double ll_stats_wall_s(const struct ll_stats *s);
/* The run's throughput: SUCCESSFUL requests per second of wall time. A failure is never
 * throughput, however fast it came back; failures have their own rate and share. */
double ll_stats_throughput(const struct ll_stats *s);
double ll_stats_failed_rate(const struct ll_stats *s); /* failed (not cancelled) / wall */
/* failed / (succeeded + failed), in [0, 1]; NAN when no request finished. */
double ll_stats_error_share(const struct ll_stats *s);
/* Process CPU (user + system) seconds per 1000 SUCCESSFUL requests; NAN when none succeeded. */
double ll_stats_cpu_per_1000(const struct ll_stats *s);
/* RSS growth per request in flight, KiB: (peak - base) / in-flight peak, base being the RSS
 * before the backend was created (else at the start of the run); NAN when unknown. */
double ll_stats_rss_per_in_flight(const struct ll_stats *s);

/* Open loop: whether the client kept up with the rate asked for, and what held it back. */
struct ll_keepup {
    bool judged;         /* open loop, at least two requests dispatched */
    double offered_rps;  /* the rate asked for */
    double achieved_rps; /* requests dispatched per second, first to last dispatch */
    double ratio;        /* achieved / offered, from the spans of the same requests */
    bool kept_up;        /* ratio >= LL_KEEPUP_MIN */
    /* what held it back (any of them, when it did not keep up) */
    bool cap;         /* > 1% of the requests waited >= 1 ms for an in-flight slot */
    bool slipped;     /* > 1% of the sends went out >= 1 ms behind schedule */
    bool cpu;         /* the client used >= 90% of the CPU it can use (cpu_capacity) */
    double cpu_cores; /* CPU seconds per wall second */
    int cpu_capacity; /* cores the client can use: 1 when its backend runs no threads */
};
#define LL_KEEPUP_MIN 0.9
/* Sends count as held back by their own lateness past these (timers have ~1 ms granularity on
 * some backends: a real lag, not jitter): the worst send, or the mean. */
#define LL_SLIP_HELD_MAX_NS  (10 * 1000 * 1000LL)
#define LL_SLIP_HELD_MEAN_NS (1000 * 1000LL)
/* be.threads must be set (ll_stats_set_backend) for the CPU judgement. */
void ll_stats_keepup(const struct ll_stats *s, struct ll_keepup *out);

/* A backend with a loop: shares of the run's wall spent busy in the loop, blocked in it
 * waiting for I/O, and outside it (the driver's own work and sleeps). They add up to 1; NAN
 * when the backend has no loop or the run no wall. */
struct ll_loop_split {
    double busy, idle, outside;
};
void ll_stats_loop_split(const struct ll_stats *s, struct ll_loop_split *out);

struct ll_little {
    double l_measured;   /* time-weighted mean outstanding */
    double l_predicted;  /* throughput x mean residence */
    double diff;         /* |measured - predicted| / predicted; NAN when predicted is 0 */
    double w_mean_ns;    /* mean residence (submit to final), ns */
    bool judged;         /* the check can tell a fault from the driver's own turn-around */
    bool flagged;        /* judged and diff > LL_LITTLE_TOLERANCE */
    const char *why_not; /* when not judged: the reason, one phrase */
};
#define LL_LITTLE_TOLERANCE 0.05
/* What the check needs to judge. The driver integrates "outstanding" at the moments it submits
 * and collects, and a result waits up to about a millisecond for it (a loop pass, a wake-up):
 * that is in L but in no residence. Below these a 5% difference is that turn-around, not a
 * fault: the run long enough, and residences long enough that 5% of them is at least the ~1 ms
 * turn-around. */
#define LL_LITTLE_MIN_WALL_NS (100 * 1000 * 1000LL)
#define LL_LITTLE_MIN_W_NS    (20 * 1000 * 1000LL)
/* Requests on the wire at the peak: see in_flight_limit. */
uint64_t ll_stats_in_flight_peak(const struct ll_stats *s);
void ll_stats_little(const struct ll_stats *s, struct ll_little *out);

/* Current RSS from /proc/self/statm in KiB, and threads from /proc/self/status; -1 if unknown. */
long ll_proc_rss_kb(void);
int ll_proc_threads(void);

#endif
