/* fuzz_request.c - libFuzzer harness over mockllm's whole request path:
 * bytes -> TCP read -> http_parser callbacks -> request queue -> routes -> cJSON validation ->
 * answer (JSON, SSE stream, errors, faults) -> writes -> close.
 *
 * No seam inside mockllm is needed: the harness builds one server and one loop in-process from
 * mockllm's own parts (the same steps as mock_server.c's srv_init and mock_loops.c's loop_init,
 * minus signals and threads), listens on a loopback port, and for every input opens a real TCP
 * connection, which mockllm accepts with mock_conn_loop_accept(). The input goes in over that
 * socket in two writes (the first half, a loop pass, the rest) so that parser callbacks are also
 * split across reads. The loop then runs until the answer stops flowing (bounded), the client end
 * is reset (SO_LINGER 0: no TIME_WAIT, so millions of inputs never exhaust ports) and
 * mock_conn_loop_close_all() drops whatever the input left pending (a stall, a long latency, a
 * paused pipeline). Every input must leave no connection and, under ASan, no leak.
 *
 * Built two ways: with -fsanitize=fuzzer (tests/fuzz/run.sh, LL_FUZZ=ON with clang), and with
 * tests/fuzz/replay_main.c as an ordinary program that replays the corpus under ctest.
 *
 * With FZ_H2 defined (fuzz_h2, test_fuzz_replay_h2, seeds in corpus_h2/ from
 * make_h2_corpus.py) the same path is taken over HTTP/2: the loop serves h2c as mockllm does,
 * and every input is the frames that follow a client's preface and empty SETTINGS, which the
 * harness sends first, so that mutations land in frames and HPACK, not in the preface.
 * LL_FUZZ_VERBOSE=1 prints each input's size and the status line and size of its answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mock_admit.h"
#include "mock_config.h"
#include "mock_conn_loop.h"
#include "mock_openai.h"
#include "mock_server.h"

#define FZ_MAX_PASSES  200 /* loop passes per input, at most */
#define FZ_IDLE_PASSES 4   /* passes without output that end an input early */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mock_config cfg;
static struct mock_server srv;
static struct mock_loop lp; /* large (its read buffer): static */
static uv_poll_t listener;
static int listen_fd;
static struct sockaddr_in addr;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_request: %s\n", what);
    abort();
}

/* The listener is polled and accepted from as mockllm's loops do (mock_loops.c). */
static void listen_cb(uv_poll_t *h, int status, int events)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
        mock_conn_loop_accept(&lp, fd);
    }
}

/* Small limits, so that the 413/431 paths are reachable by short inputs; zero latency so
 * answers and streams complete within a few loop passes; a short idle timeout. */
static void setup_server(void)
{
    char *argv[] = {"fuzz_request",
                    "--max-header-bytes=2048",
                    "--max-body-bytes=8192",
                    "--idle-timeout-ms=50",
                    "--tokens=4",
                    "--seed=1",
                    "--rpm=100000",
                    "--max-running=4",
                    NULL};
    char err[256];
    if (mock_config_parse(&cfg, (int)(sizeof(argv) / sizeof(argv[0])) - 1, argv, err,
                          sizeof(err)) != 0) {
        die(err);
    }
    srv.cfg = &cfg;
    srv.rl_on = true;
    mock_ratelimit_init(&srv.rl, cfg.rpm, cfg.tpm, (int64_t)uv_hrtime());
    srv.occ = calloc(MOCK_OCC_SLOTS, sizeof(*srv.occ));
    srv.script = mock_script_new(4096);
    if (srv.occ == NULL || srv.script == NULL || mock_metrics_init(&srv.metrics, &cfg, 1) != 0 ||
        mock_openai_prepare(&srv) != 0) {
        die("out of memory");
    }
    mock_cap_init(&lp.cap, cfg.max_running, false);
#ifdef FZ_H2
    lp.x_accept = true; /* new connections are sniffed for the h2c preface, as in mockllm */
#endif
    mock_worker_init(&lp.w, &srv, 0, &lp.cap, &lp.stopping);
    if (uv_loop_init(&lp.loop) != 0) {
        die("uv_loop_init");
    }
    uv_ip4_addr("127.0.0.1", 0, &addr);
    socklen_t len = sizeof(addr);
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (const struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(listen_fd, 128) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&addr, &len) != 0 ||
        uv_poll_init(&lp.loop, &listener, listen_fd) != 0 ||
        uv_poll_start(&listener, UV_READABLE, listen_cb) != 0) {
        die("cannot listen on 127.0.0.1");
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    signal(SIGPIPE, SIG_IGN);
    setup_server();
    return 0;
}

/* Read and discard what mockllm answered. Returns the bytes read (0: none now). */
static size_t g_answered; /* bytes of the current input's answer, for LL_FUZZ_VERBOSE */

static size_t drain(int fd)
{
    char buf[16384];
    size_t total = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0) {
            g_answered += total;
            return total;
        }
        if (g_answered + total == 0 && getenv("LL_FUZZ_VERBOSE") != NULL) {
            fprintf(stderr, "  answer: %.*s\n", (int)strcspn(buf, "\r\n"), buf);
        }
        total += (size_t)n;
    }
}

static int client_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    int one = 1;
    if (fd < 0) {
        die("socket");
    }
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* Non-blocking: libFuzzer's -timeout alarm would interrupt a blocking connect (EINTR). */
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EINPROGRESS &&
        errno != EINTR) {
        fprintf(stderr, "fuzz_request: connect: %s\n", strerror(errno));
        die("cannot connect to the in-process server");
    }
    for (int i = 0; i < 100000 && lp.nconns == 0; i++) {
        uv_run(&lp.loop, UV_RUN_NOWAIT); /* the handshake is done on loopback: accept it */
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (lp.nconns != 1 || poll(&p, 1, 1000) != 1) {
        die("the server did not accept");
    }
    return fd;
}

/* Write all of p (the socket buffer is large; if it fills, let the server read). */
static void client_write(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            return; /* mockllm closed (400, 413, 431): the rest has nowhere to go */
        }
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
        uv_run(&lp.loop, UV_RUN_NOWAIT);
        drain(fd);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = client_connect();
    g_answered = 0;
#ifdef FZ_H2
    static const uint8_t start[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                   "\x00\x00\x00\x04\x00\x00\x00\x00\x00"; /* SETTINGS, empty */
    client_write(fd, start, sizeof(start) - 1);
#endif
    size_t half = size / 2;
    client_write(fd, data, half);
    uv_run(&lp.loop, UV_RUN_NOWAIT);
    drain(fd);
    client_write(fd, data + half, size - half);
    for (int pass = 0, idle = 0; pass < FZ_MAX_PASSES && idle < FZ_IDLE_PASSES; pass++) {
        uv_run(&lp.loop, UV_RUN_NOWAIT);
        idle = drain(fd) > 0 || lp.nconns == 0 ? 0 : idle + 1;
        if (lp.nconns == 0) {
            break;
        }
    }
    if (getenv("LL_FUZZ_VERBOSE") != NULL) {
        fprintf(stderr, "  %zu bytes in, %zu bytes answered\n", size, g_answered);
    }
    close(fd); /* a reset: mockllm sees the client leave */
    mock_conn_loop_close_all(&lp);
    for (int i = 0; i < 4; i++) {
        uv_run(&lp.loop, UV_RUN_NOWAIT); /* close callbacks free the connection */
    }
    if (lp.nconns != 0 || atomic_load(&lp.cap.running) != 0 || lp.cap.wait_head != NULL) {
        die("an input left a connection, a running request or a waiting one behind");
    }
    return 0;
}
