#include "mock_metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const int status_codes[MOCK_ST__COUNT] = {200, 400, 401, 404, 405, 413,
                                                 429, 431, 500, 503, 0};

static int status_slot(int status)
{
    for (int i = 0; i < MOCK_ST_OTHER; i++) {
        if (status_codes[i] == status) {
            return i;
        }
    }
    return MOCK_ST_OTHER;
}

#define RELAXED memory_order_relaxed

const unsigned mock_late_le_us[MOCK_LATE_BOUNDS] = {100,   500,   1000,   2000,   5000,   10000,
                                                    20000, 50000, 100000, 250000, 1000000};

int mock_metrics_init(struct mock_metrics *m, const struct mock_config *cfg, int nloops)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->sys.mu, NULL);
    m->cfg = cfg;
    m->nloops = nloops;
    m->nmodels = cfg->nprofiles;
    m->loops = aligned_alloc(64, sizeof(*m->loops) * (size_t)nloops);
    if (m->loops == NULL) {
        return -1;
    }
    memset(m->loops, 0, sizeof(*m->loops) * (size_t)nloops);
    size_t n = (size_t)(m->nmodels + 1) * MOCK_ST__COUNT;
    size_t bytes = (n * sizeof(atomic_ullong) + 63) / 64 * 64; /* no line shared by two loops */
    for (int i = 0; i < nloops; i++) {
        m->loops[i].requests = aligned_alloc(64, bytes);
        if (m->loops[i].requests == NULL) {
            mock_metrics_free(m);
            return -1;
        }
        memset(m->loops[i].requests, 0, bytes);
    }
    return 0;
}

int mock_metrics_init_shared(struct mock_metrics *m, const struct mock_config *cfg)
{
    if (mock_metrics_init(m, cfg, 1) != 0) {
        return -1;
    }
    m->shared = true;
    return 0;
}

void mock_metrics_free(struct mock_metrics *m)
{
    for (int i = 0; m->loops != NULL && i < m->nloops; i++) {
        free(m->loops[i].requests);
    }
    free(m->loops);
    m->loops = NULL;
    pthread_mutex_destroy(&m->sys.mu);
}

/* *a = max(*a, v), by any number of threads. */
static void store_max(atomic_llong *a, long long v)
{
    long long cur = atomic_load_explicit(a, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
                                                             memory_order_relaxed)) {
    }
}

/* The shared slot (one, many writers): each change one atomic add; the peak by compare and
 * swap, only when the count passes it. */
static void in_flight_shared(struct mock_metrics *m, int delta)
{
    struct mock_loop_counters *me = &m->loops[0];
    long long now = atomic_fetch_add_explicit(&me->in_flight, delta, memory_order_relaxed) + delta;
    if (delta > 0 && now > atomic_load_explicit(&m->in_flight_peak, memory_order_relaxed)) {
        store_max(&me->in_flight_peak, now);
        store_max(&m->in_flight_peak, now);
    }
}

void mock_metrics_request(struct mock_metrics *m, int loop, int model, int status)
{
    if (model < 0 || model > m->nmodels) {
        model = m->nmodels;
    }
    mock_metrics_add(&m->loops[loop].requests[model * MOCK_ST__COUNT + status_slot(status)], 1);
}

void mock_metrics_in_flight(struct mock_metrics *m, int loop, int delta)
{
    if (m->shared) {
        in_flight_shared(m, delta);
        return;
    }
    struct mock_loop_counters *me = &m->loops[loop];
    long long mine = atomic_load_explicit(&me->in_flight, RELAXED) + delta;
    atomic_store_explicit(&me->in_flight, mine, RELAXED); /* only this loop writes it */
    if (delta <= 0) {
        return;
    }
    if (mine > atomic_load_explicit(&me->in_flight_peak, RELAXED)) {
        atomic_store_explicit(&me->in_flight_peak, mine, RELAXED);
    }
    /* The sum can only pass the peak if this count plus the other loops' peaks does. Those
     * peaks and the global one rarely change, so their lines stay shared in every core's cache
     * and this test costs no transfer; the other loops' live counts are read only past it. */
    long long bound = mine, now = mine;
    for (int l = 0; l < m->nloops; l++) {
        bound += l == loop ? 0 : atomic_load_explicit(&m->loops[l].in_flight_peak, RELAXED);
    }
    long long peak = atomic_load_explicit(&m->in_flight_peak, RELAXED);
    if (bound <= peak) {
        return;
    }
    for (int l = 0; l < m->nloops; l++) {
        now += l == loop ? 0 : atomic_load_explicit(&m->loops[l].in_flight, RELAXED);
    }
    while (now > peak && !atomic_compare_exchange_weak_explicit(&m->in_flight_peak, &peak, now,
                                                                RELAXED, RELAXED)) {
    }
}

