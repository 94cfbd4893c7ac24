/* ll_stats.c - folding results into run figures (resources: ll_stats_res.c). */
#include "ll_stats.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ll_clock.h"

#define LL_SLIP_LATE_NS LL_NS_PER_MS /* a send this late or later counts as slipped */

static const char *const hist_names[LL_H__COUNT] = {
#define NAME_(name, short_, descr) short_,
    LL_STATS_HIST_MAP(NAME_)
#undef NAME_
};
static const char *const hist_descrs[LL_H__COUNT] = {
#define DESCR_(name, short_, descr) descr,
    LL_STATS_HIST_MAP(DESCR_)
#undef DESCR_
};

const char *ll_stats_hist_name(enum ll_stats_hist h)
{
    return (unsigned)h < LL_H__COUNT ? hist_names[h] : "?";
}

const char *ll_stats_hist_descr(enum ll_stats_hist h)
{
    return (unsigned)h < LL_H__COUNT ? hist_descrs[h] : "?";
}

int ll_stats_init(struct ll_stats *s, const struct ll_slo *slo)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < LL_H__COUNT; i++) {
        s->hist[i] = malloc(sizeof(struct ll_hist));
        if (s->hist[i] == NULL) {
            ll_stats_free(s);
            return LL_ENOMEM;
        }
        ll_hist_init(s->hist[i]);
    }
    if (slo != NULL) {
        s->slo = *slo;
    }
    s->be.loop_idle_ns = -1;
    s->be.conns_open = s->be.conns_open_peak = -1;
    s->res.rss_start_kb = s->res.rss_peak_kb = s->res.rss_base_kb = -1;
    s->res.rss_sampled_kb = s->res.hwm_kb = -1;
    s->warm_connects = -1;
    s->res.threads_start = s->res.threads_peak = -1;
    s->res.ports_lo = s->res.ports_hi = -1; /* nofile_*: 0 until res_begin reads them */
    return 0;
}

void ll_stats_free(struct ll_stats *s)
{
    for (int i = 0; i < LL_H__COUNT; i++) {
        free(s->hist[i]);
        s->hist[i] = NULL;
    }
    free(s->loop_lag);
    s->loop_lag = NULL;
    s->be.loop_lag = NULL;
    ll_series_free(s->series);
    s->series = NULL;
}

/* Integrate the outstanding count up to `now`, then apply delta. */
static void little_event(struct ll_stats *s, int64_t now, int delta)
{
    if (s->ev_last_ns != 0 && now > s->ev_last_ns) {
        s->area_ns += (double)s->outstanding * (double)(now - s->ev_last_ns);
    }
    if (now > s->ev_last_ns) {
        s->ev_last_ns = now;
    }
    if (delta > 0) {
        s->outstanding += (uint64_t)delta;
        if (s->outstanding > s->outstanding_peak) {
            s->outstanding_peak = s->outstanding;
        }
    } else if (s->outstanding >= (uint64_t)-delta) {
        s->outstanding -= (uint64_t)-delta;
    }
}

void ll_stats_note_submit(struct ll_stats *s, int64_t now, int64_t t_intended)
{
    s->submitted++;
    little_event(s, now, +1);
    if (s->series != NULL) {
        ll_series_note_submit(s->series, s->t_start, now); /* clipped when out of memory */
    }
    if (t_intended > 0) {
        s->open_loop = true;
        s->sends_scheduled++;
        int64_t slip = now > t_intended ? now - t_intended : 0;
        s->slip_sum_ns += (double)slip;
        if (slip > s->slip_max_ns) {
            s->slip_max_ns = slip;
        }
        if (slip >= LL_SLIP_LATE_NS) {
            s->sends_late++;
        }
    }
}

void ll_stats_note_withdrawn(struct ll_stats *s, int64_t t_queued, int64_t now)
{
    little_event(s, now, -1);
    /* It was outstanding from t_queued to now and has no residence: take that time back out of
     * L, or a run's last look-ahead window would skew Little's law by its whole wait. */
    if (now > t_queued && s->area_ns >= (double)(now - t_queued)) {
        s->area_ns -= (double)(now - t_queued);
    }
    if (s->submitted > 0) {
        s->submitted--;
    }
    s->withdrawn++;
}

