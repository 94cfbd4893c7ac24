/* ll_netopts.h - the flags that say how llmload meets a real endpoint, shared by the subcommands
 * that may call one (run, batch, ab): the time limits curl does not have (time to first byte,
 * idle), whether a cut answer is sent again, the longest server-asked wait, compression, and the
 * header that carries the API key.
 *
 * Use: ll_netopts_defaults() from a config's defaults, append ll_netopts_table() entries to the
 * subcommand's own flag table (ll_opts.h), parse, then ll_netopts_apply() to the config. The
 * strings point into argv. Single-threaded, no global state.
 */
#ifndef LL_NETOPTS_H
#define LL_NETOPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ll_backend.h"
#include "ll_opts.h"
#include "ll_request.h"

struct ll_netopts {
    double ttfb_s, idle_s;   /* cfg ttfb_timeout_ms / idle_timeout_ms, in s; 0 = none */
    double max_retry_wait_s; /* cfg retry.max_retry_wait_ms (and the clamp), in s */
    bool retry_partial;      /* cfg retry.retry_partial */
    bool compressed;         /* cfg compressed */
    const char *key_header;  /* cfg api_key_header; NULL: Authorization: Bearer */
    const char *cacert;      /* cfg ca_file; NULL: the system's CA store */
    const char *http;        /* "1.1" or "2": cfg http_version */
    int64_t max_connections; /* cfg max_connections; 0 = no cap */
};

/* Fill n from cfg's current values (ll_config_defaults first). */
void ll_netopts_defaults(struct ll_netopts *n, const struct ll_config *cfg);

/* Write the flags' entries into t[0..cap) and return how many (no terminating entry). */
size_t ll_netopts_table(struct ll_netopts *n, struct ll_opt *t, size_t cap);

/* Append the entries to a table ending with a {NULL} entry at or before t[cap-1]; the table
 * stays terminated. Returns the number appended (fewer when cap is short). */
size_t ll_netopts_append(struct ll_netopts *n, struct ll_opt *t, size_t cap);

/* Check what one flag alone cannot (a header name that is one token, --http's value, a
 * readable --cacert). `who` prefixes the one
 * line printed on stderr. 0 or LL_EINVAL. */
int ll_netopts_check(const struct ll_netopts *n, const char *who);

/* --max-connections against the backend that will run `concurrency` calls in flight: a backend
 * without LL_CAP_SHARED_CONNS holds a connection per call in flight (libcurl cannot share one
 * between threads), so a cap below `concurrency` is refused with one line on stderr (what to
 * change) and LL_EINVAL; else 0. */
int ll_netopts_check_backend(const struct ll_netopts *n, const struct ll_backend *be,
                             int64_t concurrency, const char *who);

/* An endpoint URL that cannot work (not http(s), no host, a port outside 1-65535, what curl's
 * URL parser refuses: ll_xfer_url_set) is a usage error found before anything runs: one line
 * "WHO: WHAT 'URL': why" on stderr and LL_EINVAL; else 0. */
int ll_netopts_check_url(const char *who, const char *what, const char *url);

/* Copy the values into cfg. n must outlive cfg (key_header is kept by pointer). */
void ll_netopts_apply(const struct ll_netopts *n, struct ll_config *cfg);

#endif
