/* test_mock_latency.c - the rng, latency distributions and profile parsing of mockllm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mock_latency.h"
#include "mock_rng.h"

#define DRAWS 20000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_mock_latency_rng_deterministic(void **state)
{
    struct mock_rng a, b, c;
    mock_rng_seed(&a, 42);
    mock_rng_seed(&b, 42);
    mock_rng_seed(&c, 43);
    int same_as_other_seed = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = mock_rng_next(&a);
        assert_int_equal(x, mock_rng_next(&b));
        same_as_other_seed += x == mock_rng_next(&c);
    }
    assert_int_equal(same_as_other_seed, 0);
}

static void test_mock_latency_rng_seed_zero_and_ranges(void **state)
{
    struct mock_rng r;
    mock_rng_seed(&r, 0);
    assert_true(r.s != 0);
    double sum = 0, sumsq = 0, nsum = 0, nsumsq = 0;
    for (int i = 0; i < DRAWS; i++) {
        double u = mock_rng_unit(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
        sumsq += u * u;
        double z = mock_rng_normal(&r);
        nsum += z;
        nsumsq += z * z;
    }
    assert_true(fabs(sum / DRAWS - 0.5) < 0.02);
    assert_true(fabs(sumsq / DRAWS - 1.0 / 3.0) < 0.02); /* E[u^2] of U(0,1) */
    assert_true(fabs(nsum / DRAWS) < 0.05);
    assert_true(fabs(nsumsq / DRAWS - 1.0) < 0.05);
}

static void test_mock_latency_hash(void **state)
{
    assert_int_equal(mock_hash64("abc", 3, 1), mock_hash64("abc", 3, 1));
    assert_true(mock_hash64("abc", 3, 1) != mock_hash64("abc", 3, 2));
    assert_true(mock_hash64("abc", 3, 1) != mock_hash64("abd", 3, 1));
    assert_true(mock_hash64("abc", 3, 1) != mock_hash64("abc", 2, 1));
    assert_true(mock_hash64("", 0, 1) != mock_hash64("", 0, 2));
}

static void test_mock_latency_parse_good(void **state)
{
    struct mock_dist d;
    char err[160];
    assert_int_equal(mock_dist_parse("100", &d, err, sizeof(err)), 0);
    assert_int_equal(d.kind, MOCK_DIST_FIXED);
    assert_true(d.a == 100.0);
    assert_int_equal(mock_dist_parse("fixed:2.5", &d, err, sizeof(err)), 0);
    assert_int_equal(d.kind, MOCK_DIST_FIXED);
    assert_true(d.a == 2.5);
    assert_int_equal(mock_dist_parse("0", &d, err, sizeof(err)), 0);
    assert_int_equal(mock_dist_parse("uniform:50,150", &d, err, sizeof(err)), 0);
    assert_int_equal(d.kind, MOCK_DIST_UNIFORM);
    assert_true(d.a == 50.0 && d.b == 150.0);
    assert_int_equal(mock_dist_parse("lognormal:100, 400", &d, err, sizeof(err)), 0);
    assert_int_equal(d.kind, MOCK_DIST_LOGNORMAL);
    assert_true(d.a == 100.0 && d.b == 400.0);
}

static void test_mock_latency_parse_bad(void **state)
{
    static const char *const bad[] = {
        "",
        "abc",
        "-5",
        "fixed:-1",
        "fixed:",
        "100ms",
        "nan",
        "inf",
        "1e300",
        "uniform:50",
        "uniform:150,50",
        "uniform:50,150,200",
        "uniform:1,x",
        "uniform:-1,5",
        "lognormal:400,100",
        "lognormal:0,10",
        "lognormal:nan,5",
        "lognormal:100",
        "gamma:1,2",
        "uniform:,5",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mock_dist d = {MOCK_DIST_UNIFORM, 7.0, 9.0};
        char err[160] = "";
        if (mock_dist_parse(bad[i], &d, err, sizeof(err)) != -1)
            fail_msg("accepted bad spec '%s'", bad[i]);
        assert_true(strlen(err) > 10);
        assert_null(strchr(err, '\n'));
        /* a failed parse leaves the old value alone */
        assert_int_equal(d.kind, MOCK_DIST_UNIFORM);
        assert_true(d.a == 7.0 && d.b == 9.0);
    }
}

