/* ll_workload_flags.h - `llmload run`'s workload flags: prompts from a dataset or of drawn
 * lengths, output lengths, --ignore-eos, the ramp, gamma arrivals and trace replay. The flags,
 * the checks that involve the run's other flags, loading the files, and how the workload shows
 * in the header, the JSON and the warnings -- so that ll_run.c only hooks them in.
 *
 * Single-threaded (the command's main thread); no global state.
 */
#ifndef LL_WORKLOAD_FLAGS_H
#define LL_WORKLOAD_FLAGS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ll_arrivals.h"
#include "ll_dataset.h"
#include "ll_drive.h"
#include "ll_opts.h"
#include "ll_stats.h"
#include "ll_trace.h"
#include "ll_workload.h"

struct ll_wl_flags {
    /* flags */
    const char *dataset, *input_spec, *output_spec, *trace;
    int64_t sample;
    double ramp_s, burstiness, speed;
    bool ignore_eos, sample_seen, burst_seen, speed_seen;
    /* derived */
    struct ll_dataset ds;
    struct ll_trace tr;
    struct ll_workload work;
    bool active; /* any per-request shaping: the driver gets `work` */
};

/* What setup reads from the run's other flags and may change. */
struct ll_wl_run {
    const char *who;       /* "llmload run", prefixes error lines */
    double *rate;          /* in: --rate (0: closed loop); out: a trace's mean rate */
    enum ll_arrivals *arr; /* in: --arrivals; out: GAMMA with --burstiness, TRACE with --trace */
    const char **arrivals; /* its name, for the header and JSON; set to match *arr */
    int64_t *requests;     /* in: --requests; out: the trace's rows unless requests_seen */
    bool requests_seen;
    bool requests_unbounded; /* no request count (--duration alone): sample the whole dataset */
    int64_t max_tokens;      /* --max-tokens, 0 when not given */
    bool prompt_seen;        /* --prompt was given */
    uint64_t seed;
};

/* Set the defaults (sample: all, speed 1, burstiness 1). */
void ll_wl_flags_defaults(struct ll_wl_flags *f);

/* Write the flags' table entries into t[0..cap) followed by the {NULL} end. Returns how many
 * entries were written, end excluded (cap must leave room for them and the end). */
size_t ll_wl_flags_table(struct ll_wl_flags *f, struct ll_opt *t, size_t cap);

/* After parsing: check the flags against each other and the run's, read the dataset or trace,
 * set up the workload. 0, or LL_EXIT_USAGE after one line on stderr (a missing or malformed
 * file included: "llmload run: --trace: t.csv:7: timestamp goes back ..."). */
int ll_wl_flags_setup(struct ll_wl_flags *f, const struct ll_wl_run *run);

/* Hand the ramp, the arrivals' shape, the trace's times and the workload to the driver. */
void ll_wl_flags_drive(struct ll_wl_flags *f, struct ll_drive_opts *d);

/* One "workload: ..." line for the run header, nothing when the run has a plain workload. */
void ll_wl_flags_header(const struct ll_wl_flags *f, FILE *out);

/* The workload as JSON (config.workload), with what was sent: requests, their prompts' length
 * in mockllm's tokens and the output tokens asked. NULL on allocation failure. */
cJSON *ll_wl_flags_json(const struct ll_wl_flags *f);

/* After the run: warn on stderr when answers came back shorter than asked (AIPerf flags
 * this too): the server stopped at its end of sequence, so the run measured shorter answers
 * than the workload meant. */
void ll_wl_flags_warn(const struct ll_wl_flags *f, const char *who, const struct ll_stats *s);

void ll_wl_flags_free(struct ll_wl_flags *f);

#endif
