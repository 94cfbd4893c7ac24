/* scriptsrv.c - ll_scriptsrv, a scripted HTTP/1.1 server whose log is the tests' truth.
 *
 * It answers the k-th request it reads (counted over every connection, from 0) with step k of a
 * script (the last step repeats), and writes one log line per event with its own monotonic
 * clock, so that a test can check what a client did from the outside: when each attempt
 * arrived, on which connection, with which Authorization header, and when the client gave up.
 *
 *   ll_scriptsrv --log FILE [--script STEP,STEP,...] [--port N]
 *
 * STEP is one of
 *   CODE[:RA][@MS]  answer status CODE (200: a chat completion, JSON or SSE as the request
 *                   asked; else an OpenAI-shaped error), with `Retry-After: RA` when RA is
 *                   given, after MS milliseconds (default at once)
 *   html            200 text/html: a proxy's error page, not an OpenAI answer
 *   done            200 with no output: a stream of nothing but "data: [DONE]"; not streamed,
 *                   an empty message (content "", finish_reason stop, 0 completion tokens)
 *   empty           200 with no output: a stream of a role-only chunk, a finish chunk and a
 *                   usage chunk of 0 completion tokens, then [DONE]; not streamed, as done
 *   silent          read the request, never answer
 *   close           close the connection without answering
 * The default script is "200".
 *
 * Log lines (FILE, one write() each, times in ms since start, CLOCK_MONOTONIC):
 *   T accept conn=C
 *   T request conn=C n=K METHOD PATH stream=0|1 auth=VALUE|-
 *   T answer conn=C n=K STEP
 *   T eof conn=C          the client closed (or reset) the connection
 *
 * Prints "listening 127.0.0.1 PORT" on stdout once it listens (the line ll_mockproc_start waits
 * for), binds 127.0.0.1 only, and exits 0 on SIGTERM or SIGINT, or when its parent dies.
 * One thread, poll().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SS_MAX_CONNS 256
#define SS_MAX_STEPS 64
#define SS_BUF       65536

enum ss_kind { SS_STATUS, SS_HTML, SS_SILENT, SS_CLOSE, SS_DONE, SS_EMPTY };

struct ss_step {
    enum ss_kind kind;
    int status;
    double retry_after; /* seconds; < 0: no header */
    int64_t delay_ms;
    char text[32]; /* as written in the script, for the log */
};

struct ss_conn {
    int fd;
    int id;
    size_t len;       /* bytes in buf */
    char buf[SS_BUF]; /* the request being read */
    bool waiting;     /* a request is read and its answer is due at due_ns */
    int64_t due_ns;   /* when the delayed answer goes */
    const struct ss_step *step;
    int n; /* the request's number */
    bool stream;
};

static struct ss_step steps[SS_MAX_STEPS];
static int nsteps;
static int requests, next_conn_id;
static int log_fd = -1;
static int64_t t0_ns;
static struct ss_conn *conns[SS_MAX_CONNS];
static int nconns;
static volatile sig_atomic_t stop;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One log line in one write(), so that a reader never sees half of one. */
static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    char line[1024];
    int n = snprintf(line, sizeof(line), "%.3f ", (double)(now_ns() - t0_ns) / 1e6);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2) {
        n = (int)sizeof(line) - 2;
    }
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, (size_t)n);
    (void)w;
}

static int parse_step(const char *s, struct ss_step *st)
{
    memset(st, 0, sizeof(*st));
    st->retry_after = -1;
    snprintf(st->text, sizeof(st->text), "%s", s);
    if (strcmp(s, "html") == 0) {
        st->kind = SS_HTML;
        return 0;
    }
    if (strcmp(s, "done") == 0 || strcmp(s, "empty") == 0) {
        st->kind = s[0] == 'd' ? SS_DONE : SS_EMPTY;
        return 0;
    }
    if (strcmp(s, "silent") == 0) {
        st->kind = SS_SILENT;
        return 0;
    }
    if (strcmp(s, "close") == 0) {
        st->kind = SS_CLOSE;
        return 0;
    }
    char *end;
    st->kind = SS_STATUS;
    st->status = (int)strtol(s, &end, 10);
    if (end == s || st->status < 100 || st->status > 599) {
        return -1;
    }
    if (*end == ':') {
        st->retry_after = strtod(end + 1, &end);
    }
    if (*end == '@') {
        st->delay_ms = strtoll(end + 1, &end, 10);
    }
    return *end == '\0' ? 0 : -1;
}