long long mock_metrics_in_flight_now(struct mock_metrics *m)
{
    long long now = 0;
    for (int l = 0; l < m->nloops; l++) {
        now += atomic_load_explicit(&m->loops[l].in_flight, RELAXED);
    }
    return now;
}

void mock_metrics_fault(struct mock_metrics *m, int loop, int kind)
{
    if (kind > 0 && kind < MOCK_FAULT_KINDS) {
        mock_metrics_add(&m->loops[loop].faults[kind], 1);
    }
}

static inline int late_bucket(unsigned long long ns)
{
    int b = 0;
    while (b < MOCK_LATE_BOUNDS && ns > mock_late_le_us[b] * 1000ULL) {
        b++;
    }
    return b;
}

/* The shared slot's lateness: atomic adds, the maximum by compare and swap. */
static void late_shared(struct mock_loop_counters *me, unsigned long long ns)
{
    mock_metrics_add(&me->late[late_bucket(ns)], 1);
    mock_metrics_add(&me->late_sum_ns, ns);
    unsigned long long mx = atomic_load_explicit(&me->late_max_ns, RELAXED);
    while (ns > mx &&
           !atomic_compare_exchange_weak_explicit(&me->late_max_ns, &mx, ns, RELAXED, RELAXED)) {
    }
}

void mock_metrics_late(struct mock_metrics *m, int loop, long long late_ns)
{
    struct mock_loop_counters *me = &m->loops[loop];
    unsigned long long ns = late_ns > 0 ? (unsigned long long)late_ns : 0;
    if (m->shared) {
        late_shared(me, ns);
        return;
    }
    int b = late_bucket(ns);
    /* Only this loop writes these: load and store, no locked instruction on the hot path. */
    atomic_store_explicit(&me->late[b], atomic_load_explicit(&me->late[b], RELAXED) + 1, RELAXED);
    atomic_store_explicit(&me->late_sum_ns, atomic_load_explicit(&me->late_sum_ns, RELAXED) + ns,
                          RELAXED);
    if (ns > atomic_load_explicit(&me->late_max_ns, RELAXED)) {
        atomic_store_explicit(&me->late_max_ns, ns, RELAXED);
    }
}

static void render_one(struct mock_buf *out, const char *name, const char *type, const char *help,
                       long long v);

void mock_metrics_conns(struct mock_metrics *m, int loop, int delta)
{
    atomic_fetch_add_explicit(&m->loops[loop].conn_open, delta, RELAXED);
    long long now = atomic_fetch_add_explicit(&m->conns, delta, RELAXED) + delta;
    if (delta > 0) {
        store_max(&m->conns_peak, now);
    }
}

void mock_metrics_threads(struct mock_metrics *m, int delta)
{
    long long now = atomic_fetch_add_explicit(&m->threads, delta, RELAXED) + delta;
    store_max(&m->threads_peak, now);
}

void mock_metrics_thread_fail(struct mock_metrics *m, int err, const char *limit,
                              const char *detail)
{
    pthread_mutex_lock(&m->sys.mu);
    m->sys.thread_fail++;
    m->sys.thread_errno = err;
    snprintf(m->sys.thread_limit, sizeof(m->sys.thread_limit), "%s", limit);
    snprintf(m->sys.thread_detail, sizeof(m->sys.thread_detail), "%s", detail);
    pthread_mutex_unlock(&m->sys.mu);
}

static const int accept_errs[MOCK_ACCEPT_ERRS - 1] = {EMFILE, ENFILE, ENOBUFS, ENOMEM};

