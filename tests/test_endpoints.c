/* test_endpoints.c - both backends against what real endpoints, proxies and load balancers do
 * (issue 12), through a scripted server (tests/hostile_server.h: hs_start_handler) whose own
 * request log is the independent truth: how often a request arrived, when, with which path and
 * headers.
 *
 * Conformance style: every case runs once per backend (a cmocka group each, the backend name as
 * prestate), with the same right value. The cases:
 *   closed_*   a kept-alive connection the server closed (FIN after the answer, the 2nd request
 *              on a connection read and dropped, the same with RST, idle connections closed
 *              after 30 ms): every request succeeds with no retry and no backoff, the re-sends
 *              counted as connection re-sends and matching what the server saw.
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
#include <zlib.h>

#include "hostile_server.h"
#include "ll_backend.h"
#include "ll_client.h"
#include "ll_clock.h"
#include "ll_stats.h"
#include "inband_shapes.h"
#include "sse_rules.h"

static const struct ll_message hello[] = {{"user", "Say hello."}};

/* What one batch of calls came to. */
struct tally {
    int ok, failed, attempts_max, resends, connects;
    enum ll_class first_cls;
    char first_err[160];
    int64_t backoff_waits;
};

static const struct ll_backend *backend(void **state)
{
    const struct ll_backend *be = ll_backend_find((const char *)*state);
    assert_non_null(be);
    return be;
}

static void config(struct ll_config *cfg, const char **urls, struct hs_server *hs)
{
    ll_config_defaults(cfg);
    urls[0] = hs_url(hs);
    cfg->base_urls = urls;
    cfg->n_base_urls = 1;
    cfg->concurrency = 1;
    cfg->timeout_ms = 10000;
}

static void tally_add(struct tally *t, const struct ll_call *call)
{
    const struct ll_result *r = &call->res;
    if (r->cls == LL_CLASS_NONE) {
        t->ok++;
    } else if (t->failed++ == 0) {
        t->first_cls = r->cls;
        snprintf(t->first_err, sizeof(t->first_err), "%s", r->errmsg);
    }
    t->attempts_max = r->attempts > t->attempts_max ? r->attempts : t->attempts_max;
    t->resends += r->resends;
    t->connects += r->connects;
}

