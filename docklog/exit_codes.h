/* docklog's exit codes (STYLE.md 8). supervisor/docklog_launch.h has the same
 * numbers as DV_DOCKLOG_EXIT_*; a unit test checks they agree. */
#ifndef DL_EXIT_CODES_H
#define DL_EXIT_CODES_H

#define DL_EXIT_DRAINED 0     /* container exited, stream drained (or stopped by SIGTERM) */
#define DL_EXIT_PERMANENT 100 /* do not respawn: bad config, logs unreadable, container gone */
#define DL_EXIT_TEMPORARY 111 /* respawn with backoff: a sink failed, out of memory */

#endif
