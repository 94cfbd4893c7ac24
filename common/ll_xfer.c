/* ll_xfer.c - one wire attempt on one easy handle: set-up, response parsing (JSON body or SSE
 * stream), classification and the retry decision. Both backends call exactly this code, so they
 * send the same bytes and judge answers the same way. */
#include "ll_xfer.h"
#include "ll_xfer_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "ll_clock.h"
#include "ll_grow.h"
#include "ll_json.h"
#include "ll_retry.h"

#define LL_XFER_MAX_BODY ((size_t)64 << 20) /* a larger answer is not a chat completion */
/* Re-sends ll_xfer makes for one call (curl makes up to 5 more within each transfer): a server
 * that kills every reused connection costs a new connection each time, never a loop. */
#define LL_XFER_MAX_RESENDS 5

/* The classification table: a curl error decides the class by itself; CURLE_OK defers to the
 * HTTP status (ll_xfer_classify). Anything not listed is a protocol error. */
static const struct {
    CURLcode rc;
    enum ll_class cls;
} curl_classes[] = {
    {CURLE_OPERATION_TIMEDOUT, LL_CLASS_TIMEOUT},
    {CURLE_COULDNT_CONNECT, LL_CLASS_CONNECT},
    {CURLE_COULDNT_RESOLVE_HOST, LL_CLASS_CONNECT},
    {CURLE_COULDNT_RESOLVE_PROXY, LL_CLASS_CONNECT},
    {CURLE_RECV_ERROR, LL_CLASS_CONNECT},
    {CURLE_SEND_ERROR, LL_CLASS_CONNECT},
    {CURLE_GOT_NOTHING, LL_CLASS_CONNECT},
    {CURLE_PARTIAL_FILE, LL_CLASS_CONNECT},
    {CURLE_SSL_CONNECT_ERROR, LL_CLASS_CONNECT},
    /* The server's certificate was not trusted (wrong CA, wrong name, unreadable CA file):
     * the connection could not be made, whatever the answer would have been. */
    {CURLE_PEER_FAILED_VERIFICATION, LL_CLASS_CONNECT},
    {CURLE_SSL_CACERT_BADFILE, LL_CLASS_CONNECT},
    {CURLE_SSL_CERTPROBLEM, LL_CLASS_CONNECT},
    {CURLE_SSL_PINNEDPUBKEYNOTMATCH, LL_CLASS_CONNECT},
    {CURLE_HTTP2, LL_CLASS_CONNECT},
    {CURLE_HTTP2_STREAM, LL_CLASS_CONNECT},
    {CURLE_ABORTED_BY_CALLBACK, LL_CLASS_CANCELLED},
    {CURLE_OUT_OF_MEMORY, LL_CLASS_RESOURCE},
    {CURLE_WRITE_ERROR, LL_CLASS_RESOURCE}, /* our write callback failed to store (memory) */
    {CURLE_WEIRD_SERVER_REPLY, LL_CLASS_PROTOCOL},
    {CURLE_BAD_CONTENT_ENCODING, LL_CLASS_PROTOCOL},
};

enum ll_class ll_xfer_classify(CURLcode rc, long status, bool proto_error)
{
    if (proto_error) {
        return LL_CLASS_PROTOCOL; /* also when our callback aborted the transfer over it */
    }
    if (rc != CURLE_OK) {
        for (size_t i = 0; i < sizeof(curl_classes) / sizeof(curl_classes[0]); i++) {
            if (curl_classes[i].rc == rc) {
                return curl_classes[i].cls;
            }
        }
        return LL_CLASS_PROTOCOL;
    }
    if (status >= 200 && status < 300) {
        return LL_CLASS_NONE;
    }
    if (status == 429) {
        return LL_CLASS_HTTP_429;
    }
    if (status >= 400 && status < 500) {
        return LL_CLASS_HTTP_4XX;
    }
    if (status >= 500 && status < 600) {
        return LL_CLASS_HTTP_5XX;
    }
    return LL_CLASS_PROTOCOL; /* 1xx/3xx as final answer, or no status at all */
}

