/* The plain docklog has no TLS: OpenSSL would add megabytes to every helper.
 * TLS endpoints use docklog-tls (docklog/tls/tls_openssl.c). */
#include "tls.h"

#include <errno.h>

bool dl_tls_available(void)
{
    return false;
}

int dl_tls_new(int fd, const char *host, const char *cert, const char *key, const char *ca,
               dl_tls **ret, dv_error *err)
{
    (void)fd, (void)host, (void)cert, (void)key, (void)ca, (void)ret;
    return dv_error_set(err, -EPROTONOSUPPORT,
                        "this docklog is built without TLS: use docklog-tls for TLS endpoints");
}

int dl_tls_handshake(dl_tls *t, bool *ret_want_write, dv_error *err)
{
    (void)t, (void)ret_want_write;
    return dv_error_set(err, -EPROTONOSUPPORT, "no TLS");
}

ssize_t dl_tls_read(dl_tls *t, char *buf, size_t len, bool *ret_want_write, dv_error *err)
{
    (void)t, (void)buf, (void)len, (void)ret_want_write;
    return dv_error_set(err, -EPROTONOSUPPORT, "no TLS");
}

ssize_t dl_tls_write(dl_tls *t, const char *buf, size_t len, bool *ret_want_write, dv_error *err)
{
    (void)t, (void)buf, (void)len, (void)ret_want_write;
    return dv_error_set(err, -EPROTONOSUPPORT, "no TLS");
}

size_t dl_tls_pending(dl_tls *t)
{
    (void)t;
    return 0;
}

void dl_tls_free(dl_tls *t)
{
    (void)t;
}
