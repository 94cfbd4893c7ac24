/* test_mock_server.c - mockllm end to end: answers, streams, routes, metrics, HTTP edge cases,
 * scripted faults, rate limits, authentication, timeouts and the server's own lateness. Each
 * test starts its own mockllm on a free port (ll_mockproc) and stops it by PID; clients are
 * libcurl and raw sockets.
 *
 * LL_MOCK_TRANSPORT=tls runs the libcurl cases again over HTTPS (mockllm --tls, its CA written
 * where the test trusts it), =h2 over HTTP/2 by ALPN: every answer must be the same whatever
 * carries it (each request checks the HTTP version it got). The raw-socket cases speak
 * HTTP/1.1 bytes by hand and stay cleartext. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "ll_clock.h"
#include "ll_mockproc.h"
#include "ll_testutil.h"

#define CHAT "/v1/chat/completions"
#define BODY(extra)                                                                                \
    "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]" extra "}"

static struct ll_mockproc mp;
static char ca_path[64]; /* mockllm --tls --ca-out: the CA libcurl trusts */

/* "" (cleartext HTTP/1.1), "tls" (HTTP/1.1 over TLS) or "h2" (HTTP/2 over TLS). */
static const char *transport(void)
{
    const char *t = getenv("LL_MOCK_TRANSPORT");
    return t != NULL ? t : "";
}

/* Start a mockllm into m with args, over the transport asked for (its CA written to ca). */
static void start_on(struct ll_mockproc *m, const char *const *args, char *ca)
{
    const char *argv[32];
    size_t n = 0;
    for (; args != NULL && args[n] != NULL && n < 28; n++) {
        argv[n] = args[n];
    }
    if (transport()[0] != '\0') {
        static int seq;
        snprintf(ca, sizeof(ca_path), "/tmp/ll_mock_server_ca_%d_%d.pem", (int)getpid(), seq++);
        argv[n++] = "--tls";
        argv[n++] = "--ca-out";
        argv[n++] = ca;
    }
    argv[n] = NULL;
    assert_int_equal(ll_test_mock_start(m, argv, 5000), 0);
}

static void start(const char *const *args)
{
    start_on(&mp, args, ca_path);
}

static int teardown(void **state)
{
    assert_int_equal(ll_mockproc_stop(&mp, 5000), 0); /* exit 0: clean shutdown */
    if (ca_path[0] != '\0') {
        unlink(ca_path); /* --ca-out names a file of ours: mockllm leaves it */
    }
    return 0;
}

/* ---- libcurl client ---- */

struct resp {
    long status;
    char body[65536];
    size_t len;
    char headers[8192];
    size_t hlen;
    CURLcode rc;
    long connects;
    long version; /* CURL_HTTP_VERSION_* negotiated */
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t len = sz * n, room = sizeof(r->body) - 1 - r->len;
    memcpy(r->body + r->len, p, len < room ? len : room);
    r->len += len < room ? len : room;
    r->body[r->len] = '\0';
    return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t len = sz * n, room = sizeof(r->headers) - 1 - r->hlen;
    memcpy(r->headers + r->hlen, p, len < room ? len : room);
    r->hlen += len < room ? len : room;
    r->headers[r->hlen] = '\0';
    return len;
}

/* One request on `easy` (NULL: a fresh handle). headers: NULL-terminated or NULL. */
static void http(CURL *easy, const char *path, const char *body, const char *const *headers,
                 struct resp *r)
{
    char url[256];
    CURL *e = easy ? easy : curl_easy_init();
    struct curl_slist *hl = NULL;
    memset(r, 0, sizeof(*r));
    bool tls = transport()[0] != '\0';
    snprintf(url, sizeof(url), "%s://%s:%d%s", tls ? "https" : "http", mp.host, mp.port, path);
    if (tls) {
        curl_easy_setopt(e, CURLOPT_CAINFO, ca_path);
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                         strcmp(transport(), "h2") == 0 ? (long)CURL_HTTP_VERSION_2TLS
                                                        : (long)CURL_HTTP_VERSION_1_1);
    }
    hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        hl = curl_slist_append(hl, headers[i]);
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    if (body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    r->rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &r->connects);
    curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &r->version);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    if (easy == NULL) {
        curl_easy_cleanup(e);
    }
}

