/* Docker Engine API client (libcurl).
 *
 * Contract:
 * - One dv_docker per endpoint; it is thread-safe: any number of threads may
 *   issue calls at once (each call uses its own curl easy handle).
 * - Every call returns 0 on success or a negative errno-style code and fills
 *   dv_error: err->http_status (0 when no HTTP answer), err->msg (Docker's
 *   "message" when there is one, else curl's error), err->recoverable (timeout,
 *   EOF / connection reset, cannot connect, 5xx: retrying may help), err->unreachable
 *   (no answer at all: cannot connect, connection lost; the Engine is down or
 *   restarting, so the failure says nothing about what was asked).
 *   Use dv_docker_is_not_found() / dv_docker_is_conflict() /
 *   dv_docker_is_not_modified() to tell those apart (they look at http_status, so a
 *   missing socket, -ENOENT without an HTTP answer, is not "not found").
 *   Codes: 404 -ENOENT, 409 -EBUSY, 304 -EALREADY, 400 -EINVAL, 401/403 -EACCES,
 *   5xx -EIO (recoverable), other HTTP -EPROTO; deadline or activity timeout
 *   -ETIMEDOUT (recoverable); connection closed/reset/empty reply -ECONNRESET
 *   (recoverable, unreachable); cannot connect: the socket's errno (-ENOENT,
 *   -ECONNREFUSED...; recoverable and unreachable: Nomad fails the task, dockvisor
 *   waits an Engine restart out); TLS failures -EACCES; cancelled -ECANCELED; a
 *   body that is not the expected JSON -EBADMSG.
 *   Messages read "docker: METHOD PATH: detail", e.g.
 *   "docker: POST /containers/create: 409 Conflict: Conflict. The container name ...".
 * - All sockets are close-on-exec. SIGPIPE is never raised by the client (NOSIGNAL,
 *   MSG_NOSIGNAL), but a process using TLS endpoints should ignore SIGPIPE anyway.
 * - Ordinary calls have a deadline (config.timeout_ns, default 5 minutes).
 *   wait, logs and events have none; pull has its own timeouts.
 * - JSON results are new references owned by the caller.
 * - A call on a fresh client first negotiates the API version (one GET /version).
 * - Output parameters (ret_*) are untouched on failure.
 */
#ifndef DV_DOCKER_H
#define DV_DOCKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "error.h"
#include "stream.h" /* dv_stream_type, dv_frame_cb */

/* The newest Engine API version we speak; negotiation picks min(server, this). */
#define DV_DOCKER_API_MAX "1.41"
#define DV_DOCKER_DEFAULT_ENDPOINT "unix:///var/run/docker.sock"
#define DV_DOCKER_DEFAULT_TIMEOUT_NS (INT64_C(5) * 60 * 1000000000)
/* The API version negotiation (GET /version) is bounded by this, or by the client's
 * deadline when shorter: a daemon that accepts and never answers (wedged, or still
 * starting behind socket activation) must not hold every first call for minutes. */
#define DV_DOCKER_NEGOTIATE_TIMEOUT_NS (INT64_C(10) * 1000000000)

typedef struct dv_docker dv_docker;

typedef struct dv_docker_config {
    /* unix:///path, tcp://host:port, http://host:port, https://host:port.
     * NULL or "" → DOCKER_HOST (with DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) → default. */
    const char *endpoint;
    /* TLS client certificate, key and CA (all three, as the driver's tls block).
     * With these a tcp:// endpoint speaks TLS. */
    const char *tls_cert;
    const char *tls_key;
    const char *tls_ca;
    int64_t timeout_ns; /* deadline of ordinary calls; 0 → DV_DOCKER_DEFAULT_TIMEOUT_NS,
                           negative → none */
} dv_docker_config;

/* Create a client. Resolves the endpoint (no network I/O; TLS files must be readable).
 * tcp:// speaks TLS when a cert/key or CA is given (default port 2376, else 2375);
 * https:// always (cert/key optional, CA optional: system store); unix:// and http://
 * refuse TLS files. TLS files without an explicit endpoint are an error. With
 * DOCKER_HOST and a non-empty DOCKER_TLS_VERIFY, the files are cert.pem, key.pem and
 * ca.pem in DOCKER_CERT_PATH (default ~/.docker). A configured CA is the only trust
 * anchor; peer and host name are verified. curl_global_init is done once internally
 * (thread-safe). */
int dv_docker_new(const dv_docker_config *config, dv_docker **ret, dv_error *err);
void dv_docker_free(dv_docker *dk);