static int64_t last_attempt_ns(const struct ll_result *r)
{
    if (r->attempts >= 1 && r->attempts <= LL_ATTEMPTS_KEPT) {
        const struct ll_attempt *a = &r->attempt[r->attempts - 1];
        if (a->t_start > 0 && a->t_end >= a->t_start) {
            return a->t_end - a->t_start;
        }
    }
    /* Attempts beyond the kept ones are only counted; curl's own total covers the last. */
    return r->t_total_s > 0 ? (int64_t)(r->t_total_s * (double)LL_NS_PER_S) : -1;
}

/* Open loop: the spans of intended starts and of dispatches, and waits for a slot. */
static void fold_schedule(struct ll_stats *s, const struct ll_result *r)
{
    if (s->dispatched++ == 0) {
        s->intended_first = s->intended_last = r->t_intended;
        s->dispatch_first = s->dispatch_last = r->t_dispatch;
    }
    s->intended_first = r->t_intended < s->intended_first ? r->t_intended : s->intended_first;
    s->intended_last = r->t_intended > s->intended_last ? r->t_intended : s->intended_last;
    s->dispatch_first = r->t_dispatch < s->dispatch_first ? r->t_dispatch : s->dispatch_first;
    s->dispatch_last = r->t_dispatch > s->dispatch_last ? r->t_dispatch : s->dispatch_last;
    if (r->t_queued > 0 && r->t_dispatch - r->t_queued >= LL_SLIP_LATE_NS) {
        s->slot_waits++;
    }
}

static void fold_goodput(struct ll_stats *s, const struct ll_result *r, int64_t t_from,
                         int64_t max_itl, int64_t tpot)
{
    const struct ll_slo *slo = &s->slo;
    bool good = true;
    if (slo->ttft_ms > 0 &&
        (r->t_first_token <= 0 || r->t_first_token - t_from > slo->ttft_ms * LL_NS_PER_MS)) {
        s->slo_miss_ttft++;
        good = false;
    }
    if (slo->itl_ms > 0 && max_itl > slo->itl_ms * LL_NS_PER_MS) {
        s->slo_miss_itl++;
        good = false;
    }
    if (slo->tpot_ms > 0 && tpot > slo->tpot_ms * LL_NS_PER_MS) {
        s->slo_miss_tpot++;
        good = false;
    }
    if (slo->e2e_ms > 0 && r->t_end - t_from > slo->e2e_ms * LL_NS_PER_MS) {
        s->slo_miss_e2e++;
        good = false;
    }
    if (good) {
        s->good++;
    }
}

