/* ll_request.h - the request/result model and the client configuration shared by both backends.
 *
 * Times are ll_now_ns() values (CLOCK_MONOTONIC ns); 0 means "did not happen".
 */
#ifndef LL_REQUEST_H
#define LL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "ll_err.h"
#include "ll_retry.h"

struct ll_call;
struct ll_thread_wall; /* ll_proc.h */

struct ll_message {
    const char *role; /* "system", "user", "assistant" */
    const char *content;
};

/* What the caller asks for. ll_client_submit() copies everything it needs (it renders the JSON
 * body and the header list at once), so a request may live on the caller's stack. */
struct ll_request {
    const char *model;                 /* NULL: the client's default model */
    const struct ll_message *messages; /* ignored when body_json is set */
    size_t n_messages;
    const char *body_json; /* sent verbatim when non-NULL (batch passes extra fields through) */
    int max_tokens;        /* <= 0: not sent */
    /* Fields that only some servers take (vLLM, SGLang, TGI's min_tokens; OpenAI rejects them):
     * sent only when set. ignore_eos: generate to max_tokens past the end of sequence;
     * min_tokens > 0: at least that many. */
    bool ignore_eos;
    int min_tokens;
    bool stream;                /* SSE; stream_options.include_usage is always asked for */
    const char *const *headers; /* extra "Name: value" lines, e.g. mockllm's x-mock-* */
    size_t n_headers;
    int64_t t_intended; /* open loop: when the request should have started; 0 = at submit */
    /* > 0: a deadline (ll_now_ns()) for the first attempt. A call still waiting for an in-flight
     * slot then is withdrawn instead of sent: it ends CANCELLED with no attempt (--duration's
     * end: nothing new goes on the wire after it). 0: none. */
    int64_t not_after;
    void *user; /* carried to the result untouched */
};

/* What an SSE chunk's delta carried: the output channels that count as generated tokens. */
#define LL_OUT_CONTENT   0x1 /* delta.content (or a completions-style choices[0].text) */
#define LL_OUT_REASONING 0x2 /* delta.reasoning_content or delta.reasoning (vLLM, SGLang, ...) */
#define LL_OUT_TOOL      0x4 /* delta.tool_calls (or the legacy delta.function_call) */

/* One SSE chunk that carried output. A chunk is not a token: a server may put several tokens in
 * one (speculative decoding, batching proxies); how many, only the server's usage can say. */
struct ll_chunk {
    int64_t t; /* arrival, ll_now_ns() */
    /* usage.completion_tokens sent in this same chunk (vLLM's continuous_usage_stats: the
     * count so far), -1 when the chunk carried no usage */
    int32_t usage_tokens;
    uint8_t out; /* LL_OUT_* bits */
};

/* One wire attempt of a logical request. */
struct ll_attempt {
    int64_t t_start, t_first_byte, t_end;
    int status;        /* HTTP status, 0 when none arrived */
    enum ll_class cls; /* outcome of this attempt */
    int64_t wait_ns;   /* backoff slept after it (0 for the last) */
};

#define LL_ATTEMPTS_KEPT 16 /* the first attempts are kept in full; later ones only counted */

struct ll_result {
    enum ll_class cls; /* final class: NONE on success */
    int status;        /* last HTTP status, 0 when none */
    int curl_code;     /* last CURLcode, 0 = CURLE_OK */
    char errmsg[160];  /* one line when cls != NONE */
    /* Which local limit the last attempt met when cls is RESOURCE (EMFILE -> DESCRIPTORS, ...;
     * see ll_limit_from_errno); LL_LIMIT_NONE otherwise, and for RESOURCE failures whose cause
     * is not a known limit. */
    enum ll_limit limit;

    char *content; /* assistant text (joined deltas when streaming); malloc'd, may be NULL */
    size_t content_len;
    char finish_reason[24];
    int prompt_tokens, completion_tokens, total_tokens; /* -1 when the server sent no usage */
    /* The output tokens asked for: the request's max_tokens, 0 when none was sent (or the body
     * was the caller's own JSON). An answer with fewer completion tokens came back short. */
    int max_tokens;
    /* usage.completion_tokens_details.reasoning_tokens (part of completion_tokens), -1 when
     * the server did not say */
    int reasoning_tokens;

    int attempts; /* wire requests made for this logical request */
    struct ll_attempt attempt[LL_ATTEMPTS_KEPT];

    int64_t t_intended;   /* from the request, or t_queued */
    int64_t t_queued;     /* submit */
    int64_t t_dispatch;   /* first attempt got an in-flight slot */
    int64_t t_first_byte; /* of the last attempt */
    /* Of the last attempt. Streaming: the first chunk that carried output on any channel
     * (content, reasoning, tool call); not streaming: the whole answer's arrival. */
    int64_t t_first_token;
    int64_t t_end;          /* final outcome */
    struct ll_chunk *chunk; /* stream: every chunk that carried output (last attempt) */
    size_t n_chunks, cap_chunks;

