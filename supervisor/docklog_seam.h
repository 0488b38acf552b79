/* TEMPORARY link seam, to be deleted when the docklog engineer's implementation
 * of docklog_launch.h and log_files.h lands on main.
 *
 * Until then the agent must build and run without it: every function of those
 * two contracts is referenced weakly, so it resolves to NULL when absent, and
 * the agent says so instead of collecting logs ("logs are not collected: the
 * docklog launcher is not built in"). Once the implementation exists this file
 * MUST go: a weak reference does not pull an object out of a static library, so
 * with this file left in place the agent would keep running without logs. */
#ifndef DV_DOCKLOG_SEAM_H
#define DV_DOCKLOG_SEAM_H

#include <stdbool.h>

#include "docklog_launch.h"
#include "log_files.h"

#pragma weak dv_docklog_config_write
#pragma weak dv_docklog_find_binary
#pragma weak dv_docklog_spawn
#pragma weak dv_docklog_collect
#pragma weak dv_docklog_classify
#pragma weak dv_docklog_respawn_delay
#pragma weak dv_docklog_signal
#pragma weak dv_docklog_proc_close
#pragma weak dv_log_reader_open
#pragma weak dv_log_reader_read
#pragma weak dv_log_reader_fd
#pragma weak dv_log_reader_free

static inline bool dv_docklog_linked(void)
{
    return dv_docklog_find_binary && dv_docklog_spawn && dv_docklog_config_write &&
           dv_docklog_collect && dv_docklog_classify && dv_docklog_respawn_delay &&
           dv_docklog_signal && dv_docklog_proc_close;
}

static inline bool dv_log_reader_linked(void)
{
    return dv_log_reader_open && dv_log_reader_read && dv_log_reader_fd && dv_log_reader_free;
}

#endif
