/* test_mock_stream.c - mockllm's streams as a real server sends them, end to end over raw
 * loopback sockets (each test starts its own mockllm, ll_mockproc, and stops it by PID):
 *
 *   headers_first   a stream's headers go out when the request is admitted, its first token at
 *                   the time to first token (time to first byte < TTFT), also while it waits for
 *                   a capacity slot; a plain answer's headers come with its body.
 *   reasoning_*     --reasoning-tokens, --chunk-tokens and their x-mock-* headers: the usage
 *                   agrees with the tokens the stream carried (counted as words), reasoning
 *                   before content and never in one chunk with it, the same seed the same
 *                   streams; max_tokens bounds reasoning + content.
 *   chunk_timing    a chunk of k tokens k x ITL after the one before, the first at TTFT.
 * (A slow reader pacing its stream: test_mock_pace.c.)
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
#include <cjson/cJSON.h>

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
    assert_int_equal(ll_test_mock_start(&mp, args, 10000), 0);
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
    /* when each SSE event carrying a token arrived (up to WATCH_EVENTS) */
    int64_t t_ev[64];
    int nev;
    size_t scanned; /* buf offset after the last complete event looked at */
};
#define WATCH_EVENTS 64

/* Send a POST of body to CHAT with extra header lines ("Name: v\r\n" or "") on a new
 * connection. */
static void watch_open(struct watch *w, const char *headers, const char *body)
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

/* Time-stamp the complete events that arrived since the last look and carry a token. */
static void stamp_events(struct watch *w, int64_t now)
{
    for (char *end; (end = strstr(w->buf + w->scanned, "\n\n")) != NULL;) {
        char *ev = strstr(w->buf + w->scanned, "data: ");
        if (ev != NULL && ev < end) {
            char save = end[0];
            end[0] = '\0';
            if (strstr(ev, "\"delta\"") != NULL && has_token(ev) && w->nev < WATCH_EVENTS) {
                w->t_ev[w->nev++] = now;
            }
            end[0] = save;
        }
        w->scanned = (size_t)(end + 2 - w->buf);
    }
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
        if (body != NULL) {
            if (w->scanned == 0) {
                w->scanned = (size_t)(body + 4 - w->buf);
            }
            stamp_events(w, now);
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
    watch_open(&w, "x-mock-latency-ms: 1000\r\n", STREAM_BODY);
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

    watch_open(&w, "x-mock-latency-ms: 1000\r\n", BODY(""));
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
    watch_open(&a, "x-mock-latency-ms: 800\r\n", STREAM_BODY);
    watch_read(&a, 5000, 0);
    assert_true(a.t_head != 0 && a.t_token == 0);
    watch_open(&b, "x-mock-latency-ms: 0\r\n", STREAM_BODY);
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

/* ---- reasoning and multi-token chunks ---- */

/* Generated text is one word per token (mock_text.h): tokens are counted as words. */
static int words(const char *t)
{
    int n = 0;
    for (bool in = false; *t != '\0'; t++) {
        n += !in && *t != ' ';
        in = *t != ' ';
    }
    return n;
}

/* What a streamed answer held: tokens per chunk in order (negative: reasoning), totals, the
 * finish reason and the usage (-1 where absent). */
struct seen {
    int sizes[256], n;
    int reason_words, content_words;
    bool mixed;      /* a delta with both, or reasoning after content */
    bool done;       /* data: [DONE] */
    char finish[16]; /* "stop", "length" */
    long completion, reasoning;
};

static void usage_of(const cJSON *u, struct seen *s)
{
    const cJSON *c = cJSON_GetObjectItem(u, "completion_tokens");
    const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(u, "completion_tokens_details"),
                                         "reasoning_tokens");
    s->completion = cJSON_IsNumber(c) ? (long)c->valuedouble : -1;
    s->reasoning = cJSON_IsNumber(d) ? (long)d->valuedouble : -1;
}

static void stream_seen(const char *buf, struct seen *s)
{
    memset(s, 0, sizeof(*s));
    s->completion = s->reasoning = -1;
    for (const char *p = strstr(buf, "data: "); p != NULL; p = strstr(p + 1, "data: ")) {
        char line[8192];
        size_t len = strcspn(p + 6, "\n");
        assert_true(len < sizeof(line));
        memcpy(line, p + 6, len);
        line[len] = '\0';
        if (strcmp(line, "[DONE]") == 0) {
            s->done = true;
            continue;
        }
        cJSON *ev = cJSON_Parse(line);
        assert_non_null(ev);
        cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(ev, "choices"), 0);
        cJSON *delta = cJSON_GetObjectItem(ch, "delta");
        cJSON *c = cJSON_GetObjectItem(delta, "content");
        cJSON *r = cJSON_GetObjectItem(delta, "reasoning_content");
        cJSON *f = cJSON_GetObjectItem(ch, "finish_reason");
        int cw = cJSON_IsString(c) ? words(c->valuestring) : 0;
        int rw = cJSON_IsString(r) ? words(r->valuestring) : 0;
        s->mixed |= (cw > 0 && rw > 0) || (rw > 0 && s->content_words > 0);
        if ((cw > 0 || rw > 0) && s->n < 256) {
            s->sizes[s->n++] = cw > 0 ? cw : -rw;
        }
        s->content_words += cw;
        s->reason_words += rw;
        if (cJSON_IsString(f)) {
            snprintf(s->finish, sizeof(s->finish), "%s", f->valuestring);
        }
        if (cJSON_GetObjectItem(ev, "usage") != NULL) {
            usage_of(cJSON_GetObjectItem(ev, "usage"), s);
        }
        cJSON_Delete(ev);
    }
}

