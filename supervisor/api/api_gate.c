#include "api_gate.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"
#include "xalloc.h"

/* A connection waiting in the gate for the end of its headers. */
struct gconn {
    int fd; /* -1 once closed (its events later in the same batch are ignored) */
    uid_t uid;
    int64_t deadline_ms;
    struct sockaddr_un sa;
    socklen_t sa_len;
    struct gconn *prev, *next; /* the pending list, oldest first; or the graveyard */
};

struct uid_count {
    uid_t uid;
    unsigned pending, active;
};

struct dv_api_gate {
    dv_api_gate_limits lim;
    dv_api_gate_handoff_fn handoff;
    void *ctx;
    int listen_fd, epoll_fd, stop_fd;
    pthread_t thread;
    bool thread_started;
    char *peek;                     /* lim.max_header bytes */
    int64_t accept_paused_until_ms; /* 0: accepting */
    struct gconn *head, *tail, *graveyard;

    pthread_mutex_t lock; /* everything below: the server's threads report closes */
    struct uid_count *uids;
    size_t n_uids;
    unsigned pending_total, pending_nonroot, active_total, active_nonroot;
    dv_api_gate_stats stats;
};

/* epoll data for the two fds that are not connections */
static char tag_listen, tag_stop;

static int64_t now_ms(void)
{
    return dv_monotonic_ns() / 1000000;
}

enum dv_api_head_state dv_api_head_classify(const char *buf, size_t len, size_t max)
{
    /* A request line starts with a method, a token; ours are upper case letters
     * (and "M-SEARCH"-style dashes in the wild). Anything else in the first
     * bytes, a TLS record's 0x16 above all, is not HTTP: say so at once rather
     * than wait for a line end that may never come. */
    size_t i = 0;
    while (i < len && i < 16 &&
           ((buf[i] >= 'A' && buf[i] <= 'Z') || buf[i] == '-' || buf[i] == '_'))
        i++;
    if (i == len)
        return i < 16 ? DV_API_HEAD_INCOMPLETE : DV_API_HEAD_GARBAGE;
    if (i == 0 || buf[i] != ' ')
        return DV_API_HEAD_GARBAGE;
    if (memmem(buf, len, "\r\n\r\n", 4) || memmem(buf, len, "\n\n", 2))
        return DV_API_HEAD_COMPLETE;
    return len >= max ? DV_API_HEAD_TOO_LONG : DV_API_HEAD_INCOMPLETE;
}

/* ---- counts (under lock) ---- */

static struct uid_count *uid_get(dv_api_gate *g, uid_t uid, bool create)
{
    for (size_t i = 0; i < g->n_uids; i++)
        if (g->uids[i].uid == uid)
            return &g->uids[i];
    if (!create)
        return NULL;
    g->uids = dv_xreallocarray(g->uids, g->n_uids + 1, sizeof(*g->uids));
    g->uids[g->n_uids] = (struct uid_count){.uid = uid};
    return &g->uids[g->n_uids++];
}

static void uid_maybe_drop(dv_api_gate *g, struct uid_count *u)
{
    if (u->pending || u->active)
        return;
    *u = g->uids[--g->n_uids];
}

static void count_pending(dv_api_gate *g, uid_t uid, int delta)
{
    struct uid_count *u = uid_get(g, uid, false);
    if (!u)
        return;
    u->pending += (unsigned)delta;
    g->pending_total += (unsigned)delta;
    if (uid != 0)
        g->pending_nonroot += (unsigned)delta;
    uid_maybe_drop(g, u);
}

void dv_api_gate_conn_closed(dv_api_gate *g, uid_t uid)
{
    pthread_mutex_lock(&g->lock);
    struct uid_count *u = uid_get(g, uid, false);
    if (u && u->active > 0) {
        u->active--;
        g->active_total--;
        if (uid != 0)
            g->active_nonroot--;
        uid_maybe_drop(g, u);
    }
    pthread_mutex_unlock(&g->lock);
}

dv_api_gate_stats dv_api_gate_get_stats(dv_api_gate *g)
{
    pthread_mutex_lock(&g->lock);
    dv_api_gate_stats s = g->stats;
    pthread_mutex_unlock(&g->lock);
    return s;
}

/* ---- connections ---- */

/* Answer STATUS and close. What the client sent is read first: closing a Unix
 * socket with unread data resets the peer, which could then lose the answer. */
