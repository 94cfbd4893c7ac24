/* ll_endpoint.h - where the demo, ab and batch subcommands send requests, and what the bundled
 * mock says about them.
 *
 * An endpoint is either an external URL (--url, or $OPENAI_BASE_URL where the subcommand allows
 * it) or the bundled mockllm started as a child process for the duration of the subcommand and
 * stopped by PID. The child runs in its own process group and dies with llmload
 * (ll_mockproc.h): a terminal's ^C reaches only llmload, which cancels, drains, reports and
 * stops the mock itself.
 *
 * The metrics helpers read mockllm's Prometheus text (GET /metrics) and zero it
 * (POST /metrics/reset) with a plain libcurl easy handle; they work only against a mockllm.
 * Everything here runs on the calling thread and blocks (loopback, a few ms).
 */
#ifndef LL_ENDPOINT_H
#define LL_ENDPOINT_H

#include <stdbool.h>

#include "ll_mockproc.h"
#include "ll_request.h"

struct ll_endpoint {
    const char *base_url; /* "http://HOST:PORT/v1" or the external URL */
    const char *source;   /* "--url", "OPENAI_BASE_URL", "embedded mockllm" */
    const char *api_key;  /* $OPENAI_API_KEY or NULL; never printed */
    bool mock;            /* the bundled mock runs and its metrics can be read */
    struct ll_mockproc proc;
};

/* Use `url` when non-NULL (and, if env_ok, $OPENAI_BASE_URL); otherwise start mockllm with
 * `args` (NULL-terminated, may be NULL). `who` prefixes the one error line printed on failure.
 * 0, LL_EINVAL for a URL that cannot work (a usage error: exit 2), LL_ECANCELED (a stop
 * signal arrived while the mock started) or another LL_E*. */
int ll_endpoint_open(struct ll_endpoint *ep, const char *who, const char *url, bool env_ok,
                     const char *const *args);

/* Stop the mock (if one was started). Safe to call twice. */
void ll_endpoint_close(struct ll_endpoint *ep);

/* A client configuration for this endpoint: ll_config_defaults(), the URL and key, the given
 * in-flight limit, no retries, and the mock's CA when it serves HTTPS (mockllm --tls). ep must
 * outlive cfg. */
void ll_endpoint_config(const struct ll_endpoint *ep, struct ll_config *cfg, int concurrency);

/* Value of the first sample of metric `name` (exact name, labels ignored: the first line
 * "name " or "name{"), or -1 when it cannot be read (no mock, HTTP error, absent). */
long long ll_endpoint_metric(const struct ll_endpoint *ep, const char *name);

/* Sum of every sample of `name` whose label text contains `label` (NULL: all), or -1. */
long long ll_endpoint_metric_sum(const struct ll_endpoint *ep, const char *name, const char *label);

/* What mockllm counted on connections since its last reset, read from one scrape, less that
 * scrape's own connection (and, over TLS, its full handshake): the client's connections alone.
 * -1 in a field that cannot be read (mockllm_tls_handshakes_total is 0 on cleartext).
 * 0, or LL_ESTATE when there is no mock or /metrics cannot be read (all fields -1). */
struct ll_endpoint_conns {
    long long opened, tls_full, tls_resumed;
};
int ll_endpoint_conns(const struct ll_endpoint *ep, struct ll_endpoint_conns *out);

/* POST /metrics/reset: counters and the in-flight peak start again from zero. 0 or LL_E*. */
int ll_endpoint_metrics_reset(const struct ll_endpoint *ep);

#endif
