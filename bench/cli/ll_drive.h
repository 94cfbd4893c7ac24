/* ll_drive.h - the load loop shared by llmload's subcommands: closed loop (keep exactly C
 * requests submitted) or open loop (send at scheduled times, constant or Poisson), every result
 * folded into an ll_stats and freed at once, every request accounted for.
 *
 * Runs on the thread that created the client; never busy-waits: it blocks in ll_client_next()
 * until a result arrives, the next send is due, or the ~150 ms tick (RSS sampling, progress
 * line) comes round, and sleeps only when nothing is outstanding.
 */
#ifndef LL_DRIVE_H
#define LL_DRIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "ll_arrivals.h"
#include "ll_client.h"
#include "ll_segment.h"
#include "ll_stats.h"
#include "ll_window.h"

struct ll_workload;

#define LL_DRIVE_UNBOUNDED UINT64_MAX /* requests: no count, --duration ends the run */

struct ll_drive_opts {
    uint64_t requests; /* total to send, or LL_DRIVE_UNBOUNDED (then duration_ns > 0) */
    /* > 0: the run's deadline, this long after the start (--duration). Nothing new goes on the
     * wire after it: no more submits, and a request still waiting for an in-flight slot then
     * (the look-ahead queue, or behind the open loop's cap) is withdrawn, never sent
     * (ll_request.not_after). Requests in flight at the deadline finish, their retries
     * included, for up to grace_ns (k6's gracefulStop); whatever is left then is cancelled. */
    int64_t duration_ns;
    int64_t grace_ns;
    int concurrency; /* closed loop: requests kept in flight (the client's limit) */
    /* Closed loop: requests kept submitted beyond `concurrency`, queued in the backend, so that
     * a slot freed by a response starts the next request at once, as a wrk connection sends
     * its next request, instead of waiting for this thread to collect and submit. */
    int lookahead;
    double rate; /* > 0: open loop, requests per second */
    enum ll_arrivals arrivals;
    uint64_t seed;     /* Poisson and gamma RNG */
    double burstiness; /* LL_ARRIVALS_GAMMA: the gaps' shape (ll_arrivals.h) */
    /* > 0: a linear ramp over ramp_s seconds, of the rate (open loop) or of the requests kept
     * in flight, from 1 to concurrency (closed loop; the lookahead only once it is complete) */
    double ramp_s;
    const double *trace_s; /* LL_ARRIVALS_TRACE: the times to replay, trace_n of them, */
    size_t trace_n;        /* trace_speed times as fast (ll_arrivals.h) */
    double trace_speed;
    const struct ll_request *req; /* template; t_intended and user are set per send */
    struct ll_workload *work;     /* NULL, or each request's prompt and max_tokens from it */
    bool progress;                /* live line on stderr (the caller decides: isatty) */
    const char *label;            /* progress line prefix (e.g. "warm-up"), NULL: none */
    struct ll_window *window;     /* optional: figures over the steady window (ll_window.h) */
    /* Optional: asked after results came in (at most every LL_DRIVE_CHECK_MS) whether the run
     * should stop early -- e.g. a threshold that can no longer pass. `remaining` counts the
     * requests not yet final (unsent + outstanding). true: no more sends, the outstanding
     * requests are cancelled, out->stopped is set. Runs on the driver's thread. */
    bool (*stop)(void *arg, const struct ll_stats *s, uint64_t remaining);
    void *stop_arg;
    /* One agent of several (ll_segment.h), NULL: the whole workload. Open loop: the global
     * schedule is drawn and only this segment's arrivals are sent, at their global times; the
     * rate offered by this agent is rate / count. `requests` is then this agent's share. */
    const struct ll_segment *segment;
    /* > 0: the run's start on the monotonic clock, instead of the moment ll_drive starts: the
     * common --start-at instant, so that agents share their schedule's origin and --duration
     * ends all of them at the same moment (an agent that starts late catches up on its
     * schedule; its lateness shows as slip and in the corrected latency). */
    int64_t t_start_ns;
};

#define LL_DRIVE_CHECK_MS 10

struct ll_drive_out {
    /* Requests never sent: not submitted (a stop signal, opts.stop, the deadline before
     * --requests) plus those withdrawn. Unknown (not_sent_known false) when a run without a
     * count (LL_DRIVE_UNBOUNDED) was stopped before its deadline. */
    uint64_t not_sent;
    bool not_sent_known;
    uint64_t withdrawn;      /* submitted, taken back before their first attempt (in not_sent) */
    bool deadline;           /* duration_ns ran out (sends stopped there) */
    uint64_t drained;        /* sent before the deadline, final after it */
    uint64_t grace_cut;      /* still out when the grace ran out: cancelled */
    bool interrupted;        /* a stop signal: sends stopped, outstanding requests cancelled */
    bool stopped;            /* opts.stop said so: sends stopped, outstanding cancelled */
    enum ll_class first_cls; /* class of the first failed request, LL_CLASS_NONE if none */
    char first_err[160];     /* its errmsg */
    int first_curl;          /* its CURLcode, 0 when none */
};

/* Run the workload on `c`, folding into `s` (initialised by the caller; t_start, t_stop and
 * the resource figures are set here). A stop signal (ll_signal.h: SIGINT, SIGTERM, SIGHUP),
 * also one caught before the call, stops sending and cancels what is outstanding; the results
 * that come back are folded and out->interrupted is set.
 * 0, or LL_ENOMEM when the accounting bitmaps cannot be allocated. */
int ll_drive(struct ll_client *c, const struct ll_drive_opts *o, struct ll_stats *s,
             struct ll_drive_out *out);

/* What a warm-up did. Its connections stay in the client's pool: the measured run reuses them
 * (its own "connections opened" counts only new ones). */
struct ll_drive_warm {
    uint64_t sent, succeeded;
    uint64_t connects; /* connections the warm-up opened */
};

/* Warm the client up before the measured run: the same load as `o` (concurrency, rate,
 * request) for `requests` requests, or for `duration_ns` when requests is 0. The results are
 * folded into a scratch ll_stats and dropped, so they reach no figure; *warm says what it did,
 * out->interrupted whether a stop signal ended it. The caller resets the backend's own
 * figures after it (ll_client_reset_stats). 0 or LL_ENOMEM. */
int ll_drive_warmup(struct ll_client *c, const struct ll_drive_opts *o, uint64_t requests,
                    int64_t duration_ns, struct ll_drive_out *out, struct ll_drive_warm *warm);

#endif
