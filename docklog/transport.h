/* docklog's connection to the Docker daemon: endpoint parsing, connect with a
 * deadline, non-blocking reads and writes that wait with poll(2) on the socket and
 * on a wake fd (the signalfd, so SIGTERM interrupts any wait), optional TLS.
 *
 * Endpoints (as the driver's `endpoint` option and DOCKER_HOST):
 *   unix:///var/run/docker.sock
 *   tcp://host:port, http://host:port     plain TCP (port defaults to 2375)
 *   https://host:port, or tcp:// with a TLS config   TLS (port defaults to 2376)
 * Hosts are numeric (IPv4, [IPv6]) or names resolved by docklog/resolve.h.
 *
 * TLS exists only in the docklog-tls build (docklog/tls.h); the plain docklog
 * reports -EPROTONOSUPPORT for a TLS endpoint. */
#ifndef DL_TRANSPORT_H
#define DL_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "tls.h"

typedef struct dl_endpoint {
    bool unix_socket;
    bool tls;
    char path[108]; /* unix */
    char host[256]; /* tcp: without brackets */
    char port[8];
    char host_header[280]; /* the Host: header value */
} dl_endpoint;

typedef struct dl_tls_files {
    const char *cert;
    const char *key;
    const char *ca;
} dl_tls_files;

/* TLS_CONFIGURED: a tls block was given (makes tcp:// speak TLS, as Docker does). */
int dl_endpoint_parse(const char *url, bool tls_configured, dl_endpoint *ret, dv_error *err);

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
