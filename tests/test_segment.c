/* test_segment.c - a workload split over N agents (issue 16 items 1, 8): every request and
 * every arrival belongs to exactly one segment, the shares add up to the whole with the
 * remainder on the first agents, the open loop's filtered schedules together are the global
 * schedule (times included), seeds differ per segment and stay the run's own when unsplit. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ll_err.h"
#include "ll_segment.h"

static void test_segment_parse(void **state)
{
    struct ll_segment g;
    (void)state;
    assert_int_equal(ll_segment_parse("0/1", &g), 0);
    assert_int_equal(g.index, 0);
    assert_int_equal(g.count, 1);
    assert_int_equal(ll_segment_parse("3/4", &g), 0);
    assert_int_equal(g.index, 3);
    assert_int_equal(g.count, 4);
    assert_int_equal(ll_segment_parse("99999/100000", &g), 0);
    const char *bad[] = {
        "4/4", "1/0", "0/0",      "-1/4",  "1/4x", "1 /4", "/4",
        "1/",  "1",   "0/100001", "1/4/5", "",     "a/b",  "18446744073709551617/4"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ll_segment_parse(bad[i], &g) != LL_EINVAL) {
            fail_msg("'%s' parsed", bad[i]);
        }
    }
}

/* For every split and total: each request k has one owner, the owners' shares add up to the
 * total, segment i owns exactly share(i) of the k < total, listed by ll_segment_global, and
 * the shares differ by at most one, the larger ones first. */
static void test_segment_requests_partition(void **state)
{
    (void)state;
    for (uint32_t n = 1; n <= 9; n++) {
        for (uint64_t total = 0; total <= 100; total++) {
            uint64_t sum = 0, prev = UINT64_MAX;
            for (uint32_t i = 0; i < n; i++) {
                struct ll_segment g = {i, n};
                uint64_t share = ll_segment_share(&g, total), owned = 0;
                for (uint64_t k = 0; k < total; k++) {
                    if (ll_segment_owns(&g, k)) {
                        assert_int_equal(ll_segment_global(&g, owned), k);
                        owned++;
                    }
                }
                assert_int_equal(owned, share);
                assert_true(share <= prev && (prev == UINT64_MAX || prev - share <= 1));
                prev = share;
                sum += share;
            }
            assert_int_equal(sum, total);
            for (uint64_t k = 0; k < total; k++) {
                int owners = 0;
                for (uint32_t i = 0; i < n; i++) {
                    owners += ll_segment_owns(&(struct ll_segment){i, n}, k);
                }
                assert_int_equal(owners, 1);
            }
        }
    }
}

/* A seeded schedule in ns: exponential gaps from its own LCG (a stand-in for any arrival
 * process: the filter only ever sees the times the generator returns). */
struct gen {
    uint64_t rng;
    double t;
    bool constant;
};

static int64_t gen_next(void *arg)
{
    struct gen *g = arg;
    int64_t t = (int64_t)g->t;
    g->rng = g->rng * 6364136223846793005ull + 1442695040888963407ull;
    double u = ((double)(g->rng >> 11) + 1.0) * 0x1.0p-53;
    g->t += g->constant ? 10e6 : -log(u) * 10e6;
    return t;
}

/* The N filtered schedules together are the global one: every arrival once, at its time. */
static void check_arrivals(bool constant)
{
    enum { M = 997 };
    int64_t global[M];
    struct gen whole = {.rng = 42, .constant = constant};
    for (int k = 0; k < M; k++) {
        global[k] = gen_next(&whole);
    }
    for (uint32_t n = 1; n <= 7; n++) {
        unsigned char seen[M];
        memset(seen, 0, sizeof(seen));
        for (uint32_t i = 0; i < n; i++) {
            struct ll_segment g = {i, n};
            struct ll_segment_cursor c = {0};
            struct gen mine = {.rng = 42, .constant = constant}; /* the same seed on every agent */
            uint64_t share = ll_segment_share(&g, M), k = 0;
            for (uint64_t j = 0; j < share; j++) {
                int64_t t = ll_segment_next(&g, &c, gen_next, &mine, &k);
                assert_true(k < M);
                assert_int_equal(k, ll_segment_global(&g, j));
                assert_int_equal(t, global[k]);
                seen[k]++;
            }
        }
        for (int k = 0; k < M; k++) {
            assert_int_equal(seen[k], 1);
        }
    }
}

static void test_segment_arrivals_partition(void **state)
{
    (void)state;
    check_arrivals(false);
    check_arrivals(true);
}

/* A trace past its end returns its "never" time for every call: the filter passes it on. */
static int64_t ended(void *arg)
{
    (void)arg;
    return INT64_MAX / 4;
}

static void test_segment_arrivals_end(void **state)
{
    struct ll_segment g = {2, 3};
    struct ll_segment_cursor c = {0};
    (void)state;
    assert_int_equal(ll_segment_next(&g, &c, ended, NULL, NULL), INT64_MAX / 4);
    assert_int_equal(c.drawn, 3);
}

static void test_segment_seed(void **state)
{
    enum { N = 1000 };
    uint64_t *s = malloc(N * sizeof(*s));
    (void)state;
    assert_int_equal(ll_segment_seed(&(struct ll_segment){0, 1}, 77), 77); /* unsplit: as given */
    for (uint32_t i = 0; i < N; i++) {
        s[i] = ll_segment_seed(&(struct ll_segment){i, N}, 77);
        assert_int_equal(s[i], ll_segment_seed(&(struct ll_segment){i, N}, 77));
        assert_true(s[i] != 77);
        for (uint32_t j = 0; j < i; j++) {
            assert_true(s[i] != s[j]);
        }
    }
    assert_true(ll_segment_seed(&(struct ll_segment){1, 4}, 1) !=
                ll_segment_seed(&(struct ll_segment){1, 4}, 2));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment_parse),
        cmocka_unit_test(test_segment_requests_partition),
        cmocka_unit_test(test_segment_arrivals_partition),
        cmocka_unit_test(test_segment_arrivals_end),
        cmocka_unit_test(test_segment_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