void mock_metrics_accept_fail(struct mock_metrics *m, int err)
{
    int i = 0;
    while (i < MOCK_ACCEPT_ERRS - 1 && accept_errs[i] != err) {
        i++;
    }
    pthread_mutex_lock(&m->sys.mu);
    m->sys.accept_fail[i]++;
    pthread_mutex_unlock(&m->sys.mu);
}

static const char *accept_err_name(int i)
{
    return i < MOCK_ACCEPT_ERRS - 1 ? strerrorname_np(accept_errs[i]) : "other";
}

/* A copy of the failures, taken under their lock. */
static struct mock_sysfail sysfail_copy(struct mock_metrics *m)
{
    struct mock_sysfail f;
    pthread_mutex_lock(&m->sys.mu);
    f = m->sys;
    pthread_mutex_unlock(&m->sys.mu);
    return f;
}

static void render_sys(struct mock_metrics *m, struct mock_buf *out)
{
    struct mock_sysfail f = sysfail_copy(m);
    render_one(out, "mockllm_threads", "gauge",
               "Threads serving connections (the loops, or one per connection).",
               atomic_load_explicit(&m->threads, RELAXED));
    render_one(out, "mockllm_threads_peak", "gauge", "Most serving threads at once.",
               atomic_load_explicit(&m->threads_peak, RELAXED));
    mock_buf_adds(out, "# HELP mockllm_thread_start_failures_total Connections closed unserved "
                       "because no thread could be started for them, by errno and the limit "
                       "met.\n# TYPE mockllm_thread_start_failures_total counter\n");
    if (f.thread_fail == 0) {
        mock_buf_adds(out, "mockllm_thread_start_failures_total 0\n");
    } else {
        const char *e = strerrorname_np(f.thread_errno);
        mock_buf_printf(
            out, "# %s\nmockllm_thread_start_failures_total{errno=\"%s\",limit=\"%s\"} %llu\n",
            f.thread_detail, e ? e : "?", f.thread_limit, f.thread_fail);
    }
    mock_buf_adds(out, "# HELP mockllm_accept_failures_total accept() failures by errno.\n"
                       "# TYPE mockllm_accept_failures_total counter\n");
    bool any = false;
    for (int i = 0; i < MOCK_ACCEPT_ERRS; i++) {
        if (f.accept_fail[i] != 0) {
            mock_buf_printf(out, "mockllm_accept_failures_total{errno=\"%s\"} %llu\n",
                            accept_err_name(i), f.accept_fail[i]);
            any = true;
        }
    }
    if (!any) {
        mock_buf_adds(out, "mockllm_accept_failures_total 0\n");
    }
}

static unsigned long long sum_requests(struct mock_metrics *m, int model, int st)
{
    unsigned long long s = 0;
    for (int l = 0; l < m->nloops; l++) {
        s += atomic_load_explicit(&m->loops[l].requests[model * MOCK_ST__COUNT + st], RELAXED);
    }
    return s;
}

/* Sum one counter over loops; `off` is its offset in struct mock_loop_counters. */
static unsigned long long sum_at(struct mock_metrics *m, size_t off)
{
    unsigned long long s = 0;
    for (int l = 0; l < m->nloops; l++) {
        s += atomic_load_explicit((atomic_ullong *)(void *)((char *)&m->loops[l] + off), RELAXED);
    }
    return s;
}

#define SUM(field) sum_at(m, offsetof(struct mock_loop_counters, field))

static void render_requests(struct mock_metrics *m, struct mock_buf *out)
{
    mock_buf_adds(out, "# HELP mockllm_requests_total Chat completion requests answered.\n"
                       "# TYPE mockllm_requests_total counter\n");
    for (int model = 0; model <= m->nmodels; model++) {
        const char *name = model < m->nmodels ? m->cfg->profiles[model].name : "none";
        for (int st = 0; st < MOCK_ST__COUNT; st++) {
            unsigned long long v = sum_requests(m, model, st);
            if (v == 0 && !(model == 0 && st == MOCK_ST_200)) {
                continue;
            }
            char code[8];
            snprintf(code, sizeof(code), "%d", status_codes[st]);
            mock_buf_printf(out, "mockllm_requests_total{model=\"%s\",status=\"%s\"} %llu\n", name,
                            st == MOCK_ST_OTHER ? "other" : code, v);
        }
    }
}