static int parse_script(const char *script)
{
    char *dup = strdup(script), *save = NULL;
    nsteps = 0;
    for (char *t = strtok_r(dup, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        if (nsteps == SS_MAX_STEPS || parse_step(t, &steps[nsteps]) != 0) {
            fprintf(stderr, "ll_scriptsrv: bad script step '%s'\n", t);
            free(dup);
            return -1;
        }
        nsteps++;
    }
    free(dup);
    return nsteps > 0 ? 0 : -1;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return; /* the client left: its eof is logged when poll sees it */
        }
        p += w;
        n -= (size_t)w;
    }
}

static void send_answer(int fd, int status, const char *type, const char *extra, const char *body)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d Scripted\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
                     status, type, strlen(body), extra);
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

#define CHUNK(delta, finish)                                                                       \
    "data: {\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,"             \
    "\"model\":\"scripted\",\"choices\":[{\"index\":0,\"delta\":" delta                            \
    ",\"finish_reason\":" finish "}]}\n\n"

/* A 200 that carries no output (steps done and empty). */
#define USAGE0_CHUNK                                                                               \
    "data: {\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"choices\":[],"            \
    "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":0,\"total_tokens\":1}}\n\n"

static void answer_empty(struct ss_conn *c, bool done_only)
{
    static const char no_output[] = CHUNK("{\"role\":\"assistant\"}", "null")
        CHUNK("{}", "\"stop\"") USAGE0_CHUNK "data: [DONE]\n\n";
    if (c->stream) {
        send_answer(c->fd, 200, "text/event-stream", "Cache-Control: no-cache\r\n",
                    done_only ? "data: [DONE]\n\n" : no_output);
        return;
    }
    send_answer(c->fd, 200, "application/json", "",
                "{\"id\":\"chatcmpl-s\",\"object\":\"chat.completion\",\"created\":1,"
                "\"model\":\"scripted\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                "\"assistant\",\"content\":\"\"},\"finish_reason\":\"stop\"}],"
                "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":0,\"total_tokens\":1}}");
}

static void answer(struct ss_conn *c)
{
    const struct ss_step *st = c->step;
    char extra[64] = "";
    logf_("answer conn=%d n=%d %s", c->id, c->n, st->text);
    if (st->kind == SS_HTML) {
        send_answer(c->fd, 200, "text/html", "",
                    "<html><body>502 Bad Gateway (a proxy's page)</body></html>\n");
        return;
    }
    if (st->kind == SS_DONE || st->kind == SS_EMPTY) {
        answer_empty(c, st->kind == SS_DONE);
        return;
    }
    if (st->status != 200) {
        if (st->retry_after >= 0) {
            snprintf(extra, sizeof(extra), "Retry-After: %g\r\n", st->retry_after);
        }
        send_answer(c->fd, st->status, "application/json", extra,
                    "{\"error\":{\"message\":\"scripted\",\"type\":\"scripted\",\"code\":null}}");
        return;
    }
    if (c->stream) {
        send_answer(c->fd, 200, "text/event-stream", "Cache-Control: no-cache\r\n",
                    CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null")
                        CHUNK("{\"content\":\"ok\"}", "null")
                            CHUNK("{}", "\"stop\"") "data: [DONE]\n\n");
        return;
    }
    send_answer(c->fd, 200, "application/json", "",
                "{\"id\":\"chatcmpl-s\",\"object\":\"chat.completion\",\"created\":1,"
                "\"model\":\"scripted\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                "\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],"
                "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}");
}

static void conn_drop(int i)
{
    close(conns[i]->fd);
    free(conns[i]);
    conns[i] = conns[--nconns];
}

/* The value of header `name` in the head [p, p + n), copied into out ("-" when absent). */
static void header_value(const char *p, size_t n, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    snprintf(out, len, "-");
    for (const char *line = p; line < p + n;) {
        const char *eol = memmem(line, (size_t)(p + n - line), "\r\n", 2);
        if (eol == NULL) {
            break;
        }
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ') {
                v++;
            }
            snprintf(out, len, "%.*s", (int)(eol - v), v);
            return;
        }
        line = eol + 2;
    }
}

/* A whole request in the buffer: log it and pick its step. Returns false to close. */
static bool take_request(struct ss_conn *c, size_t head_len, size_t body_len)
{
    char method[16] = "?", path[256] = "?", auth[256];
    sscanf(c->buf, "%15s %255s", method, path);
    header_value(c->buf, head_len, "Authorization", auth, sizeof(auth));
    const char *body = c->buf + head_len;
    c->stream = memmem(body, body_len, "\"stream\":true", 13) != NULL ||
                memmem(body, body_len, "\"stream\": true", 14) != NULL;
    c->n = requests++;
    c->step = &steps[c->n < nsteps ? c->n : nsteps - 1];
    logf_("request conn=%d n=%d %s %s stream=%d auth=%s", c->id, c->n, method, path, c->stream,
          auth);
    size_t used = head_len + body_len;
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    if (c->step->kind == SS_CLOSE) {
        logf_("answer conn=%d n=%d close", c->id, c->n);
        return false;
    }
    if (c->step->kind != SS_SILENT) {
        c->waiting = true;
        c->due_ns = now_ns() + c->step->delay_ms * 1000000LL;
    } else {
        logf_("answer conn=%d n=%d silent", c->id, c->n);
    }
    return true;
}

