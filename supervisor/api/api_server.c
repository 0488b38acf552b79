#include "api_server.h"

#include <errno.h>
#include <limits.h>
#include <sys/file.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api_gate.h"
#include "atomic_file.h"
#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "json_strict.h"
#include "log.h"
#include "xalloc.h"

struct dv_api_server {
    atomic_int refs; /* the server itself + every live request */
    struct MHD_Daemon *mhd;
    dv_api_gate *gate; /* accepts, and hands over connections whose headers are complete */
    dv_loop *loop;
    dv_api_handler_fn handler;
    void *userdata;
    char *socket_path;
    int stop_fd;          /* eventfd: readable once stopping (wakes streaming threads) */
    pthread_mutex_t lock; /* answers, the outstanding list, `active` */
    pthread_cond_t idle;  /* `active` dropped */
    int active;           /* requests between their first callback and completion */
    bool stopping;
    dv_api_request *outstanding; /* posted and not answered yet */
};

struct dv_api_request {
    atomic_int refs;
    dv_api_server *server;
    char *method, *path;
    json_t *query; /* object: key → value ("" without value) */
    json_t *body;
    int client_fd;
    pthread_cond_t answered_cond;
    bool answered;
    dv_api_request *prev, *next; /* server->outstanding */
    /* the answer */
    unsigned status;
    char *content_type;
    char *text;
    size_t text_len;
    const dv_api_stream_ops *stream_ops;
    void *stream_obj;
};

/* Per-request upload state, MHD's req_cls. */
struct upload {
    dv_buf body;
    bool too_big;
    int64_t started_ns; /* headers complete: the body has DV_API_BODY_TIMEOUT_MS from here */
};

static void server_unref(dv_api_server *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    dv_closep(&s->stop_fd);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->lock);
    free(s->socket_path);
    free(s);
}

dv_api_request *dv_api_request_ref(dv_api_request *req)
{
    atomic_fetch_add(&req->refs, 1);
    return req;
}

void dv_api_request_unref(dv_api_request *req)
{
    if (!req || atomic_fetch_sub(&req->refs, 1) != 1)
        return;
    if (req->stream_ops && req->stream_obj)
        req->stream_ops->free(req->stream_obj);
    free(req->method);
    free(req->path);
    json_decref(req->query);
    json_decref(req->body);
    pthread_cond_destroy(&req->answered_cond);
    free(req->content_type);
    free(req->text);
    dv_api_server *s = req->server;
    free(req);
    server_unref(s);
}

const char *dv_api_request_method(const dv_api_request *req)
{
    return req->method;
}

const char *dv_api_request_path(const dv_api_request *req)
{
    return req->path;
}

const char *dv_api_request_query(const dv_api_request *req, const char *key)
{
    return json_string_value(json_object_get(req->query, key));
}

const json_t *dv_api_request_body(const dv_api_request *req)
{
    return req->body;
}

bool dv_api_request_answered(dv_api_request *req)
{
    pthread_mutex_lock(&req->server->lock);
    bool a = req->answered;
    pthread_mutex_unlock(&req->server->lock);
    return a;
}

/* Caller holds server->lock. */
static void unlink_outstanding(dv_api_server *s, dv_api_request *req)
{
    if (req->prev)
        req->prev->next = req->next;
    else if (s->outstanding == req)
        s->outstanding = req->next;
    if (req->next)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
}

/* Store the answer unless one was given already (first answer wins: a stopping
 * server may have answered 503). Takes ownership of TEXT and of the stream. */
static void answer(dv_api_request *req, unsigned status, const char *content_type, char *text,
                   size_t len, const dv_api_stream_ops *ops, void *obj)
{
    dv_api_server *s = req->server;
    pthread_mutex_lock(&s->lock);
    if (req->answered) {
        pthread_mutex_unlock(&s->lock);
        free(text);
        if (ops && obj)
            ops->free(obj);
        return;
    }
    req->answered = true;
    req->status = status;
    req->content_type = dv_xstrdup(content_type);
    req->text = text;
    req->text_len = len;
    req->stream_ops = ops;
    req->stream_obj = obj;
    unlink_outstanding(s, req);
    pthread_cond_signal(&req->answered_cond);
    pthread_mutex_unlock(&s->lock);
}

