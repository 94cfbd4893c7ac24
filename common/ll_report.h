/* ll_report.h - a run's figures as a table for people and as JSON for scripts.
 *
 * The table is stable to diff: fixed labels in a fixed order, one figure (or one aligned row)
 * per line, every error class always listed, no timestamps. Sections that do not apply to a run
 * (streaming, open-loop schedule, loop lag) are left out as a whole, never half.
 *
 * The JSON carries every figure of the table and more (all percentiles, raw counts); the
 * configuration part never holds the API key, only whether one was set, and header values
 * that look like credentials are redacted. Callable from any thread; nothing is kept.
 */
#ifndef LL_REPORT_H
#define LL_REPORT_H

#include <stdio.h>

#include <cJSON.h>

#include "ll_request.h"
#include "ll_stats.h"

/* Percentiles printed in the table and written to JSON (p50 ... p99.9). */
#define LL_REPORT_PCTS                                                                             \
    {                                                                                              \
        50.0, 90.0, 99.0, 99.9                                                                     \
    }

/* The version of the JSON documents' layout. 2: throughput counts successes only, figures not
 * measured are null, closed loop has no corrected latency, thresholds and the open-loop
 * verdict (files without the key are version 1). 3: a run's document adds "exact" (every
 * histogram whole in a named bucket layout, every counter, the 1 s series: ll_stats_exact.h),
 * "segment" and "start" (ll_agent.h), run.exit_code and run.host; "config" gives the whole
 * workload's requests and concurrency also when the run was one segment of it; `llmload
 * merge` writes the same document for the merged run. Nothing of version 2 changed meaning. */
#define LL_REPORT_SCHEMA_VERSION 3

/* Every --json document starts with these keys: "tool": "llmload", "command", "schema_version",
 * "llmload_version", "git_commit" (of the build), "created_utc" ("2026-11-25T14:03:09Z"). */
void ll_report_meta_json(cJSON *doc, const char *command);

/* The summary table. */
void ll_report_table(FILE *out, const struct ll_stats *s);

/* One line for the end of a run: "accounting OK: ..." or "accounting FAILED: ...". */
void ll_report_accounting(FILE *out, const struct ll_stats *s);

/* Open loop that did not keep up: "open loop did not keep up: offered 5000.0 req/s, achieved
 * 99.6 req/s (2%); held back by the in-flight cap (10): 990 of 1000 requests waited for a
 * slot, up to 9800 ms; the rate needs ~500 in flight" into buf (snprintf's return); an empty
 * string and 0 when it kept up or was not judged (closed loop). Needs be.threads set. */
int ll_report_keepup_line(char *buf, size_t n, const struct ll_stats *s);

/* "200 failed (429: 65, 5xx: 135)": the failures by class, the classes with none left out, into
 * buf (snprintf's contract and return). */
int ll_report_failures_line(char *buf, size_t n, const struct ll_stats *s);

/* "local limit met: descriptors (412 requests failed; RLIMIT_NOFILE soft 1024 hard 20000)" for
 * limit l into buf (snprintf's contract and return). The table prints one per limit the run met
 * (under the failures by class); the JSON carries the first as results.limits.line. */
int ll_report_limit_line(char *buf, size_t n, const struct ll_stats *s, enum ll_limit l);

/* Every figure as a new cJSON object (NULL on allocation failure); the caller owns it. */
cJSON *ll_report_stats_json(const struct ll_stats *s);

/* The client configuration as a new cJSON object; api_key appears only as "api_key_set". */
cJSON *ll_report_config_json(const struct ll_config *cfg);

/* Header lines for the JSON configuration: values of credential-like headers (Authorization,
 * *api-key*, *token*, cookie) are replaced by "<redacted>". NULL on allocation failure. */
cJSON *ll_report_headers_json(const char *const *headers, size_t n);

/* Write `doc` pretty-printed to path ("-" = stdout). 0 or LL_EIO / LL_ENOMEM. */
int ll_report_write_json(const cJSON *doc, const char *path);

#endif
