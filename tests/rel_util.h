/* rel_util.h - helpers shared by the reliability tests: descriptor and RSS counts from /proc,
 * and figures read from mockllm's /metrics. */
#ifndef REL_UTIL_H
#define REL_UTIL_H

#include <sys/types.h>

/* Open descriptors of `pid` (0: this process), or -1. */
int rel_fd_count(pid_t pid);

/* Resident set size in KiB (VmRSS of /proc/PID/status; pid 0: this process), or -1. */
long rel_rss_kb(pid_t pid);

/* GET http://host:port/metrics with a fresh easy handle. Returns the malloc'd text, or NULL. */
char *rel_metrics_get(const char *host, int port);

/* Sum of every sample of metric `name` (any labels) in Prometheus text, or -1 when none.
 * label_filter, when not NULL, must appear inside the sample's {...}. */
long long rel_metric_sum(const char *text, const char *name, const char *label_filter);

#endif
