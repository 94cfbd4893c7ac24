/* test_mock_pace.c - a slow reader paces its stream, end to end against a real mockllm
 * (ll_mockproc, stopped by PID) over raw loopback sockets: generation waits while the
 * connection's write queue is over its limit, RSS stays bounded, the stream resumes when the
 * client reads, and mockllm_bytes_sent_total counts what the kernel took, checked against the
 * kernel's own queues (FIONREAD on the clients, mockllm's send queues in /proc/net/tcp);
 * clients that leave while paced end their requests and the paced gauge. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ll_clock.h"
#include "ll_mockproc.h"
#include "ll_testutil.h"

#define NSLOW     20
#define SLOW_TOK  "65536"
#define RSS_BOUND (32 * 1024) /* KiB: 20 streams of 13 MB each would queue ~180 MB */

static struct ll_mockproc mp;

static int teardown(void **state)
{
    assert_int_equal(ll_mockproc_stop(&mp, 5000), 0); /* exit 0: clean shutdown */
    return 0;
}

/* A streamed request for SLOW_TOK tokens on a new connection, nothing read; *port gets the
 * client's local port. */
static int ask_stream(int *port)
{
    static const char body[] = "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\","
                               "\"content\":\"hello there\"}],\"stream\":true,"
                               "\"stream_options\":{\"include_usage\":true}}";
    char req[1024];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)mp.port)}, me;
    socklen_t ml = sizeof(me);
    inet_pton(AF_INET, mp.host, &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    int n = snprintf(req, sizeof(req),
                     "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nx-mock-tokens: " SLOW_TOK
                     "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     sizeof(body) - 1, body);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &ml), 0);
    *port = ntohs(me.sin_port);
    return fd;
}

/* GET /metrics on a connection of its own, whole answer read; returns its size in bytes (all
 * of them count in mockllm_bytes_sent_total from the next scrape on) and the value of `name`. */
static size_t scrape(const char *name, long long *value)
{
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    char out[16384], key[96];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)mp.port)};
    inet_pton(AF_INET, mp.host, &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
    size_t len = 0;
    for (ssize_t n; (n = recv(fd, out + len, sizeof(out) - 1 - len, 0)) > 0;) {
        len += (size_t)n;
    }
    close(fd);
    out[len] = '\0';
    snprintf(key, sizeof(key), "\n%s ", name);
    const char *v = strstr(out, key);
    assert_non_null(v);
    *value = strtoll(v + strlen(key), NULL, 10);
    return len;
}

/* Bytes in the kernel between mockllm and the client on local port `port`: the client's receive
 * queue (FIONREAD) plus the unacknowledged send queue of mockllm's end (/proc/net/tcp). */
static long long in_kernel(int fd, int port)
{
    int rcvq = 0;
    unsigned lport, rport, st;
    unsigned long txq, rxq;
    char line[512];
    long long txq_server = -1;
    assert_int_equal(ioctl(fd, FIONREAD, &rcvq), 0);
    FILE *f = fopen("/proc/net/tcp", "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, " %*d: %*x:%x %*x:%x %x %lx:%lx", &lport, &rport, &st, &txq, &rxq) == 5 &&
            (int)lport == mp.port && (int)rport == port) {
            txq_server = (long long)txq;
        }
    }
    fclose(f);
    assert_true(txq_server >= 0);
    return rcvq + txq_server;
}

/* The sum of in_kernel over the streams, once it stopped moving (the last stream may have
 * just paused: its last bytes still on their way into the client's queue). */
static long long in_kernel_settled(const int *fds, const int *ports)
{
    long long kernel = -1;
    for (int tries = 0; tries < 100; tries++) {
        long long before = kernel;
        kernel = 0;
        for (int i = 0; i < NSLOW; i++) {
            kernel += in_kernel(fds[i], ports[i]);
        }
        if (kernel == before) {
            break;
        }
        usleep(20 * 1000);
    }
    return kernel;
}

