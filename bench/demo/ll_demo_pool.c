/* ll_demo_pool.c - the seed's shared AsyncClient (async with): one client and its connection
 * pool reused by every request, against a new connection per request. By default over HTTPS
 * across an emulated network round trip (mockllm --tls --rtt-ms), where opening a connection
 * costs what it costs against a hosted API: a round trip for TCP, one for TLS, and the
 * handshake's CPU on both sides. On loopback cleartext (--no-tls --rtt-ms 0) it costs almost
 * nothing, and the lesson shrinks to a few percent.
 *
 * Three modes on each backend, the same requests at the same in-flight limit:
 *   shared-pool         one client: its connections opened once and reused
 *   no-reuse            a new connection per request (ll_config.no_reuse), the TLS session
 *                       resumed: what `llmload run --no-reuse` does
 *   client-per-request  a new connection and a full handshake per request (no_reuse and no
 *                       session cache): what a client made afresh for each request pays, as it
 *                       has no session to resume
 * Connections and handshakes are mockllm's counts (/metrics: the server's view) beside curl's
 * (the client's); the mock's CPU is its process's (/proc/PID/stat, a child of ours) over each
 * mode's window, as the client's is ours. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ll_demo.h"
#include "ll_proc.h"
#include "ll_signal.h"

#define POOL_REQUESTS   200
#define POOL_LIMIT      10
#define POOL_LATENCY_MS 20.0
#define POOL_MODES      3

struct pool_mode {
    const char *name;
    bool no_reuse, no_resume;
};

static const struct pool_mode modes[POOL_MODES] = {
    {"shared-pool", false, false},
    {"no-reuse", true, false},
    {"client-per-request", true, true},
};

/* What the scenario runs over. */
struct pool_net {
    bool tls;      /* HTTPS: the mock's --tls, or an https:// --url */
    double rtt_ms; /* the round trip the mock emulates, as applied (times --scale); -1 with --url */
};

struct pool_fig {
    struct ll_demo_figs f;
    struct ll_endpoint_conns srv; /* mockllm's counts; -1 each without the mock */
    double mock_cpu_s;            /* -1 without the mock */
};

static struct pool_net pool_net(const struct ll_demo *d)
{
    struct pool_net n = {.tls = !d->no_tls, .rtt_ms = ll_demo_ms(d, d->rtt_ms)};
    if (d->url != NULL) {
        n.tls = strncasecmp(d->url, "https:", 6) == 0;
        n.rtt_ms = -1;
    }
    return n;
}

/* The mock's CPU seconds so far (user + system, every thread), or -1. */
static double mock_cpu(const struct ll_endpoint *ep)
{
    struct ll_proc_sample s;
    return ep->mock && ll_proc_sample(ep->proc.pid, false, &s) == 0 ? s.cpu_s : -1.0;
}

static int run_mode(const struct ll_endpoint *ep, const struct ll_backend *be,
                    const struct pool_mode *m, struct pool_fig *out)
{
    struct ll_config cfg;
    char hdr[64];
    const char *hdrs[1] = {hdr};
    struct ll_message msg = {"user", "Ping."};
    struct ll_request req = {.messages = &msg, .n_messages = 1, .headers = hdrs, .n_headers = 1};
    snprintf(hdr, sizeof(hdr), "x-mock-latency-ms: %.0f", POOL_LATENCY_MS);
    ll_endpoint_config(ep, &cfg, POOL_LIMIT);
    cfg.no_reuse = m->no_reuse;
    cfg.no_tls_resume = m->no_resume;
    ll_endpoint_metrics_reset(ep);
    double cpu0 = mock_cpu(ep);
    int err = ll_demo_batch(be, &cfg, &req, POOL_REQUESTS, &out->f);
    double cpu1 = mock_cpu(ep);
    out->mock_cpu_s = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1.0;
    ll_endpoint_conns(ep, &out->srv); /* after the CPU window: the scrape is not the mode's */
    return err;
}

/* The counts the claims judge: the server's when it is our mock, else curl's. */
static long long conns_of(const struct pool_fig *p)
{
    return p->srv.opened >= 0 ? p->srv.opened : p->f.connects;
}
static long long full_of(const struct pool_fig *p)
{
    return p->srv.tls_full >= 0 ? p->srv.tls_full : p->f.tls_full;
}
static long long resumed_of(const struct pool_fig *p)
{
    return p->srv.tls_resumed >= 0 ? p->srv.tls_resumed : p->f.tls_resumed;
}

static const char *fmt_cpu(char *buf, size_t len, double s)
{
    if (s < 0) {
        snprintf(buf, len, "-");
    } else {
        snprintf(buf, len, "%.3f s", s);
    }
    return buf;
}

/* A count, or "-" where it does not apply (handshakes on cleartext) or is unknown. */
static const char *fmt_n(char *buf, size_t len, long long v, bool applies)
{
    if (!applies || v < 0) {
        snprintf(buf, len, "-");
    } else {
        snprintf(buf, len, "%lld", v);
    }
    return buf;
}