enum ll_limit ll_xfer_limit(CURLcode rc, bool proto_error, int sock_errno, long os_errno)
{
    if (rc == CURLE_OK || proto_error) {
        return LL_LIMIT_NONE;
    }
    if (sock_errno != 0) {
        return ll_limit_from_errno(sock_errno);
    }
    if (rc == CURLE_OUT_OF_MEMORY || rc == CURLE_WRITE_ERROR) {
        return LL_LIMIT_MEMORY;
    }
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_SSL_CACERT_BADFILE ||
        rc == CURLE_SSL_CONNECT_ERROR) {
        return ll_limit_from_errno((int)os_errno);
    }
    return LL_LIMIT_NONE;
}

static void set_proto_error(struct ll_xfer *x, const char *why)
{
    if (!x->proto_error) {
        x->proto_error = true;
        /* Cut to proto_why's size on purpose: one line, however long the server's words. */
        size_t n = strnlen(why, sizeof(x->proto_why) - 1);
        memcpy(x->proto_why, why, n);
        x->proto_why[n] = '\0';
    }
}

/* The answer is a 200 that reports an error (ll_inband.h): a failure carrying its message,
 * classed by what it says (ll_xfer_end). */
static void set_inband_error(struct ll_xfer *x, const struct ll_inband *ib)
{
    /* Room for the whole message: set_proto_error cuts it to proto_why's size, one place. */
    char why[sizeof(x->proto_why) + sizeof(ib->msg)];
    char code[16] = "";
    if (ib->code != 0) {
        snprintf(code, sizeof(code), " (code %d)", ib->code);
    }
    snprintf(why, sizeof(why), "error inside a 200 answer%s: %s", code, ib->msg);
    if (!x->proto_error) {
        x->inband_seen = true;
        x->inband = *ib;
    }
    set_proto_error(x, why);
}

static int append_content(struct ll_xfer *x, const char *s, size_t n)
{
    struct ll_result *res = &x->call->res;
    if (ll_grow(&res->content, &x->content_cap, res->content_len + n + 1, 256) != 0) {
        return LL_ENOMEM;
    }
    memcpy(res->content + res->content_len, s, n);
    res->content_len += n;
    res->content[res->content_len] = '\0';
    return 0;
}

/* Keep one chunk that carried output; the first one is the first token's arrival (TTFT). */
static int record_chunk(struct ll_result *res, int64_t t, unsigned out)
{
    if (res->n_chunks == res->cap_chunks) {
        size_t cap = res->cap_chunks ? res->cap_chunks * 2 : 64;
        struct ll_chunk *p = realloc(res->chunk, cap * sizeof(*p));
        if (p == NULL) {
            return LL_ENOMEM;
        }
        res->chunk = p;
        res->cap_chunks = cap;
    }
    res->chunk[res->n_chunks++] =
        (struct ll_chunk){.t = t, .usage_tokens = -1, .out = (uint8_t)out};
    if (res->t_first_token == 0) {
        res->t_first_token = t;
    }
    return 0;
}

static int json_int(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? (int)v->valuedouble : -1;
}

/* The usage block, when this object carries one (the last chunk of a stream, or every chunk
 * with vLLM's continuous_usage_stats, counting so far). Returns whether it did. */
static bool take_usage(struct ll_result *res, const cJSON *root)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (!cJSON_IsObject(u)) {
        return false;
    }
    res->prompt_tokens = json_int(u, "prompt_tokens");
    res->completion_tokens = json_int(u, "completion_tokens");
    res->total_tokens = json_int(u, "total_tokens");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens_details");
    int rt = cJSON_IsObject(d) ? json_int(d, "reasoning_tokens") : -1;
    if (rt >= 0 || res->reasoning_tokens < 0) {
        res->reasoning_tokens = rt;
    }
    return true;
}

static void take_finish(struct ll_result *res, const cJSON *choice)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
    if (cJSON_IsString(f)) {
        snprintf(res->finish_reason, sizeof(res->finish_reason), "%s", f->valuestring);
    }
}

