/* ll_agent.h - `llmload run` as one agent of a run split over several hosts: --segment i/N
 * (ll_segment.h) and --start-at TIME, and what its --json carries so that `llmload merge` can
 * add the agents up exactly (ll_stats_exact.h).
 *
 * --start-at: every agent starts its schedule at the same wall-clock instant (RFC 3339 or epoch
 * seconds). The instant becomes the run's start on the monotonic clock, so open-loop send times
 * and --duration's end are the same instants on every agent (as far as their clocks agree). An
 * agent that gets there late (it was started late, or its set-up took longer) still starts its
 * schedule at the common instant: it catches up, says on stderr by how much it was late, and
 * its JSON records it (start.late_ms).
 *
 * The JSON: "config" describes the whole workload (requests and concurrency before the split,
 * the same in every agent's file); "segment" this agent's share of it; "start" when it started;
 * "run.exit_code" how it ended; "exact" every figure whole. Main thread only.
 */
#ifndef LL_AGENT_H
#define LL_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "ll_segment.h"
#include "ll_stats.h"

#define LL_AGENT_LATE_NS  (1000 * 1000LL)        /* a start this late is said */
#define LL_AGENT_AHEAD_NS (86400 * 1000000000LL) /* --start-at further ahead is refused */

struct ll_agent {
    const char *segment_spec;  /* --segment, NULL: the whole workload */
    const char *start_at_spec; /* --start-at, NULL: at once */

    struct ll_segment seg; /* {0, 1} without --segment */
    bool start_at_set;
    int64_t start_at_ns; /* ns since the epoch */
    /* the workload before the split, for "config" */
    int64_t requests_total, concurrency_total, concurrency_asked_total;
    int64_t concurrency_asked_share;
    /* at the start (ll_agent_start) */
    int64_t wall_offset_ns; /* wall clock minus monotonic */
    int64_t late_ns;        /* after --start-at; 0 when on time or not set */
};

/* Parse the flags (after ll_opts_parse). 0, or LL_EINVAL after one usage line on stderr
 * prefixed by `who`. */
int ll_agent_parse(struct ll_agent *a, const char *who);

/* Take this agent's share of the run's requests and concurrency, in place (*requests is
 * ignored when `unbounded`: --duration alone). Call after the run's own sizing (concurrency no
 * more than requests) and before anything is derived from them. 0, or LL_EINVAL after one
 * usage line when the share would be empty. */
int ll_agent_split(struct ll_agent *a, const char *who, bool unbounded, int64_t *requests,
                   int64_t *concurrency, int64_t *concurrency_asked);

/* The seed for this agent's retry jitter and embedded mock (the run's seed when whole). */
uint64_t ll_agent_seed(const struct ll_agent *a, uint64_t seed);

/* One header line when split or started at a set instant; nothing otherwise. */
void ll_agent_header(FILE *out, const struct ll_agent *a, bool unbounded);

/* Wait for --start-at (a stop signal ends the wait early) and read the clocks. Returns the
 * run's start on the monotonic clock for ll_drive_opts.t_start_ns, or 0 (start now) without
 * --start-at. A late start is said on stderr. */
int64_t ll_agent_start(struct ll_agent *a, const char *who);

/* Add "segment", "start", "run.exit_code", "run.host" and "exact" to a run's document, and put
 * the whole workload's requests and concurrency in its "config". s->series should be closed.
 * 0 or LL_ENOMEM. */
int ll_agent_json(cJSON *doc, const struct ll_agent *a, const struct ll_stats *s, bool unbounded,
                  int exit_code);

#endif
