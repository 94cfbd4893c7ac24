/* ll_mockproc.c - mockllm as a child: fork + exec with a parent-death signal (ll_mockproc.h). */
#include "ll_mockproc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ll_clock.h"
#include "ll_err.h"
#include "ll_signal.h"

extern char **environ;

#ifndef LL_MOCKLLM_PATH
#define LL_MOCKLLM_PATH "mockllm"
#endif

#define LL_MOCKPROC_MAX_ARGS 64

/* "<directory of /proc/self/exe>/mockllm" when that file is executable. */
static bool beside_exe(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        return false;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL) {
        return false;
    }
    *slash = '\0';
    return snprintf(buf, len, "%s/mockllm", exe) < (int)len && access(buf, X_OK) == 0;
}

const char *ll_mockproc_path(void)
{
    static char found[PATH_MAX];
    const char *p = getenv("LL_MOCKLLM");
    if (p != NULL && *p != '\0') {
        return p;
    }
    if (found[0] == '\0' && !beside_exe(found, sizeof(found))) {
        snprintf(found, sizeof(found), "%s",
                 access(LL_MOCKLLM_PATH, X_OK) == 0 ? LL_MOCKLLM_PATH : "mockllm");
    }
    return found;
}

/* Read one line from fd until deadline; the child writes it in one write, so a short loop
 * over poll() is enough. The wait is sliced so that a stop signal caught on any thread is seen.
 * Returns the line length, -1 (EOF, timeout) or LL_ECANCELED. */
static int read_line(int fd, char *buf, size_t len, int64_t deadline_ns)
{
    size_t used = 0;
    while (used + 1 < len) {
        if (ll_signal_caught()) {
            return LL_ECANCELED;
        }
        int64_t left_ns = deadline_ns - ll_now_ns();
        if (left_ns <= 0) {
            return -1;
        }
        left_ns = left_ns < LL_SIGNAL_POLL_NS ? left_ns : LL_SIGNAL_POLL_NS;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int rc = poll(&pfd, 1, (int)(left_ns / LL_NS_PER_MS) + 1);
        if ((rc < 0 && errno == EINTR) || rc == 0) {
            continue;
        }
        if (rc < 0) {
            return -1;
        }
        ssize_t n = read(fd, buf + used, 1); /* byte by byte: never read past the line */
        if (n <= 0) {
            return -1;
        }
        if (buf[used] == '\n') {
            buf[used] = '\0';
            return (int)used;
        }
        used++;
    }
    return -1;
}

/* In the child, between fork and exec: async-signal-safe calls only. Never returns. */
static void child_exec(const char *path, char *const *argv, int out_fd, int err_fd, pid_t parent,
                       const sigset_t *mask, bool quiet)
{
    static const int reset[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ};
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++) {
        sigaction(reset[i], &dfl, NULL); /* mockllm starts as from a shell */
    }
    setpgid(0, 0);
    /* Die with the parent, even a SIGKILLed one; if it died before this took effect, we were
     * already reparented and the request would never fire. SIGTERM, not SIGKILL: mockllm then
     * stops at once (llmload starts it with --grace-ms=0) and removes the throwaway CA file of
     * --tls, which a SIGKILL left behind in /tmp. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent ||
        dup2(out_fd, STDOUT_FILENO) < 0) {
        _exit(127);
    }
    if (quiet) { /* its summary and notes are text the user asked not to see */
        int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0) {
            dup2(null_fd, STDERR_FILENO);
            close(null_fd);
        }
    }
    sigprocmask(SIG_SETMASK, mask, NULL);
    if (strchr(path, '/') != NULL) {
        execve(path, argv, environ);
    } else {
        execvp(path, argv);
    }
    int e = errno;
    ssize_t w = write(err_fd, &e, sizeof(e));
    (void)w;
    _exit(127);
}

/* fork + exec with every signal blocked across the fork, so no handler of ours runs in the
 * child. 0, or LL_ENOENT / LL_ESYS with the child reaped. */
