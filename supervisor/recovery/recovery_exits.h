/* Recovery's exit inspections, several at once (recovery.h, step 5).
 *
 * A container that exited while the agent was down is inspected for its exit (code,
 * signal, OOM kill, time, Engine error) before its task is fed the exit and its
 * restart policy applied. One at a time, each waiting for dockerd, that was most of
 * recovery after an outage: 50 containers of 500 exited took recovery from 0.36 s
 * to 2.1 s, about 35 ms an inspect from a dockerd busy cleaning up after them. The
 * inspections are independent reads, and dockerd answers them concurrently.
 *
 * dv_recovery_fetch_exits() runs them on at most PARALLEL threads of its own, all
 * joined before it returns, while the calling thread waits and calls TICK (when
 * not NULL) about once a second, so a slow Engine does not starve the watchdog. */
#ifndef DV_RECOVERY_EXITS_H
#define DV_RECOVERY_EXITS_H

#include <stddef.h>

#include "docker.h"
#include "task.h"

typedef struct dv_exit_fetch {
    const char *container_id; /* borrowed */
    dv_exit_result result;    /* filled in; the caller clears it */
} dv_exit_fetch;

/* Fill every item's result: valid with the exit as inspected, or not valid with
 * .error saying why not ("the container was removed" when the Engine no longer
 * knows it, else "its exit could not be inspected"). Cannot fail as a whole; when
 * no thread can be started, the calling thread does the work. */
void dv_recovery_fetch_exits(dv_docker *docker, dv_exit_fetch *items, size_t n, int parallel,
                             void (*tick)(void *userdata), void *userdata);

#endif
