/* mock_buf.h - a growable byte buffer for building responses. Each worker owns two (struct
 * mock_worker: out and body) and every connection it serves renders into them, so answering
 * costs no allocation once they have grown.
 *
 * Allocation failure does not abort: the buffer remembers it (oom) and ignores further appends;
 * the connection layer checks oom before sending and drops the connection instead. Not
 * thread-safe (one buffer belongs to one worker). */
#ifndef MOCK_BUF_H
#define MOCK_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct mock_buf {
    char *p;
    size_t len, cap;
    bool oom;
};

/* Make room for `extra` more bytes. 0, or -1 (and oom set) when memory ran out. */
int mock_buf_reserve(struct mock_buf *b, size_t extra);
/* The slow half of mock_buf_add: grow, then append. */
void mock_buf__add_grow(struct mock_buf *b, const void *s, size_t n);
/* Append n bytes. Inline: answers are built from many short pieces, and a call per piece used
 * to cost more than the copy. */
static inline void mock_buf_add(struct mock_buf *b, const void *s, size_t n)
{
    if (b->cap - b->len >= n && b->p != NULL && !b->oom) { /* never memcpy to NULL, even 0 */
        memcpy(b->p + b->len, s, n);
        b->len += n;
    } else {
        mock_buf__add_grow(b, s, n);
    }
}
void mock_buf_adds(struct mock_buf *b, const char *s);
/* Append a string literal without a strlen at run time. */
#define mock_buf_lit(b, lit) mock_buf_add((b), "" lit, sizeof(lit) - 1)
/* Integers in decimal (as %llu / %lld) and lowercase hex, zero-padded to at least `width`
 * digits (as %0*llx; width <= 16). The hot answers use these instead of mock_buf_printf, whose
 * vfprintf machinery cost more than everything else in rendering. */
void mock_buf_u64(struct mock_buf *b, unsigned long long v);
void mock_buf_i64(struct mock_buf *b, long long v);
void mock_buf_hex(struct mock_buf *b, unsigned long long v, int width);
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
