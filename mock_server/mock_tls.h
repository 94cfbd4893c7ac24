/* mock_tls.h - HTTPS for mockllm (--tls): the server's TLS context and one connection's TLS
 * engine over memory BIOs, the same for both concurrency models.
 *
 * The context (struct mock_tls_srv, one per process, made at start): TLS 1.2 and 1.3, session
 * resumption by tickets (TLS 1.3 and 1.2) and by session id (1.2), ALPN choosing h2 (when
 * HTTP/2 is served: --model loop and --h2-max-streams > 0) or http/1.1. Its certificate is
 * --cert/--key, or, without them, a leaf for the addresses mockllm listens on signed by a
 * throwaway CA made at start (ECDSA P-256) whose certificate is written where a client can
 * trust it (--ca-out, else a file in $TMPDIR removed at exit; the ready line names it).
 *
 * The engine (struct mock_tls) never touches a socket: the transport hands it the bytes it read
 * (mock_tls_put), takes plaintext out (mock_tls_read: the handshake runs inside, as SSL_read
 * does), encrypts what the layers above send (mock_tls_write), and writes out whatever
 * ciphertext the engine has produced (mock_tls_take) after each of those calls: handshake
 * messages, tickets, alerts and records alike. So the event loop never blocks
 * on it and the thread model drives it with its own blocking reads and writes.
 *
 * Threads: the context is read-only after mock_tls_srv_init (OpenSSL locks its session cache);
 * an engine belongs to its connection's thread. Keys are never printed. */
#ifndef MOCK_TLS_H
#define MOCK_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "mock_config.h"

struct mock_tls_srv;

/* Make the context: load or create the certificate, write the CA file. 0, or -1 with a one-line
 * reason in err (which file, what failed; never key material). Main thread, before serving. */
int mock_tls_srv_init(struct mock_tls_srv **out, const struct mock_config *cfg, bool h2, char *err,
                      size_t errlen);
/* The CA file written for clients, or NULL (--cert given). */
const char *mock_tls_srv_ca_file(const struct mock_tls_srv *s);
/* Free the context; removes the CA file when it was a temporary one. NULL is fine. */
void mock_tls_srv_free(struct mock_tls_srv *s);

/* What a handshake ended with (mock_tls_read reports it once). */
enum mock_tls_hs { MOCK_TLS_HS_NONE, MOCK_TLS_HS_FULL, MOCK_TLS_HS_RESUMED };

/* mock_tls_read's returns besides a byte count. */
#define MOCK_TLS_WANT 0  /* no plaintext until more bytes come */
#define MOCK_TLS_EOF  -1 /* the client sent close_notify */
#define MOCK_TLS_ERR  -2 /* bad input (a handshake or record error): an alert may be in out */

struct mock_tls {
    struct ssl_st *ssl;
    struct bio_st *rbio, *wbio; /* owned by ssl */
    bool hs_done;               /* the handshake completed (and was reported) */
    bool failed;                /* a fatal error: nothing more is read or written */
    bool h2;                    /* ALPN chose h2 */
    bool alpn;                  /* the client offered ALPN and a protocol was chosen */
};

/* A server engine of context s. 0 or -1 (out of memory). */
int mock_tls_init(struct mock_tls *t, struct mock_tls_srv *s);
void mock_tls_free(struct mock_tls *t);
/* Bytes read from the client. 0 or -1 (out of memory). */
int mock_tls_put(struct mock_tls *t, const char *p, size_t n);
/* Plaintext into buf: > 0 bytes, or MOCK_TLS_WANT / _EOF / _ERR. *hs is set to FULL or RESUMED
 * by the call during which the handshake completed, else NONE. */
int mock_tls_read(struct mock_tls *t, char *buf, size_t cap, enum mock_tls_hs *hs);
/* Encrypt all of p (after the handshake). 0, or -1 when the engine has failed. */
int mock_tls_write(struct mock_tls *t, const char *p, size_t n);
/* close_notify into the output. */
void mock_tls_close_notify(struct mock_tls *t);
/* Take up to cap bytes of the ciphertext waiting to go out into buf; 0 when none is left.
 * (Read out rather than pointed at: resetting a memory BIO clears its whole buffer.) */
size_t mock_tls_take(struct mock_tls *t, char *buf, size_t cap);
/* Plaintext buffered inside the engine (SSL_pending: decrypted, not yet read). */
size_t mock_tls_buffered(struct mock_tls *t);

/* The throwaway CA and leaf (mock_tls_cert.c), for mock_tls_srv_init: the leaf's names are
 * DNS:localhost and an IP entry for every --listen address (and 127.0.0.1, ::1 for a wildcard);
 * the CA is written as PEM to ca_path. 0 or -1 with err. */
struct ssl_ctx_st;
int mock__tls_cert_make(struct ssl_ctx_st *ctx, const struct mock_config *cfg, const char *ca_path,
                        char *err, size_t errlen);

#endif
