/* ll_stats_exact.c - struct ll_stats to and from the "exact" JSON object (ll_stats_exact.h):
 * one table of fields drives the writer, the reader and the coverage check. */
#include "ll_stats_exact.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_hist_json.h"
#include "ll_walltime.h"

enum kind {
    K_U64,
    K_I64,
    K_LONG,
    K_INT,
    K_DOUBLE,
    K_BOOL,
    K_TIME,    /* int64 ns on the run's clock: written relative to t_start, null when 0 */
    K_CLASSES, /* uint64_t[LL_CLASS__COUNT] by ll_class_name */
    K_LIMITS,  /* uint64_t[LL_LIMIT__COUNT] by ll_limit_name */
    K_LIMIT,   /* const char *: NULL or an ll_limit_name */
    K_OWN,     /* written and read on their own (histograms, the series) */
    K_LOCAL,   /* meaningful only inside the process that ran (getrusage baselines) */
};

struct field {
    const char *name;
    size_t off, size, align;
    enum kind kind;
};

#define F(k, f)                                                                                    \
    {                                                                                              \
#f, offsetof(struct ll_stats, f), sizeof(((struct ll_stats *)0)->f),                       \
            __alignof__(((struct ll_stats *)0)->f), k                                              \
    }

static const struct field fields[] = {
    F(K_OWN, hist),
    F(K_CLASSES, by_class),
    F(K_LIMITS, by_limit),
    F(K_U64, submitted),
    F(K_U64, withdrawn),
    F(K_U64, completed),
    F(K_U64, retries),
    F(K_U64, wire_requests),
    F(K_U64, connects),
    F(K_U64, resends),
    F(K_U64, tls_full),
    F(K_U64, tls_resumed),
    F(K_U64, http2_requests),
    F(K_I64, warm_connects),
    F(K_U64, bytes_rx),
    F(K_U64, bytes_tx),
    F(K_U64, prompt_tokens),
    F(K_U64, completion_tokens),
    F(K_U64, usage_missing),
    F(K_U64, chunk_counted),
    F(K_U64, chunk_tokens),
    F(K_U64, output_chunks),
    F(K_U64, stream_tokens),
    F(K_U64, reasoning_tokens),
    F(K_U64, reasoning_usage),
    F(K_U64, reasoning_chunked),
    F(K_U64, out_asked),
    F(K_U64, out_asked_tokens),
    F(K_U64, out_received_tokens),
    F(K_U64, out_short),
    F(K_I64, slo.ttft_ms),
    F(K_I64, slo.itl_ms),
    F(K_I64, slo.tpot_ms),
    F(K_I64, slo.e2e_ms),
    F(K_U64, good),
    F(K_U64, slo_miss_ttft),
    F(K_U64, slo_miss_itl),
    F(K_U64, slo_miss_tpot),
    F(K_U64, slo_miss_e2e),
    F(K_TIME, ev_last_ns),
    F(K_U64, outstanding),
    F(K_U64, outstanding_peak),
    F(K_U64, in_flight_limit),
    F(K_DOUBLE, area_ns),
    F(K_DOUBLE, residence_ns),
    F(K_BOOL, open_loop),
    F(K_U64, sends_scheduled),
    F(K_U64, sends_late),
    F(K_I64, slip_max_ns),
    F(K_DOUBLE, slip_sum_ns),
    F(K_DOUBLE, offered_rps),
    F(K_U64, dispatched),
    F(K_TIME, intended_first),
    F(K_TIME, intended_last),
    F(K_TIME, dispatch_first),
    F(K_TIME, dispatch_last),
    F(K_U64, slot_waits),
    F(K_TIME, t_start),
    F(K_TIME, t_stop),
    F(K_U64, acct_duplicates),
    F(K_U64, acct_missing),
    F(K_U64, submit_errors),
    F(K_DOUBLE, res.cpu_user_s),
    F(K_DOUBLE, res.cpu_sys_s),
    F(K_LONG, res.nvcsw),
    F(K_LONG, res.nivcsw),
    F(K_LONG, res.rss_start_kb),
    F(K_LONG, res.rss_base_kb),
    F(K_LONG, res.rss_peak_kb),
    F(K_LONG, res.rss_sampled_kb),
    F(K_LONG, res.hwm_kb),
    F(K_BOOL, res.hwm_reset),
    F(K_DOUBLE, res.rss_sum_kb),
    F(K_U64, res.rss_samples),
    F(K_INT, res.threads_start),
    F(K_INT, res.threads_peak),
    F(K_I64, res.nofile_soft),
    F(K_I64, res.nofile_hard),
    F(K_INT, res.ports_lo),
    F(K_INT, res.ports_hi),
    F(K_LOCAL, res.ru_user0),
    F(K_LOCAL, res.ru_sys0),
    F(K_LOCAL, res.ru_nvcsw0),
    F(K_LOCAL, res.ru_nivcsw0),
    F(K_INT, be.threads),
    F(K_I64, be.loop_idle_ns),
    F(K_OWN, be.loop_lag),
    F(K_U64, be.backoff_waits),
    F(K_I64, be.backoff_ns),
    F(K_LIMIT, be.limit_hit),
    F(K_I64, be.loop_run_ns),
    F(K_U64, be.loop_iterations),
    F(K_I64, be.conns_open),
    F(K_I64, be.conns_open_peak),
    F(K_OWN, loop_lag),
    F(K_INT, cpu_usable),
    F(K_OWN, series),
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static bool written(const struct field *f)
{
    return f->kind != K_OWN && f->kind != K_LOCAL;
}

/* ---- writing ---- */

static cJSON *named_counts(const uint64_t *v, int count, const char *(*name)(int))
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < count; i++) {
        cJSON_AddItemToObject(o, name(i), ll_json_exact_number((double)v[i]));
    }
    return o;
}

