/* ll_xfer.h - one wire attempt of a call on one libcurl easy handle, shared by both backends so
 * that they send the same bytes, parse answers the same way and classify outcomes identically.
 *
 * A backend's life for one call:
 *     ll_xfer_begin(x, easy, call, cfg)      set up the easy handle for the next attempt
 *     ... curl_easy_perform(easy)  or  curl_multi_add_handle + socket actions ...
 *     wait = ll_xfer_end(x, rc, &rng)        classify, parse, record the attempt
 *     wait >= 0: back off `wait` ns (threaded: sleep in the worker; evented: uv timer), begin again
 *     wait <  0: call->res is final
 *     ll_xfer_cleanup(x)                      once, when the x is retired
 *
 * Called from whichever thread performs the transfer; one xfer per easy handle at a time.
 */
#ifndef LL_XFER_H
#define LL_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "ll_call.h"
#include "ll_inband.h"
#include "ll_request.h"
#include "ll_sse.h"

struct ll_xfer {
    struct ll_call *call;
    const struct ll_config *cfg;
    CURL *easy;
    char *buf; /* response body (non-stream, or any error body), NUL-terminated */
    size_t len, cap;
    struct ll_sse sse;           /* streaming: SSE framing state */
    struct ll_retry_hints hints; /* this attempt's retry-after-ms, Retry-After, rate headers */
    bool is_event_stream;        /* Content-Type: text/event-stream */
    char content_encoding[48];   /* the answer's Content-Encoding, "" when none */
    bool proto_error;            /* the answer could not be understood */
    char proto_why[160];
    bool inband_seen;        /* the answer reported an error inside a 200 (ll_inband.h) */
    struct ll_inband inband; /* which, when inband_seen */
    void *owner;             /* backend private (e.g. the worker or the ev request) */
    /* errno of this attempt's failed socket(2), 0 when none failed: set by
     * ll_xfer_open_socket(), reset by ll_xfer_begin(). curl 7.88 reports a failed socket() as
     * CURLE_COULDNT_CONNECT with CURLINFO_OS_ERRNO untouched (stale from an earlier transfer),
     * so without this an EMFILE would look like a refused connection. */
    int sock_errno;
    /* Set by a backend that cancels by removing the handle itself (evented): no progress
     * callback is then installed, which spares curl its per-chunk progress bookkeeping. */
    bool no_progress_cb;
    /* Set by ll_xfer_end when its 0 means "send the request again at once on a new
     * connection": the attempt died on a reused connection before any byte of an answer
     * (ll_xfer_resending). The backend begins again without a backoff; it is not a retry. */
    bool resend;

    /* Which limit of cfg ended this transfer (ll_xfer_watch), LL_XFER_LIM_NONE when none. */
    int timed_out;

    /* Private to ll_xfer.c (per-transfer connection bookkeeping). */
    int sends;            /* requests curl sent in this transfer (CURLOPT_PREREQFUNCTION) */
    int socks_since_send; /* sockets opened since the last send (ll_xfer_open_socket) */
    bool send_reused;     /* the last send went out on a connection opened before it */
    int call_resends;     /* this call's re-sends made by ll_xfer (bounded) */

    /* The backend's number for the slot (worker, easy handle) this xfer serves, set once. With
     * at least as many slots as base URLs, slot i sends every call to base URL i mod n, so its
     * connection is reused call after call (a wrk connection keeps to its host); rotating each
     * call over the URLs would leave a connection to every URL in each slot's pool -- a
     * threaded worker's easy handle keeps up to five -- and open one on most calls. With fewer
     * slots than URLs, calls keep the URL ll_client rotated them to. */
    size_t slot;

    /* Private to ll_xfer.c (per-attempt state). */
    CURL *set_easy;           /* the handle the per-handle options were set on */
    const char *set_base_url; /* the base URL CURLOPT_CURLU was last set from */
    CURLU *url;               /* the parsed URL given to curl (CURLOPT_CURLU) */
    int64_t t_start, t_first_byte;
    int64_t t_xfer_start; /* this transfer (a re-send starts a new one within the attempt) */
    int64_t t_last_byte;  /* the answer's latest byte, for the idle limit */
    size_t rx_bytes;      /* answer bytes of this transfer (headers and body) */
    int status;           /* from the last status line seen */
    size_t content_cap;   /* capacity of call->res.content */
    char errbuf[CURL_ERROR_SIZE]; /* CURLOPT_ERRORBUFFER: curl's detail for errmsg */
};

/* `x` must be zeroed (calloc or = {0}) before its first begin; it may then serve any number of
 * calls and attempts in turn. */

/* Prepare `easy` (already created by the backend, possibly reused) for the next attempt of
 * `call`: URL, POST body, headers, connect/total timeouts, write/header/progress callbacks,
 * CURLOPT_PRIVATE = x, CURLOPT_NOSIGNAL, TCP_NODELAY, and CURLOPT_FRESH_CONNECT/FORBID_REUSE
 * when cfg->no_reuse; TLS verification with cfg->ca_file (CURLOPT_CAINFO) when set; the HTTP
 * version of cfg->http_version by the URL's scheme (ALPN over https, h2c over http). Counts
 * each new connection's TLS handshake, full or resumed, into call->res as the request goes out.
 * Records the attempt's start time. 0 or LL_E* (LL_ECURL). */
int ll_xfer_begin(struct ll_xfer *x, CURL *easy, struct ll_call *call, const struct ll_config *cfg);

