/* mock_admit.h - admitting a validated chat completion: scripted failures (x-mock-key,
 * x-mock-fail-first), forced statuses (x-mock-status), rate limits (--rpm, --tpm), injected
 * faults (429/500/503/400 answered at once, stall held, close and split passed on to
 * generation), then capacity (--max-running: a slot, or a FIFO place until one frees), then
 * generation (mock_gen.h). Loop thread only. */
#ifndef MOCK_ADMIT_H
#define MOCK_ADMIT_H

#include "mock_http.h"

/* Admit and answer r, a valid chat request (job.key, prof, model, max_tokens, stream set). */
void mock_admit_chat(struct mock_req *r);

#endif