static const char *class_name(int i)
{
    return ll_class_name((enum ll_class)i);
}

static const char *limit_name(int i)
{
    return ll_limit_name((enum ll_limit)i);
}

static cJSON *field_json(const struct ll_stats *s, const struct field *f)
{
    const char *p = (const char *)s + f->off;
    int64_t t;
    switch (f->kind) {
    case K_U64:
        return ll_json_exact_number((double)*(const uint64_t *)p);
    case K_I64:
        return ll_json_exact_number((double)*(const int64_t *)p);
    case K_LONG:
        return ll_json_exact_number((double)*(const long *)p);
    case K_INT:
        return ll_json_exact_number(*(const int *)p);
    case K_DOUBLE:
        return ll_json_exact_number(*(const double *)p);
    case K_BOOL:
        return cJSON_CreateBool(*(const bool *)p);
    case K_TIME:
        t = *(const int64_t *)p;
        return t == 0 ? cJSON_CreateNull() : ll_json_exact_number((double)(t - s->t_start));
    case K_CLASSES:
        return named_counts((const uint64_t *)p, LL_CLASS__COUNT, class_name);
    case K_LIMITS:
        return named_counts((const uint64_t *)p, LL_LIMIT__COUNT, limit_name);
    case K_LIMIT:
        return *(const char *const *)p ? cJSON_CreateString(*(const char *const *)p)
                                       : cJSON_CreateNull();
    default:
        return NULL;
    }
}

static cJSON *layout_json(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "histogram", ll_hist_layout_json());
    cJSON *c = cJSON_AddArrayToObject(o, "classes");
    for (int i = 0; c != NULL && i < LL_CLASS__COUNT; i++) {
        cJSON_AddItemToArray(c, cJSON_CreateString(class_name(i)));
    }
    cJSON *l = cJSON_AddArrayToObject(o, "limits");
    for (int i = 0; l != NULL && i < LL_LIMIT__COUNT; i++) {
        cJSON_AddItemToArray(l, cJSON_CreateString(limit_name(i)));
    }
    return o;
}

