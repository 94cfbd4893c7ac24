/* ll_stats_tokens.c - the token figures of a run: what a streamed answer's chunks carried
 * (the per-token split by the server's usage), TPOT and per-token gaps, reasoning tokens, and
 * where the token counts come from. The rules are in ll_stats.h. */
#include "ll_stats.h"

#include <stdio.h>

bool ll_stats_usage_per_chunk(const struct ll_result *r)
{
    int32_t prev = 0;
    for (size_t i = 0; i < r->n_chunks; i++) {
        if (r->chunk[i].usage_tokens < prev) { /* none (-1), or a count that went back */
            return false;
        }
        prev = r->chunk[i].usage_tokens;
    }
    return r->n_chunks > 0;
}

int64_t ll_stats_chunk_tokens(const struct ll_result *r, size_t i, bool per_chunk)
{
    if (per_chunk) {
        return r->chunk[i].usage_tokens - (i > 0 ? r->chunk[i - 1].usage_tokens : 0);
    }
    if (r->completion_tokens < 0) {
        return 1; /* no usage: a chunk stands for one token */
    }
    /* The usage total spread evenly: chunk i gets floor((i+1)N/C) - floor(iN/C), so that the
     * chunks add up to N exactly. */
    int64_t n = r->completion_tokens, c = (int64_t)r->n_chunks;
    return (int64_t)(i + 1) * n / c - (int64_t)i * n / c;
}

void ll_stats__fold_chunks(struct ll_stats *s, const struct ll_result *r, int64_t *max_itl,
                           int64_t *tpot, uint64_t *reasoning)
{
    bool per_chunk = ll_stats_usage_per_chunk(r);
    int64_t t_prev = r->chunk[0].t, out_tokens = 0;
    *max_itl = -1;
    *reasoning = 0;
    for (size_t i = 0; i < r->n_chunks; i++) {
        int64_t k = ll_stats_chunk_tokens(r, i, per_chunk), t = r->chunk[i].t;
        out_tokens += k;
        *reasoning += (r->chunk[i].out & LL_OUT_REASONING) ? (uint64_t)k : 0;
        if (i == 0) {
            continue; /* the first chunk's tokens arrive with the first token: TTFT */
        }
        ll_hist_record(s->hist[LL_H_CHUNK_GAP], t - r->chunk[i - 1].t);
        if (k > 0) { /* a chunk that carried no token merges its gap into the next one's */
            int64_t per_tok = (t - t_prev) / k;
            ll_hist_record_n(s->hist[LL_H_ITL], per_tok, (uint64_t)k);
            *max_itl = per_tok > *max_itl ? per_tok : *max_itl;
            t_prev = t;
        }
    }
    if (r->completion_tokens >= 0) {
        out_tokens = r->completion_tokens; /* the server's count, the finish's tokens too */
    }
    *tpot = out_tokens >= 2 ? (r->t_end - r->t_first_token) / (out_tokens - 1) : -1;
    if (*tpot >= 0) {
        ll_hist_record(s->hist[LL_H_TPOT], *tpot);
    }
}

void ll_stats__fold_tokens(struct ll_stats *s, const struct ll_result *r, uint64_t reasoning)
{
    if (r->prompt_tokens >= 0 && r->completion_tokens >= 0) {
        s->prompt_tokens += (uint64_t)r->prompt_tokens;
        s->completion_tokens += (uint64_t)r->completion_tokens;
        if (r->max_tokens > 0) { /* asked for a length: did it come back that long? */
            s->out_asked++;
            s->out_asked_tokens += (uint64_t)r->max_tokens;
            s->out_received_tokens += (uint64_t)r->completion_tokens;
            s->out_short += r->completion_tokens < r->max_tokens;
        }
    } else {
        s->usage_missing++;
        if (r->n_chunks > 0) {
            s->chunk_counted++;
            s->chunk_tokens += r->n_chunks;
        }
    }
    s->output_chunks += r->n_chunks;
    if (r->reasoning_tokens >= 0) {
        s->reasoning_tokens += (uint64_t)r->reasoning_tokens;
        s->reasoning_usage++;
    } else if (reasoning > 0) {
        s->reasoning_tokens += reasoning;
        s->reasoning_chunked++;
    }
}

uint64_t ll_stats_output_tokens(const struct ll_stats *s)
{
    return s->completion_tokens + s->chunk_tokens;
}

uint64_t ll_stats_tokens_uncounted(const struct ll_stats *s)
{
    return s->usage_missing - s->chunk_counted;
}

const char *ll_stats_tokens_source(const struct ll_stats *s)
{
    bool usage = ll_stats_succeeded(s) > s->usage_missing, chunks = s->chunk_counted > 0;
    return usage && chunks ? "usage+chunks" : usage ? "usage" : chunks ? "chunks" : NULL;
}

int ll_stats_tokens_note(char *buf, size_t n, const struct ll_stats *s)
{
    unsigned long long ok = ll_stats_succeeded(s), miss = s->usage_missing;
    unsigned long long counted = s->chunk_counted, uncounted = ll_stats_tokens_uncounted(s);
    if (miss == 0) {
        return snprintf(buf, n, "%s", "");
    }
    if (miss == ok && uncounted == 0) {
        return snprintf(buf, n, "no usage from server; tokens counted from chunks");
    }
    if (miss == ok && counted == 0) {
        return snprintf(buf, n, "no usage from server; tokens not counted (nothing streamed)");
    }
    if (uncounted == 0) {
        return snprintf(buf, n,
                        "no usage from server for %llu of %llu answers; their tokens counted "
                        "from chunks",
                        miss, ok);
    }
    return snprintf(buf, n,
                    "no usage from server for %llu of %llu answers; tokens counted from chunks "
                    "for %llu, not counted for %llu (nothing streamed)",
                    miss, ok, counted, uncounted);
}