/* The resolved endpoint, e.g. "unix:///var/run/docker.sock" (for messages). */
const char *dv_docker_endpoint(const dv_docker *dk);

/* The TLS the client resolved, whatever its source (config, DOCKER_TLS_VERIFY +
 * DOCKER_CERT_PATH, an https:// endpoint): does it speak TLS, and with which files
 * (NULL when not configured, e.g. https:// with the system CA store). */
bool dv_docker_tls(const dv_docker *dk);
const char *dv_docker_tls_cert(const dv_docker *dk);
const char *dv_docker_tls_key(const dv_docker *dk);
const char *dv_docker_tls_ca(const dv_docker *dk);

/* What the client measured of its own calls, for the agent's /metrics (any thread).
 * Latency: every call with a deadline that is not a stream (on_data), from its
 * first byte sent to its answer, the version negotiation included; streams (logs,
 * events, pulls, wait) last as long as their subject and would say nothing of the
 * Engine. Errors: every failed call by kind; a cancellation is not an error, nor is
 * 304 (already started or stopped). */
enum dv_docker_error_kind {
    DV_DOCKER_ERR_UNREACHABLE, /* could not connect, connection lost */
    DV_DOCKER_ERR_TIMEOUT,     /* deadline or activity timeout */
    DV_DOCKER_ERR_NOT_FOUND,   /* 404 */
    DV_DOCKER_ERR_CONFLICT,    /* 409 */
    DV_DOCKER_ERR_CLIENT,      /* other 4xx */
    DV_DOCKER_ERR_SERVER,      /* 5xx */
    DV_DOCKER_ERR_OTHER,       /* TLS, a malformed answer, ... */
    DV_DOCKER_ERR_KIND_COUNT
};
const char *dv_docker_error_kind_name(enum dv_docker_error_kind kind);
uint64_t dv_docker_errors(dv_docker *dk, enum dv_docker_error_kind kind);
/* The latency histogram's samples (histogram.h: dv_histogram_render) under NAME with
 * LABELS; the caller writes HELP and TYPE. */
void dv_docker_latency_render(dv_docker *dk, const char *name, const char *labels, dv_buf *b);

/* GET /version once and remember min(server ApiVersion, DV_DOCKER_API_MAX); later calls
 * are prefixed with /v<version>. Calls negotiate lazily if this was not called, with
 * their own cancel. Bounded by DV_DOCKER_NEGOTIATE_TIMEOUT_NS (-ETIMEDOUT, recoverable).
 * Racing first calls: one asks, the others wait for its answer (each still bounded by
 * its cancel and the deadline; no lock is held across the request); a failure is not
 * remembered, the next call asks again. */
int dv_docker_negotiate(dv_docker *dk, dv_error *err);
struct dv_cancel;
int dv_docker_negotiate_cancellable(dv_docker *dk, struct dv_cancel *cancel, dv_error *err);
/* The negotiated version ("1.41"), or NULL before negotiation. */
const char *dv_docker_api_version(dv_docker *dk);

bool dv_docker_is_not_found(const dv_error *err);    /* 404 */
bool dv_docker_is_conflict(const dv_error *err);     /* 409 */
bool dv_docker_is_not_modified(const dv_error *err); /* 304 */

/* Cancellation of a long-running stream (logs, events, pull, wait) from any
 * thread: dv_cancel_request() makes the call return -ECANCELED promptly
 * (within ~100 ms). A dv_cancel is zero-initialized ready to use. */
typedef struct dv_cancel {
    atomic_bool requested;
} dv_cancel;
void dv_cancel_request(dv_cancel *c);
bool dv_cancel_requested(const dv_cancel *c);

/* ---- system ---- */
int dv_docker_ping(dv_docker *dk, dv_error *err);
int dv_docker_version(dv_docker *dk, json_t **ret, dv_error *err);
int dv_docker_info(dv_docker *dk, json_t **ret, dv_error *err);

/* Generic call for anything not wrapped below: METHOD PATH (without the /vX prefix,
 * query string included, already escaped), optional JSON body; *ret (optional) gets
 * the parsed JSON answer (json null for an empty body; not JSON → -EBADMSG). */
int dv_docker_call(dv_docker *dk, const char *method, const char *path, const json_t *body,
                   json_t **ret, dv_error *err);

/* ---- images ---- */
int dv_docker_image_inspect(dv_docker *dk, const char *image, json_t **ret, dv_error *err);

