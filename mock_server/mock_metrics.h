/* mock_metrics.h - the server's counters, rendered as Prometheus text on GET /metrics.
 *
 * Each loop owns one slot of counters (its own cache lines, relaxed C11 atomics so a scrape from
 * another loop's thread is race-free); a scrape sums the slots. Only the peak of requests in
 * flight over all loops is shared, and it is written only when it may have been exceeded (see
 * mock_metrics_in_flight): a counter every loop wrote on every request cost about 0.7 µs per
 * request with two loops, its cache line moving between the cores. Every function may be
 * called from any loop thread; mock_metrics_in_flight only by the loop named. */
#ifndef MOCK_METRICS_H
#define MOCK_METRICS_H

#include <stdatomic.h>
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
    atomic_ullong *requests; /* [(nmodels + 1) * MOCK_ST__COUNT]; last row: model unknown */
    /* This loop's peak in flight: read by the other loops on every request, so on a line of
     * its own that changes only with a new peak. */
    _Alignas(64) atomic_llong in_flight_peak;
};

struct mock_metrics {
    const struct mock_config *cfg;
    int nloops, nmodels;
    struct mock_loop_counters *loops;
    _Alignas(64) atomic_llong in_flight_peak; /* of the sum over loops */
};

/* 0 or -1 (no memory). Model index i < cfg->nprofiles is profile i; nprofiles is "none". */
int mock_metrics_init(struct mock_metrics *m, const struct mock_config *cfg, int nloops);
void mock_metrics_free(struct mock_metrics *m);

void mock_metrics_request(struct mock_metrics *m, int loop, int model, int status);
/* A request of `loop` started (+1) or ended (-1). The peak is exact for one loop. With more,
 * it is the largest sum a loop saw when its own count rose (plain loads, no fences): a sum that
 * lasted only the nanoseconds between another loop's increment and its reads can be missed,
 * so under contention the peak can be slightly low. */
void mock_metrics_in_flight(struct mock_metrics *m, int loop, int delta);
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
/* A gauge written only by its own loop: a load and a store, no locked instruction. */
static inline void mock_metrics_add_gauge(atomic_llong *g, long long d)
{
    atomic_store_explicit(g, atomic_load_explicit(g, memory_order_relaxed) + d,
                          memory_order_relaxed);
}

/* Prometheus text exposition format 0.0.4. */
void mock_metrics_render(struct mock_metrics *m, struct mock_buf *out);
/* Zero every counter and set the peak to the current in-flight (gauges keep their value). */
void mock_metrics_reset(struct mock_metrics *m);
/* One line: requests by status, peak in flight, connections; a second one on timed sends,
 * when there were any: how many were more than 1 ms late, and the latest. */
void mock_metrics_summary(struct mock_metrics *m, FILE *f);

#endif
