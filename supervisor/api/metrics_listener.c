#include "metrics_listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api_server.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

struct dv_metrics_listener {
    struct MHD_Daemon *mhd;
    dv_loop *loop;
    dv_metrics_render_fn render;
    void *userdata;
    int port;
    atomic_bool stopping;
};

/* One scrape posted to the loop. Two references: the waiting connection thread's
 * and the message's; whichever lets go last frees it, so a thread that gave up
 * waiting leaves nothing behind for the loop to touch. */
struct scrape {
    atomic_int refs;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done; /* answered: text below, or failed */
    bool failed;
    dv_metrics_render_fn render;
    void *userdata;
    dv_buf text;
};

static void scrape_unref(struct scrape *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    dv_buf_free(&s->text);
    free(s);
}

static void scrape_finish(struct scrape *s, bool failed)
{
    pthread_mutex_lock(&s->lock);
    s->done = true;
    s->failed = failed;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    scrape_unref(s);
}

/* On the loop. Rendered into a buffer of the scrape's own, then handed over under
 * the lock: the waiter never reads a half-written answer. */
static void scrape_run(dv_loop *loop, void *data)
{
    (void)loop;
    struct scrape *s = data;
    dv_buf text = DV_BUF_INIT;
    s->render(s->userdata, &text);
    pthread_mutex_lock(&s->lock);
    s->text = text;
    pthread_mutex_unlock(&s->lock);
    scrape_finish(s, false);
}

static void scrape_discard(void *data)
{
    scrape_finish(data, true);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *type,
                              const char *text, size_t len, const char *allow)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result answer_plain(struct MHD_Connection *conn, unsigned status, const char *msg,
                                    const char *allow)
{
    return answer(conn, status, "text/plain; charset=utf-8", msg, strlen(msg), allow);
}

/* Wait for the loop's answer in slices, so a stopping listener is noticed. */
static bool wait_done(dv_metrics_listener *l, struct scrape *s)
{
    struct timespec end;
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += DV_METRICS_ANSWER_TIMEOUT_MS / 1000;
    pthread_mutex_lock(&s->lock);
    while (!s->done && !atomic_load(&l->stopping)) {
        struct timespec slice;
        clock_gettime(CLOCK_REALTIME, &slice);
        if (slice.tv_sec > end.tv_sec ||
            (slice.tv_sec == end.tv_sec && slice.tv_nsec >= end.tv_nsec))
            break;
        slice.tv_sec += 1;
        pthread_cond_timedwait(&s->cond, &s->lock, &slice);
    }
    bool ok = s->done && !s->failed;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    dv_metrics_listener *l = cls;
    /* Decided on the first call, before any body is read: nothing here takes one. */
    if (*req_cls)
        return MHD_NO;
    *req_cls = l;
    if (strcmp(url, "/metrics") != 0 && strcmp(url, "/v1/metrics") != 0)
        return answer_plain(conn, MHD_HTTP_NOT_FOUND,
                            "not found: this listener serves only GET /metrics\n", NULL);
    /* HEAD: libmicrohttpd sends the headers of the GET answer without its body. */
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return answer_plain(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD");

    struct scrape *s = dv_xcalloc(1, sizeof(*s));
    atomic_init(&s->refs, 2);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->render = l->render;
    s->userdata = l->userdata;
    if (atomic_load(&l->stopping) || dv_loop_post(l->loop, scrape_run, scrape_discard, s) < 0) {
        atomic_fetch_sub(&s->refs, 1); /* the message's, never posted */
        scrape_unref(s);
        return answer_plain(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "the agent is shutting down\n",
                            NULL);
    }
    enum MHD_Result r;
    if (wait_done(l, s)) {
        pthread_mutex_lock(&s->lock);
        r = answer(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                   s->text.data ? s->text.data : "", s->text.len, NULL);
        pthread_mutex_unlock(&s->lock);
    } else {
        r = answer_plain(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                         "the agent did not answer in time, or is shutting down\n", NULL);
    }
    scrape_unref(s);
    return r;
}

/* Bound here rather than by MHD: its own errors do not say why a bind failed. */
static int listen_tcp(const char *host, int port, int *ret_fd, int *ret_port, dv_error *err)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        len = sizeof(*in6);
    } else {
        return dv_error_set(err, -EINVAL, "\"%s\" is not a numeric IP address", host);
    }
    _cleanup_close_ int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return dv_error_errno(err, errno, "socket");
    int one = 1;
    /* A restarted agent rebinds at once despite connections in TIME_WAIT. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0)
        return dv_error_errno(err, errno, "cannot listen on %s%s%s:%d",
                              ss.ss_family == AF_INET6 ? "[" : "", host,
                              ss.ss_family == AF_INET6 ? "]" : "", port);
    if (listen(fd, 64) < 0)
        return dv_error_errno(err, errno, "listen");
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return dv_error_errno(err, errno, "getsockname");
    *ret_port = ntohs(ss.ss_family == AF_INET6 ? in6->sin6_port : in4->sin_port);
    *ret_fd = TAKE_FD(fd);
    return 0;
}

int dv_metrics_listener_start(const char *host, int port, dv_loop *loop,
                              dv_metrics_render_fn render, void *userdata,
                              dv_metrics_listener **ret, dv_error *err)
{
    int fd = -1, bound = 0;
    int r = listen_tcp(host, port, &fd, &bound, err);
    if (r < 0)
        return r;
    dv_metrics_listener *l = dv_xcalloc(1, sizeof(*l));
    l->loop = loop;
    l->render = render;
    l->userdata = userdata;
    l->port = bound;
    atomic_init(&l->stopping, false);
    /* MHD owns the socket from here (it closes it at stop). */
    l->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                  MHD_USE_POLL | MHD_USE_ERROR_LOG,
                              0, NULL, NULL, on_request, l, MHD_OPTION_LISTEN_SOCKET, fd,
                              MHD_OPTION_EXTERNAL_LOGGER, dv_api_mhd_log, "metrics listener",
                              MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT,
                              (unsigned)DV_METRICS_MAX_CONNECTIONS, MHD_OPTION_END);
    if (!l->mhd) {
        close(fd);
        free(l);
        return dv_error_set(err, -EIO, "cannot start the HTTP server on %s:%d", host, bound);
    }
    *ret = l;
    return 0;
}

int dv_metrics_listener_port(const dv_metrics_listener *l)
{
    return l->port;
}

void dv_metrics_listener_stop(dv_metrics_listener *l)
{
    if (!l)
        return;
    atomic_store(&l->stopping, true);
    MHD_stop_daemon(l->mhd); /* closes the listening socket, joins the connection threads */
    free(l);
}