static void render_one(struct mock_buf *out, const char *name, const char *type, const char *help,
                       long long v)
{
    mock_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type, name, v);
}

/* Per bucket, summed over loops; returns the count and sets *sum_ns and *max_ns. */
static unsigned long long late_totals(struct mock_metrics *m, unsigned long long *per,
                                      unsigned long long *sum_ns, unsigned long long *max_ns)
{
    unsigned long long n = 0;
    *sum_ns = *max_ns = 0;
    for (int b = 0; b <= MOCK_LATE_BOUNDS; b++) {
        per[b] = 0;
        for (int l = 0; l < m->nloops; l++) {
            per[b] += atomic_load_explicit(&m->loops[l].late[b], RELAXED);
        }
        n += per[b];
    }
    for (int l = 0; l < m->nloops; l++) {
        unsigned long long mx = atomic_load_explicit(&m->loops[l].late_max_ns, RELAXED);
        *sum_ns += atomic_load_explicit(&m->loops[l].late_sum_ns, RELAXED);
        *max_ns = mx > *max_ns ? mx : *max_ns;
    }
    return n;
}

static void render_late(struct mock_metrics *m, struct mock_buf *out)
{
    unsigned long long per[MOCK_LATE_BOUNDS + 1], sum_ns, max_ns, cum = 0;
    unsigned long long n = late_totals(m, per, &sum_ns, &max_ns);
    mock_buf_adds(out, "# HELP mockllm_send_lateness_seconds How long after its scheduled time "
                       "an answer, or a stream's next tokens, was written.\n"
                       "# TYPE mockllm_send_lateness_seconds histogram\n");
    for (int b = 0; b < MOCK_LATE_BOUNDS; b++) {
        cum += per[b];
        mock_buf_printf(out, "mockllm_send_lateness_seconds_bucket{le=\"%g\"} %llu\n",
                        mock_late_le_us[b] / 1e6, cum);
    }
    mock_buf_printf(out,
                    "mockllm_send_lateness_seconds_bucket{le=\"+Inf\"} %llu\n"
                    "mockllm_send_lateness_seconds_sum %.9f\n"
                    "mockllm_send_lateness_seconds_count %llu\n"
                    "# HELP mockllm_send_lateness_max_seconds The latest send.\n"
                    "# TYPE mockllm_send_lateness_max_seconds gauge\n"
                    "mockllm_send_lateness_max_seconds %.9f\n",
                    n, sum_ns / 1e9, n, max_ns / 1e9);
}

static void render_net(struct mock_metrics *m, struct mock_buf *out)
{
    unsigned long long v[MOCK_NET__COUNT] = {0};
    for (int k = 0; k < MOCK_NET__COUNT; k++) {
        for (int l = 0; l < m->nloops; l++) {
            v[k] += atomic_load_explicit(&m->loops[l].net[k], RELAXED);
        }
    }
    mock_buf_printf(out,
                    "# HELP mockllm_tls_handshakes_total TLS handshakes completed, in full or "
                    "resumed (ticket or session id).\n"
                    "# TYPE mockllm_tls_handshakes_total counter\n"
                    "mockllm_tls_handshakes_total{kind=\"full\"} %llu\n"
                    "mockllm_tls_handshakes_total{kind=\"resumed\"} %llu\n",
                    v[MOCK_NET_TLS_FULL], v[MOCK_NET_TLS_RESUMED]);
    render_one(out, "mockllm_tls_failures_total", "counter",
               "Connections ended by bad TLS input (handshake or record).",
               (long long)v[MOCK_NET_TLS_FAIL]);
    render_one(out, "mockllm_h2_connections_total", "counter",
               "Connections that spoke HTTP/2 (ALPN h2 or h2c).", (long long)v[MOCK_NET_H2_CONN]);
    render_one(out, "mockllm_h2_streams_total", "counter", "HTTP/2 streams opened by clients.",
               (long long)v[MOCK_NET_H2_STREAM]);
    render_one(out, "mockllm_h2_resets_total", "counter", "HTTP/2 streams reset by mockllm.",
               (long long)v[MOCK_NET_H2_RST]);
    mock_buf_printf(out,
                    "# HELP mockllm_h2_faults_total Injected HTTP/2 connection faults by kind.\n"
                    "# TYPE mockllm_h2_faults_total counter\n"
                    "mockllm_h2_faults_total{kind=\"goaway\"} %llu\n"
                    "mockllm_h2_faults_total{kind=\"settings\"} %llu\n",
                    v[MOCK_NET_H2_GOAWAY], v[MOCK_NET_H2_SETTINGS]);
    render_one(out, "mockllm_h2_protocol_errors_total", "counter",
               "HTTP/2 connections ended by bad input (GOAWAY with an error code).",
               (long long)v[MOCK_NET_H2_ERROR]);
}

