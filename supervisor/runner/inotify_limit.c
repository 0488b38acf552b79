#include "inotify_limit.h"

#include <stdlib.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "log.h"
#include "task_table.h"

bool dv_inotify_limit_is_low(long limit, size_t tasks)
{
    return limit >= 0 && (unsigned long)limit < tasks + DV_INOTIFY_MARGIN;
}

void dv_inotify_check(dv_runtime *run)
{
    _cleanup_free_ char *text = NULL;
    long limit = -1;
    if (dv_read_file(DV_INOTIFY_LIMIT_PATH, &text, NULL, NULL) == 0) {
        char *end;
        limit = strtol(text, &end, 10);
        if (end == text || limit < 0)
            limit = -1;
    }
    size_t tasks = dv_task_table_size(run->tasks);
    bool low = dv_inotify_limit_is_low(limit, tasks);
    if (low && !run->inotify_low)
        dv_log_warning("fs.inotify.max_user_instances is %ld, below what %zu tasks need (%zu "
                       "+ %d for root's other users): log helpers beyond it poll their "
                       "files; raise it (sysctl fs.inotify.max_user_instances=8192, as "
                       "/usr/lib/sysctl.d/60-dockvisor.conf does)",
                       limit, tasks, tasks + DV_INOTIFY_MARGIN, DV_INOTIFY_MARGIN);
    run->inotify_limit = limit;
    run->inotify_low = low;
}
