/* Image reference counting and delayed image GC (the driver's gc.image / gc.image_delay).
 *
 * Every task that uses an image holds a reference (by task id, so a double
 * acquire after recovery is harmless). When the last reference goes, the image
 * becomes due for removal after image_delay; a new acquire before then cancels
 * the removal. The table is plain data, persisted as state/images.json so
 * pending removals survive agent restarts, and rebuilt from the task records on
 * recovery. The agent removes due images with the Engine API (a "conflict"
 * answer means another container still uses it: the agent drops the entry). */
#ifndef DV_IMAGE_REFS_H
#define DV_IMAGE_REFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

typedef struct dv_image_refs dv_image_refs;

dv_image_refs *dv_image_refs_new(void);
void dv_image_refs_free(dv_image_refs *refs);

/* TASK_ID now uses IMAGE_ID (the sha256 id; NAME is kept for messages).
 * Cancels a pending removal. Idempotent per (image, task). */
int dv_image_refs_acquire(dv_image_refs *refs, const char *image_id, const char *name,
                          const char *task_id, dv_error *err);

/* TASK_ID no longer uses IMAGE_ID. When no task is left, the image is due at
 * NOW_NS + DELAY_NS. Returns the number of remaining users (0 → scheduled).
 * Releasing a reference that is not held is a no-op returning the count. */
int dv_image_refs_release(dv_image_refs *refs, const char *image_id, const char *task_id,
                          int64_t now_ns, int64_t delay_ns);

/* Number of tasks using IMAGE_ID. */
int dv_image_refs_count(const dv_image_refs *refs, const char *image_id);

/* The earliest pending removal time, or 0 when nothing is pending (for a timerfd). */
int64_t dv_image_refs_next_due(const dv_image_refs *refs);

/* Copies the id of one image whose removal is due at NOW_NS into RET (size
 * RET_SIZE); returns true if there is one. The entry stays until
 * dv_image_refs_forget() (call it once the removal succeeded or was refused
 * with a conflict). */
bool dv_image_refs_take_due(const dv_image_refs *refs, int64_t now_ns, char *ret, size_t ret_size);

/* Drop an image with no users from the table. */
void dv_image_refs_forget(dv_image_refs *refs, const char *image_id);

/* {"version":1,"images":{"<id>":{"name":..,"tasks":[..],"remove_at_ns":N}}} */
json_t *dv_image_refs_to_json(const dv_image_refs *refs);
int dv_image_refs_from_json(const json_t *json, dv_image_refs **ret, dv_error *err);

#endif
