#include "http1.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "xalloc.h"
#include "version.h"

#define DEFAULT_TIMEOUT_NS (60 * DV_NSEC_PER_SEC)
#define MAX_JSON ((size_t)4 << 20)
#define MAX_ERROR_BODY ((size_t)16 << 10)

void dl_http_parser_init(dl_http_parser *p, dl_http_head_cb on_head, dl_http_body_cb on_body,
                         void *userdata)
{
    p->state = DL_HTTP_STATUS;
    p->status = 0;
    p->content_length = -1;
    p->chunked = false;
    p->close = false;
    p->remaining = 0;
    p->on_head = on_head;
    p->on_body = on_body;
    p->userdata = userdata;
    p->line_len = 0;
}

/* ASCII-only helpers: the locale-aware libc ones drag locale tables into the static
 * binary, and HTTP's tokens are ASCII anyway. */
static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool ascii_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x | 0x20);
        if (y >= 'A' && y <= 'Z')
            y = (char)(y | 0x20);
        if (x != y)
            return false;
        if (!x)
            return true;
    }
    return true;
}

static bool header_is(const char *name, const char *want)
{
    return strlen(name) == strlen(want) && ascii_ieq(name, want, strlen(want));
}

static int proto(dv_error *err, const char *what)
{
    return dv_error_set(err, -EPROTO, "malformed HTTP response: %s", what);
}

/* Does the comma-separated header VALUE contain TOKEN (case-insensitive)? */
static bool has_token(const char *value, const char *token)
{
    size_t n = strlen(token);
    for (const char *v = value; *v;) {
        v += strspn(v, " \t,");
        size_t len = strcspn(v, ",");
        size_t end = len;
        while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end == n && ascii_ieq(v, token, n))
            return true;
        v += len;
    }
    return false;
}

static int parse_status(dl_http_parser *p, const char *line, dv_error *err)
{
    if (strncmp(line, "HTTP/1.", 7) != 0 || !is_digit(line[7]) || line[8] != ' ' ||
        !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) ||
        (line[12] != ' ' && line[12] != '\0'))
        return proto(err, "bad status line");
    p->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    p->state = DL_HTTP_HEADERS;
    return 0;
}

static int parse_header(dl_http_parser *p, char *line, dv_error *err)
{
    if (*line == ' ' || *line == '\t')
        return 0; /* obsolete line folding: nothing we use is folded */
    char *colon = strchr(line, ':');
    if (!colon || colon == line)
        return proto(err, "bad header line");
    *colon = '\0';
    char *value = colon + 1;
    value += strspn(value, " \t");
    if (header_is(line, "Content-Length")) {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || v < 0 || (*end && *end != ' ' && *end != '\t'))
            return proto(err, "bad Content-Length");
        p->content_length = v;
    } else if (header_is(line, "Transfer-Encoding")) {
        p->chunked = has_token(value, "chunked");
    } else if (header_is(line, "Connection")) {
        p->close = p->close || has_token(value, "close");
    }
    return 0;
}

static int headers_done(dl_http_parser *p)
{
    if (p->status >= 100 && p->status < 200 && p->status != 101) {
        /* an interim answer (100 Continue): the real one follows */
        dl_http_parser_init(p, p->on_head, p->on_body, p->userdata);
        return 0;
    }
    if (p->on_head && p->on_head(p->status, p->userdata))
        return DL_HTTP_STOPPED;
    if (p->status == 204 || p->status == 304) {
        p->state = DL_HTTP_DONE;
    } else if (p->chunked) {
        p->state = DL_HTTP_CHUNK_SIZE;
    } else if (p->content_length >= 0) {
        p->remaining = p->content_length;
        p->state = p->remaining ? DL_HTTP_BODY_LENGTH : DL_HTTP_DONE;
    } else {
        p->state = DL_HTTP_BODY_CLOSE;
    }
    return p->state == DL_HTTP_DONE ? DL_HTTP_COMPLETE : 0;
}

