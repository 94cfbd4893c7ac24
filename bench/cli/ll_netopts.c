/* ll_netopts.c - the real-endpoint flags shared by run, batch and ab (ll_netopts.h). */
#include "ll_netopts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ll_err.h"
#include "ll_xfer.h"

void ll_netopts_defaults(struct ll_netopts *n, const struct ll_config *cfg)
{
    memset(n, 0, sizeof(*n));
    n->ttfb_s = (double)cfg->ttfb_timeout_ms / 1000.0;
    n->idle_s = (double)cfg->idle_timeout_ms / 1000.0;
    n->max_retry_wait_s = (double)cfg->retry.max_retry_wait_ms / 1000.0;
    n->retry_partial = cfg->retry.retry_partial;
    n->compressed = cfg->compressed;
    n->key_header = cfg->api_key_header;
    n->cacert = cfg->ca_file;
    n->http = cfg->http_version == LL_HTTP_2 ? "2" : "1.1";
    n->max_connections = cfg->max_connections;
}

size_t ll_netopts_table(struct ll_netopts *n, struct ll_opt *t, size_t cap)
{
    const struct ll_opt tab[] = {
        {"ttfb-timeout", LL_OPT_DOUBLE, &n->ttfb_s, 0, 86400, "S",
         "per attempt: longest wait for the first byte of an answer (a non-streamed answer "
         "comes whole, so this bounds its generation), 0 = none",
         NULL, NULL, 0},
        {"idle-timeout", LL_OPT_DOUBLE, &n->idle_s, 0, 86400, "S",
         "per attempt: longest silence once the answer began; a stream that keeps sending is "
         "never cut by it, 0 = none",
         NULL, NULL, 0},
        {"retry-partial", LL_OPT_BOOL, &n->retry_partial, 0, 0, NULL,
         "also retry an answer that had begun and was cut (class partial; it may already "
         "have been generated and billed)",
         NULL, NULL, 0},
        {"max-retry-wait", LL_OPT_DOUBLE, &n->max_retry_wait_s, 0, 86400, "S",
         "longest wait a server may ask for (retry-after-ms, Retry-After, "
         "x-ratelimit-reset-*); a longer one ends the request",
         NULL, NULL, 0},
        {"compressed", LL_OPT_BOOL, &n->compressed, 0, 0, NULL,
         "ask for a compressed answer (Accept-Encoding: what this libcurl decodes)", NULL, NULL, 0},
        {"api-key-header", LL_OPT_STR, &n->key_header, 0, 0, "NAME",
         "send $OPENAI_API_KEY as 'NAME: key' (Azure: api-key) instead of a bearer token",
         "Authorization: Bearer", NULL, 0},
        {"cacert", LL_OPT_STR, &n->cacert, 0, 0, "FILE",
         "trust the CA certificates in this PEM file for https:// (verified as ever)",
         "the system's CA store", NULL, 0},
        {"http", LL_OPT_STR, &n->http, 0, 0, "1.1|2",
         "HTTP version: 2 is HTTP/2 by ALPN over https:// (1.1 when the server declines) and "
         "h2c with prior knowledge over http://",
         NULL, NULL, 0},
        {"max-connections", LL_OPT_INT, &n->max_connections, 0, 1e6, "N",
         "at most N connections open at once, 0 = no cap; requests beyond wait for one, over "
         "HTTP/2 for a stream on one (a connection then carries as many streams as the server "
         "allows, not curl's default 100). The threaded backend holds a connection per worker "
         "and refuses a cap below --concurrency",
         "no cap", NULL, 0},
    };
    size_t k = sizeof(tab) / sizeof(tab[0]);
    k = k < cap ? k : cap;
    memcpy(t, tab, k * sizeof(*t));
    return k;
}

size_t ll_netopts_append(struct ll_netopts *n, struct ll_opt *t, size_t cap)
{
    size_t end = 0;
    while (end < cap && t[end].name != NULL) {
        end++;
    }
    if (end >= cap) {
        return 0;
    }
    size_t k = ll_netopts_table(n, t + end, cap - end - 1);
    memset(&t[end + k], 0, sizeof(t[end + k]));
    return k;
}

int ll_netopts_check(const struct ll_netopts *n, const char *who)
{
    const char *h = n->key_header;
    if (h != NULL && (*h == '\0' || strpbrk(h, ": \t\r\n") != NULL)) {
        fprintf(stderr, "%s: --api-key-header: want a header name such as api-key, got '%s'\n", who,
                h);
        return LL_EINVAL;
    }
    if (strcmp(n->http, "1.1") != 0 && strcmp(n->http, "2") != 0) {
        fprintf(stderr, "%s: --http: want 1.1 or 2, got '%s'\n", who, n->http);
        return LL_EINVAL;
    }
    if (n->cacert != NULL && access(n->cacert, R_OK) != 0) {
        fprintf(stderr, "%s: --cacert '%s': %s\n", who, n->cacert, strerror(errno));
        return LL_EINVAL;
    }
    char why[160];
    if (n->cacert != NULL && ll_xfer_ca_file_check(n->cacert, why, sizeof(why)) != 0) {
        fprintf(stderr, "%s: --cacert '%s': %s\n", who, n->cacert, why);
        return LL_EINVAL;
    }
    return 0;
}

void ll_netopts_apply(const struct ll_netopts *n, struct ll_config *cfg)
{
    cfg->ttfb_timeout_ms = (int64_t)(n->ttfb_s * 1000.0);
    cfg->idle_timeout_ms = (int64_t)(n->idle_s * 1000.0);
    /* A hint up to the limit is waited in full; a longer one ends the request (ll_xfer). */
    cfg->retry.max_retry_wait_ms = (int64_t)(n->max_retry_wait_s * 1000.0);
    cfg->retry.max_retry_after_ms = cfg->retry.max_retry_wait_ms;
    cfg->retry.retry_partial = n->retry_partial;
    cfg->compressed = n->compressed;
    cfg->api_key_header = n->key_header;
    if (n->cacert != NULL) { /* else the config's own: the system's, or an embedded mock's */
        cfg->ca_file = n->cacert;
    }
    cfg->http_version = strcmp(n->http, "2") == 0 ? LL_HTTP_2 : LL_HTTP_1_1;
    cfg->max_connections = (int)n->max_connections;
}

int ll_netopts_check_backend(const struct ll_netopts *n, const struct ll_backend *be,
                             int64_t concurrency, const char *who)
{
    if (n->max_connections <= 0 || n->max_connections >= concurrency ||
        (be->caps & LL_CAP_SHARED_CONNS)) {
        return 0;
    }
    fprintf(stderr,
            "%s: --max-connections %lld is below the %lld requests in flight, and the %s backend "
            "holds a connection per request in flight (libcurl cannot share a connection between "
            "threads): give --max-connections %lld or more, fewer in flight, or --backend "
            "evented\n",
            who, (long long)n->max_connections, (long long)concurrency, be->name,
            (long long)concurrency);
    return LL_EINVAL;
}

int ll_netopts_check_url(const char *who, const char *what, const char *url)
{
    char why[128] = "out of memory";
    CURLU *u = curl_url();
    int err = u != NULL ? ll_xfer_url_set(u, url, why, sizeof(why)) : LL_ENOMEM;
    curl_url_cleanup(u);
    if (err != 0) {
        fprintf(stderr, "%s: %s '%s' is not a usable endpoint URL: %s\n", who, what, url, why);
        return LL_EINVAL;
    }
    return 0;
}