void dv_api_respond_json(dv_api_request *req, unsigned status, json_t *body)
{
    if (!body)
        body = json_object();
    /* NULL only for a body that is not an object or array: memory aborts (xalloc.h). */
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        text = dv_xstrdup("{\"error\":\"the answer could not be encoded\"}");
        status = 500;
    }
    size_t len = strlen(text);
    /* NDJSON-friendly: one object per line, so `curl | jq` and people both cope. */
    text = dv_xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    answer(req, status, "application/json", text, len, NULL, NULL);
}

void dv_api_respond_error(dv_api_request *req, unsigned status, const char *field, const char *fmt,
                          ...)
{
    char msg[DV_ERROR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *body = json_pack("{s:s}", "error", msg);
    if (body && field && *field)
        json_object_set_new(body, "field", json_string(field));
    dv_api_respond_json(req, status, body);
}

void dv_api_respond_text(dv_api_request *req, unsigned status, const char *content_type,
                         const char *text)
{
    char *copy = dv_xstrdup(text ? text : "");
    answer(req, status, content_type, copy, strlen(copy), NULL, NULL);
}

void dv_api_respond_stream(dv_api_request *req, unsigned status, const char *content_type,
                           const dv_api_stream_ops *ops, void *obj)
{
    answer(req, status, content_type, NULL, 0, ops, obj);
}

/* ---- connection threads ---- */

static void run_request(dv_loop *loop, void *data)
{
    (void)loop;
    dv_api_request *req = data;
    req->server->handler(req->server->userdata, req);
    dv_api_request_unref(req);
}

static void discard_request(void *data)
{
    dv_api_request *req = data;
    dv_api_respond_error(req, 503, NULL, "the agent is shutting down");
    dv_api_request_unref(req);
}

struct stream_ctx {
    dv_api_server *server;
    const dv_api_stream_ops *ops;
    void *obj;
    int client_fd;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_ctx *c = cls;
    for (;;) {
        ssize_t n = c->ops->read(c->obj, buf, max);
        if (n > 0)
            return n;
        if (n == DV_API_STREAM_END)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (n < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        /* Block this connection's own thread until there is data, the client
         * hangs up, or the server stops: no polling interval, no busy loop. */
        struct pollfd p[3] = {
            {.fd = c->ops->wait_fd(c->obj), .events = POLLIN},
            {.fd = c->client_fd, .events = POLLRDHUP},
            {.fd = c->server->stop_fd, .events = POLLIN},
        };
        if (poll(p, 3, -1) < 0 && errno != EINTR)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (p[2].revents) /* the agent stops: a clean end, the client is not at fault */
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
}

static void stream_free(void *cls)
{
    struct stream_ctx *c = cls;
    c->ops->free(c->obj);
    server_unref(c->server);
    free(c);
}

static enum MHD_Result queue_answer(struct MHD_Connection *conn, dv_api_request *req)
{
    struct MHD_Response *resp;
    if (req->stream_ops) {
        struct stream_ctx *c = dv_xcalloc(1, sizeof(*c));
        c->server = req->server;
        atomic_fetch_add(&c->server->refs, 1);
        c->ops = req->stream_ops;
        c->obj = req->stream_obj;
        c->client_fd = req->client_fd;
        req->stream_obj = NULL; /* now the response's */
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, c,
                                                 stream_free);
        if (!resp) {
            stream_free(c);
            return MHD_NO;
        }
    } else {
        /* Handed over, not copied: an exec answer may be several MiB. */
        resp = MHD_create_response_from_buffer(req->text_len, req->text, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            return MHD_NO;
        req->text = NULL; /* the response's now */
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type);
    /* One request per connection: every request then passes the gate (peer
     * limits, header deadline); a kept-alive connection would skip it. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = MHD_queue_response(conn, req->status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result queue_simple(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    _cleanup_json_ json_t *j = json_pack("{s:s}", "error", msg);
    _cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!text)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    if (key)
        json_object_set_new(cls, key, json_string(value ? value : ""));
    return MHD_YES;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decoding of the path and query in place, as MHD's own, except that "%00"
 * stays as written: a decoded NUL would end the C string early, and
 * "DELETE /v1/tasks/<id>%00../../x" would act on <id>. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *out = s;
    for (const char *in = s; *in;) {
        int hi, lo;
        if (in[0] == '%' && (hi = hexval(in[1])) >= 0 && (lo = hexval(in[2])) >= 0 && (hi || lo)) {
            *out++ = (char)(hi * 16 + lo);
            in += 3;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version;
    dv_api_server *s = cls;
    struct upload *up = *req_cls;
    if (!up) {
        up = dv_xcalloc(1, sizeof(*up));
        up->started_ns = dv_monotonic_ns();
        *req_cls = up;
        pthread_mutex_lock(&s->lock);
        s->active++;
        pthread_mutex_unlock(&s->lock);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        /* MHD's idle timeout ends a body that stops; this ends one that trickles. */
        if (dv_monotonic_ns() - up->started_ns > (int64_t)DV_API_BODY_TIMEOUT_MS * 1000000)
            return MHD_NO;
        if (up->body.len + *upload_data_size > DV_API_MAX_BODY)
            up->too_big = true;
        else if (dv_buf_append(&up->body, upload_data, *upload_data_size) < 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (up->too_big)
        return queue_simple(conn, 413, "request body too large");

    json_t *body = NULL;
    if (up->body.len > 0) {
        json_error_t jerr;
        /* As `dockvisor validate` and `run` parse a spec: a duplicate key is an
         * error, never "the last one wins". */
        body =
            json_loadb(up->body.data, up->body.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
        if (!body) {
            char msg[300];
            snprintf(msg, sizeof(msg), "invalid JSON body: %s (line %d)", jerr.text, jerr.line);
            return queue_simple(conn, 400, msg);
        }
        /* Let through the parser so that the answer names the field. */
        dv_error nul;
        if (dv_json_refuse_nul(body, &nul) < 0) {
            json_decref(body);
            char msg[700];
            snprintf(msg, sizeof(msg), "invalid JSON body: %s", nul.msg);
            return queue_simple(conn, 400, msg);
        }
    }

    dv_api_request *req = dv_xcalloc(1, sizeof(*req));
    atomic_init(&req->refs, 1);
    atomic_fetch_add(&s->refs, 1);
    req->server = s;
    req->body = body;
    req->method = dv_xstrdup(method);
    req->path = dv_xstrdup(url);
    req->query = json_object();
    pthread_cond_init(&req->answered_cond, NULL);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    req->client_fd = ci ? ci->connect_fd : -1;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, req->query);

    pthread_mutex_lock(&s->lock);
    bool stopping = s->stopping;
    if (!stopping) {
        req->next = s->outstanding;
        if (req->next)
            req->next->prev = req;
        s->outstanding = req;
    }
    pthread_mutex_unlock(&s->lock);
    if (stopping ||
        dv_loop_post(s->loop, run_request, discard_request, dv_api_request_ref(req)) < 0) {
        if (!stopping)
            dv_api_request_unref(req); /* the ref the message would have held */
        dv_api_respond_error(req, 503, NULL, "the agent is shutting down");
    }

    /* The request is complete: the client now waits for us, as long as an exec
     * or a drain takes, and a stream may stay quiet for hours. MHD's idle timeout
     * would otherwise close the connection as soon as its thread looks again. */
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    pthread_mutex_lock(&s->lock);
    while (!req->answered)
        pthread_cond_wait(&req->answered_cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    /* Back from 0, the timer starts afresh: a client that stops reading a plain
     * answer is let go. A stream keeps none (its hangup is seen by poll). */
    if (!req->stream_ops)
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  (unsigned)(DV_API_IDLE_TIMEOUT_MS / 1000));
    enum MHD_Result r = queue_answer(conn, req);
    dv_api_request_unref(req);
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    dv_api_server *s = cls;
    struct upload *up = *req_cls;
    if (up) {
        dv_buf_free(&up->body);
        free(up);
        *req_cls = NULL;
        pthread_mutex_lock(&s->lock);
        s->active--;
        pthread_cond_broadcast(&s->idle);
        pthread_mutex_unlock(&s->lock);
    }
}

/* The gate counted the connection against its peer's uid at the handoff; its
 * end gives the place back. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    dv_api_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
            return; /* its place stays taken: cannot happen on a live Unix socket */
        uid_t *uid = dv_xmalloc(sizeof(*uid));
        *uid = cred.uid;
        *socket_ctx = uid;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_ctx) {
        uid_t *uid = *socket_ctx;
        dv_api_gate_conn_closed(s->gate, *uid);
        free(uid);
        *socket_ctx = NULL;
    }
}

static int handoff(void *ctx, int fd, const struct sockaddr *sa, socklen_t sa_len, uid_t uid)
{
    (void)uid;
    dv_api_server *s = ctx;
    /* MHD closes FD when it cannot take it. */
    return MHD_add_connection(s->mhd, fd, sa, sa_len) == MHD_YES ? 0 : -EIO;
}

void dv_api_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    dv_log_debug("%s: %s", (const char *)cls, msg);
}

int dv_api_socket_probe(const char *path, dv_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return dv_error_set(err, -ENAMETOOLONG, "socket path %s is too long", path);
    strcpy(sa.sun_path, path);
    _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return dv_error_errno(err, errno, "socket");
    if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return dv_error_set(err, -EADDRINUSE,
                            "another agent is already listening on %s (same data dir or socket?)",
                            path);
    return errno == ECONNREFUSED || errno == ENOTSOCK ? 0 : 1;
}

/* Bind the socket ourselves: MHD only knows TCP addresses. */
static int listen_unix(const char *path, int *ret_fd, dv_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return dv_error_set(err, -ENAMETOOLONG, "socket path %s is too long", path);
    strcpy(sa.sun_path, path);

    _cleanup_free_ char *dir = dv_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        int r = dv_mkdir_p(dir, 0750, err);
        if (r < 0)
            return dv_error_wrap(err, "socket directory");
    }

    /* Probe, unlink and bind under a lock: two agents starting at the same moment
     * on one socket path must not both find it free, the second then unlinking the
     * first's socket. The lock file stays (it is empty); the lock goes with the fd. */
    _cleanup_free_ char *lock_path = dv_xasprintf("%s.lock", path);
    _cleanup_close_ int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lock < 0)
        return dv_error_errno(err, errno, "open %s", lock_path);
    if (flock(lock, LOCK_EX) < 0)
        return dv_error_errno(err, errno, "lock %s", lock_path);

    /* A symlink there is nobody's socket: say what it is (connect would follow it,
     * bind would refuse with "Address already in use"). */
    struct stat lst;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        return dv_error_set(err, -EEXIST,
                            "%s is a symlink (to \"%s\"), not a socket: remove it or choose "
                            "another socket path",
                            path, target);
    }
    int probed = dv_api_socket_probe(path, err);
    if (probed < 0)
        return probed;
    if (probed == 0) {
        struct stat st;
        if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
            return dv_error_set(err, -EEXIST, "%s exists and is not a socket", path);
        if (unlink(path) < 0 && errno != ENOENT)
            return dv_error_errno(err, errno, "remove stale socket %s", path);
    }

    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return dv_error_errno(err, errno, "socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return dv_error_errno(err, errno, "bind %s", path);
    /* Before listen(): nobody can connect while the mode is still the umask's. */
    if (chmod(path, 0660) < 0) {
        int r = dv_error_errno(err, errno, "chmod %s", path);
        unlink(path);
        return r;
    }
    if (listen(fd, 128) < 0) {
        int r = dv_error_errno(err, errno, "listen %s", path);
        unlink(path);
        return r;
    }
    *ret_fd = TAKE_FD(fd);
    return 0;
}

