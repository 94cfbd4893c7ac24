/* mock_answer.h - what every answer shares: the status line and the headers each one has, a
 * complete answer with its Content-Length, OpenAI's error shape, and the end of an answer
 * (counted once in the metrics and --verbose, its capacity given back, the connection's next
 * request started). Used by the routes (mock_openai.c), admission (mock_admit.c) and generation
 * (mock_gen.c); it calls only the connection below it. On the connection's thread. */
#ifndef MOCK_ANSWER_H
#define MOCK_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

#include "mock_buf.h"
#include "mock_http.h"

/* Status line and the headers every answer has (Date, Content-Type, Connection), into o. */
void mock_answer_head(struct mock_req *r, struct mock_buf *o, int status, const char *ctype);
/* x-ratelimit-* headers when r carries rate-limit info. */
void mock_answer_rl_headers(struct mock_req *r, struct mock_buf *o);
/* A complete answer with Content-Length, sent and finished (mock_answer_finish); extra: more
 * header lines ("Name: v\r\n") or NULL. A HEAD request gets the headers alone. */
void mock_answer_respond(struct mock_req *r, int status, const char *ctype, const char *body,
                         size_t len, const char *extra);
/* An OpenAI error answer {"error":{"message","type","param","code"}}; param/code may be NULL.
 * Sent and finished like mock_answer_respond. */
void mock_answer_error(struct mock_req *r, int status, const char *msg, const char *param,
                       const char *code, const char *extra);
/* The answer's last bytes are rendered in the connection's output: count it, write them (with
 * split, in two writes), and end the answer: release it, go on with the next request (r is
 * invalid afterwards). Counted before the bytes go, so that a client that has read them finds
 * them counted on /metrics, whichever thread serves its next request. When the write fails the
 * connection closes instead, once the caller's stack has unwound. */
void mock_answer_finish(struct mock_req *r, int status, bool split);
/* Count r in metrics and --verbose, give back its capacity (job.release) and its place in
 * flight, once; later calls do nothing. */
void mock_answer_account(struct mock_req *r, int status);
/* The connection closes under r (struct mock_app's abort): account it with what it got. */
void mock_answer_abort(struct mock_req *r);

#endif
