/* test_xfer.c - the wire attempt (ll_xfer) and the client layer (ll_client) against a scripted
 * in-process HTTP server, through a minimal synchronous backend defined here. The real backends
 * have their own conformance suite; this one pins down what they share: request rendering,
 * answer parsing, SSE, classification, retries and gather semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ll_client.h"
#include "ll_clock.h"
#include "ll_xfer.h"

/* ---- scripted server: answers the i-th request with script[i] ---------------------------- */

#define MAX_SCRIPT 16

static struct {
    int lfd, port;
    pthread_t thread;
    pthread_mutex_t mu;
    char *script[MAX_SCRIPT];
    int n_script, served;
    char last_req[8192];
    atomic_int stop; /* set by the test thread, polled by the server thread */
} srv;

static char *response(int status, const char *ctype, const char *extra, const char *body)
{
    char *r = malloc(strlen(body) + 512);
    assert_non_null(r);
    sprintf(r, "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n%s", status,
            ctype, strlen(body), extra, body);
    return r;
}

static void script(char *resp)
{
    pthread_mutex_lock(&srv.mu);
    assert_true(srv.n_script < MAX_SCRIPT);
    srv.script[srv.n_script++] = resp;
    pthread_mutex_unlock(&srv.mu);
}

static void script_reset(void)
{
    pthread_mutex_lock(&srv.mu);
    for (int i = 0; i < srv.n_script; i++) {
        free(srv.script[i]);
    }
    srv.n_script = srv.served = 0;
    srv.last_req[0] = '\0';
    pthread_mutex_unlock(&srv.mu);
}

/* Wait until fd is readable or the server is told to stop. */
static int wait_readable(int fd)
{
    while (!srv.stop) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) > 0) {
            return 1;
        }
    }
    return 0;
}

static void serve_conn(int fd)
{
    char buf[8192];
    size_t len = 0;
    while (wait_readable(fd)) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0) {
            return;
        }
        len += (size_t)n;
        buf[len] = '\0';
        char *eoh = strstr(buf, "\r\n\r\n");
        if (eoh == NULL) {
            continue;
        }
        const char *cl = strcasestr(buf, "Content-Length:");
        size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
        size_t total = (size_t)(eoh + 4 - buf) + body;
        if (len < total) {
            continue;
        }
        pthread_mutex_lock(&srv.mu);
        memcpy(srv.last_req, buf, total);
        srv.last_req[total] = '\0';
        /* A copy: the client can finish, and the test free the script, while write() is
         * still returning (ASan checks the buffer after the call). */
        char *resp =
            strdup(srv.served < srv.n_script ? srv.script[srv.served]
                                             : "HTTP/1.1 500 X\r\nContent-Length: 0\r\n\r\n");
        srv.served++;
        pthread_mutex_unlock(&srv.mu);
        int done = resp == NULL || write(fd, resp, strlen(resp)) < 0 ||
                   strstr(resp, "Connection: close") != NULL;
        free(resp);
        if (done) {
            return;
        }
        memmove(buf, buf + total, len - total);
        len -= total;
    }
}

static void *server_main(void *arg)
{
    while (wait_readable(srv.lfd)) {
        int fd = accept(srv.lfd, NULL, NULL);
        if (fd >= 0) {
            serve_conn(fd);
            close(fd);
        }
    }
    return NULL;
}

static int server_start(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    pthread_mutex_init(&srv.mu, NULL);
    srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv.lfd < 0 || bind(srv.lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(srv.lfd, 16) != 0 || getsockname(srv.lfd, (struct sockaddr *)&a, &alen) != 0) {
        return -1;
    }
    srv.port = ntohs(a.sin_port);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return pthread_create(&srv.thread, NULL, server_main, NULL);
}

static int server_stop(void **state)
{
    srv.stop = 1;
    pthread_join(srv.thread, NULL);
    close(srv.lfd);
    script_reset();
    curl_global_cleanup();
    return 0;
}

/* ---- one call, attempts run back to back (backoff waits are recorded, not slept) ---------- */

static char base_url[64];
static const char *base_urls[1] = {base_url};

static void test_config(struct ll_config *cfg)
{
    ll_config_defaults(cfg);
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d/v1", srv.port);
    cfg->base_urls = base_urls;
    cfg->n_base_urls = 1;
    cfg->timeout_ms = 5000;
    cfg->retry.jitter = false;
}