int dv_api_server_start(const char *socket_path, dv_loop *loop, dv_api_handler_fn handler,
                        void *userdata, dv_api_server **ret, dv_error *err)
{
    dv_api_server *s = dv_xcalloc(1, sizeof(*s));
    atomic_init(&s->refs, 1);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->loop = loop;
    s->handler = handler;
    s->userdata = userdata;
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->socket_path = dv_xstrdup(socket_path);
    if (s->stop_fd < 0) {
        int r = dv_error_errno(err, errno, "eventfd");
        server_unref(s);
        return r;
    }
    int fd = -1;
    int r = listen_unix(socket_path, &fd, err);
    if (r < 0) {
        server_unref(s);
        return r;
    }
    /* The gate accepts (MHD never sees the listening socket) and adds a
     * connection once its headers are in; MHD_USE_ITC wakes MHD for it. */
    s->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
            MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC,
        0, NULL, NULL, on_request, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_EXTERNAL_LOGGER, dv_api_mhd_log,
        "api",
        /* reading a body, writing a plain answer: idle this long, the client is gone */
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(DV_API_IDLE_TIMEOUT_MS / 1000),
        /* the gate keeps to DV_API_MAX_CONNECTIONS; the slack covers connections
         * handed over and not counted yet, so MHD never refuses one silently */
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(DV_API_MAX_CONNECTIONS + 64),
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    if (!s->mhd) {
        close(fd);
        unlink(socket_path);
        server_unref(s);
        return dv_error_set(err, -EIO, "cannot start the HTTP server on %s", socket_path);
    }
    const dv_api_gate_limits limits = {
        .max_pending = DV_API_MAX_PENDING,
        .pending_per_uid = DV_API_MAX_PER_UID,
        .pending_root = DV_API_ROOT_RESERVED_PENDING,
        .max_active = DV_API_MAX_CONNECTIONS,
        .active_per_uid = DV_API_MAX_PER_UID,
        .active_root = DV_API_ROOT_RESERVED,
        .header_timeout_ms = DV_API_HEADER_TIMEOUT_MS,
        .max_header = DV_API_MAX_HEADER,
    };
    r = dv_api_gate_start(fd, &limits, handoff, s, &s->gate, err);
    if (r < 0) {
        MHD_stop_daemon(s->mhd);
        unlink(socket_path);
        server_unref(s);
        return dv_error_wrap(err, "API socket %s", socket_path);
    }
    *ret = s;
    return 0;
}

