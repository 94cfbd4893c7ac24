/* mock_server.c - loops, threads, listening sockets, signals, graceful stop. */
#include "mock_server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mock_conn.h"
#include "mock_openai.h"

static void connection_cb(uv_stream_t *server, int status)
{
    struct mock_loop *lp = server->data;
    if (status < 0) {
        /* EMFILE and friends: libuv already dropped the pending connection (its reserve-fd
         * trick), so the loop does not spin; the client sees a reset and may retry. */
        return;
    }
    mock_conn_accept(lp, server);
}

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

/* Create, bind and listen one socket on lp; *port 0 learns the port the kernel chose. */
static int open_listener(struct mock_loop *lp, const char *host, int *port, bool reuseport,
                         char *err, size_t errlen)
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
    uv_tcp_t *h = &lp->listeners[lp->nlisteners];
    uv_tcp_init(&lp->loop, h);
    h->data = lp;
    lp->nlisteners++; /* closed with the loop from now on, even if listening fails */
    int rc = uv_tcp_open(h, fd);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)h, lp->srv->cfg->backlog, connection_cb);
    }
    if (rc != 0) {
        if (uv_fileno((uv_handle_t *)h, &(uv_os_fd_t){0}) != 0) {
            close(fd);
        }
        snprintf(err, errlen, "cannot listen on %s port %d: %s", host, *port, uv_strerror(rc));
        return -1;
    }
    struct sockaddr_storage got;
    int gl = sizeof(got);
    if (uv_tcp_getsockname(h, (struct sockaddr *)&got, &gl) == 0) {
        *port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                : ((struct sockaddr_in *)&got)->sin_port);
    }
    return 0;
}

/* ---- stopping ---- */

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

static void maybe_finish(struct mock_loop *lp)
{
    if (lp->stopping && lp->nconns == 0 && lp->grace_started) {
        close_handle((uv_handle_t *)&lp->grace_timer);
    }
}

/* A connection of a stopping loop has closed (mock_conn.c, through lp->conn_gone). */
static void conn_gone(struct mock_loop *lp)
{
    maybe_finish(lp);
}

static void grace_cb(uv_timer_t *t)
{
    struct mock_loop *lp = t->data;
    mock_conn_close_all(lp);
    close_handle((uv_handle_t *)t);
}

static void stop_async_cb(uv_async_t *a)
{
    struct mock_loop *lp = a->data;
    lp->stopping = true;
    for (int i = 0; i < lp->nlisteners; i++) {
        close_handle((uv_handle_t *)&lp->listeners[i]);
    }
    close_handle((uv_handle_t *)&lp->stop_async);
    if (lp->index == 0) {
        close_handle((uv_handle_t *)&lp->sigint);
        close_handle((uv_handle_t *)&lp->sigterm);
    }
    mock_conn_stop_all(lp);
    uv_timer_start(&lp->grace_timer, grace_cb, (uint64_t)lp->srv->cfg->grace_ms, 0);
    lp->grace_started = true;
    maybe_finish(lp);
}

static void signal_cb(uv_signal_t *s, int signum)
{
    struct mock_loop *lp = s->data;
    struct mock_server *srv = lp->srv;
    if (srv->stop_sent) {
        return;
    }
    srv->stop_sent = true;
    for (int i = 0; i < srv->nloops; i++) {
        uv_async_send(&srv->loops[i].stop_async);
    }
}

/* ---- setup ---- */

static int loop_init(struct mock_server *srv, struct mock_loop *lp, int index)
{
    memset(lp, 0, offsetof(struct mock_loop, rbuf));
    lp->srv = srv;
    lp->index = index;
    lp->conn_gone = conn_gone;
    if (uv_loop_init(&lp->loop) != 0) {
        return -1;
    }
    uv_async_init(&lp->loop, &lp->stop_async, stop_async_cb);
    lp->stop_async.data = lp;
    uv_timer_init(&lp->loop, &lp->grace_timer);
    lp->grace_timer.data = lp;
    mock_memo_init(&lp->memo, !srv->cfg->no_memo);
    int max = srv->cfg->max_running;
    if (max > 0) {
        int n = srv->nloops;
        lp->slots = max / n + (index < max % n ? 1 : 0);
        lp->slots = lp->slots > 0 ? lp->slots : 1;
    }
    if (index == 0) {
        uv_signal_init(&lp->loop, &lp->sigint);
        uv_signal_init(&lp->loop, &lp->sigterm);
        lp->sigint.data = lp->sigterm.data = lp;
        uv_signal_start(&lp->sigint, signal_cb, SIGINT);
        uv_signal_start(&lp->sigterm, signal_cb, SIGTERM);
    }
    return 0;
}

