/* test_tp_pool.c - the threaded backend against a real mockllm, through ll_client.
 *
 * Each test starts its own mockllm (port 0, readiness by its "listening" line) so that the
 * server's counters, such as mockllm_in_flight_peak, belong to that test alone. Scripted
 * outcomes use mockllm's per-request headers (x-mock-latency-ms, x-mock-status, x-mock-key with
 * x-mock-fail-first, x-mock-fault).
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

/* One figure from mockllm's Prometheus text (the first sample of that metric), or -1. */
static long long metric(struct fixture *f, const char *name)
{
    char url[160], *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    CURL *easy = curl_easy_init();
    long long v = -1;

    snprintf(url, sizeof(url), "http://%s:%d/metrics", f->mock.host, f->mock.port);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, mem);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(easy);
    curl_easy_cleanup(easy);
    fclose(mem);
    if (rc == CURLE_OK) {
        size_t nl = strlen(name);
        for (char *line = text; line != NULL && *line != '\0';) {
            if (strncmp(line, name, nl) == 0 && (line[nl] == ' ' || line[nl] == '{')) {
                char *sp = strchr(line, ' ');
                v = sp != NULL ? (long long)strtod(sp + 1, NULL) : -1;
                break;
            }
            line = strchr(line, '\n');
            line = line != NULL ? line + 1 : NULL;
        }
    }
    free(text);
    return v;
}

static double ms_since(int64_t t0)
{
    return (double)(ll_now_ns() - t0) / LL_NS_PER_MS;
}

/* N requests on a pool of 4: every one succeeds once, exactly one result each. */
static void test_tp_pool_counts(void **state)
{
    struct fixture *f = *state;
    enum { N = 40 };
    struct ll_call *calls[N];
    int seen = 0;

    client_start(f);
    for (int i = 0; i < N; i++) {
        calls[i] = submit(f, NULL, NULL, NULL);
    }
    for (struct ll_call *c; (c = ll_client_next(f->client, 10 * LL_NS_PER_S)) != NULL;) {
        assert_int_equal(c->res.cls, LL_CLASS_NONE);
        assert_int_equal(c->res.status, 200);
        assert_int_equal(c->res.attempts, 1);
        assert_true(c->res.t_end >= c->res.t_dispatch && c->res.t_dispatch >= c->res.t_queued);
        seen++;
    }
    assert_int_equal(seen, N);
    assert_int_equal(ll_client_outstanding(f->client), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(calls[i]->seq, (uint64_t)i);
        ll_call_free(calls[i]);
    }
    struct ll_be_stats st;
    ll_client_sample(f->client, &st);
    assert_int_equal(st.threads, 4);
    assert_int_equal(st.loop_idle_ns, -1);
    assert_null(st.loop_lag);
    assert_int_equal(st.backoff_waits, 0);
}

/* The pool size is the in-flight limit: mockllm never sees more than 3 at once, and 12
 * requests of 60 ms take at least 4 rounds. */
static void test_tp_pool_bounds_concurrency(void **state)
{
    struct fixture *f = *state;
    enum { N = 12, C = 3, LAT_MS = 60 };
    struct ll_call *calls[N];

    f->cfg.concurrency = C;
    client_start(f);
    int64_t t0 = ll_now_ns();
    for (int i = 0; i < N; i++) {
        calls[i] = submit(f, "x-mock-latency-ms: 60", NULL, NULL);
    }
    assert_int_equal(ll_client_gather(f->client, calls, N, LL_GATHER_COLLECT), 0);
    double wall = ms_since(t0);
    long long peak = metric(f, "mockllm_in_flight_peak");
    print_message("pool %d, %d x %d ms: wall %.0f ms, server in-flight peak %lld\n", C, N, LAT_MS,
                  wall, peak);
    assert_true(peak >= 1 && peak <= C);
    assert_true(wall >= (double)(N / C) * LAT_MS * 0.95);
    for (int i = 0; i < N; i++) {
        assert_int_equal(calls[i]->res.cls, LL_CLASS_NONE);
        ll_call_free(calls[i]);
    }
}

/* Pool of 1: a queued call ends CANCELLED at once without a wire attempt; an in-flight one ends
 * CANCELLED too; the call behind it still succeeds. */
