/* test_thresh.c - thresholds (common/ll_thresh.c): the grammar, judging a value, the early
 * "can no longer pass" verdict on synthetic runs whose outcome is known, and compare's paths. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ll_clock.h"
#include "ll_err.h"
#include "ll_thresh.h"

#define MS LL_NS_PER_MS
#define T0 (1000 * LL_NS_PER_S)

static void test_thresh_parse(void **state)
{
    struct ll_thresh t;
    assert_int_equal(ll_thresh_parse("p99<500ms", false, &t), 0);
    assert_int_equal(t.metric, LL_TH_LATENCY);
    assert_int_equal(t.hist, LL_H_E2E);
    assert_true(t.pct == 99.0);
    assert_int_equal(t.op, LL_TH_LT);
    assert_true(t.bound == 500.0 * MS);
    assert_string_equal(t.expr, "p99<500ms");

    assert_int_equal(ll_thresh_parse(" ttft.p(99.9) >= 1.5s ", false, &t), 0);
    assert_int_equal(t.hist, LL_H_TTFT);
    assert_true(t.pct == 99.9);
    assert_int_equal(t.op, LL_TH_GE);
    assert_true(t.bound == 1.5 * LL_NS_PER_S);
    assert_string_equal(t.expr, "ttft.p(99.9)>=1.5s");

    assert_int_equal(ll_thresh_parse("e2e.p99.9<=250", false, &t), 0); /* ms by default */
    assert_true(t.pct == 99.9 && t.bound == 250.0 * MS && t.op == LL_TH_LE);
    assert_int_equal(ll_thresh_parse("queue_wait.mean<100us", false, &t), 0);
    assert_true(t.hist == LL_H_QUEUE_WAIT && t.pct == LL_TH_MEAN && t.bound == 100e3);
    assert_int_equal(ll_thresh_parse("max<1s", false, &t), 0);
    assert_true(t.pct == LL_TH_MAX);

    assert_int_equal(ll_thresh_parse("error_rate<1%", false, &t), 0);
    assert_true(t.metric == LL_TH_ERROR_RATE && fabs(t.bound - 0.01) < 1e-12);
    assert_int_equal(ll_thresh_parse("error_rate<=0.05", false, &t), 0);
    assert_true(t.bound == 0.05);
    assert_int_equal(ll_thresh_parse("throughput>100/s", false, &t), 0);
    assert_true(t.metric == LL_TH_THROUGHPUT && t.op == LL_TH_GT && t.bound == 100);
    assert_int_equal(ll_thresh_parse("goodput_share>=90%", false, &t), 0);
    assert_true(t.metric == LL_TH_GOODPUT_SHARE && fabs(t.bound - 0.9) < 1e-12);

    /* ratio mode: bare numbers or percentages, no units */
    assert_int_equal(ll_thresh_parse("throughput>=95%", true, &t), 0);
    assert_true(t.ratio && fabs(t.bound - 0.95) < 1e-12);
    assert_int_equal(ll_thresh_parse("p99<=1.1", true, &t), 0);
    assert_true(t.bound == 1.1);
    assert_int_equal(ll_thresh_parse("p99<=1.1ms", true, &t), LL_EINVAL);
    /* ratio mode, shares: the change B - A in percentage points, with '%' and a sign allowed
     * (a ratio of error rates is undefined against a clean baseline) */
    assert_int_equal(ll_thresh_parse("error_rate<=1%", true, &t), 0);
    assert_true(t.diff && t.metric == LL_TH_ERROR_RATE && fabs(t.bound - 0.01) < 1e-12);
    assert_true(ll_thresh_holds(&t, 0.01 - 0.0) && !ll_thresh_holds(&t, 0.02 - 0.0));
    assert_int_equal(ll_thresh_parse("goodput_share>=-5%", true, &t), 0);
    assert_true(t.diff && fabs(t.bound + 0.05) < 1e-12 && ll_thresh_holds(&t, 0.90 - 0.94));
    assert_int_equal(ll_thresh_parse("error_rate<=1", true, &t), LL_EINVAL); /* ratio or points? */
    assert_int_equal(ll_thresh_parse("error_rate<=-1%", false, &t), LL_EINVAL);
    assert_int_equal(ll_thresh_parse("throughput>=-1", true, &t), LL_EINVAL);
    assert_int_equal(ll_thresh_parse("error_rate<=0.01", false, &t), 0);
    assert_false(t.diff);

    const char *bad[] = {"",
                         "p99",
                         "p99<",
                         "<5",
                         "p99<<5",
                         "p0<5",
                         "p101<5",
                         "p-1<5",
                         "pinf<5",
                         "p(99<5",
                         "foo<5",
                         "e2e.<5",
                         "nosuch.p99<5",
                         "p99<5kg",
                         "p99<-1",
                         "p99<inf",
                         "p99<nan",
                         "error_rate<2",
                         "error_rate<5ms",
                         "throughput<5ms",
                         "p99=5",
                         "p99<5ms extra-long-expression-over-the-limit"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ll_thresh_parse(bad[i], false, &t) != LL_EINVAL) {
            fail_msg("'%s' was accepted", bad[i]);
        }
    }
}

