/* ll_demo_semaphore.c - the seed's Semaphore(n): 100 requests under in-flight limits 1, 3, 10
 * and 100. Wall time should be about ceil(100 / limit) x latency, and the peak of requests in
 * flight that mockllm saw must never exceed the limit. */
#include <stdio.h>

#include "ll_demo.h"

#define SEM_REQUESTS   100
#define SEM_LATENCY_MS 200.0

static const int limits[] = {1, 3, 10, 100};
#define N_LIMITS (sizeof(limits) / sizeof(limits[0]))

struct sem_fig {
    struct ll_demo_figs f;
    long long peak; /* mockllm_in_flight_peak, -1 when unknown */
    double ideal_s;
};

static int run_limit(const struct ll_endpoint *ep, const struct ll_backend *be, int limit,
                     struct sem_fig *out)
{
    struct ll_config cfg;
    char hdr[64];
    const char *hdrs[1] = {hdr};
    struct ll_message msg = {"user", "Summarise the news."};
    struct ll_request req = {.messages = &msg, .n_messages = 1, .headers = hdrs, .n_headers = 1};
    snprintf(hdr, sizeof(hdr), "x-mock-latency-ms: %.0f", SEM_LATENCY_MS);
    ll_endpoint_config(ep, &cfg, limit);
    ll_endpoint_metrics_reset(ep);
    int err = ll_demo_batch(be, &cfg, &req, SEM_REQUESTS, &out->f);
    out->peak = ll_endpoint_metric(ep, "mockllm_in_flight_peak");
    return err;
}

/* The claims, from mockllm's own peak first: never above the limit, and a higher limit lets
 * more in at once (the limit is used, not only respected). The walls are ordered where waves
 * of requests set them; the last step (one wave of 100 against ten of 10) may cost as much in
 * opening 100 connections at once as it saves on a loaded machine: there a higher limit is
 * only required not to be slower by more than that (a quarter). */
static void claims(struct ll_demo *d, const struct ll_backend *be, const struct sem_fig *s)
{
    char key[96];
    bool peak_ok = true, ordered = true, used = true;
    for (size_t i = 0; i < N_LIMITS; i++) {
        peak_ok = peak_ok && s[i].peak >= 0 && s[i].peak <= limits[i];
        used = used && (i == 0 || s[i].peak < 0 || s[i].peak > s[i - 1].peak);
        double room = i + 1 == N_LIMITS ? 1.25 : 1.0;
        ordered = ordered && (i == 0 || s[i].f.wall_s < room * s[i - 1].f.wall_s);
    }
    snprintf(key, sizeof(key), "%s_peak_within_limit", be->name);
    ll_demo_claim(d, key, peak_ok && used,
                  "%s: mockllm's peak in flight <= limit in every run, and higher with each "
                  "limit (%lld, %lld, %lld, %lld)",
                  be->name, s[0].peak, s[1].peak, s[2].peak, s[3].peak);
    snprintf(key, sizeof(key), "%s_wall_ordered", be->name);
    ll_demo_claim(d, key, ordered,
                  "%s: a higher limit is faster (%.2f > %.2f > %.2f s; %.2f s with 100 "
                  "connections opened at once)",
                  be->name, s[0].f.wall_s, s[1].f.wall_s, s[2].f.wall_s, s[3].f.wall_s);
}

static int run_backend(struct ll_demo *d, const struct ll_endpoint *ep, const struct ll_backend *be)
{
    struct sem_fig s[N_LIMITS];
    char w[32], id[32];
    for (size_t i = 0; i < N_LIMITS; i++) {
        int err = run_limit(ep, be, limits[i], &s[i]);
        if (err != 0) {
            fprintf(stderr, "llmload demo semaphore: %s: %s\n", be->name, ll_strerror(err));
            return 1;
        }
        s[i].ideal_s = (double)((SEM_REQUESTS + limits[i] - 1) / limits[i]) *
                       ll_demo_ms(d, SEM_LATENCY_MS) / 1e3;
        printf("  %-9s limit %-3d wall %-9s ideal %-9s ratio %.2f  peak in flight %lld  ok %d\n",
               be->name, limits[i], ll_demo_fmt_s(w, sizeof(w), s[i].f.wall_s),
               ll_demo_fmt_s(id, sizeof(id), s[i].ideal_s), s[i].f.wall_s / s[i].ideal_s, s[i].peak,
               s[i].f.ok);
        fflush(stdout);
        cJSON *row = ll_demo_row(d, be->name, "limit", &s[i].f);
        cJSON_AddNumberToObject(row, "limit", limits[i]);
        cJSON_AddNumberToObject(row, "ideal_s", s[i].ideal_s);
        cJSON_AddNumberToObject(row, "peak_in_flight", (double)s[i].peak);
    }
    claims(d, be, s);
    printf("\n");
    return 0;
}

int ll_demo_semaphore(struct ll_demo *d)
{
    int rc = ll_demo_each_backend(d, NULL, run_backend);
    printf("The in-flight limit is the seed's Semaphore(n): %d requests go out in waves of at\n"
           "most n, so wall time is about ceil(%d/n) latencies, and the server never sees more\n"
           "than n at once (the peak above comes from mockllm's own /metrics). This is how a\n"
           "client stays under an API's concurrency limit.\n",
           SEM_REQUESTS, SEM_REQUESTS);
    return rc;
}