static void test_tp_pool_cancel_queued_and_inflight(void **state)
{
    struct fixture *f = *state;

    f->cfg.concurrency = 1;
    client_start(f);
    struct ll_call *a = submit(f, "x-mock-latency-ms: 400", NULL, NULL);
    struct ll_call *b = submit(f, NULL, NULL, NULL);
    struct ll_call *c = submit(f, NULL, NULL, NULL);

    int64_t t0 = ll_now_ns();
    ll_client_cancel(f->client, c);
    assert_int_equal(ll_client_wait(f->client, c), 0);
    double queued_ms = ms_since(t0);
    assert_int_equal(c->res.cls, LL_CLASS_CANCELLED);
    assert_int_equal(c->res.attempts, 0);
    assert_true(queued_ms < 50);

    ll_client_progress(f->client, 50 * LL_NS_PER_MS); /* let a reach the server */
    t0 = ll_now_ns();
    ll_client_cancel(f->client, a);
    assert_int_equal(ll_client_wait(f->client, a), 0);
    double inflight_ms = ms_since(t0);
    assert_int_equal(a->res.cls, LL_CLASS_CANCELLED);
    assert_int_equal(ll_client_wait(f->client, b), 0);
    assert_int_equal(b->res.cls, LL_CLASS_NONE);
    print_message("cancel latency: queued %.2f ms, in flight %.1f ms\n", queued_ms, inflight_ms);
    ll_call_free(a);
    ll_call_free(b);
    ll_call_free(c);
}

/* A stalled transfer (no byte ever comes) is still cancelled, within curl's idle progress
 * cadence (about 1 s). */
static void test_tp_pool_cancel_stalled(void **state)
{
    struct fixture *f = *state;

    f->cfg.concurrency = 2;
    client_start(f);
    struct ll_call *a = submit(f, "x-mock-fault: stall", NULL, NULL);
    ll_client_progress(f->client, 100 * LL_NS_PER_MS);
    int64_t t0 = ll_now_ns();
    ll_client_cancel(f->client, a);
    assert_int_equal(ll_client_wait(f->client, a), 0);
    double ms = ms_since(t0);
    print_message("cancel of a stalled transfer: %.0f ms\n", ms);
    assert_int_equal(a->res.cls, LL_CLASS_CANCELLED);
    assert_true(ms < 2500);
    ll_call_free(a);
}

/* Retries: fail-first 2 then succeed takes 3 attempts and 2 backoff waits; a 400 is never
 * retried; a 503 every time uses up all attempts. */
static void test_tp_pool_retries(void **state)
{
    struct fixture *f = *state;

    f->cfg.concurrency = 2;
    f->cfg.retry.max_attempts = 3;
    f->cfg.retry.base_ms = 5;
    f->cfg.retry.cap_ms = 20;
    client_start(f);
    struct ll_call *calls[3] = {
        submit(f, "x-mock-key: tp-retry-1", "x-mock-fail-first: 2", NULL),
        submit(f, "x-mock-status: 400", NULL, NULL),
        submit(f, "x-mock-status: 503", NULL, NULL),
    };
    assert_int_equal(ll_client_gather(f->client, calls, 3, LL_GATHER_COLLECT), 2);

    assert_int_equal(calls[0]->res.cls, LL_CLASS_NONE);
    assert_int_equal(calls[0]->res.attempts, 3);
    assert_int_not_equal(calls[0]->res.attempt[0].cls, LL_CLASS_NONE);
    assert_int_equal(calls[0]->res.attempt[2].cls, LL_CLASS_NONE);

    assert_int_equal(calls[1]->res.cls, LL_CLASS_HTTP_4XX);
    assert_int_equal(calls[1]->res.status, 400);
    assert_int_equal(calls[1]->res.attempts, 1);

    assert_int_equal(calls[2]->res.cls, LL_CLASS_HTTP_5XX);
    assert_int_equal(calls[2]->res.status, 503);
    assert_int_equal(calls[2]->res.attempts, 3);

    struct ll_be_stats st;
    ll_client_sample(f->client, &st);
    assert_int_equal(st.backoff_waits, 4);
    assert_true(st.backoff_ns > 0);
    for (int i = 0; i < 3; i++) {
        ll_call_free(calls[i]);
    }
}

