#include "event_hub.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "xalloc.h"

struct sub {
    atomic_int refs; /* the hub's list + the stream */
    pthread_mutex_t lock;
    dv_buf pending;
    int efd;
    bool closed; /* the hub ended it: END once pending is drained */
    bool gone;   /* the reader let go: the hub drops it */
    char *task_id;
    struct sub *next; /* hub list (loop thread only) */
};

struct dv_event_hub {
    struct sub *subs;
};

static void sub_unref(struct sub *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    dv_buf_free(&s->pending);
    dv_closep(&s->efd);
    pthread_mutex_destroy(&s->lock);
    free(s->task_id);
    free(s);
}

static void notify(struct sub *s)
{
    uint64_t one = 1;
    /* EAGAIN: the counter is already set, the reader wakes anyway. */
    if (write(s->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        abort();
}

static ssize_t sub_read(void *obj, char *buf, size_t size)
{
    struct sub *s = obj;
    uint64_t v;
    /* Drain the wakeup before looking, so a publish after the look wakes us again. */
    if (read(s->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        return -EIO;
    pthread_mutex_lock(&s->lock);
    ssize_t n = 0;
    if (s->pending.len > 0) {
        size_t take = s->pending.len < size ? s->pending.len : size;
        memcpy(buf, s->pending.data, take);
        dv_buf_consume(&s->pending, take);
        n = (ssize_t)take;
    } else if (s->closed) {
        n = DV_API_STREAM_END;
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

static int sub_fd(void *obj)
{
    return ((struct sub *)obj)->efd;
}

static void sub_free(void *obj)
{
    struct sub *s = obj;
    pthread_mutex_lock(&s->lock);
    s->gone = true;
    pthread_mutex_unlock(&s->lock);
    sub_unref(s);
}

static const dv_api_stream_ops sub_ops = {sub_read, sub_fd, sub_free};

/* Caller holds s->lock. LINE is one compact JSON object without its newline. */
static void append_text(struct sub *s, const char *line)
{
    if (s->closed)
        return;
    if (s->pending.len + strlen(line) + 1 > DV_EVENT_HUB_BACKLOG) {
        dv_buf_appends(&s->pending, "{\"error\":\"events were dropped: the client does not keep "
                                    "up; reconnect\"}\n");
        s->closed = true;
    } else {
        dv_buf_appends(&s->pending, line);
        dv_buf_appends(&s->pending, "\n");
    }
}

/* Caller holds s->lock. */
static void append_line(struct sub *s, const json_t *event)
{
    _cleanup_free_ char *line = json_dumps(event, JSON_COMPACT);
    if (line)
        append_text(s, line);
}

dv_event_hub *dv_event_hub_new(void)
{
    return dv_xcalloc(1, sizeof(dv_event_hub));
}

void dv_event_hub_free(dv_event_hub *hub)
{
    if (!hub)
        return;
    for (struct sub *s = hub->subs; s;) {
        struct sub *next = s->next;
        pthread_mutex_lock(&s->lock);
        s->closed = true;
        pthread_mutex_unlock(&s->lock);
        notify(s);
        sub_unref(s);
        s = next;
    }
    free(hub);
}

static bool wants(const struct sub *s, const char *task_id)
{
    return !s->task_id || (task_id && strcmp(s->task_id, task_id) == 0);
}

void dv_event_hub_publish(dv_event_hub *hub, const char *task_id, const json_t *event)
{
    /* Dumped once, for however many subscribers, and only if one wants it. */
    _cleanup_free_ char *line = NULL;
    for (struct sub **p = &hub->subs; *p;) {
        struct sub *s = *p;
        pthread_mutex_lock(&s->lock);
        bool gone = s->gone;
        if (!gone && wants(s, task_id)) {
            if (!line)
                line = json_dumps(event, JSON_COMPACT);
            if (line)
                append_text(s, line);
        }
        pthread_mutex_unlock(&s->lock);
        if (gone) {
            *p = s->next;
            sub_unref(s);
            continue;
        }
        notify(s);
        p = &s->next;
    }
}

void dv_event_hub_close_task(dv_event_hub *hub, const char *task_id)
{
    for (struct sub *s = hub->subs; s; s = s->next) {
        if (!s->task_id || strcmp(s->task_id, task_id) != 0)
            continue;
        pthread_mutex_lock(&s->lock);
        s->closed = true;
        pthread_mutex_unlock(&s->lock);
        notify(s);
    }
}

int dv_event_hub_subscribe(dv_event_hub *hub, const char *task_id, const json_t *history,
                           const dv_api_stream_ops **ret_ops, void **ret_obj, dv_error *err)
{
    struct sub *s = dv_xcalloc(1, sizeof(*s));
    atomic_init(&s->refs, 2);
    pthread_mutex_init(&s->lock, NULL);
    s->task_id = task_id ? dv_xstrdup(task_id) : NULL;
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0) {
        int r = dv_error_errno(err, errno, "event subscriber");
        atomic_store(&s->refs, 1);
        sub_unref(s);
        return r;
    }
    size_t i;
    json_t *ev;
    json_array_foreach(history, i, ev) append_line(s, ev);
    s->next = hub->subs;
    hub->subs = s;
    *ret_ops = &sub_ops;
    *ret_obj = s;
    return 0;
}

size_t dv_event_hub_subscribers(dv_event_hub *hub)
{
    size_t n = 0;
    for (struct sub *s = hub->subs; s; s = s->next)
        n++;
    return n;
}
