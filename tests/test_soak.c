/* test_soak.c - both backends under injected faults: nothing lost, nothing counted twice.
 *
 * mockllm injects 429 (Retry-After 0), 500, 503, connection closes mid-response or mid-stream,
 * and stalls (no answer; the client's 1 s timeout ends the attempt), 20% of attempts combined.
 * The client retries (up to 12 attempts, 1-10 ms backoff). Half the requests stream. Checks:
 *   - every submitted request comes back exactly once (ll_client_next), with a final class;
 *   - the attempts mockllm counted equal the attempts the client counted, exactly:
 *       sum(mockllm_requests_total) == sum(res.attempts).
 *     mockllm counts a chat request once, when its answer is complete or, for one it never
 *     finishes (a stall, a close mid-response), when its connection closes (mock_openai_abort ->
 *     mock__account, status "other"). A stalled attempt is therefore counted when the client
 *     gives up and closes the connection, which can be after the client saw the call final, so
 *     the comparison waits until mockllm_in_flight is 0 (every received request accounted)
 *     after the client is destroyed (every client connection closed). curl never re-sends a
 *     request silently here: mockllm only closes a connection after an answer marked
 *     "Connection: close" or mid-answer, and its idle timeout (30 s) is longer than the run;
 *   - this process's descriptors are back to their start, its RSS near it; mockllm's
 *     descriptors are back to their baseline.
 * CI size: 2,000 requests per backend. The full soak: test_soak --soak-requests 100000 (or
 * LL_SOAK_REQUESTS=100000).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "ll_backend.h"
#include "ll_client.h"
#include "ll_clock.h"
#include "ll_mockproc.h"
#include "ll_testutil.h"

#define SOAK_DEFAULT 2000
#define SOAK_WINDOW  256 /* submitted, not yet final: bounds memory at any size */
#define SOAK_FAULTS  "--faults=429=0.05,500=0.04,503=0.04,close=0.04,stall=0.03,retry_after=0"
#define RSS_SLACK_KB (24 * 1024)

static long g_requests = SOAK_DEFAULT;
static const struct ll_message hello[] = {{"user", "Write a haiku about soak tests."}};

struct tally {
    long done, by_class[LL_CLASS__COUNT];
    long long attempts;
    unsigned char *seen; /* per request id: returned how many times */
};

static void collect(struct tally *t, struct ll_call *call)
{
    long id = (long)(intptr_t)call->res.user;
    assert_true(id >= 0 && id < g_requests);
    assert_int_equal(t->seen[id], 0); /* exactly one final result per request */
    t->seen[id]++;
    assert_true(call->res.cls >= 0 && call->res.cls < LL_CLASS__COUNT);
    assert_true(call->res.attempts >= 1);
    t->by_class[call->res.cls]++;
    t->attempts += call->res.attempts;
    t->done++;
    ll_call_free(call);
}

static void drive(struct ll_client *c, struct tally *t)
{
    long submitted = 0;
    while (t->done < g_requests) {
        while (submitted < g_requests && submitted - t->done < SOAK_WINDOW) {
            struct ll_request req = {.messages = hello,
                                     .n_messages = 1,
                                     .max_tokens = 8,
                                     .stream = submitted % 2 == 1,
                                     .user = (void *)(intptr_t)submitted};
            struct ll_call *call = NULL;
            assert_int_equal(ll_client_submit(c, &req, &call), 0);
            submitted++;
        }
        struct ll_call *call = ll_client_next(c, 30 * 1000000000LL);
        assert_non_null(call); /* nothing may hang for 30 s */
        collect(t, call);
    }
    assert_null(ll_client_next(c, 0));
    assert_int_equal(ll_client_outstanding(c), 0);
}

/* Wait (bounded) until mockllm has accounted for every request it received and closed every
 * client connection; returns its /metrics text then. */
static char *settled_metrics(struct ll_mockproc *m, int fds_base)
{
    char *text = NULL;
    for (int i = 0; i < 200; i++) {
        free(text);
        text = ll_test_metrics_get(m->host, m->port);
        assert_non_null(text);
        if (ll_test_metric_sum(text, "mockllm_in_flight", NULL) == 0 &&
            ll_test_metric_sum(text, "mockllm_connections_open", NULL) <= 1 &&
            ll_test_fd_count(m->pid) <= fds_base) {
            break;
        }
        usleep(25 * 1000);
    }
    return text;
}

