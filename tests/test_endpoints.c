/* test_endpoints.c - both backends against what real endpoints, proxies and load balancers do
 * to connections and time (issue 12 items 1-3), through a scripted server (tests/hostile_server.h:
 * hs_start_handler) whose own request log is the independent truth: how often a request
 * arrived, when, on which connection. The wire's shapes (SSE rules, errors inside a 200,
 * encodings, URLs, phases) are in test_endpoints_wire.c.
 *
 * Conformance style: every case runs once per backend (a cmocka group each, the backend name as
 * prestate), with the same right value. The cases:
 *   closed_*   a kept-alive connection the server closed (FIN after the answer, the 2nd request
 *              on a connection read and dropped, the same with RST, idle connections closed
 *              after 30 ms): every request succeeds with no retry and no backoff, the re-sends
 *              counted as connection re-sends and matching what the server saw; a reset in
 *              the middle of a stream reads the same on both backends
 *   stream_*, ttfb_*   total, idle and time-to-first-byte limits; an answer cut after it began
 *              is partial and not sent again
 *   retry_hint*   retry-after-ms, Retry-After, x-ratelimit-reset-*, and a hint over the limit
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "endpoints_util.h"
#include "ll_clock.h"
#include "ll_mockproc.h"

/* --- closed connections (item 1) ------------------------------------------------------------ */

enum closed_kind { FIN_AFTER, DROP_SECOND, RST_SECOND, IDLE_CLOSE };

static enum hs_after closed_handler(void *arg, const struct hs_req *req, int fd)
{
    enum closed_kind k = *(const enum closed_kind *)arg;
    if ((k == DROP_SECOND || k == RST_SECOND) && req->conn_n >= 2) {
        return k == DROP_SECOND ? HS_FIN : HS_RST; /* read it, never answer */
    }
    hs_completion(fd, "hello");
    return k == FIN_AFTER ? HS_FIN : HS_KEEP;
}

#define CLOSED_N 100

static void closed_case(void **state, enum closed_kind k)
{
    const struct ll_backend *be = backend(state);
    struct hs_server *hs = NULL;
    const char *urls[1];
    struct ll_config cfg;
    int n = k == IDLE_CLOSE ? 20 : CLOSED_N;

    for (int retries = 0; retries <= 1; retries++) {
        assert_int_equal(hs_start_handler(closed_handler, &k, k == IDLE_CLOSE ? 30 : 0, &hs), 0);
        config(&cfg, urls, hs);
        /* No retry at all, then the default policy: neither may need a retry or a backoff. */
        if (retries == 0) {
            cfg.retry.max_attempts = 1;
        }
        struct tally t = run_serial(be, &cfg, n, k == IDLE_CLOSE ? 50 : 0, false);
        int seen = hs_requests(hs), conns = hs_accepted(hs);
        hs_stop(hs);
        print_message("  %-8s kind %d max_attempts %d: ok %d/%d, re-sends %d, server saw %d "
                      "requests on %d connections%s%s\n",
                      be->name, (int)k, cfg.retry.max_attempts, t.ok, n, t.resends, seen, conns,
                      t.failed ? ", first error: " : "", t.first_err);
        assert_int_equal(t.ok, n);
        assert_int_equal(t.connects, conns); /* connections opened, counted as the server did */
        assert_int_equal(t.attempts_max, 1); /* no request was retried */
        assert_int_equal(t.backoff_waits, 0);
        switch (k) {
        case DROP_SECOND:
        case RST_SECOND:
            /* Every request after the first met a dead reused connection: re-sent once each,
             * and the server read each of those before dropping it. */
            assert_int_equal(t.resends, n - 1);
            assert_int_equal(seen, n + (n - 1));
            assert_int_equal(conns, n);
            break;
        case FIN_AFTER:
            /* The server reads only answered requests; a re-send went to a closing one. */
            assert_int_equal(seen, n);
            assert_int_equal(conns, n);
            break;
        case IDLE_CLOSE:
            /* Closed long before the next request: curl sees it dead and never sends on it. */
            assert_int_equal(seen, n);
            assert_int_equal(t.resends, 0);
            break;
        }
    }
}

static void test_endpoints_closed_fin_after(void **state)
{
    closed_case(state, FIN_AFTER);
}

static void test_endpoints_closed_drop_second(void **state)
{
    closed_case(state, DROP_SECOND);
}

