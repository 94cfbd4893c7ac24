/* test_mock_ratelimit.c - RPM/TPM bucket arithmetic on a synthetic clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mock_ratelimit.h"

#define MS(x) ((int64_t)(x)*1000000)
#define T0    MS(5000000) /* an arbitrary monotonic start */

static void test_mock_ratelimit_requests_empty_and_refill(void **state)
{
    struct mock_ratelimit rl;
    struct mock_rl_info info;
    mock_ratelimit_init(&rl, 60, 0, T0); /* one request a second */

    for (int i = 0; i < 60; i++) {
        assert_true(mock_ratelimit_take(&rl, T0, 1, &info));
        assert_false(info.limited);
        assert_int_equal(info.limit_requests, 60);
        assert_int_equal(info.remaining_requests, 59 - i);
        assert_int_equal(info.limit_tokens, -1);
        assert_int_equal(info.remaining_tokens, -1);
    }
    assert_int_equal(info.reset_requests_ms, 60000); /* empty: a whole minute to full */

    assert_false(mock_ratelimit_take(&rl, T0, 1, &info));
    assert_true(info.limited);
    assert_string_equal(info.which, "requests");
    assert_int_equal(info.retry_after_ms, 1000);
    assert_int_equal(info.remaining_requests, 0);

    /* half way there: still refused, and told the rest of the wait */
    assert_false(mock_ratelimit_take(&rl, T0 + MS(400), 1, &info));
    assert_int_equal(info.retry_after_ms, 600);
    assert_false(mock_ratelimit_take(&rl, T0 + MS(999), 1, &info));
    assert_int_equal(info.retry_after_ms, 1);
    /* waiting exactly Retry-After gets through */
    assert_true(mock_ratelimit_take(&rl, T0 + MS(1000), 1, &info));
    assert_false(mock_ratelimit_take(&rl, T0 + MS(1000), 1, &info));

    /* linear refill: 30 s later there are 30 requests, not 60 and not 0 */
    assert_true(mock_ratelimit_take(&rl, T0 + MS(31000), 1, &info));
    assert_int_equal(info.remaining_requests, 29);
    assert_int_equal(info.reset_requests_ms, 31000);

    /* and it never overfills */
    assert_true(mock_ratelimit_take(&rl, T0 + MS(3600000), 1, &info));
    assert_int_equal(info.remaining_requests, 59);
    assert_int_equal(info.reset_requests_ms, 1000);
    mock_ratelimit_destroy(&rl);
}

static void test_mock_ratelimit_tokens(void **state)
{
    struct mock_ratelimit rl;
    struct mock_rl_info info;
    mock_ratelimit_init(&rl, 0, 1000, T0);

    assert_true(mock_ratelimit_take(&rl, T0, 600, &info));
    assert_int_equal(info.remaining_tokens, 400);
    assert_int_equal(info.limit_requests, -1);
    assert_false(mock_ratelimit_take(&rl, T0, 600, &info));
    assert_string_equal(info.which, "tokens");
    /* 200 tokens short at 1000 a minute: 12 s */
    assert_int_equal(info.retry_after_ms, 12000);
    assert_int_equal(info.remaining_tokens, 400); /* refusal took nothing */
    assert_true(mock_ratelimit_take(&rl, T0 + MS(12000), 600, &info));
    assert_int_equal(info.remaining_tokens, 0);

    /* more than the whole bucket: refused even when full, told to wait until full */
    assert_false(mock_ratelimit_take(&rl, T0 + MS(42000), 5000, &info));
    assert_int_equal(info.retry_after_ms, 30000);
    assert_false(mock_ratelimit_take(&rl, T0 + MS(999999), 5000, &info));
    assert_true(info.retry_after_ms >= 1);
    mock_ratelimit_destroy(&rl);
}

static void test_mock_ratelimit_both_or_nothing(void **state)
{
    struct mock_ratelimit rl;
    struct mock_rl_info info;
    mock_ratelimit_init(&rl, 10, 1000, T0);

    assert_true(mock_ratelimit_take(&rl, T0, 900, &info));
    assert_int_equal(info.remaining_requests, 9);
    assert_int_equal(info.remaining_tokens, 100);
    /* tokens lack: the request bucket keeps its request */
    assert_false(mock_ratelimit_take(&rl, T0, 200, &info));
    assert_string_equal(info.which, "tokens");
    assert_int_equal(info.remaining_requests, 9);
    assert_int_equal(info.remaining_tokens, 100);
    /* the buckets are independent: small requests drain the request bucket alone */
    for (int i = 0; i < 9; i++)
        assert_true(mock_ratelimit_take(&rl, T0, 1, &info));
    assert_int_equal(info.remaining_tokens, 91);
    assert_false(mock_ratelimit_take(&rl, T0, 1, &info));
    assert_string_equal(info.which, "requests");
    assert_int_equal(info.retry_after_ms, 6000); /* 10 a minute: one every 6 s */
    assert_int_equal(info.remaining_tokens, 91);

    /* both lack: Retry-After covers the longer wait and names that bucket */
    assert_false(mock_ratelimit_take(&rl, T0, 991, &info));
    assert_string_equal(info.which, "tokens");
    assert_int_equal(info.retry_after_ms, 54000); /* 900 tokens at 1000/min */
    mock_ratelimit_destroy(&rl);
}

static void test_mock_ratelimit_unlimited_and_clock(void **state)
{
    struct mock_ratelimit rl;
    struct mock_rl_info info;
    mock_ratelimit_init(&rl, 0, -5, T0);
    for (int i = 0; i < 100000; i++)
        assert_true(mock_ratelimit_take(&rl, T0, 100000, &info));
    assert_int_equal(info.limit_requests, -1);
    assert_int_equal(info.limit_tokens, -1);
    assert_int_equal(info.retry_after_ms, 0);
    mock_ratelimit_destroy(&rl);

    /* a time older than the last call (another loop's clock read) refills nothing */
    mock_ratelimit_init(&rl, 60, 0, T0);
    for (int i = 0; i < 60; i++)
        assert_true(mock_ratelimit_take(&rl, T0 + MS(10000), 1, &info));
    assert_false(mock_ratelimit_take(&rl, T0, 1, &info));
    assert_false(mock_ratelimit_take(&rl, T0 + MS(10500), 1, &info));
    assert_true(mock_ratelimit_take(&rl, T0 + MS(11000), 1, &info));
    mock_ratelimit_destroy(&rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_ratelimit_requests_empty_and_refill),
        cmocka_unit_test(test_mock_ratelimit_tokens),
        cmocka_unit_test(test_mock_ratelimit_both_or_nothing),
        cmocka_unit_test(test_mock_ratelimit_unlimited_and_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