static void print_row(const struct ll_backend *be, const struct pool_mode *m,
                      const struct pool_fig *p, const struct pool_net *net)
{
    char w[32], cn[24], fu[24], re[24], cc[32], mc[32];
    printf("  %-9s %-19s %9s %6s %9s %8s %11s %9s %4d/%d\n", be->name, m->name,
           ll_demo_fmt_s(w, sizeof(w), p->f.wall_s), fmt_n(cn, sizeof(cn), conns_of(p), true),
           fmt_n(fu, sizeof(fu), full_of(p), net->tls),
           fmt_n(re, sizeof(re), resumed_of(p), net->tls), fmt_cpu(cc, sizeof(cc), p->f.cpu_s),
           ll_demo_fmt_ticks(mc, sizeof(mc), p->mock_cpu_s), p->f.ok, POOL_REQUESTS);
    fflush(stdout);
}

static void add_row(struct ll_demo *d, const struct ll_backend *be, const struct pool_mode *m,
                    const struct pool_fig *p, const struct pool_net *net)
{
    cJSON *row = ll_demo_row(d, be->name, m->name, &p->f);
    cJSON_AddNumberToObject(row, "requests", POOL_REQUESTS);
    cJSON_AddNumberToObject(row, "limit", POOL_LIMIT);
    cJSON_AddBoolToObject(row, "no_reuse", m->no_reuse);
    cJSON_AddBoolToObject(row, "no_tls_resume", m->no_resume);
    cJSON_AddBoolToObject(row, "tls", net->tls);
    /* the server's view, null when the endpoint is not our mock */
    const long long srv[3] = {p->srv.opened, p->srv.tls_full, p->srv.tls_resumed};
    const char *keys[3] = {"connections", "tls_full", "tls_resumed"};
    for (int i = 0; i < 3; i++) {
        if (srv[i] >= 0) {
            cJSON_AddNumberToObject(row, keys[i], (double)srv[i]);
        } else {
            cJSON_AddNullToObject(row, keys[i]);
        }
    }
    cJSON_AddNumberToObject(row, "client_connections", p->f.connects);
    cJSON_AddNumberToObject(row, "client_tls_full", p->f.tls_full);
    cJSON_AddNumberToObject(row, "client_tls_resumed", p->f.tls_resumed);
    if (p->mock_cpu_s >= 0) {
        cJSON_AddNumberToObject(row, "mock_cpu_s", p->mock_cpu_s);
    } else {
        cJSON_AddNullToObject(row, "mock_cpu_s");
    }
}

/* The lessons, judged on this run's counts and walls. Wall claims only where the round trip is
 * known (our mock's): a new connection pays at least the TCP round trip before its request, so
 * over POOL_REQUESTS / POOL_LIMIT requests per slot the modes that open one per request take at
 * least that many round trips longer; half of it is claimed, room for a loaded machine. */
static void claims(struct ll_demo *d, const struct ll_backend *be, const struct pool_fig *p,
                   const struct pool_net *net, const char *whose)
{
    char key[96], a[32], b[32], m[32];
    snprintf(key, sizeof(key), "%s_shared_opens_fewer", be->name);
    ll_demo_claim(d, key, conns_of(&p[0]) < conns_of(&p[1]) && conns_of(&p[0]) < conns_of(&p[2]),
                  "%s: shared pool opened %lld connections, no-reuse %lld, a client per request "
                  "%lld (%s count)",
                  be->name, conns_of(&p[0]), conns_of(&p[1]), conns_of(&p[2]), whose);
    if (net->tls) {
        snprintf(key, sizeof(key), "%s_shared_fewer_full_handshakes", be->name);
        ll_demo_claim(d, key, full_of(&p[0]) < full_of(&p[2]),
                      "%s: full TLS handshakes: shared pool %lld, a client per request %lld "
                      "(no-reuse %lld, %lld resumed)",
                      be->name, full_of(&p[0]), full_of(&p[2]), full_of(&p[1]), resumed_of(&p[1]));
    }
    if (net->rtt_ms > 0) {
        double margin = 0.5 * (POOL_REQUESTS / POOL_LIMIT) * net->rtt_ms / 1e3;
        double d1 = p[1].f.wall_s - p[0].f.wall_s, d2 = p[2].f.wall_s - p[0].f.wall_s;
        snprintf(key, sizeof(key), "%s_shared_faster", be->name);
        ll_demo_claim(d, key, d1 >= margin && d2 >= margin,
                      "%s: no-reuse took %s longer than the shared pool, a client per request "
                      "%s (each at least %s: half a %g ms round trip per request per slot, %d "
                      "requests per slot)",
                      be->name, ll_demo_fmt_s(a, sizeof(a), d1 < 0 ? 0 : d1),
                      ll_demo_fmt_s(b, sizeof(b), d2 < 0 ? 0 : d2),
                      ll_demo_fmt_s(m, sizeof(m), margin), net->rtt_ms, POOL_REQUESTS / POOL_LIMIT);
    }
}