static int parse_chunk_size(dl_http_parser *p, const char *line, dv_error *err)
{
    int64_t size = 0;
    const char *s = line;
    if (hex_value(*s) < 0)
        return proto(err, "bad chunk size");
    for (int d; (d = hex_value(*s)) >= 0; s++) {
        if (size > (INT64_MAX >> 4))
            return proto(err, "chunk size overflow");
        size = size * 16 + d;
    }
    if (*s && *s != ';' && *s != ' ' && *s != '\t')
        return proto(err, "bad chunk size");
    p->remaining = size;
    p->state = size ? DL_HTTP_CHUNK_DATA : DL_HTTP_TRAILERS;
    return 0;
}

/* A complete line (without "\r\n") in p->line for the current state. */
static int on_line(dl_http_parser *p, dv_error *err)
{
    char *line = p->line;
    switch (p->state) {
    case DL_HTTP_STATUS:
        return parse_status(p, line, err);
    case DL_HTTP_HEADERS:
        return *line ? parse_header(p, line, err) : headers_done(p);
    case DL_HTTP_CHUNK_SIZE:
        return parse_chunk_size(p, line, err);
    case DL_HTTP_CHUNK_END:
        if (*line)
            return proto(err, "chunk not followed by CRLF");
        p->state = DL_HTTP_CHUNK_SIZE;
        return 0;
    case DL_HTTP_TRAILERS:
        if (*line)
            return 0; /* trailer fields are not used */
        p->state = DL_HTTP_DONE;
        return DL_HTTP_COMPLETE;
    default:
        return proto(err, "unexpected line");
    }
}

static bool line_state(enum dl_http_state s)
{
    return s == DL_HTTP_STATUS || s == DL_HTTP_HEADERS || s == DL_HTTP_CHUNK_SIZE ||
           s == DL_HTTP_CHUNK_END || s == DL_HTTP_TRAILERS;
}

int dl_http_parser_feed(dl_http_parser *p, const char *data, size_t len, dv_error *err)
{
    const char *q = data, *end = data + len;
    while (q < end) {
        if (p->state == DL_HTTP_DONE)
            return DL_HTTP_COMPLETE;
        if (line_state(p->state)) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            size_t n = (size_t)((nl ? nl : end) - q);
            if (p->line_len + n >= sizeof(p->line))
                return proto(err, "line too long");
            memcpy(p->line + p->line_len, q, n);
            p->line_len += n;
            q += n;
            if (!nl)
                break;
            q++; /* the '\n' */
            if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
                p->line_len--;
            p->line[p->line_len] = '\0';
            p->line_len = 0;
            int r = on_line(p, err);
            if (r != 0)
                return r;
            continue;
        }
        size_t n = (size_t)(end - q);
        if (p->state != DL_HTTP_BODY_CLOSE && (int64_t)n > p->remaining)
            n = (size_t)p->remaining;
        if (n > 0 && p->on_body && p->on_body(q, n, p->userdata))
            return DL_HTTP_STOPPED; /* the parser is not fed again after this */
        q += n;
        if (p->state == DL_HTTP_BODY_CLOSE)
            continue;
        p->remaining -= (int64_t)n;
        if (p->remaining == 0) {
            if (p->state == DL_HTTP_BODY_LENGTH) {
                p->state = DL_HTTP_DONE;
                return DL_HTTP_COMPLETE;
            }
            p->state = DL_HTTP_CHUNK_END;
        }
    }
    return p->state == DL_HTTP_DONE ? DL_HTTP_COMPLETE : DL_HTTP_MORE;
}

int dl_http_parser_eof(dl_http_parser *p, dv_error *err)
{
    if (p->state == DL_HTTP_DONE || p->state == DL_HTTP_BODY_CLOSE) {
        p->state = DL_HTTP_DONE;
        return DL_HTTP_COMPLETE;
    }
    int r = dv_error_set(err, -EPIPE, "connection closed before the end of the response");
    if (err)
        err->recoverable = true;
    return r;
}

