/* mock_latency.c - latency distributions and per-model profiles: parse, sample, format. */
#include "mock_latency.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* z of the 99th percentile of the standard normal: p99 = p50 * exp(sigma * z99). */
#define DIST_Z99 2.326
/* Longer waits are typos, and a sample must always fit a uv timer's uint64 ms. */
#define DIST_MAX_MS 3600000.0
/* Longest profile value (a distribution spec or a name) we accept. */
#define PROFILE_VALUE_MAX  128
#define PROFILE_TOKENS_MAX 1000000
#define PROFILE_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/@+"

/* Parse exactly n comma-separated numbers in [0, DIST_MAX_MS] from s. */
static int dist_numbers(const char *kind, const char *s, double *v, int n, char *err, size_t errlen)
{
    const char *p = s;
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        v[i] = strtod(p, &end);
        if (end == p || errno != 0 || !isfinite(v[i]) || v[i] < 0.0 || v[i] > DIST_MAX_MS) {
            snprintf(err, errlen, "%s: '%s' needs %d number%s in [0, %.0f] ms", kind, s, n,
                     n == 1 ? "" : "s", DIST_MAX_MS);
            return -1;
        }
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end != (i + 1 < n ? ',' : '\0')) {
            snprintf(err, errlen, "%s: '%s' needs exactly %d comma-separated number%s", kind, s, n,
                     n == 1 ? "" : "s");
            return -1;
        }
        p = end + 1;
    }
    return 0;
}

int mock_dist_parse(const char *spec, struct mock_dist *out, char *err, size_t errlen)
{
    struct mock_dist d = {MOCK_DIST_FIXED, 0.0, 0.0};
    double v[2];

    while (*spec == ' ' || *spec == '\t')
        spec++;
    if (strncmp(spec, "uniform:", 8) == 0) {
        if (dist_numbers("uniform", spec + 8, v, 2, err, errlen) != 0)
            return -1;
        if (v[1] < v[0]) {
            snprintf(err, errlen, "uniform: hi %g is below lo %g", v[1], v[0]);
            return -1;
        }
        d = (struct mock_dist){MOCK_DIST_UNIFORM, v[0], v[1]};
    } else if (strncmp(spec, "lognormal:", 10) == 0) {
        if (dist_numbers("lognormal", spec + 10, v, 2, err, errlen) != 0)
            return -1;
        if (v[0] <= 0.0) {
            snprintf(err, errlen, "lognormal: p50 must be above 0 (use a fixed 0 instead)");
            return -1;
        }
        if (v[1] < v[0]) {
            snprintf(err, errlen, "lognormal: p99 %g is below p50 %g", v[1], v[0]);
            return -1;
        }
        d = (struct mock_dist){MOCK_DIST_LOGNORMAL, v[0], v[1]};
    } else {
        const char *num = strncmp(spec, "fixed:", 6) == 0 ? spec + 6 : spec;
        if (!isdigit((unsigned char)*num) && *num != '.') {
            snprintf(err, errlen,
                     "latency '%s': expected N, fixed:N, uniform:LO,HI or lognormal:P50,P99 (ms)",
                     spec);
            return -1;
        }
        if (dist_numbers("fixed", num, v, 1, err, errlen) != 0)
            return -1;
        d.a = d.b = v[0];
    }
    *out = d;
    return 0;
}

double mock_dist_sample_ms(const struct mock_dist *d, struct mock_rng *r, double scale)
{
    double v;

    switch (d->kind) {
    case MOCK_DIST_UNIFORM:
        v = d->a + (d->b - d->a) * mock_rng_unit(r);
        break;
    case MOCK_DIST_LOGNORMAL: {
        double sigma = (log(d->b) - log(d->a)) / DIST_Z99;
        v = d->a * exp(sigma * mock_rng_normal(r));
        break;
    }
    case MOCK_DIST_FIXED:
    default:
        v = d->a;
        break;
    }
    v *= scale;
    /* The lognormal tail is unbounded and scale comes from the user: keep the result a wait a
     * timer can take. !(v >= 0) also catches NaN. */
    if (!(v >= 0.0))
        return 0.0;
    return v > DIST_MAX_MS ? DIST_MAX_MS : v;
}

void mock_dist_format(const struct mock_dist *d, char *buf, size_t len)
{
    if (len == 0)
        return;
    switch (d->kind) {
    case MOCK_DIST_UNIFORM:
        snprintf(buf, len, "uniform:%.15g,%.15g", d->a, d->b);
        break;
    case MOCK_DIST_LOGNORMAL:
        snprintf(buf, len, "lognormal:%.15g,%.15g", d->a, d->b);
        break;
    case MOCK_DIST_FIXED:
    default:
        snprintf(buf, len, "%.15g", d->a);
        break;
    }
}

/* ---- counts ------------------------------------------------------------------------------ */

static bool whole(double v)
{
    return v == floor(v);
}