static void expect_ok_chat(void)
{
    struct resp r;
    http(NULL, CHAT, BODY(), NULL, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    /* the transport asked for is the one that answered */
    assert_int_equal(r.version, strcmp(transport(), "h2") == 0 ? CURL_HTTP_VERSION_2_0
                                                               : CURL_HTTP_VERSION_1_1);
}

/* The error body must be OpenAI's shape; param (if not NULL) must name the field. */
static void expect_error(const struct resp *r, long status, const char *param)
{
    assert_int_equal(r->status, status);
    cJSON *root = cJSON_Parse(r->body);
    assert_non_null(root);
    cJSON *err = cJSON_GetObjectItem(root, "error");
    assert_true(cJSON_IsString(cJSON_GetObjectItem(err, "message")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(err, "type")));
    assert_non_null(cJSON_GetObjectItem(err, "code"));
    if (param != NULL) {
        cJSON *p = cJSON_GetObjectItem(err, "param");
        assert_true(cJSON_IsString(p));
        assert_string_equal(p->valuestring, param);
        assert_non_null(strstr(cJSON_GetObjectItem(err, "message")->valuestring, param));
    }
    cJSON_Delete(root);
}

/* ---- raw sockets ---- */

/* Connect to mockllm and send `req` (len may be 0). Returns the socket. */
static int raw_dial(const char *req, size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)mp.port)};
    inet_pton(AF_INET, mp.host, &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    if (len > 0) {
        assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    }
    return fd;
}

/* Send `req`, read until EOF or timeout_ms of silence. Returns bytes read; *eof set on EOF. */
static size_t raw(const char *req, size_t len, char *out, size_t cap, int timeout_ms, bool *eof)
{
    int fd = raw_dial(req, len);
    size_t used = 0;
    *eof = false;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0) {
            break;
        }
        ssize_t n = recv(fd, out + used, cap - 1 - used, 0);
        if (n <= 0) {
            *eof = true;
            break;
        }
        used += (size_t)n;
    }
    out[used] = '\0';
    close(fd);
    return used;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* ---- answers ---- */

static const char *const base_args[] = {
    "--seed",           "7",    "--tokens", "12", "--max-header-bytes", "2048",
    "--max-body-bytes", "4096", NULL};

static char *nonstream_content(const char *body, const char **finish)
{
    cJSON *root = cJSON_Parse(body);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "object")->valuestring, "chat.completion");
    assert_non_null(strstr(cJSON_GetObjectItem(root, "id")->valuestring, "chatcmpl-"));
    cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "choices"), 0);
    cJSON *msg = cJSON_GetObjectItem(choice, "message");
    assert_string_equal(cJSON_GetObjectItem(msg, "role")->valuestring, "assistant");
    char *content = strdup(cJSON_GetObjectItem(msg, "content")->valuestring);
    *finish = strcmp(cJSON_GetObjectItem(choice, "finish_reason")->valuestring, "length") == 0
                  ? "length"
                  : "stop";
    cJSON *usage = cJSON_GetObjectItem(root, "usage");
    assert_int_equal(cJSON_GetObjectItem(usage, "completion_tokens")->valueint, 5);
    cJSON_Delete(root);
    return content;
}

/* Join the content deltas of an SSE body; checks the chunk sequence on the way. */
static void join_stream(char *body, char *out, size_t cap, const char **finish, bool *usage)
{
    int events = 0;
    bool done = false;
    out[0] = '\0';
    for (char *line = strtok(body, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        assert_true(strncmp(line, "data: ", 6) == 0);
        assert_false(done);
        if (strcmp(line + 6, "[DONE]") == 0) {
            done = true;
            continue;
        }
        cJSON *c = cJSON_Parse(line + 6);
        assert_non_null(c);
        assert_string_equal(cJSON_GetObjectItem(c, "object")->valuestring, "chat.completion.chunk");
        cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "choices"), 0);
        cJSON *delta = cJSON_GetObjectItem(choice, "delta");
        cJSON *fr = cJSON_GetObjectItem(choice, "finish_reason");
        if (events++ == 0) {
            assert_string_equal(cJSON_GetObjectItem(delta, "role")->valuestring, "assistant");
        } else if (choice == NULL) {
            *usage = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "usage"), "total_tokens") != NULL;
        } else if (cJSON_IsString(fr)) {
            *finish = strcmp(fr->valuestring, "length") == 0 ? "length" : "stop";
        } else {
            strncat(out, cJSON_GetObjectItem(delta, "content")->valuestring, cap - strlen(out) - 1);
        }
        cJSON_Delete(c);
    }
    assert_true(done);
}