void dv_api_server_stop(dv_api_server *s)
{
    if (!s)
        return;
    uint64_t one = 1;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    if (write(s->stop_fd, &one, sizeof(one)) < 0)
        dv_log_warning("api: cannot wake streaming connections: %m");
    pthread_mutex_unlock(&s->lock);
    for (;;) {
        pthread_mutex_lock(&s->lock);
        dv_api_request *req = s->outstanding;
        if (req)
            dv_api_request_ref(req);
        pthread_mutex_unlock(&s->lock);
        if (!req)
            break;
        dv_api_respond_error(req, 503, NULL, "the agent is shutting down");
        dv_api_request_unref(req);
    }
    /* MHD_stop_daemon() closes connections at once: give the answers just made
     * (and the streams just ended) a moment to reach their clients. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    pthread_mutex_lock(&s->lock);
    while (s->active > 0)
        if (pthread_cond_timedwait(&s->idle, &s->lock, &deadline) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&s->lock);
    dv_api_gate_stop(s->gate); /* no new connections; the waiting ones closed */
    MHD_stop_daemon(s->mhd);   /* joins every connection thread */
    s->mhd = NULL;
    dv_api_gate_free(s->gate); /* after MHD's last close notification */
    s->gate = NULL;
    unlink(s->socket_path);
    server_unref(s);
}

int dv_api_waiters_add(dv_api_waiters *w, dv_api_request *req)
{
    w->v = dv_xreallocarray(w->v, w->n + 1, sizeof(*w->v));
    w->v[w->n++] = dv_api_request_ref(req);
    return 0;
}

void dv_api_waiters_answer(dv_api_waiters *w, void (*answer_one)(dv_api_request *req, void *ctx),
                           void *ctx)
{
    dv_api_waiters taken = *w; /* an answer may not add to what is being answered */
    *w = (dv_api_waiters){0};
    for (size_t i = 0; i < taken.n; i++) {
        answer_one(taken.v[i], ctx);
        dv_api_request_unref(taken.v[i]);
    }
    free(taken.v);
}

static void answer_fail(dv_api_request *req, void *ctx)
{
    const dv_error *e = ctx;
    dv_api_respond_error(req, (unsigned)e->http_status, NULL, "%s", e->msg);
}

void dv_api_waiters_fail(dv_api_waiters *w, unsigned status, const char *message)
{
    dv_error e;
    dv_error_clear(&e);
    e.http_status = (int)status;
    snprintf(e.msg, sizeof(e.msg), "%s", message);
    dv_api_waiters_answer(w, answer_fail, &e);
}
