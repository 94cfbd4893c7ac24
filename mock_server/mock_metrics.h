/* mock_metrics.h - the server's counters, rendered as Prometheus text on GET /metrics.
 *
 * --model loop: each loop owns one slot of counters (its own cache lines, relaxed C11 atomics so
 * a scrape from another loop's thread is race-free); a scrape sums the slots. Only the peak of
 * requests in flight over all loops is shared, and it is written only when it may have been
 * exceeded (see mock_metrics_in_flight): a counter every loop wrote on every request cost about
 * 0.7 µs per request with two loops, its cache line moving between the cores. The slot's gauges
 * and lateness are written by its loop alone, with a plain load and store.
 *
 * --model threads: one slot that every connection thread writes (mock_metrics_init_shared), so
 * every write is an atomic read-modify-write.
 *
 * Every function may be called from any serving thread; with slots of their own (loops), the
 * functions documented "only that loop" only by the loop named. */
#ifndef MOCK_METRICS_H
#define MOCK_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "mock_buf.h"
#include "mock_config.h"
#include "mock_fault.h"

/* Statuses counted by value; anything else counts as "other". */
enum mock_status_slot {
    MOCK_ST_200,
    MOCK_ST_400,
    MOCK_ST_401,
    MOCK_ST_404,
    MOCK_ST_405,
    MOCK_ST_413,
    MOCK_ST_429,
    MOCK_ST_431,
    MOCK_ST_500,
    MOCK_ST_503,
    MOCK_ST_OTHER,
    MOCK_ST__COUNT
};

#define MOCK_FAULT_KIND_SPLIT MOCK_FAULT__COUNT /* faults_total{kind="split"} */
#define MOCK_FAULT_KINDS      (MOCK_FAULT__COUNT + 1)

/* Send lateness: how long after its scheduled time an answer, or a stream's next tokens, went
 * out. A client's latency figure holds the network, the client and the server; this is the
 * server's own share of any excess, so a tail can be placed on the right side. Buckets of a
 * Prometheus histogram, upper bounds in µs; one more bucket, +Inf, follows them. */
#define MOCK_LATE_BOUNDS 11
extern const unsigned mock_late_le_us[MOCK_LATE_BOUNDS];

/* What the transport counts (mock_tls.h, mock_h2.h): mockllm_tls_* and mockllm_h2_* on
 * /metrics. */
enum mock_net_kind {
    MOCK_NET_TLS_FULL,    /* handshakes completed in full */
    MOCK_NET_TLS_RESUMED, /* ... and by resumption (ticket or session id) */
    MOCK_NET_TLS_FAIL,    /* connections ended by bad TLS input (handshake or record) */
    MOCK_NET_H2_CONN,     /* connections that spoke HTTP/2 (ALPN h2, or h2c) */
    MOCK_NET_H2_STREAM,   /* requests (streams) they carried */
    MOCK_NET_H2_RST,      /* streams mockllm reset (RST_STREAM) */
    MOCK_NET_H2_GOAWAY,   /* injected GOAWAY (--h2-goaway-after) */
    MOCK_NET_H2_SETTINGS, /* injected SETTINGS changes (--h2-settings-after) */
    MOCK_NET_H2_ERROR,    /* connections ended by bad HTTP/2 input (GOAWAY with an error) */
    MOCK_NET__COUNT
};

struct mock_loop_counters {
    _Alignas(64) atomic_ullong conn_total;
    atomic_llong conn_open;
    atomic_llong in_flight; /* this loop's, written by this loop only */
    atomic_ullong bytes_in, rate_limited;
    atomic_ullong bytes_out; /* taken by the kernel, not merely queued (mock_conn.c) */
    atomic_llong paced;      /* streams waiting now for their client to read (gauge) */
    atomic_ullong faults[MOCK_FAULT_KINDS];
    atomic_ullong late[MOCK_LATE_BOUNDS + 1]; /* per bucket, not cumulative */
    atomic_ullong late_sum_ns, late_max_ns;
    atomic_ullong net[MOCK_NET__COUNT];
    atomic_ullong *requests; /* [(nmodels + 1) * MOCK_ST__COUNT]; last row: model unknown */
    /* This loop's peak in flight: read by the other loops on every request, so on a line of
     * its own that changes only with a new peak. */
    _Alignas(64) atomic_llong in_flight_peak;
};

/* Failures to start a serving thread or to accept a connection: how a server meets the limits
 * of the machine. Rare, so under a mutex. */