/* n requests one after another (gap_ms apart), each waited for. */
static struct tally run_serial(const struct ll_backend *be, const struct ll_config *cfg, int n,
                               int gap_ms, bool stream)
{
    struct tally t = {0};
    struct ll_client *c = NULL;
    struct ll_be_stats bs;
    assert_int_equal(ll_client_create(be, cfg, &c), 0);
    for (int i = 0; i < n; i++) {
        struct ll_request req = {
            .messages = hello, .n_messages = 1, .max_tokens = 4, .stream = stream};
        struct ll_call *call = NULL;
        assert_int_equal(ll_client_submit(c, &req, &call), 0);
        assert_int_equal(ll_client_wait(c, call), 0);
        tally_add(&t, call);
        ll_call_free(call);
        if (gap_ms > 0) {
            struct timespec ts = {0, gap_ms * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    ll_client_sample(c, &bs);
    t.backoff_waits = (int64_t)bs.backoff_waits;
    ll_client_destroy(c);
    return t;
}

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
        static const char part[] = "{\"id\":\"c1\",\"choices\":[{\"mes";
        hs_write(fd,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000"
                 "\r\n\r\n",
                 83);
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

/* --- the SSE rules over the wire (item 6) ------------------------------------------------------
 */

/* The value of request header `name` as a number, or -1. */
static long head_num(const char *head, const char *name)
{
    const char *h = strcasestr(head, name);
    return h != NULL ? strtol(h + strlen(name), NULL, 10) : -1;
}

/* Rule x-rule's stream, in two chunks cut at byte x-split, 2 ms apart: the client reads the
 * two pieces separately. */
static enum hs_after rule_handler(void *arg, const struct hs_req *req, int fd)
{
    long k = head_num(req->head, "\r\nx-rule: "), cut = head_num(req->head, "\r\nx-split: ");
    if (k < 0 || k >= (long)SSE_N_RULES || cut < 0 || cut > (long)sse_rules[k].len) {
        hs_answer(fd, 400, NULL, NULL, "{}", 2);
        return HS_KEEP;
    }
    const struct sse_rule *r = &sse_rules[k];
    hs_sse_head(fd, NULL);
    if (cut > 0) {
        hs_chunk(fd, r->bytes, (size_t)cut);
        hs_sleep(req->srv, 2);
    }
    if ((size_t)cut < r->len) {
        hs_chunk(fd, r->bytes + cut, r->len - (size_t)cut);
    }
    hs_chunk(fd, "", 0);
    return HS_KEEP;
}

/* Every rule of tests/sse_rules.h, cut at every byte, through the backend: the content the
 * deltas join to, and success exactly when the stream ended with a dispatched [DONE]. */
static void test_endpoints_sse_rules(void **state)
{
    const struct ll_backend *be = backend(state);
    struct hs_server *hs = NULL;
    const char *urls[1];
    struct ll_config cfg;
    struct ll_client *c = NULL;
    assert_int_equal(hs_start_handler(rule_handler, NULL, 0, &hs), 0);
    config(&cfg, urls, hs);
    cfg.concurrency = 8;
    cfg.retry.max_attempts = 1;
    assert_int_equal(ll_client_create(be, &cfg, &c), 0);
    size_t total = 0, bad = 0;
    for (size_t k = 0; k < SSE_N_RULES; k++) {
        const struct sse_rule *r = &sse_rules[k];
        for (size_t cut = 0; cut <= r->len; cut++) {
            char h[2][48];
            const char *hdrs[2] = {h[0], h[1]};
            snprintf(h[0], sizeof(h[0]), "x-rule: %zu", k);
            snprintf(h[1], sizeof(h[1]), "x-split: %zu", cut);
            struct ll_request req = {.messages = hello,
                                     .n_messages = 1,
                                     .stream = true,
                                     .headers = hdrs,
                                     .n_headers = 2,
                                     .user = (void *)r};
            struct ll_call *call = NULL;
            assert_int_equal(ll_client_submit(c, &req, &call), 0);
            total++;
        }
    }
    for (size_t n = 0; n < total; n++) {
        struct ll_call *call = ll_client_next(c, 30 * LL_NS_PER_S);
        assert_non_null(call);
        const struct sse_rule *r = call->res.user;
        const char *got = call->res.content ? call->res.content : "";
        enum ll_class want = r->done ? LL_CLASS_NONE : LL_CLASS_PROTOCOL;
        if (call->res.cls != want || strcmp(got, r->content) != 0) {
            if (bad++ < 5) {
                print_message("  %-8s rule '%s': %s '%s' (%s), want %s '%s'\n", be->name, r->name,
                              ll_class_name(call->res.cls), got, call->res.errmsg,
                              ll_class_name(want), r->content);
            }
        }
        ll_call_free(call);
    }
    ll_client_destroy(c);
    int seen = hs_requests(hs);
    hs_stop(hs);
    print_message("  %-8s %zu rules, %zu streams (every cut), %zu wrong; server saw %d\n", be->name,
                  SSE_N_RULES, total, bad, seen);
    assert_int_equal(bad, 0);
    assert_int_equal(seen, (int)total);
}

/* --- errors inside a 200 (item 7) ----------------------------------------------------------- */

static enum hs_after inband_handler(void *arg, const struct hs_req *req, int fd)
{
    const struct inband_shape *s = arg;
    if (!s->stream) {
        hs_answer(fd, 200, NULL, NULL, s->body, strlen(s->body));
        return HS_KEEP;
    }
    hs_sse_head(fd, NULL);
    hs_chunk(fd, s->body, strlen(s->body));
    hs_chunk(fd, "data: [DONE]\n\n", 14); /* servers end the stream as usual after an error */
    hs_chunk(fd, "", 0);
    return HS_KEEP;
}

/* Every shape of tests/inband_shapes.h from a server, with one retry allowed: the class, the
 * server's message in the request's, and a retry exactly when the class is retryable (the
 * server's count); the look-alikes succeed with their content. */
static void test_endpoints_inband_errors(void **state)
{
    const struct ll_backend *be = backend(state);
    for (size_t i = 0; i < INBAND_N; i++) {
        const struct inband_shape *s = &inband_shapes[i];
        struct hs_server *hs = NULL;
        const char *urls[1];
        struct ll_config cfg;
        struct ll_client *c = NULL;
        assert_int_equal(hs_start_handler(inband_handler, (void *)s, 0, &hs), 0);
        config(&cfg, urls, hs);
        cfg.retry.max_attempts = 2;
        cfg.retry.base_ms = 5;
        cfg.retry.jitter = false;
        assert_int_equal(ll_client_create(be, &cfg, &c), 0);
        struct ll_request req = {
            .messages = hello, .n_messages = 1, .max_tokens = 4, .stream = s->stream};
        struct ll_call *call = NULL;
        assert_int_equal(ll_client_submit(c, &req, &call), 0);
        assert_int_equal(ll_client_wait(c, call), 0);
        const struct ll_result *r = &call->res;
        bool retried = s->cls == LL_CLASS_HTTP_429 || s->cls == LL_CLASS_HTTP_5XX;
        int seen = hs_requests(hs);
        print_message("  %-8s %-45s %-8s x%d %s\n", be->name, s->who, ll_class_name(r->cls), seen,
                      r->cls != LL_CLASS_NONE ? r->errmsg : r->content);
        if (r->cls != s->cls) {
            fail_msg("%s: class %s, want %s", s->who, ll_class_name(r->cls), ll_class_name(s->cls));
        }
        const char *text = s->cls == LL_CLASS_NONE ? (r->content ? r->content : "") : r->errmsg;
        if (strstr(text, s->msg) == NULL) {
            fail_msg("%s: '%s' lacks '%s'", s->who, text, s->msg);
        }
        assert_int_equal(seen, retried ? 2 : 1);
        assert_int_equal(r->attempts, seen);
        ll_call_free(call);
        ll_client_destroy(c);
        hs_stop(hs);
    }
}

/* --- Content-Encoding (item 4) -------------------------------------------------------------- */

enum enc { ENC_GZIP, ENC_DEFLATE, ENC_BAD, ENC_UNKNOWN };

struct enc_plan {
    enum enc enc;
    bool stream;
};

/* Compress `in` into out (gzip or zlib wrapper) with a sync flush, or finish the stream. */
static size_t squeeze(z_stream *z, const char *in, size_t n, char *out, size_t cap, int flush)
{
    z->next_in = (Bytef *)in;
    z->avail_in = (uInt)n;
    z->next_out = (Bytef *)out;
    z->avail_out = (uInt)cap;
    assert_int_not_equal(deflate(z, flush), Z_STREAM_ERROR);
    return cap - z->avail_out;
}

/* A completion (or a stream of three deltas, each event flushed as nginx and CDNs do) in the
 * plan's encoding; "bad" claims gzip and sends plain bytes, "unknown" names an encoding no
 * libcurl decodes. */
static enum hs_after enc_handler(void *arg, const struct hs_req *req, int fd)
{
    const struct enc_plan *p = arg;
    static const char *const names[] = {"gzip", "deflate", "gzip", "snappy"};
    static const char body[] = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                               "\"content\":\"packed\"},\"finish_reason\":\"stop\"}]}";
    static const char *const evs[] = {"data: " SSE_CH("p") "\n\n", "data: " SSE_CH("a") "\n\n",
                                      "data: " SSE_CH("k") "\n\n", "data: [DONE]\n\n"};
    char out[4096], hdr[128];
    z_stream z = {0};
    bool squeeze_it = p->enc == ENC_GZIP || p->enc == ENC_DEFLATE;
    if (squeeze_it) {
        assert_int_equal(
            deflateInit2(&z, 6, Z_DEFLATED, p->enc == ENC_GZIP ? 31 : 15, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
    }
    snprintf(hdr, sizeof(hdr), "Content-Encoding: %s\r\n", names[p->enc]);
    if (!p->stream) {
        size_t n = squeeze_it ? squeeze(&z, body, sizeof(body) - 1, out, sizeof(out), Z_FINISH)
                              : (size_t)snprintf(out, sizeof(out), "%s", body);
        hs_answer(fd, 200, NULL, hdr, out, n);
    } else {
        hs_sse_head(fd, hdr);
        for (size_t i = 0; i < 4; i++) {
            size_t n = squeeze_it ? squeeze(&z, evs[i], strlen(evs[i]), out, sizeof(out),
                                            i == 3 ? Z_FINISH : Z_SYNC_FLUSH)
                                  : (size_t)snprintf(out, sizeof(out), "%s", evs[i]);
            hs_chunk(fd, out, n);
        }
        hs_chunk(fd, "", 0);
    }
    if (squeeze_it) {
        deflateEnd(&z);
    }
    return HS_KEEP;
}

/* Asked for (a header, or cfg.compressed) or not, a gzip or deflate answer is decoded, JSON and
 * SSE; the Accept-Encoding the server saw is the one asked for, or none; an answer that cannot
 * be decoded fails with a message naming its Content-Encoding. */
static void test_endpoints_content_encoding(void **state)
{
    const struct ll_backend *be = backend(state);
    for (int k = 0; k < 16; k++) {
        struct enc_plan p = {.enc = (enum enc)(k % 4), .stream = (k / 4) % 2 == 1};
        int ask = k / 8; /* 0: not asked, 1: --header Accept-Encoding: gzip, then compressed */
        for (int how = ask; how <= (ask ? 2 : 0); how++) {
            struct hs_server *hs = NULL;
            const char *urls[1];
            struct ll_config cfg;
            struct ll_client *c = NULL;
            const char *hdrs[1] = {"Accept-Encoding: gzip"};
            assert_int_equal(hs_start_handler(enc_handler, &p, 0, &hs), 0);
            config(&cfg, urls, hs);
            cfg.retry.max_attempts = 1;
            cfg.compressed = how == 2;
            assert_int_equal(ll_client_create(be, &cfg, &c), 0);
            struct ll_request req = {.messages = hello,
                                     .n_messages = 1,
                                     .stream = p.stream,
                                     .headers = hdrs,
                                     .n_headers = how == 1 ? 1 : 0};
            struct ll_call *call = NULL;
            assert_int_equal(ll_client_submit(c, &req, &call), 0);
            assert_int_equal(ll_client_wait(c, call), 0);
            char ae[128] = "";
            bool sent_ae = hs_req_header(hs, 0, "Accept-Encoding", ae, sizeof(ae));
            const struct ll_result *r = &call->res;
            print_message("  %-8s enc %d stream %d asked %d: %s '%s' (Accept-Encoding %s)\n",
                          be->name, p.enc, p.stream, how, ll_class_name(r->cls),
                          r->cls ? r->errmsg : r->content, sent_ae ? ae : "none");
            if (how == 0) {
                assert_false(sent_ae); /* nothing asked: nothing said */
            } else {
                assert_non_null(strstr(ae, "gzip"));
            }
            if (p.enc == ENC_GZIP || p.enc == ENC_DEFLATE) {
                assert_int_equal(r->cls, LL_CLASS_NONE);
                assert_string_equal(r->content, p.stream ? "pak" : "packed");
            } else {
                assert_int_equal(r->cls, LL_CLASS_PROTOCOL);
                assert_non_null(strstr(r->errmsg, p.enc == ENC_BAD ? "Content-Encoding: gzip"
                                                                   : "Content-Encoding: snappy"));
            }
            ll_call_free(call);
            ll_client_destroy(c);
            hs_stop(hs);
        }
    }
}

/* --- base URLs with a query, and the key's header (item 5) ---------------------------------- */

static enum hs_after ok_handler(void *arg, const struct hs_req *req, int fd)
{
    hs_completion(fd, "ok");
    return HS_KEEP;
}

/* The request line the server saw for each base URL shape (Azure's deployment URL with its
 * api-version query, with a trailing slash, a plain /v1), and the key sent as a bearer token or
 * under the header named (Azure's api-key), the other never sent. */
static void test_endpoints_base_url_and_key(void **state)
{
    static const struct {
        const char *path, *want;
    } urls[] = {
        {"/openai/deployments/gpt4o?api-version=2024-06-01",
         "POST /openai/deployments/gpt4o/chat/completions?api-version=2024-06-01 HTTP/1.1"},
        {"/openai/deployments/gpt4o/?api-version=2024-06-01&x=1",
         "POST /openai/deployments/gpt4o/chat/completions?api-version=2024-06-01&x=1 HTTP/1.1"},
        {"/v1", "POST /v1/chat/completions HTTP/1.1"},
        {"/v1/", "POST /v1/chat/completions HTTP/1.1"},
        {"", "POST /chat/completions HTTP/1.1"},
    };
    const struct ll_backend *be = backend(state);
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        struct hs_server *hs = NULL;
        struct ll_config cfg;
        char base[256], line[256], v[128];
        const char *bases[1] = {base};
        assert_int_equal(hs_start_handler(ok_handler, NULL, 0, &hs), 0);
        const char *u = hs_url(hs);
        snprintf(base, sizeof(base), "%.*s%s", (int)(strrchr(u, '/') - u), u, urls[i].path);
        config(&cfg, bases, hs);
        bases[0] = base;
        cfg.api_key = "sk-SECRET";
        cfg.api_key_header = i % 2 == 0 ? "api-key" : NULL;
        struct tally t = run_serial(be, &cfg, 1, 0, false);
        assert_true(hs_req_header(hs, 0, "", line, sizeof(line)));
        print_message("  %-8s %s -> %s\n", be->name, base, line);
        assert_int_equal(t.ok, 1);
        assert_string_equal(line, urls[i].want);
        if (cfg.api_key_header != NULL) {
            assert_true(hs_req_header(hs, 0, "api-key", v, sizeof(v)));
            assert_string_equal(v, "sk-SECRET");
            assert_false(hs_req_header(hs, 0, "Authorization", v, sizeof(v)));
        } else {
            assert_true(hs_req_header(hs, 0, "Authorization", v, sizeof(v)));
            assert_string_equal(v, "Bearer sk-SECRET");
            assert_false(hs_req_header(hs, 0, "api-key", v, sizeof(v)));
        }
        hs_stop(hs);
    }
}

/* --- the wire's phases (item 10) ------------------------------------------------------------ */

static enum hs_after slow_handler(void *arg, const struct hs_req *req, int fd)
{
    if (hs_sleep(req->srv, 40)) { /* the server's time: request read to answer */
        hs_completion(fd, "ok");
    }
    return HS_KEEP;
}

/* 10 requests, reusing one connection and then a new one each: dns and connect recorded once
 * per connection the server accepted (and never for a reused one), no tls over plain HTTP, ttfb
 * for every request, at least the server's 40 ms and at most the request's e2e; the run's
 * figures (ll_stats) count the same. */
static void test_endpoints_phases(void **state)
{
    const struct ll_backend *be = backend(state);
    for (int no_reuse = 0; no_reuse <= 1; no_reuse++) {
        struct hs_server *hs = NULL;
        const char *urls[1];
        struct ll_config cfg;
        struct ll_client *c = NULL;
        struct ll_stats st;
        assert_int_equal(ll_stats_init(&st, NULL), 0);
        assert_int_equal(hs_start_handler(slow_handler, NULL, 0, &hs), 0);
        config(&cfg, urls, hs);
        cfg.no_reuse = no_reuse;
        assert_int_equal(ll_client_create(be, &cfg, &c), 0);
        int connected = 0;
        for (int i = 0; i < 10; i++) {
            struct ll_request req = {.messages = hello, .n_messages = 1};
            struct ll_call *call = NULL;
            assert_int_equal(ll_client_submit(c, &req, &call), 0);
            assert_int_equal(ll_client_wait(c, call), 0);
            const struct ll_result *r = &call->res;
            assert_int_equal(r->cls, LL_CLASS_NONE);
            assert_true((r->ph_connect_ns >= 0) == (r->connects > 0));
            assert_true((r->ph_dns_ns >= 0) == (r->connects > 0));
            connected += r->ph_connect_ns >= 0;
            assert_int_equal(r->ph_tls_ns, -1);
            assert_true(r->ph_ttfb_ns >= 40 * LL_NS_PER_MS);
            assert_true(r->ph_ttfb_ns <= r->t_end - r->t_dispatch);
            ll_stats_add_result(&st, r, 0);
            ll_call_free(call);
        }
        ll_client_destroy(c);
        int accepted = hs_accepted(hs);
        hs_stop(hs);
        print_message(
            "  %-8s no_reuse %d: %d connections (server: %d); stats: dns %llu connect "
            "%llu tls %llu ttfb %llu, connects %llu\n",
            be->name, no_reuse, connected, accepted, (unsigned long long)st.hist[LL_H_DNS]->n,
            (unsigned long long)st.hist[LL_H_CONNECT]->n, (unsigned long long)st.hist[LL_H_TLS]->n,
            (unsigned long long)st.hist[LL_H_TTFB]->n, (unsigned long long)st.connects);
        assert_int_equal(connected, accepted);
        assert_int_equal(accepted, no_reuse ? 10 : 1);
        assert_int_equal(st.hist[LL_H_CONNECT]->n, (uint64_t)accepted);
        assert_int_equal(st.hist[LL_H_DNS]->n, (uint64_t)accepted);
        assert_int_equal(st.connects, (uint64_t)accepted);
        assert_int_equal(st.hist[LL_H_TLS]->n, 0);
        assert_int_equal(st.hist[LL_H_TTFB]->n, 10);
        ll_stats_free(&st);
    }
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
        cmocka_unit_test_prestate(test_endpoints_sse_rules, (void *)#be),                          \
        cmocka_unit_test_prestate(test_endpoints_inband_errors, (void *)#be),                      \
        cmocka_unit_test_prestate(test_endpoints_content_encoding, (void *)#be),                   \
        cmocka_unit_test_prestate(test_endpoints_base_url_and_key, (void *)#be),                   \
        cmocka_unit_test_prestate(test_endpoints_phases, (void *)#be),                             \
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