static void test_mock_latency_fixed_exact(void **state)
{
    struct mock_dist d = {MOCK_DIST_FIXED, 123.25, 123.25};
    struct mock_rng r;
    mock_rng_seed(&r, 1);
    for (int i = 0; i < 100; i++)
        assert_true(mock_dist_sample_ms(&d, &r, 1.0) == 123.25);
    assert_true(mock_dist_sample_ms(&d, &r, 2.0) == 246.5);
    assert_true(mock_dist_sample_ms(&d, &r, 0.0) == 0.0);
}

static void test_mock_latency_uniform_bounds(void **state)
{
    struct mock_dist d = {MOCK_DIST_UNIFORM, 50.0, 150.0};
    struct mock_rng r;
    mock_rng_seed(&r, 7);
    double lo = 1e9, hi = -1, sum = 0;
    for (int i = 0; i < DRAWS; i++) {
        double v = mock_dist_sample_ms(&d, &r, 1.0);
        assert_true(v >= 50.0 && v <= 150.0);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
    }
    /* it fills the range, not one corner of it */
    assert_true(lo < 51.0 && hi > 149.0);
    assert_true(fabs(sum / DRAWS - 100.0) < 2.0);
}

static void test_mock_latency_lognormal_percentiles(void **state)
{
    struct mock_dist d;
    char err[160];
    assert_int_equal(mock_dist_parse("lognormal:100,400", &d, err, sizeof(err)), 0);
    double *v = malloc(DRAWS * sizeof(*v));
    assert_non_null(v);
    struct mock_rng r;
    mock_rng_seed(&r, 99);
    for (int i = 0; i < DRAWS; i++) {
        v[i] = mock_dist_sample_ms(&d, &r, 1.0);
        assert_true(v[i] >= 0.0);
    }
    qsort(v, DRAWS, sizeof(*v), cmp_double);
    double p50 = v[DRAWS / 2], p99 = v[DRAWS * 99 / 100];
    free(v);
    if (fabs(p50 - 100.0) > 10.0 || fabs(p99 - 400.0) > 60.0)
        fail_msg("lognormal:100,400 gave p50 %.1f p99 %.1f", p50, p99);
}

static void test_mock_latency_sample_deterministic(void **state)
{
    struct mock_dist d = {MOCK_DIST_LOGNORMAL, 20.0, 300.0};
    struct mock_rng a, b, c;
    mock_rng_seed(&a, 5);
    mock_rng_seed(&b, 5);
    mock_rng_seed(&c, 6);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        double x = mock_dist_sample_ms(&d, &a, 1.0);
        assert_true(x == mock_dist_sample_ms(&d, &b, 1.0));
        differ += x != mock_dist_sample_ms(&d, &c, 1.0);
    }
    assert_true(differ > 90);
}

static void test_mock_latency_format_roundtrip(void **state)
{
    static const char *const specs[] = {"100", "0.5", "uniform:50,150", "lognormal:200,800"};
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct mock_dist d, back;
        char err[160], buf[64];
        assert_int_equal(mock_dist_parse(specs[i], &d, err, sizeof(err)), 0);
        mock_dist_format(&d, buf, sizeof(buf));
        assert_string_equal(buf, specs[i]);
        assert_int_equal(mock_dist_parse(buf, &back, err, sizeof(err)), 0);
        assert_int_equal(d.kind, back.kind);
        assert_true(d.a == back.a && d.b == back.b);
    }
}

