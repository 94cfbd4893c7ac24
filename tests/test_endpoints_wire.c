/* test_endpoints_wire.c - both backends against the bytes real endpoints send (issue 12 items
 * 4-7 and 10), through the scripted server of tests/hostile_server.h whose request log is the
 * truth: every WHATWG SSE rule cut at every byte (tests/sse_rules.h), every error shape inside
 * a 200 (tests/inband_shapes.h), Content-Encoding asked for or not, base URLs with a query and
 * the key's header, and curl's phases against the connections the server accepted.
 * Conformance style: the same cases once per backend (a cmocka group each).
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

#include "endpoints_util.h"
#include "inband_shapes.h"
#include "ll_clock.h"
#include "ll_stats.h"
#include "sse_rules.h"

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
        /* a full endpoint URL, as servers' docs print it, is taken as it is */
        {"/v1/chat/completions", "POST /v1/chat/completions HTTP/1.1"},
        {"/openai/deployments/d/chat/completions/?api-version=1",
         "POST /openai/deployments/d/chat/completions?api-version=1 HTTP/1.1"},
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
 * for every request, about the server's 40 ms (>= 30) and at most the request's e2e; the run's
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
            /* curl 7.88 marks pretransfer once the request is out (entering DID): the server's
             * 40 ms hold, less the little between its send and that mark (ms under TSan) */
            assert_true(r->ph_ttfb_ns >= 30 * LL_NS_PER_MS);
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
    int failed = cmocka_run_group_tests_name("endpoints_wire/threaded", threaded_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("endpoints_wire/evented", evented_tests, NULL, NULL);
    curl_global_cleanup();
    return failed != 0;
}
