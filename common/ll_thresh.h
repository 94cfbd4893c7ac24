/* ll_thresh.h - thresholds in the manner of k6: conditions a run's figures must meet, for CI.
 *
 * One expression per --threshold flag; it states what must HOLD (k6's 'p(95)<200'):
 *
 *   EXPR    := METRIC OP NUMBER [UNIT]              spaces allowed around OP
 *   METRIC  := [HIST "."] STAT                      a latency figure; HIST defaults to e2e
 *            | "error_rate"                         failed / (succeeded + failed), 0..1
 *            | "throughput"                         successful requests per second
 *            | "goodput_share"                      share of requests that met --slo, 0..1
 *   HIST    := a latency histogram by its report name: e2e, corrected, last_attempt,
 *              queue_wait, ttft, itl, ... (ll_stats_hist_name)
 *   STAT    := "p" N | "p(" N ")" | "mean" | "avg" | "min" | "max"      N in (0, 100]
 *   OP      := "<" | "<=" | ">" | ">="
 *   UNIT    := latency: "us" | "ms" | "s" (default ms); rates: "%" (else a fraction);
 *              throughput: "/s" (optional)
 *
 * Examples: 'p99<500ms' (e2e), 'ttft.p50<=200', 'error_rate<1%', 'throughput>=100'.
 * A figure that was not measured (an empty histogram, no finished request) fails its
 * threshold: CI should not pass on a figure nobody saw.
 *
 * In ratio mode (llmload compare) the same grammar bounds the ratio B/A of the figure between
 * two runs: 'throughput>=0.95' fails when B has less than 95% of A's throughput; NUMBER is a
 * bare ratio or a percentage. The shares (error_rate, goodput_share) are bounded by their
 * DIFFERENCE B - A in percentage points instead, NUMBER written with '%' and possibly signed:
 * 'error_rate<=1%' fails when B's error rate is more than one point above A's. A ratio of
 * shares means nothing when A's is 0 (a clean baseline), the usual case.
 *
 * Pure functions on the caller's data; any thread.
 */
#ifndef LL_THRESH_H
#define LL_THRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ll_stats.h"

enum ll_thresh_metric {
    LL_TH_LATENCY,
    LL_TH_ERROR_RATE,
    LL_TH_THROUGHPUT,
    LL_TH_GOODPUT_SHARE,
};

enum ll_thresh_op { LL_TH_LT, LL_TH_LE, LL_TH_GT, LL_TH_GE };

#define LL_TH_MEAN (-1.0) /* ll_thresh.pct for the mean */
#define LL_TH_MIN  0.0    /* ... the minimum (percentile 0) */
#define LL_TH_MAX  100.0  /* ... the maximum (percentile 100) */

struct ll_thresh {
    char expr[64]; /* as given, spaces removed: the line naming a failed threshold quotes it */
    enum ll_thresh_metric metric;
    int hist;   /* LL_TH_LATENCY: enum ll_stats_hist */
    double pct; /* LL_TH_LATENCY: the percentile, or LL_TH_MEAN / LL_TH_MIN / LL_TH_MAX */
    enum ll_thresh_op op;
    double bound; /* latency: ns (ratio mode: a ratio); rates: 0..1; throughput: req/s;
                     diff: B - A as a fraction (-1..1) */
    bool ratio;   /* parsed in ratio mode */
    bool diff;    /* ratio mode on a share: bounds B - A, not B/A */
};

/* Parse one expression (grammar above); ratio: compare's B/A mode. 0 or LL_EINVAL. */
int ll_thresh_parse(const char *expr, bool ratio, struct ll_thresh *out);

/* Does `value` (in the bound's unit) meet the threshold? */
bool ll_thresh_holds(const struct ll_thresh *t, double value);

/* The figure a threshold bounds, from a run's stats (ns for latency); false when it was not
 * measured. */
bool ll_thresh_value(const struct ll_thresh *t, const struct ll_stats *s, double *out);

/* True when the threshold can no longer pass whatever the `remaining` requests still to finish
 * turn out to be (k6's abortOnFail, without its guesswork): an error rate over its bound
 * counted against every request of the run, more slow successes than the percentile allows of
 * all of them, a maximum already over its bound. Throughput and means are never doomed early.
 * remaining == UINT64_MAX: the run's size is unknown, nothing is doomed before the end. */
bool ll_thresh_doomed(const struct ll_thresh *t, const struct ll_stats *s, uint64_t remaining);

/* The figure's path in an `llmload run --json` file, for compare: "results.latency.e2e.p99_ms",
 * or the derived "=ok_rps" / "=error_share" that ll_compare.c computes. The JSON holds latency
 * in ms. 0, or LL_EINVAL when the file does not carry it (a percentile other than 50, 90, 99,
 * 99.9). */
int ll_thresh_json_path(const struct ll_thresh *t, char *buf, size_t n);

/* "e2e p99 612.300 ms" style text of a value in the threshold's unit ("-" when NAN). */
void ll_thresh_format(const struct ll_thresh *t, double value, char *buf, size_t n);

/* A run's thresholds, judged at the end (or when one made the run stop early). */
struct ll_thresh_set {
    struct ll_thresh *v;
    size_t n, cap;
    bool abort_on_fail; /* stop the run as soon as one is doomed (ll_thresh_doomed) */
    int aborted_by;     /* index of the threshold that stopped the run, -1 if none */
};

/* Parse `expr` and append it. 0, LL_EINVAL (bad expression) or LL_ENOMEM. */
int ll_thresh_set_add(struct ll_thresh_set *set, const char *expr, bool ratio);
void ll_thresh_set_free(struct ll_thresh_set *set);

/* The first threshold of the set that is doomed, or -1 (ll_thresh_doomed's contract). */
int ll_thresh_set_doomed(const struct ll_thresh_set *set, const struct ll_stats *s,
                         uint64_t remaining);

/* Judge every threshold against the run's figures: one line each on `out` ("threshold
 * p99<500ms: ok (21.350 ms)" or "... FAILED (612.300 ms)"), and one line per failed threshold
 * on `err` prefixed with `who` ("llmload run: threshold failed: p99<500ms (612.300 ms)").
 * Returns how many failed. */
size_t ll_thresh_report(const struct ll_thresh_set *set, const struct ll_stats *s, FILE *out,
                        FILE *err, const char *who);

/* [{"expr", "ok", "value" (ms for latency, 0..1 for shares, req/s; null when not measured),
 *   "stopped_run"}] as a new cJSON array; NULL on allocation failure. */
struct cJSON *ll_thresh_json(const struct ll_thresh_set *set, const struct ll_stats *s);

#endif
