/* ll_workload.h - the shape of each request of a run: which prompt it sends and how many
 * output tokens it asks for.
 *
 * Prompts, by precedence: a trace row's input length, a dataset's sample (cycled in its seeded
 * order), a synthetic prompt of a drawn length, or the run's fixed prompt. A synthetic prompt of
 * N tokens is N * 4 bytes of words (so mockllm counts exactly N, ll_lengths.h), different for
 * every request, so that a server's prefix cache sees no shared prefix.
 * Output: a trace row's output length, a drawn length, or the run's fixed max_tokens.
 * ignore_eos: every request also sends ignore_eos: true and min_tokens = its max_tokens, so a
 * server that takes them (vLLM, SGLang) generates exactly the asked length.
 *
 * Draws come from three streams seeded from one seed (input lengths, output lengths, prompt
 * text), in send order: the same seed gives the same requests, and adding --output-tokens does
 * not move the input lengths. Single-threaded (the driver's thread).
 */
#ifndef LL_WORKLOAD_H
#define LL_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "ll_dataset.h"
#include "ll_lengths.h"
#include "ll_request.h"
#include "ll_trace.h"

struct ll_workload {
    /* the spec, set by the caller */
    const struct ll_dataset *dataset; /* borrowed; NULL: none */
    const struct ll_trace *trace;     /* borrowed; NULL: none */
    struct ll_length input, output;   /* LL_LEN_NONE: not drawn */
    bool ignore_eos;
    uint64_t seed;

    /* state */
    uint64_t rng_in, rng_out, rng_text; /* 0 until the first fill */
    uint64_t sent;                      /* requests filled */
    uint64_t skipped;      /* of them, filled for other agents and dropped (ll_drive, --segment) */
    uint64_t input_tokens; /* their prompts' length in mockllm's tokens, added */
    uint64_t output_asked; /* their max_tokens, added */
    struct ll_message msg; /* a synthetic prompt's one user message */
    char *text;            /* its bytes; owned */
    size_t text_cap;
};

/* Fill *req for the next request: *tmpl with this request's messages, max_tokens,
 * ignore_eos and min_tokens. The messages point into w (or into the dataset, or into tmpl) and
 * stay valid until the next call; ll_client_submit copies them. Request i of a trace takes row
 * i % rows. 0 or LL_ENOMEM. */
int ll_workload_fill(struct ll_workload *w, const struct ll_request *tmpl, struct ll_request *req);

/* Write a synthetic prompt of exactly `tokens` * 4 bytes (plus a NUL) into *buf, growing it
 * (*cap); the words come from *rng. 0 or LL_ENOMEM. */
int ll_workload_text(char **buf, size_t *cap, int tokens, uint64_t *rng);

/* Start again from the first request: the same prompts and lengths as a fresh workload, and
 * the counts (sent, input_tokens, output_asked) from 0. ll_drive calls it at its start, so a
 * warm-up run before the measured one does not shift what the measured run sends. */
void ll_workload_rewind(struct ll_workload *w);

void ll_workload_free(struct ll_workload *w);

#endif
