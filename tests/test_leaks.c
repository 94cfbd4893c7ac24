/* test_leaks.c - nothing a backend is given is lost, counted by the allocator itself.
 *
 * ASan's leak checker and valgrind see a leak only in the builds and runs that use them. This
 * test asks glibc's allocator (mallinfo2: bytes in use, over every arena; the tcache is off for
 * this test, GLIBC_TUNABLES in tests/truth.cmake, so a freed chunk is counted free at once) in
 * the normal build, on both backends:
 *   - a backend destroyed with calls it never handed back through poll (queued and in flight)
 *     frees every one of them: the bytes in use drop by at least those calls' size;
 *   - a client destroyed 20 times over with queued, in-flight, stalled and backing-off calls
 *     leaves the bytes in use where they were (less than one call's size per round).
 * Under a sanitizer the allocator is the sanitizer's: the test says SKIPPED (there, LeakSanitizer
 * checks the same paths in test_tp_pool and test_conformance).
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "ll_backend.h"
#include "ll_client.h"
#include "ll_clock.h"
#include "ll_testutil.h"

static size_t live_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

struct leak {
    const struct ll_backend *be;
    struct ll_test_fixture *f; /* a mockllm of its own and a client config at it */
};

/* cmocka setup: the prestate is the backend's name. */
static int setup(void **state)
{
    struct leak *x = calloc(1, sizeof(*x));
    void *fs = NULL;
    if (x == NULL || (x->be = ll_backend_find(*state)) == NULL || ll_test_fixture_setup(&fs) != 0) {
        free(x);
        return -1;
    }
    x->f = fs;
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct leak *x = *state;
    void *fs = x->f;
    int rc = ll_test_fixture_teardown(&fs);
    free(x);
    return rc;
}

/* Calls rendered by a client whose one slot is stalled, cancelled while queued and made new
 * again: calls that no backend owns, for a raw backend to be given. */
static void detached_calls(struct ll_test_fixture *f, struct ll_call **calls, int n)
{
    for (int i = 0; i < n; i++) {
        calls[i] = ll_test_submit(f, "x-mock-latency-ms: 3000", NULL, NULL);
        ll_client_cancel(f->client, calls[i]);
        assert_int_equal(ll_client_wait(f->client, calls[i]), 0);
        assert_int_equal(calls[i]->res.attempts, 0);
        memset(&calls[i]->res, 0, sizeof(calls[i]->res));
        calls[i]->done = calls[i]->collected = false;
        atomic_store(&calls[i]->cancel, false);
    }
}

/* One raw backend of 2 slots is given n calls (2 reach mockllm, the rest wait in its queue),
 * polls none back, and is destroyed. Returns how many bytes in use that freed. */
static long long raw_round(struct leak *x, const struct ll_config *cfg, struct ll_call **calls,
                           int n)
{
    struct ll_call *done = NULL;
    struct ll_be *raw = NULL;
    long long base = ll_test_mock_metric(&x->f->mock, "mockllm_in_flight");
    size_t before = live_bytes();
    assert_int_equal(x->be->create(cfg, &raw), 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(x->be->submit(raw, calls[i]), 0);
    }
    long long held = base;
    for (int i = 0; i < 1000 && held < base + 2; i++) { /* until two are at mockllm */
        assert_int_equal(x->be->poll(raw, 5 * LL_NS_PER_MS, &done), 0);
        held = ll_test_mock_metric(&x->f->mock, "mockllm_in_flight");
    }
    assert_null(done);
    assert_true(held >= base + 2);
    x->be->destroy(raw);
    return (long long)before - (long long)live_bytes();
}

/* A raw backend destroyed with 5 calls it never handed back (2 in flight, 3 queued) frees all
 * five: the bytes in use drop by at least their size. A first round warms up what stays once
 * made (curl's and libuv's process state, the allocator's arenas of the worker threads). */