static void test_thresh_holds(void **state)
{
    struct ll_thresh t;
    assert_int_equal(ll_thresh_parse("p99<500", false, &t), 0);
    assert_true(ll_thresh_holds(&t, 499.0 * MS));
    assert_false(ll_thresh_holds(&t, 500.0 * MS)); /* strict */
    assert_false(ll_thresh_holds(&t, NAN));        /* not measured fails */
    assert_int_equal(ll_thresh_parse("p99<=500", false, &t), 0);
    assert_true(ll_thresh_holds(&t, 500.0 * MS));
    assert_int_equal(ll_thresh_parse("throughput>=10", false, &t), 0);
    assert_true(ll_thresh_holds(&t, 10));
    assert_false(ll_thresh_holds(&t, 9.99));
}

/* One result of class cls whose e2e is e2e_ms, folded as the driver does. */
static void add(struct ll_stats *s, enum ll_class cls, int64_t e2e_ms)
{
    struct ll_result r;
    memset(&r, 0, sizeof(r));
    r.cls = cls;
    r.attempts = 1;
    r.t_intended = r.t_queued = r.t_dispatch = T0;
    r.t_end = T0 + e2e_ms * MS;
    r.prompt_tokens = r.completion_tokens = -1;
    ll_stats_note_submit(s, T0, 0);
    ll_stats_add_result(s, &r, r.t_end);
}

static void test_thresh_values(void **state)
{
    struct ll_stats s;
    struct ll_thresh t;
    double v;
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    assert_int_equal(ll_thresh_parse("error_rate<1%", false, &t), 0);
    assert_false(ll_thresh_value(&t, &s, &v)); /* nothing finished: not measured */
    for (int i = 1; i <= 100; i++) {
        add(&s, LL_CLASS_NONE, i); /* e2e 1..100 ms */
    }
    add(&s, LL_CLASS_HTTP_5XX, 1);
    add(&s, LL_CLASS_CANCELLED, 1); /* neither a success nor a failure */
    s.t_start = T0;
    s.t_stop = T0 + 2 * LL_NS_PER_S;
    assert_true(ll_thresh_value(&t, &s, &v));
    assert_true(fabs(v - 1.0 / 101.0) < 1e-12);
    assert_int_equal(ll_thresh_parse("throughput>1", false, &t), 0);
    assert_true(ll_thresh_value(&t, &s, &v) && fabs(v - 50.0) < 1e-9); /* 100 successes / 2 s */
    assert_int_equal(ll_thresh_parse("p90<1", false, &t), 0);
    assert_true(ll_thresh_value(&t, &s, &v));
    assert_true(v >= 90.0 * MS && v <= 91.0 * MS); /* within the histogram's 1% */
    assert_int_equal(ll_thresh_parse("ttft.p50<1", false, &t), 0);
    assert_false(ll_thresh_value(&t, &s, &v)); /* no TTFT recorded */
    assert_int_equal(ll_thresh_parse("goodput_share>0.5", false, &t), 0);
    assert_false(ll_thresh_value(&t, &s, &v)); /* no SLO */
    ll_stats_free(&s);
}

