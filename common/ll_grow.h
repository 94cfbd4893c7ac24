/* ll_grow.h - room in a growable byte buffer (pointer + capacity), by doubling.
 *
 * The client's buffers (answer bytes, content, SSE lines, request keys) all grow this way; one
 * function, so there is one overflow-free growth rule and one out-of-memory answer. */
#ifndef LL_GROW_H
#define LL_GROW_H

#include <stddef.h>

/* Make *cap at least `need` bytes: a first allocation of `first` (or more), then doubling.
 * 0, or LL_ENOMEM with *buf and *cap unchanged. */
int ll_grow(char **buf, size_t *cap, size_t need, size_t first);

#endif
