/* ll_agent.c - one agent of a split run: its share, its start, its exact JSON (ll_agent.h). */
#include "ll_agent.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "ll_clock.h"
#include "ll_err.h"
#include "ll_signal.h"
#include "ll_stats_exact.h"
#include "ll_walltime.h"

int ll_agent_parse(struct ll_agent *a, const char *who)
{
    a->seg = (struct ll_segment){0, 1};
    if (a->segment_spec != NULL && ll_segment_parse(a->segment_spec, &a->seg) != 0) {
        fprintf(stderr, "%s: --segment: want I/N with 0 <= I < N <= %d (e.g. 0/4), got %s\n", who,
                LL_SEGMENT_MAX, a->segment_spec);
        return LL_EINVAL;
    }
    if (a->start_at_spec == NULL) {
        return 0;
    }
    if (ll_walltime_parse(a->start_at_spec, &a->start_at_ns) != 0) {
        fprintf(stderr,
                "%s: --start-at: want an RFC 3339 time with its zone (2026-11-25T14:03:09Z) or "
                "seconds since the epoch, got %s\n",
                who, a->start_at_spec);
        return LL_EINVAL;
    }
    if (a->start_at_ns - ll_walltime_now_ns() > LL_AGENT_AHEAD_NS) {
        fprintf(stderr, "%s: --start-at %s is more than a day ahead (a clock or a typo?)\n", who,
                a->start_at_spec);
        return LL_EINVAL;
    }
    a->start_at_set = true;
    return 0;
}

int ll_agent_split(struct ll_agent *a, const char *who, bool unbounded, int64_t *requests,
                   int64_t *concurrency, int64_t *concurrency_asked)
{
    const struct ll_segment *g = &a->seg;
    a->requests_total = *requests;
    a->concurrency_total = *concurrency;
    a->concurrency_asked_total = *concurrency_asked;
    if (g->count <= 1) {
        a->concurrency_asked_share = *concurrency_asked;
        return 0;
    }
    uint64_t c = ll_segment_share(g, (uint64_t)*concurrency);
    uint64_t r = unbounded ? 1 : ll_segment_share(g, (uint64_t)*requests);
    if (c == 0 || r == 0) {
        long long v = c == 0 ? (long long)*concurrency : (long long)*requests;
        fprintf(stderr,
                "%s: --segment %u/%u: %s %lld leaves this segment nothing (split %u ways; at "
                "most %lld segments)\n",
                who, g->index, g->count, c == 0 ? "--concurrency" : "--requests", v, g->count, v);
        return LL_EINVAL;
    }
    *concurrency = (int64_t)c;
    *concurrency_asked = (int64_t)ll_segment_share(g, (uint64_t)*concurrency_asked);
    a->concurrency_asked_share = *concurrency_asked;
    if (!unbounded) {
        *requests = (int64_t)r;
    }
    return 0;
}

uint64_t ll_agent_seed(const struct ll_agent *a, uint64_t seed)
{
    return ll_segment_seed(&a->seg, seed);
}

void ll_agent_header(FILE *out, const struct ll_agent *a, bool unbounded)
{
    char when[LL_WALLTIME_LEN];
    if (a->seg.count <= 1 && !a->start_at_set) {
        return;
    }
    if (a->seg.count > 1) {
        fprintf(out, "segment=%u/%u of requests=", a->seg.index, a->seg.count);
        if (unbounded) {
            fprintf(out, "unbounded");
        } else {
            fprintf(out, "%lld", (long long)a->requests_total);
        }
        fprintf(out, " concurrency=%lld (the line above: this agent's share)",
                (long long)a->concurrency_total);
    }
    if (a->start_at_set) {
        fprintf(out, "%sstart-at=%s", a->seg.count > 1 ? " " : "",
                ll_walltime_format(a->start_at_ns, when, sizeof(when)));
    }
    fputc('\n', out);
}

/* Sleep until the wall clock reaches `at`, waking to look at the stop flag. */
static void sleep_until_wall(int64_t at)
{
    while (!ll_signal_caught()) {
        int64_t now = ll_walltime_now_ns(), left = at - now;
        if (left <= 0) {
            return;
        }
        /* CLOCK_REALTIME with TIMER_ABSTIME follows a clock step; the poll bound lets a signal
         * delivered to another thread end the wait */
        int64_t until = left > LL_SIGNAL_POLL_NS ? now + LL_SIGNAL_POLL_NS : at;
        struct timespec ts = {.tv_sec = until / LL_NS_PER_S, .tv_nsec = until % LL_NS_PER_S};
        clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL);
    }
}