static void test_endpoints_closed_rst_second(void **state)
{
    closed_case(state, RST_SECOND);
}

static void test_endpoints_closed_idle(void **state)
{
    closed_case(state, IDLE_CLOSE);
}

/* A stream the server resets after its first delta: both backends read the reset from the
 * socket and say so (the evented glue once handed curl CURL_CSELECT_ERR for it, which curl
 * reports as "select/poll returned error" without reading the socket). */
static enum hs_after rst_mid_handler(void *arg, const struct hs_req *req, int fd)
{
    static const char ev[] =
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n";
    hs_sse_head(fd, NULL);
    hs_chunk(fd, ev, sizeof(ev) - 1);
    hs_sleep(req->srv, 50); /* the client has read the delta and waits in its poll */
    return HS_RST;
}

static void test_endpoints_closed_rst_mid_stream(void **state)
{
    const struct ll_backend *be = backend(state);
    struct hs_server *hs = NULL;
    const char *urls[1];
    struct ll_config cfg;
    assert_int_equal(hs_start_handler(rst_mid_handler, NULL, 0, &hs), 0);
    config(&cfg, urls, hs);
    cfg.retry.max_attempts = 1;
    struct tally t = run_serial(be, &cfg, 3, 0, true);
    hs_stop(hs);
    print_message("  %-8s reset mid-stream: failed %d (%s): %s\n", be->name, t.failed,
                  ll_class_name(t.first_cls), t.first_err);
    assert_int_equal(t.failed, 3);
    assert_int_equal(t.first_cls, LL_CLASS_PARTIAL); /* the answer had begun */
    assert_non_null(strstr(t.first_err, "reset by peer"));
}

/* --- streams that outlive a timeout (item 3) ------------------------------------------------ */

/* A scripted stream: `n` content deltas `gap_ms` apart, silent for `stall_ms` after the first,
 * then usage and [DONE]; or, with json, the whole answer after `stall_ms` (a non-streamed
 * answer), or a 200 whose Content-Length promises more than it sends (truncate). */
struct stream_plan {
    int n, gap_ms, stall_ms;
    bool json, truncate;
};

static void send_event(int fd, const char *json)
{
    char ev[512];
    int k = snprintf(ev, sizeof(ev), "data: %s\n\n", json);
    hs_chunk(fd, ev, (size_t)k);
}

