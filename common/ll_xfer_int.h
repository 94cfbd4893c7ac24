/* ll_xfer_int.h - what ll_xfer.c and ll_xfer_net.c share (ll_xfer__ internals); not for
 * backends. Same threading as ll_xfer.h: the thread running the transfer. */
#ifndef LL_XFER_INT_H
#define LL_XFER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "ll_err.h"
#include "ll_xfer.h"

/* CURLOPT_PREREQFUNCTION (clientp: the xfer): counts the sends of a transfer and whether the
 * last one went out on a reused connection. */
/* The errno of a system call that failed inside OpenSSL on this thread since its error queue
 * was last cleared (e.g. fopen of the CA file: EMFILE), 0 when none; the queue is emptied. */
int ll_xfer__tls_sys_errno(void);

int ll_xfer__prereq_cb(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                       int conn_primary_port, int conn_local_port);

/* Header value after "Name:", trimmed, copied into out. false when the name does not match. */
bool ll_xfer__header_value(const char *line, size_t n, const char *name, char *out, size_t outsz);

/* A retry hint among the answer's headers into x->hints; other headers are left alone. */
void ll_xfer__take_hint(struct ll_xfer *x, const char *line, size_t n);

/* curl's phase times of this transfer into the result's ph_* (opened: it opened a
 * connection; now: ll_now_ns() read as the transfer ended, which places our first-byte time on
 * curl's time line). Thread of the transfer. */
void ll_xfer__read_phases(struct ll_xfer *x, bool opened, int64_t now);

/* The request died on a connection curl reused, before any byte of an answer. */
bool ll_xfer__died_unanswered(const struct ll_xfer *x, CURLcode rc);

/* After a failed attempt of class cls: the wait before the next (>= 0), or -1 when final --
 * also when the server's hint asks for more than the policy allows, which the message then
 * says. */
int64_t ll_xfer__retry_wait(struct ll_xfer *x, enum ll_class cls, long status, uint64_t *rng);

#endif