static void test_leaks_backend_destroy(void **state)
{
    struct leak *x = *state;
    struct ll_test_fixture *f = x->f;
    enum { N = 5 };
    struct ll_call *calls[2 * N];

    f->cfg.concurrency = 1;
    ll_test_client_start(f, x->be);
    struct ll_call *blocker = ll_test_submit(f, "x-mock-fault: stall", NULL, NULL);
    detached_calls(f, calls, 2 * N);
    struct ll_config cfg2 = f->cfg;
    cfg2.concurrency = 2;
    long long warm = raw_round(x, &cfg2, calls, N);
    long long freed = raw_round(x, &cfg2, calls + N, N);
    print_message("  %s: destroy with 2 in flight, 3 queued: %lld bytes freed (5 calls are %zu; "
                  "%lld the first time)\n",
                  x->be->name, freed, N * sizeof(struct ll_call), warm);
    assert_true(freed >= (long long)(N * sizeof(struct ll_call)));

    ll_client_cancel(f->client, blocker);
    assert_int_equal(ll_client_wait(f->client, blocker), 0);
    ll_call_free(blocker);
}

/* One client life: a stall, a 503 that waits 10 s to retry and ten 200 ms calls at 3 in flight,
 * destroyed once the 503 waits and the stall and one more are at mockllm. */
static void client_round(struct leak *x)
{
    struct ll_test_fixture *f = x->f;
    struct ll_be_stats st;
    long long base = ll_test_mock_metric(&f->mock, "mockllm_in_flight");
    ll_test_client_start(f, x->be);
    ll_test_submit(f, "x-mock-fault: stall", NULL, NULL);
    ll_test_submit(f, "x-mock-status: 503", NULL, NULL);
    for (int i = 0; i < 10; i++) {
        ll_test_submit(f, "x-mock-latency-ms: 200", NULL, NULL);
    }
    int64_t until = ll_now_ns() + 5 * LL_NS_PER_S;
    do {
        ll_client_progress(f->client, 5 * LL_NS_PER_MS);
        ll_client_sample(f->client, &st);
    } while (
        (st.backoff_waits == 0 || ll_test_mock_metric(&f->mock, "mockllm_in_flight") < base + 2) &&
        ll_now_ns() < until);
    assert_int_equal(st.backoff_waits, 1);
    ll_client_destroy(f->client);
    f->client = NULL;
}

/* Twenty client lives with outstanding work (twelve calls each): the bytes in use after them are
 * where they were, give or take less than one call per life. */
static void test_leaks_client_destroy(void **state)
{
    struct leak *x = *state;
    enum { ROUNDS = 20 };
    x->f->cfg.concurrency = 3;
    x->f->cfg.retry.max_attempts = 3;
    x->f->cfg.retry.base_ms = 10000;
    x->f->cfg.retry.cap_ms = 10000;
    x->f->cfg.retry.honor_retry_after = false;
    x->f->cfg.retry.jitter = false; /* full jitter could make the 10 s wait a few ms */
    client_round(x);                /* one-time state, before counting */
    size_t before = live_bytes();
    for (int r = 0; r < ROUNDS; r++) {
        client_round(x);
    }
    long long grown = (long long)live_bytes() - (long long)before;
    print_message("  %s: %d client lives with 12 calls outstanding each: %lld bytes more in use "
                  "(one call is %zu)\n",
                  x->be->name, ROUNDS, grown, sizeof(struct ll_call));
    assert_true(grown < (long long)(ROUNDS * sizeof(struct ll_call)));
}

int main(int argc, char **argv)
{
    if (LL_TEST_SANITIZED) {
        printf("SKIPPED: the allocator is the sanitizer's (LeakSanitizer checks these paths)\n");
        return LL_TEST_SKIPPED;
    }
    curl_global_init(CURL_GLOBAL_ALL);
    ll_test_args(argc, argv);
    struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_leaks_backend_destroy, setup, teardown,
                                                 (void *)"threaded"),
        cmocka_unit_test_prestate_setup_teardown(test_leaks_backend_destroy, setup, teardown,
                                                 (void *)"evented"),
        cmocka_unit_test_prestate_setup_teardown(test_leaks_client_destroy, setup, teardown,
                                                 (void *)"threaded"),
        cmocka_unit_test_prestate_setup_teardown(test_leaks_client_destroy, setup, teardown,
                                                 (void *)"evented"),
    };
    int failed = LL_TEST_RUN_GROUP("leaks", tests, NULL, NULL);
    curl_global_cleanup();
    return ll_test_exit_code(failed);
}