/* The message of an OpenAI error object ({"error": {"message": ...}}), or NULL. */
static const char *error_message(const cJSON *root)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
    if (cJSON_IsString(m)) {
        return m->valuestring;
    }
    return cJSON_IsString(e) ? e->valuestring : NULL;
}

static bool nonempty_string(const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring[0] != '\0';
}

/* Which output channels a chunk's choice carried (LL_OUT_* bits), appending its answer text to
 * the content. A role-only chunk or an empty string is no output: it generated no token. */
static int take_delta(struct ll_xfer *x, const cJSON *choice, unsigned *out)
{
    const cJSON *delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(delta, "content");
    if (!nonempty_string(c)) {
        c = cJSON_GetObjectItemCaseSensitive(choice, "text"); /* a completions-style chunk */
    }
    *out = 0;
    if (nonempty_string(c)) {
        *out |= LL_OUT_CONTENT;
        if (append_content(x, c->valuestring, strlen(c->valuestring)) != 0) {
            return LL_ENOMEM;
        }
    }
    if (nonempty_string(cJSON_GetObjectItemCaseSensitive(delta, "reasoning_content")) ||
        nonempty_string(cJSON_GetObjectItemCaseSensitive(delta, "reasoning"))) {
        *out |= LL_OUT_REASONING;
    }
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");
    if ((cJSON_IsArray(tc) && cJSON_GetArraySize(tc) > 0) ||
        cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(delta, "function_call"))) {
        *out |= LL_OUT_TOOL;
    }
    return 0;
}

/* One chat.completion.chunk. Returns 0, or non-zero to abort the transfer. */
/* Only blanks: an event with an empty data field (WHATWG dispatches it) carries no chunk. */
static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
            return false;
        }
    }
    return true;
}

static int sse_event_cb(void *arg, const char *type, const char *data, size_t len)
{
    struct ll_xfer *x = arg;
    struct ll_result *res = &x->call->res;
    int64_t now = ll_now_ns();
    if (blank(data, len)) {
        return 0;
    }
    cJSON *root = ll_json_parse(data, len);
    unsigned out = 0;
    int rc = 0;
    struct ll_inband ib;

    if (ll_inband_error(root, type, data, len, &ib)) {
        set_inband_error(x, &ib);
        rc = LL_EPROTO;
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        set_proto_error(x, "SSE event is not a JSON object");
        rc = LL_EPROTO;
        goto out;
    }
    const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
    if (cJSON_IsObject(choice)) {
        if (take_delta(x, choice, &out) != 0 || (out != 0 && record_chunk(res, now, out) != 0)) {
            rc = LL_ENOMEM;
            goto out;
        }
        take_finish(res, choice);
    }
    if (take_usage(res, root) && out != 0) {
        res->chunk[res->n_chunks - 1].usage_tokens = res->completion_tokens;
    }
out:
    ll_json_free(root);
    return rc;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct ll_xfer *x = userdata;
    size_t n = size * nmemb;
    x->t_last_byte = ll_now_ns();
    x->rx_bytes += n;
    if (x->t_first_byte == 0) {
        x->t_first_byte = x->t_last_byte;
    }
    if (x->call->stream && x->is_event_stream && x->status / 100 == 2) {
        int rc = ll_sse_feed(&x->sse, ptr, n, sse_event_cb, x);
        if (rc == LL_EPROTO) {
            set_proto_error(x, "SSE event larger than the limit");
        }
        return rc == 0 ? n : 0; /* 0 aborts: CURLE_WRITE_ERROR */
    }
    if (x->len + n + 1 > x->cap) {
        if (x->len + n + 1 > LL_XFER_MAX_BODY) {
            set_proto_error(x, "answer larger than 64 MiB");
            return 0;
        }
        if (ll_grow(&x->buf, &x->cap, x->len + n + 1, 4096) != 0) {
            return 0;
        }
    }
    memcpy(x->buf + x->len, ptr, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return n;
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct ll_xfer *x = userdata;
    size_t n = size * nmemb;
    char val[128];

    x->t_last_byte = ll_now_ns();
    x->rx_bytes += n;
    if (x->t_first_byte == 0) {
        x->t_first_byte = x->t_last_byte;
    }
    if (n > 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        /* A new status line (after a 100 Continue, say): earlier headers no longer apply. */
        int status = 0;
        const char *sp = memchr(ptr, ' ', n);
        if (sp != NULL && sp + 4 <= ptr + n) {
            status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
        }
        x->status = status;
        x->is_event_stream = false;
        x->content_encoding[0] = '\0';
        ll_retry_hints_clear(&x->hints);
    } else if ((ptr[0] | 0x20) == 'r' || (ptr[0] | 0x20) == 'x') {
        ll_xfer__take_hint(x, ptr, n);
    } else if (ll_xfer__header_value(ptr, n, "Content-Encoding", x->content_encoding,
                                     sizeof(x->content_encoding))) {
        /* kept for the message if it cannot be decoded */
    } else if (ll_xfer__header_value(ptr, n, "Content-Type", val, sizeof(val))) {
        x->is_event_stream = strncasecmp(val, "text/event-stream", 17) == 0;
    }
    return n;
}

/* curl calls this at least once a second during a transfer (and after each chunk): cancel,
 * and the limits curl does not know. Non-zero aborts (CURLE_ABORTED_BY_CALLBACK). */
static int xferinfo_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct ll_xfer *x = clientp;
    if (atomic_load_explicit(&x->call->cancel, memory_order_relaxed)) {
        return 1;
    }
    return ll_xfer_watch(x, ll_now_ns()) < 0 ? 1 : 0;
}

