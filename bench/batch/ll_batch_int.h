/* ll_batch_int.h - what the two files of `llmload batch` share (internal to
 * bench/batch/ll_batch*.c): the batch's flags and state (struct batch) and the functions
 * ll_batch.c (flags, setup, the subcommand) calls in ll_batch_loop.c (the loop that reads,
 * submits, writes and counts). Main thread only. */
#ifndef LL_BATCH_INT_H
#define LL_BATCH_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ll_batch_io.h"
#include "ll_client.h"
#include "ll_clock.h"
#include "ll_cmd.h"
#include "ll_endpoint.h"
#include "ll_netopts.h"
#include "ll_limits.h"
#include "ll_opts.h"
#include "ll_outfile.h"
#include "ll_retryopts.h"
#include "ll_ratelimit_client.h"
#include "ll_signal.h"

#define WHO         "llmload batch"
#define TICK_NS     (100 * LL_NS_PER_MS)
#define CLASS_INPUT LL_CLASS__COUNT /* failed_by[] slot for bad input lines */

struct inflight {
    struct ll_batch_item it;
    struct ll_call *call;
    struct inflight *prev, *next;
};

struct batch {
    /* flags */
    const char *in_path, *out_path, *backend, *url, *model;
    int64_t concurrency, retries, max_tokens;
    double rpm, tpm, timeout_s;
    bool quiet;
    int64_t timeout_ms; /* as applied: whole ms (ll_opts_seconds_to_ms) */
    struct ll_strv mock_args;
    struct ll_retryopts retry; /* --retry-base, --retry-cap, --no-retry-jitter */
    struct ll_netopts net;     /* real-endpoint flags (ll_netopts.h) */
    /* run */
    const struct ll_backend *be;
    struct ll_endpoint ep;
    struct ll_config cfg;
    struct ll_client *c;
    struct ll_ratelimit rl;
    FILE *in;
    long lineno, prompts; /* prompts: non-blank input lines, -1 when not known ahead (a pipe) */
    int fd;
    int write_errno; /* the first failed write's errno: nothing more is written */
    bool eof, have_pending, stopping, progress, started;
    struct ll_batch_item pending;
    struct ll_idset *seen, *done;
    struct inflight *live;
    /* counts: ok and failed are lines in the file; unwritten are results that could not be */
    uint64_t sent, ok, failed, failed_by[LL_CLASS__COUNT + 1], cancelled, unwritten, skipped,
        duplicates;
    uint64_t retries_made, prompt_tokens, completion_tokens;
    uint64_t usage_missing; /* answers that came with no usage: their tokens are not known */
    int64_t t0, next_tick;
};

/* Cancels every request in flight (they are not written). */
void ll_batch__cancel_all(struct batch *b);
/* Reads, submits and writes until the input is done and nothing is in flight, or a stop
 * signal or a failed write ends it. 0, or LL_EXIT_FAIL when the loop itself failed. */
int ll_batch__loop(struct batch *b);
/* The summary on stdout (and the end of the progress line). */
void ll_batch__summary(const struct batch *b);

#endif
