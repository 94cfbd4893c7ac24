/* ll_sse.c - incremental SSE framing (WHATWG HTML "event stream interpretation", the parts a
 * chat.completion.chunk stream uses: data lines, comments, blank-line dispatch). */
#include "ll_sse.h"

#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_grow.h"

#define LL_SSE_DEFAULT_MAX ((size_t)1 << 20)
#define LL_SSE_LINE_SLACK  64 /* a line may hold "data: " and the like on top of the event */

void ll_sse_init(struct ll_sse *s)
{
    memset(s, 0, sizeof(*s));
}

void ll_sse_reset(struct ll_sse *s)
{
    s->line_len = 0;
    s->data_len = 0;
    s->done = false;
    s->cr = false;
}

void ll_sse_free(struct ll_sse *s)
{
    free(s->line);
    free(s->data);
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
    return cb(arg, s->data, len);
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
    if (flen != 4 || memcmp(line, "data", 4) != 0) {
        return 0; /* event, id, retry and unknown fields do not matter here */
    }
    const char *v = colon ? colon + 1 : line + len;
    size_t vlen = (size_t)(line + len - v);
    if (vlen > 0 && v[0] == ' ') {
        v++;
        vlen--;
    }
    if (s->data_len + vlen + 1 > max_event(s)) {
        return LL_EPROTO;
    }
    if (reserve(&s->data, &s->data_cap, s->data_len, vlen + 1) != 0) {
        return LL_ENOMEM;
    }
    memcpy(s->data + s->data_len, v, vlen);
    s->data_len += vlen;
    s->data[s->data_len++] = '\n';
    return 0;
}

int ll_sse_feed(struct ll_sse *s, const char *buf, size_t len, ll_sse_event_cb cb, void *arg)
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
