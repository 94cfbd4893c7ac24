/* ll_series.c - the run's 1 s windows (ll_series.h). */
#include "ll_series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_hist_json.h"

#define N_COLS (1 + LL_CLASS__COUNT + 2) /* sent, classes..., tokens, in_flight */

struct ll_series *ll_series_new(void)
{
    return calloc(1, sizeof(struct ll_series));
}

void ll_series_free(struct ll_series *se)
{
    if (se != NULL) {
        free(se->row);
        free(se);
    }
}

/* Make rows 0..k exist (k clipped to the last allowed). 0 or LL_ENOMEM. */
static int reach(struct ll_series *se, size_t k)
{
    if (k >= LL_SERIES_MAX_WINDOWS) {
        se->clipped = true;
        k = LL_SERIES_MAX_WINDOWS - 1;
    }
    if (k < se->n) {
        return 0;
    }
    if (k >= se->cap) {
        size_t cap = se->cap ? se->cap : 64;
        while (cap <= k) {
            cap *= 2;
        }
        struct ll_series_row *row = realloc(se->row, cap * sizeof(*row));
        if (row == NULL) {
            se->clipped = true;
            return LL_ENOMEM;
        }
        se->row = row;
        se->cap = cap;
    }
    memset(se->row + se->n, 0, (k + 1 - se->n) * sizeof(*se->row));
    se->n = k + 1;
    return 0;
}

/* The window of time t (before the origin: window 0). */
static size_t window_of(const struct ll_series *se, int64_t t)
{
    int64_t k = t > se->origin ? (t - se->origin) / LL_SERIES_WINDOW_NS : 0;
    return k < (int64_t)LL_SERIES_MAX_WINDOWS ? (size_t)k : LL_SERIES_MAX_WINDOWS - 1;
}

/* Integrate the requests in flight from the last event to `now`, window by window. */
static int advance(struct ll_series *se, int64_t origin, int64_t now)
{
    if (!se->started) {
        se->started = true;
        se->origin = origin;
        se->last = now > origin ? now : origin;
    }
    if (reach(se, window_of(se, now)) != 0) {
        return LL_ENOMEM;
    }
    while (now > se->last && se->outstanding > 0) {
        size_t k = window_of(se, se->last);
        int64_t edge = se->origin + (int64_t)(k + 1) * LL_SERIES_WINDOW_NS;
        int64_t to = now < edge || k == LL_SERIES_MAX_WINDOWS - 1 ? now : edge;
        se->row[k].in_flight_ns += (double)se->outstanding * (double)(to - se->last);
        se->last = to;
    }
    se->last = now > se->last ? now : se->last;
    return 0;
}

int ll_series_note_submit(struct ll_series *se, int64_t origin, int64_t now)
{
    if (advance(se, origin, now) != 0) {
        return LL_ENOMEM;
    }
    se->row[window_of(se, now)].sent++;
    se->outstanding++;
    return 0;
}

int ll_series_note_result(struct ll_series *se, int64_t origin, const struct ll_result *r,
                          int64_t now)
{
    if (advance(se, origin, now) != 0) {
        return LL_ENOMEM;
    }
    struct ll_series_row *row = &se->row[window_of(se, now)];
    enum ll_class cls = (unsigned)r->cls < LL_CLASS__COUNT ? r->cls : LL_CLASS_PROTOCOL;
    row->by_class[cls]++;
    if (cls == LL_CLASS_NONE) { /* ll_stats__fold_tokens' rule */
        row->tokens += r->prompt_tokens >= 0 && r->completion_tokens >= 0
                           ? (uint64_t)r->completion_tokens
                           : r->n_chunks;
    }
    se->outstanding -= se->outstanding > 0;
    return 0;
}

int ll_series_close(struct ll_series *se, int64_t end)
{
    if (!se->started) {
        return 0; /* nothing happened: no windows */
    }
    return advance(se, se->origin, end);
}

static void row_add(struct ll_series_row *d, const struct ll_series_row *s)
{
    d->sent += s->sent;
    for (int c = 0; c < LL_CLASS__COUNT; c++) {
        d->by_class[c] += s->by_class[c];
    }
    d->tokens += s->tokens;
    d->in_flight_ns += s->in_flight_ns;
}

/* Move dst's rows `by` windows later (its origin `by` windows earlier). */
static int shift(struct ll_series *dst, size_t by)
{
    size_t n = dst->n;
    if (by == 0 || n == 0) {
        return 0;
    }
    if (reach(dst, n + by - 1) != 0) {
        return LL_ENOMEM;
    }
    size_t keep = dst->n - by < n ? dst->n - by : n; /* what fits below the cap */
    memmove(dst->row + by, dst->row, keep * sizeof(*dst->row));
    memset(dst->row, 0, by * sizeof(*dst->row));
    return 0;
}

int ll_series_merge(struct ll_series *dst, const struct ll_series *src, int64_t *skew_ns)
{
    if (!src->started) {
        return 0;
    }
    if (!dst->started) {
        dst->started = true;
        dst->origin = src->origin;
        dst->last = src->last;
    }
    double w = round((double)(src->origin - dst->origin) / (double)LL_SERIES_WINDOW_NS);
    if (skew_ns != NULL) {
        *skew_ns = llabs(src->origin - dst->origin - (int64_t)w * LL_SERIES_WINDOW_NS);
    }
    if (w < 0) { /* src starts earlier: dst's windows move later */
        if (shift(dst, (size_t)-w) != 0) {
            return LL_ENOMEM;
        }
        dst->origin -= (int64_t)-w * LL_SERIES_WINDOW_NS;
        w = 0;
    }
    size_t off = (size_t)w;
    if (src->n > 0 && reach(dst, off + src->n - 1) != 0) {
        return LL_ENOMEM;
    }
    for (size_t k = 0; k < src->n && off + k < dst->n; k++) {
        row_add(&dst->row[off + k], &src->row[k]);
    }
    dst->clipped = dst->clipped || src->clipped;
    dst->last = src->last > dst->last ? src->last : dst->last;
    return 0;
}

