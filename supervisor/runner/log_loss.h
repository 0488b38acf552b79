/* The agent's side of lost log entries (common/log_gaps.h): docklog appends a record
 * to tasks/<id>/docklog.gaps when Docker no longer has the entries after its
 * checkpoint; the agent turns each record into one "Logs lost" task event (so it is
 * in `dockvisor status ID`, `dockvisor events` and the record's history) and counts
 * it in /v1/metrics (dockvisor_log_gaps_total). How many records were turned into
 * events is kept in the task record (dv_task.log_gaps), so a record is reported once,
 * also across agent restarts.
 *
 * Records are picked up when the file changes (one inotify watch per task's gaps
 * file, from its helper's start: nothing wakes the loop while there is no gap), and
 * when a helper ends. Loop thread only. */
#ifndef DV_LOG_LOSS_H
#define DV_LOG_LOSS_H

#include "runtime.h"
#include "buf.h"
#include "error.h"

int dv_log_loss_start(dv_runtime *run, dv_error *err);
void dv_log_loss_stop(dv_runtime *run);

/* Watch T's gaps file (created empty if missing) and read what it holds: at every
 * helper start and adoption. */
void dv_log_loss_watch(dv_runtime *run, dv_task *t);

/* Turn T's new records into events now. */
void dv_log_loss_check(dv_runtime *run, dv_task *t);

/* dockvisor_log_gaps_total, one series per task and stream with a gap. */
void dv_log_loss_metrics(dv_runtime *run, dv_buf *b);

#endif
