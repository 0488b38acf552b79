#include "task_events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "timestamp.h"
#include "xalloc.h"

static void event_free(dv_task_event *ev)
{
    free(ev->type);
    free(ev->message);
    *ev = (dv_task_event){0};
}

const dv_task_event *dv_event_ring_push(dv_event_ring *ring, int64_t time_ns, const char *type,
                                        const char *message)
{
    char *t = dv_xstrdup(type ? type : "");
    char *m = dv_xstrdup(message ? message : "");
    dv_task_event *slot;
    if (ring->len == DV_TASK_EVENTS_KEEP) {
        slot = &ring->items[ring->start];
        event_free(slot);
        ring->start = (ring->start + 1) % DV_TASK_EVENTS_KEEP;
    } else {
        slot = &ring->items[(ring->start + ring->len) % DV_TASK_EVENTS_KEEP];
        ring->len++;
    }
    *slot = (dv_task_event){time_ns, t, m};
    return slot;
}

const dv_task_event *dv_event_ring_get(const dv_event_ring *ring, size_t i)
{
    if (i >= ring->len)
        return NULL;
    return &ring->items[(ring->start + i) % DV_TASK_EVENTS_KEEP];
}

void dv_event_ring_clear(dv_event_ring *ring)
{
    for (size_t i = 0; i < ring->len; i++)
        event_free(&ring->items[(ring->start + i) % DV_TASK_EVENTS_KEEP]);
    ring->start = ring->len = 0;
}

json_t *dv_task_event_to_json(const dv_task_event *ev)
{
    char when[DV_TIMESTAMP_MAX];
    dv_timestamp_format_fixed(ev->time_ns, when);
    return json_pack("{s:I,s:s,s:s,s:s}", "time_ns", (json_int_t)ev->time_ns, "time", when, "type",
                     ev->type, "message", ev->message);
}

json_t *dv_event_ring_to_json(const dv_event_ring *ring)
{
    json_t *a = json_array();
    for (size_t i = 0; i < ring->len; i++)
        if (json_array_append_new(a, dv_task_event_to_json(dv_event_ring_get(ring, i))) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

int dv_event_ring_from_json(const json_t *array, dv_event_ring *ring, dv_error *err)
{
    if (!json_is_array(array))
        return dv_error_set(err, -EINVAL, "events: not an array");
    dv_event_ring tmp = {0};
    size_t i;
    json_t *ev;
    json_array_foreach(array, i, ev)
    {
        json_int_t t = 0;
        const char *type = NULL, *msg = NULL;
        if (json_unpack(ev, "{s:I,s:s,s:s}", "time_ns", &t, "type", &type, "message", &msg) < 0) {
            dv_event_ring_clear(&tmp);
            return dv_error_set(err, -EINVAL, "events[%zu]: needs time_ns, type, message", i);
        }
        dv_event_ring_push(&tmp, t, type, msg);
    }
    dv_event_ring_clear(ring);
    *ring = tmp;
    return 0;
}
