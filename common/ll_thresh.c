/* ll_thresh.c - parsing, judging and the early "can no longer pass" verdict of thresholds. */
#include "ll_thresh.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "ll_clock.h"
#include "ll_err.h"

/* "p99", "p(99.9)", "mean", "avg", "min", "max" -> *pct. */
static int parse_stat(const char *st, double *pct)
{
    char buf[24], *end;
    size_t len = strlen(st);
    if (strcmp(st, "mean") == 0 || strcmp(st, "avg") == 0) {
        *pct = LL_TH_MEAN;
        return 0;
    }
    if (strcmp(st, "min") == 0 || strcmp(st, "max") == 0) {
        *pct = st[1] == 'i' ? LL_TH_MIN : LL_TH_MAX;
        return 0;
    }
    if (st[0] != 'p' || len < 2 || len >= sizeof(buf)) {
        return LL_EINVAL;
    }
    if (st[1] == '(') { /* k6's p(95) */
        if (st[len - 1] != ')' || len < 4) {
            return LL_EINVAL;
        }
        memcpy(buf, st + 2, len - 3);
        buf[len - 3] = '\0';
    } else {
        memcpy(buf, st + 1, len); /* with its NUL */
    }
    if (!(buf[0] >= '0' && buf[0] <= '9')) {
        return LL_EINVAL; /* strtod would take "inf", " 5", "+5" */
    }
    errno = 0;
    *pct = strtod(buf, &end);
    return errno == 0 && *end == '\0' && *pct > 0 && *pct <= 100 ? 0 : LL_EINVAL;
}

/* The left side: a named figure, or [HIST "."] STAT. */
static int parse_metric(const char *m, struct ll_thresh *t)
{
    static const struct {
        const char *name;
        enum ll_thresh_metric metric;
    } named[] = {{"error_rate", LL_TH_ERROR_RATE},
                 {"throughput", LL_TH_THROUGHPUT},
                 {"goodput_share", LL_TH_GOODPUT_SHARE}};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        if (strcmp(m, named[i].name) == 0) {
            t->metric = named[i].metric;
            return 0;
        }
    }
    t->metric = LL_TH_LATENCY;
    t->hist = LL_H_E2E;
    const char *dot = strchr(m, '.'); /* histogram names hold no dot; "p99.9" does */
    for (int h = 0; dot != NULL && h < LL_H__COUNT; h++) {
        const char *name = ll_stats_hist_name((enum ll_stats_hist)h);
        if (strlen(name) == (size_t)(dot - m) && strncmp(m, name, (size_t)(dot - m)) == 0) {
            t->hist = h;
            return parse_stat(dot + 1, &t->pct);
        }
    }
    return parse_stat(m, &t->pct);
}

/* The right side: a number and the unit the metric allows, into t->bound. */
static int parse_bound(const char *v, struct ll_thresh *t)
{
    char *unit;
    const char *digits = t->diff && (v[0] == '-' || v[0] == '+') ? v + 1 : v;
    if (!((digits[0] >= '0' && digits[0] <= '9') || digits[0] == '.')) {
        return LL_EINVAL;
    }
    errno = 0;
    double x = strtod(v, &unit);
    if (errno != 0 || !isfinite(x) || (x < 0 && !t->diff)) {
        return LL_EINVAL;
    }
    if (t->diff) { /* percentage points, said so: a bare number could be read as a ratio */
        if (strcmp(unit, "%") != 0 || x > 100 || x < -100) {
            return LL_EINVAL;
        }
        t->bound = x / 100.0;
        return 0;
    }
    if (t->ratio || t->metric == LL_TH_ERROR_RATE || t->metric == LL_TH_GOODPUT_SHARE) {
        if (strcmp(unit, "%") == 0) {
            x /= 100.0;
        } else if (*unit != '\0') {
            return LL_EINVAL;
        }
        if (!t->ratio && x > 1) {
            return LL_EINVAL; /* a share above 100% bounds nothing */
        }
    } else if (t->metric == LL_TH_THROUGHPUT) {
        if (*unit != '\0' && strcmp(unit, "/s") != 0) {
            return LL_EINVAL;
        }
    } else if (*unit == '\0' || strcmp(unit, "ms") == 0) {
        x *= (double)LL_NS_PER_MS;
    } else if (strcmp(unit, "s") == 0) {
        x *= (double)LL_NS_PER_S;
    } else if (strcmp(unit, "us") == 0) {
        x *= 1000.0;
    } else {
        return LL_EINVAL;
    }
    t->bound = x;
    return 0;
}