/* Registry credentials sent base64url-encoded as X-Registry-Auth. */
typedef struct dv_registry_auth {
    const char *username;
    const char *password;
    const char *email;
    const char *server_address;
    const char *identity_token;
} dv_registry_auth;

/* Called for every NDJSON progress line of a pull (the parsed object). Return
 * non-zero to abort the pull (-ECANCELED). */
typedef int (*dv_pull_progress_cb)(const json_t *line, void *userdata);

typedef struct dv_pull_options {
    const char *image;            /* "repo[:tag|@digest]", no https:// prefix */
    const dv_registry_auth *auth; /* NULL: anonymous */
    int64_t timeout_ns;           /* whole pull; 0 = none */
    int64_t activity_timeout_ns;  /* abort when no progress line arrives for this long; 0 = none */
    dv_pull_progress_cb progress;
    void *userdata;
    dv_cancel *cancel;
} dv_pull_options;

/* POST /images/create?fromImage=NAME&tag=TAG ("latest" when the reference has no tag;
 * a leading https:// or http:// is dropped). An {"error"/"errorDetail"} line in the
 * stream fails the pull with -EIO and that message (recoverable only when the text
 * says timeout / connection reset / EOF / 5xx / toomanyrequests). Docker reports
 * registry refusals (no credentials, unauthorized, denied, not found) as HTTP 500
 * before streaming: those are NOT recoverable, unlike other 5xx. With
 * activity_timeout_ns, -ETIMEDOUT (recoverable) when no progress line arrives for that
 * long; the whole pull is bounded by timeout_ns; both 0 = none. */
int dv_docker_image_pull(dv_docker *dk, const dv_pull_options *opts, dv_error *err);
/* POST /images/load?quiet=1 with the tar file TAR_PATH as the body (client deadline);
 * an error line in the answer fails like a pull. With DIRFD other than AT_FDCWD,
 * TAR_PATH is relative to it and must resolve beneath it (dv_open_beneath(): no
 * "..", no symlink out), else -EPERM: a task cannot make the agent read a host file
 * by putting a symlink where its image tarball should be. */
int dv_docker_image_load(dv_docker *dk, int dirfd, const char *tar_path, dv_error *err);
int dv_docker_image_remove(dv_docker *dk, const char *image, bool force, dv_error *err);

/* ---- containers ---- */
/* POST /containers/create?name=NAME; *ret_id gets the new container id (heap). */
int dv_docker_container_create(dv_docker *dk, const char *name, const json_t *body, char **ret_id,
                               dv_error *err);
int dv_docker_container_start(dv_docker *dk, const char *id, dv_error *err);
int dv_docker_container_inspect(dv_docker *dk, const char *id, json_t **ret, dv_error *err);
/* GET /containers/json?all=..&filters=<json>; FILTERS may be NULL, e.g.
 * {"label": ["io.dockvisor.node_id=..."]}. *ret is an array. */
int dv_docker_container_list(dv_docker *dk, bool all, const json_t *filters, json_t **ret,
                             dv_error *err);
/* POST /containers/{id}/wait (condition "not-running" when NULL); no deadline;
 * cancellable (-ECANCELED). *ret_status is the container's exit status. */
int dv_docker_container_wait(dv_docker *dk, const char *id, const char *condition,
                             int64_t *ret_status, dv_cancel *cancel, dv_error *err);
/* SIGNAL is a name ("SIGTERM", "TERM") or number as Docker accepts. */
int dv_docker_container_kill(dv_docker *dk, const char *id, const char *signal, dv_error *err);
/* POST /containers/{id}/stop?t=TIMEOUT_S; the deadline of this call is extended by the timeout. */
int dv_docker_container_stop(dv_docker *dk, const char *id, int timeout_s, dv_error *err);
int dv_docker_container_remove(dv_docker *dk, const char *id, bool force, bool volumes,
                               dv_error *err);
/* GET /containers/{id}/stats?stream=false (one-shot). */
int dv_docker_container_stats(dv_docker *dk, const char *id, json_t **ret, dv_error *err);
/* GET /containers/{id}/stats?stream=false&one-shot=true: one sample, answered at once
 * (without one-shot Docker waits a second for a second sample to fill precpu_stats,
 * which only a CPU percentage needs). Engine API 1.41; an older Engine ignores
 * one-shot and answers after that second. */