static enum hs_after stream_handler(void *arg, const struct hs_req *req, int fd)
{
    const struct stream_plan *p = arg;
    if (p->truncate) {
        static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   "Content-Length: 1000\r\n\r\n";
        static const char part[] = "{\"id\":\"c1\",\"choices\":[{\"mes";
        hs_write(fd, head, sizeof(head) - 1);
        hs_write(fd, part, sizeof(part) - 1);
        return HS_FIN;
    }
    if (p->json) {
        if (hs_sleep(req->srv, p->stall_ms)) {
            hs_completion(fd, "late");
        }
        return HS_KEEP;
    }
    hs_sse_head(fd, NULL);
    send_event(fd,
               "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}");
    for (int i = 0; i < p->n; i++) {
        if (!hs_sleep(req->srv, i == 1 ? p->stall_ms : p->gap_ms)) {
            return HS_FIN;
        }
        send_event(fd, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" w\"}}]}");
    }
    send_event(fd, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
    send_event(fd, "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":20,"
                   "\"total_tokens\":23}}");
    send_event(fd, "[DONE]");
    hs_chunk(fd, "", 0);
    return HS_KEEP;
}

/* One request against the plan under cfg (changed by the caller); returns what the server saw.
 * *ms is the request's wall time. */
static int stream_case(const struct ll_backend *be, struct stream_plan *p, struct ll_config *cfg,
                       struct tally *t, double *ms)
{
    struct hs_server *hs = NULL;
    const char *urls[1];
    assert_int_equal(hs_start_handler(stream_handler, p, 0, &hs), 0);
    urls[0] = hs_url(hs);
    cfg->base_urls = urls;
    int64_t t0 = ll_now_ns();
    *t = run_serial(be, cfg, 1, 0, !p->json && !p->truncate);
    *ms = (double)(ll_now_ns() - t0) / 1e6;
    int seen = hs_requests(hs);
    hs_stop(hs);
    print_message("  %-8s n=%d gap=%d stall=%d json=%d trunc=%d: ok %d, %s, %.0f ms, server saw "
                  "%d: %s\n",
                  be->name, p->n, p->gap_ms, p->stall_ms, p->json, p->truncate, t->ok,
                  t->failed ? ll_class_name(t->first_cls) : "ok", *ms, seen, t->first_err);
    return seen;
}

static void stream_config(struct ll_config *cfg, struct hs_server *unused)
{
    (void)unused;
    ll_config_defaults(cfg);
    cfg->n_base_urls = 1;
    cfg->concurrency = 1;
    cfg->retry.max_attempts = 3; /* --retries 2 */
    cfg->retry.jitter = false;
    cfg->retry.base_ms = 10;
}

/* A live stream (a delta every 50 ms for 1 s) outlasts a 0.5 s total timeout: the server is asked
 * once, never again (the answer had begun: class partial); with the defaults, which have no
 * total timeout, the same stream succeeds. */
static void test_endpoints_stream_outlives_total(void **state)
{
    const struct ll_backend *be = backend(state);
    struct stream_plan p = {.n = 20, .gap_ms = 50, .stall_ms = 50};
    struct ll_config cfg;
    struct tally t;
    double ms;
    stream_config(&cfg, NULL);
    cfg.timeout_ms = 500;
    assert_int_equal(stream_case(be, &p, &cfg, &t, &ms), 1);
    assert_int_equal(t.failed, 1);
    assert_int_equal(t.first_cls, LL_CLASS_PARTIAL);
    assert_int_equal(t.attempts_max, 1);
    assert_non_null(strstr(t.first_err, "answer cut after"));

    stream_config(&cfg, NULL);
    cfg.idle_timeout_ms = 300; /* a stream that keeps sending is never cut by it */
    assert_int_equal(stream_case(be, &p, &cfg, &t, &ms), 1);
    assert_int_equal(t.ok, 1);
    assert_true(ms >= 900); /* the whole stream: 20 deltas 50 ms apart */
}

/* A stream that falls silent after its first delta: the idle limit ends it (0.3 s; the threaded
 * backend looks at least once a second), as partial, not sent again; with --retry-partial it is
 * sent again, each attempt cut the same way. */
static void test_endpoints_stream_idle(void **state)
{
    const struct ll_backend *be = backend(state);
    struct stream_plan p = {.n = 3, .gap_ms = 10, .stall_ms = 2500};
    struct ll_config cfg;
    struct tally t;
    double ms;
    stream_config(&cfg, NULL);
    cfg.idle_timeout_ms = 300;
    assert_int_equal(stream_case(be, &p, &cfg, &t, &ms), 1);
    assert_int_equal(t.first_cls, LL_CLASS_PARTIAL);
    assert_non_null(strstr(t.first_err, "idle timeout"));
    assert_true(ms >= 300 && ms < 2400); /* cut by the idle limit, not the end of the stall */

    cfg.retry.retry_partial = true;
    assert_int_equal(stream_case(be, &p, &cfg, &t, &ms), 3);
    assert_int_equal(t.first_cls, LL_CLASS_PARTIAL);
    assert_int_equal(t.attempts_max, 3);
}

/* A non-streamed answer that takes 2.5 s: the ttfb limit (0.3 s) ends each attempt before any
 * byte, a timeout that is retried (nothing had begun); a truncated 200 is partial, not retried. */
static void test_endpoints_ttfb_and_truncated(void **state)
{
    const struct ll_backend *be = backend(state);
    struct stream_plan slow = {.json = true, .stall_ms = 2500};
    struct stream_plan cut = {.truncate = true};
    struct ll_config cfg;
    struct tally t;
    double ms;
    stream_config(&cfg, NULL);
    cfg.ttfb_timeout_ms = 300;
    cfg.retry.max_attempts = 2;
    assert_int_equal(stream_case(be, &slow, &cfg, &t, &ms), 2);
    assert_int_equal(t.first_cls, LL_CLASS_TIMEOUT);
    assert_non_null(strstr(t.first_err, "ttfb timeout"));
    assert_true(ms >= 600 && ms < 4800);

    stream_config(&cfg, NULL);
    assert_int_equal(stream_case(be, &cut, &cfg, &t, &ms), 1);
    assert_int_equal(t.first_cls, LL_CLASS_PARTIAL);
    assert_int_equal(t.attempts_max, 1);
}

/* --- retry hints (item 2) ------------------------------------------------------------------ */

/* The first request gets `status` with the hint headers, every later one a completion. */
struct hint_plan {
    int status;
    char hdrs[256];
};

static enum hs_after hint_handler(void *arg, const struct hs_req *req, int fd)
{
    const struct hint_plan *p = arg;
    if (req->n == 1) {
        static const char body[] =
            "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}";
        hs_answer(fd, p->status, NULL, p->hdrs, body, sizeof(body) - 1);
    } else {
        hs_completion(fd, "ok");
    }
    return HS_KEEP;
}

struct hint_case {
    int status;
    const char *hdrs;    /* "%s" is replaced by an HTTP-date 2 s ahead */
    double lo_ms, hi_ms; /* the gap the server must see between the two attempts */
};

/* Each hint waited as asked (the gap measured at the server), the preferred one when several
 * are sent; a 503's rate headers ignored (the backoff, 10 ms here, applies). */
static void test_endpoints_retry_hints(void **state)
{
    static const struct hint_case cases[] = {
        {429, "retry-after-ms: 700\r\n", 690, 1400},
        {429, "Retry-After: 1\r\n", 990, 1700},
        {429, "Retry-After: %s\r\n", 1000, 2800},
        {429, "retry-after-ms: 300\r\nRetry-After: 2\r\n", 290, 1000},
        {429,
         "x-ratelimit-remaining-requests: 0\r\nx-ratelimit-reset-requests: 400ms\r\n"
         "x-ratelimit-remaining-tokens: 9000\r\nx-ratelimit-reset-tokens: 6m0s\r\n",
         390, 1100},
        {429, "x-ratelimit-reset-tokens: 0.6s\r\n", 590, 1300},
        {503, "x-ratelimit-reset-requests: 5s\r\n", 0, 900},
    };
    const struct ll_backend *be = backend(state);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hint_plan p = {.status = cases[i].status};
        char date[64];
        time_t when = time(NULL) + 2;
        struct tm tm;
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&when, &tm));
        snprintf(p.hdrs, sizeof(p.hdrs), cases[i].hdrs, date);
        struct hs_server *hs = NULL;
        const char *urls[1];
        struct ll_config cfg;
        assert_int_equal(hs_start_handler(hint_handler, &p, 0, &hs), 0);
        config(&cfg, urls, hs);
        cfg.retry.base_ms = 10;
        cfg.retry.jitter = false;
        struct tally t = run_serial(be, &cfg, 1, 0, false);
        int seen = hs_requests(hs);
        double gap = seen >= 2 ? (double)(hs_req_time(hs, 1) - hs_req_time(hs, 0)) / 1e6 : -1;
        hs_stop(hs);
        print_message("  %-8s hint case %zu: ok %d, server saw %d, gap %.0f ms (want %.0f..%.0f)\n",
                      be->name, i, t.ok, seen, gap, cases[i].lo_ms, cases[i].hi_ms);
        assert_int_equal(t.ok, 1);
        assert_int_equal(seen, 2);
        assert_true(gap >= cases[i].lo_ms && gap <= cases[i].hi_ms);
    }
}

