/* mock_fault.h - fault injection by rate, and scripted per-key attempt counting.
 *
 * Rates are probabilities per request in [0, 1] whose sum must be <= 1; one uniform draw picks
 * at most one fault. Spec syntax (command line --faults, config file, and inside a profile):
 *     "429=0.05,500=0.02,503=0.02,400=0.01,close=0.01,stall=0.01,split=0.1,
 *      close_after=3,retry_after=1"
 * close: the connection is closed mid-response (non-stream: after part of the body; stream:
 * after close_after chunks). stall: headers never come; the client must time out. split is not
 * exclusive: it only makes SSE events straddle writes, which a correct client must tolerate.
 */
#ifndef MOCK_FAULT_H
#define MOCK_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include "mock_rng.h"

enum mock_fault_kind {
    MOCK_FAULT_NONE,
    MOCK_FAULT_429,
    MOCK_FAULT_500,
    MOCK_FAULT_503,
    MOCK_FAULT_400,
    MOCK_FAULT_CLOSE, /* close mid-response / mid-stream */
    MOCK_FAULT_STALL, /* never answer */
    MOCK_FAULT__COUNT
};

struct mock_fault_rates {
    double rate[MOCK_FAULT__COUNT]; /* rate[MOCK_FAULT_NONE] is unused */
    double split;                   /* probability of splitting SSE events across writes */
    int close_after;                /* chunks sent before a CLOSE fault on a stream (default 3) */
    int retry_after_s;              /* Retry-After sent with injected 429/503 (default 1) */
};

struct mock_fault_decision {
    enum mock_fault_kind kind;
    bool split;
    int close_after;
    int retry_after_s;
};

void mock_fault_rates_init(struct mock_fault_rates *f); /* no faults */
/* Parse the spec above into f (keys not named keep their value). 0 or -1 with a one-line err,
 * f then untouched. close_after is in [0, 1000000], retry_after (s) in [0, 86400]. */
int mock_fault_parse(const char *spec, struct mock_fault_rates *f, char *err, size_t errlen);
/* One decision per request, from the request's rng. Always consumes exactly two unit draws,
 * whatever the rates, so later draws from r do not shift when a rate changes. */
void mock_fault_decide(const struct mock_fault_rates *f, struct mock_rng *r,
                       struct mock_fault_decision *out);
const char *mock_fault_name(enum mock_fault_kind k); /* "429", "close", "stall", ... */

/* Scripted sequences: "fail the first N attempts of the request with key K, then succeed".
 * A fixed-size table of key -> attempts seen, shared by all loops (mutex); old keys are
 * evicted when the table is full (LRU is not needed: tests use few keys). */
struct mock_script;
struct mock_script *mock_script_new(size_t capacity); /* NULL when out of memory */
void mock_script_free(struct mock_script *s);
/* Count one attempt of `key`; returns its 1-based attempt number. Thread-safe. When the table
 * is full the oldest key is forgotten (its next attempt counts as 1 again). */
unsigned mock_script_attempt(struct mock_script *s, const char *key, size_t keylen);

#endif
