/* Worker threads for blocking calls (Engine API, file system), so the event
 * loop never blocks.
 *
 * Contract:
 * - work(data) runs on a worker thread. It must not touch loop-owned state
 *   (the task table): everything it needs is copied into DATA beforehand, and
 *   everything it learns goes back in DATA.
 * - done(loop, data) then runs on the loop thread (posted through the loop's
 *   queue) and owns DATA. If the loop is closed before done can run, discard(data)
 *   runs instead (on whichever thread notices), so DATA is always released once.
 * - A pool grows on demand up to max_threads; idle threads sleep on a condition
 *   variable (no polling) and exit after idle_timeout, so a burst does not leave
 *   its threads behind for good.
 * - A pool is one lane of work: the agent keeps kinds of work that can take long
 *   (stops waiting out a kill_timeout, pulls, execs) in lanes of their own, so they
 *   never delay the short lifecycle calls (agent.h). A lane with max_queued >= 0
 *   refuses a job (-EAGAIN) when max_threads jobs run and max_queued wait already.
 */
#ifndef DV_WORKERS_H
#define DV_WORKERS_H

#include <stdint.h>

#include "error.h"
#include "loop.h"

typedef struct dv_workers dv_workers;

typedef void (*dv_work_fn)(void *data);
typedef void (*dv_work_done_fn)(dv_loop *loop, void *data);
typedef void (*dv_work_discard_fn)(void *data);

typedef struct dv_workers_options {
    int max_threads;         /* >= 1 */
    int max_queued;          /* jobs waiting beyond the running ones; < 0: unbounded */
    int64_t idle_timeout_ns; /* an idle thread exits after this; 0: never */
} dv_workers_options;

#define DV_WORKERS_IDLE_TIMEOUT (60 * INT64_C(1000000000))

/* MAX_THREADS, unbounded queue, DV_WORKERS_IDLE_TIMEOUT. */
dv_workers *dv_workers_new(dv_loop *loop, int max_threads);
dv_workers *dv_workers_new_with(dv_loop *loop, const dv_workers_options *options);

/* Queue a job. Returns 0, -ESHUTDOWN after dv_workers_shutdown() (DATA stays the
 * caller's), -EAGAIN when the lane is full or no thread runs and none can be
 * created (DATA stays the caller's). */
int dv_workers_submit(dv_workers *w, dv_work_fn work, dv_work_done_fn done,
                      dv_work_discard_fn discard, void *data);

/* Jobs queued or running right now. */
int dv_workers_busy(dv_workers *w);
/* Threads alive right now (running a job or idle). */
int dv_workers_threads(dv_workers *w);

/* Stop accepting jobs, discard queued ones, wait up to TIMEOUT_NS for running
 * ones and join the threads. Returns 0, or -EBUSY if some job is still running
 * (then the pool, and the loop it posts to, must not be freed: the caller is
 * expected to exit the process). */
int dv_workers_shutdown(dv_workers *w, int64_t timeout_ns);
/* The first half of a shutdown: refuse new jobs, discard queued ones, wake the
 * idle threads so they exit. */
void dv_workers_stop_accepting(dv_workers *w);
void dv_workers_free(dv_workers *w);

#endif
