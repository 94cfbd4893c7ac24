/* ll_xfer_net.c - the connection side of a wire attempt (ll_xfer.h): the endpoint URL, the
 * sockets and sends that tell a dead reused connection, the limits curl does not know, the
 * server's retry hints and curl's phase times. */
#include "ll_xfer.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "ll_clock.h"
#include "ll_retry.h"
#include "ll_xfer_int.h"

curl_socket_t ll_xfer_open_socket(struct ll_xfer *x, const struct curl_sockaddr *a)
{
    curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd == CURL_SOCKET_BAD) {
        x->sock_errno = errno;
    } else {
        x->socks_since_send++;
    }
    return fd;
}

int ll_xfer__tls_sys_errno(void)
{
    int found = 0;
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        if (ERR_SYSTEM_ERROR(e) && found == 0) {
            found = ERR_GET_REASON(e); /* a system error's reason is its errno */
        }
    }
    return found;
}

/* A connection this transfer opened is about to carry its first request: over TLS, its
 * handshake is done, and OpenSSL says whether it resumed a session. curl itself does not say
 * (its verbose text does); the SSL pointer is valid while the transfer holds the connection. */
static void count_handshake(struct ll_xfer *x)
{
    const struct curl_tlssessioninfo *ti = NULL;
    if (curl_easy_getinfo(x->easy, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK || ti == NULL ||
        ti->backend != CURLSSLBACKEND_OPENSSL || ti->internals == NULL) {
        return; /* cleartext, or a TLS library we cannot ask */
    }
    if (SSL_session_reused((SSL *)ti->internals)) {
        x->call->res.tls_resumed++;
    } else {
        x->call->res.tls_full++;
    }
}

/* CURLOPT_PREREQFUNCTION: curl is about to send the request, on a connection it just opened or
 * one it reused (no socket opened since the last send). Called again for each re-send curl
 * makes within the transfer after a reused connection died. */
int ll_xfer__prereq_cb(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                       int conn_primary_port, int conn_local_port)
{
    struct ll_xfer *x = clientp;
    x->sends++;
    x->send_reused = x->socks_since_send == 0;
    x->socks_since_send = 0;
    if (!x->send_reused) {
        count_handshake(x);
    }
    return CURL_PREREQFUNC_OK;
}

/* Header value after "Name:", trimmed, copied into out. false when the name does not match. */
bool ll_xfer__header_value(const char *line, size_t n, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':') {
        return false;
    }
    const char *v = line + nl + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t')) {
        v++;
    }
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    size_t len = (size_t)(end - v) < outsz - 1 ? (size_t)(end - v) : outsz - 1;
    memcpy(out, v, len);
    out[len] = '\0';
    return true;
}

/* A retry hint among the headers (ll_retry_hints); other headers are left alone. */
void ll_xfer__take_hint(struct ll_xfer *x, const char *line, size_t n)
{
    struct ll_retry_hints *h = &x->hints;
    char val[128], *end;
    double v;
    if (ll_xfer__header_value(line, n, "retry-after-ms", val, sizeof(val))) {
        v = strtod(val, &end);
        if (end != val && *end == '\0' && v >= 0 && v < 1e12) {
            h->after_ms = (int64_t)(v + 0.999); /* a wait is never shortened */
        }
    } else if (ll_xfer__header_value(line, n, "Retry-After", val, sizeof(val))) {
        ll_retry_after_parse(val, time(NULL), &h->retry_after);
    } else if (ll_xfer__header_value(line, n, "x-ratelimit-reset-requests", val, sizeof(val))) {
        ll_retry_duration_parse(val, &h->reset_requests);
    } else if (ll_xfer__header_value(line, n, "x-ratelimit-reset-tokens", val, sizeof(val))) {
        ll_retry_duration_parse(val, &h->reset_tokens);
    } else if (ll_xfer__header_value(line, n, "x-ratelimit-remaining-requests", val, sizeof(val))) {
        h->remaining_requests = strtoll(val, NULL, 10);
    } else if (ll_xfer__header_value(line, n, "x-ratelimit-remaining-tokens", val, sizeof(val))) {
        h->remaining_tokens = strtoll(val, NULL, 10);
    }
}

int64_t ll_xfer_watch(struct ll_xfer *x, int64_t now)
{
    int64_t ttfb = x->cfg->ttfb_timeout_ms * LL_NS_PER_MS;
    int64_t idle = x->cfg->idle_timeout_ms * LL_NS_PER_MS;
    int64_t next = 0;
    if (x->t_first_byte == 0) {
        if (ttfb > 0 && now - x->t_xfer_start >= ttfb) {
            x->timed_out = LL_XFER_LIM_TTFB;
            return -1;
        }
        next = ttfb > 0 ? x->t_xfer_start + ttfb : 0;
        if (idle > 0 && (next == 0 || now + idle < next)) {
            next = now + idle; /* the first byte may come at any moment: idle counts from it */
        }
    } else if (idle > 0) {
        if (now - x->t_last_byte >= idle) {
            x->timed_out = LL_XFER_LIM_IDLE;
            return -1;
        }
        next = x->t_last_byte + idle;
    }
    return next;
}

