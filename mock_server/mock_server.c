/* mock_server.c - what both concurrency models share: the server's state, listening sockets,
 * the process's limits, and the choice of model (mock_server.h). */
#include "mock_server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "mock_openai.h"
#include "mock_tls.h"
#include "ll_sys.h"

/* Parse "1.2.3.4", "::1" or "[::1]" with a port. 0 or -1. */
static int parse_addr(const char *host, int port, struct sockaddr_storage *ss)
{
    char buf[64];
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        snprintf(buf, sizeof(buf), "%.*s", (int)(len - 2), host + 1);
        host = buf;
    }
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) {
        return 0;
    }
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0 ? 0 : -1;
}

int mock__server_bind(const char *host, int *port, bool reuseport, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int one = 1;
    if (parse_addr(host, *port, &ss) != 0) {
        snprintf(err, errlen, "--listen '%s': not a numeric IPv4 or IPv6 address", host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    }
    if (ss.ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    socklen_t sl =
        ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        snprintf(err, errlen, "cannot bind %s port %d: %s", host, *port, strerror(errno));
        close(fd);
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof(got);
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0) {
        *port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                : ((struct sockaddr_in *)&got)->sin_port);
    }
    return fd;
}

int mock__server_reserve(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void mock__server_accept_all(struct mock_server *srv, int lfd, int flags, int *reserve,
                             void (*take)(void *arg, int fd), void *arg)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | flags);
        if (fd >= 0) {
            take(arg, fd);
            continue;
        }
        int err = errno;
        if (err == EINTR || err == ECONNABORTED) {
            continue;
        }
        if (err == EAGAIN || err == EWOULDBLOCK) {
            return;
        }
        mock_metrics_accept_fail(&srv->metrics, err);
        if ((err != EMFILE && err != ENFILE) || *reserve < 0) {
            return; /* ENOBUFS, ENOMEM: the next readiness tries again */
        }
        /* accept() reports EMFILE before it looks at the queue: drop what is pending with the
         * spare descriptor (the clients see their connections closed unserved), then wait for
         * the listener to be readable again. */
        close(*reserve);
        while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0 || errno == EINTR) {
            if (fd >= 0) {
                close(fd);
            }
        }
        *reserve = mock__server_reserve();
        return;
    }
}

void mock__server_ready(const struct mock_server *srv)
{
    /* The readiness line: tests and the driver wait for it (common/ll_mockproc.c). With --tls
     * it goes on: "tls", and the CA file to trust when mockllm made its own. */
    const char *ca = srv->tls ? mock_tls_srv_ca_file(srv->tls) : NULL;
    printf("listening %s %d%s%s%s\n", srv->cfg->listen[0], srv->port, srv->tls ? " tls" : "",
           ca ? " " : "", ca ? ca : "");
    fflush(stdout);
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int srv_init(struct mock_server *srv, const struct mock_config *cfg, char *err,
                    size_t errlen)
{
    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    srv->rl_on = cfg->rpm > 0 || cfg->tpm > 0;
    mock_ratelimit_init(&srv->rl, cfg->rpm, cfg->tpm, (int64_t)uv_hrtime());
    srv->occ = calloc(MOCK_OCC_SLOTS, sizeof(*srv->occ));
    srv->script = mock_script_new(4096);
    /* The loops write a metrics slot each; the connection threads share one. */
    int metrics = cfg->model == MOCK_MODEL_THREADS
                      ? mock_metrics_init_shared(&srv->metrics, cfg)
                      : mock_metrics_init(&srv->metrics, cfg, cfg->threads);
    if (srv->occ == NULL || srv->script == NULL || metrics != 0 || mock_openai_prepare(srv) != 0) {
        snprintf(err, errlen, "out of memory at start");
        return -1;
    }
    /* HTTP/2 is the event loops' (mock_h2.h): ALPN offers it only where it is served. */
    bool h2 = cfg->model == MOCK_MODEL_LOOP && cfg->h2_max_streams > 0;
    if (cfg->tls && mock_tls_srv_init(&srv->tls, cfg, h2, err, errlen) != 0) {
        return -1;
    }
    return 0;
}

static void srv_free(struct mock_server *srv)
{
    mock_metrics_free(&srv->metrics);
    mock_ratelimit_destroy(&srv->rl);
    if (srv->script != NULL) {
        mock_script_free(srv->script);
    }
    free(srv->occ);
    cJSON_free(srv->models_json);
    mock_tls_srv_free(srv->tls);
}

int mock_server_run(const struct mock_config *cfg)
{
    struct mock_server srv;
    char err[512];
    int rc = 1;
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-write is an error code, not a death */
    raise_nofile();
    /* libuv's first loop would abort() without room for its signal pipe; and a server that
     * starts but cannot accept one connection (its listening sockets and the spare descriptor
     * it keeps against EMFILE taken) only looks up: at ulimit -n 12 it answered nobody */
    int room, need = LL_SYS_UV_FDS + 8;
    if (ll_sys_fd_headroom(need, &room) != 0) {
        fprintf(stderr,
                "mockllm: too few file descriptors free to start (%d; it needs at least %d): "
                "raise ulimit -n\n",
                room, need);
        return 1;
    }
    if (srv_init(&srv, cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "mockllm: %s\n", err);
    } else {
        rc = cfg->model == MOCK_MODEL_THREADS ? mock__threads_run(&srv) : mock__loops_run(&srv);
    }
    srv_free(&srv);
    return rc;
}
