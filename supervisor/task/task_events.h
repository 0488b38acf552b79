/* Task events: what happened to a task, for people (status, `run` following a
 * task) and programs (/v1/events).
 *
 * Each task keeps its last DV_TASK_EVENTS_KEEP events in a ring, persisted in
 * the task record so `status` still explains a failure after an agent restart.
 * Event types follow Nomad's task event names ("Received", "Driver",
 * "Started", "Terminated", "Restarting", "Not Restarting", "Killing",
 * "Killed", "Failed", ...). Messages never contain credentials.
 *
 * Plain data, owned by the loop thread. */
#ifndef DV_TASK_EVENTS_H
#define DV_TASK_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

#define DV_TASK_EVENTS_KEEP 32

typedef struct dv_task_event {
    int64_t time_ns; /* CLOCK_REALTIME */
    char *type;
    char *message;
} dv_task_event;

typedef struct dv_event_ring {
    dv_task_event items[DV_TASK_EVENTS_KEEP];
    size_t start; /* index of the oldest */
    size_t len;
} dv_event_ring;

/* Append (dropping the oldest when full). Returns the stored event. */
const dv_task_event *dv_event_ring_push(dv_event_ring *ring, int64_t time_ns, const char *type,
                                        const char *message);
/* I-th event, oldest first (I < len). */
const dv_task_event *dv_event_ring_get(const dv_event_ring *ring, size_t i);
void dv_event_ring_clear(dv_event_ring *ring);

/* {"time_ns":N,"time":"2024-05-01T10:00:00.123456789Z","type":..,"message":..} */
json_t *dv_task_event_to_json(const dv_task_event *ev);
/* Array, oldest first. */
json_t *dv_event_ring_to_json(const dv_event_ring *ring);
/* Replaces the content; entries beyond the capacity keep the newest. */
int dv_event_ring_from_json(const json_t *array, dv_event_ring *ring, dv_error *err);

#endif
