#include "log_loss.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "log.h"
#include "log_gaps.h"
#include "task_runner.h"
#include "timestamp.h"

void dv_log_loss_check(dv_runtime *run, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    struct stat st;
    if (!rt || !rt->docklog_gaps_path || stat(rt->docklog_gaps_path, &st) < 0 ||
        st.st_size <= rt->gaps_seen_size)
        return;
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    dv_error err;
    if (dv_read_file(rt->docklog_gaps_path, &data, &len, &err) < 0) {
        dv_log_warning("task %.8s: %s", t->id, err.msg);
        return;
    }
    uint64_t reported = t->log_gaps[0] + t->log_gaps[1], index = 0;
    bool changed = false;
    size_t whole = 0; /* bytes up to the last complete line */
    for (const char *p = data, *end = data + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* a record being written: next time */
        whole = (size_t)(nl + 1 - data);
        dv_log_gap gap;
        if (index++ >= reported && dv_log_gap_parse(p, (size_t)(nl - p), &gap, &err) == 0) {
            char after[DV_TIMESTAMP_MAX], before[DV_TIMESTAMP_MAX];
            dv_timestamp_format(gap.after_ns, after);
            dv_timestamp_format(gap.before_ns, before);
            dv_task_event_add(t, &dv_runner_ops, run, "Logs lost",
                              "%s entries stamped between %s and %s may be lost: Docker rotated "
                              "its log file past them before docklog read them (container "
                              "%.12s)",
                              dv_log_gap_stream_name(gap.stream), after, before, gap.container_id);
            t->log_gaps[gap.stream]++;
            changed = true;
        } else if (index > reported) {
            /* Unreadable: counted as a gap of the stream unknown, so it is not read
             * again; the helper's docklog.log says what it was. */
            dv_log_warning("task %.8s: %s: %s", t->id, rt->docklog_gaps_path, err.msg);
            t->log_gaps[0]++;
            changed = true;
        }
        p = nl + 1;
    }
    rt->gaps_seen_size = (int64_t)whole;
    if (changed)
        dv_runner_ops.changed(run, t);
}

/* Which task a watch descriptor is for: the table is small and gaps are rare. */
static void on_inotify(dv_loop *loop, int fd, uint32_t revents, void *userdata)
{
    (void)loop;
    (void)revents;
    dv_runtime *run = userdata;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof(*ev) + ev->len;
            for (size_t i = 0; i < dv_task_table_size(run->tasks); i++) {
                dv_task *t = dv_task_table_at(run->tasks, i);
                dv_task_rt *rt = dv_rt(t);
                if (!rt || rt->gaps_wd != ev->wd || ev->wd < 0)
                    continue;
                if (ev->mask & IN_IGNORED)
                    rt->gaps_wd = -1; /* the file went with the task's directory */
                else
                    dv_log_loss_check(run, t);
            }
        }
    }
}

void dv_log_loss_watch(dv_runtime *run, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    if (run->log_loss_fd < 0 || !rt || !rt->docklog_gaps_path)
        return;
    /* The file exists from the helper's start, so it can be watched before docklog
     * has anything to report; docklog appends to it (O_APPEND). */
    int fd =
        open(rt->docklog_gaps_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0)
        close(fd);
    int wd = inotify_add_watch(run->log_loss_fd, rt->docklog_gaps_path, IN_MODIFY);
    if (wd < 0)
        dv_log_warning("task %.8s: cannot watch %s (%s): lost log entries are reported when "
                       "its helper ends",
                       t->id, rt->docklog_gaps_path, strerror(errno));
    rt->gaps_wd = wd;
    dv_log_loss_check(run, t); /* what was written while the agent was away */
}

int dv_log_loss_start(dv_runtime *run, dv_error *err)
{
    run->log_loss_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (run->log_loss_fd < 0) {
        dv_log_warning("no inotify instance for log gap records (%s): they are reported when "
                       "a helper ends",
                       strerror(errno));
        return 0;
    }
    return dv_loop_watch_fd(run->loop, run->log_loss_fd, EPOLLIN, on_inotify, run,
                            &run->log_loss_watch, err);
}

void dv_log_loss_stop(dv_runtime *run)
{
    if (run->log_loss_watch)
        dv_loop_unwatch(run->loop, run->log_loss_watch);
    run->log_loss_watch = NULL;
    dv_closep(&run->log_loss_fd);
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label(dv_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            dv_buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            dv_buf_appends(b, "\\n");
        else
            dv_buf_append(b, v, 1);
    }
}

void dv_log_loss_metrics(dv_runtime *run, dv_buf *b)
{
    dv_buf_appends(b, "# HELP dockvisor_log_gaps_total Gaps in a task's logs: entries Docker "
                      "rotated away before docklog read them (each is a \"Logs lost\" event).\n"
                      "# TYPE dockvisor_log_gaps_total counter\n");
    for (size_t i = 0; i < dv_task_table_size(run->tasks); i++) {
        const dv_task *t = dv_task_table_at(run->tasks, i);
        for (int st = 0; st < 2; st++) {
            if (!t->log_gaps[st])
                continue;
            dv_buf_printf(b, "dockvisor_log_gaps_total{task_id=\"%s\",task_name=\"", t->id);
            label(b, t->name);
            dv_buf_printf(b, "\",stream=\"%s\"} %llu\n", dv_log_gap_stream_name(st),
                          (unsigned long long)t->log_gaps[st]);
        }
    }
}
