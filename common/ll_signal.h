/* ll_signal.h - SIGINT, SIGTERM and SIGHUP as a request to stop, for the whole process.
 *
 * llmload installs these handlers once, first thing in main, before it starts a child or a
 * thread, and keeps them until it exits, so that no signal is lost or kills it half-way in any
 * phase (mock start-up, thread start-up, the run, the drain, the report):
 *
 *   first and second signal  recorded; every subcommand stops sending, cancels what is
 *                            outstanding, prints its summary, writes its files and exits
 *                            128 + the first signal's number (130 SIGINT, 143 SIGTERM, 129 HUP)
 *   third signal             _exit(128 + signal) at once, no summary (a drain that hangs)
 *
 * The handlers only set flags (no SA_RESTART: a blocking sleep or poll returns EINTR), so every
 * waiting loop also wakes at least every LL_SIGNAL_POLL_NS to look at the flag: a signal may be
 * delivered to any thread. SIGPIPE and SIGXFSZ are ignored: a closed pipe or a file size limit
 * then fails the write (EPIPE, EFBIG), which is reported, instead of killing the process.
 *
 * Processes that never call ll_signal_install() (the tests, mockllm) are not affected:
 * ll_signal_caught() is then always 0 and ll_signal_flag() NULL.
 */
#ifndef LL_SIGNAL_H
#define LL_SIGNAL_H

#include <signal.h>
#include <stdint.h>

#define LL_SIGNAL_POLL_NS (100 * 1000 * 1000LL) /* longest wait before a loop looks again */

/* Install the handlers (main thread, before any thread or child starts). 0 or LL_ESYS. */
int ll_signal_install(void);

/* The first signal caught (SIGINT, SIGTERM, SIGHUP), or 0. Any thread. */
int ll_signal_caught(void);

/* How many were caught so far. Any thread. */
int ll_signal_count(void);

/* The flag the handlers set (non-zero once one was caught), for a client to watch
 * (ll_config.stop); NULL when the handlers are not installed. */
const volatile sig_atomic_t *ll_signal_flag(void);

/* 128 + the first signal's number, or `rc` when none was caught. */
int ll_signal_exit_code(int rc);

/* "SIGINT", "SIGTERM", "SIGHUP" or "signal N". */
const char *ll_signal_name(int sig);

#endif
