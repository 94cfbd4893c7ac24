/* ll_signal.c - process-wide stop request from SIGINT, SIGTERM, SIGHUP (ll_signal.h). */
#include "ll_signal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ll_err.h"

static volatile sig_atomic_t first_sig; /* the flag clients watch: non-zero once stopping */
static volatile sig_atomic_t n_caught;
static bool installed;

static void on_signal(int sig)
{
    if (first_sig == 0) {
        first_sig = sig;
    }
    /* Not an atomic increment, but only main reads it, and only as "more than two". */
    n_caught = n_caught + 1;
    if (n_caught >= 3) {
        _exit(128 + first_sig); /* async-signal-safe; a child mock dies with us (ll_mockproc) */
    }
}

int ll_signal_install(void)
{
    static const int stops[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa, ign;
    sigset_t unblock;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
        sigaddset(&sa.sa_mask, stops[i]); /* one handler at a time: the count stays exact */
    }
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigemptyset(&unblock);
    for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
        if (sigaction(stops[i], &sa, NULL) != 0) {
            return LL_ESYS;
        }
        sigaddset(&unblock, stops[i]);
    }
    if (sigaction(SIGPIPE, &ign, NULL) != 0 || sigaction(SIGXFSZ, &ign, NULL) != 0) {
        return LL_ESYS;
    }
    /* A parent may have started us with them blocked; a stop request must get through. */
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    installed = true;
    return 0;
}

int ll_signal_caught(void)
{
    return first_sig;
}

int ll_signal_count(void)
{
    return n_caught;
}

const volatile sig_atomic_t *ll_signal_flag(void)
{
    return installed ? &first_sig : NULL;
}

int ll_signal_exit_code(int rc)
{
    return first_sig != 0 ? 128 + first_sig : rc;
}

const char *ll_signal_name(int sig)
{
    static char buf[24];
    switch (sig) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    case SIGHUP:
        return "SIGHUP";
    default:
        snprintf(buf, sizeof(buf), "signal %d", sig);
        return buf;
    }
}