/* error_rate<=1% over a run of 1000: doomed at the 11th failure, not at the 10th, whatever
 * the order; and never doomed while the run's size is unknown. */
static void test_thresh_doomed_error_rate(void **state)
{
    struct ll_stats s;
    struct ll_thresh t;
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    assert_int_equal(ll_thresh_parse("error_rate<=1%", false, &t), 0);
    for (int i = 0; i < 10; i++) {
        add(&s, LL_CLASS_CONNECT, 1);
    }
    assert_false(ll_thresh_doomed(&t, &s, 990)); /* 10 / 1000 may still be the final share */
    add(&s, LL_CLASS_CONNECT, 1);
    assert_true(ll_thresh_doomed(&t, &s, 989)); /* 11 / 1000 > 1% whatever comes */
    assert_false(ll_thresh_doomed(&t, &s, UINT64_MAX));
    ll_stats_free(&s);
}

/* p90<50ms over 100 requests: 10 slow successes may still be the 10% above p90; the 11th
 * dooms it. A max over its bound dooms at once; a mean never early. */
static void test_thresh_doomed_latency(void **state)
{
    struct ll_stats s;
    struct ll_thresh p90, mx, mean, lower;
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    assert_int_equal(ll_thresh_parse("p90<50ms", false, &p90), 0);
    assert_int_equal(ll_thresh_parse("max<=100ms", false, &mx), 0);
    assert_int_equal(ll_thresh_parse("mean<50ms", false, &mean), 0);
    assert_int_equal(ll_thresh_parse("p90>1ms", false, &lower), 0);
    for (int i = 0; i < 10; i++) {
        add(&s, LL_CLASS_NONE, 80);
    }
    assert_false(ll_thresh_doomed(&p90, &s, 90));
    assert_false(ll_thresh_doomed(&mx, &s, 90));
    add(&s, LL_CLASS_NONE, 80);
    assert_true(ll_thresh_doomed(&p90, &s, 89));
    assert_false(ll_thresh_doomed(&mean, &s, 89));
    assert_false(ll_thresh_doomed(&lower, &s, 89));
    add(&s, LL_CLASS_NONE, 101);
    assert_true(ll_thresh_doomed(&mx, &s, 88));
    /* at the end, doomed is simply failed */
    double v;
    assert_true(ll_thresh_value(&p90, &s, &v));
    assert_false(ll_thresh_holds(&p90, v));
    ll_stats_free(&s);
}

static void test_thresh_json_path(void **state)
{
    struct ll_thresh t;
    char path[96];
    assert_int_equal(ll_thresh_parse("ttft.p99.9<5", false, &t), 0);
    assert_int_equal(ll_thresh_json_path(&t, path, sizeof(path)), 0);
    assert_string_equal(path, "results.latency.ttft.p999_ms");
    assert_int_equal(ll_thresh_parse("p95<5", false, &t), 0);
    assert_int_equal(ll_thresh_json_path(&t, path, sizeof(path)), LL_EINVAL);
    assert_int_equal(ll_thresh_parse("throughput>=0.9", true, &t), 0);
    assert_int_equal(ll_thresh_json_path(&t, path, sizeof(path)), 0);
    assert_string_equal(path, "=ok_rps");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thresh_parse),
        cmocka_unit_test(test_thresh_holds),
        cmocka_unit_test(test_thresh_values),
        cmocka_unit_test(test_thresh_doomed_error_rate),
        cmocka_unit_test(test_thresh_doomed_latency),
        cmocka_unit_test(test_thresh_json_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