void ll_stats_add_result(struct ll_stats *s, const struct ll_result *r, int64_t now)
{
    enum ll_class cls = (unsigned)r->cls < LL_CLASS__COUNT ? r->cls : LL_CLASS_PROTOCOL;
    /* Where the request's latency starts (see the header): its schedule in open loop, its
     * slot in closed loop. */
    int64_t t_start = s->open_loop && r->t_intended > 0 ? r->t_intended
                      : r->t_dispatch > 0               ? r->t_dispatch
                                                        : r->t_queued;

    little_event(s, now > 0 ? now : r->t_end, -1);
    if (s->series != NULL) {
        ll_series_note_result(s->series, s->t_start, r, now > 0 ? now : r->t_end);
    }
    s->completed++;
    s->by_class[cls]++;
    if (cls == LL_CLASS_RESOURCE) {
        s->by_limit[(unsigned)r->limit < LL_LIMIT__COUNT ? r->limit : LL_LIMIT_NONE]++;
    }
    if (r->attempts > 0) {
        s->wire_requests += (uint64_t)r->attempts;
        s->retries += (uint64_t)(r->attempts - 1);
    }
    s->resends += r->resends > 0 ? (uint64_t)r->resends : 0;
    s->wire_requests += r->resends > 0 ? (uint64_t)r->resends : 0;
    s->connects += r->connects > 0 ? (uint64_t)r->connects : 0;
    s->tls_full += r->tls_full > 0 ? (uint64_t)r->tls_full : 0;
    s->tls_resumed += r->tls_resumed > 0 ? (uint64_t)r->tls_resumed : 0;
    s->http2_requests += r->http2 ? 1 : 0;
    s->bytes_rx += r->bytes_rx;
    s->bytes_tx += r->bytes_tx;
    if (r->t_queued > 0 && r->t_end >= r->t_queued) {
        s->residence_ns += (double)(r->t_end - r->t_queued);
    }
    if (r->n_chunks > 0) { /* what arrived, whatever became of the request */
        s->stream_tokens +=
            r->completion_tokens >= 0 ? (uint64_t)r->completion_tokens : r->n_chunks;
    }
    if (s->open_loop && r->t_intended > 0 && r->t_dispatch > 0) {
        fold_schedule(s, r); /* every dispatch, whatever its outcome */
    }
    if (cls != LL_CLASS_NONE) {
        return; /* latency and token figures describe successful requests only */
    }
    if (r->t_dispatch > 0 && r->t_queued > 0) {
        ll_hist_record(s->hist[LL_H_QUEUE_WAIT], r->t_dispatch - r->t_queued);
    }
    int64_t max_itl = -1, tpot = -1;
    uint64_t reasoning = 0;
    if (r->n_chunks > 0 && r->chunk != NULL) { /* streamed output */
        ll_stats__fold_chunks(s, r, &max_itl, &tpot, &reasoning);
    }
    /* The wire's phases, from curl (-1: the phase did not happen on the last attempt). */
    const int64_t ph[] = {r->ph_dns_ns, r->ph_connect_ns, r->ph_tls_ns, r->ph_ttfb_ns};
    const enum ll_stats_hist ph_h[] = {LL_H_DNS, LL_H_CONNECT, LL_H_TLS, LL_H_TTFB};
    for (size_t i = 0; i < sizeof(ph) / sizeof(ph[0]); i++) {
        if (ph[i] >= 0) {
            ll_hist_record(s->hist[ph_h[i]], ph[i]);
        }
    }
    ll_stats__fold_tokens(s, r, reasoning);
    if (r->t_dispatch > 0) {
        ll_hist_record(s->hist[LL_H_E2E], r->t_end - r->t_dispatch);
        if (r->t_first_token > 0 && r->n_chunks > 0) { /* streamed: a real first token */
            ll_hist_record(s->hist[LL_H_TTFT], r->t_first_token - r->t_dispatch);
        }
    }
    if (s->open_loop && r->t_intended > 0) {
        ll_hist_record(s->hist[LL_H_CORRECTED], r->t_end - r->t_intended);
    }
    int64_t la = last_attempt_ns(r);
    if (la >= 0) {
        ll_hist_record(s->hist[LL_H_LAST_ATTEMPT], la);
    }
    fold_goodput(s, r, t_start, max_itl, tpot);
}

