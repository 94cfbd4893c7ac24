/* mock_fault.c - fault rates (parse, decide) and the scripted attempt table. */
#include "mock_fault.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rates are decimal fractions typed by people: 0.1 + 0.2 + 0.7 must not count as over 1. */
#define FAULT_SUM_SLACK 1e-9
/* Upper bounds for the integer keys; beyond them a value is surely a typo. */
#define FAULT_CLOSE_AFTER_MAX 1000000
#define FAULT_RETRY_AFTER_MAX 86400

static const char *const fault_names[MOCK_FAULT__COUNT] = {
    [MOCK_FAULT_NONE] = "none",   [MOCK_FAULT_429] = "429", [MOCK_FAULT_500] = "500",
    [MOCK_FAULT_503] = "503",     [MOCK_FAULT_400] = "400", [MOCK_FAULT_CLOSE] = "close",
    [MOCK_FAULT_STALL] = "stall",
};

const char *mock_fault_name(enum mock_fault_kind k)
{
    if ((unsigned)k >= MOCK_FAULT__COUNT)
        return "unknown";
    return fault_names[k];
}

void mock_fault_rates_init(struct mock_fault_rates *f)
{
    memset(f, 0, sizeof(*f));
    f->close_after = 3;
    f->retry_after_s = 1;
}

/* Copy [b, e) into out without surrounding blanks, so "429 = 0.5" reads like "429=0.5".
 * -1 when it does not fit: a cut-off value would otherwise parse as a different number. */
static int fault_trim_copy(const char *b, const char *e, char *out, size_t outlen)
{
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    size_t n = (size_t)(e - b);
    int rc = 0;
    if (n >= outlen) {
        n = outlen - 1;
        rc = -1;
    }
    memcpy(out, b, n);
    out[n] = '\0';
    return rc;
}

static int fault_parse_rate(const char *key, const char *val, double *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (end == val || *end != '\0' || errno != 0 || !(v >= 0.0 && v <= 1.0)) {
        snprintf(err, errlen, "fault %s: rate '%s' is not a number in [0, 1]", key, val);
        return -1;
    }
    *out = v;
    return 0;
}