static void run_call(struct ll_call *call, const struct ll_config *cfg)
{
    struct ll_xfer x = {0};
    CURL *easy = curl_easy_init();
    uint64_t rng = 1;
    assert_non_null(easy);
    for (;;) {
        assert_int_equal(ll_xfer_begin(&x, easy, call, cfg), 0);
        if (ll_xfer_end(&x, curl_easy_perform(easy), &rng) < 0) {
            break;
        }
    }
    curl_easy_cleanup(easy);
    ll_xfer_cleanup(&x);
}

static struct ll_call *new_call(const char *body, bool stream)
{
    struct ll_call *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->wire = calloc(1, sizeof(*c->wire));
    assert_non_null(c->wire);
    atomic_init(&c->wire->refs, 1);
    c->wire->body = strdup(body);
    c->wire->body_len = strlen(body);
    c->wire->headers = curl_slist_append(NULL, "Content-Type: application/json");
    c->base_url = base_url;
    c->stream = stream;
    c->res.t_queued = c->res.t_intended = ll_now_ns();
    return c;
}

static const char completion[] =
    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
    "{\"role\":\"assistant\",\"content\":\"Hello there\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}";

static void test_xfer_completion(void **state)
{
    struct ll_config cfg;
    test_config(&cfg);
    script(response(200, "application/json", "", completion));
    struct ll_call *c = new_call("{}", false);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_NONE);
    assert_int_equal(c->res.status, 200);
    assert_int_equal(c->res.attempts, 1);
    assert_string_equal(c->res.content, "Hello there");
    assert_string_equal(c->res.finish_reason, "stop");
    assert_int_equal(c->res.prompt_tokens, 3);
    assert_int_equal(c->res.completion_tokens, 2);
    assert_int_equal(c->res.total_tokens, 5);
    assert_true(c->res.t_dispatch > 0 && c->res.t_first_byte >= c->res.t_dispatch);
    assert_true(c->res.t_first_token >= c->res.t_first_byte &&
                c->res.t_end >= c->res.t_first_token);
    assert_int_equal(c->res.connects, 1);
    assert_true(c->res.bytes_rx > strlen(completion));
    assert_non_null(strstr(srv.last_req, "POST /v1/chat/completions HTTP/1.1"));
    ll_call_free(c);
    script_reset();
}

static void test_xfer_stream(void **state)
{
    struct ll_config cfg;
    test_config(&cfg);
    const char *sse =
        ": hello\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"He\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"llo\"}}]}\r\n\r\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},"
        "\"finish_reason\":\"length\"}]}\n\n"
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":3,"
        "\"total_tokens\":7}}\n\n"
        "data: [DONE]\n\n";
    script(response(200, "text/event-stream; charset=utf-8", "", sse));
    struct ll_call *c = new_call("{}", true);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_NONE);
    assert_string_equal(c->res.content, "Hello!");
    assert_int_equal(c->res.content_len, 6);
    assert_int_equal(c->res.n_chunks, 3); /* the role-only chunk carried no output */
    assert_true(c->res.chunk[0].t == c->res.t_first_token);
    assert_true(c->res.chunk[1].t >= c->res.chunk[0].t && c->res.chunk[2].t >= c->res.chunk[1].t);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(c->res.chunk[i].out, LL_OUT_CONTENT);
        assert_int_equal(c->res.chunk[i].usage_tokens, -1);
    }
    assert_string_equal(c->res.finish_reason, "length");
    assert_int_equal(c->res.total_tokens, 7);
    assert_int_equal(c->res.reasoning_tokens, -1); /* usage had no completion_tokens_details */
    ll_call_free(c);
    script_reset();

    /* A stream cut before [DONE] is not a complete answer. */
    script(response(200, "text/event-stream", "",
                    "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"));
    c = new_call("{}", true);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_PROTOCOL);
    assert_non_null(strstr(c->res.errmsg, "[DONE]"));
    ll_call_free(c);
    script_reset();

    /* Malformed JSON in an event aborts the transfer as a protocol error. */
    script(response(200, "text/event-stream", "", "data: {not json\n\ndata: [DONE]\n\n"));
    c = new_call("{}", true);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_PROTOCOL);
    assert_int_equal(c->res.attempts, 1);
    ll_call_free(c);
    script_reset();
}