int ll_stats_merge(struct ll_stats *dst, const struct ll_stats *src)
{
    for (int i = 0; i < LL_H__COUNT; i++) {
        ll_hist_merge(dst->hist[i], src->hist[i]);
    }
    for (int c = 0; c < LL_CLASS__COUNT; c++) {
        dst->by_class[c] += src->by_class[c];
    }
    for (int l = 0; l < LL_LIMIT__COUNT; l++) {
        dst->by_limit[l] += src->by_limit[l];
    }
#define SUM_(f) dst->f += src->f
    SUM_(submitted);
    SUM_(withdrawn);
    if (src->warm_connects >= 0) { /* -1: that side had no warm-up */
        dst->warm_connects = (dst->warm_connects > 0 ? dst->warm_connects : 0) + src->warm_connects;
    }
    SUM_(completed);
    SUM_(retries);
    SUM_(wire_requests);
    SUM_(connects);
    SUM_(resends);
    SUM_(tls_full);
    SUM_(tls_resumed);
    SUM_(http2_requests);
    SUM_(bytes_rx);
    SUM_(bytes_tx);
    SUM_(prompt_tokens);
    SUM_(completion_tokens);
    SUM_(usage_missing);
    SUM_(chunk_counted);
    SUM_(chunk_tokens);
    SUM_(output_chunks);
    SUM_(stream_tokens);
    SUM_(reasoning_tokens);
    SUM_(reasoning_usage);
    SUM_(reasoning_chunked);
    SUM_(out_asked);
    SUM_(out_asked_tokens);
    SUM_(out_received_tokens);
    SUM_(out_short);
    SUM_(good);
    SUM_(slo_miss_ttft);
    SUM_(slo_miss_itl);
    SUM_(slo_miss_tpot);
    SUM_(slo_miss_e2e);
    SUM_(outstanding);
    SUM_(outstanding_peak); /* an upper bound: the peaks need not coincide */
    SUM_(area_ns);
    SUM_(residence_ns);
    SUM_(sends_scheduled);
    SUM_(sends_late);
    SUM_(acct_duplicates);
    SUM_(acct_missing);
    SUM_(submit_errors);
    SUM_(slip_sum_ns);
#undef SUM_
    dst->open_loop = dst->open_loop || src->open_loop;
    if (src->dispatched > 0) {
        if (dst->dispatched == 0) {
            dst->intended_first = src->intended_first, dst->intended_last = src->intended_last;
            dst->dispatch_first = src->dispatch_first, dst->dispatch_last = src->dispatch_last;
        }
#define MIN_(f) dst->f = src->f < dst->f ? src->f : dst->f
#define MAX_(f) dst->f = src->f > dst->f ? src->f : dst->f
        MIN_(intended_first);
        MAX_(intended_last);
        MIN_(dispatch_first);
        MAX_(dispatch_last);
#undef MIN_
#undef MAX_
        dst->dispatched += src->dispatched;
        dst->slot_waits += src->slot_waits;
    }
    if (dst->offered_rps <= 0) {
        dst->offered_rps = src->offered_rps;
    }
    if (src->slip_max_ns > dst->slip_max_ns) {
        dst->slip_max_ns = src->slip_max_ns;
    }
    if (src->t_start > 0 && (dst->t_start == 0 || src->t_start < dst->t_start)) {
        dst->t_start = src->t_start;
    }
    if (src->t_stop > dst->t_stop) {
        dst->t_stop = src->t_stop;
    }
    if (src->ev_last_ns > dst->ev_last_ns) {
        dst->ev_last_ns = src->ev_last_ns;
    }
    if (src->series != NULL && dst->series != NULL &&
        ll_series_merge(dst->series, src->series, NULL) != 0) {
        return LL_ENOMEM;
    }
    if (src->loop_lag != NULL) {
        if (dst->loop_lag == NULL) {
            return ll_stats_set_backend(dst, &src->be);
        }
        ll_hist_merge(dst->loop_lag, src->loop_lag);
    }
    return 0;
}

int ll_stats_set_backend(struct ll_stats *s, const struct ll_be_stats *be)
{
    struct ll_hist *keep = s->loop_lag;
    s->be = *be;
    s->be.loop_lag = NULL;
    s->loop_lag = keep;
    if (be->loop_lag != NULL) {
        if (s->loop_lag == NULL) {
            s->loop_lag = malloc(sizeof(*s->loop_lag));
            if (s->loop_lag == NULL) {
                return LL_ENOMEM;
            }
        }
        memcpy(s->loop_lag, be->loop_lag, sizeof(*s->loop_lag));
        s->be.loop_lag = s->loop_lag;
    }
    return 0;
}

uint64_t ll_stats_succeeded(const struct ll_stats *s)
{
    return s->by_class[LL_CLASS_NONE];
}

uint64_t ll_stats_failed(const struct ll_stats *s)
{
    return s->completed - s->by_class[LL_CLASS_NONE] - s->by_class[LL_CLASS_CANCELLED];
}

