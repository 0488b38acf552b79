/* Host paths of a task's directories (DESIGN.md, on-disk layout), needed to
 * build the default binds and to resolve and police volume paths:
 *
 *   DATA/tasks/<id>/                 task_root: the allocation directory. Volume
 *                                    paths inside it are allowed even when
 *                                    docker.volumes.enabled is false.
 *   DATA/tasks/<id>/alloc/           alloc_dir   → /alloc
 *   DATA/tasks/<id>/alloc/logs/      logs_dir    → /alloc/logs (read-only)
 *   DATA/tasks/<id>/<name>/          task_dir: relative volume sources resolve here
 *   DATA/tasks/<id>/<name>/local/    local_dir   → /local (also where `load` tars are)
 *   DATA/tasks/<id>/<name>/secrets/  secrets_dir → /secrets (0700)
 *
 * A task of a group's allocation shares the allocation's alloc dir instead:
 *
 *   DATA/allocs/<alloc id>/alloc/    alloc_dir   → /alloc of every task of it
 *   DATA/allocs/<alloc id>/alloc/logs/  logs_dir (each task's files by its name)
 *
 * Pure string building: nothing is created (the agent creates the dirs). */
#ifndef DV_SPEC_PATHS_H
#define DV_SPEC_PATHS_H

#include "spec_types.h"

typedef struct dv_task_paths {
    char *task_root;
    char *alloc_dir;
    char *logs_dir;
    char *task_dir;
    char *local_dir;
    char *secrets_dir;
    bool alloc_shared; /* alloc_dir is an allocation's, shared by its tasks */
} dv_task_paths;

/* DATA_DIR must be absolute; TASK_ID a UUID-like token and TASK_NAME a valid
 * task name (no '/'). RET untouched on failure. */
int dv_task_paths_build(const char *data_dir, const char *task_id, const char *task_name,
                        dv_task_paths *ret, dv_spec_error *err);
/* The same for a task of allocation ALLOC_ID (NULL: a task alone, as above). */
int dv_task_paths_build_in(const char *data_dir, const char *task_id, const char *task_name,
                           const char *alloc_id, dv_task_paths *ret, dv_spec_error *err);
/* DATA/allocs/<ALLOC_ID>: what goes when the allocation's last task does. */
char *dv_alloc_root(const char *data_dir, const char *alloc_id);
void dv_task_paths_clear(dv_task_paths *paths);

/* Lexically clean an absolute PATH (collapse "//", ".", ".."; ".." at the root
 * stays at the root), as Go's filepath.Clean. Heap result. */
char *dv_path_clean(const char *path);

/* Is PATH (clean, absolute) DIR itself or below it? Component-wise, so
 * "/a/bc" is not inside "/a/b". */
bool dv_path_is_inside(const char *path, const char *dir);

#endif
