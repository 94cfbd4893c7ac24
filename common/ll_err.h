/* ll_err.h - the one error table of llmload.
 *
 * Two tables, both X-macros so that the enum, the short name and the message can never drift
 * apart (libuv's UV_ERRNO_MAP idea):
 *
 *   LL_ERR_MAP   return codes of functions: 0 is success, every failure is a negative LL_E*.
 *   LL_CLASS_MAP the final outcome class of one request (a result, not a failure of the
 *                program: a failed request is counted by class, never fatal).
 */
#ifndef LL_ERR_H
#define LL_ERR_H

#define LL_ERR_MAP(X)                                                                              \
    X(NOMEM, "out of memory")                                                                      \
    X(INVAL, "invalid argument")                                                                   \
    X(RANGE, "value out of range")                                                                 \
    X(NOENT, "no such file or entry")                                                              \
    X(IO, "input/output error")                                                                    \
    X(SYS, "system call failed")                                                                   \
    X(CURL, "libcurl call failed")                                                                 \
    X(UV, "libuv call failed")                                                                     \
    X(JSON, "invalid JSON")                                                                        \
    X(STATE, "operation not valid in this state")                                                  \
    X(TIMEDOUT, "timed out")                                                                       \
    X(CANCELED, "operation canceled")                                                              \
    X(LIMIT, "resource limit reached")                                                             \
    X(PROTO, "protocol error")                                                                     \
    X(CONNECT, "cannot connect")                                                                   \
    X(UNSUPPORTED, "not supported by this backend")                                                \
    X(NOFILE, "too few file descriptors free to start: raise ulimit -n")

enum ll_err {
    LL_OK = 0,
#define LL_ERR_ENUM_(name, msg) LL_E##name,
    LL__ERR_FIRST = -1000,
    LL_ERR_MAP(LL_ERR_ENUM_)
#undef LL_ERR_ENUM_
        LL__ERR_LAST
};

/* "ENOMEM"-style name and a one-line message for a code; never NULL, also for unknown codes. */
const char *ll_err_name(int err);
const char *ll_strerror(int err);

/* Final outcome class of a request. Order matters only for printing. */
#define LL_CLASS_MAP(X)                                                                            \
    X(NONE, "ok", "succeeded")                                                                     \
    X(HTTP_4XX, "4xx", "HTTP 4xx other than 429 (not retried)")                                    \
    X(HTTP_429, "429", "HTTP 429 rate limited")                                                    \
    X(HTTP_5XX, "5xx", "HTTP 5xx server error")                                                    \
    X(TIMEOUT, "timeout", "connect or total timeout")                                              \
    X(CONNECT, "connect", "connection refused, reset or closed early")                             \
    X(PARTIAL, "partial", "the answer had begun when it was cut (not re-sent: may be billed)")     \
    X(PROTOCOL, "protocol", "malformed HTTP, JSON or SSE answer")                                  \
    X(RESOURCE, "resource", "a local limit was met (descriptors, threads, memory, ports)")         \
    X(CANCELLED, "cancelled", "cancelled before it finished")

enum ll_class {
#define LL_CLASS_ENUM_(name, short_, msg) LL_CLASS_##name,
    LL_CLASS_MAP(LL_CLASS_ENUM_)
#undef LL_CLASS_ENUM_
        LL_CLASS__COUNT
};

const char *ll_class_name(enum ll_class c);  /* "ok", "429", "timeout", ... */
const char *ll_class_descr(enum ll_class c); /* one line for reports */
/* Parse a short name back; returns 0 and sets *out, or LL_EINVAL. */
int ll_class_parse(const char *name, enum ll_class *out);

/* Which local limit a RESOURCE failure met (ll_result.limit). The errno table that decides it
 * is in ll_err.c (ll_limit_from_errno), next to this one. */
#define LL_LIMIT_MAP(X)                                                                            \
    X(NONE, "none", "no local limit")                                                              \
    X(DESCRIPTORS, "descriptors", "file descriptors (RLIMIT_NOFILE or the system file table)")     \
    X(THREADS, "threads", "threads (RLIMIT_NPROC, threads-max, pid_max or stack memory)")          \
    X(MEMORY, "memory", "memory (an allocation failed)")                                           \
    X(PORTS, "ports", "local ephemeral ports (EADDRNOTAVAIL)")

enum ll_limit {
#define LL_LIMIT_ENUM_(name, short_, msg) LL_LIMIT_##name,
    LL_LIMIT_MAP(LL_LIMIT_ENUM_)
#undef LL_LIMIT_ENUM_
        LL_LIMIT__COUNT
};

const char *ll_limit_name(enum ll_limit l);  /* "descriptors", ...; "none" for LL_LIMIT_NONE */
const char *ll_limit_descr(enum ll_limit l); /* one line for reports */
/* EMFILE/ENFILE -> DESCRIPTORS, ENOMEM/ENOBUFS -> MEMORY, EADDRNOTAVAIL -> PORTS,
 * anything else (0 included) -> NONE. */
enum ll_limit ll_limit_from_errno(int e);

#endif
