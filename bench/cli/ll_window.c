/* ll_window.c - figures over the steady part of a run (ll_window.h). */
#include "ll_window.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ll_clock.h"
#include "ll_err.h"
#include "ll_opts.h"
#include "ll_report.h"

#define SAMPLE_NS (250 * LL_NS_PER_MS)
#define FDS_NS    LL_NS_PER_S /* a readdir of every descriptor: once a second is enough */

int ll_window_parse(const char *spec, double send_s, int64_t *from_ns, int64_t *to_ns,
                    const char **why)
{
    char from[64];
    const char *colon = strchr(spec, ':');
    size_t n = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
    double a, b = send_s;
    if (n == 0 || n >= sizeof(from)) {
        *why = "want FROM[:TO], e.g. 22s:42s";
        return LL_EINVAL;
    }
    memcpy(from, spec, n);
    from[n] = '\0';
    if (ll_parse_seconds(from, 0, 1e7, &a) != 0 ||
        (colon != NULL && ll_parse_seconds(colon + 1, 1e-3, 1e7, &b) != 0)) {
        *why = "want FROM[:TO] as durations (20, 20s, 500ms, 1m)";
        return LL_EINVAL;
    }
    if (colon == NULL && send_s <= 0) {
        *why = "without TO the window ends with --duration, which is not set";
        return LL_EINVAL;
    }
    if (!(a < b)) {
        *why = "FROM must come before TO (or before the end of --duration)";
        return LL_EINVAL;
    }
    *from_ns = (int64_t)(a * 1e9);
    *to_ns = (int64_t)(b * 1e9);
    return 0;
}

int ll_window_init(struct ll_window *w, int64_t from_ns, int64_t to_ns, int server_pid)
{
    memset(w, 0, sizeof(*w));
    if (ll_stats_init(&w->started, NULL) != 0) {
        return LL_ENOMEM;
    }
    w->from_ns = from_ns;
    w->to_ns = to_ns;
    w->server.pid = server_pid;
    w->self.watch.stat_fd = w->server.watch.stat_fd = -1; /* nothing open yet */
    w->has_server = server_pid > 0;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    w->cores = n > 0 ? (int)n : 1;
    return 0;
}

