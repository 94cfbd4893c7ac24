/* ll_mockproc.h - start the bundled mockllm as a child process and stop it, by PID.
 *
 * Used by `llmload run` when no --url is given and by every integration test. mockllm is run
 * with --port 0 and prints one line on stdout once it listens:
 *     listening 127.0.0.1 41234
 * which is how readiness is signalled: no sleeps. A child process, not a thread, so that the
 * server's CPU time never counts as the client's (getrusage(RUSAGE_SELF)).
 */
#ifndef LL_MOCKPROC_H
#define LL_MOCKPROC_H

#include <sys/types.h>

struct ll_mockproc {
    pid_t pid;
    int port;
    char host[64];
    char base_url[128]; /* "http://HOST:PORT/v1" */
};

/* Path of the mockllm binary: $LL_MOCKLLM, else the one built beside this build. */
const char *ll_mockproc_path(void);

/* Spawn `path` (NULL: ll_mockproc_path()) with --port 0 and the extra args (NULL-terminated,
 * may be NULL), and wait up to timeout_ms for its "listening" line. 0 or LL_E* (the child is
 * reaped on failure). The child's stderr is inherited. */
int ll_mockproc_start(struct ll_mockproc *m, const char *path, const char *const *args,
                      int timeout_ms);

/* SIGTERM, wait up to timeout_ms, then SIGKILL. Returns the child's exit status (0 = clean),
 * or LL_E*. Safe to call twice. */
int ll_mockproc_stop(struct ll_mockproc *m, int timeout_ms);

#endif
