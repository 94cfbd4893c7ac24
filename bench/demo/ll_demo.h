/* ll_demo.h - `llmload demo NAME`: every lesson of the seed as a measured scenario.
 *
 * A scenario is one function that starts its own endpoint (the bundled mockllm with the
 * latencies it needs times --scale, or --url), runs the same workload on every selected backend
 * through ll_client, prints what it measured and a short explanation, and adds every figure to
 * a JSON object for --json. Backends are `const struct ll_backend *` from the table: what
 * differs between cases is configuration (concurrency, blocking where the backend's caps allow
 * it), never the backend's name.
 *
 * Shared helpers (ll_demo_util.c) run on the calling thread.
 */
#ifndef LL_DEMO_H
#define LL_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "ll_backend.h"
#include "ll_client.h"
#include "ll_endpoint.h"

#define LL_DEMO_MAX_BACKENDS 8
#define LL_DEMO_RTT_MS       20.0 /* pool's round trip at scale 1: a nearby region's */

struct ll_demo {
    double scale;    /* multiplies every mock latency (and the waits the demo scripts) */
    const char *url; /* --url: an external endpoint instead of the mock (figures that need the
                        mock's metrics are then reported as unavailable) */
    /* The embedded mock's transport, for the scenarios that choose one (pool: HTTPS with an
     * emulated round trip by default). --rtt-ms: the round trip at scale 1, ms, multiplied by
     * --scale like every mock latency (rtt_given: it was on the command line); --no-tls:
     * cleartext. Neither applies to --url (an endpoint we did not start: refused together). */
    double rtt_ms;
    bool rtt_given, no_tls;
    const struct ll_backend *be[LL_DEMO_MAX_BACKENDS];
    size_t n_be;
    cJSON *json; /* the scenario's object; scenarios add "rows" and "claims" to it */
};

struct ll_demo_scenario {
    const char *name;
    const char *summary;           /* one line for `llmload demo` */
    bool transport;                /* honours --rtt-ms and --no-tls */
    int (*run)(struct ll_demo *d); /* 0 or an exit code (LL_EXIT_*) */
};

/* The scenarios, one file each. */
int ll_demo_basics(struct ll_demo *d);
int ll_demo_iocpu(struct ll_demo *d);
int ll_demo_patterns(struct ll_demo *d);
int ll_demo_errors(struct ll_demo *d);
int ll_demo_retry(struct ll_demo *d);
int ll_demo_pool(struct ll_demo *d);
int ll_demo_semaphore(struct ll_demo *d);
int ll_demo_server(struct ll_demo *d);

/* What one batch of requests measured. */
struct ll_demo_figs {
    double wall_s; /* first submit to last result */
    double cpu_s;  /* this process, user + system, over the same window */
    int ok, failed, cancelled;
    int attempts; /* wire attempts over every request */
    /* The client's view (curl's) over every request: connections opened, TLS handshakes in
     * full and resumed. */
    int connects, tls_full, tls_resumed;
    int64_t lag_max_ns; /* loop lag probe, -1 when the backend has none */
    int threads;        /* the backend's threads */
};

/* Start the endpoint for a scenario: mockllm with `args` plus --scale, or d->url. Prints one
 * line on failure. 0 or LL_E*. */
int ll_demo_open(const struct ll_demo *d, struct ll_endpoint *ep, const char *const *args);

/* The shape of a scenario: one endpoint (mockllm started with `args`, or --url) for the whole
 * run, then `run` once per selected backend, stopping at the first error. Returns 0, or 1 when
 * the endpoint could not be opened, or run's non-zero value. */
typedef int (*ll_demo_backend_fn)(struct ll_demo *d, const struct ll_endpoint *ep,
                                  const struct ll_backend *be);
int ll_demo_each_backend(struct ll_demo *d, const char *const *args, ll_demo_backend_fn run);

/* A latency in ms for the mock's scale-1 figure `ms`, as the mock will apply it. */
double ll_demo_ms(const struct ll_demo *d, double ms);

/* Create a client, submit n copies of req (or reqs[i] when reqs != NULL), gather them in
 * COLLECT mode, sample the backend, destroy the client. Results are discarded. 0 or LL_E*. */
int ll_demo_batch(const struct ll_backend *be, const struct ll_config *cfg,
                  const struct ll_request *req, int n, struct ll_demo_figs *out);

/* Fill figures from gathered calls (counts by outcome, attempts, connections). */
void ll_demo_count(struct ll_call *const *calls, int n, struct ll_demo_figs *f);

/* Process CPU time (user + system) in seconds. */
double ll_demo_cpu_s(void);

/* Sample the backend's figures into f (threads, loop-lag max). */
void ll_demo_sample(struct ll_client *c, struct ll_demo_figs *f);

/* A row for the JSON output: {"backend": be, "case": name, figures...}; appended to
 * d->json["rows"] and returned so a scenario can add its own fields. */
cJSON *ll_demo_row(struct ll_demo *d, const char *be, const char *name,
                   const struct ll_demo_figs *f);

/* The scenario's claim, as checked on this run: printed as "claim: ... yes/NO" and written to
 * d->json["claims"][key] = holds. */
void ll_demo_claim(struct ll_demo *d, const char *key, bool holds, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "  12.3 ms" style helpers: seconds as ms with a unit, or "n/a" for a negative value. */
const char *ll_demo_fmt_s(char *buf, size_t len, double s);

/* CPU seconds read in clock ticks (/proc/PID/stat: 10 ms): "0.18 s" in hundredths, "< 0.01 s"
 * below half a tick (so a sub-tick figure never reads as a measured 0.000 s), "-" when negative
 * (not measured). Writes buf (len bytes) and returns it; any thread. */
const char *ll_demo_fmt_ticks(char *buf, size_t len, double s);

#endif