static cJSON *histograms_json(const struct ll_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < LL_H__COUNT; i++) {
        cJSON_AddItemToObject(o, ll_stats_hist_name((enum ll_stats_hist)i),
                              ll_hist_to_json(s->hist[i]));
    }
    cJSON_AddItemToObject(o, "loop_lag",
                          s->loop_lag ? ll_hist_to_json(s->loop_lag) : cJSON_CreateNull());
    return o;
}

cJSON *ll_stats_exact_json(const struct ll_stats *s, int64_t wall_offset_ns)
{
    char when[LL_WALLTIME_LEN];
    struct ll_keepup k;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "layout", layout_json());
    cJSON_AddStringToObject(o, "start_utc",
                            ll_walltime_format(s->t_start + wall_offset_ns, when, sizeof(when)));
    cJSON *fo = cJSON_AddObjectToObject(o, "fields");
    for (size_t i = 0; fo != NULL && i < N_FIELDS; i++) {
        if (written(&fields[i])) {
            cJSON_AddItemToObject(fo, fields[i].name, field_json(s, &fields[i]));
        }
    }
    /* the cores this run could use, as its keep-up judgement took them, so a merge can add
     * them up: 0 in the struct means "this machine's" */
    ll_stats_keepup(s, &k);
    cJSON_ReplaceItemInObject(fo, "cpu_usable", cJSON_CreateNumber(k.cpu_capacity));
    cJSON_AddItemToObject(o, "histograms", histograms_json(s));
    cJSON_AddItemToObject(o, "series",
                          s->series ? ll_series_to_json(s->series) : cJSON_CreateNull());
    /* cJSON makes an add to a NULL parent a no-op; count what should be there */
    if (fo == NULL || cJSON_GetArraySize(o) != 5 ||
        cJSON_GetArraySize(cJSON_GetObjectItem(o, "histograms")) != LL_H__COUNT + 1) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- reading ---- */

static int read_counts(const cJSON *o, uint64_t *v, int count, const char *(*name)(int),
                       const char *what, char *why, size_t n)
{
    if (!cJSON_IsObject(o) || cJSON_GetArraySize(o) != count) {
        snprintf(why, n, "field %s: %d names, this build has %d", what,
                 cJSON_IsObject(o) ? cJSON_GetArraySize(o) : 0, count);
        return LL_EINVAL;
    }
    for (int i = 0; i < count; i++) {
        if (ll_json_get_u64(cJSON_GetObjectItemCaseSensitive(o, name(i)), &v[i]) != 0) {
            snprintf(why, n, "field %s.%s missing or not a count", what, name(i));
            return LL_EINVAL;
        }
    }
    return 0;
}

static int read_limit(const cJSON *v, const char **out)
{
    *out = NULL;
    if (cJSON_IsNull(v)) {
        return 0;
    }
    for (int l = 0; cJSON_IsString(v) && l < LL_LIMIT__COUNT; l++) {
        if (strcmp(v->valuestring, limit_name(l)) == 0) {
            *out = limit_name(l); /* the static name, as a backend sets it */
            return 0;
        }
    }
    return LL_EINVAL;
}

/* A whole number that fits int64 and is exact in a double. */
static bool whole(const cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi &&
           v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) <= 0x1p53;
}