static void test_mock_latency_profile_full(void **state)
{
    struct mock_profile p;
    char err[200] = "";
    int rc = mock_profile_parse(
        "name=gpt-mock,ttft=lognormal:200,800,itl=uniform:10,30,tokens=64,429=0.1,close_after=5",
        &p, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
    assert_string_equal(p.name, "gpt-mock");
    assert_int_equal(p.ttft.kind, MOCK_DIST_LOGNORMAL);
    assert_true(p.ttft.a == 200.0 && p.ttft.b == 800.0);
    assert_int_equal(p.itl.kind, MOCK_DIST_UNIFORM);
    assert_true(p.itl.a == 10.0 && p.itl.b == 30.0);
    assert_true(mock_count_is_fixed(&p.tokens, 64));
    assert_true(p.has_faults);
    assert_true(p.faults.rate[MOCK_FAULT_429] == 0.1);
    assert_true(p.faults.rate[MOCK_FAULT_500] == 0.0);
    assert_int_equal(p.faults.close_after, 5);
}

static void test_mock_latency_profile_defaults(void **state)
{
    struct mock_profile p;
    char err[200];
    assert_int_equal(mock_profile_parse("name=tiny", &p, err, sizeof(err)), 0);
    assert_string_equal(p.name, "tiny");
    assert_int_equal(p.ttft.kind, MOCK_DIST_FIXED);
    assert_true(p.ttft.a == 0.0 && p.itl.a == 0.0);
    assert_true(mock_count_is_fixed(&p.tokens, MOCK_PROFILE_DEFAULT_TOKENS));
    assert_true(p.prefill_ms == 0.0 && !p.eos);
    assert_false(p.has_faults);
    /* order does not matter, and a fixed spec right before another key is fine */
    assert_int_equal(mock_profile_parse("itl=5,name=x,ttft=100", &p, err, sizeof(err)), 0);
    assert_true(p.itl.a == 5.0 && p.ttft.a == 100.0);
    assert_string_equal(p.name, "x");
}

static void test_mock_latency_profile_bad(void **state)
{
    static const char *const bad[] = {
        "ttft=100",                      /* no name */
        "name=",                         /* empty name */
        "name=a,colour=blue",            /* unknown key */
        "name=a,ttft=lognormal:800,200", /* p99 < p50 */
        "name=a,itl=uniform:10",         /* one bound */
        "name=a,tokens=0",               /* no output */
        "name=a,tokens=12x",             /* garbage */
        "name=a,429=0.7,500=0.7",        /* rates sum over 1 */
        "name=a,,ttft=5",                /* empty pair */
        "name=a,ttft",                   /* no value */
        "name=a,preset=fast",            /* no such preset */
        "name=a,prefill=-1",             /* negative */
        "name=a,prefill=5000",           /* over the bound */
        "name=a,eos=maybe",              /* not yes or no */
        "name=a,tokens=lognormal:0,5",   /* a count's p50 > 0 */
        "name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mock_profile p, before;
        memset(&p, 0x5a, sizeof(p));
        before = p;
        char err[200] = "";
        if (mock_profile_parse(bad[i], &p, err, sizeof(err)) != -1)
            fail_msg("accepted bad profile '%s'", bad[i]);
        assert_true(strlen(err) > 10);
        assert_memory_equal(&p, &before, sizeof(p)); /* untouched */
    }
}

/* Every preset parses into a whole model; a later key changes it; a preset keeps the name. */
static void test_mock_latency_presets(void **state)
{
    char list[2048], err[200];
    struct mock_profile p;
    mock_preset_list(list, sizeof(list));
    assert_non_null(strstr(list, "realistic"));
    assert_int_equal(mock_profile_parse("name=s,preset=realistic", &p, err, sizeof(err)), 0);
    assert_string_equal(p.name, "s");
    assert_true(p.ttft.kind == MOCK_DIST_LOGNORMAL && p.itl.kind == MOCK_DIST_LOGNORMAL);
    assert_true(p.tokens.kind == MOCK_DIST_LOGNORMAL && p.eos && p.prefill_ms > 0);
    assert_int_equal(
        mock_profile_parse("name=s,preset=realistic,itl=7,eos=no", &p, err, sizeof(err)), 0);
    assert_true(p.itl.kind == MOCK_DIST_FIXED && p.itl.a == 7 && !p.eos);
    assert_true(p.ttft.kind == MOCK_DIST_LOGNORMAL); /* the rest still the preset's */
    static const char *const names[] = {"realistic", "large", "reasoning", "exact"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        mock_profile_defaults(&p);
        assert_int_equal(mock_profile_preset(names[i], &p), 0);
        assert_non_null(strstr(list, names[i]));
    }
    assert_true(mock_count_is_fixed(&p.tokens, MOCK_PROFILE_DEFAULT_TOKENS)); /* exact */
    assert_int_equal(mock_profile_preset("nosuch", &p), -1);
}

/* TTFT = the ttft draw + prompt tokens x prefill, scaled: the median grows with the prompt by
 * prefill per token, the spread stays the lognormal's, the same rng the same value; without
 * prefill, exactly mock_dist_sample_ms. */
static void test_mock_latency_ttft_prefill(void **state)
{
    struct mock_profile p;
    char err[200];
    assert_int_equal(
        mock_profile_parse("name=s,ttft=lognormal:100,400,prefill=0.5", &p, err, sizeof(err)), 0);
    static const long prompts[] = {1, 1000, 4000};
    double med[3];
    for (int k = 0; k < 3; k++) {
        double v[DRAWS];
        struct mock_rng r;
        mock_rng_seed(&r, 3);
        for (int i = 0; i < DRAWS; i++) {
            struct mock_rng again = r;
            v[i] = mock_profile_ttft_ms(&p, prompts[k], &r, 1.0);
            assert_true(v[i] >= prompts[k] * 0.5); /* never below the prefill */
            assert_true(mock_profile_ttft_ms(&p, prompts[k], &again, 1.0) == v[i]);
        }
        qsort(v, DRAWS, sizeof(v[0]), cmp_double);
        med[k] = v[DRAWS / 2];
        double p99 = v[DRAWS * 99 / 100];
        assert_true(fabs(med[k] - (100 + prompts[k] * 0.5)) < 5); /* shifted median */
        assert_true(fabs(p99 - (400 + prompts[k] * 0.5)) < 40);   /* and tail */
    }
    assert_true(med[0] < med[1] && med[1] < med[2]);
    struct mock_rng r1, r2;
    mock_rng_seed(&r1, 5);
    mock_rng_seed(&r2, 5);
    assert_true(mock_profile_ttft_ms(&p, 1000, &r1, 0.1) ==
                (mock_dist_sample_ms(&p.ttft, &r2, 1.0) + 500.0) * 0.1);
    p.prefill_ms = 0;
    mock_rng_seed(&r1, 5);
    mock_rng_seed(&r2, 5);
    assert_true(mock_profile_ttft_ms(&p, 1000, &r1, 0.3) == mock_dist_sample_ms(&p.ttft, &r2, 0.3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_latency_rng_deterministic),
        cmocka_unit_test(test_mock_latency_rng_seed_zero_and_ranges),
        cmocka_unit_test(test_mock_latency_hash),
        cmocka_unit_test(test_mock_latency_parse_good),
        cmocka_unit_test(test_mock_latency_parse_bad),
        cmocka_unit_test(test_mock_latency_fixed_exact),
        cmocka_unit_test(test_mock_latency_uniform_bounds),
        cmocka_unit_test(test_mock_latency_lognormal_percentiles),
        cmocka_unit_test(test_mock_latency_sample_deterministic),
        cmocka_unit_test(test_mock_latency_format_roundtrip),
        cmocka_unit_test(test_mock_latency_profile_full),
        cmocka_unit_test(test_mock_latency_profile_defaults),
        cmocka_unit_test(test_mock_latency_profile_bad),
        cmocka_unit_test(test_mock_latency_presets),
        cmocka_unit_test(test_mock_latency_ttft_prefill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