/* Every output channel counts as generated output (TTFT is the first of any of them); a role
 * chunk or an empty string does not; only content is the answer's text. */
static void test_xfer_stream_channels(void **state)
{
    struct ll_config cfg;
    test_config(&cfg);
    const char *sse =
        "data: "
        "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hm\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"so\",\"content\":null}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
        "\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"text\":\"!\"}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":9,"
        "\"total_tokens\":13,\"completion_tokens_details\":{\"reasoning_tokens\":5}}}\n\n"
        "data: [DONE]\n\n";
    script(response(200, "text/event-stream", "", sse));
    struct ll_call *c = new_call("{}", true);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_NONE);
    assert_string_equal(c->res.content, "Hi!");
    assert_int_equal(c->res.n_chunks, 5);
    const uint8_t want[5] = {LL_OUT_REASONING, LL_OUT_REASONING, LL_OUT_TOOL, LL_OUT_CONTENT,
                             LL_OUT_CONTENT};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(c->res.chunk[i].out, want[i]);
    }
    assert_true(c->res.t_first_token == c->res.chunk[0].t); /* the first reasoning chunk */
    assert_int_equal(c->res.completion_tokens, 9);
    assert_int_equal(c->res.reasoning_tokens, 5);
    ll_call_free(c);
    script_reset();

    /* Capped while reasoning, and no usage: the reasoning chunk is still the first token. */
    script(response(200, "text/event-stream", "",
                    "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"a\"},"
                    "\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n"));
    c = new_call("{}", true);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_NONE);
    assert_int_equal(c->res.n_chunks, 1);
    assert_true(c->res.t_first_token > 0 && c->res.t_first_token == c->res.chunk[0].t);
    assert_int_equal(c->res.completion_tokens, -1);
    assert_int_equal(c->res.reasoning_tokens, -1);
    assert_null(c->res.content);
    ll_call_free(c);
    script_reset();

    /* Usage on every chunk (vLLM's continuous_usage_stats): each chunk keeps its running count. */
    script(response(200, "text/event-stream", "",
                    "data: {\"choices\":[{\"delta\":{\"content\":\"ab\"}}],"
                    "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n"
                    "data: {\"choices\":[{\"delta\":{\"content\":\"cde\"}}],"
                    "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":5}}\n\n"
                    "data: [DONE]\n\n"));
    c = new_call("{}", true);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_NONE);
    assert_int_equal(c->res.n_chunks, 2);
    assert_int_equal(c->res.chunk[0].usage_tokens, 2);
    assert_int_equal(c->res.chunk[1].usage_tokens, 5);
    assert_int_equal(c->res.completion_tokens, 5);
    ll_call_free(c);
    script_reset();
}

static void test_xfer_retry_after_then_success(void **state)
{
    struct ll_config cfg;
    test_config(&cfg);
    script(response(429, "application/json", "Retry-After: 2\r\n",
                    "{\"error\":{\"message\":\"slow down\"}}"));
    script(response(503, "application/json", "", "{}"));
    script(response(200, "application/json", "", completion));
    struct ll_call *c = new_call("{}", false);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_NONE);
    assert_int_equal(c->res.attempts, 3);
    assert_int_equal(c->res.attempt[0].status, 429);
    assert_int_equal(c->res.attempt[0].cls, LL_CLASS_HTTP_429);
    assert_int_equal(c->res.attempt[0].wait_ns, 2 * LL_NS_PER_S); /* Retry-After honoured */
    assert_int_equal(c->res.attempt[1].cls, LL_CLASS_HTTP_5XX);
    assert_int_equal(c->res.attempt[1].wait_ns, 2 * LL_NS_PER_S); /* backoff after 2 failures */
    assert_int_equal(c->res.attempt[2].cls, LL_CLASS_NONE);
    assert_int_equal(c->res.attempt[2].wait_ns, 0);
    assert_string_equal(c->res.content, "Hello there");
    assert_int_equal(c->res.errmsg[0], '\0');
    assert_int_equal(c->res.connects, 1); /* the connection was reused across attempts */
    ll_call_free(c);
    script_reset();
}

