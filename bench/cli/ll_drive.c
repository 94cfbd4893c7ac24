/* ll_drive.c - closed- and open-loop load with per-request accounting. */
#include "ll_drive.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_clock.h"
#include "ll_err.h"
#include "ll_retry.h"
#include "ll_signal.h"
#include "ll_workload.h"

#define TICK_NS      (150 * LL_NS_PER_MS) /* RSS samples and the progress line */
#define SEND_BURST   256
#define BITMAP_FIRST (1u << 20) /* bits reserved up front; more as seqs grow */

/* Accounting: one bit per seq for "submitted" and one for "final result seen". Two bits per
 * request is the only state that grows with N; everything else is bounded by what is in
 * flight. */
struct bitmap {
    uint64_t *w;
    size_t words;
};

static int bm_reserve(struct bitmap *b, uint64_t bit)
{
    size_t need = (size_t)(bit / 64) + 1;
    if (need <= b->words) {
        return 0;
    }
    size_t words = b->words ? b->words : 64;
    while (words < need) {
        words *= 2;
    }
    uint64_t *w = realloc(b->w, words * sizeof(*w));
    if (w == NULL) {
        return LL_ENOMEM;
    }
    memset(w + b->words, 0, (words - b->words) * sizeof(*w));
    b->w = w;
    b->words = words;
    return 0;
}

/* Set a bit; returns its previous value. */
static bool bm_set(struct bitmap *b, uint64_t bit)
{
    uint64_t m = 1ull << (bit % 64);
    bool was = (b->w[bit / 64] & m) != 0;
    b->w[bit / 64] |= m;
    return was;
}

static bool bm_get(const struct bitmap *b, uint64_t bit)
{
    return bit / 64 < b->words && (b->w[bit / 64] & (1ull << (bit % 64))) != 0;
}

struct drive {
    struct ll_client *c;
    const struct ll_drive_opts *o;
    struct ll_stats *s;
    struct ll_drive_out *out;
    struct bitmap sent, done;
    uint64_t n_sent, in_flight, errors;
    uint64_t collected_turn; /* results collected since the last burst of sends */
    uint64_t checked;        /* s->completed when opts.stop was last asked */
    int64_t next_check;
    int64_t next_tick;
    struct ll_sched sched;              /* open loop: when each request is due */
    struct ll_segment_cursor seg_drawn; /* global arrivals drawn */
    bool progress_shown;
    int64_t deadline;     /* --duration's end, 0 none */
    bool grace_over;      /* the graceful stop ran out: what was out is cancelled */
    bool stopped_in_time; /* a stop (signal, opts.stop) came before the deadline */
};

static void note_failure(struct drive *d, const struct ll_result *res)
{
    d->errors++;
    if (d->out->first_cls == LL_CLASS_NONE && res->cls != LL_CLASS_CANCELLED) {
        d->out->first_cls = res->cls;
        snprintf(d->out->first_err, sizeof(d->out->first_err), "%s", res->errmsg);
        d->out->first_curl = res->curl_code;
    }
}

/* A submit the client refused: fold it as a RESOURCE failure so the accounting still adds up. */
static void submit_failed(struct drive *d, int err, int64_t now, int64_t t_intended)
{
    struct ll_result res;
    memset(&res, 0, sizeof(res));
    res.cls = LL_CLASS_RESOURCE;
    res.limit = err == LL_ENOMEM ? LL_LIMIT_MEMORY : LL_LIMIT_NONE;
    res.t_intended = t_intended > 0 ? t_intended : now;
    res.t_queued = res.t_end = now;
    res.prompt_tokens = res.completion_tokens = res.total_tokens = -1;
    res.reasoning_tokens = -1;
    snprintf(res.errmsg, sizeof(res.errmsg), "submit failed: %s", ll_strerror(err));
    d->s->submit_errors++;
    ll_stats_note_submit(d->s, now, t_intended);
    ll_stats_add_result(d->s, &res, now);
    note_failure(d, &res);
}

