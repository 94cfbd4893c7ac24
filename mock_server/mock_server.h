/* mock_server.h - mockllm's process: N event loops (one per thread, struct mock_loop in
 * mock_loop.h), their listeners, signals and graceful stop.
 *
 * Threading: loop 0 runs on the main thread and owns the signal handles; loops 1..N-1 run on
 * their own threads. A loop's handles are touched only from its thread, except stop_async
 * (uv_async_send from loop 0). */
#ifndef MOCK_SERVER_H
#define MOCK_SERVER_H

#include "mock_config.h"
#include "mock_loop.h"

/* Run the server until SIGINT/SIGTERM. Prints the "listening" line, then the summary on stderr.
 * Returns the process exit code (0 clean, 1 setup failure with a message on stderr). */
int mock_server_run(const struct mock_config *cfg);

#endif
