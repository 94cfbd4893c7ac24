#include "mock_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mock_buf_reserve(struct mock_buf *b, size_t extra)
{
    if (b->oom) {
        return -1;
    }
    if (b->len + extra <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra) {
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = true;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void mock_buf__add_grow(struct mock_buf *b, const void *s, size_t n)
{
    if (n != 0 && mock_buf_reserve(b, n) == 0) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

void mock_buf_adds(struct mock_buf *b, const char *s)
{
    mock_buf_add(b, s, strlen(s));
}

void mock_buf_u64(struct mock_buf *b, unsigned long long v)
{
    char tmp[20]; /* 2^64 - 1 has 20 digits */
    char *e = tmp + sizeof(tmp), *p = e;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    mock_buf_add(b, p, (size_t)(e - p));
}

void mock_buf_i64(struct mock_buf *b, long long v)
{
    if (v < 0) {
        mock_buf_add(b, "-", 1);
        mock_buf_u64(b, 0ULL - (unsigned long long)v); /* also right for LLONG_MIN */
        return;
    }
    mock_buf_u64(b, (unsigned long long)v);
}

void mock_buf_hex(struct mock_buf *b, unsigned long long v, int width)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[16];
    char *e = tmp + sizeof(tmp), *p = e;
    do {
        *--p = hex[v & 15];
        v >>= 4;
    } while (v != 0);
    while (e - p < width && p > tmp) {
        *--p = '0';
    }
    mock_buf_add(b, p, (size_t)(e - p));
}

void mock_buf_printf(struct mock_buf *b, const char *fmt, ...)
{
    va_list ap;
    /* Most lines are short: try with what is free first, grow and retry once if needed. */
    if (mock_buf_reserve(b, 256) != 0) {
        return;
    }
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        if (mock_buf_reserve(b, (size_t)n + 1) != 0) {
            return;
        }
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void mock_buf_json_str(struct mock_buf *b, const char *s, size_t n)
{
    mock_buf_add(b, "\"", 1);
    mock_buf_json_raw(b, s, n);
    mock_buf_add(b, "\"", 1);
}

/* Bytes JSON requires escaped: controls, '"' and '\\'. */
static bool json_special(unsigned char ch)
{
    return ch < 0x20 || ch == '"' || ch == '\\';
}

void mock_buf_json_raw(struct mock_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    /* Most strings (model names) need no escape at all: find the first byte that does, copy
     * everything before it at once. */
    while (i < n && !json_special((unsigned char)s[i])) {
        i++;
    }
    mock_buf_add(b, s, i);
    if (i == n || mock_buf_reserve(b, (n - i) * 6) != 0) { /* worst case: all \u00XX */
        return;
    }
    char *o = b->p + b->len;
    for (; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!json_special(ch)) {
            *o++ = (char)ch;
        } else if (ch == '"' || ch == '\\') {
            *o++ = '\\';
            *o++ = (char)ch;
        } else if (ch == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else {
            memcpy(o, "\\u00", 4);
            o[4] = hex[ch >> 4];
            o[5] = hex[ch & 15];
            o += 6;
        }
    }
    b->len = (size_t)(o - b->p);
}

void mock_buf_free(struct mock_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
