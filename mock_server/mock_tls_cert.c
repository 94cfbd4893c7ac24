/* mock_tls_cert.c - the throwaway CA and leaf certificate of `mockllm --tls` without --cert
 * (mock_tls.h): both ECDSA P-256 (a key in well under a millisecond), valid from an hour ago
 * (clock skew) for 30 days, serials random. The CA signs only the leaf and its key is freed
 * once it has; the CA's certificate goes to a file for clients to trust, the leaf and its key
 * into the context. Nothing is printed. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mock_tls.h"

#define CERT_DAYS 30

/* One v3 extension from its config text ("critical,CA:TRUE"), issuer and subject in xctx. */
static int add_ext(X509 *cert, X509V3_CTX *xctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, xctx, nid, value);
    if (ext == NULL) {
        return -1;
    }
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A certificate for key, named cn, valid now; issued by itself when issuer is NULL. */
static X509 *cert_new(EVP_PKEY *key, const char *cn, X509 *issuer)
{
    X509 *x = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1) {
        X509_free(x);
        return NULL;
    }
    serial[0] &= 0x7f; /* a positive serial */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    X509_NAME *name = X509_get_subject_name(x);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
             X509_set_version(x, 2) && X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
             X509_gmtime_adj(X509_getm_notAfter(x), 86400L * CERT_DAYS) != NULL &&
             X509_set_pubkey(x, key) &&
             X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"mockllm",
                                        -1, -1, 0) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                        0) &&
             X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* "IP:a,IP:b,DNS:localhost": every listen address (a wildcard stands for loopback). */
static void alt_names(const struct mock_config *cfg, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "DNS:localhost");
    for (int i = 0; i < cfg->nlisten && used < len; i++) {
        const char *a = cfg->listen[i];
        char host[64];
        size_t n = strlen(a);
        if (n >= 2 && a[0] == '[' && a[n - 1] == ']') {
            snprintf(host, sizeof(host), "%.*s", (int)(n - 2), a + 1);
            a = host;
        }
        if (strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0) {
            a = a[0] == '0' ? "127.0.0.1" : "::1";
        }
        used += (size_t)snprintf(buf + used, len - used, ",IP:%s", a);
    }
}

static X509 *make_ca(EVP_PKEY *key)
{
    X509 *ca = cert_new(key, "mockllm throwaway CA", NULL);
    X509V3_CTX xctx;
    if (ca == NULL) {
        return NULL;
    }
    X509V3_set_ctx(&xctx, ca, ca, NULL, NULL, 0);
    if (add_ext(ca, &xctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
        add_ext(ca, &xctx, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
        add_ext(ca, &xctx, NID_subject_key_identifier, "hash") != 0 ||
        X509_sign(ca, key, EVP_sha256()) == 0) {
        X509_free(ca);
        return NULL;
    }
    return ca;
}

static X509 *make_leaf(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key, const struct mock_config *cfg)
{
    char names[MOCK_MAX_LISTEN * 72 + 32];
    alt_names(cfg, names, sizeof(names));
    X509 *leaf = cert_new(key, "localhost", ca);
    X509V3_CTX xctx;
    if (leaf == NULL) {
        return NULL;
    }
    X509V3_set_ctx(&xctx, ca, leaf, NULL, NULL, 0);
    if (add_ext(leaf, &xctx, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(leaf, &xctx, NID_key_usage, "critical,digitalSignature") != 0 ||
        add_ext(leaf, &xctx, NID_ext_key_usage, "serverAuth") != 0 ||
        add_ext(leaf, &xctx, NID_subject_alt_name, names) != 0 ||
        add_ext(leaf, &xctx, NID_authority_key_identifier, "keyid:always") != 0 ||
        X509_sign(leaf, ca_key, EVP_sha256()) == 0) {
        X509_free(leaf);
        return NULL;
    }
    return leaf;
}

/* The CA certificate as PEM at path, readable by everyone (it is public), written whole to a
 * temporary name and renamed so that a client never reads half a file. */
static int write_ca(X509 *ca, const char *path, char *err, size_t errlen)
{
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        snprintf(err, errlen, "--tls: cannot write the CA file '%s': %m", tmp);
        return -1;
    }
    int ok = PEM_write_X509(f, ca);
    ok = fclose(f) == 0 && ok;
    if (!ok || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "--tls: cannot write the CA file '%s': %m", path);
        remove(tmp);
        return -1;
    }
    return 0;
}

int mock__tls_cert_make(SSL_CTX *ctx, const struct mock_config *cfg, const char *ca_path, char *err,
                        size_t errlen)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
    X509 *ca = ca_key ? make_ca(ca_key) : NULL;
    X509 *leaf = ca && key ? make_leaf(key, ca, ca_key, cfg) : NULL;
    int rc = -1;
    if (leaf == NULL) {
        snprintf(err, errlen, "--tls: cannot create the throwaway certificate");
    } else if (SSL_CTX_use_certificate(ctx, leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
        snprintf(err, errlen, "--tls: cannot use the throwaway certificate");
    } else {
        rc = write_ca(ca, ca_path, err, errlen);
    }
    ERR_clear_error();
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return rc;
}