/* Reset what one attempt produces, so that a retry starts clean. */
static void reset_attempt(struct ll_xfer *x)
{
    struct ll_result *res = &x->call->res;
    x->len = 0;
    if (x->buf != NULL) {
        x->buf[0] = '\0';
    }
    ll_sse_reset(&x->sse);
    ll_retry_hints_clear(&x->hints);
    x->is_event_stream = false;
    x->proto_error = false;
    x->proto_why[0] = '\0';
    x->inband_seen = false;
    x->content_encoding[0] = '\0';
    x->status = 0;
    x->errbuf[0] = '\0';
    x->t_first_byte = 0;
    x->t_last_byte = 0;
    x->rx_bytes = 0;
    x->timed_out = LL_XFER_LIM_NONE;
    x->sock_errno = 0;
    res->limit = LL_LIMIT_NONE;
    /* The content buffer belongs to the call; its capacity is unknown to this xfer, which may
     * have served other calls since, so start a fresh one. */
    free(res->content);
    res->content = NULL;
    res->content_len = 0;
    x->content_cap = 0;
    res->n_chunks = 0;
    res->finish_reason[0] = '\0';
    res->prompt_tokens = res->completion_tokens = res->total_tokens = -1;
    res->reasoning_tokens = -1;
    res->t_first_byte = 0;
    res->t_first_token = 0;
}

/* No *_proxy variable in the environment: then CURLOPT_PROXY "" spares curl a scan of the
 * environment (several getenv calls) on every transfer; otherwise curl honours them as usual. */
static pthread_once_t proxy_once = PTHREAD_ONCE_INIT;
static bool proxy_env_set;

static void proxy_env_check(void)
{
    static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                       "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        proxy_env_set |= v != NULL && *v != '\0';
    }
}

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK) {                                                                      \
            rc = curl_easy_setopt(easy, opt, val);                                                 \
        }                                                                                          \
    } while (0)

/* Options that stay the same for every attempt on one handle with one config: set once per
 * handle (an easy handle keeps its options across transfers). */
