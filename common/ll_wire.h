/* ll_wire.h - the bytes of a request, rendered once: the JSON body and the header list.
 *
 * A closed-loop run submits the same request thousands of times, and rendering it with cJSON
 * every time was about 6% of the client's instructions at zero latency. A wire cache keeps the
 * last rendered wire together with a copy of the request fields it was made from; an equal
 * request (compared field by field, never by pointer: callers reuse their buffers) gets the same
 * wire, with one more reference.
 *
 * A wire is immutable once made, so backends may read it from any thread; references are
 * atomic, so a call may be freed after its client is gone. A cache belongs to one client and is
 * used by the thread that submits. */
#ifndef LL_WIRE_H
#define LL_WIRE_H

#include <stdatomic.h>
#include <stddef.h>

#include <curl/curl.h>

#include "ll_request.h"

struct ll_wire {
    atomic_uint refs;
    char *body; /* the request JSON, NUL-terminated */
    size_t body_len;
    struct curl_slist *headers; /* Content-Type, Authorization, "Expect:", the request's extras */
};

struct ll_wire_cache {
    struct ll_wire *last; /* one reference held by the cache; NULL when empty */
    struct ll_wire_key {
        char *buf;
        size_t len, cap;
    } key, next; /* the fields `last` was made from; scratch for the next request's */
};

/* The wire for req under cfg, with a reference for the caller: the cached one when req equals
 * the last request, else a new one (which then becomes the cached one). 0 or LL_ENOMEM. */
int ll_wire_get(struct ll_wire_cache *wc, const struct ll_config *cfg, const struct ll_request *req,
                struct ll_wire **out);
/* Drop a reference; the last one frees the wire. NULL is fine. */
void ll_wire_put(struct ll_wire *w);
/* Drop the cache's reference and its key. The cache may be used again afterwards. */
void ll_wire_cache_clear(struct ll_wire_cache *wc);

#endif
