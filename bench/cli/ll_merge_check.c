/* ll_merge_check.c - whether several agents' files add up to one run, and the adding
 * (ll_merge.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_merge.h"

#define WHO LL_MERGE_WHO

/* config keys that set the client rather than the load: a difference there is "different
 * configurations"; any other key says what is sent and when: "different workloads" */
static bool client_key(const char *path)
{
    static const char *const keys[] = {"backend", "retries", "client", "headers", "warmup", NULL};
    for (const char *const *k = keys; *k != NULL; k++) {
        size_t n = strlen(*k);
        if (strncmp(path, *k, n) == 0 && (path[n] == '\0' || path[n] == '.')) {
            return true;
        }
    }
    return false;
}

static void join(char *out, size_t n, const char *path, const char *key)
{
    snprintf(out, n, "%s%s%s", path, *path ? "." : "", key);
}

/* The first path under which a and b differ (host keys skipped) into diff; false when none. */
static bool first_diff(const cJSON *a, const cJSON *b, const char *path, char *diff, size_t n)
{
    char sub[256];
    const cJSON *v;
    if (*path != '\0' && ll_merge_host_key(path)) {
        return false;
    }
    if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
        cJSON_ArrayForEach(v, a)
        {
            join(sub, sizeof(sub), path, v->string);
            if (first_diff(v, cJSON_GetObjectItemCaseSensitive(b, v->string), sub, diff, n)) {
                return true;
            }
        }
        cJSON_ArrayForEach(v, b)
        {
            join(sub, sizeof(sub), path, v->string);
            if (cJSON_GetObjectItemCaseSensitive(a, v->string) == NULL && !ll_merge_host_key(sub)) {
                snprintf(diff, n, "%s", sub);
                return true;
            }
        }
        return false;
    }
    if (a == NULL || b == NULL || !cJSON_Compare(a, b, true)) {
        snprintf(diff, n, "%s", path);
        return true;
    }
    return false;
}

/* A value at a dotted path of config, as short text ("absent" when it is not there). */
static void value_text(const cJSON *cfg, const char *path, char *out, size_t n)
{
    char key[256];
    const cJSON *at = cfg;
    for (const char *p = path; at != NULL && *p != '\0';) {
        size_t len = strcspn(p, ".");
        snprintf(key, sizeof(key), "%.*s", (int)len, p);
        at = cJSON_GetObjectItemCaseSensitive(at, key);
        p += len + (p[len] == '.');
    }
    char *t = at != NULL ? cJSON_PrintUnformatted(at) : NULL;
    snprintf(out, n, "%s", t != NULL ? t : "absent");
    if (strlen(out) > 60) {
        strcpy(out + 57, "...");
    }
    free(t);
}

static int check_config(const struct ll_merge_in *a, const struct ll_merge_in *b)
{
    char diff[256] = "", va[64], vb[64];
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(a->doc, "config");
    const cJSON *cb = cJSON_GetObjectItemCaseSensitive(b->doc, "config");
    if (first_diff(ca, cb, "", diff, sizeof(diff))) {
        value_text(ca, diff, va, sizeof(va));
        value_text(cb, diff, vb, sizeof(vb));
        fprintf(stderr, "%s: %s and %s are different %s: config.%s %s vs %s\n", WHO, a->path,
                b->path, client_key(diff) ? "configurations" : "workloads", diff, va, vb);
        return LL_EINVAL;
    }
    const struct ll_slo *sa = &a->st.slo, *sb = &b->st.slo;
    if (memcmp(sa, sb, sizeof(*sa)) != 0) {
        fprintf(stderr,
                "%s: %s and %s are different configurations: --slo ttft=%lld,itl=%lld,tpot=%lld,"
                "e2e=%lld vs ttft=%lld,itl=%lld,tpot=%lld,e2e=%lld (ms)\n",
                WHO, a->path, b->path, (long long)sa->ttft_ms, (long long)sa->itl_ms,
                (long long)sa->tpot_ms, (long long)sa->e2e_ms, (long long)sb->ttft_ms,
                (long long)sb->itl_ms, (long long)sb->tpot_ms, (long long)sb->e2e_ms);
        return LL_EINVAL;
    }
    return 0;
}

