/* The Engine's /events stream, held by one thread for the whole agent.
 *
 * Only container events of containers carrying LABEL ("key=value": the agent
 * gives io.dockvisor.node_id=<its node id>) and of the kinds the agent acts on (die, oom,
 * destroy) are asked for, so other workloads on the host cost nothing. Each
 * event is posted to the loop. There is no per-container wait connection: an
 * exit is noticed from its die event and then confirmed by an inspect.
 *
 * When the stream breaks (dockerd restarted, connection reset) the thread
 * reconnects with backoff and `since` = the last event's time. Each time the
 * daemon accepts the stream again (its answer has started, not merely a
 * connection attempt), `resync` is posted: events Docker no longer has (its event
 * log does not survive a daemon restart) are covered by the agent inspecting every
 * tracked container. The first connection also posts resync, which closes the
 * window between the agent's start and the stream. `broken` is posted once per
 * outage (when an open stream ends, or when the first attempt fails), not for
 * every failed retry. */
#ifndef DV_ENGINE_EVENTS_H
#define DV_ENGINE_EVENTS_H

#include <stdint.h>

#include <jansson.h>

#include "docker.h"
#include "error.h"
#include "loop.h"

typedef struct dv_engine_events dv_engine_events;

typedef struct dv_engine_events_cb {
    /* Loop thread. EVENT is the Engine's event object (Type, Action, Actor{ID,
     * Attributes{labels..., exitCode}}, timeNano). */
    void (*event)(void *userdata, const json_t *event);
    /* Loop thread: the stream is up (again): inspect every tracked container now. */
    void (*resync)(void *userdata);
    /* Loop thread: the stream is down, once per outage (for the log and node health). */
    void (*broken)(void *userdata, const char *why);
    void *userdata;
} dv_engine_events_cb;

int dv_engine_events_start(dv_docker *dk, dv_loop *loop, const char *label,
                           const dv_engine_events_cb *cb, dv_engine_events **ret, dv_error *err);
/* Cancel the stream and join the thread, waiting at most TIMEOUT_NS. Returns 0, or
 * -EBUSY when the thread is still inside an Engine call: then nothing it uses (EV,
 * the client, the loop it posts to) may be freed, and the caller is expected to
 * exit the process. */
int dv_engine_events_stop(dv_engine_events *ev, int64_t timeout_ns);

/* The filter sent to /events (exposed for tests). */
json_t *dv_engine_events_filters(const char *label);

#endif
