/* ll_sse.h - incremental Server-Sent Events parsing, every rule of the WHATWG HTML standard's
 * "event stream interpretation" (section 9.2.6):
 *
 *   - one U+FEFF BOM at the very start of the stream is dropped (also when split over feeds);
 *   - lines end with CRLF, LF or CR (a CRLF split over two feeds is one line end);
 *   - an empty line dispatches the event; a line starting with ':' is a comment;
 *   - otherwise the field name is what precedes the first ':' (the whole line if none, with
 *     an empty value), names are case-sensitive, and one leading space of the value is dropped;
 *   - "event" sets the event type, "data" appends the value and a LF to the data, "id" sets the
 *     last event id unless the value holds a NUL, "retry" sets the reconnection time when the
 *     value is ASCII digits only, any other field is ignored;
 *   - dispatch: an event with no data field (an empty data buffer) is not dispatched, and its
 *     type is forgotten; otherwise the last LF of the data is dropped and the event goes out
 *     with its type ("message" when none was set), after which data and type start empty; the
 *     last event id is kept across events;
 *   - at the end of the stream an event not ended by an empty line is discarded (the caller
 *     simply stops feeding).
 *
 * On top of that, OpenAI's end-of-stream sentinel: an event whose data is exactly "[DONE]" is
 * not handed over but sets `done`. Bytes go in as they arrive, split anywhere (even inside
 * "data:", a line end or a UTF-8 sequence). JSON inside the data is parsed by the caller
 * (ll_xfer.c). Single-threaded per instance. */
#ifndef LL_SSE_H
#define LL_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called once per dispatched event: its type (NUL-ended, "message" when the stream set none)
 * and its data (multi-line data joined with '\n', NUL-ended; it may be empty or hold NULs).
 * Return 0 to go on, non-zero to stop parsing (the feed returns that value). */
typedef int (*ll_sse_event_cb)(void *arg, const char *type, const char *data, size_t len);

struct ll_sse {
    char *line; /* partial line carried between feeds */
    size_t line_len, line_cap;
    char *data; /* data buffer of the event being assembled */
    size_t data_len, data_cap;
    char *type; /* event type buffer */
    size_t type_len, type_cap;
    char last_id[128]; /* the last event id (a longer one is cut), "" when none */
    int64_t retry_ms;  /* the reconnection time a retry field set, -1 when none */
    bool done;         /* "data: [DONE]" seen */
    bool cr;           /* the last byte fed was '\r': a '\n' next ends the same line */
    unsigned bom;      /* bytes of a leading BOM matched so far; 3 once past the start */
    size_t max_event;  /* events larger than this are a protocol error (0 = 1 MiB) */
};

void ll_sse_init(struct ll_sse *s);
/* Feed bytes. Returns 0, the callback's non-zero value, or LL_EPROTO / LL_ENOMEM. */
int ll_sse_feed(struct ll_sse *s, const char *buf, size_t len, ll_sse_event_cb cb, void *arg);
void ll_sse_reset(struct ll_sse *s); /* for the next attempt (a new stream); keeps buffers */
void ll_sse_free(struct ll_sse *s);

#endif