/* The workload's next request for this agent. The workload numbers requests as one whole run
 * sends them (its draws, a dataset's order, a trace's rows); the requests other segments own
 * are drawn and dropped here, so that each one this agent sends is the one the whole run would
 * have sent in its place. The counts the workload reports are this agent's. */
static int workload_next(struct drive *d, struct ll_request *req)
{
    struct ll_workload *w = d->o->work;
    const struct ll_segment *g = d->o->segment;
    uint64_t in = w->input_tokens, asked = w->output_asked;
    while (g != NULL && !ll_segment_owns(g, w->sent)) {
        if (ll_workload_fill(w, d->o->req, req) != 0) {
            return LL_ENOMEM;
        }
        w->skipped++;
    }
    w->input_tokens = in;
    w->output_asked = asked;
    return ll_workload_fill(w, d->o->req, req);
}

static int submit_one(struct drive *d, int64_t t_intended)
{
    struct ll_request req = *d->o->req;
    struct ll_call *call = NULL;
    if (d->o->work != NULL && workload_next(d, &req) != 0) {
        return LL_ENOMEM;
    }
    req.t_intended = t_intended;
    req.not_after = d->deadline;
    int64_t now = ll_now_ns();
    d->n_sent++;
    int err = ll_client_submit(d->c, &req, &call);
    if (err != 0) {
        submit_failed(d, err, now, t_intended);
        return 0;
    }
    if (bm_reserve(&d->sent, call->seq) != 0 || bm_reserve(&d->done, call->seq) != 0) {
        return LL_ENOMEM;
    }
    bm_set(&d->sent, call->seq);
    d->in_flight++;
    ll_stats_note_submit(d->s, now, t_intended);
    return 0;
}

static void collect(struct drive *d, struct ll_call *call)
{
    int64_t now = ll_now_ns();
    /* A seq never submitted or seen twice: both are accounting failures. */
    if (!bm_get(&d->sent, call->seq) || bm_set(&d->done, call->seq)) {
        d->s->acct_duplicates++;
    } else {
        d->in_flight--;
    }
    d->collected_turn++;
    if (call->res.cls == LL_CLASS_CANCELLED && call->res.attempts == 0) {
        /* Never went on the wire (withdrawn at the deadline, or cancelled while queued by a
         * stop): not a request of the run, counted as not sent. */
        ll_stats_note_withdrawn(d->s, call->res.t_queued, now);
        d->out->withdrawn++;
        ll_call_free(call);
        return;
    }
    if (d->out->deadline) {
        d->out->drained++;
        d->out->grace_cut += d->grace_over && call->res.cls == LL_CLASS_CANCELLED;
    }
    ll_stats_add_result(d->s, &call->res, now);
    if (d->o->window != NULL) {
        ll_window_fold(d->o->window, &call->res, now);
    }
    if (call->res.cls != LL_CLASS_NONE) {
        note_failure(d, &call->res);
    }
    d->s->t_stop = now;
    ll_call_free(call);
}

/* "  120/1000  95.0 req/s  on the wire 50  queued 50  errors 0  ETA 9s": submitted calls
 * not yet final are on the wire up to the in-flight limit, the rest wait in the backend's
 * queue (the closed loop's lookahead). */
static void progress_line(struct drive *d, int64_t now)
{
    double el = (double)(now - d->s->t_start) / (double)LL_NS_PER_S;
    uint64_t done = d->s->completed, limit = (uint64_t)d->o->concurrency;
    uint64_t wire = d->in_flight < limit ? d->in_flight : limit;
    double rps = el > 0 ? (double)done / el : 0.0;
    double eta = rps > 0 && d->o->requests != LL_DRIVE_UNBOUNDED
                     ? (double)(d->o->requests - done) / rps
                     : 0.0;
    if (d->o->duration_ns > 0) {
        double left = (double)(d->s->t_start + d->o->duration_ns - now) / (double)LL_NS_PER_S;
        eta = d->o->requests == LL_DRIVE_UNBOUNDED || left < eta ? (left > 0 ? left : 0) : eta;
    }
    fprintf(stderr, "\r  %s%s%llu", d->o->label ? d->o->label : "", d->o->label ? " " : "",
            (unsigned long long)done);
    if (d->o->requests != LL_DRIVE_UNBOUNDED) {
        fprintf(stderr, "/%llu", (unsigned long long)d->o->requests);
    }
    fprintf(stderr, "  %.1f req/s  on the wire %llu  queued %llu  errors %llu  ETA %.0fs\033[K",
            rps, (unsigned long long)wire, (unsigned long long)(d->in_flight - wire),
            (unsigned long long)d->errors, eta);
    fflush(stderr);
    d->progress_shown = true;
}

