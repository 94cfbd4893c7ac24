/* test_demo_util.c - the demos' text helpers (bench/demo/ll_demo_util.c) on known values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ll_demo.h"

/* The mock's CPU comes in 10 ms ticks: a mode that used less than a tick must not read as a
 * measured 0.000 s, and hundredths are all the resolution there is. */
static void test_demo_fmt_ticks(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(ll_demo_fmt_ticks(buf, sizeof(buf), 0.0), "< 0.01 s");
    assert_string_equal(ll_demo_fmt_ticks(buf, sizeof(buf), 0.004), "< 0.01 s");
    assert_string_equal(ll_demo_fmt_ticks(buf, sizeof(buf), 0.01), "0.01 s");
    assert_string_equal(ll_demo_fmt_ticks(buf, sizeof(buf), 0.18), "0.18 s");
    assert_string_equal(ll_demo_fmt_ticks(buf, sizeof(buf), 12.5), "12.50 s");
    assert_string_equal(ll_demo_fmt_ticks(buf, sizeof(buf), -1.0), "-");
}

/* Seconds as milliseconds below one second, as seconds above, "-" when not measured. */
static void test_demo_fmt_s(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(ll_demo_fmt_s(buf, sizeof(buf), 0.8675), "867.5 ms");
    assert_string_equal(ll_demo_fmt_s(buf, sizeof(buf), 1.7), "1.70 s");
    assert_string_equal(ll_demo_fmt_s(buf, sizeof(buf), -1.0), "-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_fmt_ticks),
        cmocka_unit_test(test_demo_fmt_s),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