/* A call sleeping before its retry is woken by cancel, not left to sleep out its backoff. */
static void test_tp_pool_cancel_backoff(void **state)
{
    struct fixture *f = *state;
    struct ll_be_stats st;

    f->cfg.concurrency = 1;
    f->cfg.retry.max_attempts = 3;
    f->cfg.retry.base_ms = 5000;
    f->cfg.retry.cap_ms = 5000;
    f->cfg.retry.jitter = false;
    client_start(f);
    struct ll_call *a = submit(f, "x-mock-status: 503", NULL, NULL);
    int64_t until = ll_now_ns() + 5 * LL_NS_PER_S;
    do {
        ll_client_progress(f->client, 5 * LL_NS_PER_MS);
        ll_client_sample(f->client, &st);
    } while (st.backoff_waits == 0 && ll_now_ns() < until);
    assert_int_equal(st.backoff_waits, 1);

    int64_t t0 = ll_now_ns();
    ll_client_cancel(f->client, a);
    assert_int_equal(ll_client_wait(f->client, a), 0);
    double ms = ms_since(t0);
    print_message("cancel during a 5 s backoff: %.2f ms\n", ms);
    assert_int_equal(a->res.cls, LL_CLASS_CANCELLED);
    assert_int_equal(a->res.attempts, 1);
    assert_true(ms < 200);
    ll_call_free(a);
}

/* Fail-fast gather: the 400 cancels the rest, queued and in flight. */
static void test_tp_pool_gather_fail_fast(void **state)
{
    struct fixture *f = *state;
    enum { N = 6 };
    struct ll_call *calls[N];

    f->cfg.concurrency = 2;
    client_start(f);
    calls[0] = submit(f, "x-mock-status: 400", NULL, NULL);
    for (int i = 1; i < N; i++) {
        calls[i] = submit(f, "x-mock-latency-ms: 300", NULL, NULL);
    }
    int64_t t0 = ll_now_ns();
    int failed = ll_client_gather(f->client, calls, N, LL_GATHER_FAIL_FAST);
    print_message("fail-fast gather: %d failed in %.0f ms\n", failed, ms_since(t0));
    assert_int_equal(failed, N);
    assert_int_equal(calls[0]->res.cls, LL_CLASS_HTTP_4XX);
    for (int i = 1; i < N; i++) {
        assert_int_equal(calls[i]->res.cls, LL_CLASS_CANCELLED);
    }
    for (int i = 0; i < N; i++) {
        ll_call_free(calls[i]);
    }
}

/* Destroy with queued, in-flight, stalled and backing-off work: every thread is joined and every
 * call freed (ASan/TSan and valgrind check the rest) within a bounded time. */
static void test_tp_pool_destroy_outstanding(void **state)
{
    struct fixture *f = *state;

    f->cfg.concurrency = 3;
    f->cfg.retry.max_attempts = 3;
    f->cfg.retry.base_ms = 10000;
    f->cfg.retry.cap_ms = 10000;
    client_start(f);
    submit(f, "x-mock-fault: stall", NULL, NULL);
    submit(f, "x-mock-status: 503", NULL, NULL);
    for (int i = 0; i < 10; i++) {
        submit(f, "x-mock-latency-ms: 200", NULL, NULL);
    }
    ll_client_progress(f->client, 100 * LL_NS_PER_MS);
    int64_t t0 = ll_now_ns();
    ll_client_destroy(f->client);
    f->client = NULL;
    double ms = ms_since(t0);
    print_message("destroy with 12 outstanding: %.0f ms\n", ms);
    assert_true(ms < 3000);
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
        cmocka_unit_test_setup_teardown(test_tp_pool_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tp_pool_bounds_concurrency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tp_pool_cancel_queued_and_inflight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tp_pool_cancel_stalled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tp_pool_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tp_pool_cancel_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tp_pool_gather_fail_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tp_pool_destroy_outstanding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tp_pool_backend_destroy_frees, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tp_pool_stack_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tp_pool_thread_limit_partway, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("tp_pool", tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
