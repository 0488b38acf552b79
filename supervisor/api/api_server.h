/* The agent's HTTP API server: libmicrohttpd on a Unix socket, one thread per
 * connection, requests answered by the event loop.
 *
 * Connections are accepted by the gate (api_gate.h), which holds them without a
 * thread until their headers are complete, and limits them per peer uid.
 *
 * Contract:
 * - The socket is created 0660. If another live process accepts connections on
 *   it, start fails with -EADDRINUSE (two agents must never share a data dir);
 *   a stale socket file (nobody listening) is removed.
 * - A request's body (at most DV_API_MAX_BODY bytes; JSON when non-empty) is
 *   read on the connection's thread; then the request is posted to the loop and
 *   HANDLER runs there. The handler must answer exactly once with one of the
 *   dv_api_respond_*() functions, right away or later (an exec answers when its
 *   worker is done; a DELETE when the destroy finished). The connection thread
 *   waits for that answer.
 * - A streaming answer (events, logs -f) hands over a dv_api_stream that the
 *   connection's thread pulls from; it never touches loop state. The stream
 *   ends when the stream says so, when the client goes away (detected at once,
 *   by polling the connection for hangup), or when the server stops.
 * - dv_api_server_stop() answers every request still waiting with 503, ends
 *   streams, joins the connection threads and removes the socket file.
 */
#ifndef DV_API_SERVER_H
#define DV_API_SERVER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "error.h"
#include "loop.h"

#define DV_API_MAX_BODY (4u * 1024 * 1024)
#define DV_API_MAX_HEADER (16u * 1024)
/* Connections the HTTP server holds (one thread each): requests being read,
 * waiting for their answer, streams. A non-root uid may hold DV_API_MAX_PER_UID;
 * non-root uids together all but DV_API_ROOT_RESERVED. */
#define DV_API_MAX_CONNECTIONS 512
#define DV_API_ROOT_RESERVED 64
#define DV_API_MAX_PER_UID 64
/* Connections waiting in the gate for the end of their headers (an fd each, no
 * thread); the same per-uid limit, DV_API_ROOT_RESERVED_PENDING kept for root. */
#define DV_API_MAX_PENDING 2048
#define DV_API_ROOT_RESERVED_PENDING 256
/* From the accept to the end of the headers. */
#define DV_API_HEADER_TIMEOUT_MS 5000
/* No byte of a body, or none of a plain answer taken, for this long: closed.
 * Not while the agent works on the answer, nor on a stream. */
#define DV_API_IDLE_TIMEOUT_MS 10000
/* From the end of the headers to the end of the body. */
#define DV_API_BODY_TIMEOUT_MS 30000

typedef struct dv_api_server dv_api_server;
typedef struct dv_api_request dv_api_request;

typedef void (*dv_api_handler_fn)(void *userdata, dv_api_request *req);

/* Does a live process accept connections on PATH? -EADDRINUSE (the message says
 * so) if it does; 0 when a stale socket or non-socket file is there (connection
 * refused); 1 when there is nothing to take over (no such file). The agent asks
 * before it creates any state, and again, under a lock, right before binding. */
int dv_api_socket_probe(const char *path, dv_error *err);

/* libmicrohttpd's external logger for both of the agent's HTTP servers: CLS is the
 * prefix (a static string) of the debug line. The format attribute lets clang's
 * -Wformat-nonliteral accept its vsnprintf. */
__attribute__((format(printf, 2, 0))) void dv_api_mhd_log(void *cls, const char *fmt, va_list ap);

int dv_api_server_start(const char *socket_path, dv_loop *loop, dv_api_handler_fn handler,
                        void *userdata, dv_api_server **ret, dv_error *err);
void dv_api_server_stop(dv_api_server *server);

/* ---- the request (loop thread) ---- */
const char *dv_api_request_method(const dv_api_request *req);
const char *dv_api_request_path(const dv_api_request *req);
/* The value of query argument KEY, "" for a key without value, NULL if absent. */
const char *dv_api_request_query(const dv_api_request *req, const char *key);
/* The parsed JSON body, NULL when the body was empty. */
const json_t *dv_api_request_body(const dv_api_request *req);

/* Keep REQ alive past the handler (answer later). Every ref is dropped with
 * dv_api_request_unref(); answering does not drop one. */
dv_api_request *dv_api_request_ref(dv_api_request *req);
void dv_api_request_unref(dv_api_request *req);

/* Requests waiting for one result (a destroy, a node fingerprint), answered
 * together on the loop thread. Zero-initialised is empty. */
typedef struct dv_api_waiters {
    dv_api_request **v;
    size_t n;
} dv_api_waiters;
/* Keep a reference to REQ until it is answered. Always 0 (the int is kept for its callers). */
int dv_api_waiters_add(dv_api_waiters *w, dv_api_request *req);
/* ANSWER_ONE each (it answers exactly once), then let them go. */
void dv_api_waiters_answer(dv_api_waiters *w, void (*answer_one)(dv_api_request *req, void *ctx),
                           void *ctx);
/* Answer each one with the error STATUS and MESSAGE, then let them go. */
void dv_api_waiters_fail(dv_api_waiters *w, unsigned status, const char *message);
/* True once answered (by the handler, or with 503 by a stopping server). */
bool dv_api_request_answered(dv_api_request *req);

/* Answer with BODY (reference stolen; NULL means an empty object). */
void dv_api_respond_json(dv_api_request *req, unsigned status, json_t *body);
/* {"error": "..."} plus "field" when FIELD is non-empty. */
void dv_api_respond_error(dv_api_request *req, unsigned status, const char *field, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
void dv_api_respond_text(dv_api_request *req, unsigned status, const char *content_type,
                         const char *text);

/* ---- streaming answers ---- */
#define DV_API_STREAM_END (-ENODATA)

typedef struct dv_api_stream_ops {
    /* On the connection's thread. > 0: bytes in BUF; 0: nothing now, wait until
     * wait_fd() is readable and call again; DV_API_STREAM_END; other < 0: error
     * (the connection is closed). */
    ssize_t (*read)(void *obj, char *buf, size_t size);
    int (*wait_fd)(void *obj); /* valid after a read() returned 0 */
    void (*free)(void *obj);   /* on the connection's thread, or wherever the answer is dropped */
} dv_api_stream_ops;

/* Answer with a stream (chunked). OBJ is owned by the server from now on. */
void dv_api_respond_stream(dv_api_request *req, unsigned status, const char *content_type,
                           const dv_api_stream_ops *ops, void *obj);

#endif
