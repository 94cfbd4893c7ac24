/* ll_endpoint.c - external URL or bundled mockllm; mockllm's metrics over plain libcurl. */
#include "ll_endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ll_err.h"
#include "ll_netopts.h"
#include "ll_outfile.h"
#include "ll_signal.h"

#define MOCK_START_TIMEOUT_MS 10000
#define MOCK_STOP_TIMEOUT_MS  5000
#define METRICS_MAX_BYTES     (1 << 20)

static int start_mock(struct ll_endpoint *ep, const char *who, const char *const *args)
{
    /* The mock runs in its own process group: a terminal's ^C reaches only us. */
    int err = ll_mockproc_start_embedded(&ep->proc, args, MOCK_START_TIMEOUT_MS,
                                         ll_outfile_quieted()); /* --quiet: none of its notes */
    if (err == LL_ECANCELED) {
        fprintf(stderr, "%s: stopped by %s while the embedded mock started\n", who,
                ll_signal_name(ll_signal_caught()));
        return err;
    }
    if (err != 0) {
        fprintf(stderr, "%s: cannot start the embedded mock %s: %s\n", who, ll_mockproc_path(),
                ll_strerror(err));
        return err;
    }
    ep->mock = true;
    ep->base_url = ep->proc.base_url;
    ep->source = "embedded mockllm";
    return 0;
}

int ll_endpoint_open(struct ll_endpoint *ep, const char *who, const char *url, bool env_ok,
                     const char *const *args)
{
    const char *env = env_ok ? getenv("OPENAI_BASE_URL") : NULL;
    const char *key = getenv("OPENAI_API_KEY");

    memset(ep, 0, sizeof(*ep));
    ep->proc.pid = -1;
    ep->api_key = (key != NULL && *key != '\0') ? key : NULL;
    if (url == NULL && env != NULL && *env != '\0') {
        url = env;
        ep->source = "OPENAI_BASE_URL";
    } else if (url != NULL) {
        ep->source = "--url";
    }
    if (url == NULL) {
        return start_mock(ep, who, args);
    }
    if (ll_netopts_check_url(who, ep->source, url) != 0) {
        return LL_EINVAL; /* a usage error: callers exit 2 */
    }
    ep->base_url = url;
    return 0;
}

void ll_endpoint_close(struct ll_endpoint *ep)
{
    if (ep->mock) {
        ll_mockproc_stop(&ep->proc, MOCK_STOP_TIMEOUT_MS);
        ep->mock = false;
    }
}

void ll_endpoint_config(const struct ll_endpoint *ep, struct ll_config *cfg, int concurrency)
{
    ll_config_defaults(cfg);
    cfg->base_urls = &ep->base_url;
    cfg->n_base_urls = 1;
    cfg->api_key = ep->api_key;
    cfg->concurrency = concurrency;
    cfg->retry.max_attempts = 1;
    if (ep->mock && ep->proc.ca_file[0] != '\0') {
        cfg->ca_file = ep->proc.ca_file; /* mockllm --tls: its own CA, verified */
    }
}

struct body {
    char *p;
    size_t n;
};

static size_t body_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t len = size * nmemb;
    if (b->n + len > METRICS_MAX_BYTES) {
        return 0;
    }
    char *p = realloc(b->p, b->n + len + 1);
    if (p == NULL) {
        return 0;
    }
    memcpy(p + b->n, data, len);
    b->p = p;
    b->n += len;
    p[b->n] = '\0';
    return len;
}

/* GET (post == false) or POST the mock's /metrics[/reset]. 0 or LL_E*; *out malloc'd. */
static int mock_http(const struct ll_endpoint *ep, const char *path, bool post, char **out)
{
    char url[256];
    struct body b = {NULL, 0};
    int err = LL_ECURL;
    if (!ep->mock) {
        return LL_ESTATE;
    }
    snprintf(url, sizeof(url), "%s://%s:%d%s", ep->proc.ca_file[0] != '\0' ? "https" : "http",
             ep->proc.host, ep->proc.port, path);
    CURL *h = curl_easy_init();
    if (h == NULL) {
        return LL_ENOMEM;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    if (ep->proc.ca_file[0] != '\0') {
        curl_easy_setopt(h, CURLOPT_CAINFO, ep->proc.ca_file);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    if (post) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK &&
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code / 100 == 2) {
        err = 0;
    }
    curl_easy_cleanup(h);
    if (err == 0 && out != NULL) {
        *out = b.p;
        b.p = NULL;
    }
    free(b.p);
    return err;
}

/* Sum of the samples of `name` (with `label` in their label text, NULL: all) in Prometheus
 * text, or -1 when there is none. text is left as it was: one scrape serves many names. */
static long long metric_in(const char *text, const char *name, const char *label)
{
    long long sum = -1;
    size_t len = strlen(name);
    char line[1024];
    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (n < sizeof(line) && strncmp(p, name, len) == 0 && (p[len] == ' ' || p[len] == '{')) {
            memcpy(line, p, n);
            line[n] = '\0';
            char *sp = strrchr(line, ' ');
            bool match = label == NULL || (line[len] == '{' && strstr(line, label) != NULL);
            if (sp != NULL && match) {
                sum = (sum < 0 ? 0 : sum) + strtoll(sp + 1, NULL, 10);
            }
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    return sum;
}

long long ll_endpoint_metric_sum(const struct ll_endpoint *ep, const char *name, const char *label)
{
    char *text = NULL;
    long long sum = -1;
    if (mock_http(ep, "/metrics", false, &text) == 0 && text != NULL) {
        sum = metric_in(text, name, label);
    }
    free(text);
    return sum;
}

int ll_endpoint_conns(const struct ll_endpoint *ep, struct ll_endpoint_conns *out)
{
    char *text = NULL;
    out->opened = out->tls_full = out->tls_resumed = -1;
    if (mock_http(ep, "/metrics", false, &text) != 0 || text == NULL) {
        free(text);
        return LL_ESTATE;
    }
    /* The scrape came on a connection of its own, counted before the answer was made: over
     * TLS with a full handshake (a fresh handle has no session to resume). */
    bool tls = ep->proc.ca_file[0] != '\0';
    long long v = metric_in(text, "mockllm_connections_total", NULL);
    out->opened = v > 0 ? v - 1 : v;
    v = metric_in(text, "mockllm_tls_handshakes_total", "kind=\"full\"");
    out->tls_full = v > 0 && tls ? v - 1 : v;
    out->tls_resumed = metric_in(text, "mockllm_tls_handshakes_total", "kind=\"resumed\"");
    free(text);
    return out->opened >= 0 ? 0 : LL_ESTATE;
}

long long ll_endpoint_metric(const struct ll_endpoint *ep, const char *name)
{
    return ll_endpoint_metric_sum(ep, name, NULL);
}

int ll_endpoint_metrics_reset(const struct ll_endpoint *ep)
{
    return mock_http(ep, "/metrics/reset", true, NULL);
}
