/* ll_hist_json.h - a histogram written whole, so that results from several processes or hosts
 * can be added up exactly (bucket by bucket) instead of averaging their percentiles.
 *
 * The layout names everything a reader must share for the buckets to mean the same values:
 *     {"kind": "log-linear", "unit": "ns", "sub_bits": 7, "octaves": 40, "buckets": 5248}
 * (ll_hist.h: bucket i of octave k >= 1 covers [(128 + sub) << (k-1), ...), each under 1/128 of
 * its values wide). A reader refuses another layout rather than rebinning, which would not be
 * exact. A histogram is written sparsely, only its non-empty buckets:
 *     {"n": 3, "min": 1200, "max": 5100, "sum": 9300, "sumsq": 3.3e7,
 *      "buckets": [[index, count], ...]}          indices ascending, counts > 0, adding up to n
 * Every number is an integer below 2^53 (exact in JSON) except sum and sumsq, which cJSON
 * writes with 17 significant digits (exact for a double).
 *
 * Pure; any thread. Objects returned are the caller's (cJSON_Delete).
 */
#ifndef LL_HIST_JSON_H
#define LL_HIST_JSON_H

#include <stddef.h>

#include <cJSON.h>

#include "ll_hist.h"

/* This build's layout object, or NULL when out of memory. */
cJSON *ll_hist_layout_json(void);

/* Whether `layout` (read from a file) is this build's. 0, or LL_EINVAL with one phrase naming
 * the first difference in why ("sub_bits 6, this build's 7"; "no layout"). */
int ll_hist_layout_check(const cJSON *layout, char *why, size_t n);

/* h as above; NULL when out of memory. */
cJSON *ll_hist_to_json(const struct ll_hist *h);

/* Read `o` (this build's layout) into *h, which is overwritten. 0, or LL_EINVAL with one phrase
 * in why ("bucket 9999 out of range", "counts add up to 4, n is 5"). */
int ll_hist_from_json(const cJSON *o, struct ll_hist *h, char *why, size_t n);

/* A JSON number that is a whole number in [0, 2^53]: into *out. Shared by the readers of
 * exact results. */
int ll_json_get_u64(const cJSON *v, uint64_t *out);

/* A number that reads back as the same double: cJSON prints 15 significant digits whenever
 * they read back within an epsilon, which loses the last bits of a sum (and of integers above
 * 10^15); this writes 17 ("%.17g", exact for every double). Non-finite: null. Shared by the
 * writers of exact results. */
cJSON *ll_json_exact_number(double v);

#endif