/* An hour asked for, 60 s allowed: the request ends now, and the message says why. */
static void test_endpoints_retry_hint_too_long(void **state)
{
    const struct ll_backend *be = backend(state);
    struct hint_plan p = {.status = 429};
    snprintf(p.hdrs, sizeof(p.hdrs), "Retry-After: 3600\r\n");
    struct hs_server *hs = NULL;
    const char *urls[1];
    struct ll_config cfg;
    assert_int_equal(hs_start_handler(hint_handler, &p, 0, &hs), 0);
    config(&cfg, urls, hs);
    int64_t t0 = ll_now_ns();
    struct tally t = run_serial(be, &cfg, 1, 0, false);
    double ms = (double)(ll_now_ns() - t0) / 1e6;
    int seen = hs_requests(hs);
    hs_stop(hs);
    print_message("  %-8s an hour asked: %s after %.0f ms: %s\n", be->name,
                  ll_class_name(t.first_cls), ms, t.first_err);
    assert_int_equal(t.failed, 1);
    assert_int_equal(t.first_cls, LL_CLASS_HTTP_429);
    assert_int_equal(seen, 1);
    assert_true(ms < 2000);
    assert_non_null(strstr(t.first_err, "asked to wait 3600 s (Retry-After)"));
    assert_non_null(strstr(t.first_err, "Rate limit reached"));
}