static CURLcode set_handle_options(struct ll_xfer *x, CURL *easy, const struct ll_config *cfg)
{
    CURLcode rc = CURLE_OK;
    pthread_once(&proxy_once, proxy_env_check);
    SET(CURLOPT_PRIVATE, (void *)x);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TCP_NODELAY, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    SET(CURLOPT_WRITEFUNCTION, write_cb);
    SET(CURLOPT_WRITEDATA, (void *)x);
    SET(CURLOPT_HEADERFUNCTION, header_cb);
    SET(CURLOPT_HEADERDATA, (void *)x);
    if (!x->no_progress_cb) {
        SET(CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
        SET(CURLOPT_XFERINFODATA, (void *)x);
        SET(CURLOPT_NOPROGRESS, 0L);
    }
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_PREREQFUNCTION, ll_xfer__prereq_cb);
    SET(CURLOPT_PREREQDATA, (void *)x);
    /* HTTP/1.1 on both backends unless --http 2 asks (set_url then picks ALPN or h2c by the
     * URL's scheme): a multi handle would otherwise multiplex HTTP/2 over TLS while the
     * threaded workers each hold one connection, and the two would not be compared fairly. */
    if (cfg->http_version == LL_HTTP_2) {
        /* Wait for a connection that may multiplex rather than open one per transfer while
         * the first handshake is under way (a multi handle; one easy handle opens anyway). */
        SET(CURLOPT_PIPEWAIT, 1L);
    } else {
        SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    }
    /* Decode whatever Content-Encoding arrives (gzip, deflate, br, zstd as this libcurl
     * supports); whether one is asked for is the header list's business (ll_wire). */
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_FRESH_CONNECT, cfg->no_reuse ? 1L : 0L);
    SET(CURLOPT_FORBID_REUSE, cfg->no_reuse ? 1L : 0L);
    SET(CURLOPT_SSL_SESSIONID_CACHE, cfg->no_tls_resume ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYPEER, cfg->verify_tls ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, cfg->verify_tls ? 2L : 0L);
    if (cfg->ca_file != NULL) { /* e.g. the embedded mock's throwaway CA: trusted, verified */
        SET(CURLOPT_CAINFO, cfg->ca_file);
    }
    if (!proxy_env_set) {
        SET(CURLOPT_PROXY, "");
    }
    return rc;
}

bool ll_xfer_h2c_no_reuse(void)
{
    return curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
}

/* The URL goes to curl parsed, as a CURLU handle: curl 7.88 then copies it for each transfer
 * instead of parsing and re-normalising the URL string again (with CURLOPT_URL that was ~5% of
 * the client's instructions at zero latency). */

static CURLcode set_url(struct ll_xfer *x, CURL *easy, const char *base_url)
{
    char why[128];
    if (x->url == NULL && (x->url = curl_url()) == NULL) {
        return CURLE_OUT_OF_MEMORY;
    }
    if (ll_xfer_url_set(x->url, base_url, why, sizeof(why)) != 0) {
        return CURLE_URL_MALFORMAT;
    }
    CURLcode rc = CURLE_OK;
    if (x->cfg->http_version == LL_HTTP_2) {
        /* https: offer h2 and http/1.1 by ALPN (the server picks); http: h2c with prior
         * knowledge, as no Upgrade can carry a POST body. */
        bool h2c = strncasecmp(base_url, "https:", 6) != 0;
        long fresh = x->cfg->no_reuse || (h2c && ll_xfer_h2c_no_reuse()) ? 1L : 0L;
        SET(CURLOPT_HTTP_VERSION,
            h2c ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE : (long)CURL_HTTP_VERSION_2TLS);
        SET(CURLOPT_FRESH_CONNECT, fresh);
        SET(CURLOPT_FORBID_REUSE, fresh);
    }
    SET(CURLOPT_CURLU, x->url);
    return rc;
}

