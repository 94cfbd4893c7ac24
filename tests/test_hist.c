/* test_hist.c - log-linear histogram: accuracy against exact percentiles, merge, exact moments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ll_hist.h"
#include "ll_retry.h"

#define N_SAMPLES 200000

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double uniform01(uint64_t *rng)
{
    return ((double)(ll_rng_next(rng) >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

/* Lognormal latencies around 1 ms spanning microseconds to seconds (Box-Muller). */
static void lognormal(int64_t *v, size_t n, uint64_t seed)
{
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) {
        double z = sqrt(-2.0 * log(uniform01(&rng))) * cos(2 * M_PI * uniform01(&rng));
        v[i] = (int64_t)exp(log(1e6) + 1.5 * z);
    }
}

static struct ll_hist *new_hist(void)
{
    struct ll_hist *h = malloc(sizeof(*h));
    assert_non_null(h);
    ll_hist_init(h);
    return h;
}

static void test_hist_percentiles_within_one_percent(void **state)
{
    static const double ps[] = {0,  0.1,  1,    5,     10,     25,     50,   75,
                                90, 99.0, 99.9, 99.99, 99.999, 33.333, 66.6, 100};
    int64_t *v = malloc(N_SAMPLES * sizeof(*v));
    assert_non_null(v);
    lognormal(v, N_SAMPLES, 42);
    struct ll_hist *h = new_hist();
    for (size_t i = 0; i < N_SAMPLES; i++) {
        ll_hist_record(h, v[i]);
    }
    qsort(v, N_SAMPLES, sizeof(*v), cmp_i64);
    assert_int_equal(h->n, N_SAMPLES);
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        size_t rank = (size_t)ceil(ps[i] / 100.0 * N_SAMPLES);
        int64_t exact = v[rank ? rank - 1 : 0];
        int64_t got = ll_hist_percentile(h, ps[i]);
        /* The upper edge of the value's bucket: never below it, at most 1% above. */
        if (got < exact || (double)(got - exact) > (double)exact / 100.0) {
            fail_msg("p%g: histogram %lld, exact %lld", ps[i], (long long)got, (long long)exact);
        }
    }
    free(h);
    free(v);
}

static void test_hist_small_values_exact(void **state)
{
    struct ll_hist *h = new_hist();
    for (int64_t i = 0; i < 256; i++) {
        ll_hist_record(h, i);
    }
    for (int64_t i = 1; i <= 256; i++) {
        /* rank i holds the value i-1, and values below 256 have buckets of width 1 */
        assert_int_equal(ll_hist_percentile(h, 100.0 * (double)i / 256.0), i - 1);
    }
    free(h);
}

static void test_hist_merge_equals_single(void **state)
{
    int64_t *v = malloc(N_SAMPLES * sizeof(*v));
    assert_non_null(v);
    lognormal(v, N_SAMPLES, 7);
    struct ll_hist *a = new_hist(), *b = new_hist(), *all = new_hist(), *empty = new_hist();
    for (size_t i = 0; i < N_SAMPLES; i++) {
        ll_hist_record(i % 3 ? a : b, v[i]);
        ll_hist_record(all, v[i]);
    }
    ll_hist_merge(a, b);
    ll_hist_merge(a, empty);
    assert_int_equal(a->n, all->n);
    assert_int_equal(a->min, all->min);
    assert_int_equal(a->max, all->max);
    assert_memory_equal(a->counts, all->counts, sizeof(a->counts));
    assert_true(fabs(a->sum - all->sum) <= 1e-9 * all->sum);
    for (double p = 0; p <= 100; p += 0.5) {
        assert_int_equal(ll_hist_percentile(a, p), ll_hist_percentile(all, p));
    }
    /* Merging into an empty histogram copies. */
    ll_hist_merge(empty, all);
    assert_int_equal(empty->min, all->min);
    assert_int_equal(ll_hist_percentile(empty, 50), ll_hist_percentile(all, 50));
    free(a);
    free(b);
    free(all);
    free(empty);
    free(v);
}

static void test_hist_moments_exact(void **state)
{
    static const int64_t v[] = {2, 4, 4, 4, 5, 5, 7, 9}; /* mean 5, population stddev 2 */
    struct ll_hist *h = new_hist();
    for (size_t i = 0; i < 8; i++) {
        ll_hist_record(h, v[i] * 1000003);
    }
    assert_int_equal(h->min, 2 * 1000003);
    assert_int_equal(h->max, 9 * 1000003);
    assert_true(fabs(ll_hist_mean(h) - 5.0 * 1000003) < 1e-6);
    assert_true(fabs(ll_hist_stddev(h) - 2.0 * 1000003) < 1e-3);
    assert_int_equal(ll_hist_percentile(h, 0), h->min);
    assert_int_equal(ll_hist_percentile(h, 100), h->max);

    ll_hist_init(h);
    ll_hist_record_n(h, 123456789, 1000);
    ll_hist_record(h, 17);
    assert_int_equal(h->n, 1001);
    assert_int_equal(h->min, 17);
    assert_int_equal(h->max, 123456789);
    assert_true(fabs(ll_hist_mean(h) - (123456789.0 * 1000 + 17) / 1001) < 1e-3);
    /* p50 lies in the bucket of 123456789, clamped to max: exact here. */
    assert_int_equal(ll_hist_percentile(h, 50), 123456789);
    free(h);
}

static void test_hist_empty_negative_saturated(void **state)
{
    struct ll_hist *h = new_hist();
    assert_int_equal(ll_hist_percentile(h, 50), 0);
    assert_true(ll_hist_mean(h) == 0.0);
    assert_true(ll_hist_stddev(h) == 0.0);

    ll_hist_record(h, -5);
    assert_int_equal(h->min, 0);
    assert_int_equal(ll_hist_percentile(h, 99), 0);

    ll_hist_record(h, INT64_MAX); /* beyond the last octave: saturates, max stays exact */
    assert_int_equal(h->n, 2);
    assert_int_equal(h->max, INT64_MAX);
    assert_int_equal(h->counts[LL_HIST_BUCKETS - 1], 1);
    assert_int_equal(ll_hist_percentile(h, 100), INT64_MAX);
    int64_t p99 = ll_hist_percentile(h, 99);
    assert_true(p99 > 0 && p99 <= INT64_MAX);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_percentiles_within_one_percent),
        cmocka_unit_test(test_hist_small_values_exact),
        cmocka_unit_test(test_hist_merge_equals_single),
        cmocka_unit_test(test_hist_moments_exact),
        cmocka_unit_test(test_hist_empty_negative_saturated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