static void walk_close_cb(uv_handle_t *h, void *arg)
{
    close_handle(h);
}

/* Close whatever a loop still has open (setup failed, or after the run), then the loop. */
static int loop_fini(struct mock_loop *lp)
{
    uv_walk(&lp->loop, walk_close_cb, NULL);
    uv_run(&lp->loop, UV_RUN_DEFAULT);
    mock_memo_free(&lp->memo);
    mock_buf_free(&lp->out);
    mock_buf_free(&lp->body);
    mock_req_pool_free(&lp->spares);
    return uv_loop_close(&lp->loop);
}

static int listen_all(struct mock_server *srv, char *err, size_t errlen)
{
    const struct mock_config *cfg = srv->cfg;
    int port = cfg->port;
    bool reuse = srv->nloops > 1;
    for (int l = 0; l < srv->nloops; l++) {
        for (int a = 0; a < cfg->nlisten; a++) {
            if (open_listener(&srv->loops[l], cfg->listen[a], &port, reuse, err, errlen) != 0) {
                return -1;
            }
        }
    }
    srv->port = port;
    return 0;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void loop_thread(void *arg)
{
    struct mock_loop *lp = arg;
    uv_run(&lp->loop, UV_RUN_DEFAULT);
}

static int srv_init(struct mock_server *srv, const struct mock_config *cfg)
{
    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    srv->nloops = cfg->threads;
    srv->rl_on = cfg->rpm > 0 || cfg->tpm > 0;
    mock_ratelimit_init(&srv->rl, cfg->rpm, cfg->tpm, (int64_t)uv_hrtime());
    srv->occ = calloc(MOCK_OCC_SLOTS, sizeof(*srv->occ));
    srv->script = mock_script_new(4096);
    srv->loops = calloc((size_t)srv->nloops, sizeof(*srv->loops));
    if (srv->occ == NULL || srv->script == NULL || srv->loops == NULL ||
        mock_metrics_init(&srv->metrics, cfg, srv->nloops) != 0 || mock_openai_prepare(srv) != 0) {
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
    free(srv->loops);
    cJSON_free(srv->models_json);
}

int mock_server_run(const struct mock_config *cfg)
{
    struct mock_server srv;
    char err[256];
    int rc = 1, ninit = 0;
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-write is an error code, not a death */
    raise_nofile();
    if (srv_init(&srv, cfg) != 0) {
        fprintf(stderr, "mockllm: out of memory at start\n");
        goto out;
    }
    for (; ninit < srv.nloops; ninit++) {
        if (loop_init(&srv, &srv.loops[ninit], ninit) != 0) {
            fprintf(stderr, "mockllm: cannot create event loop %d\n", ninit);
            goto out;
        }
    }
    if (listen_all(&srv, err, sizeof(err)) != 0) {
        fprintf(stderr, "mockllm: %s\n", err);
        goto out;
    }
    /* The readiness line: tests and the driver wait for it (common/ll_mockproc.c). */
    printf("listening %s %d\n", cfg->listen[0], srv.port);
    fflush(stdout);
    int started = 1;
    for (; started < srv.nloops; started++) {
        if (uv_thread_create(&srv.loops[started].thread, loop_thread, &srv.loops[started]) != 0) {
            fprintf(stderr, "mockllm: cannot start thread %d; stopping\n", started);
            signal_cb(&srv.loops[0].sigint, SIGTERM);
            break;
        }
    }
    uv_run(&srv.loops[0].loop, UV_RUN_DEFAULT);
    for (int i = 1; i < started; i++) {
        uv_thread_join(&srv.loops[i].thread);
    }
    mock_metrics_summary(&srv.metrics, stderr);
    rc = 0;
out:
    for (int i = 0; i < ninit; i++) {
        if (loop_fini(&srv.loops[i]) != 0) {
            fprintf(stderr, "mockllm: loop %d did not close cleanly\n", i);
            rc = 1;
        }
    }
    srv_free(&srv);
    return rc;
}