int ll_xfer_begin(struct ll_xfer *x, CURL *easy, struct ll_call *call, const struct ll_config *cfg)
{
    CURLcode rc = CURLE_OK;

    if (x->set_easy != easy || x->cfg != cfg) {
        x->set_base_url = NULL;
        if (set_handle_options(x, easy, cfg) != CURLE_OK) {
            x->set_easy = NULL;
            return LL_ECURL;
        }
        x->set_easy = easy;
    }
    bool resend = x->resend && x->call == call;
    if (!resend && call->res.attempts == 0) {
        x->call_resends = 0; /* a new call (a retry of this one keeps the count) */
    }
    x->resend = false;
    x->call = call;
    x->cfg = cfg;
    x->easy = easy;
    reset_attempt(x);
    x->sends = 0;
    x->socks_since_send = 0;
    x->send_reused = false;

    if (cfg->n_base_urls > 1 && (size_t)cfg->concurrency >= cfg->n_base_urls) {
        call->base_url = cfg->base_urls[x->slot % cfg->n_base_urls]; /* see ll_xfer.slot */
    }
    /* Parse the URL only when the base changes: calls may rotate over cfg->base_urls. */
    if (x->set_base_url != call->base_url) {
        if (set_url(x, easy, call->base_url) != CURLE_OK) {
            x->set_base_url = NULL;
            return LL_ERANGE;
        }
        x->set_base_url = call->base_url;
    }
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->wire->body_len);
    SET(CURLOPT_POSTFIELDS, call->wire->body); /* not copied: the call outlives the transfer */
    SET(CURLOPT_HTTPHEADER, call->wire->headers);
    if (rc != CURLE_OK) {
        return LL_ECURL;
    }

    x->t_xfer_start = ll_now_ns();
    if (resend) {
        return 0; /* the same attempt goes on: its start and the dispatch time stay */
    }
    x->t_start = ll_now_ns();
    if (call->res.attempts == 0) {
        call->res.t_dispatch = x->t_start;
    }
    return 0;
}
#undef SET

/* A 2xx non-streaming answer: must be a chat completion. */
static void parse_completion(struct ll_xfer *x)
{
    struct ll_result *res = &x->call->res;
    cJSON *root = ll_json_parse(x->buf ? x->buf : "", x->len);
    struct ll_inband ib;
    if (ll_inband_error(root, NULL, NULL, 0, &ib)) {
        set_inband_error(x, &ib);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        set_proto_error(x, "2xx answer is not JSON");
        goto out;
    }
    const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
    if (!cJSON_IsObject(msg)) {
        const char *emsg = error_message(root);
        char why[sizeof(x->proto_why)];
        snprintf(why, sizeof(why), "2xx answer is not a chat completion%s%s",
                 emsg ? ": " : " (no choices[0].message)", emsg ? emsg : "");
        set_proto_error(x, why);
        goto out;
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content");
    if (cJSON_IsString(c) && append_content(x, c->valuestring, strlen(c->valuestring)) != 0) {
        set_proto_error(x, "out of memory storing the answer");
    }
    take_finish(res, choice);
    take_usage(res, root);
out:
    ll_json_free(root);
}

/* errmsg for a failed attempt: the most specific thing we know. */
static void describe(struct ll_xfer *x, CURLcode rc, long status, enum ll_class cls)
{
    struct ll_result *res = &x->call->res;
    if (x->proto_error) {
        snprintf(res->errmsg, sizeof(res->errmsg), "%s", x->proto_why);
    } else if (x->sock_errno != 0) {
        /* curl's own text would say "Couldn't connect to server" */
        snprintf(res->errmsg, sizeof(res->errmsg), "cannot open a socket: %s%s%s%s",
                 strerror(x->sock_errno), res->limit ? " (local limit: " : "",
                 res->limit ? ll_limit_name(res->limit) : "", res->limit ? ")" : "");
    } else if (x->timed_out != LL_XFER_LIM_NONE && rc != CURLE_OK) {
        bool ttfb = x->timed_out == LL_XFER_LIM_TTFB;
        snprintf(res->errmsg, sizeof(res->errmsg), "%s %g s (%s timeout)",
                 ttfb ? "no byte of an answer within" : "no byte for",
                 (double)(ttfb ? x->cfg->ttfb_timeout_ms : x->cfg->idle_timeout_ms) / 1000.0,
                 ttfb ? "ttfb" : "idle");
    } else if (rc == CURLE_BAD_CONTENT_ENCODING) {
        snprintf(res->errmsg, sizeof(res->errmsg),
                 "cannot decode the answer's Content-Encoding: %.40s (%.70s)",
                 x->content_encoding[0] ? x->content_encoding : "?",
                 x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    } else if (rc != CURLE_OK && res->limit != LL_LIMIT_NONE) {
        snprintf(res->errmsg, sizeof(res->errmsg), "%.120s (local limit: %s)",
                 x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc), ll_limit_name(res->limit));
    } else if (rc != CURLE_OK) {
        /* curl's error buffer is the more specific ("Failed to connect to ... refused") */
        snprintf(res->errmsg, sizeof(res->errmsg), "%.159s",
                 x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    } else {
        cJSON *root = x->len ? ll_json_parse(x->buf, x->len) : NULL;
        const char *emsg = root ? error_message(root) : NULL;
        snprintf(res->errmsg, sizeof(res->errmsg), "HTTP %ld%s%.140s", status, emsg ? ": " : "",
                 emsg ? emsg : "");
        ll_json_free(root);
    }
    if (cls == LL_CLASS_PARTIAL) {
        /* Say that it had begun: it is why it was not sent again. */
        char cause[sizeof(res->errmsg)];
        memcpy(cause, res->errmsg, sizeof(cause));
        snprintf(res->errmsg, sizeof(res->errmsg), "answer cut after %zu bytes%s: %.100s",
                 x->rx_bytes, x->call->stream ? " of a stream" : "", cause);
    }
}

static void read_info(struct ll_xfer *x, long *status, int64_t now)
{
    struct ll_result *res = &x->call->res;
    CURL *e = x->easy;
    long conns = 0, req_size = 0, hdr_size = 0;
    curl_off_t down = 0, up = 0;

    *status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    curl_easy_getinfo(e, CURLINFO_CONNECT_TIME, &res->t_connect_s);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &res->t_total_s);
    if (curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &conns) == CURLE_OK) {
        res->connects += (int)conns;
    }
    long ver = 0;
    res->http2 = curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &ver) == CURLE_OK &&
                 ver == CURL_HTTP_VERSION_2_0;
    if (x->sends > 1) {
        res->resends += x->sends - 1; /* curl sent it again after a reused connection died */
    }
    ll_xfer__read_phases(x, conns > 0, now);
    curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &req_size);
    curl_easy_getinfo(e, CURLINFO_HEADER_SIZE, &hdr_size);
    curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &down);
    curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &up);
    res->bytes_rx += (uint64_t)hdr_size + (uint64_t)down;
    res->bytes_tx += (uint64_t)req_size; /* headers and the POST body (checked with curl 7.88) */
}