#define MOCK_ACCEPT_ERRS 5 /* EMFILE, ENFILE, ENOBUFS, ENOMEM, other */
struct mock_sysfail {
    pthread_mutex_t mu;
    unsigned long long thread_fail; /* connections refused: no thread could start */
    int thread_errno;               /* of the latest such failure */
    char thread_limit[32];          /* the limit it met ("RLIMIT_NPROC", ...) */
    char thread_detail[256];        /* with its figures, one line */
    unsigned long long accept_fail[MOCK_ACCEPT_ERRS];
};

struct mock_metrics {
    const struct mock_config *cfg;
    int nloops, nmodels;
    bool shared; /* one slot written by many threads (mock_metrics_init_shared) */
    struct mock_loop_counters *loops;
    _Alignas(64) atomic_llong in_flight_peak; /* of the sum over loops */
    /* serving threads: the loops, or one per connection (--model threads) */
    atomic_llong threads, threads_peak;
    /* client connections open over every loop, and the most at once (a connection opens and
     * closes once, so one atomic add each is cheap) */
    atomic_llong conns, conns_peak;
    struct mock_sysfail sys;
};

/* 0 or -1 (no memory). Model index i < cfg->nprofiles is profile i; nprofiles is "none".
 * nloops slots, each written by one loop. */
int mock_metrics_init(struct mock_metrics *m, const struct mock_config *cfg, int nloops);
/* One slot, written by any number of threads: every write atomic. 0 or -1. */
int mock_metrics_init_shared(struct mock_metrics *m, const struct mock_config *cfg);
void mock_metrics_free(struct mock_metrics *m);

void mock_metrics_request(struct mock_metrics *m, int loop, int model, int status);
/* A request of `loop` started (+1) or ended (-1). The peak is exact for one loop. With more,
 * it is the largest sum a loop saw when its own count rose (plain loads, no fences): a sum that
 * lasted only the nanoseconds between another loop's increment and its reads can be missed,
 * so under contention the peak can be slightly low. */
void mock_metrics_in_flight(struct mock_metrics *m, int loop, int delta);
/* A connection of `loop` was accepted (+1) or closed (-1): its loop's open count and the
 * count over all loops, whose peak follows. Any thread (the loop's, or the connection's). */
void mock_metrics_conns(struct mock_metrics *m, int loop, int delta);
/* A serving thread started (+1) or ended (-1); the peak follows. Any thread. */
void mock_metrics_threads(struct mock_metrics *m, int delta);
/* No thread could be started for a connection: err (an errno value) and the limit it met
 * (mock_syslimit.h: a short name and a line with its figures). Any thread. */
void mock_metrics_thread_fail(struct mock_metrics *m, int err, const char *limit,
                              const char *detail);
/* accept() failed with err (EMFILE, ENFILE, ...). Any thread. */
void mock_metrics_accept_fail(struct mock_metrics *m, int err);
/* Requests in flight now, over all loops. */
long long mock_metrics_in_flight_now(struct mock_metrics *m);
void mock_metrics_fault(struct mock_metrics *m, int loop, int kind);
/* A timed send of `loop` went out late_ns after it was due (0 when on time). Only that loop. */
void mock_metrics_late(struct mock_metrics *m, int loop, long long late_ns);

static inline struct mock_loop_counters *mock_metrics_loop(struct mock_metrics *m, int loop)
{
    return &m->loops[loop];
}
static inline void mock_metrics_add(atomic_ullong *c, unsigned long long n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}
/* One transport event of `loop` (mock_net_kind). Any serving thread. */
static inline void mock_metrics_net(struct mock_metrics *m, int loop, enum mock_net_kind k)
{
    atomic_fetch_add_explicit(&m->loops[loop].net[k], 1, memory_order_relaxed);
}
/* A gauge written only by its own loop: a load and a store, no locked instruction. (A shared
 * slot's writers use atomic_fetch_add instead.) */
static inline void mock_metrics_add_gauge(atomic_llong *g, long long d)
{
    atomic_store_explicit(g, atomic_load_explicit(g, memory_order_relaxed) + d,
                          memory_order_relaxed);
}

/* Prometheus text exposition format 0.0.4. */
void mock_metrics_render(struct mock_metrics *m, struct mock_buf *out);
/* Zero every counter and set the peak to the current in-flight (gauges keep their value). */
void mock_metrics_reset(struct mock_metrics *m);
/* One line: requests by status, peak in flight, connections (tests parse it: keep its form);
 * with a shared slot (a thread per connection) one with the threads at their peak; one on timed
 * sends, when there were any: how many were more than 1 ms late, and the latest; then one per
 * kind of system failure met (threads that could not start, with the errno and the limit;
 * accept failures by errno); last the process's CPU time over its life, user + system
 * (getrusage: every thread, those that ended too): "mockllm: CPU 0.563 s (user ..., system ...)".
 */
void mock_metrics_summary(struct mock_metrics *m, FILE *f);

#endif
