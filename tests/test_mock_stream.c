/* test_mock_stream.c - mockllm's streams as a real server sends them, end to end over raw
 * loopback sockets (each test starts its own mockllm, ll_mockproc, and stops it by PID):
 *
 *   headers_first   a stream's headers go out when the request is admitted, its first token at
 *                   the time to first token (time to first byte < TTFT), also while it waits for
 *                   a capacity slot; a plain answer's headers come with its body.
 *
 * Bounds are orderings and wide fractions of configured latencies, never tight figures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ll_clock.h"
#include "ll_mockproc.h"
#include "ll_testutil.h"

#define CHAT "/v1/chat/completions"
#define BODY(extra)                                                                                \
    "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]" extra "}"
#define STREAM_BODY BODY(",\"stream\":true,\"stream_options\":{\"include_usage\":true}")

static struct ll_mockproc mp;

static void start(const char *const *args)
{
    assert_int_equal(ll_mockproc_start(&mp, NULL, args, 10000), 0);
}

static int teardown(void **state)
{
    assert_int_equal(ll_mockproc_stop(&mp, 5000), 0); /* exit 0: clean shutdown */
    return 0;
}

/* ---- a raw client that time-stamps what arrives ---- */

struct watch {
    int fd;
    int64_t t0;      /* request sent */
    int64_t t_head;  /* header block complete; 0 until then */
    int64_t t_token; /* first generated token (content or reasoning) seen; 0 until then */
    bool eof;
    size_t len, cap;
    char *buf; /* everything read, NUL-terminated */
};

/* Send a POST of body to CHAT with extra header lines ("Name: v\r\n" or "") on a new
 * connection. rcvbuf > 0 sets SO_RCVBUF first (a small window for a slow reader). */