/* A complete 2xx answer: a stream must have ended with [DONE]; anything else is parsed as
 * one chat completion (also a server that answers a stream request in one piece). */
static void finish_answer(struct ll_xfer *x, CURLcode rc, long status, int64_t now)
{
    struct ll_result *res = &x->call->res;
    if (rc != CURLE_OK || status < 200 || status >= 300) {
        return;
    }
    if (x->call->stream && x->is_event_stream) {
        if (!x->sse.done) {
            set_proto_error(x, "event stream ended without data: [DONE]");
        } else if (res->n_chunks == 0 && res->completion_tokens <= 0) {
            /* A 200 whose stream carried nothing (vLLM's bench: "Never received a valid
             * chunk"): no output chunk on any channel and no usage counting a token.
             * A non-streamed answer with empty content is the server's answer, not this. */
            set_proto_error(x, "stream carried no output");
        }
        return;
    }
    parse_completion(x);
    if (res->t_first_token == 0) {
        res->t_first_token = now;
    }
}

/* The attempt's class: the table, then what an answer said inside a 200, an answer cut after
 * it began (partial), a local limit (resource) and cancel, in that order of precedence. */
static enum ll_class attempt_class(struct ll_xfer *x, CURLcode rc, long status, bool cancelled)
{
    struct ll_result *res = &x->call->res;
    enum ll_class cls = ll_xfer_classify(rc, status, x->proto_error);
    if (x->inband_seen && status / 100 == 2) {
        /* Said inside a 200: classed by what it says; cut short if tokens had come. */
        cls = x->call->stream && res->n_chunks > 0 ? LL_CLASS_PARTIAL : x->inband.cls;
    }
    if ((cls == LL_CLASS_TIMEOUT || cls == LL_CLASS_CONNECT) && x->t_first_byte != 0 &&
        (status == 0 || status / 100 == 2)) {
        cls = LL_CLASS_PARTIAL; /* the answer had begun: the endpoint may have billed it */
    }
    long os_errno = 0;
    if (rc == CURLE_COULDNT_CONNECT) {
        curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os_errno);
    } else if (rc == CURLE_SSL_CACERT_BADFILE ||
               (rc == CURLE_SSL_CONNECT_ERROR &&
                strncmp(x->errbuf, "error setting cert", 18) == 0)) {
        /* The CA file (--cacert) could not be loaded for a new connection: at the descriptor
         * wall OpenSSL's fopen met EMFILE, which only its error queue keeps (curl says "error
         * setting certificate file", under either code). curl 7.88 loads the file once per
         * multi handle, so this is each threaded worker's first connection, or a multi's. */
        os_errno = ll_xfer__tls_sys_errno();
    }
    res->limit =
        cancelled ? LL_LIMIT_NONE : ll_xfer_limit(rc, x->proto_error, x->sock_errno, os_errno);
    if (res->limit != LL_LIMIT_NONE) {
        cls = LL_CLASS_RESOURCE; /* never retried: another attempt would meet the same wall */
    }
    return cancelled ? LL_CLASS_CANCELLED : cls;
}

