/* mock_rtt.h - a delay line for --rtt-ms: the network round trip mockllm emulates itself (this
 * kernel has no netem qdisc). One per event loop. Bytes a connection read are acted on RTT/2
 * late and the bytes it writes leave RTT/2 late, each in order; the first bytes of a new
 * connection wait a whole RTT more (the TCP handshake's round trip, which the kernel completed
 * at once: paid after whatever the client did before sending, as across a network). The delays
 * are constant, so each of the two queues (RTT/2 and 1.5 RTT) is in due order by construction:
 * a FIFO, no heap. One timerfd per loop (nanosecond expiry, where a
 * uv timer rounds to the millisecond, 10% of a 20 ms round trip over two hops) fires for the
 * earliest item.
 *
 * The line does not know what it carries: an item is (owner, kind, bytes), handed back to the
 * deliver callback when due, or with dropped set when the line is closed first (the owner then
 * only releases what it holds). Loop thread only. */
#ifndef MOCK_RTT_H
#define MOCK_RTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct mock_rtt_item {
    struct mock_rtt_item *next;
    int64_t due_ns; /* uv_hrtime clock */
    void *owner;
    int kind;
    size_t len;
    char data[];
};

struct mock_rtt {
    uv_poll_t poll; /* the timerfd, readable when it expired */
    int tfd;
    int64_t half_ns, first_ns;
    struct mock_rtt_item *head[2], *tail[2]; /* [0]: RTT/2, [1]: 1.5 RTT */
    int64_t armed_ns;                        /* the timerfd's expiry, 0 when disarmed */
    void (*deliver)(struct mock_rtt_item *it, bool dropped);
    bool open;
};

/* A line of rtt_ms on loop. 0, or -1 with errno (timerfd). */
int mock_rtt_init(struct mock_rtt *r, uv_loop_t *loop, double rtt_ms,
                  void (*deliver)(struct mock_rtt_item *it, bool dropped));
/* Queue n bytes (copied) of `kind` for owner, due after RTT/2 (first: after 1.5 RTT). 0, or -1
 * when out of memory or the line is closed. An owner keeps its items in order by sending each
 * after a `first` one to the same queue until that one is delivered. */
int mock_rtt_push(struct mock_rtt *r, bool first, void *owner, int kind, const char *p, size_t n);
/* Drop every item (deliver with dropped set) and close the timer; the loop may then end. Safe
 * to call twice. */
void mock_rtt_close(struct mock_rtt *r);

#endif
