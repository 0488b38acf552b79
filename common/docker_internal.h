/* Private to the dvdocker library (common/docker*.c): the request engine every
 * endpoint wrapper goes through. Not for use outside common/docker*.c. */
#ifndef DV_DOCKER_INTERNAL_H
#define DV_DOCKER_INTERNAL_H

#include <stdint.h>

#include "buf.h"
#include "docker.h"

/* Resolved client settings (docker.c), read-only after dv_docker_new. */
const char *dv_docker_base_url(const dv_docker *dk);  /* "http://docker", "https://h:p" */
const char *dv_docker_unix_path(const dv_docker *dk); /* NULL unless unix:// */
int64_t dv_docker_timeout(const dv_docker *dk);       /* ordinary deadline; <= 0 none */

/* The client's own measurements (docker_metrics.c; docker.h has what they mean). */
typedef struct dv_docker_metrics dv_docker_metrics;
dv_docker_metrics *dv_docker_metrics_new(void);
void dv_docker_metrics_free(dv_docker_metrics *m);
dv_docker_metrics *dv_docker_metrics_of(dv_docker *dk);

/* Streamed body bytes of a 2xx answer. Return 0 to go on, 1 to stop the transfer
 * (the call then succeeds), or a negative code after filling ERR (the call fails
 * with it; the engine prefixes "docker: METHOD PATH: "). */
typedef int (*dv_docker_data_fn)(const char *data, size_t len, void *userdata, dv_error *err);

/* timeout_ns value meaning "the client's deadline for ordinary calls". */
#define DV_DOCKER_TIMEOUT_CLIENT INT64_C(-1)

typedef struct dv_docker_request {
    const char *method; /* "GET", "POST", "DELETE" */
    const char *path;   /* without the /vX.Y prefix, query included and escaped */
    bool unversioned;   /* no /vX.Y prefix and no negotiation (/_ping, /version) */
    const char *body;   /* JSON text sent as application/json (NULL: no body) */
    /* A file sent as application/x-tar instead of BODY: UPLOAD_FD (read from its
     * current offset, not closed) when UPLOAD_NAME (for messages) is set. */
    const char *upload_name;
    int upload_fd;
    const char *registry_auth; /* X-Registry-Auth value, NULL for none */
    int64_t timeout_ns;        /* whole call; 0 none; DV_DOCKER_TIMEOUT_CLIENT */
    /* Abort with -ETIMEDOUT when *last_activity_ns (monotonic; the engine sets it to
     * the start time, ON_DATA advances it) is older than this. 0 = no check. */
    int64_t activity_timeout_ns;
    int64_t *last_activity_ns;
    const char *activity_what; /* for the message, e.g. "pull_activity_timeout" */
    dv_cancel *cancel;
    dv_docker_data_fn on_data; /* NULL: the body is buffered into the response */
    /* Once, when the headers of a 2xx answer are in, before any body: a stream the
     * daemon accepted (which says nothing until its first event). */
    void (*on_open)(void *userdata);
    void *userdata;
} dv_docker_request;

typedef struct dv_docker_response {
    long status;
    dv_buf body; /* buffered body (always for errors; for 2xx when on_data is NULL) */
} dv_docker_response;

void dv_docker_response_clear(dv_docker_response *r);

/* Count one finished call of REQ that took ELAPSED_NS and returned R (ERR filled
 * when R < 0) in the client's measurements. */
void dv_docker_metrics_observe(dv_docker *dk, const dv_docker_request *req, int64_t elapsed_ns,
                               int r, const dv_error *err);

/* Perform one request on its own curl handle. Returns 0 for a 2xx answer (or a stop
 * asked by ON_DATA); otherwise fills ERR (message "docker: METHOD PATH: ...",
 * http_status, recoverable) and returns a negative code:
 *   404 -ENOENT, 409 -EBUSY, 304 -EALREADY, 400 -EINVAL, 401/403 -EACCES, 5xx -EIO
 *   (recoverable), other statuses -EPROTO; timeouts -ETIMEDOUT (recoverable);
 *   connection closed / reset / empty reply -ECONNRESET (recoverable, unreachable);
 *   cannot connect: the socket errno (-ENOENT, -ECONNREFUSED, -EACCES...) or
 *   -ECONNREFUSED (recoverable, unreachable); TLS
 *   failures -EACCES; cancellation -ECANCELED. */
int dv_docker_do(dv_docker *dk, const dv_docker_request *req, dv_docker_response *resp,
                 dv_error *err);

/* dv_docker_do for a JSON answer: *ret gets the parsed body (json null if empty);
 * a body that is not JSON is -EBADMSG. RET may be NULL. */
int dv_docker_do_json(dv_docker *dk, const dv_docker_request *req, json_t **ret, dv_error *err);

/* Fill ERR for a failure found after the transfer (bad JSON, protocol) with the usual
 * "docker: METHOD PATH: " prefix. */
int dv_docker_fail(const dv_docker_request *req, dv_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Percent-encode S for a path segment or a query value (RFC 3986 unreserved stay;
 * KEEP lists extra characters left alone, e.g. "/:@" for image names in paths).
 * Appends to B. */
void dv_docker_escape(dv_buf *b, const char *s, const char *keep);

/* PREFIX + escaped ID (path segment; KEEP as for dv_docker_escape) + SUFFIX, printf-style
 * suffix. Returns 0, or -EINVAL (ERR filled) for an empty ID or a suffix that cannot be
 * formatted. */
int dv_docker_path(dv_buf *b, const char *prefix, const char *id, const char *keep, dv_error *err,
                   const char *suffix_fmt, ...) __attribute__((format(printf, 6, 7)));

/* A request with the client deadline whose answer is not needed. */
int dv_docker_simple(dv_docker *dk, const char *method, const char *path, int64_t timeout_ns,
                     dv_error *err);

/* Serialize JSON compactly. Never NULL where Jansson allocates with dv_xmalloc
 * (dv_xalloc_jansson(), done by every binary's main()). */
char *dv_docker_dump(const json_t *j);

#endif
