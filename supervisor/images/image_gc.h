/* The agent's image GC (the driver's gc.image and gc.image_delay): image
 * reference counting by task, persisted, and delayed removal on workers.
 *
 * Contract (loop thread only):
 * - A task holds a reference to t->image_id whenever that is set: taken when its
 *   image is ready (dv_image_gc_image_ready), dropped when the task is destroyed
 *   (dv_image_gc_task_destroyed), never when it merely stops (a restart reuses
 *   the image). When the last reference goes, the image is removed after
 *   image_delay, unless a task takes it again first.
 * - The table (image_refs.h) is saved to state/images.json on every change, so
 *   pending removals survive agent restarts; recovery calls
 *   dv_image_gc_rebuild() once the task records are loaded.
 * - One timer for the next due removal (no polling: disarmed when nothing is
 *   pending); one removal at a time, on a worker. Removal is by image id,
 *   never with force, as Nomad's: an image that a tag no task used also names
 *   is kept (never untagged), and so is one Docker refuses (409: a container,
 *   ours or not, uses it; two repositories name it); a kept image leaves the
 *   table, logged once with the reason, and is not tried again. Not found means
 *   done; other failures are retried a minute later.
 *   An image referenced by any task in the table is never removed.
 * - gc.image false: nothing is removed, and an image whose last user goes is
 *   dropped from the table at once.
 * - infra_image is never referenced (dockvisor has no task groups). */
#ifndef DV_IMAGE_GC_H
#define DV_IMAGE_GC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "docker.h"
#include "error.h"
#include "runtime.h"
#include "task.h"

typedef struct dv_image_gc dv_image_gc;

/* Load state/images.json (absent: empty table; unreadable: logged, set aside as
 * images.json.bad, empty table), and arm the timer. Needs the agent's store,
 * loop and workers. */
dv_image_gc *dv_image_gc_new(dv_runtime *run);
/* After the workers are shut down (a removal result may still be queued). */
void dv_image_gc_free(dv_image_gc *gc);

/* The runner's image step succeeded: T's t->image_id and t->image are set.
 * Takes T's reference (dropping the one to PREV_IMAGE_ID, the image T used
 * before, if it differs), then calls READY(A, T, false), at once, or, when that
 * very image is being removed right now, once the removal is settled (and only
 * if T is still in the same pulling step: same gen), with REFETCH true when the
 * image is gone by then, so the image step must run again. */
typedef void (*dv_image_ready_fn)(dv_runtime *run, dv_task *t, bool refetch);
void dv_image_gc_image_ready(dv_runtime *run, dv_task *t, const char *prev_image_id,
                             dv_image_ready_fn ready);

/* T is destroyed (its container removed or deliberately kept): it no longer
 * holds t->image_id. */
void dv_image_gc_task_destroyed(dv_runtime *run, const dv_task *t);

/* Recovery, after the task records are loaded into the task table: every task
 * with an image_id holds it, and nothing else does (references of tasks whose
 * record is gone are released, so their images become due after image_delay;
 * removals that were pending stay due at their persisted time). Saves the
 * table and re-arms the timer. */
int dv_image_gc_rebuild(dv_runtime *run, dv_error *err);

/* SIGHUP: gc.image turned off cancels pending removals; a new image_delay
 * applies to images released from now on. */
void dv_image_gc_reconfigure(dv_runtime *run);

/* Prometheus lines for /v1/metrics. */
void dv_image_gc_metrics(const dv_image_gc *gc, dv_buf *b);

/* The removal itself (blocking, for a worker; exposed for tests). */
enum dv_image_removal {
    DV_IMAGE_REMOVED,        /* the image is gone */
    DV_IMAGE_KEPT,           /* a tag no task used names it, or Docker refused (409) */
    DV_IMAGE_REMOVAL_FAILED, /* anything else: try again later */
};
/* Delete IMAGE_ID by id, never with force, unless a tag other than NAMES (the
 * references tasks used for it) names it. DETAIL says why the image stayed or
 * what failed. */
enum dv_image_removal dv_image_remove_unused(dv_docker *dk, const char *image_id,
                                             const char *const *names, size_t n_names, char *detail,
                                             size_t detail_size);

#endif
