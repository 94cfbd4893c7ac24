/* ll_retryopts.h - the retry policy's flags, shared by run, batch and ab: the backoff's base and
 * cap and its jitter (--retries, the number of retries, stays each command's own flag), and the
 * policy's one-paragraph description for --help.
 *
 * Single-threaded (the command's main thread); no global state.
 */
#ifndef LL_RETRYOPTS_H
#define LL_RETRYOPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "ll_opts.h"
#include "ll_request.h"

struct ll_retryopts {
    double base_s, cap_s; /* --retry-base, --retry-cap */
    bool no_jitter;       /* --no-retry-jitter */
};

/* The policy's defaults (ll_retry_defaults: 1 s, 30 s, full jitter). */
void ll_retryopts_defaults(struct ll_retryopts *o, const struct ll_config *cfg);

/* Append the flags' entries to the table t[0..cap) at its {NULL} end, and end it again.
 * Returns how many were appended (0 when cap leaves no room for all of them). */
size_t ll_retryopts_append(struct ll_retryopts *o, struct ll_opt *t, size_t cap);

/* Check the flags (whole ms, base <= cap) and write them into cfg->retry. 0, or LL_EINVAL
 * after one line on stderr prefixed by `who`. */
int ll_retryopts_apply(const struct ll_retryopts *o, const char *who, struct ll_config *cfg);

/* The paragraph --help prints about retries, ending in a newline. */
extern const char ll_retryopts_help[];

#endif
