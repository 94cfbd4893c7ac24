#include "ll_mockproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ll_clock.h"
#include "ll_err.h"

extern char **environ;

#ifndef LL_MOCKLLM_PATH
#define LL_MOCKLLM_PATH "mockllm"
#endif

#define LL_MOCKPROC_MAX_ARGS 64

const char *ll_mockproc_path(void)
{
    const char *p = getenv("LL_MOCKLLM");
    return (p != NULL && *p != '\0') ? p : LL_MOCKLLM_PATH;
}

/* Read one line from fd until deadline; the child writes it in one write, so a short loop
 * over poll() is enough. Returns the line length, or -1. */
static int read_line(int fd, char *buf, size_t len, int64_t deadline_ns)
{
    size_t used = 0;
    while (used + 1 < len) {
        int64_t left_ms = (deadline_ns - ll_now_ns()) / LL_NS_PER_MS;
        if (left_ms <= 0) {
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int rc = poll(&pfd, 1, (int)left_ms);
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc <= 0) {
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

int ll_mockproc_start(struct ll_mockproc *m, const char *path, const char *const *args,
                      int timeout_ms)
{
    const char *argv[LL_MOCKPROC_MAX_ARGS + 4];
    size_t argc = 0;
    int pipefd[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    int err = LL_ESYS;

    memset(m, 0, sizeof(*m));
    m->pid = -1;
    if (path == NULL) {
        path = ll_mockproc_path();
    }
    argv[argc++] = path;
    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        if (argc >= LL_MOCKPROC_MAX_ARGS) {
            return LL_ERANGE;
        }
        argv[argc++] = args[i];
    }
    argv[argc++] = "--port";
    argv[argc++] = "0";
    argv[argc] = NULL;

    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        return LL_ESYS;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    /* Its own process group: a ^C on the terminal is the driver's to handle (drain, report),
     * and the driver then stops the server by PID, after the last request. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    int spawn_rc = posix_spawn(&m->pid, path, &fa, &attr, (char *const *)argv, environ);
    posix_spawnattr_destroy(&attr);
    if (spawn_rc != 0) {
        m->pid = -1;
        goto out;
    }
    close(pipefd[1]);
    pipefd[1] = -1;

    char line[256];
    if (read_line(pipefd[0], line, sizeof(line), ll_now_ns() + timeout_ms * LL_NS_PER_MS) < 0 ||
        sscanf(line, "listening %63s %d", m->host, &m->port) != 2 || m->port <= 0) {
        ll_mockproc_stop(m, 1000);
        err = LL_ETIMEDOUT;
        goto out;
    }
    snprintf(m->base_url, sizeof(m->base_url), "http://%s:%d/v1", m->host, m->port);
    err = 0;
out:
    posix_spawn_file_actions_destroy(&fa);
    if (pipefd[0] >= 0) {
        close(pipefd[0]); /* mockllm prints nothing more on stdout unless --verbose is asked */
    }
    if (pipefd[1] >= 0) {
        close(pipefd[1]);
    }
    return err;
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
            waitpid(m->pid, &status, 0);
            m->pid = -1;
            return LL_ETIMEDOUT;
        }
        struct timespec ts = {0, 5 * LL_NS_PER_MS}; /* a child exiting: no event to wait on */
        nanosleep(&ts, NULL);
    }
    m->pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
