/* hostile_server.c - see hostile_server.h. poll() over a wake-up pipe, the listener and up to
 * HS_MAX_CONNS connections; a 20 ms tick feeds the never-ending event streams. */
#include "hostile_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ll_clock.h"

#define HS_MAX_CONNS   64
#define HS_TICK_MS     20
#define HS_MAX_THREADS 512  /* scripted server: connection threads over its life */
#define HS_HEAD_MAX    8192 /* scripted server: a request head larger than this is dropped */
#define HS_BODY_MAX    (1 << 20)

struct hs_conn {
    int fd;
    bool answered;
    char tail[4]; /* last bytes seen, to find the blank line across reads */
};

struct hs_logent {
    int64_t t_ns;
    char *head;
};

/* One scripted connection: its thread and socket. */
struct hs_sconn {
    struct hs_server *s;
    pthread_t tid;
    int fd, conn;
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
    /* scripted server (fn != NULL) */
    hs_handler fn;
    void *arg;
    int idle_close_ms;
    atomic_bool stopping;
    pthread_mutex_t mu; /* the log and the connection list */
    struct hs_logent log[HS_LOG_MAX];
    int nlog;
    struct hs_sconn *sconns[HS_MAX_THREADS];
    int nsconns;
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

/* --- scripted server ------------------------------------------------------------------------ */

bool hs_sleep(struct hs_server *s, int ms)
{
    struct pollfd p = {.fd = s->wake[0], .events = POLLIN};
    int64_t end = ll_now_ns() + (int64_t)ms * LL_NS_PER_MS;
    for (;;) {
        int64_t left = end - ll_now_ns();
        if (atomic_load(&s->stopping)) {
            return false;
        }
        if (left <= 0) {
            return true; /* never early: the cases measure from these sleeps */
        }
        /* rounded up; the wake pipe stays readable once stop wrote to it */
        poll(&p, 1, (int)((left + LL_NS_PER_MS - 1) / LL_NS_PER_MS));
    }
}

void hs_write(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return;
        }
        b += w;
        n -= (size_t)w;
    }
}

void hs_answer(int fd, int status, const char *ctype, const char *extra, const char *body,
               size_t body_len)
{
    char head[2048];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", status,
                     ctype ? ctype : "application/json", body_len, extra ? extra : "");
    hs_write(fd, head, (size_t)n < sizeof(head) ? (size_t)n : sizeof(head) - 1);
    hs_write(fd, body, body_len);
}

void hs_completion(int fd, const char *text)
{
    char body[1024];
    int n = snprintf(body, sizeof(body),
                     "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
                     "\"message\":{\"role\":\"assistant\",\"content\":\"%s\"},\"finish_reason\":"
                     "\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,"
                     "\"total_tokens\":5}}",
                     text);
    hs_answer(fd, 200, NULL, NULL, body, (size_t)n);
}

void hs_sse_head(int fd, const char *extra)
{
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     "Transfer-Encoding: chunked\r\n%s\r\n",
                     extra ? extra : "");
    hs_write(fd, head, (size_t)n);
}

void hs_chunk(int fd, const void *p, size_t n)
{
    char len[24];
    int k = snprintf(len, sizeof(len), "%zx\r\n", n);
    hs_write(fd, len, (size_t)k);
    hs_write(fd, p, n);
    hs_write(fd, "\r\n", 2);
}

int hs_requests(struct hs_server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->nlog;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int64_t hs_req_time(struct hs_server *s, int i)
{
    pthread_mutex_lock(&s->mu);
    int64_t t = i >= 0 && i < s->nlog ? s->log[i].t_ns : 0;
    pthread_mutex_unlock(&s->mu);
    return t;
}

bool hs_req_header(struct hs_server *s, int i, const char *name, char *out, size_t outsz)
{
    bool found = false;
    size_t nl = strlen(name);
    pthread_mutex_lock(&s->mu);
    const char *h = i >= 0 && i < s->nlog ? s->log[i].head : NULL;
    for (const char *line = h; line != NULL && !found;) {
        const char *end = strstr(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *v = NULL;
        if (nl == 0) {
            v = line;
        } else if (line != h && len > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            v = line + nl + 1;
            while (*v == ' ') {
                v++;
            }
        }
        if (v != NULL) {
            size_t vl = (size_t)(line + len - v) < outsz - 1 ? (size_t)(line + len - v) : outsz - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            found = true;
        }
        line = end ? end + 2 : NULL;
    }
    pthread_mutex_unlock(&s->mu);
    return found;
}

/* Wait for bytes on fd, at most idle_ms (-1: forever). 1 readable, 0 idle, -1 stopping. */
static int hs_wait(struct hs_server *s, int fd, int idle_ms)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
    int rc = poll(p, 2, idle_ms);
    if (atomic_load(&s->stopping) || p[1].revents) {
        return -1;
    }
    return rc > 0 ? 1 : rc == 0 ? 0 : -1;
}

/* Read one whole request into buf (head + Content-Length body). Bytes of the next request that
 * came along stay in buf after `*used`. Returns the head length (without the blank line), 0 at
 * EOF, idle or stop, -1 on a head too large. */
static int hs_read_req(struct hs_server *s, int fd, char *buf, size_t cap, size_t *len,
                       size_t *used, size_t *body_len, bool first)
{
    for (;;) {
        buf[*len] = '\0';
        char *eoh = strstr(buf, "\r\n\r\n");
        if (eoh != NULL) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            *body_len = cl != NULL && cl < eoh ? strtoul(cl + 17, NULL, 10) : 0;
            size_t head = (size_t)(eoh - buf);
            if (head + 4 + *body_len <= *len) {
                *used = head + 4 + *body_len;
                return (int)head;
            }
            if (head + 4 + *body_len >= cap) {
                return -1;
            }
        } else if (*len + 1 >= cap) {
            return -1;
        }
        int w = hs_wait(s, fd, *len == 0 && !first && s->idle_close_ms > 0 ? s->idle_close_ms : -1);
        if (w <= 0) {
            return 0;
        }
        ssize_t n = recv(fd, buf + *len, cap - 1 - *len, 0);
        if (n <= 0) {
            return 0;
        }
        *len += (size_t)n;
    }
}