cJSON *ll_series_to_json(const struct ll_series *se)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "window_ms", (double)(LL_SERIES_WINDOW_NS / 1000000));
    cJSON *cols = cJSON_AddArrayToObject(o, "columns");
    cJSON_AddItemToArray(cols, cJSON_CreateString("sent"));
    for (int c = 0; c < LL_CLASS__COUNT; c++) {
        cJSON_AddItemToArray(cols, cJSON_CreateString(ll_class_name((enum ll_class)c)));
    }
    cJSON_AddItemToArray(cols, cJSON_CreateString("tokens"));
    cJSON_AddItemToArray(cols, cJSON_CreateString("in_flight"));
    cJSON_AddBoolToObject(o, "clipped", se->clipped);
    cJSON *rows = cJSON_AddArrayToObject(o, "rows");
    for (size_t k = 0; rows != NULL && k < se->n; k++) {
        const struct ll_series_row *r = &se->row[k];
        double v[N_COLS];
        size_t i = 0;
        v[i++] = (double)r->sent;
        for (int c = 0; c < LL_CLASS__COUNT; c++) {
            v[i++] = (double)r->by_class[c];
        }
        v[i++] = (double)r->tokens;
        v[i++] = r->in_flight_ns / (double)LL_SERIES_WINDOW_NS; /* the mean */
        cJSON *a = cJSON_CreateArray();
        for (size_t j = 0; a != NULL && j < i; j++) {
            cJSON_AddItemToArray(a, ll_json_exact_number(v[j]));
        }
        if (a == NULL || cJSON_GetArraySize(a) != (int)i || !cJSON_AddItemToArray(rows, a)) {
            cJSON_Delete(a);
            rows = NULL;
        }
    }
    if (cols == NULL || rows == NULL || cJSON_GetArraySize(cols) != N_COLS) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The columns must be this build's, in this build's order. */
static int check_columns(const cJSON *cols, char *why, size_t n)
{
    const char *want[N_COLS];
    size_t i = 0;
    want[i++] = "sent";
    for (int c = 0; c < LL_CLASS__COUNT; c++) {
        want[i++] = ll_class_name((enum ll_class)c);
    }
    want[i++] = "tokens";
    want[i++] = "in_flight";
    if (!cJSON_IsArray(cols) || cJSON_GetArraySize(cols) != N_COLS) {
        snprintf(why, n, "series columns differ from this build's (%d, want %d)",
                 cJSON_IsArray(cols) ? cJSON_GetArraySize(cols) : 0, N_COLS);
        return LL_EINVAL;
    }
    for (i = 0; i < N_COLS; i++) {
        const cJSON *c = cJSON_GetArrayItem(cols, (int)i);
        if (!cJSON_IsString(c) || strcmp(c->valuestring, want[i]) != 0) {
            snprintf(why, n, "series column %zu is %s, this build's %s", i,
                     cJSON_IsString(c) ? c->valuestring : "not a name", want[i]);
            return LL_EINVAL;
        }
    }
    return 0;
}

static int read_row(const cJSON *a, struct ll_series_row *r)
{
    uint64_t v[N_COLS - 1];
    const cJSON *last = cJSON_GetArrayItem(a, N_COLS - 1);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != N_COLS || !cJSON_IsNumber(last) ||
        !(last->valuedouble >= 0)) {
        return LL_EINVAL;
    }
    for (int i = 0; i < N_COLS - 1; i++) {
        if (ll_json_get_u64(cJSON_GetArrayItem(a, i), &v[i]) != 0) {
            return LL_EINVAL;
        }
    }
    size_t i = 0;
    r->sent = v[i++];
    for (int c = 0; c < LL_CLASS__COUNT; c++) {
        r->by_class[c] = v[i++];
    }
    r->tokens = v[i];
    r->in_flight_ns = last->valuedouble * (double)LL_SERIES_WINDOW_NS;
    return 0;
}

struct ll_series *ll_series_from_json(const cJSON *o, int64_t origin, char *why, size_t n)
{
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "window_ms");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(o, "rows"), *a;
    if (!cJSON_IsNumber(w) || w->valuedouble != (double)(LL_SERIES_WINDOW_NS / 1000000)) {
        snprintf(why, n, "series window %g ms, this build's %lld ms",
                 cJSON_IsNumber(w) ? w->valuedouble : NAN, LL_SERIES_WINDOW_NS / 1000000);
        return NULL;
    }
    if (check_columns(cJSON_GetObjectItemCaseSensitive(o, "columns"), why, n) != 0) {
        return NULL;
    }
    struct ll_series *se = ll_series_new();
    if (se == NULL || !cJSON_IsArray(rows) ||
        (cJSON_GetArraySize(rows) > 0 && reach(se, (size_t)cJSON_GetArraySize(rows) - 1) != 0)) {
        snprintf(why, n, se == NULL ? "out of memory" : "series without rows");
        ll_series_free(se);
        return NULL;
    }
    se->started = true;
    se->origin = se->last = origin;
    se->clipped = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "clipped"));
    size_t k = 0;
    cJSON_ArrayForEach(a, rows)
    {
        if (read_row(a, &se->row[k++]) != 0) {
            snprintf(why, n, "series row %zu malformed", k - 1);
            ll_series_free(se);
            return NULL;
        }
    }
    se->last = origin + (int64_t)se->n * LL_SERIES_WINDOW_NS;
    return se;
}
