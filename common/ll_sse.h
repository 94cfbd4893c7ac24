/* ll_sse.h - incremental Server-Sent Events framing for chat.completion.chunk streams.
 * Bytes go in as they arrive, split anywhere (even inside "data:" or a UTF-8 sequence); each
 * complete event's data is handed to a callback. JSON inside the data is parsed by the caller
 * (ll_xfer.c) with cJSON. Single-threaded per instance. */
#ifndef LL_SSE_H
#define LL_SSE_H

#include <stdbool.h>
#include <stddef.h>

/* Called once per complete event with its data (multi-line data joined with '\n'), NUL-ended.
 * Return 0 to go on, non-zero to stop parsing (the feed returns that value). */
typedef int (*ll_sse_event_cb)(void *arg, const char *data, size_t len);

struct ll_sse {
    char *line; /* partial line carried between feeds */
    size_t line_len, line_cap;
    char *data; /* data of the event being assembled */
    size_t data_len, data_cap;
    bool done;        /* "data: [DONE]" seen */
    bool cr;          /* the last byte fed was '\r': a '\n' next ends the same line */
    size_t max_event; /* events larger than this are a protocol error (0 = 1 MiB) */
};

void ll_sse_init(struct ll_sse *s);
/* Feed bytes. Returns 0, the callback's non-zero value, or LL_EPROTO / LL_ENOMEM. */
int ll_sse_feed(struct ll_sse *s, const char *buf, size_t len, ll_sse_event_cb cb, void *arg);
void ll_sse_reset(struct ll_sse *s); /* for the next attempt; keeps buffers */
void ll_sse_free(struct ll_sse *s);

#endif
