/* The API socket's gatekeeper: who may hold a connection, and for how long
 * before its request is complete.
 *
 * Why it exists: the HTTP server runs one thread per connection (a request
 * waits on the loop's answer, a stream blocks on its source), so an idle or
 * half-written connection used to cost a thread, and 512 of them locked every
 * other client out; a TLS ClientHello, which never ends a line, was held
 * forever. The gate owns the listening socket and holds every new connection
 * itself, in one epoll thread, until its request headers are complete; only
 * then is it handed to the HTTP server. Idle connections cost an fd, no thread.
 *
 * Contract:
 * - Each connection's peer is its SO_PEERCRED uid. Limits (api_gate_limits)
 *   apply per uid for every uid but root, and part of each total is kept for
 *   root, so non-root users together can never take all of it:
 *   * waiting in the gate: at most max_pending, of which a non-root uid may hold
 *     pending_per_uid and non-root uids together max_pending - pending_root;
 *     beyond that a non-root connection is answered 503 and closed at once;
 *     root's connection evicts the oldest waiting one instead.
 *   * handed to the server (counted from the handoff until the server
 *     reports dv_api_gate_conn_closed): at most max_active, per non-root uid
 *     active_per_uid, non-root together max_active - active_root; beyond, 503.
 * - A connection whose first bytes are not an HTTP method and a space (a TLS
 *   handshake, garbage) is answered 400 and closed as soon as they arrive.
 * - Headers must be complete (an empty line) within header_timeout_ms of the
 *   accept and within max_header bytes, or 408 / 431 and closed.
 * - HANDOFF takes the fd (also on failure) with the request still unread
 *   (the gate only peeks). It runs on the gate's thread.
 * - Nothing here logs: refusals are counted (dv_api_gate_stats).
 */
#ifndef DV_API_GATE_H
#define DV_API_GATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "error.h"

typedef struct dv_api_gate dv_api_gate;

typedef struct dv_api_gate_limits {
    unsigned max_pending, pending_per_uid, pending_root;
    unsigned max_active, active_per_uid, active_root;
    unsigned header_timeout_ms;
    size_t max_header;
} dv_api_gate_limits;

/* 0 when the server took the connection; < 0 when it could not (fd closed). */
typedef int (*dv_api_gate_handoff_fn)(void *ctx, int fd, const struct sockaddr *sa,
                                      socklen_t sa_len, uid_t uid);

/* Takes LISTEN_FD (closed by dv_api_gate_stop, or here on failure). */
int dv_api_gate_start(int listen_fd, const dv_api_gate_limits *limits,
                      dv_api_gate_handoff_fn handoff, void *ctx, dv_api_gate **ret, dv_error *err);
/* Stops accepting, closes every waiting connection and the listening socket. The
 * counts stay valid until dv_api_gate_free() (the server reports closes later). */
void dv_api_gate_stop(dv_api_gate *gate);
void dv_api_gate_free(dv_api_gate *gate);

/* From the HTTP server's threads: a connection HANDOFF accepted has ended. Call
 * it exactly once per connection the server started; a connection the server
 * drops before starting it (it failed after accepting) stays counted. */
void dv_api_gate_conn_closed(dv_api_gate *gate, uid_t uid);

typedef struct dv_api_gate_stats {
    uint64_t refused_busy, refused_garbage, timed_out, evicted;
} dv_api_gate_stats;
dv_api_gate_stats dv_api_gate_get_stats(dv_api_gate *gate);

/* What the bytes received so far are (pure, for tests). */
enum dv_api_head_state {
    DV_API_HEAD_INCOMPLETE, /* a plausible request so far */
    DV_API_HEAD_COMPLETE,   /* request line and headers are all here */
    DV_API_HEAD_GARBAGE,    /* not an HTTP request line */
    DV_API_HEAD_TOO_LONG,   /* no end of headers within MAX bytes */
};
enum dv_api_head_state dv_api_head_classify(const char *buf, size_t len, size_t max);

#endif
