#include "gaps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"
#include "diag.h"
#include "journal.h"
#include "log_gaps.h"
#include "timestamp.h"

void dl_gaps_init(dl_gaps *g, const dl_config *config)
{
    memset(g, 0, sizeof(*g));
    g->config = config;
}

static int append(const char *path, const char *line, size_t len, dv_error *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return dv_error_errno(err, -errno, "open %s", path);
    /* One write: a record is never torn by a concurrent writer, and the agent reads
     * whole lines only. */
    ssize_t n = write(fd, line, len);
    int r = n == (ssize_t)len ? 0 : dv_error_errno(err, n < 0 ? -errno : -EIO, "write %s", path);
    if (r == 0 && fdatasync(fd) < 0)
        r = dv_error_errno(err, -errno, "fdatasync %s", path);
    close(fd);
    return r;
}

void dl_gaps_report(dl_gaps *g, int stream, int64_t after_ns, int64_t before_ns)
{
    const dl_config *c = g->config;
    const char *name = dv_log_gap_stream_name(stream);
    char after[DV_TIMESTAMP_MAX], before[DV_TIMESTAMP_MAX];
    dv_timestamp_format(after_ns, after);
    dv_timestamp_format(before_ns, before);
    char msg[512];
    snprintf(msg, sizeof(msg),
             "log entries lost: Docker no longer has the %s entries stamped after %s (its log "
             "was rotated before they were read); the first entry it still has is from %s",
             name, after, before);
    g->count++;
    dl_diag("%s", msg);

    dv_error err;
    if (c->gaps) {
        dv_log_gap gap = {.stream = stream,
                          .after_ns = after_ns,
                          .before_ns = before_ns,
                          .at_ns = dv_realtime_ns()};
        snprintf(gap.container_id, sizeof(gap.container_id), "%.64s", c->container_id);
        char line[DV_LOG_GAP_LINE_MAX];
        size_t len = dv_log_gap_format(&gap, line);
        if (append(c->gaps, line, len, &err) < 0)
            dl_diag("cannot record the loss for the agent: %s", err.msg);
    }
    /* A socket of its own, opened for the report: gaps are rare, and the journald
     * sink may be off (Docker's journald driver, or logs.journald false). */
    dl_journal j;
    if (dl_journal_open(&j, c->journald.socket, &err) < 0) {
        dl_diag("cannot report the loss to journald: %s", err.msg);
    } else {
        dl_journal_field f[] = {
            {"MESSAGE", msg, strlen(msg)},
            {"PRIORITY", "4", 1},
            {"SYSLOG_IDENTIFIER", c->journald.identifier, strlen(c->journald.identifier)},
            {"DOCKVISOR_TASK_ID", c->task_id, strlen(c->task_id)},
            {"DOCKVISOR_CONTAINER", c->container_id, strlen(c->container_id)},
            {"DOCKVISOR_LOG_GAP_STREAM", name, strlen(name)},
            {"DOCKVISOR_LOG_GAP_AFTER", after, strlen(after)},
            {"DOCKVISOR_LOG_GAP_BEFORE", before, strlen(before)},
        };
        if (dl_journal_send(&j, f, DV_ARRAY_SIZE(f), &err) < 0)
            dl_diag("cannot report the loss to journald: %s", err.msg);
        dl_journal_close(&j);
    }
}
