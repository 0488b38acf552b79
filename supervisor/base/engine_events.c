#include "engine_events.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "timestamp.h"
#include "xalloc.h"

struct dv_engine_events {
    dv_docker *dk;
    dv_loop *loop;
    dv_engine_events_cb cb;
    json_t *filters;
    pthread_t thread;
    dv_cancel cancel;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* stop during a backoff sleep; the thread's end */
    bool stopping;
    bool exited;      /* the thread is about to return: it touches nothing of ours any more */
    int64_t since_ns; /* events thread only */
    bool got_event;   /* in the current connection */
    bool opened;      /* the current connection was accepted */
};

enum msg_kind { MSG_EVENT, MSG_RESYNC, MSG_BROKEN };

/* A message carries its own copy of the callbacks: it may still be queued when the
 * events object is gone (the loop discards it, but it must not point at freed memory). */
struct msg {
    dv_engine_events_cb cb;
    enum msg_kind kind;
    json_t *event;
    char why[DV_ERROR_MSG_MAX];
};

json_t *dv_engine_events_filters(const char *label)
{
    return json_pack("{s:[s],s:[s],s:[s,s,s]}", "type", "container", "label", label, "event", "die",
                     "oom", "destroy");
}

static void run_msg(dv_loop *loop, void *data)
{
    (void)loop;
    struct msg *m = data;
    const dv_engine_events_cb *cb = &m->cb;
    switch (m->kind) {
    case MSG_EVENT:
        if (cb->event)
            cb->event(cb->userdata, m->event);
        break;
    case MSG_RESYNC:
        if (cb->resync)
            cb->resync(cb->userdata);
        break;
    case MSG_BROKEN:
        if (cb->broken)
            cb->broken(cb->userdata, m->why);
        break;
    }
    json_decref(m->event);
    free(m);
}

static void discard_msg(void *data)
{
    struct msg *m = data;
    json_decref(m->event);
    free(m);
}

static void post(dv_engine_events *ev, enum msg_kind kind, const json_t *event, const char *why)
{
    struct msg *m = dv_xcalloc(1, sizeof(*m));
    m->cb = ev->cb;
    m->kind = kind;
    m->event = event ? json_deep_copy(event) : NULL;
    if (why)
        snprintf(m->why, sizeof(m->why), "%s", why);
    if (dv_loop_post(ev->loop, run_msg, discard_msg, m) < 0)
        discard_msg(m);
}

static int on_event(const json_t *event, void *userdata)
{
    dv_engine_events *ev = userdata;
    json_int_t t = json_integer_value(json_object_get(event, "timeNano"));
    if (t > ev->since_ns)
        ev->since_ns = t;
    ev->got_event = true;
    post(ev, MSG_EVENT, event, NULL);
    return 0;
}

static void on_open(void *userdata)
{
    dv_engine_events *ev = userdata;
    ev->opened = true;
    /* Everything after since_ns is replayed by the stream itself; resync covers
     * what Docker may have forgotten (a daemon restart). */
    post(ev, MSG_RESYNC, NULL, NULL);
}

/* Sleep up to NS unless stopped; returns true when stopping. */
static bool sleep_unless_stopped(dv_engine_events *ev, int64_t ns)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    int64_t total = (int64_t)deadline.tv_nsec + ns;
    deadline.tv_sec += (time_t)(total / DV_NSEC_PER_SEC);
    deadline.tv_nsec = (long)(total % DV_NSEC_PER_SEC);
    pthread_mutex_lock(&ev->lock);
    while (!ev->stopping)
        if (pthread_cond_timedwait(&ev->wake, &ev->lock, &deadline) == ETIMEDOUT)
            break;
    bool stopping = ev->stopping;
    pthread_mutex_unlock(&ev->lock);
    return stopping;
}

