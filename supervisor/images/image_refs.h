/* Image reference counting and delayed image GC (the driver's gc.image / gc.image_delay).
 *
 * Every task that uses an image holds a reference (by task id, so a double
 * acquire after recovery is harmless). When the last reference goes, the image
 * becomes due for removal after image_delay; a new acquire before then cancels
 * the removal. The table is plain data, persisted as state/images.json so
 * pending removals survive agent restarts, and rebuilt from the task records on
 * recovery. The agent removes due images with the Engine API (a "conflict"
 * answer means Docker refused: the agent drops the entry).
 *
 * Besides the id, an entry remembers every reference ("repo:tag") tasks used
 * for it: the image is removed by id only while no other tag names it. */
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

/* TASK_ID now uses IMAGE_ID (the sha256 id) under the reference NAME (may be
 * NULL). Cancels a pending removal. Idempotent per (image, task). Always 0 (ERR is
 * kept for the callers). */
int dv_image_refs_acquire(dv_image_refs *refs, const char *image_id, const char *name,
                          const char *task_id, dv_error *err);

/* TASK_ID no longer uses IMAGE_ID. When no task is left, the image is due at
 * NOW_NS + DELAY_NS. Returns the number of remaining users (0 → scheduled).
 * Releasing a reference that is not held is a no-op returning the count. */
int dv_image_refs_release(dv_image_refs *refs, const char *image_id, const char *task_id,
                          int64_t now_ns, int64_t delay_ns);

/* Number of tasks using IMAGE_ID. */
int dv_image_refs_count(const dv_image_refs *refs, const char *image_id);

/* Does TASK_ID hold a reference to IMAGE_ID? */
bool dv_image_refs_holds(const dv_image_refs *refs, const char *image_id, const char *task_id);

/* The earliest pending removal time, or 0 when nothing is pending (for a timerfd). */
int64_t dv_image_refs_next_due(const dv_image_refs *refs);

/* Copies the id of one image whose removal is due at NOW_NS into RET (size
 * RET_SIZE); returns true if there is one. The entry stays until
 * dv_image_refs_forget() (call it once the removal succeeded or was refused
 * with a conflict). */
bool dv_image_refs_take_due(const dv_image_refs *refs, int64_t now_ns, char *ret, size_t ret_size);

/* Move the pending removal of unused IMAGE_ID to AT_NS (a failed removal is
 * tried again later). No-op for an image in use or not in the table. */
void dv_image_refs_postpone(dv_image_refs *refs, const char *image_id, int64_t at_ns);

/* The references tasks used for IMAGE_ID (first one first), valid until the
 * table changes; *RET_N is 0 for an unknown image. */
const char *const *dv_image_refs_names(const dv_image_refs *refs, const char *image_id,
                                       size_t *ret_n);

/* Drop an image with no users from the table. */
void dv_image_refs_forget(dv_image_refs *refs, const char *image_id);

/* Drop every image with no users (pending removals are cancelled, e.g. when
 * gc.image is turned off). Returns how many were dropped. */
size_t dv_image_refs_forget_unused(dv_image_refs *refs);

/* Release every (image, task) reference for which KEEP returns false, as
 * dv_image_refs_release() does (recovery: a task whose record is gone no
 * longer holds its image). Returns how many references were released. */
typedef bool (*dv_image_refs_keep_fn)(const char *image_id, const char *task_id, void *userdata);
size_t dv_image_refs_retain(dv_image_refs *refs, dv_image_refs_keep_fn keep, void *userdata,
                            int64_t now_ns, int64_t delay_ns);

/* Images in the table, and how many of them wait for removal. */
void dv_image_refs_stats(const dv_image_refs *refs, size_t *ret_images, size_t *ret_pending);

/* {"version":1,"images":{"<id>":{"name":..,"names":[..],"tasks":[..],"remove_at_ns":N}}}
 * ("names" is optional when reading: "name" alone is the one reference). Never NULL. */
json_t *dv_image_refs_to_json(const dv_image_refs *refs);
int dv_image_refs_from_json(const json_t *json, dv_image_refs **ret, dv_error *err);

#endif