static int run_backend(struct ll_demo *d, const struct ll_endpoint *ep, const struct ll_backend *be)
{
    struct pool_net net = pool_net(d);
    struct pool_fig p[POOL_MODES];
    for (int i = 0; i < POOL_MODES && !ll_signal_caught(); i++) {
        int err = run_mode(ep, be, &modes[i], &p[i]);
        if (err != 0) {
            fprintf(stderr, "llmload demo pool: %s: %s\n", be->name, ll_strerror(err));
            return 1;
        }
        print_row(be, &modes[i], &p[i], &net);
        add_row(d, be, &modes[i], &p[i], &net);
    }
    if (!ll_signal_caught()) {
        claims(d, be, p, &net, ep->mock ? "mockllm's" : "curl's");
    }
    printf("\n");
    return 0;
}

/* Where the load goes and over what, before any figure: the round trip and TLS are ours to set
 * only on the mock we start. */
static void print_transport(struct ll_demo *d, const struct pool_net *net)
{
    cJSON *t = cJSON_AddObjectToObject(d->json, "transport");
    cJSON_AddBoolToObject(t, "tls", net->tls);
    cJSON_AddStringToObject(t, "http", "1.1");
    if (d->url != NULL) {
        cJSON_AddNullToObject(t, "rtt_ms");
        printf(
            "transport: the endpoint's own (%s, HTTP/1.1, its network's real round trip).\n"
            "The embedded mock's TLS and emulated round trip (--no-tls, --rtt-ms) apply only to a\n"
            "server llmload starts; the server's CPU is not measured here.\n",
            net->tls ? "TLS" : "cleartext");
    } else {
        cJSON_AddNumberToObject(t, "rtt_ms", net->rtt_ms);
        printf("transport: %s, HTTP/1.1,\n           ",
               net->tls ? "HTTPS (the embedded mock's own CA trusted and verified)"
                        : "cleartext HTTP (--no-tls)");
        if (net->rtt_ms > 0) {
            printf("a %g ms network round trip emulated by mockllm (--rtt-ms %g x scale %g)\n",
                   net->rtt_ms, d->rtt_ms, d->scale);
        } else {
            printf("no round trip emulated (loopback: --rtt-ms 0)\n");
        }
    }
    printf("workload: %d requests, %d in flight, %g ms of mock latency each; connections and "
           "handshakes\nare %s counts, CPU is user + system over each mode's run (the mock's in "
           "10 ms ticks)\n\n",
           POOL_REQUESTS, POOL_LIMIT, ll_demo_ms(d, POOL_LATENCY_MS),
           d->url != NULL ? "curl's" : "mockllm's");
    printf("  %-9s %-19s %9s %6s %9s %8s %11s %9s %8s\n", "backend", "mode", "wall", "conns",
           "TLS full", "resumed", "client CPU", "mock CPU", "ok");
    fflush(stdout);
}

int ll_demo_pool(struct ll_demo *d)
{
    struct pool_net net = pool_net(d);
    char rtt[48];
    const char *args[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (net.tls && d->url == NULL) {
        args[n++] = "--tls";
    }
    if (net.rtt_ms > 0) {
        snprintf(rtt, sizeof(rtt), "--rtt-ms=%g", net.rtt_ms);
        args[n++] = rtt;
    }
    print_transport(d, &net);
    int rc = ll_demo_each_backend(d, args, run_backend);
    if (!net.tls) { /* cleartext (--no-tls, or an http:// --url): no handshake to speak of */
        printf("What was measured: the same %d requests, %d in flight, through one client whose\n"
               "pool every request shares (shared-pool); through one client that opens a new\n"
               "connection per request (no-reuse, as llmload run --no-reuse); and as a client\n"
               "made afresh per request would (client-per-request). In cleartext a new connection\n"
               "costs a round trip for TCP before its request can go out, and little CPU. A\n"
               "shared pool pays it once per connection it keeps. Create the client once and\n"
               "share it: over TLS (the default form) it saves far more.\n",
               POOL_REQUESTS, POOL_LIMIT);
        return rc;
    }
    printf("What was measured: the same %d requests, %d in flight, through one client whose pool\n"
           "every request shares (shared-pool); through one client that opens a new connection\n"
           "per request (no-reuse, its TLS session resumed, as llmload run --no-reuse); and as a\n"
           "client made afresh per request would (client-per-request: a new connection and a full\n"
           "handshake each). A new connection waits a round trip for TCP and, over TLS, another\n"
           "for the handshake before its request can go out, and a full handshake costs CPU on\n"
           "both sides (key exchange, the certificate's signature); resumption saves the\n"
           "certificate work but not the round trip. A shared pool pays this once per connection\n"
           "it keeps, then reuses it. Create the client once and share it.\n",
           POOL_REQUESTS, POOL_LIMIT);
    return rc;
}