void mock_metrics_render(struct mock_metrics *m, struct mock_buf *out)
{
    long long open = 0;
    for (int l = 0; l < m->nloops; l++) {
        open += atomic_load_explicit(&m->loops[l].conn_open, RELAXED);
    }
    render_requests(m, out);
    render_one(out, "mockllm_in_flight", "gauge", "Requests being answered now.",
               mock_metrics_in_flight_now(m));
    render_one(out, "mockllm_in_flight_peak", "gauge", "Most requests in flight at once.",
               atomic_load_explicit(&m->in_flight_peak, RELAXED));
    render_one(out, "mockllm_connections_open", "gauge", "Open client connections.", open);
    render_one(out, "mockllm_connections_open_peak", "gauge",
               "Most client connections open at once.",
               atomic_load_explicit(&m->conns_peak, RELAXED));
    render_one(out, "mockllm_connections_total", "counter", "Connections accepted.",
               (long long)SUM(conn_total));
    render_one(out, "mockllm_bytes_received_total", "counter", "Bytes read from clients.",
               (long long)SUM(bytes_in));
    render_one(out, "mockllm_bytes_sent_total", "counter",
               "Bytes written to clients (taken by the kernel, not queued).",
               (long long)SUM(bytes_out));
    render_one(out, "mockllm_streams_paced", "gauge",
               "Streams whose generation waits for a slow client to read.", (long long)SUM(paced));
    mock_buf_adds(out, "# HELP mockllm_faults_total Injected faults by kind.\n"
                       "# TYPE mockllm_faults_total counter\n");
    for (int k = 1; k < MOCK_FAULT_KINDS; k++) {
        const char *name = k == MOCK_FAULT_KIND_SPLIT ? "split" : mock_fault_name(k);
        unsigned long long v = 0;
        for (int l = 0; l < m->nloops; l++) {
            v += atomic_load_explicit(&m->loops[l].faults[k], RELAXED);
        }
        mock_buf_printf(out, "mockllm_faults_total{kind=\"%s\"} %llu\n", name, v);
    }
    render_one(out, "mockllm_rate_limited_total", "counter", "Requests refused by --rpm/--tpm.",
               (long long)SUM(rate_limited));
    render_late(m, out);
    render_net(m, out);
    render_sys(m, out);
}

void mock_metrics_reset(struct mock_metrics *m)
{
    size_t n = (size_t)(m->nmodels + 1) * MOCK_ST__COUNT;
    for (int l = 0; l < m->nloops; l++) {
        struct mock_loop_counters *c = &m->loops[l];
        for (size_t i = 0; i < n; i++) {
            atomic_store_explicit(&c->requests[i], 0, RELAXED);
        }
        for (int k = 0; k < MOCK_FAULT_KINDS; k++) {
            atomic_store_explicit(&c->faults[k], 0, RELAXED);
        }
        for (int k = 0; k < MOCK_NET__COUNT; k++) {
            atomic_store_explicit(&c->net[k], 0, RELAXED);
        }
        atomic_store_explicit(&c->conn_total, 0, RELAXED);
        atomic_store_explicit(&c->bytes_in, 0, RELAXED);
        atomic_store_explicit(&c->bytes_out, 0, RELAXED);
        atomic_store_explicit(&c->rate_limited, 0, RELAXED);
        /* Written by the loop without a locked instruction: a send finishing during the reset
         * may survive it. A scrape is not exact to the request anyway. */
        for (int b = 0; b <= MOCK_LATE_BOUNDS; b++) {
            atomic_store_explicit(&c->late[b], 0, RELAXED);
        }
        atomic_store_explicit(&c->late_sum_ns, 0, RELAXED);
        atomic_store_explicit(&c->late_max_ns, 0, RELAXED);
    }
    /* The loops' own peaks are left alone: they bound the sum from above (a lower value
     * could hide a new peak), and only their loops write them. */
    atomic_store_explicit(&m->in_flight_peak, mock_metrics_in_flight_now(m), RELAXED);
    atomic_store_explicit(&m->threads_peak, atomic_load_explicit(&m->threads, RELAXED), RELAXED);
    atomic_store_explicit(&m->conns_peak, atomic_load_explicit(&m->conns, RELAXED), RELAXED);
    pthread_mutex_lock(&m->sys.mu);
    m->sys.thread_fail = 0;
    memset(m->sys.accept_fail, 0, sizeof(m->sys.accept_fail));
    pthread_mutex_unlock(&m->sys.mu);
}

