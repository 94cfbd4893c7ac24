/* ll_lengths.c - parse, draw and format token-length distributions (see ll_lengths.h). */
#include "ll_lengths.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_rand.h"

#define Z99 2.326 /* z of the standard normal's 99th percentile, as mockllm's latencies use */

/* Exactly n comma-separated numbers in [0, LL_LENGTH_MAX]. */
static int numbers(const char *kind, const char *s, double *v, int n, char *err, size_t errlen)
{
    const char *p = s;
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        v[i] = strtod(p, &end);
        if (end == p || errno != 0 || !isfinite(v[i]) || v[i] < 0 || v[i] > LL_LENGTH_MAX ||
            *end != (i + 1 < n ? ',' : '\0')) {
            snprintf(err, errlen, "%s: '%s': want %d comma-separated number%s in [0, %d] tokens",
                     kind, s, n, n == 1 ? "" : "s", LL_LENGTH_MAX);
            return LL_EINVAL;
        }
        p = end + 1;
    }
    return 0;
}

static bool whole(double v)
{
    return v == floor(v) && v >= 1;
}

int ll_length_parse(const char *spec, struct ll_length *out, char *err, size_t errlen)
{
    struct ll_length l = {LL_LEN_FIXED, 0, 0};
    double v[2];
    int rc;
    if (strncmp(spec, "uniform:", 8) == 0) {
        l.kind = LL_LEN_UNIFORM;
        if ((rc = numbers("uniform", spec + 8, v, 2, err, errlen)) != 0) {
            return rc;
        }
        if (!whole(v[0]) || !whole(v[1]) || v[1] < v[0]) {
            snprintf(err, errlen, "uniform: want whole numbers 1 <= LO <= HI, got '%s'", spec + 8);
            return LL_EINVAL;
        }
    } else if (strncmp(spec, "normal:", 7) == 0) {
        l.kind = LL_LEN_NORMAL;
        if ((rc = numbers("normal", spec + 7, v, 2, err, errlen)) != 0) {
            return rc;
        }
        if (v[0] < 1) {
            snprintf(err, errlen, "normal: MEAN %g is below 1 token", v[0]);
            return LL_EINVAL;
        }
    } else if (strncmp(spec, "lognormal:", 10) == 0) {
        l.kind = LL_LEN_LOGNORMAL;
        if ((rc = numbers("lognormal", spec + 10, v, 2, err, errlen)) != 0) {
            return rc;
        }
        if (v[0] < 1 || v[1] < v[0]) {
            snprintf(err, errlen, "lognormal: want 1 <= P50 <= P99, got '%s'", spec + 10);
            return LL_EINVAL;
        }
    } else {
        const char *num = strncmp(spec, "fixed:", 6) == 0 ? spec + 6 : spec;
        if ((rc = numbers("fixed", num, v, 1, err, errlen)) != 0 || !whole(v[0])) {
            snprintf(err, errlen,
                     "'%s': want N, fixed:N, uniform:LO,HI, normal:MEAN,SD or lognormal:P50,P99 "
                     "(whole tokens >= 1)",
                     spec);
            return LL_EINVAL;
        }
        v[1] = v[0];
    }
    l.a = v[0];
    l.b = v[1];
    *out = l;
    return 0;
}

static int clamp_round(double v)
{
    if (!(v >= 1)) { /* NaN too */
        return 1;
    }
    return v >= LL_LENGTH_MAX ? LL_LENGTH_MAX : (int)lround(v);
}

int ll_length_draw(const struct ll_length *l, uint64_t *rng)
{
    switch (l->kind) {
    case LL_LEN_UNIFORM: {
        /* l->b - l->a + 1 whole values, each with the same share of (0, 1] */
        double span = l->b - l->a + 1;
        int k = (int)floor((1.0 - ll_rand_unit(rng)) * span); /* [0, span) */
        return (int)l->a + (k < (int)span ? k : (int)span - 1);
    }
    case LL_LEN_NORMAL:
        return clamp_round(l->a + l->b * ll_rand_normal(rng));
    case LL_LEN_LOGNORMAL: {
        double sigma = log(l->b / l->a) / Z99;
        return clamp_round(l->a * exp(sigma * ll_rand_normal(rng)));
    }
    case LL_LEN_FIXED:
        return (int)l->a;
    case LL_LEN_NONE:
        break;
    }
    return 1;
}

void ll_length_bounds(const struct ll_length *l, int *lo, int *hi)
{
    switch (l->kind) {
    case LL_LEN_FIXED:
    case LL_LEN_UNIFORM:
        *lo = (int)l->a;
        *hi = (int)l->b;
        return;
    default:
        *lo = 1;
        *hi = LL_LENGTH_MAX;
        return;
    }
}

int ll_length_format(char *buf, size_t n, const struct ll_length *l)
{
    static const char *const name[] = {"", "fixed", "uniform", "normal", "lognormal"};
    if (l->kind == LL_LEN_NONE) {
        return snprintf(buf, n, "%s", "");
    }
    if (l->kind == LL_LEN_FIXED) {
        return snprintf(buf, n, "%g", l->a);
    }
    return snprintf(buf, n, "%s:%g,%g", name[l->kind], l->a, l->b);
}

int ll_length_of_text(size_t bytes)
{
    size_t n = bytes / 4 + (bytes % 4 != 0);
    return n < 1 ? 1 : n > INT32_MAX ? INT32_MAX : (int)n;
}
