/* test_retry.c - retry policy: backoff schedule, full-jitter bounds, the retryable table,
 * Retry-After in every form RFC 9110 allows, and the combined next-delay decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ll_clock.h"
#include "ll_retry.h"

/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date. */
#define RFC_DATE ((time_t)784111777)

static struct ll_retry_policy no_jitter(void)
{
    struct ll_retry_policy p;
    ll_retry_defaults(&p);
    p.jitter = false;
    return p;
}

static void test_retry_defaults(void **state)
{
    struct ll_retry_policy p;
    ll_retry_defaults(&p);
    assert_int_equal(p.max_attempts, 4);
    assert_int_equal(p.base_ms, 1000);
    assert_true(p.factor == 2.0);
    assert_int_equal(p.cap_ms, 30000);
    assert_true(p.jitter);
    assert_true(p.honor_retry_after);
    assert_int_equal(p.max_retry_after_ms, 60000);
    assert_int_equal(p.max_retry_wait_ms, 60000);
}

static void test_retry_backoff_schedule(void **state)
{
    struct ll_retry_policy p = no_jitter();
    uint64_t rng = 1;
    static const int64_t want_s[] = {1, 2, 4, 8, 16, 30, 30, 30};
    for (int failed = 1; failed <= 8; failed++) {
        assert_int_equal(ll_retry_backoff_ns(&p, failed, &rng), want_s[failed - 1] * LL_NS_PER_S);
    }
    p.cap_ms = 5000;
    assert_int_equal(ll_retry_backoff_ns(&p, 3, &rng), 4 * LL_NS_PER_S);
    assert_int_equal(ll_retry_backoff_ns(&p, 4, &rng), 5 * LL_NS_PER_S);
    assert_int_equal(ll_retry_backoff_ns(&p, 1000, &rng), 5 * LL_NS_PER_S);
    p.factor = 3;
    p.base_ms = 10;
    p.cap_ms = 100000;
    assert_int_equal(ll_retry_backoff_ns(&p, 3, &rng), 90 * LL_NS_PER_MS);
}

static void test_retry_jitter_bounds(void **state)
{
    struct ll_retry_policy p;
    ll_retry_defaults(&p);
    uint64_t rng = 12345;
    for (int failed = 1; failed <= 6; failed++) {
        int64_t bound = ll_retry_backoff_ns(
            &(struct ll_retry_policy){.base_ms = p.base_ms, .factor = p.factor, .cap_ms = p.cap_ms},
            failed, &rng);
        int64_t lo = INT64_MAX, hi = -1;
        double sum = 0;
        const int draws = 20000;
        for (int i = 0; i < draws; i++) {
            int64_t d = ll_retry_backoff_ns(&p, failed, &rng);
            assert_true(d >= 0 && d <= bound);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
            sum += (double)d;
        }
        /* Not constant, spread over the whole range, centred on half the backoff. */
        assert_true(lo < bound / 100);
        assert_true(hi > bound - bound / 100);
        double mean = sum / draws;
        assert_true(mean > 0.45 * (double)bound && mean < 0.55 * (double)bound);
    }
}

static void test_retry_rng(void **state)
{
    uint64_t a = 1, b = 1, z = 0;
    uint64_t first = ll_rng_next(&a);
    assert_int_equal(first, ll_rng_next(&b)); /* deterministic for a seed */
    assert_true(ll_rng_next(&a) != first);
    ll_rng_next(&z);
    assert_true(z != 0); /* a zero state never sticks */
}

static void test_retry_retryable_table(void **state)
{
    assert_true(ll_retry_retryable(LL_CLASS_HTTP_429, 429));
    for (int s = 500; s <= 504; s++) {
        assert_true(ll_retry_retryable(LL_CLASS_HTTP_5XX, s));
    }
    assert_true(ll_retry_retryable(LL_CLASS_TIMEOUT, 0));
    assert_true(ll_retry_retryable(LL_CLASS_CONNECT, 0));
    static const int never[] = {400, 401, 403, 404, 409, 413, 422};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        assert_false(ll_retry_retryable(LL_CLASS_HTTP_4XX, never[i]));
    }
    assert_false(ll_retry_retryable(LL_CLASS_NONE, 200));
    assert_false(ll_retry_retryable(LL_CLASS_PROTOCOL, 200));
    assert_false(ll_retry_retryable(LL_CLASS_CANCELLED, 0));
    assert_false(ll_retry_retryable(LL_CLASS_RESOURCE, 0));
}