int ll_thresh_parse(const char *expr, bool ratio, struct ll_thresh *out)
{
    struct ll_thresh t;
    size_t n = 0;
    memset(&t, 0, sizeof(t));
    t.ratio = ratio;
    for (const char *p = expr; *p != '\0'; p++) {
        if (*p == ' ' || *p == '\t') {
            continue;
        }
        if (n + 1 >= sizeof(t.expr)) {
            return LL_EINVAL;
        }
        t.expr[n++] = *p;
    }
    char *op = strpbrk(t.expr, "<>");
    if (op == NULL || op == t.expr) {
        return LL_EINVAL;
    }
    char left[sizeof(t.expr)];
    memcpy(left, t.expr, (size_t)(op - t.expr));
    left[op - t.expr] = '\0';
    bool eq = op[1] == '=';
    t.op = op[0] == '<' ? (eq ? LL_TH_LE : LL_TH_LT) : (eq ? LL_TH_GE : LL_TH_GT);
    if (parse_metric(left, &t) != 0) {
        return LL_EINVAL;
    }
    t.diff = ratio && (t.metric == LL_TH_ERROR_RATE || t.metric == LL_TH_GOODPUT_SHARE);
    if (parse_bound(op + 1 + eq, &t) != 0) {
        return LL_EINVAL;
    }
    *out = t;
    return 0;
}

bool ll_thresh_holds(const struct ll_thresh *t, double v)
{
    if (!isfinite(v)) {
        return false; /* not measured */
    }
    switch (t->op) {
    case LL_TH_LT:
        return v < t->bound;
    case LL_TH_LE:
        return v <= t->bound;
    case LL_TH_GT:
        return v > t->bound;
    default:
        return v >= t->bound;
    }
}

bool ll_thresh_value(const struct ll_thresh *t, const struct ll_stats *s, double *out)
{
    const struct ll_hist *h;
    switch (t->metric) {
    case LL_TH_ERROR_RATE:
        *out = ll_stats_error_share(s);
        break;
    case LL_TH_THROUGHPUT:
        *out = ll_stats_throughput(s);
        break;
    case LL_TH_GOODPUT_SHARE:
        *out = ll_slo_is_set(&s->slo) && s->submitted > 0 ? (double)s->good / (double)s->submitted
                                                          : NAN;
        break;
    default:
        h = s->hist[t->hist];
        if (h == NULL || h->n == 0) {
            *out = NAN;
        } else if (t->pct == LL_TH_MEAN) {
            *out = ll_hist_mean(h);
        } else {
            *out = (double)ll_hist_percentile(h, t->pct);
        }
    }
    return isfinite(*out);
}

/* Latency with an upper bound: the best the rest of the run can do is to succeed, every one,
 * under the bound. Doomed when even that leaves the percentile over it. */
static bool latency_doomed(const struct ll_thresh *t, const struct ll_stats *s, uint64_t rest)
{
    const struct ll_hist *h = s->hist[t->hist];
    if (t->op == LL_TH_GT || t->op == LL_TH_GE || t->pct == LL_TH_MEAN || h->n == 0) {
        return false; /* a lower bound or a mean: later requests may still pull it over */
    }
    /* The largest value that meets the bound, in the histogram's whole ns. */
    int64_t ok_max = t->op == LL_TH_LT ? (int64_t)ceil(t->bound) - 1 : (int64_t)floor(t->bound);
    uint64_t le = ll_hist_count_le(h, ok_max);
    if (t->pct == LL_TH_MIN) {
        return false;
    }
    double n = (double)h->n + (double)rest;
    uint64_t rank = (uint64_t)ceil(t->pct / 100.0 * n);
    return (double)le + (double)rest < (double)(rank < 1 ? 1 : rank);
}

bool ll_thresh_doomed(const struct ll_thresh *t, const struct ll_stats *s, uint64_t remaining)
{
    if (remaining == UINT64_MAX) {
        return false;
    }
    double ok = (double)ll_stats_succeeded(s), failed = (double)ll_stats_failed(s);
    double rest = (double)remaining, all = ok + failed + rest;
    switch (t->metric) {
    case LL_TH_ERROR_RATE:
        if (all <= 0) {
            return false;
        }
        /* the best the rest can do: all succeed (upper bound) or all fail (lower bound) */
        return !ll_thresh_holds(
            t, (t->op == LL_TH_LT || t->op == LL_TH_LE) ? failed / all : (failed + rest) / all);
    case LL_TH_GOODPUT_SHARE: /* good / every request: the rest can at best all be good */
        if (t->op == LL_TH_LT || t->op == LL_TH_LE || !ll_slo_is_set(&s->slo) ||
            (double)s->completed + rest <= 0) {
            return false;
        }
        return !ll_thresh_holds(t, ((double)s->good + rest) / ((double)s->completed + rest));
    case LL_TH_THROUGHPUT: /* depends on the wall time still to come: judged at the end */
        return false;
    default:
        return latency_doomed(t, s, remaining);
    }
}

