/* TLS for docklog-tls (docklog/tls.h) with OpenSSL, linked statically. Built only
 * into docklog-tls: the plain docklog stays free of OpenSSL's memory footprint.
 * Like Docker's own client with a tls block: TLS 1.2+, the server verified against
 * the given CA including its host name (or IP address), the client certificate
 * presented. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct dl_tls {
    SSL_CTX *ctx;
    SSL *ssl;
};

bool dl_tls_available(void)
{
    return true;
}

/* The most useful reason OpenSSL has: a verification failure, else its error queue. */
static int tls_error(dl_tls *t, dv_error *err, int code, const char *what)
{
    char detail[256] = "";
    long verify = t && t->ssl ? SSL_get_verify_result(t->ssl) : X509_V_OK;
    unsigned long e = ERR_peek_last_error();
    if (verify != X509_V_OK)
        snprintf(detail, sizeof(detail), "certificate verification failed: %s",
                 X509_verify_cert_error_string(verify));
    else if (e)
        ERR_error_string_n(e, detail, sizeof(detail));
    else if (errno)
        snprintf(detail, sizeof(detail), "%s", strerror(errno));
    ERR_clear_error();
    int r = dv_error_set(err, code, "TLS %s: %s", what, detail[0] ? detail : "failed");
    if (err)
        err->recoverable = verify == X509_V_OK; /* a wrong certificate stays wrong */
    return r;
}

int dl_tls_new(int fd, const char *host, const char *cert, const char *key, const char *ca,
               dl_tls **ret, dv_error *err)
{
    dl_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return dv_error_set(err, -ENOMEM, "out of memory");
    int r = 0;
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx) {
        r = tls_error(t, err, -ENOMEM, "setup");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    if ((ca ? SSL_CTX_load_verify_locations(t->ctx, ca, NULL)
            : SSL_CTX_set_default_verify_paths(t->ctx)) != 1) {
        r = tls_error(t, err, -EINVAL, ca ? "CA file" : "default CA paths");
        goto fail;
    }
    if (cert && key &&
        (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1 ||
         SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_check_private_key(t->ctx) != 1)) {
        r = tls_error(t, err, -EINVAL, "client certificate/key");
        goto fail;
    }
    t->ssl = SSL_new(t->ctx);
    if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
        r = tls_error(t, err, -ENOMEM, "setup");
        goto fail;
    }
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
    if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1
              : (SSL_set_tlsext_host_name(t->ssl, host) != 1 || SSL_set1_host(t->ssl, host) != 1)) {
        r = tls_error(t, err, -EINVAL, "server name");
        goto fail;
    }
    SSL_set_connect_state(t->ssl);
    *ret = t;
    return 0;
fail:
    dl_tls_free(t);
    return r;
}

/* Map an SSL_ERROR_* after a call that returned N. */
static ssize_t result(dl_tls *t, int n, bool *ret_want_write, const char *what, dv_error *err)
{
    int e = SSL_get_error(t->ssl, n);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *ret_want_write = false;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        *ret_want_write = true;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        /* Without close_notify (Go's server often just closes): a plain EOF; the HTTP
         * framing tells whether anything is missing. */
        if (errno == 0 || errno == ECONNRESET) {
            ERR_clear_error();
            return 0;
        }
        return tls_error(t, err, -errno, what);
    default:
        return tls_error(t, err, -EPROTO, what);
    }
}

int dl_tls_handshake(dl_tls *t, bool *ret_want_write, dv_error *err)
{
    errno = 0;
    int n = SSL_do_handshake(t->ssl);
    if (n == 1)
        return 0;
    ssize_t r = result(t, n, ret_want_write, "handshake", err);
    return r == 0 ? tls_error(t, err, -ECONNRESET, "handshake") : (int)r;
}

ssize_t dl_tls_read(dl_tls *t, char *buf, size_t len, bool *ret_want_write, dv_error *err)
{
    errno = 0;
    int n = SSL_read(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    return n > 0 ? n : result(t, n, ret_want_write, "read", err);
}

ssize_t dl_tls_write(dl_tls *t, const char *buf, size_t len, bool *ret_want_write, dv_error *err)
{
    errno = 0;
    int n = SSL_write(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (n > 0)
        return n;
    ssize_t r = result(t, n, ret_want_write, "write", err);
    return r == 0 ? tls_error(t, err, -EPIPE, "write") : r;
}

size_t dl_tls_pending(dl_tls *t)
{
    return (size_t)SSL_pending(t->ssl);
}

void dl_tls_free(dl_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    free(t);
}
