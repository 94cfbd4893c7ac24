/* mock_openai.h - the application mockllm serves: OpenAI's chat completions (validated, then
 * admitted and generated: mock_admit.h, mock_gen.h), /v1/models, /health, /metrics and
 * /metrics/reset, with OpenAI-shaped errors (mock_answer.h).
 *
 * Layers, each calling only those below it: the process (mock_server.c) -> routes and
 * validation (here) -> admission (mock_admit.c) -> generation (mock_gen.c) -> what every answer
 * shares (mock_answer.c) -> the connection, reading and writing (mock_conn.c) -> HTTP parsing
 * (mock_http.c). The connection calls back up only through struct mock_app, which
 * mock_openai_prepare installs. Everything runs on the connection's thread
 * (its loop's, or its own with --model threads). */
#ifndef MOCK_OPENAI_H
#define MOCK_OPENAI_H

#include "mock_http.h"
#include "mock_worker.h"

/* Answer r, the head of its connection's queue (struct mock_app's handle). */
void mock_openai_handle(struct mock_req *r);
/* Render what is rendered once per process (/v1/models) into srv, and make this application
 * the one srv's connections hand their requests to. 0 or -1 (out of memory). */
int mock_openai_prepare(struct mock_server *srv);

#endif