/* ---- requests ---- */

int dl_http_client_init(dl_http_client *c, const char *endpoint, const char *const *addresses,
                        size_t n, const dl_tls_files *tls, int wake_fd, dv_error *err)
{
    memset(c, 0, sizeof(*c));
    int r = dl_endpoint_parse(endpoint, tls && tls->cert, addresses, n, &c->endpoint, err);
    if (r < 0)
        return r;
    if (tls)
        c->tls = *tls;
    c->wake_fd = wake_fd;
    c->timeout_ns = DEFAULT_TIMEOUT_NS;
    c->max_json = MAX_JSON;
    c->buf = dv_xmalloc(DL_HTTP_READ_BUF);
    return 0;
}

void dl_http_client_free(dl_http_client *c)
{
    free(c->buf);
    c->buf = NULL;
}

struct request {
    dl_http_client *c;
    const dl_http_stream_cbs *stream; /* NULL: collect a JSON answer */
    int status;
    bool head_done;
    bool too_big;
    dv_buf body; /* the JSON answer, or an error answer's text */
};

static bool success(int status)
{
    return status >= 200 && status < 300;
}

static int req_head(int status, void *userdata)
{
    struct request *q = userdata;
    q->status = status;
    q->head_done = true;
    return 0;
}

static int req_body(const char *data, size_t len, void *userdata)
{
    struct request *q = userdata;
    if (q->stream && success(q->status))
        return q->stream->on_data(data, len, q->stream->userdata);
    size_t max = success(q->status) ? q->c->max_json : MAX_ERROR_BODY;
    if (q->body.len + len > max) {
        q->too_big = success(q->status);
        len = max - q->body.len; /* an error text is just cut */
    }
    if (len && dv_buf_append(&q->body, data, len) < 0)
        q->too_big = true;
    return 0;
}

/* Docker's error answers are {"message": "..."}; anything else is shown as text. */
static int http_error(struct request *q, const char *path, dv_error *err)
{
    const char *msg = q->body.data ? q->body.data : "";
    _cleanup_json_ json_t *j = json_loadb(msg, q->body.len, 0, NULL);
    json_t *m = json_object_get(j, "message");
    if (json_is_string(m))
        msg = json_string_value(m);
    int r = dv_error_set(err, -EIO, "GET %s: HTTP %d: %.*s", path, q->status,
                         (int)strcspn(msg, "\n"), msg);
    if (err) {
        err->http_status = q->status;
        err->recoverable = q->status == 500 || q->status == 502 || q->status == 503 ||
                           q->status == 504 || q->status == 429;
    }
    return r;
}