/* The attempt ended with `rc` (CURLE_OK or a curl error). Reads the status and curl's phase
 * timings, classifies the attempt, parses the answer into call->res (content, usage,
 * finish_reason, token times; streaming deltas were parsed as they arrived) and records the
 * attempt. Returns the wait in ns before the next attempt (>= 0), or -1 when the call is final
 * (res.cls and res.t_end set). A set call->cancel makes the call final as CANCELLED.
 *
 * Connection re-sends: a request that died (send or receive error, or nothing at all) on a
 * connection curl reused, before any byte of an answer, never reached the application. curl
 * itself sends such a request again on a new connection within the transfer, but 7.88 counts
 * those re-sends per easy handle, not per request, and gives up at its sixth over the handle's
 * life ("Connection died, tried 5 times before giving up"); nor does it re-send when the error
 * met the upload of a large body. ll_xfer_end re-sends those: it returns 0 with x->resend set
 * (ll_xfer_resending), the attempt count unchanged. res.resends counts both kinds. */
int64_t ll_xfer_end(struct ll_xfer *x, CURLcode rc, uint64_t *rng);

/* Free what the xfer allocated (buffers, the parsed URL the handle points to): after
 * curl_easy_cleanup() of the handle it was used with. The easy handle stays the backend's. */
void ll_xfer_cleanup(struct ll_xfer *x);

/* After ll_xfer_end returned 0: true when that 0 is a connection re-send (the request died on
 * a reused connection before any byte of an answer, so the server never processed it), to be
 * begun again at once and not counted as a retry or a backoff wait. */
static inline bool ll_xfer_resending(const struct ll_xfer *x)
{
    return x->resend;
}

/* The limits of cfg that ll_xfer watches itself (curl knows only connect and total ones). */
enum { LL_XFER_LIM_NONE, LL_XFER_LIM_TTFB, LL_XFER_LIM_IDLE };

/* Watch the running transfer's time-to-first-byte and idle limits (cfg->ttfb_timeout_ms,
 * idle_timeout_ms) at `now` (ll_now_ns). Returns -1 when one has run out (x->timed_out says
 * which; the backend then ends the transfer, and ll_xfer_end reports it as a timeout whatever
 * curl code it ended with), 0 when neither limit is set, else the time (ns) at which to look
 * again: no limit can run out before it. Threaded: ll_xfer's own progress callback calls it,
 * which curl_easy_perform runs at least once a second; evented: a timer per transfer. The
 * thread running the transfer. */
int64_t ll_xfer_watch(struct ll_xfer *x, int64_t now);

/* Make u the chat-completions URL of the base URL `base`: its path + "/chat/completions" (the
 * path's trailing slashes dropped), its query kept a query, so an Azure deployment URL
 * ".../deployments/d?api-version=2024-06-01" becomes ".../deployments/d/chat/completions?api-
 * version=2024-06-01". 0, or LL_EINVAL with a reason in why when base is not an http(s) URL
 * with a host and a port in 1-65535 that curl accepts. Any thread; u is the caller's. */
int ll_xfer_url_set(CURLU *u, const char *base, char *why, size_t whylen);

/* Whether `path` holds at least one PEM certificate that OpenSSL can load as trusted CAs, as
 * curl will for --cacert: 0, or LL_EINVAL with a reason in why ("no PEM certificate in it",
 * "is a directory", the system's word when it cannot be read). Checked before a run starts, so
 * that a wrong file is one line and not a TLS failure (retried) on every request. Any thread. */
int ll_xfer_ca_file_check(const char *path, char *why, size_t whylen);

/* Map a CURLcode and HTTP status to an outcome class (the classification table). */
enum ll_class ll_xfer_classify(CURLcode rc, long status, bool proto_error);

/* Which local limit a failed attempt met, LL_LIMIT_NONE when it met none. In order: the errno of
 * a failed socket(2) (sock_errno), CURLE_OUT_OF_MEMORY and CURLE_WRITE_ERROR (our callbacks fail
 * only to store, when proto_error is false) -> MEMORY, for CURLE_COULDNT_CONNECT the
 * CURLINFO_OS_ERRNO of the connect (os_errno; EADDRNOTAVAIL -> PORTS), and for
 * CURLE_SSL_CACERT_BADFILE and CURLE_SSL_CONNECT_ERROR the errno of the system call that failed
 * in OpenSSL when the CA file could not be loaded (os_errno: its fopen, EMFILE at the descriptor
 * wall; 0 for any other TLS failure). os_errno is read for COULDNT_CONNECT only from curl: curl
 * leaves it stale across transfers, and a connect failure is the one place it is always set afresh.
 * ll_xfer_end() turns a limit into LL_CLASS_RESOURCE. */
enum ll_limit ll_xfer_limit(CURLcode rc, bool proto_error, int sock_errno, long os_errno);

/* true when h2c (HTTP/2 with prior knowledge over cleartext, cfg->http_version LL_HTTP_2 with
 * an http:// URL) gets a new connection per request: libcurl before 8.0 (Debian 12's 7.88)
 * stacks a second HTTP/2 layer on a reused h2c connection, and every request after the first
 * on it fails (curl issue 10634, fixed by curl PR 10643 in 8.0). HTTP/2 over TLS is not
 * affected. Any thread. */
bool ll_xfer_h2c_no_reuse(void);

/* Open a socket for curl, for a backend's CURLOPT_OPENSOCKETFUNCTION: socket(2) with
 * SOCK_CLOEXEC; on failure records errno in x->sock_errno and returns CURL_SOCKET_BAD. Any
 * thread (the one running x's transfer). */
curl_socket_t ll_xfer_open_socket(struct ll_xfer *x, const struct curl_sockaddr *a);

#endif