/* Read every stream to its end, keeping each one's last bytes; returns the bytes read. */
static long long read_all(int *fds, char (*tail)[4096], int n)
{
    long long total = 0;
    size_t tlen[NSLOW] = {0};
    int open = n;
    int64_t t0 = ll_now_ns();
    while (open > 0 && ll_now_ns() - t0 < 120 * LL_NS_PER_S) {
        struct pollfd p[NSLOW];
        for (int i = 0; i < n; i++) {
            p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        }
        assert_true(poll(p, (nfds_t)n, 10000) > 0);
        for (int i = 0; i < n; i++) {
            char buf[65536];
            ssize_t got =
                (p[i].revents & (POLLIN | POLLHUP)) ? recv(fds[i], buf, sizeof(buf), 0) : 0;
            if (got <= 0) {
                continue;
            }
            total += got;
            size_t keep = (size_t)got < sizeof(tail[i]) - 1 ? (size_t)got : sizeof(tail[i]) - 1;
            size_t shift =
                tlen[i] + keep > sizeof(tail[i]) - 1 ? tlen[i] + keep - (sizeof(tail[i]) - 1) : 0;
            memmove(tail[i], tail[i] + shift, tlen[i] - shift);
            tlen[i] -= shift;
            memcpy(tail[i] + tlen[i], buf + (size_t)got - keep, keep);
            tlen[i] += keep;
            tail[i][tlen[i]] = '\0';
            if (tlen[i] >= 7 && strcmp(tail[i] + tlen[i] - 7, "\r\n0\r\n\r\n") == 0) {
                shutdown(fds[i], SHUT_RD);
                fds[i] = -fds[i] - 1; /* done: poll ignores negative descriptors */
                open--;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        fds[i] = fds[i] < 0 ? -fds[i] - 1 : fds[i];
    }
    assert_int_equal(open, 0);
    return total;
}

/* NSLOW clients ask for 65,536-token streams and do not read. mockllm's generation waits for
 * them: all NSLOW streams show as paced, its RSS stays within RSS_BOUND of where it started
 * (without pacing it queues each stream past the kernel's buffers: ~200 MB), and
 * mockllm_bytes_sent_total counts what the kernel took, which the kernel's own queues show
 * (the clients' receive queues plus mockllm's send queues), not what mockllm queued. Then the
 * clients read: every stream resumes and ends with its usage, and the count equals the bytes
 * the clients received. */
static void test_mock_pace_slow_readers(void **state)
{
    static const char *const args[] = {"--seed", "1", NULL};
    static char tail[NSLOW][4096];
    int fds[NSLOW], ports[NSLOW];
    long long paced = -1, sent = -1, scraped = 0, kernel = 0;
    assert_int_equal(ll_test_mock_start(&mp, args, 10000), 0);
    long rss0 = ll_test_rss_kb(mp.pid);
    for (int i = 0; i < NSLOW; i++) {
        fds[i] = ask_stream(&ports[i]);
    }
    for (int i = 0; i < 1000 && paced < NSLOW; i++) { /* the server's own signal, bounded */
        scraped += (long long)scrape("mockllm_streams_paced", &paced);
        usleep(10 * 1000);
    }
    long rss = ll_test_rss_kb(mp.pid);
    /* A write the kernel has just taken is counted a moment later (after send() returns): a
     * count one scrape behind is read again, a few times and 20 ms apart (on a loaded machine
     * ten reads back to back all came before mockllm's loop ran again: one scrape short),
     * before it is called wrong. */
    size_t last = 0;
    for (int tries = 0; tries < 10; tries++) {
        if (tries > 0) {
            usleep(20 * 1000);
        }
        scraped += (long long)last;
        kernel = in_kernel_settled(fds, ports);
        last = scrape("mockllm_bytes_sent_total", &sent);
        if (sent == kernel + scraped) {
            break;
        }
    }
    print_message("  %d streams paced %lld; RSS %ld -> %ld KiB; bytes sent %lld = in the kernel "
                  "%lld + earlier scrapes %lld?\n",
                  NSLOW, paced, rss0, rss, sent, kernel, scraped);
    if (!(LL_TEST_SANITIZED && strcmp(ll_test_mock_model(), "threads") == 0)) {
        assert_true(rss - rss0 < RSS_BOUND); /* (a sanitizer's per-thread memory is its own) */
    }
    assert_int_equal(paced, NSLOW);
    assert_int_equal(sent, kernel + scraped);
    scraped += (long long)last;

    long long got = read_all(fds, tail, NSLOW);
    for (int i = 0; i < NSLOW; i++) {
        assert_non_null(strstr(tail[i], "\"completion_tokens\":" SLOW_TOK));
        assert_non_null(strstr(tail[i], "data: [DONE]"));
        close(fds[i]);
    }
    scraped += (long long)scrape("mockllm_streams_paced", &paced);
    last = 0;
    for (int tries = 0; tries < 10; tries++) { /* read again as above, a count may lag */
        if (tries > 0) {
            usleep(20 * 1000);
        }
        scraped += (long long)last;
        last = scrape("mockllm_bytes_sent_total", &sent);
        if (sent == got + scraped) {
            break;
        }
    }
    print_message("  all read: %lld bytes; sent %lld = %lld + scrapes %lld?\n", got, sent, got,
                  scraped);
    assert_int_equal(paced, 0);
    assert_int_equal(sent, got + scraped);
}

/* Clients that leave while their streams wait: each request ends (in flight back to 0) and
 * the paced gauge with it. */
static void test_mock_pace_leavers(void **state)
{
    static const char *const args[] = {"--seed", "1", NULL};
    int fds[3], port;
    long long paced = -1, in_flight = -1;
    assert_int_equal(ll_test_mock_start(&mp, args, 10000), 0);
    for (int i = 0; i < 3; i++) {
        fds[i] = ask_stream(&port);
    }
    for (int i = 0; i < 1000 && paced < 3; i++) {
        scrape("mockllm_streams_paced", &paced);
        usleep(10 * 1000);
    }
    assert_int_equal(paced, 3);
    for (int i = 0; i < 3; i++) {
        close(fds[i]);
    }
    for (int i = 0; i < 1000 && in_flight != 0; i++) {
        scrape("mockllm_in_flight", &in_flight);
        usleep(10 * 1000);
    }
    scrape("mockllm_streams_paced", &paced);
    assert_int_equal(in_flight, 0);
    assert_int_equal(paced, 0);
    /* ended by their clients, not answered: no 200 (a stream whose write failed once went on
     * generating to its end and counted 200) */
    char *text = ll_test_metrics_get(mp.host, mp.port);
    assert_non_null(text);
    long long ok = ll_test_metric_sum(text, "mockllm_requests_total", "status=\"200\"");
    long long other = ll_test_metric_sum(text, "mockllm_requests_total", "status=\"other\"");
    free(text);
    assert_int_equal(ok, 0);
    assert_int_equal(other, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_mock_pace_slow_readers, teardown),
        cmocka_unit_test_teardown(test_mock_pace_leavers, teardown),
    };
    return cmocka_run_group_tests_name(ll_test_mock_group("mock_pace"), tests, NULL, NULL);
}
