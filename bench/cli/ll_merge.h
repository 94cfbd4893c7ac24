/* ll_merge.h - `llmload merge A.json B.json ... [--json OUT]`: the agents of one split run
 * (llmload run --segment i/N) added up into the run one host would have measured.
 *
 * Histograms are added bucket by bucket and counters summed (ll_stats_exact.h), so every
 * percentile is computed from the merged histogram, never averaged; throughput is over the
 * common wall window (the earliest start to the latest end, on the hosts' wall clocks); Little's
 * law is judged on the merged area and residence; the report is `run`'s own table, printed from
 * a struct ll_stats built from the files. Refused, with one line naming the first difference:
 * files that are not schema 3 run results, other histogram layouts, other workloads or
 * configurations, other splits, segments given twice. A missing segment or an agent that failed
 * (its exit code 1, 130, 143: not 0 or 3) is reported and makes the merged run a failed one
 * (exit 1): a run with a missing agent is not a smaller run.
 *
 * Files written by `llmload merge --json` merge again (their "segment.covers" lists every
 * segment they hold). Internal to bench/cli/ll_merge*.c; main thread only.
 */
#ifndef LL_MERGE_H
#define LL_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "ll_stats.h"

#define LL_MERGE_WHO "llmload merge"

/* One input file. */
struct ll_merge_in {
    const char *path;
    cJSON *doc;
    uint32_t count;   /* the split: N of segment i/N */
    uint32_t *covers; /* the segments it holds, n_covers of them */
    size_t n_covers;
    int exit_code;        /* run.exit_code */
    const char *host;     /* run.host, "" when absent */
    bool interrupted;     /* run.interrupted or run.stopped_by */
    int64_t start_ns;     /* its run's start, ns since the epoch (exact.start_utc) */
    double late_ms;       /* start.late_ms, NAN without --start-at */
    const char *start_at; /* start.at_utc, NULL without --start-at */
    struct ll_stats st;   /* read from "exact"; times on the wall clock's timeline */
    bool st_init;
};

/* Load and read `path` into *in (zeroed first). 0, or LL_EINVAL / LL_EIO / LL_ENOMEM after one
 * line on stderr naming the file and what is wrong. */
int ll_merge_load(struct ll_merge_in *in, const char *path);
void ll_merge_in_free(struct ll_merge_in *in);

/* Whether the files can be added up: one line on stderr for the first difference found
 * (layouts were checked at load). 0 or LL_EINVAL. */
int ll_merge_check(struct ll_merge_in *in, size_t n);

/* The segments of the split none of the files holds, into a new array (*missing, *n_missing;
 * the caller frees it). 0 or LL_ENOMEM. */
int ll_merge_missing(const struct ll_merge_in *in, size_t n, uint32_t **missing, size_t *n_missing);

/* Whether a config key (a dotted path under "config") is the agent's own and may differ between
 * agents: the endpoint it was given, its descriptor limit, the mock binary's path, the client's
 * share of the concurrency and its seed, the lookahead sized from that share, what its share of
 * the workload sent (workload.sent: added up in the merged file). */
bool ll_merge_host_key(const char *path);

/* The merged run. */
struct ll_merged {
    struct ll_merge_in *in; /* the inputs, n of them, in the order given */
    size_t n;
    struct ll_stats total; /* their sum; times on the wall clock's timeline */
    uint32_t *missing;     /* segments of the split no input holds */
    size_t n_missing;
    cJSON *failures;   /* array of one-line strings: why the merged run failed */
    int64_t skew_ns;   /* the largest offset of an input's 1 s windows from the merged ones */
    double late_ms;    /* the latest start after --start-at, NAN when none was set */
    size_t late_input; /* which input started latest */
};

/* "llmload merge: 4 files, segments 0-3 of 4, backend=... mode=..." and the table of inputs
 * (segment, host, exit code, counts, lateness, file). */
void ll_merge_header(FILE *out, const struct ll_merged *m);

/* The merged run's --json document: the same keys as a run's ("config", "results", "exact",
 * "segment" with every segment it covers, "start", "run"), plus "agents" (one summary per
 * input) and "merge" (failures, missing segments, window skew). NULL when out of memory. */
struct ll_thresh_set;
cJSON *ll_merge_json(const struct ll_merged *m, const struct ll_thresh_set *th, int exit_code);

/* total += the agent's figures: ll_stats_merge, and what only a merge of several hosts needs
 * (rates offered, in-flight limits, CPUs and resources summed; per-loop figures left out). */
int ll_merge_add(struct ll_stats *total, const struct ll_stats *agent, bool first);

#endif
