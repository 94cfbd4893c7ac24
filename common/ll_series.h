/* ll_series.h - a run as a series of 1 s windows: requests sent, completions by outcome class,
 * output tokens and the mean in flight, window by window, so that a run split over several
 * hosts adds up window for window and the merged run shows its shape over time (a ramp, a
 * stall, a host that started late), not only its totals.
 *
 * Windows are counted from the run's start (ll_stats.t_start): window k covers
 * [start + k s, start + (k+1) s). A request counts where it happened: sent in the window of its
 * submit, completed (with its class and its tokens) in the window it was collected. In flight is
 * the time-weighted mean of the requests submitted and not yet collected over the window (the
 * last window's mean counts only to the end of the run, as if the window were whole), so the
 * windows of several hosts add up to the mean of all of them. Tokens follow ll_stats' rule:
 * successes only, the server's usage where sent, else one per output chunk.
 *
 * Fed by ll_stats (ll_stats_note_submit, ll_stats_add_result) when ll_stats.series is set, on
 * the thread that folds results; memory grows by one row per second of run (about 120 bytes),
 * at most LL_SERIES_MAX_WINDOWS rows (later events fold into the last one: `clipped`).
 */
#ifndef LL_SERIES_H
#define LL_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "ll_err.h"
#include "ll_request.h"

#define LL_SERIES_WINDOW_NS   1000000000LL
#define LL_SERIES_MAX_WINDOWS (1u << 20) /* 12 days of 1 s windows */

struct ll_series_row {
    uint64_t sent;
    uint64_t by_class[LL_CLASS__COUNT]; /* completions; [LL_CLASS_NONE] = succeeded */
    uint64_t tokens;                    /* output tokens of the successes */
    double in_flight_ns;                /* integral of requests in flight over the window */
};

struct ll_series {
    int64_t origin; /* window 0 starts here (the stats' timeline); set by the first event */
    bool started;
    struct ll_series_row *row;
    size_t n, cap;
    int64_t last;         /* time of the last event, to integrate in flight */
    uint64_t outstanding; /* submitted, not collected */
    bool clipped;
};

/* A new, empty series (NULL when out of memory). Free with ll_series_free (NULL is fine). */
struct ll_series *ll_series_new(void);
void ll_series_free(struct ll_series *se);

/* Events: a submit at `now`, a final result collected at `now`, on a run that started at
 * `origin` (the first event fixes it). 0 or LL_ENOMEM (then the series stops growing and is
 * marked clipped; the run's own figures are not affected). */
int ll_series_note_submit(struct ll_series *se, int64_t origin, int64_t now);
int ll_series_note_result(struct ll_series *se, int64_t origin, const struct ll_result *r,
                          int64_t now);
/* Integrate in flight up to `end` (the run's t_stop) and make the rows reach it. */
int ll_series_close(struct ll_series *se, int64_t end);

/* dst += src, window by window, src's windows placed by its origin against dst's (rounded to
 * the nearest whole window; |misalignment| ns into *skew_ns when not NULL). dst's origin moves
 * to the earlier of the two. 0 or LL_ENOMEM. */
int ll_series_merge(struct ll_series *dst, const struct ll_series *src, int64_t *skew_ns);

/* {"window_ms": 1000, "columns": ["sent", "ok", ..., "tokens", "in_flight"], "clipped": false,
 *  "rows": [[...], ...]}: one row per window, the classes by ll_class_name. NULL when out of
 * memory. */
cJSON *ll_series_to_json(const struct ll_series *se);

/* Read rows written by ll_series_to_json into a new series with the given origin. NULL with one
 * phrase in why when the window or the columns differ from this build's, or a row is malformed
 * (or memory ran out). */
struct ll_series *ll_series_from_json(const cJSON *o, int64_t origin, char *why, size_t n);

#endif