static void tick(struct drive *d, int64_t now)
{
    if (d->o->window != NULL) {
        ll_window_tick(d->o->window, now);
    }
    if (now < d->next_tick) {
        return;
    }
    ll_stats_res_sample(d->s);
    if (d->o->progress) {
        progress_line(d, now);
    }
    d->next_tick = now + TICK_NS;
}

static void cancel_all(struct drive *d)
{
    ll_client_cancel_all(d->c); /* every call the driver has out is the client's */
}

/* Closed loop: the requests to keep submitted now. While the ramp rises, its window and no
 * lookahead (every submitted request is on the wire at once); then C plus the lookahead. */
static uint64_t closed_window(const struct drive *d, int64_t now)
{
    const struct ll_drive_opts *o = d->o;
    uint64_t c = (uint64_t)o->concurrency;
    uint64_t w = ll_ramp_window((int64_t)(o->ramp_s * LL_NS_PER_S), c, now - d->s->t_start);
    return w < c ? w : c + (uint64_t)(o->lookahead > 0 ? o->lookahead : 0);
}

/* Closed loop: wake for the ramp's next step no later than `until`. */
static int64_t ramp_wake(const struct drive *d, int64_t now, int64_t until)
{
    const struct ll_drive_opts *o = d->o;
    int64_t step = ll_ramp_next_step((int64_t)(o->ramp_s * LL_NS_PER_S), (uint64_t)o->concurrency,
                                     now - d->s->t_start);
    return step >= 0 && d->s->t_start + step < until ? d->s->t_start + step : until;
}

/* The global schedule (ll_arrivals.h): the next arrival, ns after the start (ll_segment_gen). */
static int64_t sched_next(void *arg)
{
    struct drive *d = arg;
    return ll_sched_next(&d->sched);
}

/* Open loop: the intended time of this agent's next send: the global schedule's next arrival
 * that its segment owns (every one without a segment), whatever the arrival process. */
static double next_send_ns(struct drive *d)
{
    static const struct ll_segment whole = {0, 1};
    const struct ll_segment *g = d->o->segment != NULL ? d->o->segment : &whole;
    return (double)d->s->t_start + (double)ll_segment_next(g, &d->seg_drawn, sched_next, d, NULL);
}

/* Block until a result, the next send time or the next tick; never spin. */
static void wait_some(struct drive *d, int64_t until)
{
    int64_t now = ll_now_ns();
    if (until < now) {
        until = now;
    }
    if (d->in_flight == 0) {
        /* Nothing can progress: sleeping is safe (ll_client_next would return at once). */
        struct timespec ts = ll_ns_to_timespec(until);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR &&
               !ll_signal_caught()) {
        }
        return;
    }
    /* One turn of the backend, then only what it finished: the caller refills the window
     * before the next turn. */
    struct ll_call *call = ll_client_next(d->c, until - now);
    while (call != NULL) {
        collect(d, call);
        call = ll_client_next_ready(d->c);
    }
}

/* More to send: not stopping, below --requests, inside --duration. */
static bool may_send(const struct drive *d, bool stopping, int64_t now)
{
    return !stopping && d->n_sent < d->o->requests && (d->deadline == 0 || now < d->deadline);
}

/* --duration: the deadline passes (sends stop; what waits for a slot is withdrawn by the
 * backend as it would start), then the graceful stop runs out (what is still out is
 * cancelled). */
