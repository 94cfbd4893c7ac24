/* ll_run_int.h - what the files of `llmload run` share (internal to bench/cli/ll_run*.c):
 * the run's flags and what is derived from them (struct run), and the functions one file
 * calls in another. ll_run_opts.c: flags, --help, checks, the endpoint; ll_run.c: the mock,
 * the client and the load; ll_run_report.c: the header, the verdict and the JSON.
 * Everything here runs on the main thread. */
#ifndef LL_RUN_INT_H
#define LL_RUN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ll_agent.h"
#include "ll_cmd.h"
#include "ll_client.h"
#include "ll_clock.h"
#include "ll_drive.h"
#include "ll_limits.h"
#include "ll_mockproc.h"
#include "ll_netopts.h"
#include "ll_opts.h"
#include "ll_outfile.h"
#include "ll_proc.h"
#include "ll_report.h"
#include "ll_retryopts.h"
#include "ll_signal.h"
#include "ll_window.h"
#include "ll_thresh.h"
#include "ll_workload_flags.h"

#define WHO                     "llmload run"
#define OPEN_LOOP_DEFAULT_LIMIT 100
#define LOOKAHEAD_DEFAULT_MAX   64 /* enough to hide the driver's turn-around; bounded memory */
#define MOCK_START_TIMEOUT_MS   10000
#define MOCK_STOP_TIMEOUT_MS    5000
#define RUN_OPTS_MAX            80 /* entries of the flag table, its end included */

struct run {
    /* flags */
    const char *backend, *model, *prompt, *arrivals, *slo_spec, *url, *json_path, *warmup;
    const char *window_spec; /* --window FROM[:TO] */
    int64_t server_pid;      /* --server-pid, else the embedded mock's when there is a window */
    int64_t requests, concurrency, lookahead, max_tokens, retries, stack_size, seed;
    int64_t concurrency_asked; /* --concurrency as given; `concurrency` is what the work needs */
    double rate, timeout_s, connect_timeout_s, latency_ms, fault_rate, duration_s, max_error_rate;
    double grace_s;            /* --graceful-stop */
    int64_t warmup_requests;   /* --warmup N */
    double warmup_s;           /* --warmup 30s */
    struct ll_drive_warm warm; /* what --warmup did */
    struct ll_retryopts retry; /* --retry-base, --retry-cap, --no-retry-jitter */
    bool stream, no_reuse, blocking, insecure, no_preflight, quiet, no_limit_check, abort_on_fail;
    bool tls; /* the embedded mock serves HTTPS (mockllm --tls); its CA is trusted */
    bool url_from_env;
    bool concurrency_seen, lookahead_seen, latency_seen, fault_seen, seed_seen, retries_seen;
    bool requests_seen, duration_seen, max_error_seen, prompt_seen;
    struct ll_strv headers, mock_args, urls; /* urls: every --url (ll_xfer.slot) */
    struct ll_netopts net;                   /* real-endpoint flags (ll_netopts.h) */
    struct ll_strv thresholds;               /* every --threshold */
    struct ll_wl_flags wl; /* dataset, lengths, ramp, burstiness, trace (ll_workload_flags.h) */
    struct ll_agent agent; /* --segment, --start-at (ll_agent.h) */

    /* derived */
    const struct ll_backend *be;
    struct ll_slo slo;
    enum ll_arrivals arr;
    const char *url_source; /* "--url", "OPENAI_BASE_URL", "embedded mockllm" */
    struct ll_mockproc mock;
    bool mock_started;
    struct ll_config cfg;
    const char *base_url;
    struct ll_message msg;
    struct ll_request req;
    struct ll_nofile nofile;                /* RLIMIT_NOFILE, raised at start */
    struct ll_outfile json;                 /* --json, opened before anything starts */
    struct ll_thresh_set th;                /* --threshold and --max-error-rate, parsed */
    int64_t timeout_ms, connect_timeout_ms; /* as applied: whole ms */
    int64_t win_from_ns, win_to_ns;
    struct ll_window win; /* when window_spec is set */
    bool win_on;
    struct ll_thread_wall twall; /* why the threads could not start (cfg.thread_wall) */
};

/* ll_run_opts.c */
/* Every field zero, then each flag's default. */
/* Whether a connect-class failure's CURLcode says the server answered but its certificate (or
 * pinned key) was refused: "failed TLS verification", not "unreachable". Any thread. */
bool ll_run__tls_refused(int curl_code);

void ll_run__defaults(struct run *r);
/* One table for parsing and --help into t (cap entries, RUN_OPTS_MAX is enough). Call after
 * ll_run__defaults() so that help shows defaults. */
void ll_run__table(struct run *r, struct ll_opt *t, size_t cap);
/* --help on stdout. */
void ll_run__help(struct run *r);
/* --duration without --requests: no count, the time ends the run. */
bool ll_run__unbounded(const struct run *r);
/* Checks that need more than one flag; fills the derived fields. 0 or LL_EXIT_USAGE (one line
 * printed). */
int ll_run__validate(struct run *r);
/* A concurrency the machine cannot give: non-zero (one line printed). */
int ll_run__check_limits(const struct run *r);
/* --url, else $OPENAI_BASE_URL with --url-from-env, else the embedded mock (base_url stays
 * NULL: started later). 0 or LL_EXIT_USAGE (one line printed). */
int ll_run__endpoint(struct run *r);
/* Frees what the flags allocated; r can be given to ll_run__defaults() again. */
void ll_run__free(struct run *r);

/* ll_run_report.c */
/* The first line, before any request (the preflight's too): where the load goes. */
void ll_run__target(const struct run *r);
/* The header: backend, endpoint, configuration, workload, agent, limits. */
void ll_run__header(const struct run *r);
/* The whole --json document; the caller owns it (cJSON_Delete). NULL when out of memory. */
cJSON *ll_run__json(const struct run *r, const struct ll_stats *s, const struct ll_drive_out *o);
/* Warnings and the verdict after the table. Returns the exit code. */
int ll_run__verdict(const struct run *r, const struct ll_stats *s, const struct ll_drive_out *o);
/* Stopped by a signal before the client started: an empty run, every request not sent. */
void ll_run__not_started(const struct run *r, struct ll_stats *s, struct ll_drive_out *o);
/* The backend could not start its threads: the line saying which wall (into line, n bytes),
 * also printed on stderr. */
void ll_run__thread_limit(const struct run *r, int err, char *line, size_t n);
/* --json for a run whose threads could not start (nothing without --json). */
void ll_run__thread_limit_json(struct run *r, struct ll_stats *s, const char *line);

#endif