static void refuse(int fd, unsigned status, const char *reason, const char *msg)
{
    char sink[4096];
    for (int i = 0; i < 64 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
        ;
    char body[256], out[512];
    int blen = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", msg);
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     "Connection: close\r\n\r\n%s",
                     status, reason, blen, body);
    if (n > 0 && send(fd, out, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        /* the client is gone or not reading: nothing more to do for it */
    }
    close(fd);
}

static void conn_unlink(dv_api_gate *g, struct gconn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        g->tail = c->prev;
    c->prev = NULL;
    c->next = g->graveyard; /* freed after the current batch of events */
    g->graveyard = c;
    epoll_ctl(g->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    pthread_mutex_lock(&g->lock);
    count_pending(g, c->uid, -1);
    pthread_mutex_unlock(&g->lock);
}

/* Leave the gate: closed with an answer (STATUS != 0), closed silently, or
 * (HANDOFF) given to the server. */
static void conn_finish(dv_api_gate *g, struct gconn *c, unsigned status, const char *reason,
                        const char *msg)
{
    conn_unlink(g, c);
    if (status)
        refuse(c->fd, status, reason, msg);
    else
        close(c->fd);
    c->fd = -1;
}

static void conn_handoff(dv_api_gate *g, struct gconn *c)
{
    pthread_mutex_lock(&g->lock);
    struct uid_count *u = uid_get(g, c->uid, false);
    unsigned mine = u ? u->active : 0;
    bool busy = g->active_total >= g->lim.max_active ||
                (c->uid != 0 && (mine >= g->lim.active_per_uid ||
                                 g->active_nonroot >= g->lim.max_active - g->lim.active_root));
    if (busy) {
        g->stats.refused_busy++;
    } else if (u) {
        /* Counted now, not when the server starts the connection on its own
         * thread: a burst would otherwise all pass before the first is counted. */
        u->active++;
        g->active_total++;
        if (c->uid != 0)
            g->active_nonroot++;
    }
    pthread_mutex_unlock(&g->lock);
    if (busy) {
        char msg[96];
        snprintf(msg, sizeof(msg), "too many connections from uid %u", (unsigned)c->uid);
        conn_finish(g, c, 503, "Service Unavailable", msg);
        return;
    }
    conn_unlink(g, c);
    int fd = c->fd;
    c->fd = -1;
    if (g->handoff(g->ctx, fd, (const struct sockaddr *)&c->sa, c->sa_len, c->uid) < 0)
        dv_api_gate_conn_closed(g, c->uid);
}

static void conn_readable(dv_api_gate *g, struct gconn *c, uint32_t events)
{
    ssize_t n = recv(c->fd, g->peek, g->lim.max_header, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (events & (EPOLLHUP | EPOLLERR))
            conn_finish(g, c, 0, NULL, NULL);
        return;
    }
    if (n <= 0) { /* gone before a whole request */
        conn_finish(g, c, 0, NULL, NULL);
        return;
    }
    switch (dv_api_head_classify(g->peek, (size_t)n, g->lim.max_header)) {
    case DV_API_HEAD_COMPLETE:
        conn_handoff(g, c);
        return;
    case DV_API_HEAD_GARBAGE:
        pthread_mutex_lock(&g->lock);
        g->stats.refused_garbage++;
        pthread_mutex_unlock(&g->lock);
        conn_finish(g, c, 400, "Bad Request", "not an HTTP request");
        return;
    case DV_API_HEAD_TOO_LONG:
        conn_finish(g, c, 431, "Request Header Fields Too Large", "request headers too large");
        return;
    case DV_API_HEAD_INCOMPLETE:
        /* A client that sent half a request and shut its side down will never
         * finish it. */
        if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            conn_finish(g, c, 0, NULL, NULL);
        return;
    }
}

static void evict_oldest(dv_api_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->stats.evicted++;
    pthread_mutex_unlock(&g->lock);
    conn_finish(g, g->head, 503, "Service Unavailable", "too many connections");
}

static void accept_one(dv_api_gate *g, int fd, const struct sockaddr_un *sa, socklen_t sa_len)
{
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
        close(fd);
        return;
    }
    uid_t uid = cred.uid;
    pthread_mutex_lock(&g->lock);
    struct uid_count *u = uid_get(g, uid, true);
    bool refused = uid != 0 && (u->pending >= g->lim.pending_per_uid ||
                                g->pending_nonroot >= g->lim.max_pending - g->lim.pending_root);
    if (refused)
        g->stats.refused_busy++;
    uid_maybe_drop(g, u);
    bool full = g->pending_total >= g->lim.max_pending;
    pthread_mutex_unlock(&g->lock);
    char msg[96];
    snprintf(msg, sizeof(msg), "too many connections from uid %u", (unsigned)uid);
    if (refused) {
        refuse(fd, 503, "Service Unavailable", msg);
        return;
    }
    if (full && g->head) /* only root gets here: its connection beats the oldest idle one */
        evict_oldest(g);

    struct gconn *c = dv_xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->uid = uid;
    c->sa = *sa;
    c->sa_len = sa_len;
    c->deadline_ms = now_ms() + g->lim.header_timeout_ms;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(g->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        free(c);
        refuse(fd, 503, "Service Unavailable", "cannot watch the connection");
        return;
    }
    c->prev = g->tail;
    if (g->tail)
        g->tail->next = c;
    else
        g->head = c;
    g->tail = c;
    pthread_mutex_lock(&g->lock);
    uid_get(g, uid, true)->pending++;
    g->pending_total++;
    if (uid != 0)
        g->pending_nonroot++;
    pthread_mutex_unlock(&g->lock);
    /* Edge-triggered: bytes already there when it was added are reported by
     * epoll_ctl's own readiness check, on the next wait. */
}

static void accept_some(dv_api_gate *g)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_un sa;
        socklen_t len = sizeof(sa);
        int fd = accept4(g->listen_fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            accept_one(g, fd, &sa, len);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if ((errno == EMFILE || errno == ENFILE) && g->head) {
            /* Out of fds: the oldest idle connection pays, not the new one. */
            evict_oldest(g);
            continue;
        }
        if (errno != EAGAIN) {
            /* Out of fds with nothing of ours to give back, or out of memory:
             * stop looking at the socket for a moment instead of spinning on it. */
            g->accept_paused_until_ms = now_ms() + 100;
            struct epoll_event ev = {.events = 0, .data.ptr = &tag_listen};
            epoll_ctl(g->epoll_fd, EPOLL_CTL_MOD, g->listen_fd, &ev);
        }
        return;
    }
}