static void watch_deadline(struct drive *d, int64_t now)
{
    if (d->deadline == 0 || now < d->deadline) {
        return;
    }
    d->out->deadline = true;
    if (!d->grace_over && now >= d->deadline + d->o->grace_ns && d->in_flight > 0) {
        d->grace_over = true;
        cancel_all(d);
    }
}

/* Ask opts.stop, when results came in since it was last asked and not more often than every
 * LL_DRIVE_CHECK_MS. */
static bool stop_asked(struct drive *d, int64_t now)
{
    const struct ll_drive_opts *o = d->o;
    if (o->stop == NULL || d->s->completed == d->checked || now < d->next_check) {
        return false;
    }
    d->checked = d->s->completed;
    d->next_check = now + LL_DRIVE_CHECK_MS * LL_NS_PER_MS;
    /* with --duration the count still to come is unknown: the hook must assume the most */
    uint64_t remaining =
        o->duration_ns > 0 ? UINT64_MAX : o->requests - d->n_sent + (uint64_t)d->in_flight;
    if (!o->stop(o->stop_arg, d->s, remaining)) {
        return false;
    }
    d->out->stopped = true;
    return true;
}

/* The next moment the driver must wake whatever arrives: its tick, a window's boundary, the
 * deadline while there is more to send, the end of the graceful stop after it. */
static int64_t timed_wake(const struct drive *d, bool more)
{
    const struct ll_drive_opts *o = d->o;
    int64_t until = d->next_tick;
    if (o->window != NULL && ll_window_next_due(o->window) < until) {
        until = ll_window_next_due(o->window); /* its boundaries, to the loop's turn */
    }
    if (more && d->deadline > 0 && d->deadline < until) {
        until = d->deadline; /* wake when the time is up */
    } else if (!more && d->out->deadline && !d->grace_over && d->deadline + o->grace_ns < until) {
        until = d->deadline + o->grace_ns; /* wake when the graceful stop runs out */
    }
    return until;
}

/* Withdrawn requests were never sent; of --requests, only a stop before the deadline leaves
 * some unsent (--duration ending first is the run's own end). Without a count, how many a
 * stopped run would have sent is unknown. */
static void count_not_sent(struct drive *d)
{
    bool counted = d->o->requests != LL_DRIVE_UNBOUNDED;
    d->out->not_sent = d->out->withdrawn;
    if (d->stopped_in_time && counted) {
        d->out->not_sent += d->o->requests - d->n_sent;
    }
    d->out->not_sent_known = counted || !d->stopped_in_time;
}

static int drive_loop(struct drive *d)
{
    const struct ll_drive_opts *o = d->o;
    bool open = o->rate > 0;
    double sched_ns = open ? next_send_ns(d) : 0; /* open loop: the next intended send */
    bool stopping = false;

    for (;;) {
        int64_t now = ll_now_ns();
        if (!stopping && (ll_signal_caught() || stop_asked(d, now))) {
            stopping = true;
            d->stopped_in_time = !d->out->deadline;
            d->out->interrupted = ll_signal_caught() != 0;
            cancel_all(d);
        }
        watch_deadline(d, now);
        /* Sends come in bursts, so results are still collected (and their times stay honest)
         * between them: the open loop behind schedule sends at most SEND_BURST at once; the
         * closed loop refills what the last turn freed plus SEND_BURST more. The closed loop's
         * margin paces its start (1,000 connections opened in one loop pass took ~60 ms and
         * showed in the first round's latency) without capping its steady state: a fixed cap
         * held a zero-latency run at ~250 in flight of the 1,000 asked for, because one turn of
         * the backend finished about as many as the cap let in. */
        uint64_t burst_max = open ? SEND_BURST : d->collected_turn + SEND_BURST;
        uint64_t window = open ? 0 : closed_window(d, now);
        d->collected_turn = 0;
        for (uint64_t burst = 0; burst < burst_max && may_send(d, stopping, now) &&
                                 (open ? (int64_t)sched_ns <= now : d->in_flight < window);
             burst++) {
            int err = submit_one(d, open ? (int64_t)sched_ns : 0);
            if (err != 0) {
                return err;
            }
            if (open) {
                sched_ns = next_send_ns(d);
                now = ll_now_ns();
            }
        }
        bool more = may_send(d, stopping, now);
        if (!more && d->in_flight == 0) {
            break;
        }
        int64_t until = timed_wake(d, more);
        if (more) {
            if (open && (int64_t)sched_ns < until) {
                until = (int64_t)sched_ns;
            } else if (!open && d->in_flight < window) {
                until = now; /* the burst ended with slots still free: only collect */
            } else if (!open) {
                until = ramp_wake(d, now, until);
            }
        }
        wait_some(d, until);
        tick(d, ll_now_ns());
    }
    count_not_sent(d);
    return 0;
}

