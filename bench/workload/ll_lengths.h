/* ll_lengths.h - token-length distributions for synthetic workloads (input prompt lengths and
 * output max_tokens): parsed from a spec, drawn on a caller-owned seeded rng, always a whole
 * number of tokens in [1, LL_LENGTH_MAX].
 *
 * Specs (the same shapes as mockllm's latencies, plus the normal):
 *   N | fixed:N          always N
 *   uniform:LO,HI        whole numbers LO..HI, each equally likely
 *   normal:MEAN,SD       rounded, clamped to >= 1 (a wide SD near 1 raises the mean)
 *   lognormal:P50,P99    median P50, 99th percentile P99 (sigma = ln(P99/P50) / 2.326)
 *
 * Tokens are counted as mockllm counts them (4 bytes of prompt text a token, mock_text.h), which
 * is also the usual estimate for English text under GPT tokenizers. Pure; any thread.
 */
#ifndef LL_LENGTHS_H
#define LL_LENGTHS_H

#include <stddef.h>
#include <stdint.h>

#define LL_LENGTH_MAX 1000000 /* tokens: a 4 MB prompt; far above any context window */

enum ll_length_kind {
    LL_LEN_NONE, /* not set: the caller's fixed prompt or max_tokens */
    LL_LEN_FIXED,
    LL_LEN_UNIFORM,
    LL_LEN_NORMAL,
    LL_LEN_LOGNORMAL,
};

struct ll_length {
    enum ll_length_kind kind;
    double a, b; /* fixed: a; uniform: a..b; normal: mean a, sd b; lognormal: p50 a, p99 b */
};

/* Parse a spec (see the top). 0, or LL_EINVAL with one line in err (snprintf's contract) saying
 * what is wrong, e.g. "uniform: HI 10 is below LO 20". */
int ll_length_parse(const char *spec, struct ll_length *out, char *err, size_t errlen);

/* One draw, in [lo, hi] of ll_length_bounds. Steps *rng (fixed: not at all). */
int ll_length_draw(const struct ll_length *l, uint64_t *rng);

/* The range every draw falls in. */
void ll_length_bounds(const struct ll_length *l, int *lo, int *hi);

/* The spec back as text ("uniform:64,256"); "" for LL_LEN_NONE. snprintf's contract. */
int ll_length_format(char *buf, size_t n, const struct ll_length *l);

/* A text's length in mockllm's tokens: ceil(bytes / 4), at least 1 (mock_text_count_tokens;
 * mockllm adds this up over a request's messages for usage.prompt_tokens). So a prompt of
 * exactly 4 N bytes is N tokens. */
int ll_length_of_text(size_t bytes);

#endif