/* The same for a plain answer (message.content and message.reasoning_content). */
static void plain_seen(const char *buf, struct seen *s)
{
    memset(s, 0, sizeof(*s));
    const char *body = strstr(buf, "\r\n\r\n");
    assert_non_null(body);
    cJSON *root = cJSON_Parse(body + 4);
    assert_non_null(root);
    cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "choices"), 0);
    cJSON *m = cJSON_GetObjectItem(ch, "message");
    cJSON *c = cJSON_GetObjectItem(m, "content"), *r = cJSON_GetObjectItem(m, "reasoning_content");
    s->content_words = cJSON_IsString(c) ? words(c->valuestring) : 0;
    s->reason_words = cJSON_IsString(r) ? words(r->valuestring) : -1;
    snprintf(s->finish, sizeof(s->finish), "%s",
             cJSON_GetObjectItem(ch, "finish_reason")->valuestring);
    usage_of(cJSON_GetObjectItem(root, "usage"), s);
    s->done = true;
    cJSON_Delete(root);
}

/* One request, read to its end; stream or plain by the body. */
static void ask(const char *headers, const char *body, bool stream, struct seen *s)
{
    struct watch w;
    watch_open(&w, headers, body);
    if (stream) {
        watch_until_end(&w, 5000);
        stream_seen(w.buf, s);
    } else {
        watch_until_token(&w, 5000);
        plain_seen(w.buf, s);
    }
    watch_close(&w);
}

/* The usage the stream itself proves: reasoning tokens and content tokens as counted in the
 * deltas, reasoning first, never both in one chunk, every chunk within [1, hi]. */
static void expect_consistent(const struct seen *s, int hi)
{
    assert_true(s->done);
    assert_false(s->mixed);
    assert_int_equal(s->reasoning < 0 ? 0 : s->reasoning, s->reason_words); /* -1: no details */
    assert_int_equal(s->completion, (long)s->reason_words + s->content_words);
    for (int i = 0; i < s->n; i++) {
        assert_true(abs(s->sizes[i]) >= 1 && abs(s->sizes[i]) <= hi);
    }
}

#define NREQ 6

/* Run the same NREQ streamed requests against a fresh mockllm with `seed`. */
static void six_streams(const char *seed, struct seen *out)
{
    const char *args[] = {
        "--seed",         seed,          "--tokens", "10", "--reasoning-tokens", "uniform:3,9",
        "--chunk-tokens", "uniform:1,3", NULL};
    start(args);
    for (int i = 0; i < NREQ; i++) {
        ask("", STREAM_BODY, true, &out[i]);
        expect_consistent(&out[i], 3);
        assert_string_equal(out[i].finish, "stop");
    }
    assert_int_equal(ll_mockproc_stop(&mp, 5000), 0);
}

/* --reasoning-tokens and --chunk-tokens: the usage matches what the stream carried, draws vary
 * from request to request, and the same seed gives the same streams (another seed others). */
