/* What an agent start finds on the node besides its records, and how it tidies
 * what no record claims: the docklog helpers of its data dir that still run
 * (found in /proc by their command line, since after an agent crash they are
 * nobody's children and an unrecorded one is in no record), and the task
 * directories DATA/tasks/<id>.
 *
 * Blocking and bounded: recovery runs these before the agent serves. */
#ifndef DV_RECOVERY_SCAN_H
#define DV_RECOVERY_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "error.h"
#include "uuid.h"

typedef struct dv_found_helper {
    pid_t pid;
    uint64_t starttime;
    char task_id[DV_UUID_STRLEN + 1];
} dv_found_helper;

/* Every live process whose command line is exactly `.../docklog[-tls]
 * DATA/tasks/<uuid>/docklog.json` for this DATA_DIR (as the agent spawns them).
 * *RET is heap (NULL when none). */
int dv_scan_helpers(const char *data_dir, dv_found_helper **ret, size_t *ret_n, dv_error *err);

/* Stop helpers nobody will adopt: SIGTERM (docklog checkpoints and exits), then
 * SIGKILL after GRACE_NS; returns once all are gone (or another GRACE_NS passed).
 * Each is signalled through a pidfd after its start time and BOOT_ID were checked,
 * so a reused pid is never hit. Returns how many were stopped. */
size_t dv_stop_helpers(const dv_found_helper *helpers, size_t n, const char *boot_id,
                       int64_t grace_ns);

/* The ids (UUIDs) that have a directory under DATA_DIR/KIND ("tasks", "allocs"),
 * as a JSON array of strings (empty when DATA/KIND does not exist). */
int dv_scan_id_dirs(const char *data_dir, const char *kind, json_t **ret, dv_error *err);

#endif
