/* ll_run.h - `llmload run`: one workload on one backend, against the embedded mockllm or any
 * OpenAI-compatible endpoint, reported as a table on stdout and optionally as JSON.
 *
 * Endpoint choice, in order: --url; else $OPENAI_BASE_URL (the embedded mock is then not
 * started); else the bundled mockllm, started as a child process on a free loopback port and
 * stopped by PID at the end. The key comes from $OPENAI_API_KEY and is never printed, logged
 * or written to JSON.
 */
#ifndef LL_RUN_H
#define LL_RUN_H

#include "ll_cmd.h"

/* The `run` subcommand (see ll_cmd.h for the exit codes). */
int ll_cmd_run(int argc, char **argv);

#endif