int ll_xfer_url_set(CURLU *u, const char *base, char *why, size_t whylen)
{
    char *scheme = NULL, *port = NULL, *path = NULL, *host = NULL;
    char joined[2048];
    int err = LL_EINVAL;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, base, 0);
    if (uc != CURLUE_OK) {
        snprintf(why, whylen, "%s", curl_url_strerror(uc));
        return LL_EINVAL;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    long pn = port != NULL ? strtol(port, NULL, 10) : 0;
    if (scheme == NULL || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        snprintf(why, whylen, "the scheme must be http or https, not '%s'", scheme ? scheme : "");
    } else if (host == NULL || host[0] == '\0') {
        snprintf(why, whylen, "no host");
    } else if (pn < 1 || pn > 65535) {
        snprintf(why, whylen, "port %s is not in 1-65535", port ? port : "?");
    } else {
        /* The path gets /chat/completions; a query (Azure's ?api-version=) stays a query. A
         * full endpoint URL (.../v1/chat/completions, as servers' docs print it) is taken as it
         * is: appending the path again posted to .../chat/completions/chat/completions. */
        static const char sfx[] = "/chat/completions";
        size_t len = path ? strlen(path) : 0, slen = sizeof(sfx) - 1;
        while (len > 0 && path[len - 1] == '/') {
            len--;
        }
        if (len >= slen && memcmp(path + len - slen, sfx, slen) == 0) {
            len -= slen;
        }
        if (len + sizeof("/chat/completions") > sizeof(joined)) {
            snprintf(why, whylen, "path too long");
        } else {
            snprintf(joined, sizeof(joined), "%.*s/chat/completions", (int)len, path ? path : "");
            uc = curl_url_set(u, CURLUPART_PATH, joined, 0);
            err = uc == CURLUE_OK ? 0 : LL_EINVAL;
            if (uc != CURLUE_OK) {
                snprintf(why, whylen, "%s", curl_url_strerror(uc));
            }
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    return err;
}

/* curl's phase times of this transfer (microseconds from its start) as durations. The time to
 * first byte is not curl's STARTTRANSFER: curl 7.88 stamps it when an HTTP/2 request's body
 * starts to go out, so STARTTRANSFER - PRETRANSFER read 0.001 ms for a POST over HTTP/2 where
 * the server took 20 ms (over HTTP/1.1 it is stamped at the answer's first byte). It is the
 * first byte our header callback saw, placed on curl's time line by the total time: `now`, read
 * as the transfer ended, is curl's TOTAL_TIME from its start. */
void ll_xfer__read_phases(struct ll_xfer *x, bool opened, int64_t now)
{
    struct ll_result *res = &x->call->res;
    curl_off_t dns = 0, conn = 0, tls = 0, pre = 0, total = 0;
    CURL *e = x->easy;
    curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &dns);
    curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &conn);
    curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &tls);
    curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &pre);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
    bool connected = opened && conn > 0;
    res->ph_dns_ns = connected ? (int64_t)dns * 1000 : -1;
    res->ph_connect_ns = connected && conn >= dns ? (int64_t)(conn - dns) * 1000 : -1;
    res->ph_tls_ns = connected && tls >= conn && tls > 0 ? (int64_t)(tls - conn) * 1000 : -1;
    res->ph_ttfb_ns = -1;
    res->t_ttfb_s = 0;
    if (x->t_first_byte != 0 && pre > 0 && now >= x->t_first_byte) {
        int64_t first = (int64_t)total * 1000 - (now - x->t_first_byte); /* on curl's line */
        int64_t sent = (int64_t)pre * 1000;
        res->ph_ttfb_ns = first > sent ? first - sent : 0; /* the two clocks' few µs apart */
        res->t_ttfb_s = first > 0 ? (double)first / 1e9 : 0;
    }
}

/* The request died on a connection curl reused, before any byte of an answer: the server
 * never processed it (see ll_xfer_end in ll_xfer.h). */
bool ll_xfer__died_unanswered(const struct ll_xfer *x, CURLcode rc)
{
    bool died = rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING;
    return died && x->sends > 0 && x->send_reused && x->t_first_byte == 0 && !x->proto_error &&
           x->sock_errno == 0;
}

int64_t ll_xfer__retry_wait(struct ll_xfer *x, enum ll_class cls, long status, uint64_t *rng)
{
    struct ll_result *res = &x->call->res;
    const struct ll_retry_policy *p = &x->cfg->retry;
    const char *src;
    int64_t hint = ll_retry_hint_pick(&x->hints, (int)status, &src);
    int64_t wait = ll_retry_next_delay_ns(p, res->attempts, cls, (int)status, hint, rng);
    if (wait >= 0 && p->honor_retry_after && hint >= 0 && p->max_retry_wait_ms >= 0 &&
        hint > p->max_retry_wait_ms) {
        /* Asked for a longer wait than allowed: end now, and say why, rather than sleep. */
        size_t len = strlen(res->errmsg);
        snprintf(res->errmsg + len, sizeof(res->errmsg) - len,
                 "; the server asked to wait %g s (%s), longer than the %g s allowed "
                 "(--max-retry-wait)",
                 (double)hint / 1000.0, src, (double)p->max_retry_wait_ms / 1000.0);
        wait = -1;
    }
    return wait;
}

int ll_xfer_ca_file_check(const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return LL_EINVAL;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "is a directory, not a PEM file of CA certificates");
        return LL_EINVAL;
    }
    /* The way OpenSSL will read it for curl (X509_LOOKUP_load_file, PEM): certificates and
     * CRLs; a file with none, or a broken one, fails. */
    X509_STORE *store = X509_STORE_new();
    int ok = store != NULL && X509_STORE_load_file(store, path) == 1;
    bool has_cert = false;
    if (ok) {
        STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
        for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
            has_cert |= X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_X509;
        }
    }
    X509_STORE_free(store);
    ERR_clear_error(); /* this thread's OpenSSL error queue, so that curl's reading is its own */
    if (!ok || !has_cert) {
        snprintf(why, whylen, "no PEM certificate in it (want the CA's certificate, PEM)");
        return LL_EINVAL;
    }
    return 0;
}