int dv_docker_container_stats_once(dv_docker *dk, const char *id, json_t **ret, dv_error *err);
/* The content of the file PATH (absolute) in container ID, created or running,
 * through GET /containers/{id}/archive?path=PATH (a tar stream, tar_read.h).
 * A symlink is followed inside the container's filesystem, at most 8 links, as
 * the image's own lookups would. The file may hold up to MAX bytes; a larger one
 * (or an archive past MAX + 64 KiB of headers) fails with -EFBIG and the stream
 * is dropped. Not found: the Engine's 404 (dv_docker_is_not_found). *ret_data is
 * NUL-terminated after *ret_len bytes (the content itself may hold NULs). */
int dv_docker_container_read_file(dv_docker *dk, const char *id, const char *path, size_t max,
                                  char **ret_data, size_t *ret_len, dv_error *err);

/* ---- exec ---- */
/* The output is returned in memory (to the agent's HTTP API, which escapes and
 * copies it): a runaway command must not exhaust the agent. Each stream keeps its
 * first DV_EXEC_OUTPUT_MAX bytes; the rest is read and dropped. */
#define DV_EXEC_OUTPUT_MAX ((size_t)4 << 20)
typedef struct dv_exec_result {
    int exit_code;
    char *out; /* heap, NUL-terminated, demultiplexed stdout */
    size_t out_len;
    char *err; /* heap, NUL-terminated, demultiplexed stderr */
    size_t err_len;
    bool out_truncated; /* stdout was longer than DV_EXEC_OUTPUT_MAX */
    bool err_truncated;
} dv_exec_result;
void dv_exec_result_clear(dv_exec_result *r);

/* exec create + start (attached, demultiplexed unless TTY) + inspect for the exit code.
 * CMD is NULL-terminated. TIMEOUT_NS bounds all three steps together; 0 = the client's
 * default deadline; on timeout -ETIMEDOUT (the process may still run inside the
 * container). Output beyond DV_EXEC_OUTPUT_MAX per stream is dropped and flagged
 * (out_truncated, err_truncated); a system error frame fails with -EIO. *ret is filled only on
 * success; free with dv_exec_result_clear(). */
int dv_docker_exec(dv_docker *dk, const char *id, const char *const *cmd, bool tty,
                   int64_t timeout_ns, dv_exec_result *ret, dv_error *err);

/* ---- streams: logs and events ---- */
typedef struct dv_logs_options {
    const char *id;
    bool follow;
    bool stdout_;
    bool stderr_;
    bool timestamps;
    bool tty;          /* raw stream: no frame headers */
    const char *since; /* Docker "since" value ("1700000000.123456789"), NULL = all */
    const char *tail;  /* "all" or a number; NULL = all */
    dv_frame_cb on_frame;
    void *userdata;
    dv_cancel *cancel;
} dv_logs_options;

/* GET /containers/{id}/logs; no deadline. Returns 0 when the stream ends (EOF
 * after the container stopped, or the callback asked to stop), -ECANCELED when
 * cancelled, or an error (recoverable for connection loss, including a stream cut
 * inside a frame). A Docker system error frame (type 3) ends the call with -EIO and
 * its text; on_frame only sees stdout/stderr. */
int dv_docker_logs(dv_docker *dk, const dv_logs_options *opts, dv_error *err);

/* One event of /events (parsed). Return non-zero to stop. */
typedef int (*dv_event_cb)(const json_t *event, void *userdata);
/* GET /events?since=SINCE&filters=FILTERS; no deadline. Returns 0 when the callback
 * asked to stop or the daemon ended the stream (e.g. shutting down: re-subscribe with
 * since), -ECANCELED when cancelled, or an error. */
int dv_docker_events(dv_docker *dk, const char *since, const json_t *filters, dv_event_cb on_event,
                     void *userdata, dv_cancel *cancel, dv_error *err);
/* The same, and ON_OPEN (may be NULL) is called once the daemon has accepted the
 * stream (its 2xx headers are in), before any event: only then is the stream up. */
int dv_docker_events_open(dv_docker *dk, const char *since, const json_t *filters,
                          dv_event_cb on_event, void (*on_open)(void *userdata), void *userdata,
                          dv_cancel *cancel, dv_error *err);

/* ---- networks ---- */
int dv_docker_network_list(dv_docker *dk, const json_t *filters, json_t **ret, dv_error *err);
int dv_docker_network_inspect(dv_docker *dk, const char *name, json_t **ret, dv_error *err);
/* POST /networks/create with BODY ({"Name":...}); *ret_id (optional) gets the id. */
int dv_docker_network_create(dv_docker *dk, const json_t *body, char **ret_id, dv_error *err);
int dv_docker_network_remove(dv_docker *dk, const char *name, dv_error *err);

#endif