bool ll_stats_accounting_ok(const struct ll_stats *s)
{
    uint64_t sum = 0;
    for (int c = 0; c < LL_CLASS__COUNT; c++) {
        sum += s->by_class[c];
    }
    return sum == s->completed && s->completed == s->submitted && s->acct_duplicates == 0 &&
           s->acct_missing == 0 && s->outstanding == 0;
}

double ll_stats_rss_per_in_flight(const struct ll_stats *s)
{
    uint64_t peak = ll_stats_in_flight_peak(s);
    long base = s->res.rss_base_kb >= 0 ? s->res.rss_base_kb : s->res.rss_start_kb;
    if (s->res.rss_peak_kb < 0 || base < 0 || peak == 0) {
        return NAN;
    }
    return (double)(s->res.rss_peak_kb - base) / (double)peak;
}

uint64_t ll_stats_in_flight_peak(const struct ll_stats *s)
{
    if (s->in_flight_limit > 0 && s->outstanding_peak > s->in_flight_limit) {
        return s->in_flight_limit;
    }
    return s->outstanding_peak;
}

double ll_stats_wall_s(const struct ll_stats *s)
{
    if (s->t_stop <= s->t_start) {
        return 0.0;
    }
    return (double)(s->t_stop - s->t_start) / (double)LL_NS_PER_S;
}

double ll_stats_throughput(const struct ll_stats *s)
{
    double wall = ll_stats_wall_s(s);
    return wall > 0 ? (double)ll_stats_succeeded(s) / wall : NAN;
}

double ll_stats_failed_rate(const struct ll_stats *s)
{
    double wall = ll_stats_wall_s(s);
    return wall > 0 ? (double)ll_stats_failed(s) / wall : NAN;
}

double ll_stats_error_share(const struct ll_stats *s)
{
    uint64_t ok = ll_stats_succeeded(s), failed = ll_stats_failed(s);
    return ok + failed > 0 ? (double)failed / (double)(ok + failed) : NAN;
}

double ll_stats_cpu_per_1000(const struct ll_stats *s)
{
    uint64_t ok = ll_stats_succeeded(s);
    double cpu = s->res.cpu_user_s + s->res.cpu_sys_s;
    return ok > 0 ? cpu * 1000.0 / (double)ok : NAN;
}

void ll_stats_loop_split(const struct ll_stats *s, struct ll_loop_split *out)
{
    double wall = (double)(s->t_stop - s->t_start);
    out->busy = out->idle = out->outside = NAN;
    if (s->be.loop_idle_ns < 0 || s->be.loop_run_ns < 0 || !(wall > 0)) {
        return;
    }
    /* idle time counts only while the loop ran; clamp what rounding may put past the wall */
    double run = (double)s->be.loop_run_ns < wall ? (double)s->be.loop_run_ns : wall;
    double idle = (double)s->be.loop_idle_ns < run ? (double)s->be.loop_idle_ns : run;
    out->busy = (run - idle) / wall;
    out->idle = idle / wall;
    out->outside = (wall - run) / wall;
}

void ll_stats_keepup(const struct ll_stats *s, struct ll_keepup *out)
{
    memset(out, 0, sizeof(*out));
    out->offered_rps = s->offered_rps;
    double wall = ll_stats_wall_s(s);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    out->cpu_cores = wall > 0 ? (s->res.cpu_user_s + s->res.cpu_sys_s) / wall : 0.0;
    /* A backend without threads runs on the driver's one thread: one core is its ceiling. */
    out->cpu_capacity = s->cpu_usable > 0               ? s->cpu_usable
                        : s->be.threads > 0 && ncpu > 1 ? (int)ncpu
                                                        : 1;
    if (!s->open_loop || s->offered_rps <= 0 || s->dispatched < 2 ||
        s->dispatch_last <= s->dispatch_first) {
        return;
    }
    double n = (double)(s->dispatched - 1);
    double dspan = (double)(s->dispatch_last - s->dispatch_first);
    double ispan = (double)(s->intended_last - s->intended_first);
    out->judged = true;
    out->achieved_rps = n * (double)LL_NS_PER_S / dspan;
    /* The same requests' spans: Poisson gaps cancel out of the ratio. */
    out->ratio = ispan > 0 ? ispan / dspan : out->achieved_rps / s->offered_rps;
    out->kept_up = out->ratio >= LL_KEEPUP_MIN;
    out->cap = (double)s->slot_waits > 0.01 * (double)s->dispatched;
    out->slipped = s->sends_scheduled > 0 &&
                   (s->slip_max_ns > LL_SLIP_HELD_MAX_NS ||
                    s->slip_sum_ns / (double)s->sends_scheduled > (double)LL_SLIP_HELD_MEAN_NS);
    out->cpu = out->cpu_cores >= 0.9 * (double)out->cpu_capacity;
}