static void expect_after(const char *value, time_t now, int64_t want_ms)
{
    int64_t ms = -7;
    int rc = ll_retry_after_parse(value, now, &ms);
    if (rc != 0 || ms != want_ms) {
        fail_msg("Retry-After '%s': rc %d, %lld ms, want %lld ms", value, rc, (long long)ms,
                 (long long)want_ms);
    }
}

static void test_retry_after_seconds(void **state)
{
    expect_after("120", 0, 120000);
    expect_after("0", 0, 0);
    expect_after("1.5", 0, 1500);
    expect_after("0.25", 0, 250);
    expect_after("  7 ", 0, 7000);
}

static void test_retry_after_dates(void **state)
{
    time_t now = RFC_DATE - 120;
    expect_after("Sun, 06 Nov 1994 08:49:37 GMT", now, 120000);  /* IMF-fixdate */
    expect_after("Sunday, 06-Nov-94 08:49:37 GMT", now, 120000); /* RFC 850 */
    expect_after("Sun Nov  6 08:49:37 1994", now, 120000);       /* asctime */
    expect_after("Sun, 06 Nov 1994 08:50:37 GMT", now, 180000);
    /* A date in the past means "now". */
    expect_after("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE + 3600, 0);
    expect_after("Sun Nov  6 08:49:37 1994", RFC_DATE + 1, 0);
}

static void test_retry_after_garbage(void **state)
{
    static const char *const bad[] = {
        "",
        "   ",
        "soon",
        "-1",
        "12abc",
        "1.2.3",
        "Sun, 06 Nov 1994 08:49:37",
        "0x10",
        "Sun, 32 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = -7;
        if (ll_retry_after_parse(bad[i], RFC_DATE, &ms) != LL_EINVAL) {
            fail_msg("Retry-After '%s' was accepted (%lld ms)", bad[i], (long long)ms);
        }
    }
    int64_t ms;
    assert_int_equal(ll_retry_after_parse(NULL, RFC_DATE, &ms), LL_EINVAL);
}

static void test_retry_next_delay(void **state)
{
    struct ll_retry_policy p = no_jitter();
    uint64_t rng = 9;
    /* Backoff when no header. */
    assert_int_equal(ll_retry_next_delay_ns(&p, 1, LL_CLASS_HTTP_5XX, 503, -1, &rng),
                     1 * LL_NS_PER_S);
    assert_int_equal(ll_retry_next_delay_ns(&p, 3, LL_CLASS_TIMEOUT, 0, -1, &rng), 4 * LL_NS_PER_S);
    /* Retry-After overrides, also when shorter or zero. */
    assert_int_equal(ll_retry_next_delay_ns(&p, 1, LL_CLASS_HTTP_429, 429, 2500, &rng),
                     2500 * LL_NS_PER_MS);
    assert_int_equal(ll_retry_next_delay_ns(&p, 2, LL_CLASS_HTTP_429, 429, 0, &rng), 0);
    /* ... capped at max_retry_after_ms. */
    assert_int_equal(ll_retry_next_delay_ns(&p, 1, LL_CLASS_HTTP_429, 429, 3600000, &rng),
                     60000 * LL_NS_PER_MS);
    /* Not honoured: the backoff. */
    p.honor_retry_after = false;
    assert_int_equal(ll_retry_next_delay_ns(&p, 2, LL_CLASS_HTTP_429, 429, 2500, &rng),
                     2 * LL_NS_PER_S);
    p.honor_retry_after = true;
    /* Attempts exhausted, or not retryable: final. */
    assert_int_equal(ll_retry_next_delay_ns(&p, 4, LL_CLASS_HTTP_5XX, 500, -1, &rng), -1);
    assert_int_equal(ll_retry_next_delay_ns(&p, 4, LL_CLASS_HTTP_429, 429, 10, &rng), -1);
    assert_int_equal(ll_retry_next_delay_ns(&p, 1, LL_CLASS_HTTP_4XX, 400, 10, &rng), -1);
    assert_int_equal(ll_retry_next_delay_ns(&p, 1, LL_CLASS_HTTP_4XX, 422, -1, &rng), -1);
    assert_int_equal(ll_retry_next_delay_ns(&p, 1, LL_CLASS_PROTOCOL, 200, -1, &rng), -1);
    p.max_attempts = 1;
    assert_int_equal(ll_retry_next_delay_ns(&p, 1, LL_CLASS_CONNECT, 0, -1, &rng), -1);
}

/* OpenAI's x-ratelimit-reset-* durations: Go's form, every unit, and what is not one. */
static void test_retry_duration(void **state)
{
    static const struct {
        const char *in;
        int64_t ms;
    } ok[] = {{"1s", 1000},    {"6m0s", 360000}, {"250ms", 250},  {"1h2m3.5s", 3723500},
              {"0.5s", 500},   {"20ms", 20},     {"1500us", 2},   {"999ns", 1},
              {" 2s ", 2000},  {"17", 17000},    {"0s", 0},       {"1m30s", 90000},
              {"3.25s", 3250}, {"1h", 3600000},  {"1.5m", 90000}, {"2\xc2\xb5s", 1}};
    static const char *const bad[] = {"", "s", "1x", "-1s", "1s2", "ms", "1 s", "abc", "1s-"};
    int64_t ms;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ms = -7;
        if (ll_retry_duration_parse(ok[i].in, &ms) != 0 || ms != ok[i].ms) {
            fail_msg("'%s': got %lld, want %lld", ok[i].in, (long long)ms, (long long)ok[i].ms);
        }
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ll_retry_duration_parse(bad[i], &ms) == 0) {
            fail_msg("'%s' parsed as %lld", bad[i], (long long)ms);
        }
    }
    assert_int_equal(ll_retry_duration_parse(NULL, &ms), LL_EINVAL);
}