static int read_field(const cJSON *v, struct ll_stats *s, const struct field *f, int64_t base,
                      char *why, size_t n)
{
    char *p = (char *)s + f->off;
    bool ok = true;
    switch (f->kind) {
    case K_U64:
        ok = ll_json_get_u64(v, (uint64_t *)p) == 0;
        break;
    case K_I64:
    case K_LONG:
    case K_INT:
        ok = whole(v, f->kind == K_INT ? -2147483648.0 : -0x1p53,
                   f->kind == K_INT ? 2147483647.0 : 0x1p53);
        if (ok && f->kind == K_I64) {
            *(int64_t *)p = (int64_t)v->valuedouble;
        } else if (ok && f->kind == K_LONG) {
            *(long *)p = (long)v->valuedouble;
        } else if (ok) {
            *(int *)p = (int)v->valuedouble;
        }
        break;
    case K_DOUBLE:
        ok = cJSON_IsNumber(v) || cJSON_IsNull(v);
        *(double *)p = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        break;
    case K_BOOL:
        ok = cJSON_IsBool(v);
        *(bool *)p = cJSON_IsTrue(v);
        break;
    case K_TIME:
        ok = cJSON_IsNull(v) || whole(v, -0x1p53, 0x1p53);
        *(int64_t *)p = cJSON_IsNumber(v) ? base + (int64_t)v->valuedouble : 0;
        break;
    case K_CLASSES:
        return read_counts(v, (uint64_t *)p, LL_CLASS__COUNT, class_name, f->name, why, n);
    case K_LIMITS:
        return read_counts(v, (uint64_t *)p, LL_LIMIT__COUNT, limit_name, f->name, why, n);
    case K_LIMIT:
        ok = read_limit(v, (const char **)p) == 0;
        break;
    default:
        break;
    }
    if (!ok) {
        snprintf(why, n, "field %s %s", f->name, v == NULL ? "missing" : "malformed");
        return LL_EINVAL;
    }
    return 0;
}

/* Every field of the table, and no other. */
static int read_fields(const cJSON *fo, struct ll_stats *s, int64_t base, char *why, size_t n)
{
    size_t count = 0;
    const cJSON *v;
    if (!cJSON_IsObject(fo)) {
        snprintf(why, n, "no fields");
        return LL_EINVAL;
    }
    s->t_start = base; /* the times below are relative to it */
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (!written(&fields[i])) {
            continue;
        }
        count++;
        v = cJSON_GetObjectItemCaseSensitive(fo, fields[i].name);
        if (read_field(v, s, &fields[i], base, why, n) != 0) {
            return LL_EINVAL;
        }
    }
    cJSON_ArrayForEach(v, fo)
    {
        bool known = false;
        for (size_t i = 0; !known && i < N_FIELDS; i++) {
            known = written(&fields[i]) && strcmp(v->string, fields[i].name) == 0;
        }
        if (!known) {
            snprintf(why, n, "field %s unknown to this build", v->string);
            return LL_EINVAL;
        }
    }
    return count == (size_t)cJSON_GetArraySize(fo) ? 0 : LL_EINVAL;
}

static int check_names(const cJSON *a, int count, const char *(*name)(int), const char *what,
                       char *why, size_t n)
{
    bool ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) == count;
    for (int i = 0; ok && i < count; i++) {
        const cJSON *v = cJSON_GetArrayItem(a, i);
        ok = cJSON_IsString(v) && strcmp(v->valuestring, name(i)) == 0;
    }
    if (!ok) {
        snprintf(why, n, "%s differ from this build's", what);
        return LL_EINVAL;
    }
    return 0;
}

static int read_layout(const cJSON *l, char *why, size_t n)
{
    if (ll_hist_layout_check(cJSON_GetObjectItemCaseSensitive(l, "histogram"), why, n) != 0 ||
        check_names(cJSON_GetObjectItemCaseSensitive(l, "classes"), LL_CLASS__COUNT, class_name,
                    "outcome classes", why, n) != 0 ||
        check_names(cJSON_GetObjectItemCaseSensitive(l, "limits"), LL_LIMIT__COUNT, limit_name,
                    "local limits", why, n) != 0) {
        return LL_EINVAL;
    }
    return 0;
}