static void test_xfer_failures(void **state)
{
    struct ll_config cfg;
    test_config(&cfg);

    /* 4xx: not retried, the server's message kept. */
    script(response(422, "application/json", "", "{\"error\":{\"message\":\"bad field\"}}"));
    struct ll_call *c = new_call("{}", false);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_HTTP_4XX);
    assert_int_equal(c->res.attempts, 1);
    assert_string_equal(c->res.errmsg, "HTTP 422: bad field");
    ll_call_free(c);
    script_reset();

    /* 5xx until attempts run out. */
    for (int i = 0; i < 4; i++) {
        script(response(500, "text/plain", "", "oops"));
    }
    c = new_call("{}", false);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_HTTP_5XX);
    assert_int_equal(c->res.attempts, 4);
    assert_int_equal(c->res.attempt[3].wait_ns, 0);
    assert_int_equal(c->res.attempt[2].wait_ns, 4 * LL_NS_PER_S);
    ll_call_free(c);
    script_reset();

    /* A 2xx that is not a chat completion. */
    script(response(200, "text/html", "", "<html>hi</html>"));
    script(response(200, "application/json", "", "{\"data\":[]}"));
    c = new_call("{}", false);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_PROTOCOL);
    assert_non_null(strstr(c->res.errmsg, "not JSON"));
    ll_call_free(c);
    c = new_call("{}", false);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_PROTOCOL);
    assert_non_null(strstr(c->res.errmsg, "not a chat completion"));
    ll_call_free(c);
    script_reset();

    /* Cancelled before the attempt: the progress callback aborts it. */
    script(response(200, "application/json", "", completion));
    c = new_call("{}", false);
    atomic_store(&c->cancel, true);
    run_call(c, &cfg);
    assert_int_equal(c->res.cls, LL_CLASS_CANCELLED);
    assert_int_equal(c->res.attempts, 1);
    ll_call_free(c);
    script_reset();

    /* Nobody listening: a connect error, retried. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0); /* bound, not listening */
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/", ntohs(a.sin_port));
    cfg.retry.max_attempts = 2;
    c = new_call("{}", false);
    c->base_url = url;
    run_call(c, &cfg);
    close(fd);
    assert_int_equal(c->res.cls, LL_CLASS_CONNECT);
    assert_int_equal(c->res.attempts, 2);
    assert_int_equal(c->res.status, 0);
    assert_true(strlen(c->res.errmsg) > 0);
    ll_call_free(c);
}

/* ---- a synchronous backend: poll() runs the next queued call to its end ------------------ */

struct ll_be {
    const struct ll_config *cfg;
    struct ll_call *head, *tail;
    int cancels;
};

static int sync_create(const struct ll_config *cfg, struct ll_be **out)
{
    struct ll_be *be = calloc(1, sizeof(*be));
    if (be == NULL) {
        return LL_ENOMEM;
    }
    be->cfg = cfg;
    *out = be;
    return 0;
}

static int sync_submit(struct ll_be *be, struct ll_call *call)
{
    call->next = NULL;
    if (be->tail) {
        be->tail->next = call;
    } else {
        be->head = call;
    }
    be->tail = call;
    return 0;
}

static int sync_poll(struct ll_be *be, int64_t timeout_ns, struct ll_call **done)
{
    struct ll_call *call = be->head;
    if (call == NULL) {
        return 0;
    }
    be->head = call->next;
    if (be->head == NULL) {
        be->tail = NULL;
    }
    call->next = NULL;
    if (atomic_load(&call->cancel)) {
        ll_call_finish(call, LL_CLASS_CANCELLED, NULL); /* still queued: never sent */
    } else {
        run_call(call, be->cfg);
    }
    *done = call;
    return 1;
}

static void sync_cancel(struct ll_be *be, struct ll_call *call)
{
    be->cancels++;
}

static void sync_destroy(struct ll_be *be)
{
    while (be->head) {
        struct ll_call *c = be->head;
        be->head = c->next;
        ll_call_free(c);
    }
    free(be);
}

static const struct ll_backend sync_backend = {
    .name = "sync",
    .create = sync_create,
    .submit = sync_submit,
    .poll = sync_poll,
    .cancel = sync_cancel,
    .destroy = sync_destroy,
};

