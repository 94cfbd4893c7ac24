/* ll_merge_report.c - what `llmload merge` prints before the run's table (the inputs, the
 * common window) and the merged run's --json document (ll_merge.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ll_clock.h"
#include "ll_merge.h"
#include "ll_report.h"
#include "ll_stats_exact.h"
#include "ll_thresh.h"
#include "ll_walltime.h"

/* "0-3" or "0-2, 5" : the segments the inputs hold, as ranges. */
static void covered(const struct ll_merged *m, char *buf, size_t n)
{
    uint32_t count = m->in[0].count;
    size_t len = 0, mi = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < count && len < n;) {
        while (mi < m->n_missing && m->missing[mi] < i) {
            mi++;
        }
        if (mi < m->n_missing && m->missing[mi] == i) {
            i++;
            continue;
        }
        uint32_t j = i;
        while (j + 1 < count && !(mi < m->n_missing && m->missing[mi] == j + 1)) {
            j++;
        }
        len += (size_t)snprintf(buf + len, n - len, "%s%u", len ? ", " : "", i);
        if (j > i && len < n) {
            len += (size_t)snprintf(buf + len, n - len, "-%u", j);
        }
        i = j + 1;
    }
}

static const char *cfg_str(const cJSON *doc, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(doc, "config"), key);
    return cJSON_IsString(v) ? v->valuestring : "?";
}

static double cfg_num(const cJSON *doc, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(doc, "config"), key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void input_row(FILE *out, const struct ll_merged *m, const struct ll_merge_in *in)
{
    char seg[32];
    if (in->n_covers == 1) {
        snprintf(seg, sizeof(seg), "%u/%u", in->covers[0], in->count);
    } else {
        snprintf(seg, sizeof(seg), "%zu of %u", in->n_covers, in->count);
    }
    fprintf(out, "  %-9s %-16.16s %4d %10llu %10llu %10llu", seg, in->host[0] ? in->host : "-",
            in->exit_code, (unsigned long long)in->st.submitted,
            (unsigned long long)ll_stats_succeeded(&in->st),
            (unsigned long long)ll_stats_failed(&in->st));
    if (isnan(in->late_ms)) {
        fprintf(out, " %9s", "-");
    } else {
        fprintf(out, " %9.3f", in->late_ms);
    }
    fprintf(out, " %9.3f  %s\n", ll_stats_wall_s(&in->st), in->path);
    (void)m;
}

void ll_merge_header(FILE *out, const struct ll_merged *m)
{
    const cJSON *doc = m->in[0].doc;
    char segs[256], a[LL_WALLTIME_LEN], b[LL_WALLTIME_LEN];
    covered(m, segs, sizeof(segs));
    fprintf(out, "llmload merge: %zu file%s, segments %s of %u%s\n", m->n, m->n == 1 ? "" : "s",
            segs, m->in[0].count, m->n_missing ? " (INCOMPLETE)" : "");
    fprintf(out, "backend=%s mode=%s", cfg_str(doc, "backend"), cfg_str(doc, "mode"));
    if (strcmp(cfg_str(doc, "mode"), "open") == 0) {
        fprintf(out, " rate=%g/s arrivals=%s", cfg_num(doc, "rate"), cfg_str(doc, "arrivals"));
    }
    fprintf(out, " concurrency=%g", cfg_num(doc, "concurrency"));
    if (isnan(cfg_num(doc, "requests"))) {
        fprintf(out, " requests=unbounded duration=%gs", cfg_num(doc, "duration_s"));
    } else {
        fprintf(out, " requests=%g", cfg_num(doc, "requests"));
    }
    fprintf(out, " model=%s\n", cfg_str(doc, "model"));
    fprintf(out, "window %s to %s (the earliest start to the latest end, wall clock)\n",
            ll_walltime_format(m->total.t_start, a, sizeof(a)),
            ll_walltime_format(m->total.t_stop, b, sizeof(b)));
    if (!isnan(m->late_ms)) {
        fprintf(out, "start-at %s; the latest start %.3f ms after it (%s)\n",
                m->in[m->late_input].start_at ? m->in[m->late_input].start_at : "?", m->late_ms,
                m->in[m->late_input].path);
    }
    fprintf(out, "  %-9s %-16s %4s %10s %10s %10s %9s %9s  %s\n", "segment", "host", "exit",
            "submitted", "succeeded", "failed", "late ms", "wall s", "file");
    for (size_t i = 0; i < m->n; i++) {
        input_row(out, m, &m->in[i]);
    }
    fputc('\n', out);
}

/* ---- JSON ---- */

/* A figure, or null when it was not measured (NAN). */
static void add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) {
        cJSON_AddNumberToObject(o, key, v);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

static cJSON *agent_json(const struct ll_merge_in *in)
{
    char when[LL_WALLTIME_LEN];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", in->path);
    cJSON *cov = cJSON_AddArrayToObject(o, "segments");
    for (size_t i = 0; cov != NULL && i < in->n_covers; i++) {
        cJSON_AddItemToArray(cov, cJSON_CreateNumber(in->covers[i]));
    }
    cJSON_AddStringToObject(o, "host", in->host);
    cJSON_AddNumberToObject(o, "exit_code", in->exit_code);
    cJSON_AddStringToObject(o, "started_utc",
                            ll_walltime_format(in->st.t_start, when, sizeof(when)));
    add_num(o, "late_ms", in->late_ms);
    cJSON_AddNumberToObject(o, "submitted", (double)in->st.submitted);
    cJSON_AddNumberToObject(o, "succeeded", (double)ll_stats_succeeded(&in->st));
    cJSON_AddNumberToObject(o, "failed", (double)ll_stats_failed(&in->st));
    cJSON_AddNumberToObject(o, "wall_s", ll_stats_wall_s(&in->st));
    return o;
}

/* The first input's configuration without what is each host's own. */
static cJSON *config_json(const struct ll_merged *m)
{
    cJSON *cfg = cJSON_Duplicate(cJSON_GetObjectItem(m->in[0].doc, "config"), true);
    const char *drop[] = {"endpoint", "endpoint_source", "rlimit_nofile", "lookahead"};
    for (size_t i = 0; cfg != NULL && i < sizeof(drop) / sizeof(drop[0]); i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, drop[i]);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItem(cfg, "mock"), "path");
    cJSON *sent = cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "workload"), "sent"), *v;
    cJSON_ArrayForEach(v, sent) /* what the agents sent, added up */
    {
        double sum = 0;
        for (size_t i = 0; cJSON_IsNumber(v) && i < m->n; i++) {
            const cJSON *c =
                cJSON_GetObjectItem(cJSON_GetObjectItem(m->in[i].doc, "config"), "workload");
            const cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "sent"), v->string);
            sum += cJSON_IsNumber(x) ? x->valuedouble : 0;
        }
        if (cJSON_IsNumber(v)) {
            cJSON_SetNumberValue(v, sum);
        }
    }
    cJSON *client = cJSON_GetObjectItem(cfg, "client");
    cJSON_DeleteItemFromObjectCaseSensitive(client, "base_urls");
    cJSON_DeleteItemFromObjectCaseSensitive(client, "concurrency");
    cJSON_DeleteItemFromObjectCaseSensitive(client, "seed");
    return cfg;
}

