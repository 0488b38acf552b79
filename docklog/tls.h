/* TLS for docklog's Engine API connection. Two implementations of this contract:
 * docklog/tls_none.c in the plain docklog (every call fails with -EPROTONOSUPPORT,
 * so the binary stays free of OpenSSL and small), and docklog/tls/tls_openssl.c in
 * docklog-tls (static OpenSSL), which the agent picks for TLS endpoints.
 *
 * The socket is non-blocking: read/write return -EAGAIN when they need the socket
 * readable (*ret_want_write false) or writable (true) first. */
#ifndef DL_TLS_H
#define DL_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

typedef struct dl_tls dl_tls;

/* Is TLS built into this binary? */
bool dl_tls_available(void);

/* Set up a client session on connected FD, verifying the server against CA for
 * HOST, presenting CERT/KEY. The handshake runs on the first read/write (or
 * dl_tls_handshake). */
int dl_tls_new(int fd, const char *host, const char *cert, const char *key, const char *ca,
               dl_tls **ret, dv_error *err);
/* One handshake step: 0 done, -EAGAIN (see ret_want_write), or an error. */
int dl_tls_handshake(dl_tls *t, bool *ret_want_write, dv_error *err);
/* > 0 bytes, 0 clean EOF, -EAGAIN, or an error. */
ssize_t dl_tls_read(dl_tls *t, char *buf, size_t len, bool *ret_want_write, dv_error *err);
ssize_t dl_tls_write(dl_tls *t, const char *buf, size_t len, bool *ret_want_write, dv_error *err);
/* Decrypted bytes already buffered (a read returns them without the socket). */
size_t dl_tls_pending(dl_tls *t);
void dl_tls_free(dl_tls *t);

#endif
