/* ll_sse.c - incremental SSE parsing: the WHATWG event stream interpretation (see ll_sse.h). */
#include "ll_sse.h"

#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_grow.h"

#define LL_SSE_DEFAULT_MAX ((size_t)1 << 20)
#define LL_SSE_LINE_SLACK  64 /* a line may hold "data: " and the like on top of the event */

static const char bom_bytes[3] = {'\xEF', '\xBB', '\xBF'};

void ll_sse_init(struct ll_sse *s)
{
    memset(s, 0, sizeof(*s));
    s->retry_ms = -1;
}

void ll_sse_reset(struct ll_sse *s)
{
    s->line_len = 0;
    s->data_len = 0;
    s->type_len = 0;
    s->last_id[0] = '\0';
    s->retry_ms = -1;
    s->done = false;
    s->cr = false;
    s->bom = 0;
}

void ll_sse_free(struct ll_sse *s)
{
    free(s->line);
    free(s->data);
    free(s->type);
    ll_sse_init(s);
}

static size_t max_event(const struct ll_sse *s)
{
    return s->max_event ? s->max_event : LL_SSE_DEFAULT_MAX;
}

/* Make room for `more` bytes plus a NUL in a growable buffer. */
static int reserve(char **buf, size_t *cap, size_t len, size_t more)
{
    return ll_grow(buf, cap, len + more + 1, 256);
}

static int dispatch(struct ll_sse *s, ll_sse_event_cb cb, void *arg)
{
    size_t tlen = s->type_len;
    s->type_len = 0; /* the type lasts one event, dispatched or not */
    if (s->data_len == 0) {
        return 0; /* no data field since the last dispatch: nothing to hand over */
    }
    size_t len = s->data_len - 1; /* every data line appended a '\n'; drop the last */
    s->data[len] = '\0';
    s->data_len = 0;
    if (len == 6 && memcmp(s->data, "[DONE]", 6) == 0) {
        s->done = true; /* OpenAI's end-of-stream sentinel, not an event */
        return 0;
    }
    const char *type = "message";
    if (tlen > 0) {
        s->type[tlen] = '\0';
        type = s->type;
    }
    return cb(arg, type, s->data, len);
}

/* Append v to a growable buffer, within the event size limit. */
static int append(struct ll_sse *s, char **buf, size_t *blen, size_t *cap, const char *v,
                  size_t vlen)
{
    if (*blen + vlen + 1 > max_event(s)) {
        return LL_EPROTO;
    }
    if (reserve(buf, cap, *blen, vlen + 1) != 0) {
        return LL_ENOMEM;
    }
    memcpy(*buf + *blen, v, vlen);
    *blen += vlen;
    return 0;
}

static bool field_is(const char *f, size_t flen, const char *name)
{
    return flen == strlen(name) && memcmp(f, name, flen) == 0; /* case-sensitive */
}

static int process_field(struct ll_sse *s, const char *f, size_t flen, const char *v, size_t vlen)
{
    if (field_is(f, flen, "data")) {
        int rc = append(s, &s->data, &s->data_len, &s->data_cap, v, vlen);
        if (rc == 0) {
            s->data[s->data_len++] = '\n';
        }
        return rc;
    }
    if (field_is(f, flen, "event")) {
        s->type_len = 0;
        return append(s, &s->type, &s->type_len, &s->type_cap, v, vlen);
    }
    if (field_is(f, flen, "id")) {
        if (memchr(v, '\0', vlen) == NULL) {
            size_t n = vlen < sizeof(s->last_id) - 1 ? vlen : sizeof(s->last_id) - 1;
            memcpy(s->last_id, v, n);
            s->last_id[n] = '\0';
        }
        return 0;
    }
    if (field_is(f, flen, "retry")) {
        int64_t ms = 0;
        size_t i = 0;
        while (i < vlen && v[i] >= '0' && v[i] <= '9') {
            ms = ms < INT64_MAX / 10 - 10 ? ms * 10 + (v[i] - '0') : INT64_MAX / 10;
            i++;
        }
        if (vlen > 0 && i == vlen) {
            s->retry_ms = ms;
        }
        return 0;
    }
    return 0; /* any other field is ignored */
}

static int process_line(struct ll_sse *s, const char *line, size_t len, ll_sse_event_cb cb,
                        void *arg)
{
    if (len == 0) {
        return dispatch(s, cb, arg);
    }
    if (line[0] == ':') {
        return 0; /* comment (keep-alive) */
    }
    const char *colon = memchr(line, ':', len);
    size_t flen = colon ? (size_t)(colon - line) : len;
    const char *v = colon ? colon + 1 : line + len;
    size_t vlen = (size_t)(line + len - v);
    if (vlen > 0 && v[0] == ' ') {
        v++;
        vlen--;
    }
    return process_field(s, line, flen, v, vlen);
}

/* Split bytes into lines (CRLF, LF or CR) and process each. */
static int feed_lines(struct ll_sse *s, const char *buf, size_t len, ll_sse_event_cb cb, void *arg)
{
    size_t i = 0;
    while (i < len) {
        if (s->cr) {
            s->cr = false; /* a "\r\n" split across two feeds is one line end */
            if (buf[i] == '\n') {
                i++;
                continue;
            }
        }
        size_t j = i;
        while (j < len && buf[j] != '\n' && buf[j] != '\r') {
            j++;
        }
        const char *line = buf + i;
        size_t line_len = j - i;
        if (s->line_len > 0 || j == len) {
            /* A partial line is pending, or this one is: assemble it in s->line. */
            if (s->line_len + line_len > max_event(s) + LL_SSE_LINE_SLACK) {
                return LL_EPROTO;
            }
            if (reserve(&s->line, &s->line_cap, s->line_len, line_len) != 0) {
                return LL_ENOMEM;
            }
            memcpy(s->line + s->line_len, line, line_len);
            s->line_len += line_len;
            if (j == len) {
                break; /* no line end yet: wait for more bytes */
            }
            line = s->line;
            line_len = s->line_len;
            s->line_len = 0;
        }
        if (buf[j] == '\r') {
            s->cr = true;
        }
        i = j + 1;
        int rc = process_line(s, line, line_len, cb, arg);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int ll_sse_feed(struct ll_sse *s, const char *buf, size_t len, ll_sse_event_cb cb, void *arg)
{
    size_t i = 0;
    /* The stream's first bytes: one BOM is dropped; a partial match that fails is data. */
    while (s->bom < 3 && i < len) {
        if (buf[i] == bom_bytes[s->bom]) {
            s->bom++;
            i++;
            continue;
        }
        unsigned held = s->bom;
        s->bom = 3;
        int rc = feed_lines(s, bom_bytes, held, cb, arg);
        if (rc != 0) {
            return rc;
        }
    }
    return feed_lines(s, buf + i, len - i, cb, arg);
}