/* Read what the client sent; take a request once its head and body are in. */
static void conn_read(int i)
{
    struct ss_conn *c = conns[i];
    ssize_t n = recv(c->fd, c->buf + c->len, SS_BUF - 1 - c->len, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        logf_("eof conn=%d", c->id);
        conn_drop(i);
        return;
    }
    if (n < 0) {
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    while (!c->waiting && (c->step == NULL || c->step->kind != SS_SILENT)) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end == NULL) {
            return;
        }
        size_t head_len = (size_t)(end - c->buf) + 4;
        char cl[32];
        header_value(c->buf, head_len, "Content-Length", cl, sizeof(cl));
        size_t body_len = strcmp(cl, "-") == 0 ? 0 : (size_t)strtoul(cl, NULL, 10);
        if (head_len + body_len > c->len) {
            return;
        }
        if (!take_request(c, head_len, body_len)) {
            conn_drop(i);
            return;
        }
    }
}

static void conn_accept(int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    struct ss_conn *c = nconns < SS_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
    if (c == NULL) {
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->fd = fd;
    c->id = next_conn_id++;
    conns[nconns++] = c;
    logf_("accept conn=%d", c->id);
}

/* Answers whose time has come; returns the ms until the next one is due (-1: none). */
static int answer_due(void)
{
    int64_t now = now_ns(), next = -1;
    for (int i = 0; i < nconns; i++) {
        struct ss_conn *c = conns[i];
        if (!c->waiting) {
            continue;
        }
        if (c->due_ns <= now) {
            c->waiting = false;
            answer(c); /* clients here never pipeline: the next request comes after this */
        } else if (next < 0 || c->due_ns - now < next) {
            next = c->due_ns - now;
        }
    }
    return next < 0 ? -1 : (int)(next / 1000000) + 1;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int listen_on(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t sl = sizeof(sa);
    int one = 1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        perror("ll_scriptsrv: listen");
        exit(1);
    }
    printf("listening 127.0.0.1 %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    return fd;
}

static void serve(int lfd, const sigset_t *unblocked)
{
    struct pollfd p[SS_MAX_CONNS + 1];
    while (!stop) {
        int timeout_ms = answer_due();
        int n = nconns;
        p[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < n; i++) {
            p[i + 1] = (struct pollfd){.fd = conns[i]->fd, .events = POLLIN};
        }
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
        int rc = ppoll(p, (nfds_t)n + 1, timeout_ms < 0 ? NULL : &ts, unblocked);
        if (rc < 0) {
            continue; /* EINTR: a signal; stop says whether to leave */
        }
        for (int i = n - 1; i >= 0; i--) { /* backwards: conn_drop moves the last one here */
            if (p[i + 1].revents != 0) {
                conn_read(i);
            }
        }
        if (p[0].revents & POLLIN) {
            conn_accept(lfd);
        }
    }
}

int main(int argc, char **argv)
{
    const char *log_path = NULL, *script = "200";
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--log") == 0) {
            log_path = argv[i + 1];
        } else if (strcmp(argv[i], "--script") == 0) {
            script = argv[i + 1];
        } else if (strcmp(argv[i], "--port") == 0) {
            port = atoi(argv[i + 1]);
        } else {
            fprintf(stderr, "ll_scriptsrv: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (log_path == NULL || parse_script(script) != 0) {
        fprintf(stderr, "usage: ll_scriptsrv --log FILE [--script STEP,...] [--port N]\n");
        return 2;
    }
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        perror("ll_scriptsrv: log");
        return 1;
    }
    /* SIGTERM and SIGINT are blocked except inside ppoll: a stop never lands between checks. */
    sigset_t block, unblocked;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &unblocked);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A test that dies before it stops us (a failed assertion, a crash) takes us with it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) {
        return 0;
    }
    t0_ns = now_ns();
    int lfd = listen_on(port);
    serve(lfd, &unblocked);
    while (nconns > 0) {
        conn_drop(nconns - 1);
    }
    close(lfd);
    close(log_fd);
    return 0;
}
