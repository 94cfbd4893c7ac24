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

static int profile_parse_prefill(const char *val, double *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (end == val || *end != '\0' || errno != 0 || !isfinite(v) || v < 0 ||
        v > MOCK_PREFILL_MAX_MS) {
        snprintf(err, errlen, "profile prefill: '%s' is not a number of ms in [0, %g]", val,
                 MOCK_PREFILL_MAX_MS);
        return -1;
    }
    *out = v;
    return 0;
}

static int profile_parse_bool(const char *key, const char *val, bool *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"yes", "true", "1", "on"}, *const no[] = {"no", "false", "0",
                                                                                "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(val, yes[i]) == 0 || strcmp(val, no[i]) == 0) {
            *out = strcmp(val, yes[i]) == 0;
            return 0;
        }
    }
    snprintf(err, errlen, "profile %s: '%s' is not yes or no", key, val);
    return -1;
}

static int profile_apply_all(struct mock_profile *p, const char *spec, char *err, size_t errlen);

/* The keys of a served model: tokens, prefill, eos, preset. 0 or -1 as profile_apply; 1 when
 * key is none of them. */
static int profile_apply_served(struct mock_profile *p, const char *key, const char *val, char *err,
                                size_t errlen)
{
    char sub[160];
    if (strcmp(key, "tokens") == 0) {
        if (mock_count_parse(val, 1, PROFILE_TOKENS_MAX, &p->tokens, sub, sizeof(sub)) != 0) {
            snprintf(err, errlen, "profile tokens: %s", sub);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "prefill") == 0)
        return profile_parse_prefill(val, &p->prefill_ms, err, errlen);
    if (strcmp(key, "eos") == 0)
        return profile_parse_bool(key, val, &p->eos, err, errlen);
    if (strcmp(key, "preset") == 0) {
        if (mock_profile_preset(val, p) != 0) {
            snprintf(err, errlen, "profile preset: no preset '%s' (see --help)", val);
            return -1;
        }
        return 0;
    }
    return 1;
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
    int rc = profile_apply_served(p, key, val, err, errlen);
    if (rc != 1)
        return rc;
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
    p->tokens = (struct mock_dist){MOCK_DIST_FIXED, MOCK_PROFILE_DEFAULT_TOKENS,
                                   MOCK_PROFILE_DEFAULT_TOKENS};
    p->prefill_ms = 0.0;
    p->eos = false;
    p->reasoning = (struct mock_dist){MOCK_DIST_FIXED, 0.0, 0.0};
    p->chunk = (struct mock_dist){MOCK_DIST_FIXED, 1.0, 1.0};
    p->has_faults = false;
    mock_fault_rates_init(&p->faults);
}

/* Apply every key=value of spec to p, in order. */
static int profile_apply_all(struct mock_profile *p, const char *spec, char *err, size_t errlen)
{
    const char *s = spec;
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
        if (profile_apply(p, key, val, err, errlen) != 0)
            return -1;
        if (*s == ',')
            s++;
    }
    return 0;
}

int mock_profile_parse(const char *spec, struct mock_profile *out, char *err, size_t errlen)
{
    struct mock_profile p;
    mock_profile_defaults(&p);
    if (profile_apply_all(&p, spec, err, errlen) != 0)
        return -1;
    if (p.name[0] == '\0') {
        snprintf(err, errlen, "profile: name= is required");
        return -1;
    }
    *out = p;
    return 0;
}

/* ---- presets ----------------------------------------------------------------------------- */

/* Every key a profile has but name and faults, so that a preset sets a whole model. */
static const struct {
    const char *name, *keys, *what;
} presets[] = {
    {"realistic",
     "ttft=lognormal:120,600,prefill=0.1,itl=lognormal:20,60,tokens=lognormal:250,1200,eos=yes,"
     "reasoning_tokens=0,chunk_tokens=1",
     "an 8B-class model on one GPU, moderate load"},
    {"large",
     "ttft=lognormal:300,1500,prefill=0.4,itl=lognormal:45,120,tokens=lognormal:300,1500,"
     "eos=yes,reasoning_tokens=0,chunk_tokens=1",
     "a 70B-class model"},
    {"reasoning",
     "ttft=lognormal:120,600,prefill=0.1,itl=lognormal:20,60,tokens=lognormal:250,1200,eos=yes,"
     "reasoning_tokens=lognormal:600,4000,chunk_tokens=1",
     "realistic, thinking first"},
    {"exact", "ttft=0,prefill=0,itl=0,tokens=16,eos=no,reasoning_tokens=0,chunk_tokens=1",
     "the defaults: fixed, for exact comparisons"},
};

int mock_profile_preset(const char *name, struct mock_profile *p)
{
    char err[200];
    for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
        if (strcmp(presets[i].name, name) == 0) {
            struct mock_profile q = *p;
            if (profile_apply_all(&q, presets[i].keys, err, sizeof(err)) != 0)
                return -1; /* a preset is known good: tests parse every one */
            *p = q;
            return 0;
        }
    }
    return -1;
}

void mock_preset_list(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]) && used < len; i++) {
        int n = snprintf(buf + used, len - used, "  %-10s %s:\n               %s\n",
                         presets[i].name, presets[i].what, presets[i].keys);
        used += n > 0 ? (size_t)n : 0;
    }
}

/* mock_profile_ttft_ms with a prefill (without, it is mock_dist_sample_ms bit for bit). */
double mock__profile_ttft_prefill(const struct mock_profile *p, long prompt_tokens,
                                  struct mock_rng *r, double scale)
{
    double ms = mock_dist_sample_ms(&p->ttft, r, 1.0) + (double)prompt_tokens * p->prefill_ms;
    ms *= scale;
    if (!(ms >= 0.0))
        return 0.0;
    return ms > DIST_MAX_MS ? DIST_MAX_MS : ms;
}
