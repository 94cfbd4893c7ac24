/* ll_hist.c - log-linear histogram: octave 0 holds 0..LL_HIST_SUB-1 exactly; octave k >= 1 holds
 * [LL_HIST_SUB << (k-1), LL_HIST_SUB << k) in LL_HIST_SUB buckets of width 2^(k-1), so a bucket
 * is never wider than 1/LL_HIST_SUB of the values it holds. */
#include "ll_hist.h"

#include <math.h>
#include <string.h>

#define LL_HIST_MAX_VALUE (((int64_t)LL_HIST_SUB << LL_HIST_OCTAVES) - 1)

static size_t bucket_of(int64_t v)
{
    if (v < LL_HIST_SUB) {
        return (size_t)v;
    }
    if (v > LL_HIST_MAX_VALUE) {
        return LL_HIST_BUCKETS - 1; /* saturate */
    }
    int msb = 63 - __builtin_clzll((unsigned long long)v);
    int shift = msb - LL_HIST_SUB_BITS;
    size_t octave = (size_t)shift + 1;
    return octave * LL_HIST_SUB + (size_t)((v >> shift) & (LL_HIST_SUB - 1));
}

/* Largest value that falls in bucket i. */
static int64_t bucket_upper(size_t i)
{
    size_t octave = i / LL_HIST_SUB, sub = i % LL_HIST_SUB;
    if (octave == 0) {
        return (int64_t)sub;
    }
    int shift = (int)octave - 1;
    return ((int64_t)(LL_HIST_SUB + sub) << shift) + ((int64_t)1 << shift) - 1;
}

void ll_hist_init(struct ll_hist *h)
{
    memset(h, 0, sizeof(*h));
}

void ll_hist_record_n(struct ll_hist *h, int64_t v, uint64_t count)
{
    if (count == 0) {
        return;
    }
    if (v < 0) {
        v = 0;
    }
    if (h->n == 0 || v < h->min) {
        h->min = v;
    }
    if (h->n == 0 || v > h->max) {
        h->max = v;
    }
    h->n += count;
    h->sum += (double)v * (double)count;
    h->sumsq += (double)v * (double)v * (double)count;
    h->counts[bucket_of(v)] += count;
}

void ll_hist_record(struct ll_hist *h, int64_t v)
{
    ll_hist_record_n(h, v, 1);
}

void ll_hist_merge(struct ll_hist *dst, const struct ll_hist *src)
{
    if (src->n == 0) {
        return;
    }
    if (dst->n == 0 || src->min < dst->min) {
        dst->min = src->min;
    }
    if (dst->n == 0 || src->max > dst->max) {
        dst->max = src->max;
    }
    dst->n += src->n;
    dst->sum += src->sum;
    dst->sumsq += src->sumsq;
    for (size_t i = 0; i < LL_HIST_BUCKETS; i++) {
        dst->counts[i] += src->counts[i];
    }
}

int64_t ll_hist_percentile(const struct ll_hist *h, double p)
{
    if (h->n == 0) {
        return 0;
    }
    if (!(p > 0)) {
        return h->min;
    }
    if (p >= 100) {
        return h->max;
    }
    /* The rank of the value at p in a sorted array: ceil(p/100 * n), at least 1. */
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->n);
    if (rank < 1) {
        rank = 1;
    }
    uint64_t seen = 0;
    for (size_t i = 0; i < LL_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t v = bucket_upper(i);
            return v < h->min ? h->min : v > h->max ? h->max : v;
        }
    }
    return h->max;
}

uint64_t ll_hist_count_le(const struct ll_hist *h, int64_t v)
{
    uint64_t n = 0;
    if (h->n == 0 || v < h->min) {
        return 0;
    }
    if (h->max <= v) {
        return h->n;
    }
    for (size_t i = 0; i < LL_HIST_BUCKETS && bucket_upper(i) <= v; i++) {
        n += h->counts[i];
    }
    return n;
}

double ll_hist_mean(const struct ll_hist *h)
{
    return h->n ? h->sum / (double)h->n : 0.0;
}

double ll_hist_stddev(const struct ll_hist *h)
{
    if (h->n < 2) {
        return 0.0;
    }
    double mean = h->sum / (double)h->n;
    double var = h->sumsq / (double)h->n - mean * mean;
    return var > 0 ? sqrt(var) : 0.0;
}