static void test_mock_server_stream_matches(void **state)
{
    struct resp r;
    char joined[4096];
    const char *f1 = NULL, *f2 = NULL;
    bool usage = false;
    start(base_args);
    http(NULL, CHAT, BODY(",\"max_tokens\":5"), NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.headers, "Content-Length:"));
    assert_non_null(strcasestr(r.headers, "application/json"));
    char *content = nonstream_content(r.body, &f1);
    assert_string_equal(f1, "length"); /* 5 < the profile's 12 */
    http(NULL, CHAT,
         BODY(",\"max_tokens\":5,\"stream\":true,\"stream_options\":{\"include_usage\":true}"),
         NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.headers, "text/event-stream"));
    join_stream(r.body, joined, sizeof(joined), &f2, &usage);
    assert_string_equal(joined, content);
    assert_string_equal(f2, "length");
    assert_true(usage);
    assert_true(strlen(content) > 10 && strchr(content, ' ') != NULL); /* words, not a char */
    free(content);
}

/* choices[0].message.content, usage and model of a chat answer, as one comparable string. */
static void answer_digest(const char *body, char *out, size_t cap)
{
    cJSON *root = cJSON_Parse(body);
    assert_non_null(root);
    cJSON *msg =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "choices"), 0), "message");
    cJSON *usage = cJSON_GetObjectItem(root, "usage");
    snprintf(out, cap, "%s|%s|%d/%d", cJSON_GetObjectItem(root, "model")->valuestring,
             cJSON_GetObjectItem(msg, "content")->valuestring,
             cJSON_GetObjectItem(usage, "prompt_tokens")->valueint,
             cJSON_GetObjectItem(usage, "completion_tokens")->valueint);
    cJSON_Delete(root);
}

/* The memo of repeated bodies and texts (mock_memo.h) changes nothing a client can see: a
 * sequence of requests, repeats among them, gets the same answers from a server with memos and
 * one without (--no-memo), same seed. */
static void test_mock_server_memo_same_answers(void **state)
{
    static const char *const bodies[] = {
        BODY(""),
        BODY(",\"max_tokens\":3"),
        BODY(""),
        "{\"model\":\"other\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}",
        BODY(",\"max_tokens\":3"),
        BODY(""),
        BODY(""), /* with x-mock-tokens: same body, fewer tokens (another text) */
        BODY(""),
    };
    static const char *const fewer[] = {"x-mock-tokens: 4", NULL};
    static const char *const plain_args[] = {"--seed", "7", "--tokens", "12", "--no-memo", NULL};
    char with[sizeof(bodies) / sizeof(bodies[0])][1024], without[1024];
    struct ll_mockproc plain;
    struct resp r;
    start(base_args);
    char plain_ca[sizeof(ca_path)] = "", keep_ca[sizeof(ca_path)];
    start_on(&plain, plain_args, plain_ca);
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        http(NULL, CHAT, bodies[i], i == 6 ? fewer : NULL, &r);
        assert_int_equal(r.status, 200);
        answer_digest(r.body, with[i], sizeof(with[i]));
    }
    struct ll_mockproc keep = mp;
    mp = plain; /* http() talks to mp, trusting ca_path */
    memcpy(keep_ca, ca_path, sizeof(ca_path));
    memcpy(ca_path, plain_ca, sizeof(ca_path));
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        http(NULL, CHAT, bodies[i], i == 6 ? fewer : NULL, &r);
        assert_int_equal(r.status, 200);
        answer_digest(r.body, without, sizeof(without));
        assert_string_equal(with[i], without);
    }
    mp = keep;
    memcpy(ca_path, keep_ca, sizeof(ca_path));
    assert_int_equal(ll_mockproc_stop(&plain, 5000), 0);
    if (plain_ca[0] != '\0') {
        unlink(plain_ca);
    }
    assert_string_equal(with[0], with[2]);
    assert_string_equal(with[1], with[4]);
    assert_string_not_equal(with[0], with[1]);
    assert_string_not_equal(with[0], with[3]);
    assert_string_not_equal(with[0], with[6]);
    assert_string_equal(with[6] + strlen(with[6]) - 2, "/4"); /* 4 tokens, of the same text */
}

