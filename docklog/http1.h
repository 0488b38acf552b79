/* A small HTTP/1.1 client for exactly what docklog asks the Engine API: GET with a
 * JSON answer (inspect, version) and the streaming GET of /containers/{id}/logs.
 *
 * The response parser is pure (bytes in, callbacks out) and accepts input split at
 * any byte: status line, headers (Content-Length, Transfer-Encoding: chunked,
 * Connection), then the body in one of three framings: Content-Length, chunked
 * (extensions and trailers skipped), or until the connection closes. Body bytes
 * are passed to the callback in place, never copied or accumulated; the only
 * buffer is one header/chunk-size line (DL_HTTP_LINE_MAX). */
#ifndef DL_HTTP1_H
#define DL_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "transport.h"

#define DL_HTTP_LINE_MAX 8192
#define DL_HTTP_READ_BUF (64 * 1024)

enum dl_http_state {
    DL_HTTP_STATUS,
    DL_HTTP_HEADERS,
    DL_HTTP_BODY_LENGTH,
    DL_HTTP_CHUNK_SIZE,
    DL_HTTP_CHUNK_DATA,
    DL_HTTP_CHUNK_END, /* the CRLF after a chunk's data */
    DL_HTTP_TRAILERS,
    DL_HTTP_BODY_CLOSE,
    DL_HTTP_DONE,
};

/* Return non-zero to stop parsing (feed then returns DL_HTTP_STOPPED). */
typedef int (*dl_http_head_cb)(int status, void *userdata);
typedef int (*dl_http_body_cb)(const char *data, size_t len, void *userdata);

typedef struct dl_http_parser {
    enum dl_http_state state;
    int status;
    int64_t content_length; /* -1: none */
    bool chunked;
    bool close;        /* Connection: close */
    int64_t remaining; /* of Content-Length or the current chunk */
    dl_http_head_cb on_head;
    dl_http_body_cb on_body;
    void *userdata;
    size_t line_len;
    char line[DL_HTTP_LINE_MAX];
} dl_http_parser;

enum { DL_HTTP_MORE = 0, DL_HTTP_COMPLETE = 1, DL_HTTP_STOPPED = 2 };

void dl_http_parser_init(dl_http_parser *p, dl_http_head_cb on_head, dl_http_body_cb on_body,
                         void *userdata);
/* Feed bytes: DL_HTTP_MORE (need more), DL_HTTP_COMPLETE (the response ended; bytes
 * after it are ignored), DL_HTTP_STOPPED (a callback asked), or -EPROTO. */
int dl_http_parser_feed(dl_http_parser *p, const char *data, size_t len, dv_error *err);
/* The connection closed: DL_HTTP_COMPLETE if that ends the body, else -EPIPE
 * (truncated: recoverable). */
int dl_http_parser_eof(dl_http_parser *p, dv_error *err);

/* ---- requests ---- */

/* Common settings of requests against one daemon. */
typedef struct dl_http_client {
    dl_endpoint endpoint;
    dl_tls_files tls;
    int wake_fd;        /* the signalfd: makes every wait interruptible (-EINTR) */
    int64_t timeout_ns; /* connect, and each read of an ordinary request */
    char *buf;          /* DL_HTTP_READ_BUF, shared by all requests (one at a time) */
    size_t max_json;    /* ordinary answers larger than this are an error */
} dl_http_client;

/* ENDPOINT and the N numeric ADDRESSES of its host: dl_endpoint_parse(). */
int dl_http_client_init(dl_http_client *c, const char *endpoint, const char *const *addresses,
                        size_t n, const dl_tls_files *tls, int wake_fd, dv_error *err);
void dl_http_client_free(dl_http_client *c);

/* GET PATH and parse the JSON answer. A non-2xx status fails with err->http_status
 * and Docker's {"message"} as the message; 5xx and connection problems are
 * err->recoverable. */
int dl_http_get_json(dl_http_client *c, const char *path, json_t **ret, dv_error *err);

/* Streaming answer: ON_DATA gets the body as it arrives (spans of each socket read);
 * ON_BATCH runs at the end of a batch: DL_HTTP_BATCH_AGE after its first byte, or
 * earlier at DL_HTTP_BATCH_MAX bytes (docklog's batch end: flush, checkpoint, look
 * at signals). So a line reaches the files at most ~20 ms after it arrived, and a
 * batch in flight at a kill holds at most that much. A batch cut short by the end of
 * the stream or an error gets no ON_BATCH: the caller ends it. Either callback
 * returns non-zero to stop. */
#define DL_HTTP_BATCH_MAX (256 * 1024)
#define DL_HTTP_BATCH_AGE (20 * 1000 * 1000)
/* After a read shorter than this, wait this long before reading again (see http1.c). */
#define DL_HTTP_COALESCE_MIN (16 * 1024)
#define DL_HTTP_COALESCE_WAIT (1000 * 1000)
typedef struct dl_http_stream_cbs {
    dl_http_body_cb on_data;
    int (*on_batch)(void *userdata);
    void *userdata;
} dl_http_stream_cbs;

/* GET PATH and stream a 2xx body without a read deadline (only connecting has one). Returns 0 when
 * the body ended cleanly, 1 when a callback stopped it, -EINTR when the wake fd fired, or an error
 * as dl_http_get_json. */
int dl_http_get_stream(dl_http_client *c, const char *path, const dl_http_stream_cbs *cbs,
                       dv_error *err);

#endif