static int request(struct request *q, const char *path, json_t **ret, dv_error *err)
{
    dl_http_client *c = q->c;
    const dl_http_stream_cbs *stream = q->stream;
    _cleanup_buf_ dv_buf req = DV_BUF_INIT;
    dv_buf_printf(&req,
                  "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: docklog/%s\r\n"
                  "Accept: application/json\r\nConnection: close\r\n\r\n",
                  path, c->endpoint.url.host_header, dv_version);

    dl_conn conn = DL_CONN_INIT;
    int r = dl_conn_open(&conn, &c->endpoint, &c->tls, c->wake_fd, c->timeout_ns, err);
    if (r < 0)
        return r;
    r = dl_conn_write_all(&conn, req.data, req.len, c->timeout_ns, err);
    dl_http_parser p;
    dl_http_parser_init(&p, req_head, req_body, q);
    /* A batch is what arrived without waiting, capped in size and age: the caller's
     * per-batch work (flush, checkpoint) then costs little when the daemon sends one
     * small chunk per log line, and a batch in flight stays small. */
    size_t batch_bytes = 0, last_read = 0;
    int64_t batch_start = 0;
    while (r >= 0) {
        bool streaming = stream && q->head_done && success(q->status);
        ssize_t n = -ETIMEDOUT;
        if (streaming && batch_bytes > 0) {
            int64_t left = DL_HTTP_BATCH_AGE - (dv_monotonic_ns() - batch_start);
            if (batch_bytes < DL_HTTP_BATCH_MAX && left > 0) {
                /* Docker writes one chunk per log line: after a small read, let a
                 * millisecond's worth gather so a read costs one syscall for many
                 * lines instead of several per line. */
                if (last_read < DL_HTTP_COALESCE_MIN && left > DL_HTTP_COALESCE_WAIT) {
                    struct pollfd w = {.fd = c->wake_fd, .events = POLLIN};
                    poll(&w, c->wake_fd >= 0 ? 1 : 0, (int)(DL_HTTP_COALESCE_WAIT / 1000000));
                    left = DL_HTTP_BATCH_AGE - (dv_monotonic_ns() - batch_start);
                }
                n = dl_conn_read(&conn, c->buf, DL_HTTP_READ_BUF, left > 0 ? left : 0, err);
            }
            if (n == -ETIMEDOUT || n == -EAGAIN) {
                batch_bytes = 0;
                if (stream->on_batch && stream->on_batch(stream->userdata)) {
                    r = 1;
                    break;
                }
            }
        }
        /* The follow stream may be silent for days, and Docker sends even its head only
         * with the first entry at or after since=, which in a large log can take
         * minutes of decoding: no read deadline for streams (a dead TCP peer is found
         * by keepalive, a restarted daemon resets the connection). */
        if (n == -ETIMEDOUT || n == -EAGAIN)
            n = dl_conn_read(&conn, c->buf, DL_HTTP_READ_BUF, stream ? -1 : c->timeout_ns, err);
        if (n < 0) {
            r = (int)n;
            break;
        }
        r = n == 0 ? dl_http_parser_eof(&p, err) : dl_http_parser_feed(&p, c->buf, (size_t)n, err);
        if (r == DL_HTTP_STOPPED) {
            r = 1;
            break;
        }
        if (r < 0)
            break;
        if (stream && q->head_done && success(q->status)) { /* body bytes of the stream */
            if (batch_bytes == 0)
                batch_start = dv_monotonic_ns();
            batch_bytes += (size_t)n;
            last_read = (size_t)n;
        }
        if (r == DL_HTTP_COMPLETE) {
            r = 0;
            break;
        }
    }
    /* The batch that ended with the stream or an error is the caller's to close. */
    dl_conn_close(&conn);
    if (r < 0) {
        if (r == -EPROTO && err)
            err->recoverable = true; /* a garbled connection: try again */
        dv_error_wrap(err, "GET %s", path);
        return r;
    }
    if (r == 1)
        return 1;
    if (!success(q->status))
        return http_error(q, path, err);
    if (q->too_big)
        return dv_error_set(err, -EFBIG, "GET %s: answer larger than %zu bytes", path, c->max_json);
    if (!stream && ret) {
        json_error_t jerr;
        json_t *j = json_loadb(q->body.data ? q->body.data : "", q->body.len, 0, &jerr);
        if (!j)
            return dv_error_set(err, -EPROTO, "GET %s: invalid JSON answer: %s", path, jerr.text);
        *ret = j;
    }
    return 0;
}

int dl_http_get_json(dl_http_client *c, const char *path, json_t **ret, dv_error *err)
{
    struct request q = {.c = c};
    int r = request(&q, path, ret, err);
    dv_buf_free(&q.body);
    return r;
}

int dl_http_get_stream(dl_http_client *c, const char *path, const dl_http_stream_cbs *cbs,
                       dv_error *err)
{
    struct request q = {.c = c, .stream = cbs};
    int r = request(&q, path, NULL, err);
    dv_buf_free(&q.body);
    return r;
}