static void *gate_thread(void *arg)
{
    dv_api_gate *g = arg;
    struct epoll_event evs[64];
    for (;;) {
        int64_t now = now_ms();
        int64_t wake = g->head ? g->head->deadline_ms : -1;
        if (g->accept_paused_until_ms && (wake < 0 || g->accept_paused_until_ms < wake))
            wake = g->accept_paused_until_ms;
        int timeout = wake < 0 ? -1 : wake <= now ? 0 : (int)(wake - now);
        int n = epoll_wait(g->epoll_fd, evs, (int)DV_ARRAY_SIZE(evs), timeout);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &tag_stop)
                return NULL;
            if (p == &tag_listen) {
                accept_some(g);
                continue;
            }
            struct gconn *c = p;
            if (c->fd >= 0)
                conn_readable(g, c, evs[i].events);
        }
        now = now_ms();
        while (g->head && g->head->deadline_ms <= now) {
            pthread_mutex_lock(&g->lock);
            g->stats.timed_out++;
            pthread_mutex_unlock(&g->lock);
            conn_finish(g, g->head, 408, "Request Timeout", "request headers not complete in time");
        }
        if (g->accept_paused_until_ms && g->accept_paused_until_ms <= now) {
            g->accept_paused_until_ms = 0;
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_listen};
            epoll_ctl(g->epoll_fd, EPOLL_CTL_MOD, g->listen_fd, &ev);
        }
        while (g->graveyard) {
            struct gconn *c = g->graveyard;
            g->graveyard = c->next;
            free(c);
        }
    }
    return NULL;
}

int dv_api_gate_start(int listen_fd, const dv_api_gate_limits *limits,
                      dv_api_gate_handoff_fn handoff, void *ctx, dv_api_gate **ret, dv_error *err)
{
    _cleanup_close_ int lfd = listen_fd;
    dv_api_gate *g = dv_xcalloc(1, sizeof(*g));
    pthread_mutex_init(&g->lock, NULL);
    g->lim = *limits;
    g->handoff = handoff;
    g->ctx = ctx;
    g->listen_fd = g->epoll_fd = g->stop_fd = -1;
    g->peek = dv_xmalloc(g->lim.max_header);
    g->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    g->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int r = 0;
    if (g->epoll_fd < 0 || g->stop_fd < 0)
        r = dv_error_errno(err, errno, "epoll/eventfd");
    /* accept_some() takes what is queued, then must find the queue empty, not wait. */
    int fl = fcntl(lfd, F_GETFL);
    if (r == 0 && (fl < 0 || fcntl(lfd, F_SETFL, fl | O_NONBLOCK) < 0))
        r = dv_error_errno(err, errno, "listening socket");
    if (r == 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_listen};
        struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &tag_stop};
        if (epoll_ctl(g->epoll_fd, EPOLL_CTL_ADD, lfd, &ev) < 0 ||
            epoll_ctl(g->epoll_fd, EPOLL_CTL_ADD, g->stop_fd, &sev) < 0)
            r = dv_error_errno(err, errno, "epoll_ctl");
    }
    if (r == 0) {
        g->listen_fd = TAKE_FD(lfd);
        int e = pthread_create(&g->thread, NULL, gate_thread, g);
        if (e != 0)
            r = dv_error_errno(err, e, "start the API accept thread");
        else
            g->thread_started = true;
    }
    if (r < 0) {
        dv_api_gate_stop(g);
        dv_api_gate_free(g);
        return r;
    }
    *ret = g;
    return 0;
}

void dv_api_gate_stop(dv_api_gate *g)
{
    if (!g)
        return;
    if (g->thread_started) {
        uint64_t one = 1;
        /* An eventfd write cannot fail short of a counter overflow. */
        if (write(g->stop_fd, &one, sizeof(one)) < 0)
            pthread_cancel(g->thread);
        pthread_join(g->thread, NULL);
        g->thread_started = false;
    }
    while (g->head)
        conn_finish(g, g->head, 0, NULL, NULL);
    while (g->graveyard) {
        struct gconn *c = g->graveyard;
        g->graveyard = c->next;
        free(c);
    }
    dv_closep(&g->listen_fd);
    dv_closep(&g->epoll_fd);
    dv_closep(&g->stop_fd);
}

void dv_api_gate_free(dv_api_gate *g)
{
    if (!g)
        return;
    free(g->peek);
    free(g->uids);
    pthread_mutex_destroy(&g->lock);
    free(g);
}