static void test_client_render_and_collect(void **state)
{
    struct ll_config cfg;
    test_config(&cfg);
    cfg.api_key = "sk-test";
    struct ll_client *cl;
    assert_int_equal(ll_client_create(&sync_backend, &cfg, &cl), 0);
    const struct ll_message msg[] = {{"system", "be brief"}, {"user", "hi \"there\""}};
    const char *hdrs[] = {"x-mock-status: 200"};
    int tag = 7;
    struct ll_request req = {.messages = msg,
                             .n_messages = 2,
                             .max_tokens = 16,
                             .stream = true,
                             .headers = hdrs,
                             .n_headers = 1,
                             .user = &tag};
    const char *sse = "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\ndata: [DONE]\n\n";
    script(response(200, "text/event-stream", "", sse));
    script(response(200, "application/json", "", completion));
    script(response(200, "application/json", "", completion));

    struct ll_call *h[3];
    assert_int_equal(ll_client_submit(cl, &req, &h[0]), 0);
    req.stream = false;
    req.model = "other";
    req.max_tokens = 0;
    assert_int_equal(ll_client_submit(cl, &req, &h[1]), 0);
    req.body_json = "{\"model\":\"raw\",\"messages\":[]}";
    assert_int_equal(ll_client_submit(cl, &req, &h[2]), 0);
    assert_int_equal(ll_client_outstanding(cl), 3);
    assert_int_equal(h[2]->seq, 2);
    assert_ptr_equal(h[0]->res.user, &tag);
    assert_true(h[0]->res.t_intended == h[0]->res.t_queued);
    assert_string_equal(h[0]->wire->body,
                        "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":"
                        "\"user\",\"content\":\"hi \\\"there\\\"\"}],\"model\":\"gpt-mock\","
                        "\"max_tokens\":16,\"stream\":true,\"stream_options\":{\"include_usage\":"
                        "true}}");

    /* wait() on the first; next() then yields the others in completion order. */
    assert_int_equal(ll_client_wait(cl, h[0]), 0);
    assert_true(h[0]->done && h[0]->collected);
    assert_string_equal(h[0]->res.content, "ok");
    const char *r = srv.last_req;
    assert_non_null(strcasestr(r, "Authorization: Bearer sk-test\r\n"));
    assert_non_null(strcasestr(r, "x-mock-status: 200\r\n"));
    assert_null(strcasestr(r, "Expect:"));
    struct ll_call *n1 = ll_client_next(cl, -1), *n2 = ll_client_next(cl, -1);
    assert_ptr_equal(n1, h[1]);
    assert_ptr_equal(n2, h[2]);
    assert_non_null(strstr(srv.last_req, "{\"model\":\"raw\",\"messages\":[]}"));
    assert_null(ll_client_next(cl, -1)); /* nothing outstanding */
    assert_int_equal(ll_client_outstanding(cl), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h[i]->res.cls, LL_CLASS_NONE);
        ll_call_free(h[i]);
    }
    /* A body past curl's 100-continue threshold (1 KiB in 7.x) still goes without Expect. */
    static char big[3000];
    memset(big, 'a', sizeof(big) - 1);
    const struct ll_message bigmsg[] = {{"user", big}};
    struct ll_request breq = {.messages = bigmsg, .n_messages = 1};
    script(response(200, "application/json", "", completion));
    assert_int_equal(ll_client_submit(cl, &breq, &h[0]), 0);
    assert_int_equal(ll_client_wait(cl, h[0]), 0);
    assert_int_equal(h[0]->res.cls, LL_CLASS_NONE);
    assert_null(strcasestr(srv.last_req, "Expect:"));
    assert_non_null(strstr(srv.last_req, big));
    ll_call_free(h[0]);
    ll_client_destroy(cl);
    script_reset();
}

