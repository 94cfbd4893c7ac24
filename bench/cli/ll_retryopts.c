/* ll_retryopts.c - the retry policy's flags (ll_retryopts.h). */
#include "ll_retryopts.h"

#include <stdio.h>
#include <string.h>

#include "ll_err.h"

const char ll_retryopts_help[] =
    "RETRIES: an attempt that ends with 429, a 5xx, a timeout or a connection error is tried\n"
    "  again, up to --retries more times (4xx other than 429, protocol errors and cancelled\n"
    "  requests never are). Before retry k (1, 2, ...) the request waits a time drawn uniformly\n"
    "  from [0, min(--retry-cap, --retry-base x 2^(k-1))] (full jitter, so that clients that\n"
    "  failed together do not retry together; --no-retry-jitter waits the whole of it). A\n"
    "  server's Retry-After header replaces the computed wait. The wait holds the request's\n"
    "  in-flight slot.\n";

void ll_retryopts_defaults(struct ll_retryopts *o, const struct ll_config *cfg)
{
    o->base_s = (double)cfg->retry.base_ms / 1000.0;
    o->cap_s = (double)cfg->retry.cap_ms / 1000.0;
    o->no_jitter = !cfg->retry.jitter;
}

size_t ll_retryopts_append(struct ll_retryopts *o, struct ll_opt *t, size_t cap)
{
    const struct ll_opt tab[] = {
        {"retry-base", LL_OPT_SECONDS, &o->base_s, 0, 86400, "T",
         "backoff before the first retry (doubles with each retry; see RETRIES)", NULL, NULL, 0},
        {"retry-cap", LL_OPT_SECONDS, &o->cap_s, 0, 86400, "T",
         "longest backoff before any one retry (see RETRIES)", NULL, NULL, 0},
        {"no-retry-jitter", LL_OPT_BOOL, &o->no_jitter, 0, 0, NULL,
         "wait the whole backoff, not a uniform draw below it", NULL, NULL, 0},
    };
    size_t k = sizeof(tab) / sizeof(tab[0]), end = 0;
    while (end < cap && t[end].name != NULL) {
        end++;
    }
    if (end + k + 1 > cap) {
        return 0;
    }
    memcpy(t + end, tab, sizeof(tab));
    memset(&t[end + k], 0, sizeof(t[end + k]));
    return k;
}

/* Seconds to whole ms, refusing what the ms would lose (a value in (0, 1 ms)). */
static int to_ms(const char *who, const char *flag, double s, int64_t *ms)
{
    *ms = (int64_t)(s * 1000.0 + 0.5);
    if (s > 0 && *ms == 0) {
        fprintf(stderr, "%s: --%s %g: below the 1 ms resolution backoffs are timed with\n", who,
                flag, s);
        return LL_EINVAL;
    }
    return 0;
}

int ll_retryopts_apply(const struct ll_retryopts *o, const char *who, struct ll_config *cfg)
{
    int64_t base, cap;
    if (to_ms(who, "retry-base", o->base_s, &base) != 0 ||
        to_ms(who, "retry-cap", o->cap_s, &cap) != 0) {
        return LL_EINVAL;
    }
    if (base > cap) {
        fprintf(stderr,
                "%s: --retry-base %gs is above --retry-cap %gs: no wait could be that long\n", who,
                o->base_s, o->cap_s);
        return LL_EINVAL;
    }
    cfg->retry.base_ms = base;
    cfg->retry.cap_ms = cap;
    cfg->retry.jitter = !o->no_jitter;
    return 0;
}