int ll_drive(struct ll_client *c, const struct ll_drive_opts *o, struct ll_stats *s,
             struct ll_drive_out *out)
{
    struct drive d = {.c = c, .o = o, .s = s, .out = out};
    int err;

    memset(out, 0, sizeof(*out));
    out->first_cls = LL_CLASS_NONE;
    uint64_t first = o->requests < BITMAP_FIRST ? o->requests : BITMAP_FIRST; /* then grown */
    if (bm_reserve(&d.sent, first) != 0 || bm_reserve(&d.done, first) != 0) {
        err = LL_ENOMEM;
        goto out;
    }
    ll_stats_res_begin(s);
    /* open loop: what ll_stats_keepup judges against, this agent's part of it */
    s->offered_rps = o->rate / (o->segment != NULL ? o->segment->count : 1);
    s->t_stop = ll_now_ns();
    s->t_start = o->t_start_ns > 0 && o->t_start_ns <= s->t_stop ? o->t_start_ns : s->t_stop;
    d.next_tick = s->t_start + TICK_NS;
    d.deadline = o->duration_ns > 0 ? s->t_start + o->duration_ns : 0;
    if (o->work != NULL) {
        ll_workload_rewind(o->work); /* every drive sends the workload from its start */
    }
    d.sched = (struct ll_sched){.kind = o->arrivals,
                                .rate = o->rate,
                                .burstiness = o->burstiness,
                                .ramp_s = o->ramp_s,
                                .times_s = o->trace_s,
                                .n_times = o->trace_n,
                                .speed = o->trace_speed > 0 ? o->trace_speed : 1.0,
                                .rng = o->seed};
    if (o->window != NULL) {
        ll_window_start(o->window, s->t_start, s);
    }
    err = drive_loop(&d);
    if (o->window != NULL) {
        ll_window_end(o->window, ll_now_ns());
    }
    if (err != 0) {
        cancel_all(&d); /* the client's destroy reaps them; accounting will say so */
    }
    ll_stats_res_end(s);

    /* Every seq submitted must have come back exactly once. */
    for (size_t w = 0; w < d.sent.words; w++) {
        s->acct_missing += (uint64_t)__builtin_popcountll(d.sent.w[w] & ~d.done.w[w]);
    }
    if (d.progress_shown) {
        fputs("\r\033[K", stderr);
    }
out:
    free(d.sent.w);
    free(d.done.w);
    return err;
}

int ll_drive_warmup(struct ll_client *c, const struct ll_drive_opts *o, uint64_t requests,
                    int64_t duration_ns, struct ll_drive_out *out, struct ll_drive_warm *warm)
{
    struct ll_drive_opts w = *o;
    struct ll_stats scratch;
    w.requests = requests > 0 ? requests : LL_DRIVE_UNBOUNDED;
    w.duration_ns = requests > 0 ? 0 : duration_ns;
    w.label = "warm-up";
    w.t_start_ns = 0; /* the measured run's start is the common one, not the warm-up's */
    w.window = NULL;
    if (ll_stats_init(&scratch, NULL) != 0) {
        return LL_ENOMEM;
    }
    int err = ll_drive(c, &w, &scratch, out);
    warm->sent = scratch.completed;
    warm->succeeded = ll_stats_succeeded(&scratch);
    warm->connects = scratch.connects;
    ll_stats_free(&scratch);
    return err;
}
