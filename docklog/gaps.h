/* Loss made visible: when Docker no longer has the entries after a stream's
 * checkpoint (it rotated its log file past them before docklog read them: a killed or
 * slow helper, a writer faster than the daemon serves its log), docklog says so in
 * three places, each for its own reader:
 *   - its diagnostics (tasks/<id>/docklog.log), for whoever debugs the helper;
 *   - journald, PRIORITY=4 (warning) with the task's SYSLOG_IDENTIFIER and
 *     DOCKVISOR_TASK_ID, for operators reading the task's logs there. Never with
 *     CONTAINER_ID_FULL: Docker's journald log reader selects by that field and would
 *     hand the warning back as a log line of the container;
 *   - the gaps file (common/log_gaps.h), from which the agent makes a "Logs lost" task
 *     event and its metrics.
 * Each report is best effort per place: a failing one does not stop the others or the
 * stream (the entries are gone either way). */
#ifndef DL_GAPS_H
#define DL_GAPS_H

#include <stdint.h>

#include "config.h"

typedef struct dl_gaps {
    const dl_config *config;
    uint64_t count; /* reported by this process */
} dl_gaps;

void dl_gaps_init(dl_gaps *g, const dl_config *config);

/* STREAM's last delivered entry was stamped AFTER_NS; the first one Docker still has
 * is stamped BEFORE_NS. */
void dl_gaps_report(dl_gaps *g, int stream, int64_t after_ns, int64_t before_ns);

#endif
