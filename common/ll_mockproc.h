/* ll_mockproc.h - start the bundled mockllm as a child process and stop it, by PID.
 *
 * Used by llmload's subcommands when no --url is given and by every integration test. mockllm
 * is run with --port 0 and prints one line on stdout once it listens:
 *     listening 127.0.0.1 41234
 * or, with --tls, "listening 127.0.0.1 41234 tls /tmp/mockllm-ca-XXXX.pem": the CA it made,
 * which the client trusts (ca_file) so that HTTPS is verified, never switched off.
 * which is how readiness is signalled: no sleeps. A child process, not a thread, so that the
 * server's CPU time never counts as the client's (getrusage(RUSAGE_SELF)).
 *
 * The child never outlives its parent: it asks the kernel for SIGTERM when the thread that
 * started it dies (PR_SET_PDEATHSIG), even by SIGKILL (mockllm stops at once on SIGTERM and
 * removes the CA file it wrote), and exits at once if that parent died
 * before the request took effect. So start it from a thread that outlives it (llmload's main
 * thread, a test's main thread). It runs in its own process group: a terminal's ^C goes to
 * llmload alone, which cancels, drains, reports and then stops the mock by PID.
 */
#ifndef LL_MOCKPROC_H
#define LL_MOCKPROC_H

#include <stdbool.h>
#include <sys/types.h>

struct ll_mockproc {
    pid_t pid;
    int port;
    char host[64];
    char base_url[128]; /* "http://HOST:PORT/v1", "https://..." with --tls */
    char ca_file[4096]; /* with --tls: the CA file the ready line named, else "" */
    char path[4096];    /* the binary that was started */
};

/* Path of the mockllm binary: $LL_MOCKLLM; else a mockllm beside this executable (an installed
 * llmload finds the mockllm installed with it); else the one built beside this build; else
 * "mockllm", looked up in $PATH. Main thread; the result stays valid. */
const char *ll_mockproc_path(void);

/* Spawn `path` (NULL: ll_mockproc_path()) with --port 0 and the extra args (NULL-terminated,
 * may be NULL), and wait up to timeout_ms for its "listening" line. 0, LL_ENOENT (no such
 * binary), LL_ETIMEDOUT (no listening line: the child's own stderr says why), LL_ECANCELED (a
 * stop signal arrived meanwhile, ll_signal.h) or LL_E*; on failure the child is stopped and
 * reaped. The child's stderr is inherited. */
int ll_mockproc_start(struct ll_mockproc *m, const char *path, const char *const *args,
                      int timeout_ms);

/* ll_mockproc_start for llmload's own embedded mock: mockllm's --grace-ms=0 comes before
 * `args` (which may override it). llmload stops its mock only when nothing it still wants
 * answered is out -- a finished run, or one whose outstanding requests it cancelled (^C, a
 * threshold, the end of --graceful-stop) -- so a grace period for the mock's in-flight requests
 * would only keep llmload waiting (2 s by default) after its summary. quiet (--quiet): the
 * child's stderr goes to /dev/null, so its summary lines do not show either (a start that
 * fails then says only what llmload saw). Same contract otherwise. */
int ll_mockproc_start_embedded(struct ll_mockproc *m, const char *const *args, int timeout_ms,
                               bool quiet);

/* SIGTERM, wait up to timeout_ms, then SIGKILL. Returns the child's exit status (0 = clean),
 * or LL_E*. Safe to call twice. */
int ll_mockproc_stop(struct ll_mockproc *m, int timeout_ms);

#endif
