/* mock_gen.h - generating an admitted chat completion: its tokens (reasoning, content, chunks:
 * mock_shape.h), their timing (time to first token, per-token latency, --slowdown), the answer
 * as one JSON body or as SSE events, a stream's headers at admission, the close fault mid-answer,
 * and a stream paced by its reader. Ends each answer with mock_answer_finish. On the connection's
 * thread; one request per connection at a time (the connection's head). */
#ifndef MOCK_GEN_H
#define MOCK_GEN_H

#include "mock_http.h"

/* Stream r passed every gate: its status line and headers are rendered into the connection's
 * output. They go out with the first token when that is due at once (mock_gen_start), else on
 * their own; a caller that makes r wait first (for a capacity slot) flushes them itself. */
void mock_gen_admitted(struct mock_req *r);
/* r holds a slot and its tokens are planned (job.shape, chunk_fixed, shape_rng: mock_admit.c):
 * its first chunk (or the whole answer) after the time to first token. */
void mock_gen_start(struct mock_req *r);

#endif
