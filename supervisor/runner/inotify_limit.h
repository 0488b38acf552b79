/* Whether root's inotify instance limit leaves room for the node's log followers.
 *
 * Each task costs at most one inotify instance of root's: docklog holds one while it
 * follows Docker's json-file from disk, and dockerd holds one per container it follows
 * through the API (docklog's API mode). Root's default fs.inotify.max_user_instances is
 * 128; past it a helper gets none and falls back to polling (later delivery, more
 * wakeups), and so does dockerd, silently. Counting the instances really in use would
 * mean reading every root process's /proc/PID/fd, which is not cheap and would not
 * answer for what starts next; so the rule is the simple one: the limit must be at
 * least the number of tasks plus DV_INOTIFY_MARGIN for root's other users (systemd and
 * its services, dockerd, udev: ~15 on a Debian 12 node with Docker). The package's
 * sysctl.d drop-in (packaging/sysctl/60-dockvisor.conf) raises the limit to 8192. */
#ifndef DV_INOTIFY_LIMIT_H
#define DV_INOTIFY_LIMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime.h"

#define DV_INOTIFY_MARGIN 32
#define DV_INOTIFY_LIMIT_PATH "/proc/sys/fs/inotify/max_user_instances"

/* Pure: whether LIMIT is too low for TASKS (LIMIT < TASKS + DV_INOTIFY_MARGIN). */
bool dv_inotify_limit_is_low(long limit, size_t tasks);

/* Read the limit now (it may change at any time: an operator's sysctl) and compare it
 * with the task table: sets run->inotify_limit (-1 when unreadable: never low) and
 * run->inotify_low, and logs a warning when it becomes low (once, until it is not
 * low any more). Cheap: one small file read. Call at start once recovery has loaded
 * the tasks, when a task is added, and before showing the result. */
void dv_inotify_check(dv_runtime *run);

#endif
