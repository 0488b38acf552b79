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
 * - The pool grows on demand up to max_threads (a stop with a long kill_timeout
 *   occupies a thread for that long; other tasks must not wait behind it), and
 *   idle threads sleep on a condition variable: no polling.
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

int dv_workers_new(dv_loop *loop, int max_threads, dv_workers **ret, dv_error *err);

/* Queue a job. Returns 0, -ESHUTDOWN after dv_workers_shutdown() (DATA stays the
 * caller's), or -ENOMEM. */
int dv_workers_submit(dv_workers *w, dv_work_fn work, dv_work_done_fn done,
                      dv_work_discard_fn discard, void *data);

/* Jobs queued or running right now. */
int dv_workers_busy(dv_workers *w);

/* Stop accepting jobs, discard queued ones, wait up to TIMEOUT_NS for running
 * ones and join the threads. Returns 0, or -EBUSY if some job is still running
 * (then the pool, and the loop it posts to, must not be freed: the caller is
 * expected to exit the process). */
int dv_workers_shutdown(dv_workers *w, int64_t timeout_ns);
void dv_workers_free(dv_workers *w);

#endif
