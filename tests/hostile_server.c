/* hostile_server.c - see hostile_server.h. poll() over a wake-up pipe, the listener and up to
 * HS_MAX_CONNS connections; a 20 ms tick feeds the never-ending event streams. */
#include "hostile_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HS_MAX_CONNS 64
#define HS_TICK_MS   20

struct hs_conn {
    int fd;
    bool answered;
    char tail[4]; /* last bytes seen, to find the blank line across reads */
};

struct hs_server {
    enum hs_mode mode;
    int lfd, wake[2];
    pthread_t thread;
    atomic_int accepted;
    struct hs_conn conns[HS_MAX_CONNS];
    int nconns;
    unsigned tick;
    char url[64];
};

static const char *const names[HS__COUNT] = {
    "truncated body", "invalid JSON", "wrong content type", "endless SSE", "never answers",
    "closes at once", "garbage",
};

const char *hs_mode_name(enum hs_mode mode)
{
    return mode >= 0 && mode < HS__COUNT ? names[mode] : "?";
}

/* Best effort: a hostile server does not care whether its bytes arrive. */
static void send_str(int fd, const char *s, size_t n)
{
    ssize_t rc = send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)rc;
}

static void conn_drop(struct hs_server *s, int i)
{
    close(s->conns[i].fd);
    s->conns[i] = s->conns[--s->nconns];
}

#define S(lit) lit, sizeof(lit) - 1

/* The request head is complete: answer as the mode says. Returns true to close now. */
static bool answer(struct hs_server *s, struct hs_conn *c)
{
    c->answered = true;
    switch (s->mode) {
    case HS_TRUNCATE:
        send_str(c->fd,
                 S("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                   "Content-Length: 1000\r\n\r\n{\"id\":\"chatcmpl-1\",\"choices\":[{\"mes"));
        shutdown(c->fd, SHUT_WR);
        return true;
    case HS_BAD_JSON:
        send_str(c->fd, S("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: 26\r\n\r\n{\"choices\": [ {not json at"));
        return false;
    case HS_HTML:
        send_str(c->fd, S("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 49\r\n\r\n"
                          "<html><body>502 Bad Gateway, retry</body></html>\n"));
        return false;
    case HS_SSE_FOREVER:
        send_str(c->fd, S("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                          "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"));
        return false;
    case HS_GARBAGE:
        send_str(c->fd, S("\x16\x03\x01\x02\x00 SSH-2.0-garbage\xff\xfe\r\n\r\nnot http\r\n"));
        shutdown(c->fd, SHUT_WR);
        return true;
    default:
        return false; /* SILENT: never; CLOSE never gets here */
    }
}

/* Read what the client sent; answer once its request head is complete. */
static void conn_read(struct hs_server *s, int i)
{
    struct hs_conn *c = &s->conns[i];
    char buf[4096 + 4];
    ssize_t n = recv(c->fd, buf + 4, sizeof(buf) - 4, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        conn_drop(s, i);
        return;
    }
    if (n < 0 || c->answered) {
        return; /* keep draining so that closing never resets the client's socket */
    }
    memcpy(buf, c->tail, 4);
    bool head_done = memmem(buf, (size_t)n + 4, "\r\n\r\n", 4) != NULL;
    memcpy(c->tail, buf + n, 4);
    if (head_done && answer(s, c)) {
        conn_drop(s, i);
    }
}

static void conn_accept(struct hs_server *s)
{
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    atomic_fetch_add(&s->accepted, 1);
    if (s->mode == HS_CLOSE || s->nconns == HS_MAX_CONNS) {
        close(fd);
        return;
    }
    s->conns[s->nconns++] = (struct hs_conn){.fd = fd};
}

/* Every tick, each endless stream gets a comment or a token chunk: it never ends by itself. */
static void feed_streams(struct hs_server *s)
{
    static const char *const events[2] = {
        ": keep-alive\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n",
    };
    char chunk[160];
    const char *ev = events[++s->tick % 2];
    int n = snprintf(chunk, sizeof(chunk), "%zx\r\n%s\r\n", strlen(ev), ev);
    for (int i = 0; i < s->nconns; i++) {
        if (s->conns[i].answered) {
            send_str(s->conns[i].fd, chunk, (size_t)n);
        }
    }
}

static void *hs_thread(void *arg)
{
    struct hs_server *s = arg;
    struct pollfd p[HS_MAX_CONNS + 2];
    for (;;) {
        int n = s->nconns;
        p[0] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        p[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        for (int i = 0; i < n; i++) {
            p[i + 2] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
        }
        int rc = poll(p, (nfds_t)n + 2, s->mode == HS_SSE_FOREVER ? HS_TICK_MS : -1);
        if (rc < 0 && errno != EINTR) {
            break;
        }
        if (p[0].revents) {
            break;
        }
        /* Backwards: conn_drop moves the last connection into the dropped one's slot. */
        for (int i = n - 1; i >= 0; i--) {
            if (p[i + 2].revents) {
                conn_read(s, i);
            }
        }
        if (p[1].revents & POLLIN) {
            conn_accept(s);
        }
        if (s->mode == HS_SSE_FOREVER) {
            feed_streams(s);
        }
    }
    return NULL;
}

int hs_start(enum hs_mode mode, struct hs_server **out)
{
    struct hs_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (s == NULL) {
        return -1;
    }
    s->mode = mode;
    s->wake[0] = s->wake[1] = -1;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(s->lfd, 64) != 0 || getsockname(s->lfd, (struct sockaddr *)&sa, &sl) != 0 ||
        pipe2(s->wake, O_CLOEXEC) != 0) {
        goto error;
    }
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d/v1", ntohs(sa.sin_port));
    if (pthread_create(&s->thread, NULL, hs_thread, s) != 0) {
        goto error;
    }
    *out = s;
    return 0;
error:
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    if (s->lfd >= 0) {
        close(s->lfd);
    }
    free(s);
    return -1;
}

const char *hs_url(const struct hs_server *s)
{
    return s->url;
}

int hs_accepted(const struct hs_server *s)
{
    return atomic_load(&((struct hs_server *)s)->accepted);
}

void hs_stop(struct hs_server *s)
{
    if (s == NULL) {
        return;
    }
    ssize_t rc = write(s->wake[1], "x", 1);
    (void)rc;
    pthread_join(s->thread, NULL);
    while (s->nconns > 0) {
        conn_drop(s, s->nconns - 1);
    }
    close(s->wake[0]);
    close(s->wake[1]);
    close(s->lfd);
    free(s);
}
