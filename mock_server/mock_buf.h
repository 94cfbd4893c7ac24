/* mock_buf.h - a growable byte buffer for building responses. Each connection owns two and
 * reuses them for every response, so answering costs no allocation once they have grown.
 *
 * Allocation failure does not abort: the buffer remembers it (oom) and ignores further appends;
 * the connection layer checks oom before sending and drops the connection instead. Not
 * thread-safe (one buffer belongs to one loop). */
#ifndef MOCK_BUF_H
#define MOCK_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct mock_buf {
    char *p;
    size_t len, cap;
    bool oom;
};

/* Make room for `extra` more bytes. 0, or -1 (and oom set) when memory ran out. */
int mock_buf_reserve(struct mock_buf *b, size_t extra);
void mock_buf_add(struct mock_buf *b, const void *s, size_t n);
void mock_buf_adds(struct mock_buf *b, const char *s);
void mock_buf_printf(struct mock_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append s[0..n) as a quoted JSON string, escaping what JSON requires. */
void mock_buf_json_str(struct mock_buf *b, const char *s, size_t n);
/* The same without the quotes. */
void mock_buf_json_raw(struct mock_buf *b, const char *s, size_t n);
static inline void mock_buf_clear(struct mock_buf *b)
{
    b->len = 0;
    b->oom = false;
}
void mock_buf_free(struct mock_buf *b);

#endif