int mock_count_parse(const char *spec, int lo, int hi, struct mock_dist *out, char *err,
                     size_t errlen)
{
    struct mock_dist d;
    char sub[160];
    if (mock_dist_parse(spec, &d, sub, sizeof(sub)) != 0) {
        snprintf(err, errlen, "'%s': expected N, uniform:LO,HI or lognormal:P50,P99 (tokens)",
                 spec);
        return -1;
    }
    bool ok = d.kind == MOCK_DIST_LOGNORMAL ? d.b <= hi
                                            : whole(d.a) && whole(d.b) && d.a >= lo && d.b <= hi;
    if (!ok) {
        snprintf(err, errlen, "'%s': %s in [%d, %d] tokens", spec,
                 d.kind == MOCK_DIST_LOGNORMAL ? "p50 and p99" : "whole numbers", lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

int mock_count_sample(const struct mock_dist *d, struct mock_rng *r, int lo, int hi)
{
    double v;
    switch (d->kind) {
    case MOCK_DIST_UNIFORM:
        /* whole numbers a..b equally likely: rounding a continuous draw would halve the ends */
        v = d->a + floor((d->b - d->a + 1.0) * mock_rng_unit(r));
        break;
    case MOCK_DIST_LOGNORMAL:
        v = floor(mock_dist_sample_ms(d, r, 1.0) + 0.5);
        break;
    case MOCK_DIST_FIXED:
    default:
        v = d->a;
        break;
    }
    return v < lo ? lo : v > hi ? hi : (int)v;
}

/* ---- profiles ---------------------------------------------------------------------------- */

static bool profile_key_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* If p is at ",key=" (blanks allowed after the comma), return true. Distribution specs hold
 * commas too, but never a comma followed by a word and '='. */
static bool profile_at_key(const char *p)
{
    if (*p++ != ',')
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!profile_key_char(*p))
        return false;
    while (profile_key_char(*p))
        p++;
    return *p == '=';
}

static int profile_parse_tokens(const char *val, int *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (end == val || *end != '\0' || errno != 0 || v < 1 || v > PROFILE_TOKENS_MAX) {
        snprintf(err, errlen, "profile tokens: '%s' is not an integer in [1, %d]", val,
                 PROFILE_TOKENS_MAX);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Apply one key=value to the profile being built. */
static int profile_apply(struct mock_profile *p, const char *key, const char *val, char *err,
                         size_t errlen)
{
    char sub[160];

    if (strcmp(key, "name") == 0) {
        size_t n = strlen(val);
        if (n == 0 || n >= MOCK_MODEL_NAME_MAX) {
            snprintf(err, errlen, "profile name: must be 1 to %d characters",
                     MOCK_MODEL_NAME_MAX - 1);
            return -1;
        }
        /* The name goes into JSON, HTTP headers and Prometheus labels unescaped. */
        if (strspn(val, PROFILE_NAME_CHARS) != n) {
            snprintf(err, errlen, "profile name '%s': use only letters, digits and . _ - : / @ +",
                     val);
            return -1;
        }
        memcpy(p->name, val, n + 1);
        return 0;
    }
    if (strcmp(key, "ttft") == 0 || strcmp(key, "itl") == 0) {
        struct mock_dist *d = key[0] == 't' ? &p->ttft : &p->itl;
        if (mock_dist_parse(val, d, sub, sizeof(sub)) != 0) {
            snprintf(err, errlen, "profile %s: %s", key, sub);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "tokens") == 0)
        return profile_parse_tokens(val, &p->tokens, err, errlen);
    if (strcmp(key, "reasoning_tokens") == 0 || strcmp(key, "chunk_tokens") == 0) {
        bool reasoning = key[0] == 'r';
        if (mock_count_parse(val, reasoning ? 0 : 1, MOCK_COUNT_MAX,
                             reasoning ? &p->reasoning : &p->chunk, sub, sizeof(sub)) != 0) {
            snprintf(err, errlen, "profile %s: %s", key, sub);
            return -1;
        }
        return 0;
    }

    /* Anything else must be a fault key; mock_fault_parse names unknown keys itself. */
    char kv[PROFILE_VALUE_MAX + 40];
    snprintf(kv, sizeof(kv), "%s=%s", key, val);
    if (mock_fault_parse(kv, &p->faults, sub, sizeof(sub)) != 0) {
        snprintf(err, errlen, "profile: %s", sub);
        return -1;
    }
    p->has_faults = true;
    return 0;
}

void mock_profile_defaults(struct mock_profile *p)
{
    memset(p, 0, sizeof(*p));
    p->ttft = (struct mock_dist){MOCK_DIST_FIXED, 0.0, 0.0};
    p->itl = (struct mock_dist){MOCK_DIST_FIXED, 0.0, 0.0};
    p->tokens = MOCK_PROFILE_DEFAULT_TOKENS;
    p->reasoning = (struct mock_dist){MOCK_DIST_FIXED, 0.0, 0.0};
    p->chunk = (struct mock_dist){MOCK_DIST_FIXED, 1.0, 1.0};
    p->has_faults = false;
    mock_fault_rates_init(&p->faults);
}

int mock_profile_parse(const char *spec, struct mock_profile *out, char *err, size_t errlen)
{
    struct mock_profile p;
    const char *s = spec;

    mock_profile_defaults(&p);
    while (*s != '\0') {
        char key[24], val[PROFILE_VALUE_MAX];
        while (*s == ' ' || *s == '\t')
            s++;
        const char *k = s;
        while (profile_key_char(*s))
            s++;
        size_t klen = (size_t)(s - k);
        if (klen == 0 || klen >= sizeof(key) || *s != '=') {
            snprintf(err, errlen, "profile: expected key=value at '%.24s'", k);
            return -1;
        }
        memcpy(key, k, klen);
        key[klen] = '\0';

        const char *v = ++s;
        while (*s != '\0' && !profile_at_key(s))
            s++;
        size_t vlen = (size_t)(s - v);
        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        if (vlen >= sizeof(val)) {
            snprintf(err, errlen, "profile %s: value longer than %d bytes", key,
                     PROFILE_VALUE_MAX - 1);
            return -1;
        }
        memcpy(val, v, vlen);
        val[vlen] = '\0';
        if (profile_apply(&p, key, val, err, errlen) != 0)
            return -1;
        if (*s == ',')
            s++;
    }
    if (p.name[0] == '\0') {
        snprintf(err, errlen, "profile: name= is required");
        return -1;
    }
    *out = p;
    return 0;
}
