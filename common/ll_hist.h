/* ll_hist.h - log-linear latency histogram (HdrHistogram-style).
 *
 * Values are non-negative int64 (ns). Each power of two is split into LL_HIST_SUB linear
 * sub-buckets, so a recorded value is known to within 1/LL_HIST_SUB (< 1%) of itself; memory is
 * constant (one fixed array); two histograms merge by adding counts. Not thread-safe: one per
 * thread, merged after the run (wrk2's way).
 */
#ifndef LL_HIST_H
#define LL_HIST_H

#include <stdint.h>

#define LL_HIST_SUB_BITS 7 /* 128 sub-buckets per octave: relative error <= 1/128 */
#define LL_HIST_SUB      (1 << LL_HIST_SUB_BITS)
#define LL_HIST_OCTAVES  40 /* up to 2^(40+7) ns, about 39 hours; larger values saturate */
#define LL_HIST_BUCKETS  ((LL_HIST_OCTAVES + 1) * LL_HIST_SUB)

struct ll_hist {
    uint64_t n;
    int64_t min, max; /* exact */
    double sum;       /* exact mean */
    double sumsq;     /* for the standard deviation */
    uint64_t counts[LL_HIST_BUCKETS];
};

void ll_hist_init(struct ll_hist *h);
void ll_hist_record(struct ll_hist *h, int64_t v); /* v < 0 records 0 */
void ll_hist_record_n(struct ll_hist *h, int64_t v, uint64_t count);
void ll_hist_merge(struct ll_hist *dst, const struct ll_hist *src);
/* Value at percentile p in [0, 100] (the upper edge of its bucket, clamped to [min, max]);
 * 0 when empty. */
int64_t ll_hist_percentile(const struct ll_hist *h, double p);
/* How many recorded values report as <= v: those in buckets whose upper edge (clamped to max,
 * as ll_hist_percentile reports it) is <= v. ll_hist_percentile(h, p) <= v exactly when this
 * count reaches the rank ceil(p/100 * n). */
uint64_t ll_hist_count_le(const struct ll_hist *h, int64_t v);
double ll_hist_mean(const struct ll_hist *h);
double ll_hist_stddev(const struct ll_hist *h);

#endif