int64_t ll_xfer_end(struct ll_xfer *x, CURLcode rc, uint64_t *rng)
{
    struct ll_call *call = x->call;
    struct ll_result *res = &call->res;
    int64_t now = ll_now_ns();
    long status;

    x->resend = false;
    if (x->timed_out != LL_XFER_LIM_NONE && rc != CURLE_OK) {
        rc = CURLE_OPERATION_TIMEDOUT; /* whatever curl said after we ended it */
    }
    read_info(x, &status, now);
    if (ll_xfer__died_unanswered(x, rc) && x->call_resends < LL_XFER_MAX_RESENDS &&
        !atomic_load(&call->cancel)) {
        x->call_resends++;
        res->resends++;
        x->resend = true;
        return 0;
    }
    finish_answer(x, rc, status, now);
    bool cancelled = atomic_load(&call->cancel);
    enum ll_class cls = attempt_class(x, rc, status, cancelled);

    int i = res->attempts++;
    if (i < LL_ATTEMPTS_KEPT) {
        struct ll_attempt *a = &res->attempt[i];
        a->t_start = x->t_start;
        a->t_first_byte = x->t_first_byte;
        a->t_end = now;
        a->status = (int)status;
        a->cls = cls;
        a->wait_ns = 0;
    }
    res->status = (int)status;
    res->curl_code = (int)rc;
    res->t_first_byte = x->t_first_byte;
    res->errmsg[0] = '\0';
    if (cls != LL_CLASS_NONE) {
        if (cancelled) {
            snprintf(res->errmsg, sizeof(res->errmsg), "cancelled");
        } else {
            describe(x, rc, status, cls);
        }
    }

    if (cls != LL_CLASS_NONE && !cancelled) {
        int64_t wait = ll_xfer__retry_wait(x, cls, status, rng);
        if (wait >= 0) {
            if (i < LL_ATTEMPTS_KEPT) {
                res->attempt[i].wait_ns = wait;
            }
            return wait;
        }
    }
    res->cls = cls;
    res->t_end = now;
    return -1;
}

void ll_xfer_cleanup(struct ll_xfer *x)
{
    free(x->buf);
    x->buf = NULL;
    x->len = x->cap = 0;
    ll_sse_free(&x->sse);
    curl_url_cleanup(x->url); /* after the easy handle is done with it (ll_xfer.h) */
    x->url = NULL;
    x->set_base_url = NULL;
}

void ll_call_finish(struct ll_call *call, enum ll_class cls, const char *why)
{
    call->res.cls = cls;
    snprintf(call->res.errmsg, sizeof(call->res.errmsg), "%s",
             why != NULL ? why : ll_class_descr(cls));
    call->res.t_end = ll_now_ns();
}