/* The limits met, one line each: the evidence of where the server stopped. */
/* The server's own CPU over its life, every thread (those that ended too): what serving cost,
 * beside a client's figure for the same run (llmload demo pool reads it from /proc per mode). */
static void summary_cpu(FILE *f)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return;
    }
    double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    fprintf(f, "mockllm: CPU %.3f s (user %.3f s, system %.3f s)\n", user + sys, user, sys);
}

static void summary_sys(struct mock_metrics *m, FILE *f)
{
    struct mock_sysfail s = sysfail_copy(m);
    if (s.thread_fail > 0) {
        const char *e = strerrorname_np(s.thread_errno);
        fprintf(f,
                "mockllm: %llu connections refused: cannot start a thread: %s (%s); limit met: "
                "%s\n",
                s.thread_fail, e ? e : "?", strerror(s.thread_errno), s.thread_detail);
    }
    for (int i = 0; i < MOCK_ACCEPT_ERRS; i++) {
        if (s.accept_fail[i] != 0) {
            fprintf(f, "mockllm: %llu accept() failures: %s\n", s.accept_fail[i],
                    accept_err_name(i));
        }
    }
}

void mock_metrics_summary(struct mock_metrics *m, FILE *f)
{
    unsigned long long by[MOCK_ST__COUNT] = {0}, total = 0;
    for (int model = 0; model <= m->nmodels; model++) {
        for (int st = 0; st < MOCK_ST__COUNT; st++) {
            unsigned long long v = sum_requests(m, model, st);
            by[st] += v;
            total += v;
        }
    }
    char line[512];
    int used = snprintf(line, sizeof(line), "mockllm: %llu requests (", total);
    const char *sep = "";
    for (int st = 0; st < MOCK_ST__COUNT && used < (int)sizeof(line) - 40; st++) {
        if (by[st] != 0) {
            used += st == MOCK_ST_OTHER
                        ? snprintf(line + used, sizeof(line) - used, "%sother %llu", sep, by[st])
                        : snprintf(line + used, sizeof(line) - used, "%s%d %llu", sep,
                                   status_codes[st], by[st]);
            sep = ", ";
        }
    }
    fprintf(f, "%s%s, peak in flight %lld, %llu connections\n",
            total ? line : "mockllm: 0 requests", total ? ")" : "",
            (long long)atomic_load_explicit(&m->in_flight_peak, RELAXED),
            (unsigned long long)SUM(conn_total));
    if (m->shared) { /* a thread per connection: how many ran at once */
        fprintf(f, "mockllm: %lld threads at the peak (one per connection, and the acceptor)\n",
                (long long)atomic_load_explicit(&m->threads_peak, RELAXED));
    }
    unsigned long long per[MOCK_LATE_BOUNDS + 1], sum_ns, max_ns, over = 0;
    unsigned long long n = late_totals(m, per, &sum_ns, &max_ns);
    for (int b = 1; b <= MOCK_LATE_BOUNDS; b++) {
        over += mock_late_le_us[b - 1] >= 1000 ? per[b] : 0; /* buckets that start at 1 ms+ */
    }
    if (n > 0) {
        fprintf(f, "mockllm: %llu timed sends, %llu more than 1 ms late, latest %.1f ms late\n", n,
                over, max_ns / 1e6);
    }
    summary_sys(m, f);
    summary_cpu(f);
}
