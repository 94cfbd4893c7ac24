/* ll_stats_exact.h - a run's struct ll_stats written whole, and read back, so that runs of one
 * workload split over several processes or hosts merge into exactly the figures one big run
 * would have had: every histogram bucket by bucket, every counter, the windows of the series.
 *
 * The "exact" object of a --json document (schema_version 3):
 *   "layout":     the histograms' bucket layout (ll_hist_json.h), the outcome classes and the
 *                 local limits by name: a reader with another layout refuses, it never guesses
 *   "start_utc":  the wall-clock instant of the run's start (ll_stats.t_start), to the ns
 *   "fields":     every counter of struct ll_stats by its name ("submitted", "res.cpu_user_s",
 *                 "by_class": {"ok": 95, "429": 5, ...}); times ("t_stop", "dispatch_first",
 *                 ...) as ns after the start, null when not set
 *   "histograms": every latency histogram by its ll_stats_hist_name, and "loop_lag" (or null)
 *   "series":     the 1 s windows (ll_series.h), or null when the run kept none
 * Read back, the times land on the wall clock's timeline (ns since the epoch), so that the
 * runs of several hosts share one timeline and ll_stats_merge() takes the union of windows.
 *
 * A field added to struct ll_stats must be added to the table in ll_stats_exact.c, or the run's
 * files lose it; ll_stats_exact_coverage() (a unit test calls it) finds a field the table
 * misses by the gap it leaves in the struct's layout.
 *
 * Pure apart from allocation; any thread.
 */
#ifndef LL_STATS_EXACT_H
#define LL_STATS_EXACT_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "ll_stats.h"

/* The exact object of `s`. wall_offset_ns: the wall clock minus the monotonic clock during the
 * run (ll_walltime_offset_ns), which places t_start on the wall clock. s->series, when set,
 * should be closed (ll_series_close at t_stop). NULL when out of memory. */
cJSON *ll_stats_exact_json(const struct ll_stats *s, int64_t wall_offset_ns);

/* Read an exact object into `s` (from ll_stats_init: histograms allocated, the rest as init
 * leaves it; every field is overwritten, s->series is set when the file has one). The run's
 * start lands in *start_unix_ns and every time on that timeline. 0, or LL_EINVAL with one
 * phrase in why naming what does not fit ("field res.cpu_user_s missing", "histogram ttft
 * unknown to this build", "histogram sub_bits 6, this build's 7"), or LL_ENOMEM. */
int ll_stats_exact_read(const cJSON *exact, struct ll_stats *s, int64_t *start_unix_ns, char *why,
                        size_t n);

/* The table covers every byte of struct ll_stats but alignment padding. 0, or LL_EINVAL with
 * the offset of the first byte no field of the table holds. */
int ll_stats_exact_coverage(char *why, size_t n);

#endif
