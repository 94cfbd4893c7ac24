/* mock_http.c - HTTP/1.x parsing (mock_http.h): http_parser callbacks that build requests,
 * their queue, the pool they come from, and what a parse ends with. */
#include "mock_http.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#define MOCK_SPARE_BODY_MAX (64 * 1024) /* a request body buffer larger than this is not kept */
#define MOCK_SPARE_MAX      64          /* freed requests a loop keeps for reuse */

/* ---- requests ---- */

static struct mock_req *req_new(struct mock_http *h)
{
    struct mock_req_pool *pool = h->pool;
    struct mock_req *r = pool->spare;
    char *body = NULL;
    size_t cap = 0;
    if (r != NULL) {
        pool->spare = r->next;
        pool->nspare--;
        body = r->body;
        cap = r->body_cap;
    } else if ((r = malloc(sizeof(*r))) == NULL) {
        return NULL;
    }
    memset(r, 0, offsetof(struct mock_req, url));
    r->url[0] = r->auth[0] = r->mock_key[0] = '\0';
    r->body = body;
    r->body_cap = cap;
    r->conn = h->owner;
    r->x_latency_ms = r->x_itl_ms = r->x_tokens = r->x_status = r->x_retry_after = -1;
    r->x_fail_first = -1;
    r->n_fail_status = 0;
    r->t_start_ns = (int64_t)uv_hrtime();
    return r;
}

void mock_req_free(struct mock_req_pool *pool, struct mock_req *r)
{
    if (pool->nspare < MOCK_SPARE_MAX && r->body_cap <= MOCK_SPARE_BODY_MAX) {
        r->next = pool->spare;
        pool->spare = r;
        pool->nspare++;
        return;
    }
    free(r->body);
    free(r);
}

void mock_req_pool_free(struct mock_req_pool *pool)
{
    while (pool->spare != NULL) {
        struct mock_req *r = pool->spare;
        pool->spare = r->next;
        free(r->body);
        free(r);
    }
    pool->nspare = 0;
}

static void req_enqueue(struct mock_http *h, struct mock_req *r)
{
    r->next = NULL;
    if (h->tail != NULL) {
        h->tail->next = r;
    } else {
        h->head = r;
    }
    h->tail = r;
    h->nq++;
}

void mock_http_pop(struct mock_http *h)
{
    struct mock_req *r = h->head;
    h->head = r->next;
    if (h->head == NULL) {
        h->tail = NULL;
    }
    h->nq--;
    mock_req_free(h->pool, r);
}

void mock_http_drop(struct mock_http *h, bool keep_head)
{
    struct mock_req *r = h->head;
    if (r != NULL && keep_head) {
        r = r->next; /* the caller deals with the head */
        h->head->next = NULL;
        h->tail = h->head;
        h->nq = 1;
    } else {
        h->head = h->tail = NULL;
        h->nq = 0;
    }
    while (r != NULL) {
        struct mock_req *next = r->next;
        mock_req_free(h->pool, r);
        r = next;
    }
    if (h->cur != NULL) {
        mock_req_free(h->pool, h->cur);
        h->cur = NULL;
    }
    free(h->pending);
    h->pending = NULL;
    h->pending_len = 0;
}

/* ---- parser callbacks ---- */

static int count_header(struct mock_http *h, size_t len)
{
    h->header_bytes += len;
    if (h->header_bytes > h->cfg->max_header_bytes) {
        h->err_status = 431;
        return -1;
    }
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct mock_http *h = p->data;
    h->cur = req_new(h);
    h->header_bytes = h->hname_len = h->hval_len = 0;
    h->in_value = h->hval_trunc = false;
    if (h->cur == NULL) {
        h->err_status = 500;
        return -1;
    }
    return 0;
}

