/* The CLI's client for the agent's HTTP API (libcurl over the Unix socket).
 *
 * Address: "-address" flag, else $DOCKVISOR_ADDR, else the default socket;
 * either "unix:///path/to.sock" or a plain path.
 *
 * Connect errors say what an operator can do about them, with the path (R1):
 *   -ECONNREFUSED  no socket there (is the agent running?), a socket nobody listens
 *                  on (an agent that died), or a file that is not a socket
 *   -EACCES        the socket (or a directory above it) is not accessible to this user
 * A stream the agent cuts off before its end is -EPIPE.
 * Output parameters are untouched on failure. */
#ifndef DV_API_CLIENT_H
#define DV_API_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

#define DV_API_ADDR_ENV "DOCKVISOR_ADDR"
#define DV_API_DEFAULT_SOCKET "/run/dockvisor/dockvisor.sock"

typedef struct dv_api_client dv_api_client;

int dv_api_client_new(const char *address, dv_api_client **ret, dv_error *err);
void dv_api_client_free(dv_api_client *c);
const char *dv_api_client_socket(const dv_api_client *c);
/* A bound for each dv_api_call/dv_api_call_ok (not streams): past it the call
 * fails with -ETIMEDOUT and a sentence naming the agent. 0 (the default) = none. */
void dv_api_client_set_call_timeout(dv_api_client *c, int64_t timeout_ns);

/* METHOD PATH (query included, already escaped) with an optional JSON body.
 * Any HTTP answer is a success here: *ret_status gets the status and *ret_body
 * the parsed JSON (json null for an empty or non-JSON body). Transport errors
 * fail. */
int dv_api_call(dv_api_client *c, const char *method, const char *path, const json_t *body,
                long *ret_status, json_t **ret_body, dv_error *err);

/* Like dv_api_call, but a status >= 400 is an error carrying the agent's
 * {"error"} message and err->http_status. */
int dv_api_call_ok(dv_api_client *c, const char *method, const char *path, const json_t *body,
                   json_t **ret_body, dv_error *err);

/* Stream the answer of GET/POST PATH to ON_DATA as it arrives (events, logs -f).
 * ON_DATA returns non-zero to stop (then the call returns 0). A status >= 400
 * is an error with the agent's message; ON_DATA is not called then. */
typedef int (*dv_api_data_fn)(const char *data, size_t len, void *userdata);
int dv_api_stream(dv_api_client *c, const char *method, const char *path, const json_t *body,
                  dv_api_data_fn on_data, void *userdata, dv_error *err);

/* dv_api_stream, plus ON_IDLE, called about once a second while nothing arrives
 * (a follower checks whether more can come at all); non-zero from it stops the
 * stream (the call returns 0). */
typedef int (*dv_api_idle_fn)(void *userdata);
int dv_api_stream_idle(dv_api_client *c, const char *method, const char *path, const json_t *body,
                       dv_api_data_fn on_data, dv_api_idle_fn on_idle, void *userdata,
                       dv_error *err);

/* URL-escape TEXT for a path segment or query value (heap). */
char *dv_api_escape(const char *text);

#endif
