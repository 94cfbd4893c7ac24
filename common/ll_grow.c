/* ll_grow.c - see ll_grow.h. */
#include "ll_grow.h"

#include <stdlib.h>

#include "ll_err.h"

int ll_grow(char **buf, size_t *cap, size_t need, size_t first)
{
    if (need <= *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap : first;
    while (ncap < need) {
        ncap *= 2;
    }
    char *p = realloc(*buf, ncap);
    if (p == NULL) {
        return LL_ENOMEM;
    }
    *buf = p;
    *cap = ncap;
    return 0;
}
