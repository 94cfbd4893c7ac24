/* ll_hist_json.c - a histogram's buckets to and from JSON, sparsely, in a named layout. */
#include "ll_hist_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ll_err.h"

#define LL_HIST_KIND "log-linear"
#define LL_HIST_UNIT "ns"
#define MAX_EXACT    9007199254740992.0 /* 2^53: every integer up to it is exact in a double */

int ll_json_get_u64(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > MAX_EXACT ||
        v->valuedouble != floor(v->valuedouble)) {
        return LL_EINVAL;
    }
    *out = (uint64_t)v->valuedouble;
    return 0;
}

cJSON *ll_json_exact_number(double v)
{
    char buf[40];
    if (!isfinite(v)) {
        return cJSON_CreateNull();
    }
    snprintf(buf, sizeof(buf), "%.17g", v);
    return cJSON_CreateRaw(buf);
}

/* A whole number in int64's range (exact up to 2^53; a saturated value, ~39 hours in ns and
 * beyond, to the nearest double, INT64_MAX at the top). */
static int get_i64(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !(fabs(v->valuedouble) <= 0x1p63) ||
        v->valuedouble != floor(v->valuedouble)) {
        return LL_EINVAL;
    }
    *out = v->valuedouble >= 0x1p63 ? INT64_MAX : (int64_t)v->valuedouble;
    return 0;
}

cJSON *ll_hist_layout_json(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", LL_HIST_KIND);
    cJSON_AddStringToObject(o, "unit", LL_HIST_UNIT);
    cJSON_AddNumberToObject(o, "sub_bits", LL_HIST_SUB_BITS);
    cJSON_AddNumberToObject(o, "octaves", LL_HIST_OCTAVES);
    if (cJSON_AddNumberToObject(o, "buckets", LL_HIST_BUCKETS) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int ll_hist_layout_check(const cJSON *layout, char *why, size_t n)
{
    const char *str_keys[] = {"kind", "unit"}, *str_want[] = {LL_HIST_KIND, LL_HIST_UNIT};
    const char *num_keys[] = {"sub_bits", "octaves", "buckets"};
    const double num_want[] = {LL_HIST_SUB_BITS, LL_HIST_OCTAVES, LL_HIST_BUCKETS};
    if (!cJSON_IsObject(layout)) {
        snprintf(why, n, "no histogram layout");
        return LL_EINVAL;
    }
    for (size_t i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(layout, str_keys[i]);
        if (!cJSON_IsString(v) || strcmp(v->valuestring, str_want[i]) != 0) {
            snprintf(why, n, "histogram %s %s, this build's %s", str_keys[i],
                     cJSON_IsString(v) ? v->valuestring : "missing", str_want[i]);
            return LL_EINVAL;
        }
    }
    for (size_t i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(layout, num_keys[i]);
        if (!cJSON_IsNumber(v) || v->valuedouble != num_want[i]) {
            snprintf(why, n, "histogram %s %g, this build's %g", num_keys[i],
                     cJSON_IsNumber(v) ? v->valuedouble : NAN, num_want[i]);
            return LL_EINVAL;
        }
    }
    return 0;
}

cJSON *ll_hist_to_json(const struct ll_hist *h)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "n", ll_json_exact_number((double)h->n));
    cJSON_AddItemToObject(o, "min", ll_json_exact_number((double)h->min));
    cJSON_AddItemToObject(o, "max", ll_json_exact_number((double)h->max));
    cJSON_AddItemToObject(o, "sum", ll_json_exact_number(h->sum));
    cJSON_AddItemToObject(o, "sumsq", ll_json_exact_number(h->sumsq));
    cJSON *b = cJSON_AddArrayToObject(o, "buckets");
    for (size_t i = 0; b != NULL && i < LL_HIST_BUCKETS; i++) {
        if (h->counts[i] == 0) {
            continue;
        }
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)i));
        cJSON_AddItemToArray(pair, ll_json_exact_number((double)h->counts[i]));
        if (pair == NULL || cJSON_GetArraySize(pair) != 2 || !cJSON_AddItemToArray(b, pair)) {
            cJSON_Delete(pair);
            b = NULL;
        }
    }
    if (b == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The sparse buckets into h->counts; their total into *total. */
static int read_buckets(const cJSON *b, struct ll_hist *h, uint64_t *total, char *why, size_t n)
{
    uint64_t idx, count;
    int64_t prev = -1;
    const cJSON *pair;
    *total = 0;
    if (!cJSON_IsArray(b)) {
        snprintf(why, n, "histogram without buckets");
        return LL_EINVAL;
    }
    cJSON_ArrayForEach(pair, b)
    {
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 ||
            ll_json_get_u64(cJSON_GetArrayItem(pair, 0), &idx) != 0 ||
            ll_json_get_u64(cJSON_GetArrayItem(pair, 1), &count) != 0 || count == 0) {
            snprintf(why, n, "histogram bucket not an [index, count > 0] pair");
            return LL_EINVAL;
        }
        if (idx >= LL_HIST_BUCKETS || (int64_t)idx <= prev) {
            snprintf(why, n, "histogram bucket %llu out of range or out of order",
                     (unsigned long long)idx);
            return LL_EINVAL;
        }
        prev = (int64_t)idx;
        h->counts[idx] = count;
        *total += count;
    }
    return 0;
}

int ll_hist_from_json(const cJSON *o, struct ll_hist *h, char *why, size_t n)
{
    uint64_t total;
    ll_hist_init(h);
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(o, "sum");
    const cJSON *sumsq = cJSON_GetObjectItemCaseSensitive(o, "sumsq");
    if (!cJSON_IsObject(o) || ll_json_get_u64(cJSON_GetObjectItemCaseSensitive(o, "n"), &h->n) ||
        get_i64(cJSON_GetObjectItemCaseSensitive(o, "min"), &h->min) ||
        get_i64(cJSON_GetObjectItemCaseSensitive(o, "max"), &h->max) || !cJSON_IsNumber(sum) ||
        !cJSON_IsNumber(sumsq)) {
        snprintf(why, n, "histogram without n, min, max, sum and sumsq");
        return LL_EINVAL;
    }
    h->sum = sum->valuedouble;
    h->sumsq = sumsq->valuedouble;
    if (read_buckets(cJSON_GetObjectItemCaseSensitive(o, "buckets"), h, &total, why, n) != 0) {
        return LL_EINVAL;
    }
    if (total != h->n || (h->n > 0 && (h->min < 0 || h->min > h->max))) {
        snprintf(why, n, "histogram counts add up to %llu, n is %llu (min %lld, max %lld)",
                 (unsigned long long)total, (unsigned long long)h->n, (long long)h->min,
                 (long long)h->max);
        return LL_EINVAL;
    }
    return 0;
}