static void url_add(struct mock_req *r, const char *at, size_t len)
{
    size_t room = MOCK_URL_MAX - 1 - r->url_len;
    if (len > room) {
        r->url_trunc = true;
        len = room;
    }
    memcpy(r->url + r->url_len, at, len);
    r->url_len += len;
    r->url[r->url_len] = '\0';
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct mock_http *h = p->data;
    if (count_header(h, len) != 0) {
        return -1;
    }
    url_add(h->cur, at, len);
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
static void header_done(struct mock_http *h)
{
    struct mock_req *r = h->cur;
    const char *n = h->hname, *v = h->hval;
    size_t len = h->hname_len;
    h->hname[len < sizeof(h->hname) ? len : sizeof(h->hname) - 1] = '\0';
    h->hval[h->hval_len] = '\0';
    h->in_value = false;
    if (len >= sizeof(h->hname)) {
        return; /* a name this long is none of ours */
    } else if (len == 13 && strcasecmp(n, "authorization") == 0) {
        copy_value(r->auth, sizeof(r->auth), v, h->hval_trunc ? 0 : h->hval_len);
    } else if (len == 6 && strcasecmp(n, "expect") == 0) {
        r->expect_continue = strcasecmp(v, "100-continue") == 0;
    } else if (len > 7 && (n[0] | 0x20) == 'x' && strncasecmp(n, "x-mock-", 7) == 0) {
        mock_header(r, n + 7, v, h->hval_len);
    }
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct mock_http *h = p->data;
    if (count_header(h, len) != 0) {
        return -1;
    }
    if (h->in_value) {
        header_done(h);
        h->hname_len = h->hval_len = 0;
        h->hval_trunc = false;
    }
    if (h->hname_len + len < sizeof(h->hname)) {
        memcpy(h->hname + h->hname_len, at, len);
    }
    h->hname_len += len; /* >= sizeof(hname): too long to be one we want */
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct mock_http *h = p->data;
    if (count_header(h, len) != 0) {
        return -1;
    }
    h->in_value = true;
    size_t room = sizeof(h->hval) - 1 - h->hval_len;
    if (len > room) {
        h->hval_trunc = true;
        len = room;
    }
    memcpy(h->hval + h->hval_len, at, len);
    h->hval_len += len;
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct mock_http *h = p->data;
    struct mock_req *r = h->cur;
    if (h->in_value) {
        header_done(h);
    }
    r->method = (unsigned char)p->method;
    r->http10 = p->http_major == 1 && p->http_minor == 0;
    if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
        p->content_length > h->cfg->max_body_bytes) {
        h->err_status = 413;
        return -1;
    }
    /* Only with nothing queued before it: an answer to an earlier request must come first. */
    h->want_continue |= r->expect_continue && h->head == NULL && !r->http10;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct mock_http *h = p->data;
    struct mock_req *r = h->cur;
    if (r->body_len + len > h->cfg->max_body_bytes) {
        h->err_status = 413;
        return -1;
    }
    if (r->body_len + len + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 1024;
        while (cap < r->body_len + len + 1) {
            cap *= 2;
        }
        char *nb = realloc(r->body, cap);
        if (nb == NULL) {
            h->err_status = 500;
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
    struct mock_http *h = p->data;
    struct mock_req *r = h->cur;
    r->keep_alive = http_should_keep_alive(p) != 0;
    h->cur = NULL;
    req_enqueue(h, r);
    if (h->nq >= MOCK_PIPELINE_MAX) {
        http_parser_pause(p, 1); /* resumed by mock_http_resume when the queue has room */
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

/* ---- feeding ---- */

void mock_http_init(struct mock_http *h, struct mock_conn *owner, struct mock_req_pool *pool,
                    const struct mock_config *cfg)
{
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = h;
    h->owner = owner;
    h->pool = pool;
    h->cfg = cfg;
}

/* The parser failed: queue an error answer behind the requests already complete. */
static enum mock_http_rc protocol_error(struct mock_http *h, enum http_errno e)
{
    struct mock_req *r = h->cur;
    h->cur = NULL;
    if (r == NULL && (r = req_new(h)) == NULL) {
        return MOCK_HTTP_NOMEM;
    }
    r->pre_status = h->err_status ? h->err_status : e == HPE_HEADER_OVERFLOW ? 431 : 400;
    r->pre_msg = http_errno_description(e);
    r->keep_alive = false;
    req_enqueue(h, r);
    return MOCK_HTTP_END;
}

enum mock_http_rc mock_http_feed(struct mock_http *h, const char *data, size_t len)
{
    size_t n = http_parser_execute(&h->parser, &settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
    if (e == HPE_PAUSED) {
        h->paused = true;
        if (n < len) {
            char *p = malloc(len - n);
            if (p == NULL) {
                return MOCK_HTTP_NOMEM;
            }
            memcpy(p, data + n, len - n);
            h->pending = p;
            h->pending_len = len - n;
        }
        return MOCK_HTTP_PAUSED;
    }
    if (e != HPE_OK) {
        return protocol_error(h, e);
    }
    if (h->parser.upgrade) {
        /* Upgrade/CONNECT: answer what came, ignore the rest, then close. */
        if (h->tail != NULL) {
            h->tail->keep_alive = false;
        }
        return MOCK_HTTP_END;
    }
    return MOCK_HTTP_OK;
}

int mock_http_keep(struct mock_http *h, const char *p, size_t n)
{
    char *np = realloc(h->pending, h->pending_len + n);
    if (np == NULL) {
        return -1;
    }
    memcpy(np + h->pending_len, p, n);
    h->pending = np;
    h->pending_len += n;
    return 0;
}

enum mock_http_rc mock_http_resume(struct mock_http *h)
{
    char *p = h->pending;
    size_t len = h->pending_len;
    h->pending = NULL;
    h->pending_len = 0;
    h->paused = false;
    http_parser_pause(&h->parser, 0);
    enum mock_http_rc rc = mock_http_feed(h, p ? p : "", len);
    free(p);
    return rc;
}

/* ---- requests from HTTP/2 frames ---- */

struct mock_req *mock_http_begin(struct mock_http *h)
{
    if (h->cur != NULL) {
        mock_req_free(h->pool, h->cur);
    }
    h->cur = req_new(h);
    h->header_bytes = 0;
    if (h->cur != NULL) {
        h->cur->keep_alive = true;
        h->cur->method = 255; /* none until :method */
    }
    return h->cur;
}

static void fail_req(struct mock_req *r, int status, const char *msg)
{
    if (r->pre_status == 0) {
        r->pre_status = status;
        r->pre_msg = msg;
    }
}

static void pseudo(struct mock_req *r, const char *n, size_t nlen, const char *v, size_t vlen)
{
    if (nlen == 5 && memcmp(n, ":path", 5) == 0) {
        url_add(r, v, vlen);
    } else if (nlen == 7 && memcmp(n, ":method", 7) == 0) {
        for (int m = 0; m < 64; m++) {
            const char *s = http_method_str((enum http_method)m);
            if (strcmp(s, "<unknown>") == 0) {
                break;
            }
            if (strlen(s) == vlen && memcmp(s, v, vlen) == 0) {
                r->method = (unsigned char)m;
                return;
            }
        }
        fail_req(r, 400, "invalid HTTP method");
    }
}

void mock_http_field(struct mock_http *h, const char *name, size_t nlen, const char *value,
                     size_t vlen)
{
    struct mock_req *r = h->cur;
    if (r == NULL || r->pre_status != 0) {
        return;
    }
    h->header_bytes += nlen + vlen;
    if (h->header_bytes > h->cfg->max_header_bytes) {
        fail_req(r, 431, NULL);
        return;
    }
    if (nlen > 0 && name[0] == ':') {
        pseudo(r, name, nlen, value, vlen);
        return;
    }
    size_t n = nlen < sizeof(h->hname) ? nlen : sizeof(h->hname);
    memcpy(h->hname, name, n);
    h->hname_len = nlen;
    h->hval_trunc = vlen > sizeof(h->hval) - 1;
    h->hval_len = h->hval_trunc ? sizeof(h->hval) - 1 : vlen;
    memcpy(h->hval, value, h->hval_len);
    header_done(h);
}

void mock_http_data(struct mock_http *h, const char *p, size_t n)
{
    struct mock_req *r = h->cur;
    h->err_status = 0;
    if (r != NULL && r->pre_status == 0 && on_body(&h->parser, p, n) != 0) {
        fail_req(r, h->err_status, NULL); /* as http_parser would: 413, or 500 */
    }
}

void mock_http_end(struct mock_http *h)
{
    struct mock_req *r = h->cur;
    if (r == NULL) {
        return;
    }
    h->cur = NULL;
    if (r->method == 255) {
        fail_req(r, 400, "no :method");
        r->method = HTTP_GET;
    }
    req_enqueue(h, r);
}
