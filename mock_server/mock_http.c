/* mock_http.c - connections, the reading half: parse (http_parser), queue, hand over in order.
 *
 * A connection answers its requests one at a time and in order: only the head of its queue is
 * handed to the application; requests pipelined behind it wait, complete, in the queue (up to
 * MOCK_PIPELINE_MAX, then the parser is paused and reading stops). Writing, closing and
 * accepting are in mock_conn.c. */
#include "mock_http.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MOCK_SPARE_BODY_MAX (64 * 1024) /* a request body buffer larger than this is not kept */
#define MOCK_SPARE_MAX      64          /* freed requests a loop keeps for reuse */

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* ---- requests ---- */

static struct mock_req *req_new(struct mock_conn *c)
{
    struct mock_loop *lp = c->lp;
    struct mock_req *r = lp->spare;
    char *body = NULL;
    size_t cap = 0;
    if (r != NULL) {
        lp->spare = r->next;
        lp->nspare--;
        body = r->body;
        cap = r->body_cap;
    } else if ((r = malloc(sizeof(*r))) == NULL) {
        return NULL;
    }
    memset(r, 0, offsetof(struct mock_req, url));
    r->url[0] = r->auth[0] = r->mock_key[0] = '\0';
    r->body = body;
    r->body_cap = cap;
    r->conn = c;
    r->x_latency_ms = r->x_itl_ms = r->x_tokens = r->x_status = r->x_retry_after = -1;
    r->x_fail_first = -1;
    r->n_fail_status = 0;
    r->t_start_ns = (int64_t)uv_hrtime();
    return r;
}

/* Freed requests go to the loop's spares, last in first out: the next request of any
 * connection then reuses memory that is still in cache. */
void mock__req_free(struct mock_conn *c, struct mock_req *r)
{
    struct mock_loop *lp = c->lp;
    if (lp->nspare < MOCK_SPARE_MAX && r->body_cap <= MOCK_SPARE_BODY_MAX) {
        r->next = lp->spare;
        lp->spare = r;
        lp->nspare++;
        return;
    }
    free(r->body);
    free(r);
}

void mock_loop_free_spares(struct mock_loop *lp)
{
    while (lp->spare != NULL) {
        struct mock_req *r = lp->spare;
        lp->spare = r->next;
        free(r->body);
        free(r);
    }
    lp->nspare = 0;
}

static void req_enqueue(struct mock_conn *c, struct mock_req *r)
{
    r->next = NULL;
    if (c->tail != NULL) {
        c->tail->next = r;
    } else {
        c->head = r;
    }
    c->tail = r;
    c->nq++;
}

/* Free every request not being answered (queued, being parsed). */
void mock__free_queue(struct mock_conn *c)
{
    struct mock_req *r = c->head;
    if (r != NULL && c->active) {
        r = r->next; /* the caller deals with the active head */
        c->head->next = NULL;
        c->tail = c->head;
        c->nq = 1;
    } else {
        c->head = c->tail = NULL;
        c->nq = 0;
    }
    while (r != NULL) {
        struct mock_req *next = r->next;
        mock__req_free(c, r);
        r = next;
    }
    if (c->cur != NULL) {
        mock__req_free(c, c->cur);
        c->cur = NULL;
    }
}

/* ---- parser callbacks ---- */

