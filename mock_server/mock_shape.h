/* mock_shape.h - the shape of an answer: how many reasoning tokens come before how many content
 * tokens, and how many tokens each SSE chunk of a stream holds. Header only, pure (no I/O, no
 * libuv): the
 * counts come from the profile (mock_latency.h) or a request's x-mock-* headers, every draw
 * from the caller's rng, so the same seed gives the same shape. Any thread, own state. */
#ifndef MOCK_SHAPE_H
#define MOCK_SHAPE_H

#include <stdbool.h>

#include "mock_latency.h"
#include "mock_rng.h"

struct mock_shape {
    int n_reason, n_content;       /* planned: reasoning first, then content */
    int reason_sent, content_sent; /* emitted so far (mock_shape_take) */
    bool length_cut;               /* max_tokens cut the answer short: finish_reason "length" */
    bool reasoning_on; /* the answer reports reasoning (usage details, reasoning_content),
                          also when it drew 0 reasoning tokens */
};

/* What a request asks of the shape (-1 where it gives nothing). */
struct mock_shape_ask {
    int tokens;      /* x-mock-tokens: the content the model would write; max_tokens only caps */
    int reasoning;   /* x-mock-reasoning-tokens: reasoning tokens, no draw */
    int max_tokens;  /* max_tokens / max_completion_tokens */
    int min_tokens;  /* min_tokens (vLLM's): no end before this many completion tokens */
    bool ignore_eos; /* ignore_eos (vLLM's): run to max_tokens */
};

/* Plan the answer. Natural lengths: content = ask->tokens or a draw of p->tokens (none when it
 * is a fixed count), reasoning = ask->reasoning or a draw of p->reasoning, both from r (the
 * reasoning first). min_tokens raises the natural total (reasoning + content). Then, as
 * OpenAI's max_completion_tokens does, max_tokens bounds reasoning + content together:
 *   - the model stops by itself (p->eos, or x-mock-tokens): max_tokens only caps the total;
 *   - otherwise (the default, for exact benchmarks) max_tokens is the answer's length;
 *   - ignore_eos: max_tokens is the length, and the answer ends by length.
 * length_cut (finish_reason "length") when max_tokens cut the natural total or ignore_eos ran
 * to it; an answer can so end while still reasoning (no content then). An answer without
 * reasoning has at least one content token. */
static inline void mock_shape_plan(struct mock_shape *s, const struct mock_profile *p,
                                   const struct mock_shape_ask *ask, struct mock_rng *r)
{
    int reason = 0;
    s->reasoning_on = ask->reasoning >= 0 || !mock_count_is_fixed(&p->reasoning, 0);
    if (s->reasoning_on) {
        reason = ask->reasoning >= 0 ? ask->reasoning
                                     : mock_count_sample(&p->reasoning, r, 0, MOCK_COUNT_MAX);
    }
    int natural = ask->tokens > 0 ? ask->tokens
                  : p->tokens.kind == MOCK_DIST_FIXED
                      ? (int)p->tokens.a
                      : mock_count_sample(&p->tokens, r, 1, MOCK_COUNT_MAX);
    bool stops = (ask->tokens > 0 || p->eos) && !ask->ignore_eos;
    long want = (long)reason + natural, total;
    want = ask->min_tokens > want ? ask->min_tokens : want;
    total = want;
    if (ask->max_tokens > 0 && (!stops || ask->max_tokens < want)) {
        total = ask->max_tokens;
    }
    s->length_cut = ask->max_tokens > 0 && (ask->max_tokens < want || ask->ignore_eos);
    s->n_reason = reason < total ? reason : (int)total;
    s->n_content = (int)(total - s->n_reason);
    if (total < 1) {
        s->n_content = 1;
    }
    s->reason_sent = s->content_sent = 0;
}

/* The next token to emit is a reasoning token. */
static inline bool mock_shape_reasoning(const struct mock_shape *s)
{
    return s->reason_sent < s->n_reason;
}

/* Tokens in the next chunk: `fixed` when > 0 (x-mock-chunk-tokens), else a draw of `chunk`
 * from r (none when it is a fixed count), cut where the current phase (reasoning, then content)
 * ends, so that a chunk never holds both. 0 when every planned token was taken. Inline: it runs
 * once per chunk, and a fixed count must cost no call. */
static inline int mock_shape_next(const struct mock_shape *s, const struct mock_dist *chunk,
                                  int fixed, struct mock_rng *r)
{
    int left =
        mock_shape_reasoning(s) ? s->n_reason - s->reason_sent : s->n_content - s->content_sent;
    if (left <= 0) {
        return 0;
    }
    int k = fixed > 0                        ? fixed
            : chunk->kind == MOCK_DIST_FIXED ? (int)chunk->a
                                             : mock_count_sample(chunk, r, 1, MOCK_COUNT_MAX);
    return k < left ? k : left;
}

/* k tokens of the current phase were emitted (k from mock_shape_next). */
static inline void mock_shape_take(struct mock_shape *s, int k)
{
    if (s->reason_sent < s->n_reason) {
        s->reason_sent += k;
    } else {
        s->content_sent += k;
    }
}

static inline bool mock_shape_done(const struct mock_shape *s)
{
    return s->reason_sent >= s->n_reason && s->content_sent >= s->n_content;
}

/* usage.completion_tokens: reasoning and content. */
static inline long mock_shape_completion(const struct mock_shape *s)
{
    return (long)s->n_reason + s->n_content;
}

#endif