static int hs_log_add(struct hs_server *s, const char *head, size_t head_len, int64_t t)
{
    pthread_mutex_lock(&s->mu);
    int n = ++s->nlog;
    if (n <= HS_LOG_MAX) {
        s->log[n - 1].t_ns = t;
        s->log[n - 1].head = strndup(head, head_len);
    } else {
        s->nlog = HS_LOG_MAX;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void *hs_conn_thread(void *arg)
{
    struct hs_sconn *c = arg;
    struct hs_server *s = c->s;
    size_t cap = HS_HEAD_MAX + HS_BODY_MAX, len = 0, used = 0, body_len = 0;
    char *buf = malloc(cap);
    enum hs_after after = HS_KEEP;
    for (int conn_n = 1; buf != NULL && after == HS_KEEP; conn_n++) {
        int head = hs_read_req(s, c->fd, buf, cap, &len, &used, &body_len, conn_n == 1);
        if (head <= 0) {
            break;
        }
        int64_t t = ll_now_ns();
        buf[head] = '\0';
        char *body = strndup(buf + head + 4, body_len);
        struct hs_req req = {.srv = s,
                             .n = hs_log_add(s, buf, (size_t)head, t),
                             .conn = c->conn,
                             .conn_n = conn_n,
                             .head = buf,
                             .body = body ? body : "",
                             .body_len = body ? body_len : 0,
                             .t_ns = t};
        after = s->fn(s->arg, &req, c->fd);
        free(body);
        memmove(buf, buf + used, len - used);
        len -= used;
    }
    if (after == HS_RST) {
        struct linger l = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    free(buf);
    close(c->fd);
    c->fd = -1;
    return NULL;
}

static void hs_script_accept(struct hs_server *s)
{
    int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int conn = atomic_fetch_add(&s->accepted, 1) + 1;
    struct hs_sconn *c = calloc(1, sizeof(*c));
    pthread_mutex_lock(&s->mu);
    bool room = s->nsconns < HS_MAX_THREADS;
    pthread_mutex_unlock(&s->mu);
    if (c == NULL || !room) {
        free(c);
        close(fd);
        return;
    }
    *c = (struct hs_sconn){.s = s, .fd = fd, .conn = conn};
    if (pthread_create(&c->tid, NULL, hs_conn_thread, c) != 0) {
        close(fd);
        free(c);
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->sconns[s->nsconns++] = c;
    pthread_mutex_unlock(&s->mu);
}

static void *hs_script_thread(void *arg)
{
    struct hs_server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = s->wake[0], .events = POLLIN},
                              {.fd = s->lfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR) {
            break;
        }
        if (p[0].revents) {
            break;
        }
        if (p[1].revents & POLLIN) {
            hs_script_accept(s);
        }
    }
    return NULL;
}

/* After the accept thread has stopped: join every connection thread, free the log. */
static void hs_script_stop(struct hs_server *s)
{
    for (int i = 0; i < s->nsconns; i++) {
        pthread_join(s->sconns[i]->tid, NULL);
        free(s->sconns[i]);
    }
    for (int i = 0; i < s->nlog && i < HS_LOG_MAX; i++) {
        free(s->log[i].head);
    }
    pthread_mutex_destroy(&s->mu);
}

static int hs_listen(struct hs_server *s, void *(*main_fn)(void *), struct hs_server **out);

int hs_start(enum hs_mode mode, struct hs_server **out)
{
    struct hs_server *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return -1;
    }
    s->mode = mode;
    return hs_listen(s, hs_thread, out);
}

int hs_start_handler(hs_handler fn, void *arg, int idle_close_ms, struct hs_server **out)
{
    struct hs_server *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return -1;
    }
    s->fn = fn;
    s->arg = arg;
    s->idle_close_ms = idle_close_ms;
    pthread_mutex_init(&s->mu, NULL);
    return hs_listen(s, hs_script_thread, out);
}

/* Bind, listen and start the server's main thread; frees s on failure. */
static int hs_listen(struct hs_server *s, void *(*main_fn)(void *), struct hs_server **out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    s->wake[0] = s->wake[1] = -1;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(s->lfd, 64) != 0 || getsockname(s->lfd, (struct sockaddr *)&sa, &sl) != 0 ||
        pipe2(s->wake, O_CLOEXEC) != 0) {
        goto error;
    }
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d/v1", ntohs(sa.sin_port));
    if (pthread_create(&s->thread, NULL, main_fn, s) != 0) {
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
    if (s->fn != NULL) {
        pthread_mutex_destroy(&s->mu);
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
    atomic_store(&s->stopping, true);
    ssize_t rc = write(s->wake[1], "x", 1);
    (void)rc;
    pthread_join(s->thread, NULL);
    while (s->nconns > 0) {
        conn_drop(s, s->nconns - 1);
    }
    if (s->fn != NULL) {
        hs_script_stop(s);
    }
    close(s->wake[0]);
    close(s->wake[1]);
    close(s->lfd);
    free(s);
}
