/* test_tp_pool.c - what only the threaded backend has: its raw destroy freeing the calls poll
 * never returned, the thread stack size, and pthread_create failing partway.
 *
 * The behaviour both backends share (counts, the in-flight limit, cancel, retries, gather,
 * destroy with outstanding work) is tested once for both in test_conformance.c. Each test here
 * starts its own mockllm (port 0, readiness by its "listening" line).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "ll_backend.h"
#include "ll_client.h"
#include "ll_clock.h"
#include "ll_err.h"
#include "ll_mockproc.h"
#include "ll_testutil.h"

extern const struct ll_backend tp_backend;

/* The same through the raw backend operations: destroy frees the calls poll never returned,
 * queued and in flight. The calls are rendered by a client (pool of 1, blocked by a stall),
 * cancelled there while still queued, and handed to a second backend instance. */
static void test_tp_pool_backend_destroy_frees(void **state)
{
    struct ll_test_fixture *f = *state;
    struct ll_config cfg2 = f->cfg;
    struct ll_call *calls[5], *done = NULL;
    struct ll_be *be = NULL;

    f->cfg.concurrency = 1;
    ll_test_client_start(f, &tp_backend);
    struct ll_call *blocker = ll_test_submit(f, "x-mock-fault: stall", NULL, NULL);
    for (int i = 0; i < 5; i++) {
        calls[i] = ll_test_submit(f, "x-mock-latency-ms: 3000", NULL, NULL);
        ll_client_cancel(f->client, calls[i]);
        assert_int_equal(ll_client_wait(f->client, calls[i]), 0);
        assert_int_equal(calls[i]->res.attempts, 0);
        memset(&calls[i]->res, 0, sizeof(calls[i]->res));
        calls[i]->done = calls[i]->collected = false;
        atomic_store(&calls[i]->cancel, false);
    }
    cfg2.concurrency = 2;
    assert_int_equal(tp_backend.create(&cfg2, &be), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tp_backend.submit(be, calls[i]), 0);
    }
    int n = tp_backend.poll(be, 100 * LL_NS_PER_MS, &done);
    int64_t t0 = ll_now_ns();
    tp_backend.destroy(be); /* 2 in flight, 3 queued: all freed here */
    print_message("backend destroy with 2 in flight, 3 queued: %.0f ms\n", ll_test_ms_since(t0));
    assert_int_equal(n, 0); /* 3 s answers: none could be final */
    assert_null(done);
    ll_client_cancel(f->client, blocker);
    assert_int_equal(ll_client_wait(f->client, blocker), 0);
    assert_int_equal(blocker->res.cls, LL_CLASS_CANCELLED);
    ll_call_free(blocker);
}

/* Stack size: a small explicit stack works; one below PTHREAD_STACK_MIN is refused; one that
 * cannot be mapped fails create() with LL_ELIMIT and leaves no thread behind. */
static void test_tp_pool_stack_size(void **state)
{
    struct ll_test_fixture *f = *state;
    struct ll_be *be = NULL;

    f->cfg.stack_size = 1;
    assert_int_equal(tp_backend.create(&f->cfg, &be), LL_EINVAL);
    assert_null(be);
    f->cfg.stack_size = (size_t)1 << 46; /* 64 TiB: no mapping that large can succeed */
    assert_int_equal(tp_backend.create(&f->cfg, &be), LL_ELIMIT);
    assert_null(be);

    f->cfg.stack_size = 256 * 1024;
    f->cfg.concurrency = 2;
    ll_test_client_start(f, &tp_backend);
    struct ll_call *calls[4];
    for (int i = 0; i < 4; i++) {
        calls[i] = ll_test_submit(f, NULL, NULL, NULL);
    }
    assert_int_equal(ll_client_gather(f->client, calls, 4, LL_GATHER_COLLECT), 0);
    for (int i = 0; i < 4; i++) {
        ll_call_free(calls[i]);
    }
}

static int threads_now(void)
{
    return (int)ll_test_status(0, "Threads");
}

static long vm_size_kb(void)
{
    return ll_test_status(0, "VmSize");
}

/* pthread_create failing partway (address space for two stacks of 16 MiB, a pool of 64): create
 * returns LL_ELIMIT and the threads that had started are joined. In a child process, since it
 * lowers RLIMIT_AS; skipped under sanitizers, whose shadow memory needs the address space. */
static void test_tp_pool_thread_limit_partway(void **state)
{
    struct ll_test_fixture *f = *state;

    if (LL_TEST_SANITIZED) {
        ll_test_skip("RLIMIT_AS: a sanitizer's shadow memory needs the address space");
    }
    f->cfg.concurrency = 64;
    f->cfg.stack_size = (size_t)16 << 20;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct ll_be *be = NULL;
        rlim_t lim = (rlim_t)vm_size_kb() * 1024 + ((rlim_t)8 << 20) + ((rlim_t)40 << 20);
        struct rlimit rl = {lim, lim};
        if (setrlimit(RLIMIT_AS, &rl) != 0) {
            _exit(3);
        }
        int before = threads_now();
        int err = tp_backend.create(&f->cfg, &be);
        if (err == 0) {
            tp_backend.destroy(be);
            _exit(4); /* the limit was not met: the test is void */
        }
        _exit(err == LL_ELIMIT && threads_now() == before ? 0 : 5);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any thread starts */
    ll_test_args(argc, argv);
    struct CMUnitTest tests[] = {
        LL_TEST_FIXTURE_TEST(test_tp_pool_backend_destroy_frees),
        LL_TEST_FIXTURE_TEST(test_tp_pool_stack_size),
        LL_TEST_FIXTURE_TEST(test_tp_pool_thread_limit_partway),
    };
    int failed = LL_TEST_RUN_GROUP("tp_pool", tests, NULL, NULL);
    curl_global_cleanup();
    return ll_test_exit_code(failed);
}
