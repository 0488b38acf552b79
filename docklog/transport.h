/* docklog's connection to the Docker daemon: where to connect, connect with a
 * deadline, non-blocking reads and writes that wait with poll(2) on the socket and
 * on a wake fd (the signalfd, so SIGTERM interrupts any wait), optional TLS.
 *
 * Endpoints are common/endpoint.h's URLs. docklog does not resolve host names (in a
 * static binary glibc's getaddrinfo needs NSS and the dynamic loader at run time, and
 * a resolver of its own is more than a log helper should carry): a tcp:// host is
 * either a numeric address, or the agent resolved it and the config lists its
 * numeric addresses (config.h "addresses"), tried in order. The name itself stays
 * for the Host: header and TLS verification.
 *
 * TLS exists only in the docklog-tls build (docklog/tls.h); the plain docklog
 * reports -EPROTONOSUPPORT for a TLS endpoint. */
#ifndef DL_TRANSPORT_H
#define DL_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "docklog_protocol.h"
#include "endpoint.h"
#include "error.h"
#include "tls.h"

typedef struct dl_addr {
    struct sockaddr_storage sa;
    socklen_t len;
} dl_addr;

typedef struct dl_endpoint {
    dv_endpoint url;
    dl_addr addrs[DV_DOCKLOG_ADDRESSES_MAX]; /* tcp: where to connect, in order */
    size_t n_addrs;
} dl_endpoint;

/* Parse URL (TLS_CONFIGURED: a tls block was given, which makes tcp:// speak TLS, as
 * Docker does) and the numeric ADDRESSES of its host (N of them; none: the host must
 * itself be numeric). -EINVAL names what is not numeric. */
int dl_endpoint_parse(const char *url, bool tls_configured, const char *const *addresses, size_t n,
                      dl_endpoint *ret, dv_error *err);

typedef struct dl_tls_files {
    const char *cert;
    const char *key;
    const char *ca;
} dl_tls_files;

typedef struct dl_conn {
    int fd;
    dl_tls *tls;
    int wake_fd; /* -1: none */
} dl_conn;

#define DL_CONN_INIT                                                                               \
    {                                                                                              \
        .fd = -1, .tls = NULL, .wake_fd = -1                                                       \
    }

/* Connect (and TLS handshake) within TIMEOUT_NS. Connection failures are
 * err->recoverable (daemon down or restarting). WAKE_FD readable aborts with -EINTR. */
int dl_conn_open(dl_conn *c, const dl_endpoint *ep, const dl_tls_files *tls, int wake_fd,
                 int64_t timeout_ns, dv_error *err);

/* Write everything within TIMEOUT_NS. */
int dl_conn_write_all(dl_conn *c, const char *data, size_t len, int64_t timeout_ns, dv_error *err);

/* Read what is available, waiting up to TIMEOUT_NS (< 0: forever) for something.
 * Returns bytes read (> 0), 0 at EOF, -ETIMEDOUT, -EINTR (wake fd readable), or
 * another -errno (err filled, recoverable for resets). */
ssize_t dl_conn_read(dl_conn *c, char *buf, size_t len, int64_t timeout_ns, dv_error *err);

void dl_conn_close(dl_conn *c);

#endif