static int read_histograms(const cJSON *ho, struct ll_stats *s, char *why, size_t n)
{
    char sub[160];
    const cJSON *lag = cJSON_GetObjectItemCaseSensitive(ho, "loop_lag");
    if (!cJSON_IsObject(ho) || cJSON_GetArraySize(ho) != LL_H__COUNT + 1 || lag == NULL) {
        snprintf(why, n, "histograms: %d, this build has %d", cJSON_GetArraySize(ho),
                 LL_H__COUNT + 1);
        return LL_EINVAL;
    }
    for (int i = 0; i < LL_H__COUNT; i++) {
        const char *name = ll_stats_hist_name((enum ll_stats_hist)i);
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(ho, name);
        if (h == NULL || ll_hist_from_json(h, s->hist[i], sub, sizeof(sub)) != 0) {
            snprintf(why, n, "histogram %s: %s", name, h == NULL ? "missing" : sub);
            return LL_EINVAL;
        }
    }
    free(s->loop_lag);
    s->loop_lag = s->be.loop_lag = NULL;
    if (cJSON_IsNull(lag)) {
        return 0;
    }
    if ((s->loop_lag = malloc(sizeof(*s->loop_lag))) == NULL) {
        return LL_ENOMEM;
    }
    s->be.loop_lag = s->loop_lag;
    if (ll_hist_from_json(lag, s->loop_lag, sub, sizeof(sub)) != 0) {
        snprintf(why, n, "histogram loop_lag: %s", sub);
        return LL_EINVAL;
    }
    return 0;
}

int ll_stats_exact_read(const cJSON *exact, struct ll_stats *s, int64_t *start_unix_ns, char *why,
                        size_t n)
{
    const cJSON *start = cJSON_GetObjectItemCaseSensitive(exact, "start_utc");
    const cJSON *se = cJSON_GetObjectItemCaseSensitive(exact, "series");
    int64_t base;
    if (!cJSON_IsObject(exact)) {
        snprintf(why, n, "no exact results");
        return LL_EINVAL;
    }
    if (read_layout(cJSON_GetObjectItemCaseSensitive(exact, "layout"), why, n) != 0) {
        return LL_EINVAL;
    }
    if (!cJSON_IsString(start) || ll_walltime_parse(start->valuestring, &base) != 0) {
        snprintf(why, n, "start_utc missing or not an RFC 3339 time");
        return LL_EINVAL;
    }
    int err = read_fields(cJSON_GetObjectItemCaseSensitive(exact, "fields"), s, base, why, n);
    if (err == 0) {
        err = read_histograms(cJSON_GetObjectItemCaseSensitive(exact, "histograms"), s, why, n);
    }
    if (err == 0 && cJSON_IsObject(se)) {
        ll_series_free(s->series);
        s->series = ll_series_from_json(se, base, why, n);
        err = s->series == NULL ? LL_EINVAL : 0;
    }
    *start_unix_ns = base;
    return err;
}

/* ---- the table's coverage ---- */

static int by_offset(const void *a, const void *b)
{
    const struct field *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

int ll_stats_exact_coverage(char *why, size_t n)
{
    struct field sorted[N_FIELDS];
    size_t at = 0;
    memcpy(sorted, fields, sizeof(sorted));
    qsort(sorted, N_FIELDS, sizeof(sorted[0]), by_offset);
    for (size_t i = 0; i < N_FIELDS; i++) {
        /* a gap is padding only when it is what this field's alignment needs */
        size_t pad_to = (at + sorted[i].align - 1) / sorted[i].align * sorted[i].align;
        if (sorted[i].off != at && sorted[i].off != pad_to) {
            snprintf(why, n,
                     "struct ll_stats bytes %zu..%zu (before %s) are in no field of the table", at,
                     sorted[i].off - 1, sorted[i].name);
            return LL_EINVAL;
        }
        at = sorted[i].off + sorted[i].size;
    }
    size_t a = __alignof__(struct ll_stats);
    if ((at + a - 1) / a * a != sizeof(struct ll_stats)) {
        snprintf(why, n, "struct ll_stats bytes %zu..%zu (at its end) are in no field of the table",
                 at, sizeof(struct ll_stats) - 1);
        return LL_EINVAL;
    }
    return 0;
}