static void test_mock_stream_reasoning_usage(void **state)
{
    struct seen a[NREQ], b[NREQ], c[NREQ];
    six_streams("5", a);
    six_streams("5", b);
    six_streams("6", c);
    bool varied = false, differ = false;
    for (int i = 0; i < NREQ; i++) {
        assert_true(a[i].reasoning >= 3 && a[i].reasoning <= 9);
        assert_int_equal(a[i].completion - a[i].reasoning, 10);
        assert_int_equal(a[i].n, b[i].n);
        assert_memory_equal(a[i].sizes, b[i].sizes, sizeof(int) * (size_t)a[i].n);
        varied |= a[i].reasoning != a[0].reasoning || a[i].n != a[0].n;
        differ |= c[i].reasoning != a[i].reasoning || c[i].n != a[i].n ||
                  memcmp(a[i].sizes, c[i].sizes, sizeof(int) * (size_t)a[i].n) != 0;
    }
    assert_true(varied);
    assert_true(differ);
    /* plain answers of the same profile: reasoning_content and usage agree */
    const char *args[] = {"--seed",      "5", "--tokens", "10", "--reasoning-tokens",
                          "uniform:3,9", NULL};
    struct seen p;
    start(args);
    for (int i = 0; i < 3; i++) {
        ask("", BODY(""), false, &p);
        assert_int_equal(p.reasoning, p.reason_words);
        assert_int_equal(p.completion, (long)p.reason_words + p.content_words);
        assert_int_equal(p.content_words, 10);
    }
    /* max_tokens bounds reasoning + content: cut while reasoning, no content, "length" */
    ask("", BODY(",\"max_tokens\":2,\"stream\":true,\"stream_options\":{\"include_usage\":true}"),
        true, &p);
    expect_consistent(&p, 1);
    assert_int_equal(p.reasoning, 2);
    assert_int_equal(p.content_words, 0);
    assert_string_equal(p.finish, "length");
}

/* The per-request headers on a server configured without reasoning, and that server's answers
 * without them unchanged (no reasoning fields at all). */
static void test_mock_stream_reasoning_headers(void **state)
{
    static const char *const args[] = {"--seed", "1", "--tokens", "6", NULL};
    static const char hdr[] =
        "x-mock-reasoning-tokens: 4\r\nx-mock-chunk-tokens: 3\r\nx-mock-tokens: 5\r\n";
    static const int want[] = {-3, -1, 3, 2};
    struct seen s;
    start(args);
    ask(hdr, STREAM_BODY, true, &s);
    expect_consistent(&s, 3);
    assert_int_equal(s.n, 4);
    assert_memory_equal(s.sizes, want, sizeof(want));
    assert_int_equal(s.completion, 9);
    ask(hdr, BODY(""), false, &s);
    assert_int_equal(s.reason_words, 4);
    assert_int_equal(s.content_words, 5);
    assert_int_equal(s.reasoning, 4);
    assert_int_equal(s.completion, 9);
    ask("", STREAM_BODY, true, &s);
    expect_consistent(&s, 1);
    assert_int_equal(s.reasoning, -1); /* no completion_tokens_details */
    assert_int_equal(s.reason_words, 0);
    assert_int_equal(s.completion, 6);
    ask("", BODY(""), false, &s);
    assert_int_equal(s.reason_words, -1); /* no reasoning_content */
    assert_int_equal(s.reasoning, -1);
}

/* --chunk-tokens 4 with TTFT 100 ms and ITL 100 ms, 12 tokens: the first chunk at TTFT, each
 * later one 4 x 100 ms after the one before, the plain answer when the stream's last chunk
 * goes, 100 + 8 x 100 = 900 ms. Lower bounds from the arithmetic; upper bounds only where a
 * fault lands 200 ms or more off (the first chunk at its last token's time, 400 ms; a plain
 * answer timed as if one token a chunk, 1200 ms). */
static void test_mock_stream_chunk_timing(void **state)
{
    static const char *const args[] = {"--seed",         "1", "--ttft",   "100", "--itl", "100",
                                       "--chunk-tokens", "4", "--tokens", "12",  NULL};
    struct watch w;
    start(args);
    watch_open(&w, "", STREAM_BODY);
    watch_until_end(&w, 5000);
    assert_int_equal(w.nev, 3);
    double last = ms_of(&w, w.t_ev[2]);
    print_message("  chunks at %.1f, %.1f, %.1f ms\n", ms_of(&w, w.t_ev[0]), ms_of(&w, w.t_ev[1]),
                  last);
    assert_true(ms_of(&w, w.t_ev[0]) >= 95 && ms_of(&w, w.t_ev[0]) < 300);
    for (int i = 1; i < 3; i++) {
        assert_true(ms_of(&w, w.t_ev[i]) - ms_of(&w, w.t_ev[i - 1]) >= 300);
    }
    watch_close(&w);
    watch_open(&w, "", BODY(""));
    watch_until_token(&w, 5000);
    print_message("  plain answer at %.1f ms\n", ms_of(&w, w.t_token));
    assert_true(ms_of(&w, w.t_token) >= 880 && ms_of(&w, w.t_token) < last + 200);
    watch_close(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_mock_stream_headers_first, teardown),
        cmocka_unit_test_teardown(test_mock_stream_headers_while_queued, teardown),
        cmocka_unit_test_teardown(test_mock_stream_reasoning_usage, teardown),
        cmocka_unit_test_teardown(test_mock_stream_reasoning_headers, teardown),
        cmocka_unit_test_teardown(test_mock_stream_chunk_timing, teardown),
    };
    return cmocka_run_group_tests_name(ll_test_mock_group("mock_stream"), tests, NULL, NULL);
}
