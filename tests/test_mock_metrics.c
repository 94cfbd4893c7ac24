/* test_mock_metrics.c - mockllm's counters (mock_server/mock_metrics.h): the peak of requests in
 * flight over several loops, kept without a counter shared on every request, is still the peak
 * of the sum; the gauge is the sum; a reset brings the peak down to what is in flight. The send
 * lateness histogram's buckets, sum, count and maximum. The shared slot of --model threads: many
 * writers, no update lost; the thread gauges and the failure counters' labels. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mock_metrics.h"

static long long peak(struct mock_metrics *m)
{
    return (long long)atomic_load(&m->in_flight_peak);
}

/* One loop: the peak is the loop's own. */
static void test_metrics_in_flight_one_loop(void **state)
{
    (void)state;
    static struct mock_config cfg = {.nprofiles = 1};
    struct mock_metrics m;
    assert_int_equal(mock_metrics_init(&m, &cfg, 1), 0);
    for (int i = 0; i < 5; i++) {
        mock_metrics_in_flight(&m, 0, 1);
    }
    for (int i = 0; i < 3; i++) {
        mock_metrics_in_flight(&m, 0, -1);
    }
    mock_metrics_in_flight(&m, 0, 1);
    assert_int_equal(mock_metrics_in_flight_now(&m), 3);
    assert_int_equal(peak(&m), 5);
    mock_metrics_reset(&m);
    assert_int_equal(peak(&m), 3);
    mock_metrics_in_flight(&m, 0, 1);
    assert_int_equal(peak(&m), 4);
    mock_metrics_free(&m);
}

/* Two and three loops, interleaved: the peak is the largest sum, not the sum of the loops'
 * peaks, and a new largest sum reached by a loop below its own peak is still seen. */
static void test_metrics_in_flight_loops(void **state)
{
    (void)state;
    static struct mock_config cfg = {.nprofiles = 1};
    struct mock_metrics m;
    assert_int_equal(mock_metrics_init(&m, &cfg, 3), 0);
    mock_metrics_in_flight(&m, 0, 1); /* 1 0 0 */
    mock_metrics_in_flight(&m, 0, 1); /* 2 0 0 */
    assert_int_equal(peak(&m), 2);
    mock_metrics_in_flight(&m, 0, -1); /* 1 0 0 */
    mock_metrics_in_flight(&m, 0, -1); /* 0 0 0 */
    mock_metrics_in_flight(&m, 1, 1);  /* 0 1 0 */
    mock_metrics_in_flight(&m, 1, 1);  /* 0 2 0: sum 2, loops' peaks sum to 4 */
    assert_int_equal(peak(&m), 2);
    mock_metrics_in_flight(&m, 0, 1); /* 1 2 0: 3, loop 0 below its own peak */
    assert_int_equal(peak(&m), 3);
    mock_metrics_in_flight(&m, 2, 1); /* 1 2 1 */
    assert_int_equal(peak(&m), 4);
    assert_int_equal(mock_metrics_in_flight_now(&m), 4);
    mock_metrics_in_flight(&m, 1, -1); /* 1 1 1 */
    mock_metrics_in_flight(&m, 2, -1); /* 1 1 0 */
    mock_metrics_reset(&m);
    assert_int_equal(peak(&m), 2);
    mock_metrics_in_flight(&m, 2, 1); /* 1 1 1: 3 after the reset */
    assert_int_equal(peak(&m), 3);
    mock_metrics_free(&m);
}

/* Send lateness: each value lands in the first bucket whose bound it does not pass, the
 * rendered buckets are cumulative, and sum, count and max follow; two loops are summed; a
 * reset empties them. */
