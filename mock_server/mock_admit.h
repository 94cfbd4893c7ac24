/* mock_admit.h - admitting a validated chat completion: scripted failures (x-mock-key,
 * x-mock-fail-first), forced statuses (x-mock-status), rate limits (--rpm, --tpm), injected
 * faults (429/500/503/400 answered at once, stall held, close and split passed on to
 * generation), then capacity (--max-running: a slot, or a FIFO place until one frees), then
 * generation (mock_gen.h). On the connection's thread; a shared capacity is locked inside. */
#ifndef MOCK_ADMIT_H
#define MOCK_ADMIT_H

#include <stdbool.h>

#include "mock_http.h"
#include "mock_worker.h"

/* An empty capacity of `slots` (0: unlimited); shared when several threads admit through it.
 * 0 or -1 (the mutex could not be made). */
int mock_cap_init(struct mock_cap *cap, int slots, bool shared);
void mock_cap_destroy(struct mock_cap *cap);

/* Admit and answer r, a valid chat request (job.key, prof, model, max_tokens, stream set). */
void mock_admit_chat(struct mock_req *r);

#endif