int ll_merge_check(struct ll_merge_in *in, size_t n)
{
    uint32_t count = in[0].count;
    size_t *holder = NULL;
    for (size_t f = 1; f < n; f++) {
        if (in[f].count != count) {
            fprintf(stderr, "%s: %s is one of %u segments, %s one of %u: different splits\n", WHO,
                    in[0].path, count, in[f].path, in[f].count);
            return LL_EINVAL;
        }
        if (check_config(&in[0], &in[f]) != 0) {
            return LL_EINVAL;
        }
    }
    if ((holder = calloc(count, sizeof(*holder))) == NULL) {
        fprintf(stderr, "%s: out of memory\n", WHO);
        return LL_ENOMEM;
    }
    for (size_t f = 0; f < n; f++) { /* holder[i]: 1 + the file holding segment i */
        for (size_t i = 0; i < in[f].n_covers; i++) {
            uint32_t s = in[f].covers[i];
            if (holder[s] != 0) {
                fprintf(stderr, "%s: %s and %s both hold segment %u/%u: overlapping segments\n",
                        WHO, in[holder[s] - 1].path, in[f].path, s, count);
                free(holder);
                return LL_EINVAL;
            }
            holder[s] = f + 1;
        }
    }
    free(holder);
    return 0;
}

/* Resources of several hosts: sums, each host's own peak (the peaks need not coincide); a
 * figure any host did not measure (-1) is not measured for the whole. */
static void add_resources(struct ll_resources *t, const struct ll_resources *a, bool first)
{
    double mean = a->rss_samples > 0 ? a->rss_sum_kb / (double)a->rss_samples : NAN;
    if (first) {
        *t = *a;
        t->rss_sum_kb = isnan(mean) ? 0 : mean;
        t->rss_samples = isnan(mean) ? 0 : 1;
        return;
    }
    t->cpu_user_s += a->cpu_user_s;
    t->cpu_sys_s += a->cpu_sys_s;
    t->nvcsw += a->nvcsw;
    t->nivcsw += a->nivcsw;
#define SUM_KNOWN_(f) t->f = t->f < 0 || a->f < 0 ? -1 : t->f + a->f
    SUM_KNOWN_(rss_start_kb);
    SUM_KNOWN_(rss_base_kb);
    SUM_KNOWN_(rss_peak_kb); /* each host's one peak (max of its sources) */
    SUM_KNOWN_(rss_sampled_kb);
    SUM_KNOWN_(hwm_kb);
    SUM_KNOWN_(threads_start);
    SUM_KNOWN_(threads_peak);
#undef SUM_KNOWN_
    t->hwm_reset = t->hwm_reset && a->hwm_reset;
    if (t->rss_samples > 0 && !isnan(mean)) {
        t->rss_sum_kb += mean; /* one sample: the sum of the hosts' means */
    } else {
        t->rss_sum_kb = 0, t->rss_samples = 0;
    }
}

static int64_t add_known(int64_t a, int64_t b)
{
    return a < 0 ? b : b < 0 ? a : a + b;
}

int ll_merge_add(struct ll_stats *total, const struct ll_stats *a, bool first)
{
    /* what ll_stats_merge keeps from one side or overwrites (ll_stats_set_backend) */
    struct ll_be_stats be = total->be;
    double offered = total->offered_rps;
    /* the 1 s windows: added when every agent kept them (ll_stats_merge adds them), none when
     * one did not -- a series missing an agent's windows would not be the run's */
    if (first && a->series != NULL && (total->series = ll_series_new()) == NULL) {
        return LL_ENOMEM;
    }
    if (a->series == NULL) {
        ll_series_free(total->series);
        total->series = NULL;
    }
    int err = ll_stats_merge(total, a);
    if (err != 0) {
        return err;
    }
    if (first) {
        total->slo = a->slo;
        be = a->be;
        offered = 0;
    } else {
        be.threads += a->be.threads;
        be.backoff_waits += a->be.backoff_waits;
        be.backoff_ns += a->be.backoff_ns;
        be.limit_hit = be.limit_hit != NULL ? be.limit_hit : a->be.limit_hit;
        /* each agent's own connections, summed: for the peak an upper bound (the agents' peaks
         * may fall at different instants); unknown (-1) on one side leaves the other's */
        be.conns_open = add_known(be.conns_open, a->be.conns_open);
        be.conns_open_peak = add_known(be.conns_open_peak, a->be.conns_open_peak);
    }
    be.loop_lag = total->loop_lag;
    /* a loop's split of one process's wall does not add up over hosts: each file has its own */
    be.loop_idle_ns = be.loop_run_ns = -1;
    be.loop_iterations = 0;
    total->be = be;
    total->offered_rps = offered + a->offered_rps;
    total->in_flight_limit = (first ? 0 : total->in_flight_limit) + a->in_flight_limit;
    total->cpu_usable = (first ? 0 : total->cpu_usable) + a->cpu_usable;
    add_resources(&total->res, &a->res, first);
    return 0;
}