static int spawn(struct ll_mockproc *m, char *const *argv, int out_fd, bool quiet)
{
    int errp[2];
    sigset_t all, old;
    int e = 0;
    if (pipe2(errp, O_CLOEXEC) != 0) {
        return LL_ESYS;
    }
    pid_t parent = getpid();
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        close(errp[0]);
        child_exec(m->path, argv, out_fd, errp[1], parent, &old, quiet);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(errp[1]);
    if (pid < 0) {
        close(errp[0]);
        return LL_ESYS;
    }
    m->pid = pid;
    /* The exec closes the pipe (O_CLOEXEC): EOF means it ran, an int means it failed. */
    ssize_t n;
    while ((n = read(errp[0], &e, sizeof(e))) < 0 && errno == EINTR) {
    }
    close(errp[0]);
    if (n == (ssize_t)sizeof(e)) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        m->pid = -1;
        return e == ENOENT || e == EACCES || e == ENOTDIR ? LL_ENOENT : LL_ESYS;
    }
    return 0;
}

static int start(struct ll_mockproc *m, const char *path, const char *const *args, int timeout_ms,
                 bool quiet)
{
    const char *argv[LL_MOCKPROC_MAX_ARGS + 4];
    size_t argc = 0;
    int pipefd[2] = {-1, -1};

    memset(m, 0, sizeof(*m));
    m->pid = -1;
    snprintf(m->path, sizeof(m->path), "%s", path != NULL ? path : ll_mockproc_path());
    argv[argc++] = m->path;
    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        if (argc >= LL_MOCKPROC_MAX_ARGS) {
            return LL_ERANGE;
        }
        argv[argc++] = args[i];
    }
    argv[argc++] = "--port";
    argv[argc++] = "0";
    argv[argc] = NULL;
    if (ll_signal_caught()) {
        return LL_ECANCELED; /* no child to start and stop again */
    }
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        return LL_ESYS;
    }
    int err = spawn(m, (char *const *)argv, pipefd[1], quiet);
    close(pipefd[1]);
    if (err == 0) {
        char line[4400];
        int n = read_line(pipefd[0], line, sizeof(line), ll_now_ns() + timeout_ms * LL_NS_PER_MS);
        if (n < 0 || sscanf(line, "listening %63s %d", m->host, &m->port) != 2 || m->port <= 0) {
            ll_mockproc_stop(m, 1000);
            err = n == LL_ECANCELED ? LL_ECANCELED : LL_ETIMEDOUT;
        } else {
            /* "listening HOST PORT tls CAFILE" with --tls (a path without blanks: mockllm's) */
            bool tls = sscanf(line, "listening %*s %*d tls %4095s", m->ca_file) == 1;
            snprintf(m->base_url, sizeof(m->base_url), "%s://%s:%d/v1", tls ? "https" : "http",
                     m->host, m->port);
        }
    }
    close(pipefd[0]); /* mockllm prints nothing more on stdout unless --verbose is asked */
    return err;
}

int ll_mockproc_start(struct ll_mockproc *m, const char *path, const char *const *args,
                      int timeout_ms)
{
    return start(m, path, args, timeout_ms, false);
}

int ll_mockproc_start_embedded(struct ll_mockproc *m, const char *const *args, int timeout_ms,
                               bool quiet)
{
    const char *argv[LL_MOCKPROC_MAX_ARGS + 1];
    size_t n = 0;
    argv[n++] = "--grace-ms=0";
    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        if (n >= LL_MOCKPROC_MAX_ARGS) {
            return LL_ERANGE;
        }
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    return start(m, NULL, argv, timeout_ms, quiet);
}

int ll_mockproc_stop(struct ll_mockproc *m, int timeout_ms)
{
    int status = 0;
    if (m->pid <= 0) {
        return 0;
    }
    kill(m->pid, SIGTERM);
    int64_t deadline = ll_now_ns() + (int64_t)timeout_ms * LL_NS_PER_MS;
    for (;;) {
        pid_t r = waitpid(m->pid, &status, WNOHANG);
        if (r == m->pid) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            m->pid = -1;
            return LL_ESYS;
        }
        if (ll_now_ns() > deadline) {
            kill(m->pid, SIGKILL);
            while (waitpid(m->pid, &status, 0) < 0 && errno == EINTR) {
            }
            m->pid = -1;
            return LL_ETIMEDOUT;
        }
        struct timespec ts = {0, 5 * LL_NS_PER_MS}; /* a child exiting: no event to wait on */
        nanosleep(&ts, NULL);
    }
    m->pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