static void test_mock_server_routes(void **state)
{
    struct resp r;
    start(base_args);
    http(NULL, "/v1/models", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    cJSON *root = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(root, "object")->valuestring, "list");
    cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "data"), 0);
    assert_string_equal(cJSON_GetObjectItem(m, "id")->valuestring, "gpt-mock");
    cJSON_Delete(root);
    /* One model by id, as the OpenAI clients' models.retrieve() asks for it. */
    http(NULL, "/v1/models/gpt-mock", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    root = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(root, "id")->valuestring, "gpt-mock");
    assert_string_equal(cJSON_GetObjectItem(root, "object")->valuestring, "model");
    assert_true(cJSON_IsString(cJSON_GetObjectItem(root, "owned_by")));
    cJSON_Delete(root);
    http(NULL, "/v1/models/gpt-nosuch", NULL, NULL, &r);
    expect_error(&r, 404, "model");
    assert_non_null(strstr(r.body, "\"model_not_found\""));
    assert_non_null(strstr(r.body, "gpt-nosuch"));
    http(NULL, "/v1/models/gpt-mock", "{}", NULL, &r);
    expect_error(&r, 405, NULL);
    assert_non_null(strcasestr(r.headers, "Allow: GET"));
    http(NULL, "/health", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    /* Every answer carries a Date in the IMF-fixdate form, close to our own clock. */
    const char *d = strcasestr(r.headers, "Date: ");
    assert_non_null(d);
    char date[64];
    size_t dn = strcspn(d + 6, "\r\n");
    assert_true(dn < sizeof(date) && dn == 29); /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    memcpy(date, d + 6, dn);
    date[dn] = '\0';
    time_t t = curl_getdate(date, NULL), now = time(NULL);
    assert_true(t > 0 && t >= now - 5 && t <= now + 5);
    http(NULL, "/v1/nope", NULL, NULL, &r);
    expect_error(&r, 404, NULL);
    http(NULL, "/v1/models", "{}", NULL, &r);
    expect_error(&r, 405, NULL);
    assert_non_null(strcasestr(r.headers, "Allow: GET"));
    http(NULL, CHAT, NULL, NULL, &r);
    expect_error(&r, 405, NULL);
    assert_non_null(strcasestr(r.headers, "Allow: POST"));
    expect_ok_chat();
}

static void test_mock_server_metrics(void **state)
{
    struct resp r;
    start(base_args);
    expect_ok_chat();
    http(NULL, "/metrics/reset", "", NULL, &r);
    assert_int_equal(r.status, 200);
    expect_ok_chat();
    expect_ok_chat();
    http(NULL, CHAT, "{", NULL, &r);
    http(NULL, "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(
        strstr(r.body, "mockllm_requests_total{model=\"gpt-mock\",status=\"200\"} 2\n"));
    assert_non_null(strstr(r.body, "mockllm_requests_total{model=\"none\",status=\"400\"} 1\n"));
    assert_non_null(strstr(r.body, "mockllm_connections_total 4\n"));
    assert_non_null(strstr(r.body, "mockllm_in_flight_peak 1\n"));
    assert_non_null(strstr(r.body, "mockllm_faults_total{kind=\"close\"} 0\n"));
    assert_non_null(strstr(r.body, "mockllm_bytes_sent_total "));
}

static void test_mock_server_keepalive(void **state)
{
    struct resp r;
    start(base_args);
    CURL *e = curl_easy_init();
    http(e, CHAT, BODY(), NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 1);
    http(e, CHAT, BODY(",\"stream\":true"), NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 0); /* reused */
    http(e, "/health", NULL, NULL, &r);
    assert_int_equal(r.connects, 0);
    curl_easy_cleanup(e);
}

