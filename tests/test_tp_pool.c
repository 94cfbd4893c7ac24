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

extern const struct ll_backend tp_backend;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define TP_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define TP_TEST_SANITIZED 1
#endif
#endif
#ifndef TP_TEST_SANITIZED
#define TP_TEST_SANITIZED 0
#endif

struct fixture {
    struct ll_mockproc mock;
    const char *urls[1];
    struct ll_config cfg;
    struct ll_client *client;
};

static const struct ll_message hello[] = {{"user", "Say hello."}};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL || ll_mockproc_start(&f->mock, NULL, NULL, 10000) != 0) {
        fprintf(stderr, "cannot start mockllm at %s\n", ll_mockproc_path());
        free(f);
        return -1;
    }
    f->urls[0] = f->mock.base_url;
    ll_config_defaults(&f->cfg);
    f->cfg.base_urls = f->urls;
    f->cfg.n_base_urls = 1;
    f->cfg.concurrency = 4;
    f->cfg.timeout_ms = 10000;
    f->cfg.retry.max_attempts = 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->client != NULL) {
        ll_client_destroy(f->client);
    }
    int rc = ll_mockproc_stop(&f->mock, 5000);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void client_start(struct fixture *f)
{
    assert_int_equal(ll_client_create(&tp_backend, &f->cfg, &f->client), 0);
}

/* Submit one request with up to three extra headers (NULL ends the list). */
static struct ll_call *submit(struct fixture *f, const char *h0, const char *h1, const char *h2)
{
    const char *hdrs[3] = {h0, h1, h2};
    size_t n = 0;
    while (n < 3 && hdrs[n] != NULL) {
        n++;
    }
    struct ll_request req = {
        .messages = hello, .n_messages = 1, .max_tokens = 8, .headers = hdrs, .n_headers = n};
    struct ll_call *call = NULL;
    assert_int_equal(ll_client_submit(f->client, &req, &call), 0);
    assert_non_null(call);
    return call;
}

static double ms_since(int64_t t0)
{
    return (double)(ll_now_ns() - t0) / LL_NS_PER_MS;
}

/* The same through the raw backend operations: destroy frees the calls poll never returned,
 * queued and in flight. The calls are rendered by a client (pool of 1, blocked by a stall),
 * cancelled there while still queued, and handed to a second backend instance. */
static void test_tp_pool_backend_destroy_frees(void **state)
{
    struct fixture *f = *state;
    struct ll_config cfg2 = f->cfg;
    struct ll_call *calls[5], *done = NULL;
    struct ll_be *be = NULL;

    f->cfg.concurrency = 1;
    client_start(f);
    struct ll_call *blocker = submit(f, "x-mock-fault: stall", NULL, NULL);
    for (int i = 0; i < 5; i++) {
        calls[i] = submit(f, "x-mock-latency-ms: 3000", NULL, NULL);
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
    print_message("backend destroy with 2 in flight, 3 queued: %.0f ms\n", ms_since(t0));
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
    struct fixture *f = *state;
    struct ll_be *be = NULL;

    f->cfg.stack_size = 1;
    assert_int_equal(tp_backend.create(&f->cfg, &be), LL_EINVAL);
    assert_null(be);
    f->cfg.stack_size = (size_t)1 << 46; /* 64 TiB: no mapping that large can succeed */
    assert_int_equal(tp_backend.create(&f->cfg, &be), LL_ELIMIT);
    assert_null(be);

    f->cfg.stack_size = 256 * 1024;
    f->cfg.concurrency = 2;
    client_start(f);
    struct ll_call *calls[4];
    for (int i = 0; i < 4; i++) {
        calls[i] = submit(f, NULL, NULL, NULL);
    }
    assert_int_equal(ll_client_gather(f->client, calls, 4, LL_GATHER_COLLECT), 0);
    for (int i = 0; i < 4; i++) {
        ll_call_free(calls[i]);
    }
}

static int threads_now(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
        if (sscanf(line, "Threads: %d", &n) == 1) {
            break;
        }
    }
    if (fp != NULL) {
        fclose(fp);
    }
    return n;
}

static long vm_size_kb(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
        if (sscanf(line, "VmSize: %ld", &kb) == 1) {
            break;
        }
    }
    if (fp != NULL) {
        fclose(fp);
    }
    return kb;
}

/* pthread_create failing partway (address space for two stacks of 16 MiB, a pool of 64): create
 * returns LL_ELIMIT and the threads that had started are joined. In a child process, since it
 * lowers RLIMIT_AS; skipped under sanitizers, whose shadow memory needs the address space. */
static void test_tp_pool_thread_limit_partway(void **state)
{
    struct fixture *f = *state;

    if (TP_TEST_SANITIZED) {
        skip();
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

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any thread starts */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tp_pool_backend_destroy_frees, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tp_pool_stack_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tp_pool_thread_limit_partway, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("tp_pool", tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
