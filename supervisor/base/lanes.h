/* The agent's lanes of worker threads (workers.h): work that can take long never
 * delays the short calls the task lifecycle depends on. A burst of execs, or of
 * stops each waiting out its kill_timeout, cannot hold up starts, stops, destroys
 * or noticing an exit; the lanes a client can fill (exec, stats, signal) refuse
 * work when full (-EAGAIN: the API answers 429) instead of queueing without bound.
 * Idle threads exit after DV_WORKERS_IDLE_TIMEOUT. */
#ifndef DV_LANES_H
#define DV_LANES_H

#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "loop.h"
#include "workers.h"

enum dv_lane {
    DV_LANE_LIFECYCLE,  /* start, confirm inspects, destroy, removals: calls with a deadline */
    DV_LANE_STOP,       /* stops: each may wait out a kill_timeout (<= max_kill_timeout) */
    DV_LANE_IMAGE,      /* pulls and loads (image_pull_timeout) */
    DV_LANE_EXEC,       /* exec (<= max_exec_timeout); refuses when full */
    DV_LANE_QUERY,      /* stats, signal; refuses when full */
    DV_LANE_BACKGROUND, /* node fingerprint, image GC removals, dangling container scans */
    DV_LANE_COUNT
};

typedef struct dv_lanes {
    dv_workers *lane[DV_LANE_COUNT];
} dv_lanes;

/* Always 0 (ERR is kept for the agent). */
int dv_lanes_init(dv_lanes *lanes, dv_loop *loop, dv_error *err);
const char *dv_lane_name(enum dv_lane lane);
/* dv_workers_submit on LANE. */
int dv_lanes_submit(dv_lanes *lanes, enum dv_lane lane, dv_work_fn work, dv_work_done_fn done,
                    dv_work_discard_fn discard, void *data);
/* Jobs queued or running in every lane. */
int dv_lanes_busy(dv_lanes *lanes);
/* Per-lane gauges (busy jobs, threads) in Prometheus text. */
void dv_lanes_metrics(dv_lanes *lanes, dv_buf *b);
/* Shut every lane down within one TIMEOUT_NS. -EBUSY as dv_workers_shutdown(). */
int dv_lanes_shutdown(dv_lanes *lanes, int64_t timeout_ns);
/* After a successful shutdown (or when no job was ever submitted). */
void dv_lanes_free(dv_lanes *lanes);

#endif