/* Which hint wins: retry-after-ms, then Retry-After, then (429 only) the exhausted reset. */
static void test_retry_hint_pick(void **state)
{
    struct ll_retry_hints h;
    const char *src = "x";
    ll_retry_hints_clear(&h);
    assert_int_equal(ll_retry_hint_pick(&h, 429, &src), -1);
    assert_null(src);
    h.reset_requests = 1000;
    h.reset_tokens = 360000;
    assert_int_equal(ll_retry_hint_pick(&h, 503, NULL), -1);     /* not a rate limit */
    assert_int_equal(ll_retry_hint_pick(&h, 429, &src), 360000); /* neither said: the longer */
    assert_string_equal(src, "x-ratelimit-reset-tokens");
    h.remaining_requests = 0;
    h.remaining_tokens = 5000;
    assert_int_equal(ll_retry_hint_pick(&h, 429, &src), 1000); /* the exhausted one */
    assert_string_equal(src, "x-ratelimit-reset-requests");
    h.remaining_requests = 3;
    h.remaining_tokens = 0;
    assert_int_equal(ll_retry_hint_pick(&h, 429, &src), 360000);
    h.reset_tokens = -1;
    assert_int_equal(ll_retry_hint_pick(&h, 429, &src), 1000); /* the only one there */
    h.retry_after = 2000;
    assert_int_equal(ll_retry_hint_pick(&h, 429, &src), 2000);
    assert_string_equal(src, "Retry-After");
    assert_int_equal(ll_retry_hint_pick(&h, 503, &src), 2000);
    h.after_ms = 1500;
    assert_int_equal(ll_retry_hint_pick(&h, 429, &src), 1500); /* Azure sends both */
    assert_string_equal(src, "retry-after-ms");
    h.after_ms = 0;
    assert_int_equal(ll_retry_hint_pick(&h, 429, &src), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_defaults),        cmocka_unit_test(test_retry_backoff_schedule),
        cmocka_unit_test(test_retry_jitter_bounds),   cmocka_unit_test(test_retry_rng),
        cmocka_unit_test(test_retry_retryable_table), cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_retry_after_dates),     cmocka_unit_test(test_retry_after_garbage),
        cmocka_unit_test(test_retry_next_delay),      cmocka_unit_test(test_retry_duration),
        cmocka_unit_test(test_retry_hint_pick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