static void test_soak_backend(void **state)
{
    const char *name = *state;
    const struct ll_backend *be = ll_backend_find(name);
    const char *args[] = {SOAK_FAULTS, "--seed=7", "--idle-timeout-ms=30000", NULL};
    struct ll_mockproc m;
    struct ll_client *c = NULL;
    struct ll_config cfg;
    struct tally t = {.seen = calloc((size_t)g_requests, 1)};
    assert_non_null(be);
    assert_non_null(t.seen);
    assert_int_equal(ll_mockproc_start(&m, NULL, args, 10000), 0);

    const char *urls[1];
    ll_test_config_mock(&cfg, urls, m.base_url);
    cfg.concurrency = 32;
    cfg.timeout_ms = 1000;
    cfg.connect_timeout_ms = 1000;
    cfg.retry.max_attempts = 12;
    cfg.retry.base_ms = 1;
    cfg.retry.cap_ms = 10;
    cfg.retry.max_retry_after_ms = 10;
    cfg.retry.retry_partial = true; /* a close mid-answer is retried too: every request ends ok */

    int mock_fds0 = ll_test_fd_count(m.pid) + 1; /* + the /metrics connection being served */
    long mock_rss0 = ll_test_rss_kb(m.pid);
    int fds0 = ll_test_fd_count(0);
    long rss0 = ll_test_rss_kb(0);
    int64_t t0 = ll_now_ns();
    assert_int_equal(ll_client_create(be, &cfg, &c), 0);
    drive(c, &t);
    ll_client_destroy(c);
    double secs = (double)(ll_now_ns() - t0) / 1e9;
    int fds1 = ll_test_fd_count(0);
    long rss1 = ll_test_rss_kb(0);

    char *text = settled_metrics(&m, mock_fds0);
    long long served = ll_test_metric_sum(text, "mockllm_requests_total", NULL);
    long long faults = ll_test_metric_sum(text, "mockllm_faults_total", NULL);
    long long mock_open = ll_test_metric_sum(text, "mockllm_connections_open", NULL);
    int mock_fds1 = ll_test_fd_count(m.pid);
    long mock_rss1 = ll_test_rss_kb(m.pid);
    free(text);

    print_message("  %s: %ld requests in %.1f s, %lld attempts (mockllm counted %lld), "
                  "%lld faults injected; ok %ld, 429 %ld, 5xx %ld, timeout %ld, connect %ld, "
                  "protocol %ld, other %ld\n",
                  name, t.done, secs, t.attempts, served, faults, t.by_class[LL_CLASS_NONE],
                  t.by_class[LL_CLASS_HTTP_429], t.by_class[LL_CLASS_HTTP_5XX],
                  t.by_class[LL_CLASS_TIMEOUT], t.by_class[LL_CLASS_CONNECT],
                  t.by_class[LL_CLASS_PROTOCOL],
                  t.by_class[LL_CLASS_HTTP_4XX] + t.by_class[LL_CLASS_RESOURCE] +
                      t.by_class[LL_CLASS_CANCELLED]);
    print_message("  %s: client fds %d -> %d, RSS %ld -> %ld KiB; mockllm fds %d -> %d, "
                  "open connections %lld, RSS %ld -> %ld KiB\n",
                  name, fds0, fds1, rss0, rss1, mock_fds0, mock_fds1, mock_open, mock_rss0,
                  mock_rss1);

    assert_int_equal(ll_mockproc_stop(&m, 5000), 0);
    assert_int_equal(t.done, g_requests);
    assert_int_equal(t.by_class[LL_CLASS_CANCELLED], 0);
    /* 12 attempts at 20% faults: a request failing them all has odds of 4e-9. */
    assert_int_equal(t.by_class[LL_CLASS_NONE], g_requests);
    assert_true(faults > 0);
    assert_int_equal(served, t.attempts);
    assert_int_equal(fds1, fds0);
    assert_true(mock_fds1 <= mock_fds0);
    assert_true(mock_open <= 1);
    if (!LL_TEST_SANITIZED) { /* ASan's quarantine keeps freed memory resident on purpose */
        assert_true(rss1 - rss0 < RSS_SLACK_KB);
        assert_true(mock_rss1 - mock_rss0 < RSS_SLACK_KB);
    }
    free(t.seen);
}

int main(int argc, char **argv)
{
    const char *env = getenv("LL_SOAK_REQUESTS");
    if (env != NULL) {
        g_requests = strtol(env, NULL, 10);
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--soak-requests") == 0 && i + 1 < argc) {
            g_requests = strtol(argv[++i], NULL, 10);
        } else if (strncmp(argv[i], "--soak-requests=", 16) == 0) {
            g_requests = strtol(argv[i] + 16, NULL, 10);
        }
    }
    if (g_requests < 1) {
        fprintf(stderr, "test_soak: --soak-requests must be a positive number\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_ALL);
    ll_test_warm_up(); /* before any descriptor count is taken */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_soak_backend, (void *)"threaded"),
        cmocka_unit_test_prestate(test_soak_backend, (void *)"evented"),
    };
    int failed = cmocka_run_group_tests_name("soak", tests, NULL, NULL);
    curl_global_cleanup();
    return failed != 0;
}