int ll_thresh_json_path(const struct ll_thresh *t, char *buf, size_t n)
{
    const char *stat;
    switch (t->metric) {
    case LL_TH_ERROR_RATE:
        snprintf(buf, n, "=error_share");
        return 0;
    case LL_TH_THROUGHPUT:
        snprintf(buf, n, "=ok_rps");
        return 0;
    case LL_TH_GOODPUT_SHARE:
        snprintf(buf, n, "results.goodput.share");
        return 0;
    default:
        break;
    }
    if (t->pct == LL_TH_MEAN) {
        stat = "mean";
    } else if (t->pct == LL_TH_MIN) {
        stat = "min";
    } else if (t->pct == LL_TH_MAX) {
        stat = "max";
    } else if (t->pct == 50 || t->pct == 90 || t->pct == 99) {
        stat = t->pct == 50 ? "p50" : t->pct == 90 ? "p90" : "p99";
    } else if (t->pct == 99.9) {
        stat = "p999";
    } else {
        return LL_EINVAL;
    }
    snprintf(buf, n, "results.latency.%s.%s_ms", ll_stats_hist_name((enum ll_stats_hist)t->hist),
             stat);
    return 0;
}

void ll_thresh_format(const struct ll_thresh *t, double v, char *buf, size_t n)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "not measured");
    } else if (t->diff) {
        snprintf(buf, n, "B-A %+.3f points", 100.0 * v);
    } else if (t->ratio) {
        snprintf(buf, n, "B/A %.3f", v);
    } else if (t->metric == LL_TH_LATENCY) {
        snprintf(buf, n, "%.3f ms", v / (double)LL_NS_PER_MS);
    } else if (t->metric == LL_TH_THROUGHPUT) {
        snprintf(buf, n, "%.3f req/s", v);
    } else {
        snprintf(buf, n, "%.3f%%", 100.0 * v);
    }
}

/* ---- a run's set ---- */

int ll_thresh_set_add(struct ll_thresh_set *set, const char *expr, bool ratio)
{
    struct ll_thresh t;
    if (ll_thresh_parse(expr, ratio, &t) != 0) {
        return LL_EINVAL;
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 4;
        struct ll_thresh *v = realloc(set->v, cap * sizeof(*v));
        if (v == NULL) {
            return LL_ENOMEM;
        }
        set->v = v;
        set->cap = cap;
    }
    set->v[set->n++] = t;
    return 0;
}

void ll_thresh_set_free(struct ll_thresh_set *set)
{
    free(set->v);
    set->v = NULL;
    set->n = set->cap = 0;
}

int ll_thresh_set_doomed(const struct ll_thresh_set *set, const struct ll_stats *s,
                         uint64_t remaining)
{
    for (size_t i = 0; i < set->n; i++) {
        if (ll_thresh_doomed(&set->v[i], s, remaining)) {
            return (int)i;
        }
    }
    return -1;
}

size_t ll_thresh_report(const struct ll_thresh_set *set, const struct ll_stats *s, FILE *out,
                        FILE *err, const char *who)
{
    size_t failed = 0;
    char val[48];
    for (size_t i = 0; i < set->n; i++) {
        const struct ll_thresh *t = &set->v[i];
        double v = NAN;
        ll_thresh_value(t, s, &v);
        bool ok = ll_thresh_holds(t, v);
        ll_thresh_format(t, v, val, sizeof(val));
        fprintf(out, "threshold %s: %s (%s)%s\n", t->expr, ok ? "ok" : "FAILED", val,
                set->aborted_by == (int)i ? ", could no longer pass: the run was stopped" : "");
        if (!ok) {
            failed++;
            fprintf(err, "%s: threshold failed: %s (%s)\n", who, t->expr, val);
        }
    }
    return failed;
}

/* A value in the unit of the run's JSON: ms for latency. */
static double json_value(const struct ll_thresh *t, double v)
{
    return t->metric == LL_TH_LATENCY && !t->ratio ? v / (double)LL_NS_PER_MS : v;
}

cJSON *ll_thresh_json(const struct ll_thresh_set *set, const struct ll_stats *s)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a != NULL && i < set->n; i++) {
        const struct ll_thresh *t = &set->v[i];
        double v = NAN;
        cJSON *o = cJSON_CreateObject();
        ll_thresh_value(t, s, &v);
        cJSON_AddStringToObject(o, "expr", t->expr);
        cJSON_AddBoolToObject(o, "ok", ll_thresh_holds(t, v));
        if (isfinite(v)) {
            cJSON_AddNumberToObject(o, "value", json_value(t, v));
        } else {
            cJSON_AddNullToObject(o, "value");
        }
        cJSON_AddBoolToObject(o, "stopped_run", set->aborted_by == (int)i);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}
