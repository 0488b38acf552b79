/* `dockvisor drain` (POST /v1/drain), for a planned decommissioning: stop every
 * task at once, each with its own kill_signal and kill_timeout (the stops run in
 * parallel on the workers), mark every task's desired state stopped (so they
 * stay down across agent restarts), and answer once all of them are down with a
 * summary:
 *
 *   {"tasks": N, "stopped": [ids stopped by this drain], "already_down": [ids
 *    that were exited/failed/stopped], "not_stopped": [{"id","state","reason"}],
 *    "destroyed": [ids that went away meanwhile], "took_ns": T}
 *
 * A task whose stop fails (the container still runs afterwards) is reported in
 * not_stopped rather than waited for forever. Tasks submitted during a drain are
 * not part of it. Loop thread only. */
#ifndef DV_DRAIN_H
#define DV_DRAIN_H

#include <stdbool.h>

#include "api_server.h"
#include "runtime.h"

/* The drains waiting for their tasks, a client of the runtime RUN. */
struct dv_drain;
typedef struct dv_drains {
    dv_runtime *run;
    struct dv_drain *pending;
} dv_drains;

void dv_drain_request(dv_drains *ds, dv_api_request *req);

/* A task changed state or went away: answer the drains that are complete. */
void dv_drain_check(dv_drains *ds);

/* Agent shutdown: drains still waiting are answered 503. */
void dv_drain_free(dv_drains *ds);

#endif