static void test_client_gather_fail_fast(void **state)
{
    struct ll_config cfg;
    test_config(&cfg);
    struct ll_client *cl;
    assert_int_equal(ll_client_create(&sync_backend, &cfg, &cl), 0);
    const struct ll_message msg[] = {{"user", "x"}};
    struct ll_request req = {.messages = msg, .n_messages = 1};
    script(response(200, "application/json", "", completion));
    script(response(404, "application/json", "", "{\"error\":{\"message\":\"no model\"}}"));
    script(response(200, "application/json", "", completion));
    script(response(200, "application/json", "", completion));

    struct ll_call *h[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ll_client_submit(cl, &req, &h[i]), 0);
    }
    assert_int_equal(ll_client_gather(cl, h, 4, LL_GATHER_FAIL_FAST), 3);
    assert_int_equal(h[0]->res.cls, LL_CLASS_NONE);
    assert_int_equal(h[1]->res.cls, LL_CLASS_HTTP_4XX);
    assert_int_equal(h[2]->res.cls, LL_CLASS_CANCELLED);
    assert_int_equal(h[3]->res.cls, LL_CLASS_CANCELLED);
    assert_int_equal(h[2]->res.attempts, 0); /* never sent */
    assert_int_equal(srv.served, 2);
    for (int i = 0; i < 4; i++) {
        assert_true(h[i]->collected);
        ll_call_free(h[i]);
    }
    script_reset();

    /* COLLECT runs everything; results in submission order. */
    script(response(200, "application/json", "", completion));
    script(response(404, "application/json", "", "{}"));
    script(response(200, "application/json", "", completion));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ll_client_submit(cl, &req, &h[i]), 0);
    }
    assert_int_equal(ll_client_gather(cl, h, 3, LL_GATHER_COLLECT), 1);
    assert_int_equal(h[1]->res.cls, LL_CLASS_HTTP_4XX);
    assert_int_equal(h[2]->res.cls, LL_CLASS_NONE);
    for (int i = 0; i < 3; i++) {
        ll_call_free(h[i]);
    }
    script_reset();

    /* destroy with calls outstanding and uncollected: everything is freed (ASan checks). */
    struct ll_call *x;
    assert_int_equal(ll_client_submit(cl, &req, &x), 0);
    assert_int_equal(ll_client_submit(cl, &req, &x), 0);
    assert_int_equal(ll_client_progress(cl, 0), 1);
    ll_client_destroy(cl);
    script_reset();
}

static void test_client_next_and_early_failure(void **state)
{
    struct ll_config cfg;
    test_config(&cfg);
    struct ll_client *cl;
    assert_int_equal(ll_client_create(&sync_backend, &cfg, &cl), 0);
    const struct ll_message msg[] = {{"user", "x"}};
    struct ll_request req = {.messages = msg, .n_messages = 1};
    script(response(400, "application/json", "", "{}"));
    script(response(200, "application/json", "", completion));

    struct ll_call *h[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ll_client_submit(cl, &req, &h[i]), 0);
    }
    /* A zero timeout still makes progress once. */
    assert_int_equal(ll_client_progress(cl, 0), 1);
    assert_true(h[0]->done && !h[0]->collected);
    assert_int_equal(ll_client_outstanding(cl), 2);
    /* The failure happened before the gather: the others are cancelled at once. */
    assert_int_equal(ll_client_gather(cl, h, 3, LL_GATHER_FAIL_FAST), 3);
    assert_int_equal(h[0]->res.cls, LL_CLASS_HTTP_4XX);
    assert_int_equal(h[1]->res.cls, LL_CLASS_CANCELLED);
    assert_int_equal(h[2]->res.cls, LL_CLASS_CANCELLED);
    assert_int_equal(srv.served, 1);
    assert_null(ll_client_next(cl, 0));
    for (int i = 0; i < 3; i++) {
        ll_call_free(h[i]);
    }
    /* next() with a timeout returns what finishes first. */
    assert_int_equal(ll_client_submit(cl, &req, &h[0]), 0);
    assert_ptr_equal(ll_client_next(cl, 0), h[0]);
    assert_int_equal(h[0]->res.cls, LL_CLASS_NONE);
    ll_call_free(h[0]);
    ll_client_destroy(cl);
    script_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xfer_completion),
        cmocka_unit_test(test_xfer_stream),
        cmocka_unit_test(test_xfer_stream_channels),
        cmocka_unit_test(test_xfer_retry_after_then_success),
        cmocka_unit_test(test_xfer_failures),
        cmocka_unit_test(test_client_render_and_collect),
        cmocka_unit_test(test_client_gather_fail_fast),
        cmocka_unit_test(test_client_next_and_early_failure),
    };
    return cmocka_run_group_tests(tests, server_start, server_stop);
}