/* --- limits that cut connects (the evented glue and curl 7.88's unconnected sockets) -----------
 */

/* 3,000 requests, 8 in flight, 1 ms total and connect limits against mockllm answering in 5 ms:
 * most attempts are cut, many while their connect is under way. curl 7.88 closes a socket whose
 * connect it gave up with plain close(2), without the close-socket callback: a poll the
 * evented glue had left on it made libuv abort (epoll_ctl ADD, EBADF) on its next pass. Every
 * request ends, with one final outcome, and the process lives. */
#define TCC_N 3000

static void test_endpoints_timeouts_cut_connects(void **state)
{
    const struct ll_backend *be = backend(state);
    const char *args[] = {"--latency-ms=5", NULL};
    struct ll_mockproc m;
    struct ll_config cfg;
    struct ll_client *c = NULL;
    const char *urls[1];
    assert_int_equal(ll_mockproc_start(&m, NULL, args, 10000), 0);
    ll_config_defaults(&cfg);
    urls[0] = m.base_url;
    cfg.base_urls = urls;
    cfg.n_base_urls = 1;
    cfg.concurrency = 8;
    cfg.timeout_ms = 1;
    cfg.connect_timeout_ms = 1;
    cfg.retry.max_attempts = 3;
    cfg.retry.base_ms = 1;
    cfg.retry.cap_ms = 2;
    assert_int_equal(ll_client_create(be, &cfg, &c), 0);
    int done = 0, classes[LL_CLASS__COUNT] = {0};
    for (int i = 0; i < TCC_N; i++) {
        struct ll_request req = {.messages = hello, .n_messages = 1};
        struct ll_call *call = NULL;
        assert_int_equal(ll_client_submit(c, &req, &call), 0);
    }
    for (struct ll_call *call; done < TCC_N && (call = ll_client_next(c, 30 * LL_NS_PER_S));) {
        classes[call->res.cls]++;
        done++;
        ll_call_free(call);
    }
    ll_client_destroy(c);
    assert_int_equal(ll_mockproc_stop(&m, 5000), 0);
    print_message("  %-8s %d requests: ok %d, timeout %d, partial %d, connect %d\n", be->name,
                  TCC_N, classes[LL_CLASS_NONE], classes[LL_CLASS_TIMEOUT],
                  classes[LL_CLASS_PARTIAL], classes[LL_CLASS_CONNECT]);
    assert_int_equal(done, TCC_N);
    assert_int_equal(classes[LL_CLASS_CANCELLED], 0);
}

/* ------------------------------------------------------------------------------------------- */

#define CASES(be)                                                                                  \
    const struct CMUnitTest be##_tests[] = {                                                       \
        cmocka_unit_test_prestate(test_endpoints_closed_fin_after, (void *)#be),                   \
        cmocka_unit_test_prestate(test_endpoints_closed_drop_second, (void *)#be),                 \
        cmocka_unit_test_prestate(test_endpoints_closed_rst_second, (void *)#be),                  \
        cmocka_unit_test_prestate(test_endpoints_closed_idle, (void *)#be),                        \
        cmocka_unit_test_prestate(test_endpoints_closed_rst_mid_stream, (void *)#be),              \
        cmocka_unit_test_prestate(test_endpoints_stream_outlives_total, (void *)#be),              \
        cmocka_unit_test_prestate(test_endpoints_stream_idle, (void *)#be),                        \
        cmocka_unit_test_prestate(test_endpoints_ttfb_and_truncated, (void *)#be),                 \
        cmocka_unit_test_prestate(test_endpoints_retry_hints, (void *)#be),                        \
        cmocka_unit_test_prestate(test_endpoints_retry_hint_too_long, (void *)#be),                \
        cmocka_unit_test_prestate(test_endpoints_timeouts_cut_connects, (void *)#be),              \
    }

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    CASES(threaded);
    CASES(evented);
    int failed = cmocka_run_group_tests_name("endpoints/threaded", threaded_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("endpoints/evented", evented_tests, NULL, NULL);
    curl_global_cleanup();
    return failed != 0;
}