static cJSON *segment_json(const struct ll_merged *m)
{
    cJSON *o = cJSON_CreateObject();
    uint32_t count = m->in[0].count;
    cJSON_AddNullToObject(o, "index");
    cJSON_AddNumberToObject(o, "count", count);
    cJSON *cov = cJSON_AddArrayToObject(o, "covers");
    cJSON *miss = cJSON_AddArrayToObject(o, "missing");
    for (uint32_t i = 0, mi = 0; i < count; i++) {
        bool gone = mi < m->n_missing && m->missing[mi] == i;
        cJSON_AddItemToArray(gone ? miss : cov, cJSON_CreateNumber(i));
        mi += gone;
    }
    return o;
}

static cJSON *start_json(const struct ll_merged *m)
{
    char when[LL_WALLTIME_LEN];
    cJSON *o = cJSON_CreateObject();
    const char *at = isnan(m->late_ms) ? NULL : m->in[m->late_input].start_at;
    if (at != NULL) {
        cJSON_AddStringToObject(o, "at_utc", at);
    } else {
        cJSON_AddNullToObject(o, "at_utc");
    }
    add_num(o, "late_ms", m->late_ms); /* the latest agent's */
    cJSON_AddStringToObject(o, "started_utc",
                            ll_walltime_format(m->total.t_start, when, sizeof(when)));
    cJSON_AddStringToObject(o, "stopped_utc",
                            ll_walltime_format(m->total.t_stop, when, sizeof(when)));
    return o;
}

cJSON *ll_merge_json(const struct ll_merged *m, const struct ll_thresh_set *th, int exit_code)
{
    char host[256] = "";
    cJSON *doc = cJSON_CreateObject();
    ll_report_meta_json(doc, "merge");
    cJSON_AddItemToObject(doc, "config", config_json(m));
    cJSON_AddItemToObject(doc, "results", ll_report_stats_json(&m->total));
    cJSON_AddItemToObject(doc, "thresholds", ll_thresh_json(th, &m->total));
    cJSON *run = cJSON_AddObjectToObject(doc, "run");
    bool interrupted = false;
    for (size_t i = 0; i < m->n; i++) {
        interrupted = interrupted || m->in[i].interrupted;
    }
    cJSON_AddBoolToObject(run, "interrupted", interrupted);
    cJSON_AddNumberToObject(run, "exit_code", exit_code);
    gethostname(host, sizeof(host) - 1);
    cJSON_AddStringToObject(run, "host", host);
    cJSON_AddItemToObject(doc, "segment", segment_json(m));
    cJSON_AddItemToObject(doc, "start", start_json(m));
    cJSON *agents = cJSON_AddArrayToObject(doc, "agents");
    for (size_t i = 0; agents != NULL && i < m->n; i++) {
        cJSON_AddItemToArray(agents, agent_json(&m->in[i]));
    }
    cJSON *mo = cJSON_AddObjectToObject(doc, "merge");
    cJSON_AddBoolToObject(mo, "ok", cJSON_GetArraySize(m->failures) == 0);
    cJSON_AddItemToObject(mo, "failures", cJSON_Duplicate(m->failures, true));
    cJSON_AddNumberToObject(mo, "series_skew_ms", (double)m->skew_ns / (double)LL_NS_PER_MS);
    cJSON_AddNumberToObject(mo, "window_s", ll_stats_wall_s(&m->total));
    /* the merged times are on the wall clock already: no offset */
    cJSON_AddItemToObject(doc, "exact", ll_stats_exact_json(&m->total, 0));
    if (cJSON_GetObjectItem(doc, "exact") == NULL || cJSON_GetObjectItem(doc, "results") == NULL ||
        mo == NULL || agents == NULL) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}