static void watch_open(struct watch *w, const char *headers, const char *body, int rcvbuf)
{
    char req[4096];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)mp.port)};
    memset(w, 0, sizeof(*w));
    w->cap = 1 << 16;
    w->buf = malloc(w->cap);
    assert_non_null(w->buf);
    w->buf[0] = '\0';
    inet_pton(AF_INET, mp.host, &a.sin_addr);
    w->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(w->fd >= 0);
    if (rcvbuf > 0) {
        setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    assert_int_equal(connect(w->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    int n = snprintf(req, sizeof(req),
                     "POST " CHAT " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     "%sContent-Length: %zu\r\n\r\n%s",
                     headers, strlen(body), body);
    assert_true(n > 0 && (size_t)n < sizeof(req));
    w->t0 = ll_now_ns();
    assert_int_equal(send(w->fd, req, (size_t)n, MSG_NOSIGNAL), n);
}

static void watch_close(struct watch *w)
{
    if (w->fd >= 0) {
        close(w->fd);
    }
    free(w->buf);
    w->fd = -1;
    w->buf = NULL;
}

/* A token is a content or reasoning delta with at least one character (the role chunk's
 * "content":"" is not one). */
static bool has_token(const char *body)
{
    static const char *const keys[] = {"\"content\":\"", "\"reasoning_content\":\""};
    for (size_t k = 0; k < 2; k++) {
        for (const char *p = strstr(body, keys[k]); p != NULL; p = strstr(p + 1, keys[k])) {
            if (p[strlen(keys[k])] != '"') {
                return true;
            }
        }
    }
    return false;
}

/* Read what arrives within timeout_ms (at most max bytes, 0: no limit); time-stamp the header
 * block and the first token. Returns bytes read. */
static size_t watch_read(struct watch *w, int timeout_ms, size_t max)
{
    size_t got = 0;
    while (!w->eof && (max == 0 || got < max)) {
        struct pollfd p = {.fd = w->fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0) {
            break;
        }
        if (w->cap - w->len < 4096) {
            w->cap *= 2;
            w->buf = realloc(w->buf, w->cap);
            assert_non_null(w->buf);
        }
        size_t room = w->cap - 1 - w->len;
        ssize_t n = recv(w->fd, w->buf + w->len, max > 0 && max - got < room ? max - got : room, 0);
        if (n <= 0) {
            w->eof = true;
            break;
        }
        int64_t now = ll_now_ns();
        w->len += (size_t)n;
        got += (size_t)n;
        w->buf[w->len] = '\0';
        char *body = strstr(w->buf, "\r\n\r\n");
        if (w->t_head == 0 && body != NULL) {
            w->t_head = now;
        }
        if (w->t_token == 0 && body != NULL && has_token(body)) {
            w->t_token = now;
        }
        timeout_ms = timeout_ms < 50 ? timeout_ms : 50; /* then only what follows closely */
    }
    return got;
}

/* Read until the first token has come (or timeout_ms passed without any byte). */
static void watch_until_token(struct watch *w, int timeout_ms)
{
    while (w->t_token == 0 && !w->eof && watch_read(w, timeout_ms, 0) > 0) {
    }
}

/* Read until the answer is complete: the end of a chunked body, or EOF. */
static void watch_until_end(struct watch *w, int timeout_ms)
{
    while (!w->eof && strstr(w->buf, "\r\n0\r\n\r\n") == NULL && watch_read(w, timeout_ms, 0) > 0) {
    }
}

static double ms_of(const struct watch *w, int64_t t)
{
    return t == 0 ? -1.0 : (double)(t - w->t0) / 1e6;
}

/* ---- item: headers at admission ---- */

/* A stream due 1 s after it is read: its headers (and nothing else) arrive long before its
 * first token; a plain answer due as late brings its headers with its body. Today's fault (a
 * stream's headers held back until the first token) makes both arrive together. */
static void test_mock_stream_headers_first(void **state)
{
    static const char *const args[] = {"--seed", "1", "--tokens", "4", NULL};
    struct watch w;
    start(args);
    watch_open(&w, "x-mock-latency-ms: 1000\r\n", STREAM_BODY, 0);
    watch_read(&w, 5000, 0);
    assert_true(w.t_head != 0);
    assert_non_null(strstr(w.buf, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(w.buf, "text/event-stream"));
    assert_null(strstr(w.buf, "data: ")); /* headers alone, not even the role chunk */
    watch_until_token(&w, 5000);
    print_message("  stream: headers at %.1f ms, first token at %.1f ms (TTFT 1000)\n",
                  ms_of(&w, w.t_head), ms_of(&w, w.t_token));
    assert_true(ms_of(&w, w.t_token) >= 950);
    assert_true(ms_of(&w, w.t_token) - ms_of(&w, w.t_head) >= 500);
    watch_until_end(&w, 5000);
    assert_non_null(strstr(w.buf, "data: [DONE]"));
    watch_close(&w);

    watch_open(&w, "x-mock-latency-ms: 1000\r\n", BODY(""), 0);
    watch_until_token(&w, 5000);
    print_message("  plain: headers at %.1f ms, body at %.1f ms\n", ms_of(&w, w.t_head),
                  ms_of(&w, w.t_token));
    assert_true(ms_of(&w, w.t_head) >= 950); /* the headers waited for the answer */
    assert_non_null(strstr(w.buf, "\"completion_tokens\":4"));
    watch_close(&w);
}

/* --max-running 1: a second stream waits for the slot the first holds, but its headers go out
 * at once, as a real server's do for a queued request. Orderings only. */
static void test_mock_stream_headers_while_queued(void **state)
{
    static const char *const args[] = {"--seed", "1", "--tokens", "4", "--max-running", "1", NULL};
    struct watch a, b;
    start(args);
    watch_open(&a, "x-mock-latency-ms: 800\r\n", STREAM_BODY, 0);
    watch_read(&a, 5000, 0);
    assert_true(a.t_head != 0 && a.t_token == 0);
    watch_open(&b, "x-mock-latency-ms: 0\r\n", STREAM_BODY, 0);
    watch_read(&b, 5000, 0);
    assert_true(b.t_head != 0);
    assert_int_equal(b.t_token, 0); /* no slot yet: headers only */
    watch_until_token(&a, 5000);
    watch_until_end(&a, 5000);
    watch_until_token(&b, 5000);
    print_message("  queued stream: headers at %.1f ms, first token at %.1f ms; the running "
                  "one's first token at %.1f ms\n",
                  ms_of(&b, b.t_head), ms_of(&b, b.t_token), ms_of(&a, a.t_token));
    assert_true(b.t_head < a.t_token);
    assert_true(b.t_token >= a.t_token);
    watch_until_end(&b, 5000);
    assert_non_null(strstr(b.buf, "data: [DONE]"));
    watch_close(&a);
    watch_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_mock_stream_headers_first, teardown),
        cmocka_unit_test_teardown(test_mock_stream_headers_while_queued, teardown),
    };
    return cmocka_run_group_tests_name("mock_stream", tests, NULL, NULL);
}
