/* ll_workload.c - each request's prompt and output length (see ll_workload.h). */
#include "ll_workload.h"

#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_grow.h"
#include "ll_retry.h"

/* Words of a synthetic prompt: plain ASCII (nothing JSON escapes, one byte a character). */
static const char *const words[] = {
    "load",    "test",   "request", "server", "client", "token",   "stream", "answer",
    "latency", "model",  "queue",   "thread", "event",  "buffer",  "socket", "timer",
    "measure", "figure", "wait",    "send",   "read",   "write",   "close",  "open",
    "the",     "a",      "of",      "and",    "to",     "in",      "is",     "for",
    "with",    "on",     "at",      "by",     "from",   "through", "under",  "over",
    "quick",   "slow",   "steady",  "long",   "short",  "first",   "last",   "next",
};
#define N_WORDS (sizeof(words) / sizeof(words[0]))

int ll_workload_text(char **buf, size_t *cap, int tokens, uint64_t *rng)
{
    size_t want = (size_t)(tokens > 0 ? tokens : 1) * 4, n = 0;
    if (ll_grow(buf, cap, want + 16, 256) != 0) { /* room for the last word's overshoot */
        return LL_ENOMEM;
    }
    while (n < want) {
        const char *wd = words[ll_rng_next(rng) % N_WORDS];
        size_t len = strlen(wd);
        if (n + len + 1 > *cap) {
            len = *cap - n - 1;
        }
        memcpy(*buf + n, wd, len);
        n += len;
        if (n < want) {
            (*buf)[n++] = ' ';
        }
    }
    (*buf)[want] = '\0'; /* cut to exactly `tokens` * 4 bytes */
    return 0;
}

/* Independent streams from one seed (splitmix64's constant keeps them apart). */
static void seed_streams(struct ll_workload *w)
{
    uint64_t s = w->seed ? w->seed : 1;
    w->rng_in = s ^ 0x9E3779B97F4A7C15ull;
    w->rng_out = s ^ 0xBF58476D1CE4E5B9ull;
    w->rng_text = s ^ 0x94D049BB133111EBull;
    for (int i = 0; i < 4; i++) { /* mix the nearby seeds apart */
        ll_rng_next(&w->rng_in);
        ll_rng_next(&w->rng_out);
        ll_rng_next(&w->rng_text);
    }
}

int ll_workload_fill(struct ll_workload *w, const struct ll_request *tmpl, struct ll_request *req)
{
    if (w->sent == 0) {
        seed_streams(w);
    }
    *req = *tmpl;
    const struct ll_trace *t = w->trace;
    size_t row = t != NULL ? (size_t)(w->sent % t->n) : 0;
    int in = t != NULL                      ? t->input[row]
             : w->input.kind != LL_LEN_NONE ? ll_length_draw(&w->input, &w->rng_in)
                                            : 0;
    if (in > 0) {
        if (ll_workload_text(&w->text, &w->text_cap, in, &w->rng_text) != 0) {
            return LL_ENOMEM;
        }
        w->msg = (struct ll_message){"user", w->text};
        req->messages = &w->msg;
        req->n_messages = 1;
        w->input_tokens += (uint64_t)in;
    } else if (w->dataset != NULL) {
        const struct ll_prompt *p = &w->dataset->items[w->sent % w->dataset->n];
        req->messages = p->msgs;
        req->n_messages = p->n_msgs;
        w->input_tokens += (uint64_t)p->tokens;
    } else {
        for (size_t i = 0; i < req->n_messages; i++) {
            w->input_tokens += (uint64_t)ll_length_of_text(strlen(req->messages[i].content));
        }
    }
    if (t != NULL) {
        req->max_tokens = t->output[row];
    } else if (w->output.kind != LL_LEN_NONE) {
        req->max_tokens = ll_length_draw(&w->output, &w->rng_out);
    }
    if (w->ignore_eos) {
        req->ignore_eos = true;
        req->min_tokens = req->max_tokens > 0 ? req->max_tokens : 0;
    }
    w->output_asked += req->max_tokens > 0 ? (uint64_t)req->max_tokens : 0;
    w->sent++;
    return 0;
}

void ll_workload_rewind(struct ll_workload *w)
{
    w->sent = w->skipped = w->input_tokens = w->output_asked = 0; /* seeded again at sent 0 */
}

void ll_workload_free(struct ll_workload *w)
{
    free(w->text);
    w->text = NULL;
    w->text_cap = 0;
}