static void test_metrics_late_histogram(void **state)
{
    (void)state;
    static struct mock_config cfg = {.nprofiles = 1};
    struct mock_metrics m;
    struct mock_buf b = {0};
    assert_int_equal(mock_metrics_init(&m, &cfg, 2), 0);
    mock_metrics_late(&m, 0, -300000);      /* early (within the slack): on time */
    mock_metrics_late(&m, 0, 100000);       /* exactly 100 µs: the first bucket */
    mock_metrics_late(&m, 1, 100001);       /* just past it */
    mock_metrics_late(&m, 1, 3000000);      /* 3 ms */
    mock_metrics_late(&m, 0, 2000000000LL); /* 2 s: past every bound */
    mock_metrics_render(&m, &b);
    mock_buf_add(&b, "", 1);
    assert_false(b.oom);
    const char *want[] = {
        "mockllm_send_lateness_seconds_bucket{le=\"0.0001\"} 2\n",
        "mockllm_send_lateness_seconds_bucket{le=\"0.0005\"} 3\n",
        "mockllm_send_lateness_seconds_bucket{le=\"0.002\"} 3\n",
        "mockllm_send_lateness_seconds_bucket{le=\"0.005\"} 4\n",
        "mockllm_send_lateness_seconds_bucket{le=\"1\"} 4\n",
        "mockllm_send_lateness_seconds_bucket{le=\"+Inf\"} 5\n",
        "mockllm_send_lateness_seconds_sum 2.003200001\n",
        "mockllm_send_lateness_seconds_count 5\n",
        "mockllm_send_lateness_max_seconds 2.000000000\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (strstr(b.p, want[i]) == NULL) {
            fail_msg("missing %s in:\n%s", want[i], b.p);
        }
    }
    mock_metrics_reset(&m);
    mock_buf_clear(&b);
    mock_metrics_render(&m, &b);
    mock_buf_add(&b, "", 1);
    assert_non_null(strstr(b.p, "mockllm_send_lateness_seconds_bucket{le=\"+Inf\"} 0\n"));
    assert_non_null(strstr(b.p, "mockllm_send_lateness_max_seconds 0.000000000\n"));
    free(b.p);
    mock_metrics_free(&m);
}

/* The shared slot (--model threads): many threads writing one slot lose no update. Each
 * thread raises in flight N times (a peak of all of them), records N lateness samples and
 * lowers in flight again: the counts come out exact, the peak is the sum. */
#define SHARED_THREADS 4
#define SHARED_N       20000

static void *shared_writer(void *arg)
{
    struct mock_metrics *m = arg;
    for (int i = 0; i < SHARED_N; i++) {
        mock_metrics_in_flight(m, 0, 1);
        mock_metrics_late(m, 0, (long long)i * 1000);
    }
    return NULL;
}

static void *shared_lower(void *arg)
{
    struct mock_metrics *m = arg;
    for (int i = 0; i < SHARED_N; i++) {
        mock_metrics_in_flight(m, 0, -1);
    }
    return NULL;
}

static void run_threads(void *(*fn)(void *), struct mock_metrics *m)
{
    pthread_t t[SHARED_THREADS];
    for (int i = 0; i < SHARED_THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, fn, m), 0);
    }
    for (int i = 0; i < SHARED_THREADS; i++) {
        pthread_join(t[i], NULL);
    }
}

static void test_metrics_shared_slot(void **state)
{
    static struct mock_config cfg = {.nprofiles = 1};
    struct mock_metrics m;
    struct mock_buf b = {0};
    assert_int_equal(mock_metrics_init_shared(&m, &cfg), 0);
    run_threads(shared_writer, &m);
    assert_int_equal(mock_metrics_in_flight_now(&m), SHARED_THREADS * SHARED_N);
    assert_int_equal(peak(&m), SHARED_THREADS * SHARED_N);
    run_threads(shared_lower, &m);
    assert_int_equal(mock_metrics_in_flight_now(&m), 0);
    mock_metrics_threads(&m, 3);
    mock_metrics_threads(&m, -2);
    mock_metrics_render(&m, &b);
    mock_buf_add(&b, "", 1);
    char want[128];
    snprintf(want, sizeof(want), "mockllm_send_lateness_seconds_count %d\n",
             SHARED_THREADS * SHARED_N);
    assert_non_null(strstr(b.p, want));
    assert_non_null(strstr(b.p, "mockllm_send_lateness_max_seconds 0.019999000\n"));
    assert_non_null(strstr(b.p, "mockllm_threads 1\n"));
    assert_non_null(strstr(b.p, "mockllm_threads_peak 3\n"));
    assert_non_null(strstr(b.p, "mockllm_thread_start_failures_total 0\n"));
    mock_metrics_thread_fail(&m, EAGAIN, "RLIMIT_AS", "RLIMIT_AS 28 MiB: 20 MiB mapped");
    mock_metrics_accept_fail(&m, EMFILE);
    mock_buf_clear(&b);
    mock_metrics_render(&m, &b);
    mock_buf_add(&b, "", 1);
    assert_non_null(strstr(
        b.p, "mockllm_thread_start_failures_total{errno=\"EAGAIN\",limit=\"RLIMIT_AS\"} 1\n"));
    assert_non_null(strstr(b.p, "mockllm_accept_failures_total{errno=\"EMFILE\"} 1\n"));
    free(b.p);
    mock_metrics_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_in_flight_one_loop),
        cmocka_unit_test(test_metrics_in_flight_loops),
        cmocka_unit_test(test_metrics_late_histogram),
        cmocka_unit_test(test_metrics_shared_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
