/* mock_tls.c - the TLS context and the memory-BIO engine (mock_tls.h). */
#include "mock_tls.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mock_tls_srv {
    SSL_CTX *ctx;
    bool h2;           /* ALPN may choose h2 */
    bool ca_temp;      /* ca_file is ours to remove */
    char ca_file[512]; /* empty when --cert was given */
};

/* ---- the context ---- */

/* h2 first when the client offers it and HTTP/2 is served, then http/1.1 (RFC 7301: the
 * server's preference). A client offering neither gets no ALPN answer and speaks HTTP/1.1. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    const struct mock_tls_srv *s = arg;
    static const unsigned char h2[] = "h2", h1[] = "http/1.1";
    const unsigned char *found = NULL;
    unsigned char flen = 0;
    for (unsigned int i = 0; i < inlen;) {
        unsigned char n = in[i];
        if (i + 1u + n > inlen) {
            break;
        }
        if (s->h2 && n == 2 && memcmp(in + i + 1, h2, 2) == 0) {
            *out = in + i + 1;
            *outlen = n;
            return SSL_TLSEXT_ERR_OK;
        }
        if (found == NULL && n == 8 && memcmp(in + i + 1, h1, 8) == 0) {
            found = in + i + 1;
            flen = n;
        }
        i += 1u + n;
    }
    if (found == NULL) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = found;
    *outlen = flen;
    return SSL_TLSEXT_ERR_OK;
}

/* The first OpenSSL error as text (never key material: OpenSSL's reasons are names). */
static void ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    snprintf(buf, len, "%s", r ? r : "unknown error");
    ERR_clear_error();
}

static int load_files(SSL_CTX *ctx, const struct mock_config *cfg, char *err, size_t errlen)
{
    char why[160];
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
        ssl_reason(why, sizeof(why));
        snprintf(err, errlen, "--cert '%s': cannot use it: %s", cfg->tls_cert, why);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
        ssl_reason(why, sizeof(why));
        snprintf(err, errlen, "--key '%s': cannot use it: %s", cfg->tls_key, why);
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "--key '%s' does not match --cert '%s'", cfg->tls_key, cfg->tls_cert);
        return -1;
    }
    return 0;
}

static SSL_CTX *ctx_new(struct mock_tls_srv *s)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    /* Renegotiation is a denial-of-service lever and no HTTP/2 client may use it. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Resumption: session ids (TLS 1.2) in OpenSSL's locked cache, shared by every loop and
     * thread; tickets (both versions) under the context's key, so any loop resumes any. */
    static const unsigned char sid_ctx[] = "mockllm";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, 1 << 16);
    /* Idle connections give their 34 KiB of record buffers back, as nginx sets it. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, s);
    return ctx;
}

int mock_tls_srv_init(struct mock_tls_srv **out, const struct mock_config *cfg, bool h2, char *err,
                      size_t errlen)
{
    struct mock_tls_srv *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (s == NULL || (s->ctx = ctx_new(s)) == NULL) {
        snprintf(err, errlen, "--tls: cannot create the TLS context (out of memory)");
        free(s);
        return -1;
    }
    s->h2 = h2;
    int rc;
    if (cfg->tls_cert[0] != '\0') {
        rc = load_files(s->ctx, cfg, err, errlen);
    } else {
        if (cfg->tls_ca_out[0] != '\0') {
            snprintf(s->ca_file, sizeof(s->ca_file), "%s", cfg->tls_ca_out);
        } else {
            const char *tmp = getenv("TMPDIR");
            snprintf(s->ca_file, sizeof(s->ca_file), "%s/mockllm-ca-%ld.pem",
                     tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
            s->ca_temp = true;
        }
        rc = mock__tls_cert_make(s->ctx, cfg, s->ca_file, err, errlen);
    }
    if (rc != 0) {
        mock_tls_srv_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

const char *mock_tls_srv_ca_file(const struct mock_tls_srv *s)
{
    return s->ca_file[0] ? s->ca_file : NULL;
}

void mock_tls_srv_free(struct mock_tls_srv *s)
{
    if (s == NULL) {
        return;
    }
    if (s->ca_temp) {
        unlink(s->ca_file);
    }
    SSL_CTX_free(s->ctx);
    free(s);
}

/* ---- the engine ---- */

int mock_tls_init(struct mock_tls *t, struct mock_tls_srv *s)
{
    memset(t, 0, sizeof(*t));
    t->ssl = SSL_new(s->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        t->ssl = NULL;
        ERR_clear_error();
        return -1;
    }
    /* An empty read BIO means "more to come", never end of file: the transport says when the
     * client closed. */
    BIO_set_mem_eof_return(t->rbio, -1);
    BIO_set_mem_eof_return(t->wbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    return 0;
}

void mock_tls_free(struct mock_tls *t)
{
    if (t->ssl != NULL) {
        SSL_free(t->ssl); /* and its BIOs */
        t->ssl = NULL;
    }
}

int mock_tls_put(struct mock_tls *t, const char *p, size_t n)
{
    while (n > 0) {
        int k = BIO_write(t->rbio, p, n > INT_MAX ? INT_MAX : (int)n);
        if (k <= 0) {
            ERR_clear_error();
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void handshake_done(struct mock_tls *t, enum mock_tls_hs *hs)
{
    const unsigned char *proto = NULL;
    unsigned int len = 0;
    t->hs_done = true;
    *hs = SSL_session_reused(t->ssl) ? MOCK_TLS_HS_RESUMED : MOCK_TLS_HS_FULL;
    SSL_get0_alpn_selected(t->ssl, &proto, &len);
    t->alpn = len > 0;
    t->h2 = len == 2 && memcmp(proto, "h2", 2) == 0;
}

int mock_tls_read(struct mock_tls *t, char *buf, size_t cap, enum mock_tls_hs *hs)
{
    *hs = MOCK_TLS_HS_NONE;
    if (t->failed) {
        return MOCK_TLS_ERR;
    }
    int n = SSL_read(t->ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
    if (!t->hs_done && SSL_is_init_finished(t->ssl)) {
        handshake_done(t, hs);
    }
    if (n > 0) {
        return n;
    }
    switch (SSL_get_error(t->ssl, n)) {
    case SSL_ERROR_WANT_READ:
        return MOCK_TLS_WANT;
    case SSL_ERROR_ZERO_RETURN:
        return MOCK_TLS_EOF;
    default:
        /* The alert OpenSSL generated, if any, is in the write BIO: the caller sends it. */
        ERR_clear_error();
        t->failed = true;
        return MOCK_TLS_ERR;
    }
}

int mock_tls_write(struct mock_tls *t, const char *p, size_t n)
{
    while (n > 0 && !t->failed) {
        /* A memory BIO takes everything: SSL_write returns all of it or fails. */
        int k = SSL_write(t->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
        if (k <= 0) {
            ERR_clear_error();
            t->failed = true;
            break;
        }
        p += k;
        n -= (size_t)k;
    }
    return t->failed ? -1 : 0;
}

void mock_tls_close_notify(struct mock_tls *t)
{
    if (!t->failed && t->hs_done) {
        SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
}

size_t mock_tls_take(struct mock_tls *t, char *buf, size_t cap)
{
    int n = BIO_read(t->wbio, buf, cap > INT_MAX ? INT_MAX : (int)cap);
    return n > 0 ? (size_t)n : 0;
}

size_t mock_tls_buffered(struct mock_tls *t)
{
    int n = SSL_pending(t->ssl);
    return n > 0 ? (size_t)n : 0;
}
