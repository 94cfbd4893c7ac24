/* ll_demo_basics.c - the seed's first numbers: 3 calls x 2 s sequential (6 s), concurrent
 * (2 s), and concurrent code that blocks inside its event loop (6 s again, loop lag 2 s); then
 * 10 calls x 3 s (30 s against 3 s).
 *
 * "Sequential" is any backend with an in-flight limit of 1 (the threaded backend with one
 * worker is the seed's sync_baseline.py); "concurrent" is the limit raised to the number of
 * calls; the pitfall is cfg.blocking, only on backends whose caps include LL_CAP_BLOCKING.
 *
 * The claims are judged first from what the mock saw (its peak of requests in flight: the
 * calls overlapped, or did not), then from the walls with room for a loaded machine: a ratio
 * past halfway between no overlap (1) and the ideal. */
#include <stdio.h>

#include "ll_demo.h"

struct basics_case {
    const char *name;
    int n;          /* calls */
    int limit;      /* in-flight limit */
    bool blocking;  /* the pitfall */
    double lat_ms;  /* per call, scale 1 */
    double ideal_n; /* expected wall in latencies */
};

static const struct basics_case cases[] = {
    {"sequential", 3, 1, false, 2000, 3},
    {"concurrent", 3, 3, false, 2000, 1},
    {"pitfall", 3, 3, true, 2000, 3},
    {"sequential-10x3", 10, 1, false, 3000, 10},
    {"concurrent-10x3", 10, 10, false, 3000, 1},
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* One case on one backend; the latency travels in a per-request header. *peak: the mock's
 * peak of requests in flight during it, -1 when unknown (--url). */
static int run_case(struct ll_demo *d, const struct ll_endpoint *ep, const struct ll_backend *be,
                    const struct basics_case *k, struct ll_demo_figs *f, long long *peak)
{
    struct ll_config cfg;
    char hdr[64];
    const char *hdrs[1] = {hdr};
    struct ll_message msg = {"user", "Say hello."};
    struct ll_request req = {.messages = &msg, .n_messages = 1, .headers = hdrs, .n_headers = 1};
    snprintf(hdr, sizeof(hdr), "x-mock-latency-ms: %.0f", k->lat_ms);
    ll_endpoint_config(ep, &cfg, k->limit);
    cfg.blocking = k->blocking;
    ll_endpoint_metrics_reset(ep);
    int err = ll_demo_batch(be, &cfg, &req, k->n, f);
    *peak = ll_endpoint_metric(ep, "mockllm_in_flight_peak");
    return err;
}

static void print_row(const struct ll_backend *be, const struct basics_case *k,
                      const struct ll_demo_figs *f, double lat_s, long long peak)
{
    char w[32], e[32], ideal[32], lag[32], pk[24] = "-";
    if (peak >= 0) {
        snprintf(pk, sizeof(pk), "%lld", peak);
    }
    printf("  %-9s %-16s %2d x %-8s limit %-3d wall %-9s (ideal %-8s) ok %d/%d  at once %-3s "
           "loop lag max %s\n",
           be->name, k->name, k->n, ll_demo_fmt_s(e, sizeof(e), lat_s), k->limit,
           ll_demo_fmt_s(w, sizeof(w), f->wall_s),
           ll_demo_fmt_s(ideal, sizeof(ideal), k->ideal_n * lat_s), f->ok, k->n, pk,
           ll_demo_fmt_s(lag, sizeof(lag), f->lag_max_ns >= 0 ? (double)f->lag_max_ns / 1e9 : -1));
    fflush(stdout);
}

static double wall_of(struct ll_demo_figs *f, int i)
{
    return f[i].wall_s > 0 ? f[i].wall_s : 1e-9;
}

/* The mock saw `want` at once (unknown, --url: the walls alone judge). */
static bool peak_is(const long long *peak, int i, long long want)
{
    return peak[i] < 0 || peak[i] == want;
}

static void claims(struct ll_demo *d, const struct ll_backend *be, struct ll_demo_figs *f,
                   const long long *peak, bool has_pitfall)
{
    char key[96];
    double seq = wall_of(f, 0) / wall_of(f, 1), ten = wall_of(f, 3) / wall_of(f, 4);
    snprintf(key, sizeof(key), "%s_sequential_over_concurrent", be->name);
    ll_demo_claim(d, key, seq >= 2.0 && peak_is(peak, 0, 1) && peak_is(peak, 1, cases[1].n),
                  "%s: sequential / concurrent = %.2f (seed: 6 s / 2 s = 3), at once %lld / %lld",
                  be->name, seq, peak[0], peak[1]);
    if (has_pitfall) {
        double pit = wall_of(f, 2) / wall_of(f, 1);
        char lag[32];
        snprintf(key, sizeof(key), "%s_pitfall_over_concurrent", be->name);
        ll_demo_claim(d, key, pit >= 2.0 && peak_is(peak, 2, 1),
                      "%s: pitfall / concurrent = %.2f, at once %lld, loop lag %s", be->name, pit,
                      peak[2],
                      ll_demo_fmt_s(lag, sizeof(lag),
                                    f[2].lag_max_ns >= 0 ? (double)f[2].lag_max_ns / 1e9 : -1));
    }
    snprintf(key, sizeof(key), "%s_10x3_ratio", be->name);
    ll_demo_claim(d, key, ten >= 5.5 && peak_is(peak, 3, 1) && peak_is(peak, 4, cases[4].n),
                  "%s: 10 x 3 s sequential / concurrent = %.2f (seed: 30/3), at once %lld / %lld",
                  be->name, ten, peak[3], peak[4]);
}

static int run_backend(struct ll_demo *d, const struct ll_endpoint *ep, const struct ll_backend *be)
{
    struct ll_demo_figs f[N_CASES] = {{0}};
    long long peak[N_CASES] = {0};
    bool has_pitfall = (be->caps & LL_CAP_BLOCKING) != 0;
    for (size_t i = 0; i < N_CASES; i++) {
        if (cases[i].blocking && !has_pitfall) {
            printf("  %-9s %-16s (this backend has no event loop to block: no pitfall)\n", be->name,
                   cases[i].name);
            continue;
        }
        int err = run_case(d, ep, be, &cases[i], &f[i], &peak[i]);
        if (err != 0) {
            fprintf(stderr, "llmload demo basics: %s %s: %s\n", be->name, cases[i].name,
                    ll_strerror(err));
            return 1;
        }
        print_row(be, &cases[i], &f[i], ll_demo_ms(d, cases[i].lat_ms) / 1e3, peak[i]);
        cJSON *row = ll_demo_row(d, be->name, cases[i].name, &f[i]);
        cJSON_AddNumberToObject(row, "latency_s", ll_demo_ms(d, cases[i].lat_ms) / 1e3);
        cJSON_AddNumberToObject(row, "limit", cases[i].limit);
        cJSON_AddNumberToObject(row, "requests", cases[i].n);
        if (peak[i] >= 0) {
            cJSON_AddNumberToObject(row, "server_peak", (double)peak[i]);
        } else {
            cJSON_AddNullToObject(row, "server_peak");
        }
    }
    claims(d, be, f, peak, has_pitfall);
    printf("\n");
    return 0;
}

int ll_demo_basics(struct ll_demo *d)
{
    int rc = ll_demo_each_backend(d, NULL, run_backend);
    printf("Waiting is what these calls do: with one call in flight the waits add up (3 x 2 s);\n"
           "with all three in flight they overlap (about 2 s). The pitfall has the concurrency\n"
           "but makes each call with a blocking function inside the event loop, so the loop\n"
           "cannot serve anything else meanwhile: the waits add up again and the loop-lag probe\n"
           "fires about one whole call late.\n");
    return rc;
}