static int fault_parse_int(const char *key, const char *val, long max, int *out, char *err,
                           size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (end == val || *end != '\0' || errno != 0 || v < 0 || v > max) {
        snprintf(err, errlen, "fault %s: '%s' is not an integer in [0, %ld]", key, val, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Apply one key=value to f. */
static int fault_apply(struct mock_fault_rates *f, const char *key, const char *val, char *err,
                       size_t errlen)
{
    for (int k = MOCK_FAULT_NONE + 1; k < MOCK_FAULT__COUNT; k++) {
        if (strcmp(key, fault_names[k]) == 0)
            return fault_parse_rate(key, val, &f->rate[k], err, errlen);
    }
    if (strcmp(key, "split") == 0)
        return fault_parse_rate(key, val, &f->split, err, errlen);
    if (strcmp(key, "close_after") == 0)
        return fault_parse_int(key, val, FAULT_CLOSE_AFTER_MAX, &f->close_after, err, errlen);
    if (strcmp(key, "retry_after") == 0)
        return fault_parse_int(key, val, FAULT_RETRY_AFTER_MAX, &f->retry_after_s, err, errlen);
    snprintf(err, errlen,
             "unknown fault key '%s' (expected 429, 500, 503, 400, close, stall, split, "
             "close_after, retry_after)",
             key);
    return -1;
}

int mock_fault_parse(const char *spec, struct mock_fault_rates *f, char *err, size_t errlen)
{
    /* Parse into a copy so that a bad spec leaves f as it was. */
    struct mock_fault_rates tmp = *f;
    const char *p = spec;

    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        char key[32], val[64];

        if (eq == NULL) {
            (void)fault_trim_copy(p, end, val, sizeof(val)); /* only for the message */
            if (val[0] == '\0' && comma == NULL)
                break; /* tolerate a trailing comma */
            snprintf(err, errlen, "fault spec: '%s' is not key=value", val);
            return -1;
        }
        if (fault_trim_copy(p, eq, key, sizeof(key)) != 0 ||
            fault_trim_copy(eq + 1, end, val, sizeof(val)) != 0) {
            snprintf(err, errlen, "fault spec: key or value too long near '%.20s'", p);
            return -1;
        }
        if (fault_apply(&tmp, key, val, err, errlen) != 0)
            return -1;
        p = comma ? comma + 1 : end;
    }

    double sum = 0.0;
    for (int k = MOCK_FAULT_NONE + 1; k < MOCK_FAULT__COUNT; k++)
        sum += tmp.rate[k];
    if (sum > 1.0 + FAULT_SUM_SLACK) {
        snprintf(err, errlen, "fault rates sum to %g; at most one fault per request, so <= 1", sum);
        return -1;
    }
    *f = tmp;
    return 0;
}

void mock_fault_decide(const struct mock_fault_rates *f, struct mock_rng *r,
                       struct mock_fault_decision *out)
{
    /* Always two draws, whatever the rates: the draws after this one (latency, text) then do
     * not shift when someone turns a fault rate on or off. */
    double u = mock_rng_unit(r);
    double us = mock_rng_unit(r);
    double cum = 0.0;

    out->kind = MOCK_FAULT_NONE;
    for (int k = MOCK_FAULT_NONE + 1; k < MOCK_FAULT__COUNT; k++) {
        cum += f->rate[k];
        if (f->rate[k] > 0.0 && u < cum) {
            out->kind = (enum mock_fault_kind)k;
            break;
        }
    }
    out->split = us < f->split;
    out->close_after = f->close_after;
    out->retry_after_s = f->retry_after_s;
}

/* ---- scripted attempts ---------------------------------------------------------------------
 * Chained hash table over a node pool used round-robin: the node to reuse next is always the
 * oldest key, so eviction is FIFO and costs one chain walk. Keys are stored inline up to
 * SCRIPT_KEY_INLINE bytes; longer keys are told apart by length and 64-bit hash as well, which is
 * plenty for test-chosen keys and avoids an allocation per request. */
#define SCRIPT_KEY_INLINE 120

struct script_node {
    uint64_t hash;
    size_t keylen;
    unsigned attempts;
    int next;   /* next node in the bucket chain, -1 ends */
    int bucket; /* -1 while unused */
    char key[SCRIPT_KEY_INLINE];
};

struct mock_script {
    pthread_mutex_t mu;
    size_t capacity, nbuckets; /* nbuckets: power of two */
    size_t next_node;          /* round-robin cursor into nodes */
    int *buckets;
    struct script_node *nodes;
};

struct mock_script *mock_script_new(size_t capacity)
{
    if (capacity == 0)
        capacity = 1;
    if (capacity > INT_MAX / 4)
        return NULL;
    struct mock_script *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->capacity = capacity;
    s->nbuckets = 1;
    while (s->nbuckets < capacity * 2)
        s->nbuckets <<= 1;
    s->buckets = malloc(s->nbuckets * sizeof(*s->buckets));
    s->nodes = calloc(capacity, sizeof(*s->nodes));
    if (s->buckets == NULL || s->nodes == NULL || pthread_mutex_init(&s->mu, NULL) != 0)
        goto error;
    for (size_t i = 0; i < s->nbuckets; i++)
        s->buckets[i] = -1;
    for (size_t i = 0; i < capacity; i++)
        s->nodes[i].bucket = -1;
    return s;
error:
    free(s->nodes);
    free(s->buckets);
    free(s);
    return NULL;
}

void mock_script_free(struct mock_script *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->nodes);
    free(s->buckets);
    free(s);
}

static bool script_node_is(const struct script_node *n, uint64_t h, const char *key, size_t len)
{
    size_t cmp = len < SCRIPT_KEY_INLINE ? len : SCRIPT_KEY_INLINE;
    return n->hash == h && n->keylen == len && memcmp(n->key, key, cmp) == 0;
}

/* Unlink node `idx` from its chain so it can be reused. Caller holds the mutex. */
static void script_evict(struct mock_script *s, int idx)
{
    struct script_node *n = &s->nodes[idx];
    int *link = &s->buckets[n->bucket];
    while (*link != idx)
        link = &s->nodes[*link].next;
    *link = n->next;
    n->bucket = -1;
}

unsigned mock_script_attempt(struct mock_script *s, const char *key, size_t keylen)
{
    uint64_t h = mock_hash64(key, keylen, 0);
    size_t b = (size_t)h & (s->nbuckets - 1);
    unsigned attempts;

    pthread_mutex_lock(&s->mu);
    for (int i = s->buckets[b]; i >= 0; i = s->nodes[i].next) {
        struct script_node *n = &s->nodes[i];
        if (script_node_is(n, h, key, keylen)) {
            if (n->attempts < UINT_MAX)
                n->attempts++;
            attempts = n->attempts;
            goto out;
        }
    }
    int idx = (int)s->next_node;
    s->next_node = (s->next_node + 1) % s->capacity;
    if (s->nodes[idx].bucket >= 0)
        script_evict(s, idx);
    struct script_node *n = &s->nodes[idx];
    n->hash = h;
    n->keylen = keylen;
    memcpy(n->key, key, keylen < SCRIPT_KEY_INLINE ? keylen : SCRIPT_KEY_INLINE);
    n->attempts = attempts = 1;
    n->bucket = (int)b;
    n->next = s->buckets[b];
    s->buckets[b] = idx;
out:
    pthread_mutex_unlock(&s->mu);
    return attempts;
}