/* Two chat requests pipelined on one connection, the second closing it; headers1 ("Name: v\r\n"
 * lines, or "") go with the first. Returns the length written to req. */
static size_t two_posts(char *req, size_t cap, const char *headers1, const char *b1, const char *b2)
{
    int n = snprintf(req, cap,
                     "POST " CHAT " HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n\r\n%s"
                     "POST " CHAT " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     headers1, strlen(b1), b1, strlen(b2), b2);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static void test_mock_server_pipelining(void **state)
{
    char req[2048], out[65536];
    bool eof;
    const char *b2 = BODY(",\"max_tokens\":2"), *b3 = BODY(",\"max_tokens\":3");
    start(base_args);
    size_t n = two_posts(req, sizeof(req), "x-mock-latency-ms: 50\r\n", b2, b3);
    raw(req, n, out, sizeof(out), 3000, &eof);
    assert_true(eof);
    assert_int_equal(count(out, "HTTP/1.1 200 OK"), 2);
    char *first = strstr(out, "\"completion_tokens\":2");
    char *second = strstr(out, "\"completion_tokens\":3");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second); /* in order, although the first one waited 50 ms */
}

/* A stream answered on a connection that has just carried a plain answer: its chunked body is
 * SSE events and nothing else (the plain answer's JSON once leaked into the first chunk). */
static void test_mock_server_stream_after_plain(void **state)
{
    char req[2048], out[65536];
    bool eof;
    const char *b1 = BODY(",\"max_tokens\":2"), *b2 = BODY(",\"max_tokens\":2,\"stream\":true");
    start(base_args);
    size_t n = two_posts(req, sizeof(req), "", b1, b2);
    raw(req, n, out, sizeof(out), 3000, &eof);
    assert_true(eof);
    char *stream = strstr(out, "text/event-stream");
    assert_non_null(stream);
    char *p = strstr(stream, "\r\n\r\n");
    assert_non_null(p);
    /* Each chunk: hex size CRLF, then exactly that many bytes of events, CRLF. */
    int chunks = 0;
    for (p += 4;;) {
        char *end;
        unsigned long len = strtoul(p, &end, 16);
        assert_true(end > p && end[0] == '\r' && end[1] == '\n');
        if (len == 0) {
            break;
        }
        p = end + 2;
        assert_true(strncmp(p, "data: ", 6) == 0);
        assert_true(strlen(p) >= len + 2 && p[len] == '\r' && p[len + 1] == '\n');
        assert_true(strncmp(p + len - 2, "\n\n", 2) == 0);
        p += len + 2;
        chunks++;
    }
    assert_true(chunks >= 4); /* role, 2 tokens, finish, [DONE] */
}

/* ---- bad input: a clear answer, and the next client is served ---- */

static void raw_expect(const char *req, const char *status_line, bool closes)
{
    char out[16384];
    bool eof;
    raw(req, strlen(req), out, sizeof(out), closes ? 3000 : 300, &eof);
    if (strstr(out, status_line) == NULL) {
        print_error("sent %.60s...; wanted %s; got '%.200s'\n", req, status_line, out);
    }
    assert_non_null(strstr(out, status_line));
    if (closes) {
        assert_true(eof);
    }
    expect_ok_chat();
}

static void test_mock_server_bad_http(void **state)
{
    char big[8192];
    start(base_args);
    raw_expect("BLAH / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ", true);
    raw_expect("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", "HTTP/1.1 400 ", true);
    snprintf(big, sizeof(big), "GET /health HTTP/1.1\r\nX-Big: %03000d\r\n\r\n", 1);
    raw_expect(big, "HTTP/1.1 431 ", true);
    raw_expect("POST " CHAT " HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", "HTTP/1.1 413 ", true);
    snprintf(big, sizeof(big),
             "POST " CHAT " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1001\r\n%04097d\r\n", 0);
    raw_expect(big, "HTTP/1.1 413 ", true);
    const char *b = BODY();
    snprintf(big, sizeof(big),
             "POST " CHAT " HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
             "%zx\r\n%s\r\n0\r\n\r\n",
             strlen(b), b);
    raw_expect(big, "HTTP/1.1 200 ", true);
    snprintf(big, sizeof(big),
             "POST " CHAT " HTTP/1.1\r\nExpect: 100-continue\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(b), b);
    raw_expect(big, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK", true);
    raw_expect("GET /health HTTP/1.0\r\n\r\n", "HTTP/1.1 200 ", true);
}

static void test_mock_server_bad_json(void **state)
{
    static const struct {
        const char *body, *param;
    } cases[] = {
        {"{not json", NULL},
        {"[1,2]", NULL},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "model"},
        {"{\"model\":7,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "model"},
        {"{\"model\":\"mock\"}", "messages"},
        {"{\"model\":\"mock\",\"messages\":[]}", "messages"},
        {"{\"model\":\"mock\",\"messages\":[{\"content\":\"x\"}]}", "messages"},
        {"{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages"},
        {BODY(",\"max_tokens\":\"5\""), "max_tokens"},
        {BODY(",\"max_tokens\":0"), "max_tokens"},
        {BODY(",\"max_completion_tokens\":1.5"), "max_completion_tokens"},
        {BODY(",\"stream\":\"yes\""), "stream"},
        {BODY(",\"stream_options\":true"), "stream_options"},
        {BODY(",\"n\":\"1\""), "n"},
        {BODY(",\"temperature\":\"hot\""), "temperature"},
    };
    struct resp r;
    start(base_args);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        http(NULL, CHAT, cases[i].body, NULL, &r);
        expect_error(&r, 400, cases[i].param);
        expect_ok_chat();
    }
    http(NULL, CHAT, BODY(",\"max_tokens\":null,\"temperature\":0.5,\"n\":1"), NULL, &r);
    assert_int_equal(r.status, 200);
}

/* ---- faults, scripts, limits ---- */

static void test_mock_server_scripted(void **state)
{
    struct resp r;
    const char *h[] = {"x-mock-key: job-1", "x-mock-fail-first: 2", NULL};
    const char *h429[] = {"x-mock-key: job-2", "x-mock-fail-first: 1", "x-mock-fail-status: 429",
                          NULL};
    start(base_args);
    for (int i = 0; i < 2; i++) {
        http(NULL, CHAT, BODY(), h, &r);
        expect_error(&r, 503, NULL);
        assert_non_null(strcasestr(r.headers, "Retry-After: 1"));
    }
    http(NULL, CHAT, BODY(), h, &r);
    assert_int_equal(r.status, 200);
    http(NULL, CHAT, BODY(), h429, &r);
    expect_error(&r, 429, NULL);
    http(NULL, CHAT, BODY(), h429, &r);
    assert_int_equal(r.status, 200);

    /* A list of statuses is read one per failed attempt, the last repeating. */
    const char *hseq[] = {"x-mock-key: job-3", "x-mock-fail-first: 4",
                          "x-mock-fail-status: 429,503,500", NULL};
    static const int want[] = {429, 503, 500, 500, 200};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        http(NULL, CHAT, BODY(), hseq, &r);
        assert_int_equal(r.status, want[i]);
    }
    /* A malformed list is ignored whole: the default 503 applies. */
    const char *hbad[] = {"x-mock-key: job-4", "x-mock-fail-first: 1",
                          "x-mock-fail-status: 429,abc", NULL};
    http(NULL, CHAT, BODY(), hbad, &r);
    expect_error(&r, 503, NULL);
}

static void test_mock_server_forced(void **state)
{
    struct resp r;
    const char *h429[] = {"x-mock-status: 429", "x-mock-retry-after: 3", NULL};
    const char *h500[] = {"x-mock-status: 500", NULL};
    start(base_args);
    http(NULL, CHAT, BODY(), h429, &r);
    expect_error(&r, 429, NULL);
    assert_non_null(strcasestr(r.headers, "Retry-After: 3"));
    http(NULL, CHAT, BODY(), h500, &r);
    expect_error(&r, 500, NULL);
    expect_ok_chat();
}

static void test_mock_server_ratelimit(void **state)
{
    static const char *const args[] = {"--rpm", "2", NULL};
    struct resp r;
    start(args);
    for (int i = 0; i < 2; i++) {
        http(NULL, CHAT, BODY(), NULL, &r);
        assert_int_equal(r.status, 200);
        assert_non_null(strcasestr(r.headers, "x-ratelimit-limit-requests: 2"));
    }
    http(NULL, CHAT, BODY(), NULL, &r);
    expect_error(&r, 429, NULL);
    assert_non_null(strcasestr(r.headers, "Retry-After: "));
    assert_non_null(strcasestr(r.headers, "x-ratelimit-remaining-requests: 0"));
    assert_non_null(strcasestr(r.headers, "x-ratelimit-reset-requests: "));
}

static void test_mock_server_auth(void **state)
{
    static const char *const args[] = {"--api-key", "sk-right", NULL};
    const char *wrong[] = {"Authorization: Bearer sk-wrong", NULL};
    const char *right[] = {"Authorization: Bearer sk-right", NULL};
    struct resp r;
    start(args);
    http(NULL, CHAT, BODY(), NULL, &r);
    expect_error(&r, 401, NULL);
    http(NULL, CHAT, BODY(), wrong, &r);
    expect_error(&r, 401, NULL);
    assert_non_null(strstr(r.body, "invalid_api_key"));
    http(NULL, CHAT, BODY(), right, &r);
    assert_int_equal(r.status, 200);
}

static void test_mock_server_close_fault(void **state)
{
    /* Tokens 10 ms apart: over HTTP/2, curl 7.88 drops DATA it has not delivered yet when the
     * RST_STREAM comes in the same read. */
    const char *h[] = {"x-mock-fault: close", "x-mock-itl-ms: 10", NULL};
    struct resp r;
    start(base_args);
    http(NULL, CHAT, BODY(",\"stream\":true"), h, &r);
    assert_int_not_equal(r.rc, CURLE_OK); /* cut before the end of the chunked body */
    assert_int_equal(count(r.body, "\"content\":\""), 1 + 3); /* role chunk + close_after 3 */
    assert_null(strstr(r.body, "[DONE]"));
    http(NULL, CHAT, BODY(), h, &r);
    assert_int_not_equal(r.rc, CURLE_OK); /* short of its Content-Length */
    expect_ok_chat();
}

static void test_mock_server_timing(void **state)
{
    const char *h[] = {"x-mock-latency-ms: 150", "x-mock-itl-ms: 10", NULL};
    struct resp r;
    start(base_args);
    int64_t t0 = ll_now_ns();
    http(NULL, CHAT, BODY(",\"max_tokens\":6"), h, &r); /* 150 + 5 * 10 ms */
    int64_t ms = (ll_now_ns() - t0) / LL_NS_PER_MS;
    assert_int_equal(r.status, 200);
    assert_true(ms >= 199 && ms < 1000);
}

/* The server's own share of a late answer. A request due 200 ms after mockllm read it; once
 * mockllm holds it (in flight 1), the process is stopped for 400 ms, so the answer goes out at
 * least 200 ms late. /metrics tells it apart from an answer sent on time, and the client gets
 * its answer. */
static void test_mock_server_lateness(void **state)
{
    static const char body[] = BODY(",\"max_tokens\":2");
    char req[512], out[4096];
    struct resp r;
    start(base_args);
    expect_ok_chat(); /* zero latency: on time */
    int n = snprintf(req, sizeof(req),
                     "POST " CHAT " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     "x-mock-latency-ms: 200\r\nContent-Length: %zu\r\n\r\n%s",
                     strlen(body), body);
    int fd = raw_dial(req, (size_t)n);
    bool held = false;
    for (int i = 0; i < 1000 && !held; i++) {
        http(NULL, "/metrics", NULL, NULL, &r);
        held = strstr(r.body, "\nmockllm_in_flight 1\n") != NULL;
    }
    assert_true(held);
    assert_int_equal(kill(mp.pid, SIGSTOP), 0);
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 400 * 1000000L};
    nanosleep(&pause, NULL);
    assert_int_equal(kill(mp.pid, SIGCONT), 0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    ssize_t got = recv(fd, out, sizeof(out) - 1, 0);
    close(fd);
    assert_true(got > 0);
    out[got] = '\0';
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    http(NULL, "/metrics", NULL, NULL, &r);
    assert_non_null(strstr(r.body, "mockllm_send_lateness_seconds_bucket{le=\"0.1\"} 1\n"));
    assert_non_null(strstr(r.body, "mockllm_send_lateness_seconds_count 2\n"));
    const char *mx = strstr(r.body, "\nmockllm_send_lateness_max_seconds ");
    assert_non_null(mx);
    double late = strtod(mx + strlen("\nmockllm_send_lateness_max_seconds "), NULL);
    assert_true(late >= 0.19 && late < 5.0);
}

static void test_mock_server_idle_timeout(void **state)
{
    static const char *const args[] = {"--idle-timeout-ms", "200", NULL};
    char out[64];
    bool eof;
    start(args);
    int64_t t0 = ll_now_ns();
    raw("", 0, out, sizeof(out), 3000, &eof); /* silent client */
    int64_t ms = (ll_now_ns() - t0) / LL_NS_PER_MS;
    assert_true(eof);
    assert_true(ms >= 150 && ms < 2000);
    raw("GET /hea", 8, out, sizeof(out), 3000, &eof); /* a request that never completes */
    assert_true(eof);
    expect_ok_chat();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_mock_server_stream_matches, teardown),
        cmocka_unit_test_teardown(test_mock_server_memo_same_answers, teardown),
        cmocka_unit_test_teardown(test_mock_server_routes, teardown),
        cmocka_unit_test_teardown(test_mock_server_metrics, teardown),
        cmocka_unit_test_teardown(test_mock_server_keepalive, teardown),
        cmocka_unit_test_teardown(test_mock_server_pipelining, teardown),
        cmocka_unit_test_teardown(test_mock_server_stream_after_plain, teardown),
        cmocka_unit_test_teardown(test_mock_server_bad_http, teardown),
        cmocka_unit_test_teardown(test_mock_server_bad_json, teardown),
        cmocka_unit_test_teardown(test_mock_server_scripted, teardown),
        cmocka_unit_test_teardown(test_mock_server_forced, teardown),
        cmocka_unit_test_teardown(test_mock_server_ratelimit, teardown),
        cmocka_unit_test_teardown(test_mock_server_auth, teardown),
        cmocka_unit_test_teardown(test_mock_server_close_fault, teardown),
        cmocka_unit_test_teardown(test_mock_server_timing, teardown),
        cmocka_unit_test_teardown(test_mock_server_lateness, teardown),
        cmocka_unit_test_teardown(test_mock_server_idle_timeout, teardown),
    };
    /* The cases that write HTTP/1.1 bytes by hand stay cleartext: over TLS, the others. */
    const struct CMUnitTest over_tls[] = {
        cmocka_unit_test_teardown(test_mock_server_stream_matches, teardown),
        cmocka_unit_test_teardown(test_mock_server_memo_same_answers, teardown),
        cmocka_unit_test_teardown(test_mock_server_routes, teardown),
        cmocka_unit_test_teardown(test_mock_server_metrics, teardown),
        cmocka_unit_test_teardown(test_mock_server_keepalive, teardown),
        cmocka_unit_test_teardown(test_mock_server_bad_json, teardown),
        cmocka_unit_test_teardown(test_mock_server_scripted, teardown),
        cmocka_unit_test_teardown(test_mock_server_forced, teardown),
        cmocka_unit_test_teardown(test_mock_server_ratelimit, teardown),
        cmocka_unit_test_teardown(test_mock_server_auth, teardown),
        cmocka_unit_test_teardown(test_mock_server_close_fault, teardown),
        cmocka_unit_test_teardown(test_mock_server_timing, teardown),
    };
    char name[64];
    snprintf(name, sizeof(name), "mock_server%s%s", transport()[0] ? " over " : "", transport());
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = transport()[0] == '\0'
                     ? cmocka_run_group_tests_name(ll_test_mock_group(name), tests, NULL, NULL)
                     : cmocka_run_group_tests_name(ll_test_mock_group(name), over_tls, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