void ll_stats_little(const struct ll_stats *s, struct ll_little *out)
{
    double wall_ns = (double)(s->t_stop - s->t_start);
    memset(out, 0, sizeof(*out));
    out->diff = out->w_mean_ns = NAN;
    out->why_not = "nothing completed";
    if (wall_ns <= 0 || s->completed == 0) {
        return;
    }
    /* L = area / T; lambda * W = (completed / T) * (residence / completed) = residence / T. */
    out->l_measured = s->area_ns / wall_ns;
    out->l_predicted = s->residence_ns / wall_ns;
    out->w_mean_ns = s->residence_ns / (double)s->completed;
    if (out->l_predicted > 0) {
        out->diff = fabs(out->l_measured - out->l_predicted) / out->l_predicted;
    }
    if (wall_ns < (double)LL_LITTLE_MIN_WALL_NS) {
        out->why_not = "run shorter than 100 ms";
    } else if (!(out->w_mean_ns >= (double)LL_LITTLE_MIN_W_NS)) {
        out->why_not = "requests shorter than 20 ms: the driver's turn-around is in L";
    } else {
        out->why_not = NULL;
        out->judged = true;
        out->flagged = !(out->diff <= LL_LITTLE_TOLERANCE);
    }
}

/* ---- SLO ---- */

bool ll_slo_is_set(const struct ll_slo *slo)
{
    return slo->ttft_ms > 0 || slo->itl_ms > 0 || slo->tpot_ms > 0 || slo->e2e_ms > 0;
}

static int parse_ms(const char *v, size_t len, int64_t *out)
{
    char buf[32], *end;
    if (len == 0 || len >= sizeof(buf)) {
        return LL_EINVAL;
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    errno = 0;
    double ms = strtod(buf, &end);
    if (errno != 0 || *end != '\0' || !(ms > 0) || ms > 1e9) {
        return LL_EINVAL;
    }
    *out = (int64_t)ceil(ms);
    return 0;
}

int ll_slo_parse(const char *spec, struct ll_slo *out)
{
    struct ll_slo slo = {0, 0, 0, 0};
    const char *p = spec;
    while (p != NULL) { /* every element, an empty one too ("ttft=1," is an error) */
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        int64_t *dst = NULL;
        if (eq == NULL) {
            return LL_EINVAL;
        }
        size_t klen = (size_t)(eq - p);
        if (klen == 4 && strncmp(p, "ttft", 4) == 0) {
            dst = &slo.ttft_ms;
        } else if (klen == 3 && strncmp(p, "itl", 3) == 0) {
            dst = &slo.itl_ms;
        } else if (klen == 4 && strncmp(p, "tpot", 4) == 0) {
            dst = &slo.tpot_ms;
        } else if (klen == 3 && strncmp(p, "e2e", 3) == 0) {
            dst = &slo.e2e_ms;
        } else {
            return LL_EINVAL;
        }
        if (parse_ms(eq + 1, len - klen - 1, dst) != 0) {
            return LL_EINVAL;
        }
        p = comma != NULL ? comma + 1 : NULL;
    }
    if (!ll_slo_is_set(&slo)) {
        return LL_EINVAL;
    }
    *out = slo;
    return 0;
}