static void *events_main(void *arg)
{
    dv_engine_events *ev = arg;
    int64_t backoff = 500 * DV_NSEC_PER_MSEC;
    const int64_t max_backoff = 30 * DV_NSEC_PER_SEC;
    bool down = false; /* `broken` was posted for the current outage */
    ev->since_ns = dv_realtime_ns() - DV_NSEC_PER_SEC;
    while (!dv_cancel_requested(&ev->cancel)) {
        char since[DV_TIMESTAMP_SINCE_MAX];
        dv_timestamp_since(ev->since_ns, since);
        ev->got_event = false;
        ev->opened = false;
        int64_t started = dv_monotonic_ns();
        dv_error err;
        dv_error_clear(&err);
        int r = dv_docker_events_open(ev->dk, since, ev->filters, on_event, on_open, ev,
                                      &ev->cancel, &err);
        if (r == -ECANCELED || dv_cancel_requested(&ev->cancel))
            break;
        if (ev->opened)
            down = false; /* it was up: this is a new outage */
        if (!down) {
            char why[DV_ERROR_MSG_MAX + 64];
            if (r < 0)
                snprintf(why, sizeof(why), "Engine event stream %s: %s",
                         ev->opened ? "broke" : "unavailable", err.msg);
            else
                snprintf(why, sizeof(why), "Engine event stream ended");
            post(ev, MSG_BROKEN, NULL, why);
            down = true;
        }
        /* A connection that worked for a while starts the backoff over. */
        if (ev->got_event || (ev->opened && dv_monotonic_ns() - started > 10 * DV_NSEC_PER_SEC))
            backoff = 500 * DV_NSEC_PER_MSEC;
        if (sleep_unless_stopped(ev, backoff))
            break;
        backoff = backoff * 2 > max_backoff ? max_backoff : backoff * 2;
    }
    pthread_mutex_lock(&ev->lock);
    ev->exited = true;
    pthread_cond_broadcast(&ev->wake);
    pthread_mutex_unlock(&ev->lock);
    return NULL;
}

int dv_engine_events_start(dv_docker *dk, dv_loop *loop, const char *label,
                           const dv_engine_events_cb *cb, dv_engine_events **ret, dv_error *err)
{
    dv_engine_events *ev = dv_xcalloc(1, sizeof(*ev));
    ev->dk = dk;
    ev->loop = loop;
    ev->cb = *cb;
    ev->filters = dv_engine_events_filters(label);
    pthread_mutex_init(&ev->lock, NULL);
    pthread_cond_init(&ev->wake, NULL);
    int r = ev->filters ? pthread_create(&ev->thread, NULL, events_main, ev) : ENOMEM;
    if (r != 0) {
        json_decref(ev->filters);
        pthread_cond_destroy(&ev->wake);
        pthread_mutex_destroy(&ev->lock);
        free(ev);
        return dv_error_errno(err, r, "start the Engine events thread");
    }
    *ret = ev;
    return 0;
}

int dv_engine_events_stop(dv_engine_events *ev, int64_t timeout_ns)
{
    if (!ev)
        return 0;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline); /* pthread_cond_timedwait's default clock */
    int64_t ns = (int64_t)deadline.tv_nsec + timeout_ns % DV_NSEC_PER_SEC;
    deadline.tv_sec += (time_t)(timeout_ns / DV_NSEC_PER_SEC + ns / DV_NSEC_PER_SEC);
    deadline.tv_nsec = (long)(ns % DV_NSEC_PER_SEC);
    dv_cancel_request(&ev->cancel);
    pthread_mutex_lock(&ev->lock);
    ev->stopping = true;
    pthread_cond_broadcast(&ev->wake);
    while (!ev->exited)
        if (pthread_cond_timedwait(&ev->wake, &ev->lock, &deadline) == ETIMEDOUT)
            break;
    bool exited = ev->exited;
    pthread_mutex_unlock(&ev->lock);
    if (!exited)
        return -EBUSY;
    pthread_join(ev->thread, NULL);
    json_decref(ev->filters);
    pthread_cond_destroy(&ev->wake);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
    return 0;
}
