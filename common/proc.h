/* Identify a process across time: pid + start time (+ boot id), because pids
 * are reused. Used to re-adopt docklog helpers after an agent restart. */
#ifndef DV_PROC_H
#define DV_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define DV_BOOT_ID_STRLEN 36

/* Start time of PID in clock ticks since boot (field 22 of /proc/PID/stat).
 * -ESRCH if the process does not exist. */
int dv_proc_starttime(pid_t pid, uint64_t *ret_ticks, dv_error *err);

/* The kernel's boot id (/proc/sys/kernel/random/boot_id), 36 chars. */
int dv_boot_id(char ret[DV_BOOT_ID_STRLEN + 1], dv_error *err);

/* True if PID is alive and is the same process that had START_TICKS on boot
 * BOOT_ID. A zombie does not count as alive. */
bool dv_proc_is_same(pid_t pid, uint64_t start_ticks, const char *boot_id);

/* pidfd_open(2) with CLOEXEC semantics (pidfds are always close-on-exec). */
int dv_pidfd_open(pid_t pid, dv_error *err);

#endif
