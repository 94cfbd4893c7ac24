/* ll_inband.h - errors that servers report inside a 200 answer, streamed or not.
 *
 * Once a server has sent "200 OK" (a stream's headers go out before the first token), a failure
 * can only be told in the body. Real servers do it in these shapes (the README lists them with
 * their sources), all recognised here:
 *
 *   {"error": {"message": ..., "type": ..., "code": ...}}     OpenAI chat streams, Azure, SGLang,
 *                                                             LiteLLM, vLLM >= 0.6 (code 400...)
 *   {"object": "error", "message": ..., "code": 400}          vLLM before the error envelope
 *   {"error": "text", "error_type": "validation"}             TGI (text-generation-inference)
 *   {"type": "error", "error": {"type": ..., "message": ...}} Anthropic-style event: error
 *   {"type": "error", "code": ..., "message": ...}            OpenAI Responses event: error
 *   {"type": "response.failed", "response": {"error": {...}}} OpenAI Responses, streamed
 *   {"object": "response", "status": "failed", "error": {...}} OpenAI Responses, not streamed
 *   [{"error": {...}}]                                         an error object inside an array
 *   choices[0].finish_reason == "error" (+ "error" above)     OpenRouter mid-stream
 *   SSE "event: error" with any data                          the event type alone says it
 *
 * Not errors: "error": null (a Responses object that succeeded), an "error" nested below the
 * top level (Azure's content_filter_results[...].error says the filter could not run), and
 * finish_reason "content_filter" (the answer completed, filtered: kept as finish_reason).
 *
 * Pure functions on a parsed tree; any thread. */
#ifndef LL_INBAND_H
#define LL_INBAND_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "ll_err.h"

struct ll_inband {
    char msg[128];     /* the server's message (or what it said instead), NUL-ended */
    int code;          /* the HTTP-like status the error names (a number, or digits), 0 if none */
    enum ll_class cls; /* 429, 4xx or 5xx by code or kind, PROTOCOL when neither says */
};

/* Does `root` (a parsed answer or chunk; NULL when its data was not JSON) report an error?
 * sse_type is the SSE event type, or NULL for a non-streamed answer. `data`/`len` is the raw
 * text, used as the message when an "error" event's data is not JSON. Fills *out when true. */
bool ll_inband_error(const cJSON *root, const char *sse_type, const char *data, size_t len,
                     struct ll_inband *out);

#endif