    /* curl's phase timings of the last attempt, seconds from its start; t_ttfb_s the answer's
     * first byte as our header callback saw it (0 when none came), not curl's STARTTRANSFER */
    double t_connect_s, t_ttfb_s, t_total_s;
    /* The last attempt's wire phases, ns, -1 when it had none: dns, connect and tls only when
     * it opened a connection (tls over HTTPS), ttfb from the request sent to the first byte
     * of the answer (curl's pretransfer, which 7.88 marks once a small request is out, to the
     * first byte our header callback saw; not curl's starttransfer, stamped as an HTTP/2
     * request's body goes out). */
    int64_t ph_dns_ns, ph_connect_ns, ph_tls_ns, ph_ttfb_ns;
    uint64_t bytes_rx, bytes_tx;
    int connects; /* new connections opened over all attempts (CURLINFO_NUM_CONNECTS) */
    /* TLS handshakes of the connections this call opened, in full or resumed from a session
     * ticket (OpenSSL's SSL_session_reused, read as the request goes out), over all attempts */
    int tls_full, tls_resumed;
    bool http2; /* the last attempt's answer came over HTTP/2 (CURLINFO_HTTP_VERSION) */
    /* Connection re-sends: the request went out again at once on a new connection because a
     * reused one had died before any byte of an answer (by curl within a transfer, or by
     * ll_xfer after one; see ll_xfer_end). Not attempts, not retries: no backoff, and the
     * server never processed the request that died. */
    int resends;
    void *user;
};

/* The HTTP version asked for (--http). */
enum ll_http {
    LL_HTTP_1_1 = 0, /* HTTP/1.1 only, also over TLS (ALPN offers http/1.1 alone) */
    LL_HTTP_2,       /* https: HTTP/2 through ALPN, 1.1 if the server declines; http: h2c with
                        prior knowledge */
};

/* Client configuration: what both backends honour identically. */
struct ll_config {
    const char *const *base_urls; /* e.g. "http://127.0.0.1:8000/v1"; spread: ll_xfer.slot */
    size_t n_base_urls;
    const char *api_key; /* bearer token or NULL; never printed */
    /* The header that carries api_key: NULL for "Authorization: Bearer KEY", else "NAME: KEY"
     * (Azure OpenAI's api-key). */
    const char *api_key_header;
    /* Ask for a compressed answer (Accept-Encoding: every encoding this libcurl decodes). An
     * encoded answer is decoded whether asked for or not (ll_xfer). */
    bool compressed;
    const char *default_model; /* used when a request names none */
    int concurrency;           /* in-flight limit (pool size / easy handles), >= 1 */
    struct ll_retry_policy retry;
    /* Limits per attempt, ms, 0 = none. connect: TCP (and TLS) set-up. ttfb: from the start of
     * the transfer to the first byte of the answer (a non-streamed answer arrives whole, so
     * this bounds its generation). idle: the longest silence between bytes once the answer
     * began (a stream that keeps sending is never cut by it). timeout: the whole attempt, off
     * by default: LLM streams may rightly last minutes. */
    int64_t connect_timeout_ms; /* 0 = curl default */
    int64_t ttfb_timeout_ms;
    int64_t idle_timeout_ms;
    int64_t timeout_ms;
    bool no_reuse; /* a fresh connection for every request */
    /* No TLS session cache (CURLOPT_SSL_SESSIONID_CACHE off): every new connection pays a full
     * handshake, as a client made afresh for each request does (it has no sessions to
     * resume). Off by default: reconnects resume a session (the threaded workers share theirs
     * through the share handle, the evented multi handle keeps its own). */
    bool no_tls_resume;
    bool verify_tls;     /* HTTPS verifies peer and host (default true) */
    const char *ca_file; /* PEM CA bundle HTTPS trusts (CURLOPT_CAINFO); NULL: the system's */
    enum ll_http http_version;
    /* At most this many connections open at once, 0 = no cap (--max-connections). A backend
     * that shares connections between calls (LL_CAP_SHARED_CONNS: evented) holds calls beyond
     * them waiting for a connection, or over HTTP/2 for a stream on one; one that holds a
     * connection per call in flight (threaded) is refused a cap below cfg->concurrency. */
    int max_connections;
    bool blocking;     /* evented only: the seed's pitfall, blocking call in the loop */
    size_t stack_size; /* threaded only: pthread stack bytes, 0 = default */
    uint64_t seed;     /* jitter RNG seed */
    /* Optional work per response (the seed's CPU-bound step), run on the thread that performed
     * the call -- a threaded worker, or the evented loop itself -- once the call is final and
     * before poll() hands it back. Must be thread-safe and must not call the client. */
    void (*on_final)(void *arg, struct ll_call *call);
    void *on_final_arg;
    /* A stop request to watch (ll_signal_flag(); NULL = none): once *stop is non-zero, every
     * outstanding call and every call submitted later is cancelled, and the client's blocking
     * waits look at it at least every LL_SIGNAL_POLL_NS, so wait/gather/next/progress return
     * promptly with CANCELLED results instead of running the workload to its end. */
    const volatile sig_atomic_t *stop;
    /* Optional (NULL = not asked): where create() describes a failure to start its threads --
     * the errno, how many had started, and every thread limit's counter read at that moment
     * (ll_thread_wall_snap), so that the wall is named from evidence. Written by create() on
     * the client thread, only when it returns LL_ELIMIT for threads. */
    struct ll_thread_wall *thread_wall;
};

/* Fill a config with the defaults documented in `llmload run --help`. */
void ll_config_defaults(struct ll_config *cfg);

/* Release what a finished result owns (content, token times). */
void ll_result_free(struct ll_result *res);

#endif
