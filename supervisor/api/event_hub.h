/* Fan-out of task events to /v1/events subscribers (NDJSON streams).
 *
 * The loop publishes; each subscriber is a dv_api_stream read by its HTTP
 * connection's thread. A subscriber has its own buffer and eventfd, so a slow
 * client never blocks the loop: when its backlog passes DV_EVENT_HUB_BACKLOG
 * it gets a final {"error": ...} line and its stream ends.
 *
 * Publishing, subscribing and freeing the hub happen on the loop thread;
 * the streams are read on connection threads. */
#ifndef DV_EVENT_HUB_H
#define DV_EVENT_HUB_H

#include <stddef.h>

#include <jansson.h>

#include "api_server.h"
#include "error.h"

#define DV_EVENT_HUB_BACKLOG (1024 * 1024)

typedef struct dv_event_hub dv_event_hub;

dv_event_hub *dv_event_hub_new(void);
/* Ends every subscriber's stream (after what it already has). */
void dv_event_hub_free(dv_event_hub *hub);

/* Send EVENT (an object, one line) to every subscriber of TASK_ID or of all tasks. */
void dv_event_hub_publish(dv_event_hub *hub, const char *task_id, const json_t *event);

/* End the streams of TASK_ID's own subscribers after what they already have (the
 * task was destroyed: nothing more will come). Subscribers of every task stay. */
void dv_event_hub_close_task(dv_event_hub *hub, const char *task_id);

/* A new subscriber for TASK_ID (NULL = every task), starting with the HISTORY
 * lines (an array of objects, may be NULL). On success answer the request with
 * dv_api_respond_stream(req, 200, "application/x-ndjson", *ret_ops, *ret_obj). */
int dv_event_hub_subscribe(dv_event_hub *hub, const char *task_id, const json_t *history,
                           const dv_api_stream_ops **ret_ops, void **ret_obj, dv_error *err);

size_t dv_event_hub_subscribers(dv_event_hub *hub);

#endif
