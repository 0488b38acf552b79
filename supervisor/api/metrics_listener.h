/* The optional TCP listener Prometheus scrapes (agent config
 * telemetry.prometheus_address): plain HTTP, read-only.
 *
 * Contract:
 * - It answers GET (or HEAD) /metrics and /v1/metrics with the text RENDER writes,
 *   404 for every other path and 405 for another method on those two; no task
 *   operation, and nothing of the API socket, is reachable through it. There is no
 *   authentication: bind it to an address only the scrapers reach.
 * - RENDER runs on the loop thread (posted there, as the API's handlers); a
 *   connection's thread waits for it at most DV_METRICS_ANSWER_TIMEOUT_MS, then
 *   answers 503. At most DV_METRICS_MAX_CONNECTIONS connections at once (one thread
 *   each; beyond, libmicrohttpd refuses them), each idle at most 10 s.
 * - Start binds and listens before it returns: an address in use or not on this
 *   host fails the start (ERR says which address) and nothing is left listening.
 * - Stop closes the listening socket and joins every connection thread within about
 *   a second (a request waiting for a loop that no longer runs gets 503).
 * - A SIGHUP does not rebind it: the address is a restart-only setting
 *   (agent_config.h). All its fds are close-on-exec. */
#ifndef DV_METRICS_LISTENER_H
#define DV_METRICS_LISTENER_H

#include "buf.h"
#include "error.h"
#include "loop.h"

#define DV_METRICS_MAX_CONNECTIONS 16
#define DV_METRICS_ANSWER_TIMEOUT_MS 10000

typedef struct dv_metrics_listener dv_metrics_listener;
typedef void (*dv_metrics_render_fn)(void *userdata, dv_buf *b);

/* HOST: a numeric IPv4 or IPv6 address (dv_listen_address_parse() splits the
 * config's); PORT 0 takes any free port (tests). */
int dv_metrics_listener_start(const char *host, int port, dv_loop *loop,
                              dv_metrics_render_fn render, void *userdata,
                              dv_metrics_listener **ret, dv_error *err);
/* The port it listens on. */
int dv_metrics_listener_port(const dv_metrics_listener *l);
void dv_metrics_listener_stop(dv_metrics_listener *l);

#endif
