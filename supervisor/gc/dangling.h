/* The dangling-container reaper of the agent (the driver's
 * gc.dangling_containers { enabled, dry_run, period, creation_grace }).
 *
 * Contract (loop thread only):
 * - Every `period` (the first time one period after start-up, so after
 *   recovery), a worker lists the running containers carrying this agent's
 *   node id label; the loop picks, with dangling_select.h, those no task
 *   claims (neither a task in the table by task id or container id, nor a
 *   record on disk by task id) and older than creation_grace; a worker removes
 *   them with force, or, in dry_run, they are only logged. Each removal is
 *   logged. The next scan is one period after the previous one ended.
 * - Nomad's rule: only running containers (running, paused, restarting) are
 *   reaped. A stopped or never-started one is left alone whatever gc.container
 *   says, so the containers destroys keep under gc.container false stay;
 *   recovery removes unclaimed ones at the next agent start (see recovery).
 * - Containers without our node id label are never looked at.
 * - SIGHUP: dv_dangling_reconfigure() applies enabled and period at once;
 *   dry_run and creation_grace apply to the next scan. */
#ifndef DV_DANGLING_H
#define DV_DANGLING_H

#include <stdbool.h>

#include <jansson.h>

#include "buf.h"
#include "error.h"
#include "runtime.h"

typedef struct dv_dangling dv_dangling;

/* Needs the agent's loop, workers and Docker client; arms the first scan. */
dv_dangling *dv_dangling_new(dv_runtime *run);
/* After the workers are shut down. */
void dv_dangling_free(dv_dangling *d);

/* SIGHUP: arm, re-arm (new period) or disarm the scan timer. */
void dv_dangling_reconfigure(dv_runtime *run);

/* Prometheus lines for /v1/metrics. */
void dv_dangling_metrics(const dv_dangling *d, dv_buf *b);

#endif
