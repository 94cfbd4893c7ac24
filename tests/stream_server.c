/* stream_server.c - see stream_server.h. */
/* ppoll, accept4, pipe2, memmem: _GNU_SOURCE comes from the build */
#include "stream_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct ss_conn {
    int fd;
    char head[8192]; /* the request as read so far */
    size_t len;
    const struct ss_script *script; /* NULL while the request is incomplete */
    size_t step;
    int64_t t0; /* arrival of the complete request, CLOCK_MONOTONIC ns */
    bool shut;  /* script done, our side shut down: drain until the client closes */
};

struct ss_server {
    ss_pick_fn pick;
    void *arg;
    int lfd, wake[2];
    pthread_t thread;
    atomic_int requests;
    pthread_mutex_t log_lock; /* the arrival log: written by the server, read by the test */
    int64_t log_t[SS_LOG_MAX];
    char *log_body[SS_LOG_MAX];
    struct ss_conn conns[SS_MAX_CONNS];
    int nconns;
    char url[64];
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void conn_drop(struct ss_server *s, int i)
{
    close(s->conns[i].fd);
    s->conns[i] = s->conns[--s->nconns];
}

/* Blocking send of the whole string: the client reads as fast as loopback goes. */
static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            poll(&pf, 1, 100);
            continue;
        }
        if (w <= 0) {
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* The request is complete once its head and Content-Length bytes of body are in. */
static bool request_complete(const struct ss_conn *c)
{
    const char *eoh = memmem(c->head, c->len, "\r\n\r\n", 4);
    if (eoh == NULL) {
        return false;
    }
    const char *cl = strcasestr(c->head, "\r\nContent-Length:");
    size_t body = cl != NULL && cl < eoh ? strtoul(cl + 17, NULL, 10) : 0;
    return c->len >= (size_t)(eoh + 4 - c->head) + body;
}

static void log_arrival(struct ss_server *s, int k, const struct ss_conn *c)
{
    const char *eoh = memmem(c->head, c->len, "\r\n\r\n", 4);
    if (k >= SS_LOG_MAX || eoh == NULL) {
        return;
    }
    char *body = strdup(eoh + 4); /* head[] is NUL-terminated */
    pthread_mutex_lock(&s->log_lock);
    s->log_t[k] = c->t0;
    s->log_body[k] = body;
    pthread_mutex_unlock(&s->log_lock);
}

/* Read what the client sent; start the script once the request is complete. Returns false
 * when the connection is gone. */
static bool conn_read(struct ss_server *s, struct ss_conn *c)
{
    char scratch[4096];
    bool full = c->len + 1 >= sizeof(c->head);
    char *dst = c->script != NULL || full ? scratch : c->head + c->len;
    size_t room = c->script != NULL || full ? sizeof(scratch) : sizeof(c->head) - 1 - c->len;
    ssize_t n = recv(c->fd, dst, room, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        return false;
    }
    if (n < 0 || dst == scratch) {
        return true; /* after the request: drain, so that closing never resets the client */
    }
    c->len += (size_t)n;
    c->head[c->len] = '\0';
    if (request_complete(c)) {
        int k = atomic_fetch_add(&s->requests, 1);
        c->t0 = now_ns();
        log_arrival(s, k, c);
        c->script = s->pick(s->arg, k);
        c->step = 0;
        if (c->script == NULL) {
            return false;
        }
    }
    return true;
}

/* Write every step that is due; returns whether steps remain. */
static bool conn_write_due(struct ss_conn *c, int64_t now)
{
    while (c->step < c->script->n) {
        const struct ss_step *st = &c->script->steps[c->step];
        if (c->t0 + (int64_t)st->at_ms * 1000000 > now) {
            return true;
        }
        send_all(c->fd, st->bytes, strlen(st->bytes));
        c->step++;
    }
    return false;
}

/* ns until the earliest due step, -1 when none is pending. */
static int64_t next_due(const struct ss_server *s, int64_t now)
{
    int64_t best = -1;
    for (int i = 0; i < s->nconns; i++) {
        const struct ss_conn *c = &s->conns[i];
        if (c->script != NULL && c->step < c->script->n) {
            int64_t d = c->t0 + (int64_t)c->script->steps[c->step].at_ms * 1000000 - now;
            d = d < 0 ? 0 : d;
            best = best < 0 || d < best ? d : best;
        }
    }
    return best;
}

static void conn_accept(struct ss_server *s)
{
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    if (s->nconns == SS_MAX_CONNS) {
        close(fd);
        return;
    }
    s->conns[s->nconns++] = (struct ss_conn){.fd = fd};
}

static void *ss_thread(void *arg)
{
    struct ss_server *s = arg;
    struct pollfd p[SS_MAX_CONNS + 2];
    for (;;) {
        int n = s->nconns;
        int64_t due = next_due(s, now_ns());
        struct timespec ts = {.tv_sec = due / 1000000000, .tv_nsec = due % 1000000000};
        p[0] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        p[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        for (int i = 0; i < n; i++) {
            p[i + 2] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
        }
        if (ppoll(p, (nfds_t)n + 2, due >= 0 ? &ts : NULL, NULL) < 0 && errno != EINTR) {
            break;
        }
        if (p[0].revents) {
            break;
        }
        int64_t now = now_ns();
        /* Backwards: conn_drop moves the last connection into the dropped one's slot. */
        for (int i = n - 1; i >= 0; i--) {
            struct ss_conn *c = &s->conns[i];
            bool keep = !p[i + 2].revents || conn_read(s, c);
            if (keep && c->script != NULL && !c->shut && !conn_write_due(c, now)) {
                shutdown(c->fd, SHUT_WR); /* the end of the body */
                c->shut = true;
            }
            if (!keep) {
                conn_drop(s, i);
            }
        }
        if (p[1].revents & POLLIN) {
            conn_accept(s);
        }
    }
    return NULL;
}

int ss_start(ss_pick_fn pick, void *arg, struct ss_server **out)
{
    struct ss_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (s == NULL) {
        return -1;
    }
    s->pick = pick;
    s->arg = arg;
    pthread_mutex_init(&s->log_lock, NULL);
    s->wake[0] = s->wake[1] = -1;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(s->lfd, 64) != 0 || getsockname(s->lfd, (struct sockaddr *)&sa, &sl) != 0 ||
        pipe2(s->wake, O_CLOEXEC) != 0) {
        goto error;
    }
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d/v1", ntohs(sa.sin_port));
    if (pthread_create(&s->thread, NULL, ss_thread, s) != 0) {
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
    pthread_mutex_destroy(&s->log_lock);
    free(s);
    return -1;
}

const char *ss_url(const struct ss_server *s)
{
    return s->url;
}

int ss_requests(const struct ss_server *s)
{
    return atomic_load(&((struct ss_server *)s)->requests);
}

void ss_stop(struct ss_server *s)
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
    for (int i = 0; i < SS_LOG_MAX; i++) {
        free(s->log_body[i]);
    }
    pthread_mutex_destroy(&s->log_lock);
    free(s);
}

const char *ss_arrival(struct ss_server *s, int n, int64_t *t_ns)
{
    const char *body = NULL;
    if (n < 0 || n >= SS_LOG_MAX) {
        return NULL;
    }
    pthread_mutex_lock(&s->log_lock);
    body = s->log_body[n];
    *t_ns = s->log_t[n];
    pthread_mutex_unlock(&s->log_lock);
    return body;
}