static int count_header(struct mock_conn *c, size_t len)
{
    c->header_bytes += len;
    if (c->header_bytes > c->lp->srv->cfg->max_header_bytes) {
        c->err_status = 431;
        return -1;
    }
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct mock_conn *c = p->data;
    c->cur = req_new(c);
    c->header_bytes = c->hname_len = c->hval_len = 0;
    c->in_value = c->hval_trunc = false;
    if (c->cur == NULL) {
        c->err_status = 500;
        return -1;
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct mock_conn *c = p->data;
    struct mock_req *r = c->cur;
    if (count_header(c, len) != 0) {
        return -1;
    }
    size_t room = MOCK_URL_MAX - 1 - r->url_len;
    if (len > room) {
        r->url_trunc = true;
        len = room;
    }
    memcpy(r->url + r->url_len, at, len);
    r->url_len += len;
    r->url[r->url_len] = '\0';
    return 0;
}

static int header_int(const char *v, int lo, int hi)
{
    char *end;
    long n = strtol(v, &end, 10);
    return (end == v || *end != '\0' || n < lo || n > hi) ? -1 : (int)n;
}

/* "429,503,500": statuses in [400, 599], at most MOCK_FAIL_STATUS_MAX; a bad list is ignored
 * whole (the default 503 then applies), as a bad value of any x-mock header is. */
static void fail_statuses(struct mock_req *r, const char *v)
{
    int n = 0;
    for (const char *p = v; n < MOCK_FAIL_STATUS_MAX;) {
        char *end;
        long st = strtol(p, &end, 10);
        if (end == p || st < 400 || st > 599 || (*end != ',' && *end != '\0')) {
            n = 0;
            break;
        }
        r->x_fail_status[n++] = (short)st;
        if (*end == '\0') {
            break;
        }
        p = end + 1;
    }
    r->n_fail_status = n;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t len)
{
    len = len < cap - 1 ? len : cap - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

/* An x-mock-* header: n is the name after the prefix, v the value. */
static void mock_header(struct mock_req *r, const char *n, const char *v, size_t vlen)
{
    if (strcasecmp(n, "key") == 0) {
        copy_value(r->mock_key, sizeof(r->mock_key), v, vlen);
    } else if (strcasecmp(n, "latency-ms") == 0) {
        r->x_latency_ms = header_int(v, 0, 3600 * 1000);
    } else if (strcasecmp(n, "itl-ms") == 0) {
        r->x_itl_ms = header_int(v, 0, 3600 * 1000);
    } else if (strcasecmp(n, "tokens") == 0) {
        r->x_tokens = header_int(v, 1, MOCK_MAX_TOKENS_CAP);
    } else if (strcasecmp(n, "reasoning-tokens") == 0) {
        r->x_reasoning1 = header_int(v, 0, MOCK_MAX_TOKENS_CAP) + 1;
    } else if (strcasecmp(n, "chunk-tokens") == 0) {
        r->x_chunk1 = header_int(v, 1, MOCK_MAX_TOKENS_CAP) + 1;
    } else if (strcasecmp(n, "status") == 0) {
        r->x_status = header_int(v, 200, 599);
    } else if (strcasecmp(n, "retry-after") == 0) {
        r->x_retry_after = header_int(v, 0, 86400);
    } else if (strcasecmp(n, "fail-first") == 0) {
        r->x_fail_first = header_int(v, 0, 1 << 30);
    } else if (strcasecmp(n, "fail-status") == 0) {
        fail_statuses(r, v);
    } else if (strcasecmp(n, "fault") == 0) {
        r->x_fault = strcasecmp(v, "close") == 0   ? MOCK_XF_CLOSE
                     : strcasecmp(v, "stall") == 0 ? MOCK_XF_STALL
                     : strcasecmp(v, "split") == 0 ? MOCK_XF_SPLIT
                                                   : MOCK_XF_NONE;
    }
}

/* One header (name and value complete) seen: keep it when the application wants it. Names are
 * told apart by length first: the usual headers (Host, Content-Type, Content-Length...) then
 * cost no string comparison at all. */
static void header_done(struct mock_conn *c)
{
    struct mock_req *r = c->cur;
    const char *n = c->hname, *v = c->hval;
    size_t len = c->hname_len;
    c->hname[len < sizeof(c->hname) ? len : sizeof(c->hname) - 1] = '\0';
    c->hval[c->hval_len] = '\0';
    c->in_value = false;
    if (len >= sizeof(c->hname)) {
        return; /* a name this long is none of ours */
    } else if (len == 13 && strcasecmp(n, "authorization") == 0) {
        copy_value(r->auth, sizeof(r->auth), v, c->hval_trunc ? 0 : c->hval_len);
    } else if (len == 6 && strcasecmp(n, "expect") == 0) {
        r->expect_continue = strcasecmp(v, "100-continue") == 0;
    } else if (len > 7 && strncasecmp(n, "x-mock-", 7) == 0) {
        mock_header(r, n + 7, v, c->hval_len);
    }
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct mock_conn *c = p->data;
    if (count_header(c, len) != 0) {
        return -1;
    }
    if (c->in_value) {
        header_done(c);
        c->hname_len = c->hval_len = 0;
        c->hval_trunc = false;
    }
    if (c->hname_len + len < sizeof(c->hname)) {
        memcpy(c->hname + c->hname_len, at, len);
    }
    c->hname_len += len; /* >= sizeof(hname): too long to be one we want */
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct mock_conn *c = p->data;
    if (count_header(c, len) != 0) {
        return -1;
    }
    c->in_value = true;
    size_t room = sizeof(c->hval) - 1 - c->hval_len;
    if (len > room) {
        c->hval_trunc = true;
        len = room;
    }
    memcpy(c->hval + c->hval_len, at, len);
    c->hval_len += len;
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct mock_conn *c = p->data;
    struct mock_req *r = c->cur;
    if (c->in_value) {
        header_done(c);
    }
    r->method = (unsigned char)p->method;
    r->http10 = p->http_major == 1 && p->http_minor == 0;
    if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
        p->content_length > c->lp->srv->cfg->max_body_bytes) {
        c->err_status = 413;
        return -1;
    }
    if (r->expect_continue && c->head == NULL && !r->http10) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        mock_conn_send(c, cont, sizeof(cont) - 1);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct mock_conn *c = p->data;
    struct mock_req *r = c->cur;
    if (r->body_len + len > c->lp->srv->cfg->max_body_bytes) {
        c->err_status = 413;
        return -1;
    }
    if (r->body_len + len + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 1024;
        while (cap < r->body_len + len + 1) {
            cap *= 2;
        }
        char *nb = realloc(r->body, cap);
        if (nb == NULL) {
            c->err_status = 500;
            return -1;
        }
        r->body = nb;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, at, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct mock_conn *c = p->data;
    struct mock_req *r = c->cur;
    r->keep_alive = http_should_keep_alive(p) != 0;
    c->cur = NULL;
    req_enqueue(c, r);
    if (c->nq >= MOCK_PIPELINE_MAX) {
        http_parser_pause(p, 1); /* resumed by conn_kick when the queue has room */
    }
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- reading ---- */

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct mock_conn *c = h->data;
    *buf = uv_buf_init(c->lp->rbuf, sizeof(c->lp->rbuf));
}

void mock__read_start(struct mock_conn *c)
{
    if (!c->reading && !c->closing &&
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0) {
        c->reading = true;
    }
}

void mock__read_stop(struct mock_conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* The parser failed: queue an error answer behind the requests already complete. */
static void protocol_error(struct mock_conn *c, enum http_errno e)
{
    struct mock_req *r = c->cur;
    c->cur = NULL;
    c->broken = true;
    mock__read_stop(c);
    if (r == NULL && (r = req_new(c)) == NULL) {
        mock_conn_close(c);
        return;
    }
    r->pre_status = c->err_status ? c->err_status : e == HPE_HEADER_OVERFLOW ? 431 : 400;
    r->pre_msg = http_errno_description(e);
    r->keep_alive = false;
    req_enqueue(c, r);
}

static void conn_feed(struct mock_conn *c, const char *data, size_t len)
{
    size_t n = http_parser_execute(&c->parser, &settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e == HPE_PAUSED) {
        c->paused = true;
        mock__read_stop(c);
        if (n < len) {
            char *p = malloc(len - n);
            if (p == NULL) {
                mock_conn_close(c);
                return;
            }
            memcpy(p, data + n, len - n);
            c->pending = p;
            c->pending_len = len - n;
        }
    } else if (e != HPE_OK) {
        protocol_error(c, e);
    } else if (c->parser.upgrade) {
        /* Upgrade/CONNECT: answer what came, ignore the rest, then close. */
        if (c->tail != NULL) {
            c->tail->keep_alive = false;
        }
        c->broken = true;
        mock__read_stop(c);
    }
}

static void conn_unpause(struct mock_conn *c)
{
    char *p = c->pending;
    size_t len = c->pending_len;
    c->pending = NULL;
    c->pending_len = 0;
    c->paused = false;
    http_parser_pause(&c->parser, 0);
    conn_feed(c, p ? p : "", len);
    free(p);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct mock_conn *c = s->data;
    if (nread == 0 || c->closing) {
        return;
    }
    if (nread < 0) {
        /* A stalled request will never be answered: a client that gave up must not keep its
         * connection (and the request's accounting) open until the idle timeout. */
        if (c->shutting || nread != UV_EOF || c->head == NULL || c->held) {
            mock_conn_close(c);
            return;
        }
        /* Half-closed after sending requests: answer those, then close. */
        c->eof = true;
        mock__read_stop(c);
        c->tail->keep_alive = false;
        return;
    }
    mock_metrics_add(&mock__counters(c)->bytes_in, (unsigned long long)nread);
    if (c->shutting || c->broken) {
        return; /* draining before close, or past a parse error */
    }
    conn_feed(c, buf->base, (size_t)nread);
    mock__conn_kick(c);
}

/* ---- answering in order ---- */

/* Hand the head request to the application, as many times as answers complete synchronously,
 * then resume parsing and reading when there is room. Never re-entered. */
void mock__conn_kick(struct mock_conn *c)
{
    if (c->in_kick) {
        return;
    }
    c->in_kick = true;
    for (;;) {
        while (c->head != NULL && !c->active && !c->closing && !c->shutting && !c->failed) {
            c->active = true; /* the keep-alive timer, if it fires now, lets the answer be */
            mock_openai_handle(c->head);
        }
        if (c->closing || c->shutting || c->failed || !c->paused || c->nq >= MOCK_PIPELINE_MAX) {
            break;
        }
        conn_unpause(c);
    }
    c->in_kick = false;
    if (!c->closing && !c->shutting && !c->paused && !c->broken && !c->eof &&
        c->write_queued < MOCK_WRITE_HIGH) {
        mock__read_start(c);
    }
}
