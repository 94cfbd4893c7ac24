/* ll_demo_pool.c - the seed's shared AsyncClient (async with): one connection pool reused by
 * every request, against a new connection per request (cfg.no_reuse). Connections opened come
 * from mockllm's own counter (mockllm_connections_total), so they are the server's view. */
#include <stdio.h>

#include "ll_demo.h"

#define POOL_REQUESTS   200
#define POOL_LIMIT      10
#define POOL_LATENCY_MS 20.0

struct pool_fig {
    struct ll_demo_figs f;
    long long conns; /* -1: unknown (no mock) */
};

static int run_mode(const struct ll_endpoint *ep, const struct ll_backend *be, bool no_reuse,
                    struct pool_fig *out)
{
    struct ll_config cfg;
    char hdr[64];
    const char *hdrs[1] = {hdr};
    struct ll_message msg = {"user", "Ping."};
    struct ll_request req = {.messages = &msg, .n_messages = 1, .headers = hdrs, .n_headers = 1};
    snprintf(hdr, sizeof(hdr), "x-mock-latency-ms: %.0f", POOL_LATENCY_MS);
    ll_endpoint_config(ep, &cfg, POOL_LIMIT);
    cfg.no_reuse = no_reuse;
    ll_endpoint_metrics_reset(ep);
    int err = ll_demo_batch(be, &cfg, &req, POOL_REQUESTS, &out->f);
    out->conns = ll_endpoint_metric(ep, "mockllm_connections_total");
    return err;
}

static int run_backend(struct ll_demo *d, const struct ll_endpoint *ep, const struct ll_backend *be)
{
    static const char *names[2] = {"shared-pool", "no-reuse"};
    struct pool_fig p[2];
    char w[32], key[96];
    for (int m = 0; m < 2; m++) {
        int err = run_mode(ep, be, m == 1, &p[m]);
        if (err != 0) {
            fprintf(stderr, "llmload demo pool: %s: %s\n", be->name, ll_strerror(err));
            return 1;
        }
        printf("  %-9s %-12s %d requests  connections opened %-4lld wall %-9s CPU %.3f s  ok %d\n",
               be->name, names[m], POOL_REQUESTS, p[m].conns,
               ll_demo_fmt_s(w, sizeof(w), p[m].f.wall_s), p[m].f.cpu_s, p[m].f.ok);
        fflush(stdout);
        cJSON *row = ll_demo_row(d, be->name, names[m], &p[m].f);
        cJSON_AddNumberToObject(row, "connections", (double)p[m].conns);
    }
    snprintf(key, sizeof(key), "%s_shared_opens_fewer", be->name);
    ll_demo_claim(d, key, p[0].conns >= 0 && p[0].conns < p[1].conns,
                  "%s: shared pool opened %lld connections, no-reuse %lld", be->name, p[0].conns,
                  p[1].conns);
    printf("\n");
    return 0;
}

int ll_demo_pool(struct ll_demo *d)
{
    int rc = ll_demo_each_backend(d, NULL, run_backend);
    printf("Opening a connection is itself I/O (a TCP handshake, and TLS on a real API). One\n"
           "client holding one pool opens about as many connections as requests in flight (%d)\n"
           "and reuses them; a client per request pays the opening every time: more\n"
           "connections, more CPU, more time. Create the client once and share it.\n",
           POOL_LIMIT);
    return rc;
}