int64_t ll_agent_start(struct ll_agent *a, const char *who)
{
    char when[LL_WALLTIME_LEN];
    a->late_ns = 0;
    if (!a->start_at_set) {
        a->wall_offset_ns = ll_walltime_offset_ns();
        return 0;
    }
    sleep_until_wall(a->start_at_ns);
    a->wall_offset_ns = ll_walltime_offset_ns();
    int64_t late = ll_walltime_now_ns() - a->start_at_ns;
    a->late_ns = late > 0 ? late : 0;
    if (a->late_ns >= LL_AGENT_LATE_NS && !ll_signal_caught()) {
        fprintf(stderr, "%s: started %.1f ms after --start-at %s; catching up on the schedule\n",
                who, (double)a->late_ns / (double)LL_NS_PER_MS,
                ll_walltime_format(a->start_at_ns, when, sizeof(when)));
    }
    /* the common instant on this host's monotonic clock: in the past by the lateness */
    int64_t t = a->start_at_ns - a->wall_offset_ns;
    return t > 0 ? t : 1;
}

static void put_number(cJSON *o, const char *key, double v)
{
    if (cJSON_GetObjectItemCaseSensitive(o, key) != NULL) {
        cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateNumber(v));
    } else {
        cJSON_AddNumberToObject(o, key, v);
    }
}

static cJSON *segment_json(const struct ll_agent *a, bool unbounded)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", a->seg.index);
    cJSON_AddNumberToObject(o, "count", a->seg.count);
    cJSON *cov = cJSON_AddArrayToObject(o, "covers");
    cJSON_AddItemToArray(cov, cJSON_CreateNumber(a->seg.index));
    if (unbounded) {
        cJSON_AddNullToObject(o, "requests");
    } else {
        cJSON_AddNumberToObject(o, "requests",
                                (double)ll_segment_share(&a->seg, (uint64_t)a->requests_total));
    }
    cJSON_AddNumberToObject(o, "concurrency",
                            (double)ll_segment_share(&a->seg, (uint64_t)a->concurrency_total));
    return o;
}

static cJSON *start_json(const struct ll_agent *a, const struct ll_stats *s)
{
    char when[LL_WALLTIME_LEN];
    cJSON *o = cJSON_CreateObject();
    if (a->start_at_set) {
        cJSON_AddStringToObject(o, "at_utc",
                                ll_walltime_format(a->start_at_ns, when, sizeof(when)));
        cJSON_AddNumberToObject(o, "late_ms", (double)a->late_ns / (double)LL_NS_PER_MS);
    } else {
        cJSON_AddNullToObject(o, "at_utc");
        cJSON_AddNullToObject(o, "late_ms");
    }
    cJSON_AddStringToObject(o, "started_utc",
                            ll_walltime_format(s->t_start + a->wall_offset_ns, when, sizeof(when)));
    cJSON_AddStringToObject(o, "stopped_utc",
                            ll_walltime_format(s->t_stop + a->wall_offset_ns, when, sizeof(when)));
    return o;
}

int ll_agent_json(cJSON *doc, const struct ll_agent *a, const struct ll_stats *s, bool unbounded,
                  int exit_code)
{
    char host[256] = "";
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(doc, "config");
    cJSON *run = cJSON_GetObjectItemCaseSensitive(doc, "run");
    if (cfg == NULL || run == NULL) {
        return LL_ENOMEM;
    }
    /* the whole workload, the same in every agent's file */
    if (!unbounded) {
        put_number(cfg, "requests", (double)a->requests_total);
    }
    put_number(cfg, "concurrency", (double)a->concurrency_total);
    put_number(cfg, "concurrency_asked", (double)a->concurrency_asked_total);
    cJSON_AddItemToObject(doc, "segment", segment_json(a, unbounded));
    cJSON_AddItemToObject(doc, "start", start_json(a, s));
    cJSON_AddNumberToObject(run, "exit_code", exit_code);
    gethostname(host, sizeof(host) - 1);
    cJSON_AddStringToObject(run, "host", host);
    cJSON *exact = ll_stats_exact_json(s, a->wall_offset_ns);
    if (exact == NULL) {
        return LL_ENOMEM;
    }
    cJSON_AddItemToObject(doc, "exact", exact);
    return 0;
}
