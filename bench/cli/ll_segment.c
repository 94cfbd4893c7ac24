/* ll_segment.c - a workload's requests dealt out to N agents (ll_segment.h). */
#include "ll_segment.h"

#include <ctype.h>
#include <stdlib.h>

#include "ll_err.h"

/* A decimal in [0, max] from s up to the first non-digit, which lands in *end. */
static bool number(const char *s, uint64_t max, uint64_t *out, const char **end)
{
    uint64_t v = 0;
    if (!isdigit((unsigned char)*s)) {
        return false;
    }
    for (; isdigit((unsigned char)*s); s++) {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max) {
            return false;
        }
    }
    *out = v;
    *end = s;
    return true;
}

int ll_segment_parse(const char *text, struct ll_segment *out)
{
    uint64_t i, n;
    const char *p;
    if (text == NULL || !number(text, LL_SEGMENT_MAX, &i, &p) || *p != '/' ||
        !number(p + 1, LL_SEGMENT_MAX, &n, &p) || *p != '\0' || n == 0 || i >= n) {
        return LL_EINVAL;
    }
    out->index = (uint32_t)i;
    out->count = (uint32_t)n;
    return 0;
}

uint64_t ll_segment_share(const struct ll_segment *g, uint64_t total)
{
    if (g->count <= 1) {
        return total;
    }
    return total / g->count + (g->index < total % g->count ? 1 : 0);
}

bool ll_segment_owns(const struct ll_segment *g, uint64_t k)
{
    return g->count <= 1 || k % g->count == g->index;
}

uint64_t ll_segment_global(const struct ll_segment *g, uint64_t j)
{
    return g->count <= 1 ? j : g->index + j * g->count;
}

uint64_t ll_segment_seed(const struct ll_segment *g, uint64_t seed)
{
    if (g->count <= 1) {
        return seed;
    }
    /* splitmix64's finaliser over seed + (index + 1) * golden: a bijection of its input, so
     * distinct segments get distinct seeds */
    uint64_t z = seed + ((uint64_t)g->index + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int64_t ll_segment_next(const struct ll_segment *g, struct ll_segment_cursor *c, ll_segment_gen gen,
                        void *arg, uint64_t *global)
{
    int64_t t = gen(arg);
    while (!ll_segment_owns(g, c->drawn)) {
        c->drawn++;
        t = gen(arg); /* another agent's arrival: drawn, so the schedule stays the global one */
    }
    if (global != NULL) {
        *global = c->drawn;
    }
    c->drawn++;
    return t;
}
