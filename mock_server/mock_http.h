/* mock_http.h - HTTP/1.x parsing: bytes in (http_parser), complete requests out, in order, with
 * the headers the application reads (x-mock-*, Authorization, Expect) and the limits of the
 * configuration (431, 413, 400 become an error request queued last). The connection
 * (mock_conn.c) feeds it what it reads and answers its requests one at a time; nothing here
 * reads, writes or answers.
 *
 * Requests come from the worker's pool (freed ones kept for reuse) and go back to it. Everything
 * here runs on the owning connection's thread (its loop's, or its own). */
#ifndef MOCK_HTTP_H
#define MOCK_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mock_config.h"
#include "mock_job.h"

#define MOCK_URL_MAX      1024
#define MOCK_AUTH_MAX     300
#define MOCK_KEY_MAX      128
#define MOCK_PIPELINE_MAX 64 /* complete requests queued per connection before parsing pauses */

enum mock_xfault { MOCK_XF_NONE, MOCK_XF_CLOSE, MOCK_XF_STALL, MOCK_XF_SPLIT };

#define MOCK_FAIL_STATUS_MAX 8

struct mock_conn;

struct mock_req {
    struct mock_req *next;
    struct mock_conn *conn; /* the connection that read it (mock_http_init's owner) */
    int pre_status;         /* 400/413/431 decided by the HTTP layer: answer it and close */
    const char *pre_msg;    /* static text for pre_status, or NULL */
    unsigned char method;
    bool keep_alive, http10, expect_continue, url_trunc;
    int status; /* of the answer, for metrics and --verbose */
    int64_t t_start_ns;
    size_t url_len;
    char *body;
    size_t body_len, body_cap;
    int x_latency_ms, x_itl_ms, x_tokens, x_status, x_retry_after,
        x_fail_first; /* -1 when absent */
    /* x-mock-reasoning-tokens, x-mock-chunk-tokens: absent when 0 (cleared with the request,
     * no store of their own), else the header's value + 1. */
    int x_reasoning1, x_chunk1;
    /* x-mock-fail-status: one status, or a list ("429,503,500") read one per failed attempt,
     * the last repeating; none given means 503. */
    short x_fail_status[MOCK_FAIL_STATUS_MAX];
    int n_fail_status;
    enum mock_xfault x_fault;
    struct mock_job job;
    /* Text last: a new request clears everything before `url` but only the first byte of each
     * of these (they are always written NUL-terminated), not 1.5 KiB per request. */
    char url[MOCK_URL_MAX];
    /* headers the application cares about (others are only counted against the limit) */
    char auth[MOCK_AUTH_MAX];
    char mock_key[MOCK_KEY_MAX];
};

/* Freed requests a worker keeps for reuse, last in first out (the next request of any connection
 * then reuses memory still in cache). */
struct mock_req_pool {
    struct mock_req *spare;
    int nspare;
};

/* One connection's parser and its output: the complete requests, in arrival order. */
struct mock_http {
    http_parser parser;
    const struct mock_config *cfg; /* header and body limits */
    struct mock_req_pool *pool;
    struct mock_conn *owner;      /* set into every request's conn */
    struct mock_req *cur;         /* being parsed */
    struct mock_req *head, *tail; /* complete, in order; the connection answers head first */
    int nq;
    char hname[32];
    size_t hname_len, hval_len, header_bytes;
    char hval[MOCK_AUTH_MAX];
    bool in_value, hval_trunc;
    bool paused;        /* MOCK_PIPELINE_MAX requests queued: input kept in pending */
    bool want_continue; /* a request waits for "100 Continue" before sending its body */
    int err_status;     /* status for the parser error being raised by a callback */
    char *pending;      /* bytes read but not parsed while paused */
    size_t pending_len;
};

enum mock_http_rc {
    MOCK_HTTP_OK,     /* everything parsed */
    MOCK_HTTP_PAUSED, /* the queue is full: the rest waits for mock_http_resume */
    MOCK_HTTP_END,    /* no more requests on this connection: a parse error (its error request,
                         pre_status set, queued last) or an Upgrade (the last request closes) */
    MOCK_HTTP_NOMEM,  /* out of memory: the connection must close */
};

void mock_http_init(struct mock_http *h, struct mock_conn *owner, struct mock_req_pool *pool,
                    const struct mock_config *cfg);
/* Parse len bytes (the caller's, not kept unless PAUSED). */
enum mock_http_rc mock_http_feed(struct mock_http *h, const char *data, size_t len);
/* Parse what was kept while paused, once the queue has room. Same returns. */
enum mock_http_rc mock_http_resume(struct mock_http *h);
/* Take the answered head request off the queue and give it back to the pool. */
void mock_http_pop(struct mock_http *h);
/* Give back every request but the head when keep_head (it is being answered), the one being
 * parsed, and the kept input. */
void mock_http_drop(struct mock_http *h, bool keep_head);
void mock_req_free(struct mock_req_pool *pool, struct mock_req *r);
/* Keep n bytes for mock_http_resume, behind any already kept (a transport that decrypts or
 * delays its input may hold more after the parser paused). 0 or -1 (out of memory). */
int mock_http_keep(struct mock_http *h, const char *p, size_t n);

/* HTTP/2 (mock_h2.c) builds a request from frames instead of bytes, with the same limits and
 * the same headers read: begin it, give it pseudo-headers (:method, :path; others are counted
 * and ignored) and headers, body bytes, then end it (queued, keep-alive). A header block over
 * --max-header-bytes makes it a 431, a body over --max-body-bytes a 413, an unknown method a
 * 400, answered when it ends. mock_http_begin returns NULL when out of memory. */
struct mock_req *mock_http_begin(struct mock_http *h);
void mock_http_field(struct mock_http *h, const char *name, size_t nlen, const char *value,
                     size_t vlen);
void mock_http_data(struct mock_http *h, const char *p, size_t n);
void mock_http_end(struct mock_http *h);
/* Free every request the pool keeps (at the worker's end). */
void mock_req_pool_free(struct mock_req_pool *pool);

#endif
