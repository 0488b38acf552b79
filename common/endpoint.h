/* Docker endpoint URLs (the driver's `endpoint` option, DOCKER_HOST), parsed into
 * what a client needs to connect. Pure: no I/O, no name resolution.
 *
 *   unix:///var/run/docker.sock
 *   tcp://host:port, http://host:port     plain TCP (port defaults to 2375)
 *   https://host:port, or tcp:// with a TLS config   TLS (port defaults to 2376)
 *
 * HOST is a name, an IPv4 address or a bracketed IPv6 address. Shared by docklog
 * (which connects to numeric addresses only) and the agent (which resolves the host
 * name for it when it writes docklog's config: supervisor/runner/docklog_launch.h). */
#ifndef DV_ENDPOINT_H
#define DV_ENDPOINT_H

#include <stdbool.h>

#include "error.h"

typedef struct dv_endpoint {
    bool unix_socket;
    bool tls;
    char path[108]; /* unix */
    char host[256]; /* tcp: without brackets; the name TLS verifies */
    char port[8];
    char host_header[280]; /* the Host: header value */
} dv_endpoint;

/* TLS_CONFIGURED: a tls block was given (makes tcp:// speak TLS, as Docker does).
 * -EINVAL with a message quoting URL for anything malformed. */
int dv_endpoint_parse(const char *url, bool tls_configured, dv_endpoint *ret, dv_error *err);

#endif