void ll_window_free(struct ll_window *w)
{
    ll_proc_watch_close(&w->self.watch);
    ll_proc_watch_close(&w->server.watch);
    ll_stats_free(&w->started);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* One look at a process; the CPU is kept in *cpu when asked. */
static void proc_look(struct ll_window_proc *p, bool fds, double *cpu)
{
    struct ll_proc_sample s;
    if (p->gone || ll_proc_watch_sample(&p->watch, fds, &s) != 0) {
        p->gone = true;
        return;
    }
    if (cpu != NULL) {
        *cpu = p->pid > 0 ? s.cpu_s : self_cpu_s(); /* getrusage: finer than clock ticks */
    }
    if (s.rss_kb >= 0) {
        p->rss_sum_kb += (double)s.rss_kb;
        p->rss_samples++;
        p->rss_peak_kb = s.rss_kb > p->rss_peak_kb ? s.rss_kb : p->rss_peak_kb;
    }
    p->threads_peak = s.threads > p->threads_peak ? s.threads : p->threads_peak;
    if (s.fds >= 0) {
        s.fds -= p->fds_own;
    }
    p->fds_peak = s.fds > p->fds_peak ? s.fds : p->fds_peak;
}

static void proc_open(struct ll_window_proc *p)
{
    struct ll_proc_sample s;
    p->nofile_soft = p->nofile_hard = -1;
    p->fds_peak = p->threads_peak = -1;
    if (ll_proc_nofile(p->pid, &p->nofile_soft, &p->nofile_hard) != 0 ||
        ll_proc_watch_open(&p->watch, p->pid) != 0 ||
        ll_proc_watch_sample(&p->watch, false, &s) != 0) {
        p->gone = true;
        return;
    }
    if (p->rss_run0_kb <= 0) { /* unless the caller took it before the client existed */
        p->rss_run0_kb = s.rss_kb;
    }
}

void ll_window_start(struct ll_window *w, int64_t t0, const struct ll_stats *run)
{
    w->a = t0 + w->from_ns;
    w->b = t0 + w->to_ns;
    w->next_sample = w->next_fds = w->a;
    proc_open(&w->self);
    if (w->has_server) {
        proc_open(&w->server);
        w->self.fds_own = w->server.gone ? 0 : 2; /* its watch: ours, not the run's */
    }
    /* The walls a failure of a request started inside is reported against. */
    w->started.res.nofile_soft = run->res.nofile_soft;
    w->started.res.nofile_hard = run->res.nofile_hard;
    w->started.res.ports_lo = run->res.ports_lo;
    w->started.res.ports_hi = run->res.ports_hi;
}

int64_t ll_window_next_due(const struct ll_window *w)
{
    if (w->ended) {
        return INT64_MAX;
    }
    if (!w->begun) {
        return w->a;
    }
    return w->next_sample < w->b ? w->next_sample : w->b;
}

static void sample(struct ll_window *w, int64_t now, double *self_cpu, double *server_cpu)
{
    bool fds = now >= w->next_fds || self_cpu != NULL;
    proc_look(&w->self, fds, self_cpu);
    if (w->has_server) {
        proc_look(&w->server, fds, server_cpu);
    }
    if (fds) {
        w->next_fds = now + FDS_NS;
    }
    w->next_sample = now + SAMPLE_NS;
}

static void finish(struct ll_window *w, int64_t now)
{
    double self1 = 0, server1 = 0;
    sample(w, now, &self1, &server1);
    w->t_end = now;
    w->self.cpu_s = self1 - w->self.cpu0_s;
    w->server.cpu_s = w->server.gone ? 0.0 : server1 - w->server.cpu0_s;
    w->ended = true;
}

void ll_window_tick(struct ll_window *w, int64_t now)
{
    if (w->ended) {
        return;
    }
    if (!w->begun) {
        if (now < w->a) {
            return;
        }
        w->begun = true;
        w->t_begin = now;
        sample(w, now, &w->self.cpu0_s, &w->server.cpu0_s);
    }
    if (now >= w->b) {
        finish(w, now);
    } else if (now >= w->next_sample) {
        sample(w, now, NULL, NULL);
    }
}

void ll_window_end(struct ll_window *w, int64_t now)
{
    if (w->ended) {
        return;
    }
    if (!w->begun) {
        w->begun = true;
        w->t_begin = now;
        sample(w, now, &w->self.cpu0_s, &w->server.cpu0_s);
    }
    w->truncated = now < w->b;
    finish(w, now);
}

/* The part of [lo, hi) inside the window, ns. */
static double overlap(const struct ll_window *w, int64_t lo, int64_t hi)
{
    lo = lo > w->a ? lo : w->a;
    hi = hi < w->b ? hi : w->b;
    return hi > lo ? (double)(hi - lo) : 0.0;
}

void ll_window_fold(struct ll_window *w, const struct ll_result *r, int64_t now)
{
    int kept = r->attempts < LL_ATTEMPTS_KEPT ? r->attempts : LL_ATTEMPTS_KEPT;
    for (int i = 0; i < kept; i++) {
        const struct ll_attempt *at = &r->attempt[i];
        if (at->t_start > 0 && at->t_end >= at->t_start) {
            w->wire_ns += overlap(w, at->t_start, at->t_end);
        }
    }
    if (kept == 0 && r->t_dispatch > 0) { /* dispatched, no attempt recorded (cancelled) */
        w->wire_ns += overlap(w, r->t_dispatch, r->t_end);
    }
    if (r->t_queued > 0) {
        w->queued_ns += overlap(w, r->t_queued, r->t_dispatch > 0 ? r->t_dispatch : r->t_end);
    }
    w->ended_in += r->t_end >= w->a && r->t_end < w->b;
    bool per_chunk = ll_stats_usage_per_chunk(r);
    for (size_t i = 0; r->chunk != NULL && i < r->n_chunks; i++) {
        if (r->chunk[i].t >= w->a && r->chunk[i].t < w->b) {
            w->chunks++;
            w->tokens += (uint64_t)ll_stats_chunk_tokens(r, i, per_chunk);
        }
    }
    int64_t t0 = r->t_intended > 0 ? r->t_intended : r->t_queued;
    if (t0 >= w->a && t0 < w->b) {
        ll_stats_note_submit(&w->started, r->t_queued, r->t_intended);
        ll_stats_add_result(&w->started, r, now);
    }
}

/* The window's length in ns: to the end of the run when it ended early. */
static double span_ns(const struct ll_window *w)
{
    int64_t end = w->truncated && w->t_end < w->b ? w->t_end : w->b;
    return end > w->a ? (double)(end - w->a) : 0.0;
}

double ll_window_in_flight(const struct ll_window *w)
{
    double len = span_ns(w);
    return len > 0 ? w->wire_ns / len : 0.0;
}

static double per(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

static void add_num_or_null(cJSON *o, const char *k, bool known, double v)
{
    cJSON_AddItemToObject(o, k, known ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}

static cJSON *proc_json(const struct ll_window *w, const struct ll_window_proc *p)
{
    cJSON *o = cJSON_CreateObject();
    double secs = per((double)(w->t_end - w->t_begin), (double)LL_NS_PER_S);
    double rss_mean = per(p->rss_sum_kb, (double)p->rss_samples);
    double inf = ll_window_in_flight(w);
    if (p->pid > 0) {
        cJSON_AddNumberToObject(o, "pid", p->pid);
    }
    cJSON_AddBoolToObject(o, "gone", p->gone);
    cJSON_AddNumberToObject(o, "cpu_s", p->cpu_s);
    cJSON_AddNumberToObject(o, "cpu_cores", per(p->cpu_s, secs));
    cJSON_AddNumberToObject(o, "cpu_us_per_request", per(p->cpu_s * 1e6, (double)w->ended_in));
    cJSON_AddNumberToObject(o, "cpu_us_per_token", per(p->cpu_s * 1e6, (double)w->tokens));
    cJSON_AddNumberToObject(o, "rss_run_start_kb", (double)p->rss_run0_kb);
    cJSON_AddNumberToObject(o, "rss_mean_kb", rss_mean);
    cJSON_AddNumberToObject(o, "rss_peak_kb", (double)p->rss_peak_kb);
    cJSON_AddNumberToObject(o, "rss_per_in_flight_kb", per(rss_mean - (double)p->rss_run0_kb, inf));
    add_num_or_null(o, "threads_peak", p->threads_peak >= 0, p->threads_peak);
    add_num_or_null(o, "fds_peak", p->fds_peak >= 0, p->fds_peak);
    cJSON *nf = cJSON_AddObjectToObject(o, "rlimit_nofile"); /* null = unlimited */
    add_num_or_null(nf, "soft", p->nofile_soft >= 0, (double)p->nofile_soft);
    add_num_or_null(nf, "hard", p->nofile_hard >= 0, (double)p->nofile_hard);
    return o;
}

/* requests, latency and limits of the requests that started inside, from the report's own
 * JSON of their stats (the other parts describe a whole run, not a subset). */
static void started_json(cJSON *o, const struct ll_window *w)
{
    static const char *const keep[] = {"requests", "limits"};
    static const char *const hists[] = {"e2e", "corrected", "ttft", "itl"};
    cJSON *all = ll_report_stats_json(&w->started);
    if (all == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        cJSON_AddItemToObject(o, keep[i], cJSON_DetachItemFromObject(all, keep[i]));
    }
    cJSON *lat = cJSON_GetObjectItem(all, "latency"), *mine = cJSON_AddObjectToObject(o, "latency");
    for (size_t i = 0; lat != NULL && i < sizeof(hists) / sizeof(hists[0]); i++) {
        cJSON_AddItemToObject(mine, hists[i], cJSON_DetachItemFromObject(lat, hists[i]));
    }
    cJSON_Delete(all);
}

cJSON *ll_window_json(const struct ll_window *w)
{
    cJSON *o = cJSON_CreateObject();
    double len_s = span_ns(w) / (double)LL_NS_PER_S;
    cJSON_AddNumberToObject(o, "from_s", (double)w->from_ns / (double)LL_NS_PER_S);
    cJSON_AddNumberToObject(o, "to_s", (double)w->to_ns / (double)LL_NS_PER_S);
    cJSON_AddNumberToObject(o, "seconds", len_s);
    cJSON_AddBoolToObject(o, "truncated", w->truncated);
    cJSON_AddNumberToObject(o, "cores", w->cores);
    cJSON *inf = cJSON_AddObjectToObject(o, "in_flight");
    cJSON_AddNumberToObject(inf, "mean", ll_window_in_flight(w));
    cJSON_AddNumberToObject(inf, "queued_mean", per(w->queued_ns, span_ns(w)));
    cJSON_AddNumberToObject(o, "ended", (double)w->ended_in);
    cJSON_AddNumberToObject(o, "ended_rps", per((double)w->ended_in, len_s));
    cJSON *tok = cJSON_AddObjectToObject(o, "tokens");
    cJSON_AddNumberToObject(tok, "received", (double)w->tokens);
    cJSON_AddNumberToObject(tok, "chunks", (double)w->chunks);
    cJSON_AddNumberToObject(tok, "per_s", per((double)w->tokens, len_s));
    cJSON *st = cJSON_AddObjectToObject(o, "started");
    started_json(st, w);
    cJSON_AddItemToObject(o, "client", proc_json(w, &w->self));
    if (w->has_server) {
        cJSON_AddItemToObject(o, "server", proc_json(w, &w->server));
    } else {
        cJSON_AddNullToObject(o, "server");
    }
    return o;
}

static void print_proc(FILE *out, const char *who, const struct ll_window *w,
                       const struct ll_window_proc *p)
{
    double secs = per((double)(w->t_end - w->t_begin), (double)LL_NS_PER_S);
    double rss_mean = per(p->rss_sum_kb, (double)p->rss_samples);
    if (p->gone) {
        fprintf(out, "  %-7s gone (pid %d could not be read)\n", who, p->pid);
        return;
    }
    fprintf(out,
            "  %-7s CPU %.2f cores, %.1f us/request, %.2f us/token; RSS %.1f MiB (%.1f KiB per "
            "request in flight); threads %d; descriptors %d",
            who, per(p->cpu_s, secs), per(p->cpu_s * 1e6, (double)w->ended_in),
            per(p->cpu_s * 1e6, (double)w->tokens), rss_mean / 1024.0,
            per(rss_mean - (double)p->rss_run0_kb, ll_window_in_flight(w)), p->threads_peak,
            p->fds_peak);
    if (p->nofile_soft >= 0) {
        fprintf(out, " of RLIMIT_NOFILE %lld", (long long)p->nofile_soft);
    }
    fputc('\n', out);
}

void ll_window_print(FILE *out, const struct ll_window *w)
{
    const struct ll_stats *s = &w->started;
    double len_s = span_ns(w) / (double)LL_NS_PER_S;
    fprintf(out,
            "steady window %g-%g s%s: %.1f in flight on the wire (%.1f queued), %llu started, "
            "%llu failed, %.1f req/s ended, %.0f tokens/s\n",
            (double)w->from_ns / 1e9, (double)w->to_ns / 1e9,
            w->truncated ? " (the run ended first)" : "", ll_window_in_flight(w),
            per(w->queued_ns, span_ns(w)), (unsigned long long)s->submitted,
            (unsigned long long)ll_stats_failed(s), per((double)w->ended_in, len_s),
            per((double)w->tokens, len_s));
    print_proc(out, "client", w, &w->self);
    if (w->has_server) {
        print_proc(out, "server", w, &w->server);
    }
}
