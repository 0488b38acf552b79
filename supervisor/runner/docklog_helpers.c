/* The docklog helper of each task, as seen from the loop: its pidfd is
 * watched; when it ends, docklog_launch.h classifies the outcome (drained,
 * permanent failure, respawn with backoff). Actions that need the helper to be
 * done with the current container (the next start, a destroy) wait for it, with
 * a deadline: SIGTERM after DRAIN_DEADLINE, SIGKILL after KILL_GRACE more. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "json_strict.h"
#include "log.h"
#include "log_loss.h"
#include "task_jobs.h"
#include "task_runner.h"
#include "xalloc.h"

#define DRAIN_DEADLINE (10 * DV_NSEC_PER_SEC)
#define KILL_GRACE (5 * DV_NSEC_PER_SEC)
/* A helper that ran this long before failing starts the backoff over. */
#define STABLE_RUN (10 * 60 * DV_NSEC_PER_SEC)

struct dv_orphan {
    dv_runtime *run;
    dv_docklog_proc proc;
    char *checkpoint_path;
    dv_loop_watch *watch;
    struct dv_orphan *next;
};

static void on_proc(dv_loop *loop, int fd, uint32_t revents, void *userdata);
static void on_logger_timer(dv_loop *loop, void *userdata);

static void forget_identity(dv_task *t)
{
    t->docklog.pid = 0;
    t->docklog.starttime = 0;
    t->docklog.boot_id[0] = '\0';
}

/* A helper the loop cannot watch would never be reaped nor its end noticed: stop it
 * (as dv_docklog_spawn does with one it cannot identify) rather than lose it. */
static void abandon(dv_runtime *run, dv_task *t, const char *why)
{
    dv_task_rt *rt = dv_rt(t);
    dv_docklog_kill(&rt->proc);
    rt->proc = (dv_docklog_proc)DV_DOCKLOG_PROC_INIT;
    rt->logger = DV_LOGGER_NONE;
    forget_identity(t);
    dv_task_event_add(t, &dv_runner_ops, run, "Driver",
                      "docklog helper stopped: the agent cannot watch it (%s); logs are not "
                      "collected",
                      why);
}

static int watch(dv_runtime *run, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    dv_error err;
    if (!rt->logger_timer)
        rt->logger_timer = dv_timer_new(run->loop, on_logger_timer, t);
    if (dv_loop_watch_fd(run->loop, rt->proc.pidfd, EPOLLIN, on_proc, t, &rt->proc_watch, &err) <
        0) {
        abandon(run, t, err.msg);
        return -1;
    }
    rt->logger = DV_LOGGER_RUNNING;
    rt->logger_started_ns = dv_monotonic_ns();
    rt->logger_term_sent = false;
    dv_log_loss_watch(run, t);
    t->docklog.pid = rt->proc.pid;
    t->docklog.starttime = rt->proc.starttime;
    snprintf(t->docklog.boot_id, sizeof(t->docklog.boot_id), "%s", rt->proc.boot_id);
    return 0;
}

static void ended(dv_runtime *run, dv_task *t, const dv_docklog_result *res, int collect_r,
                  const dv_error *err);

void dv_logger_adopt_child(dv_runtime *run, dv_task *t, dv_docklog_proc *proc)
{
    dv_task_rt *rt = dv_rt(t);
    rt->proc = *proc;
    proc->pidfd = -1; /* ours now */
    proc->pid = 0;
    if (rt->proc.pidfd >= 0) {
        watch(run, t);
        return;
    }
    /* A unit's helper that ended before its start job completed (docklog_unit.h):
     * there is nothing to watch, its checkpoint says how it ended. */
    if (!rt->logger_timer)
        rt->logger_timer = dv_timer_new(run->loop, on_logger_timer, t);
    dv_docklog_result res = {0};
    dv_error err;
    dv_error_clear(&err);
    int r = dv_docklog_collect(&rt->proc, rt->docklog_checkpoint_path, &res, &err);
    rt->proc = (dv_docklog_proc)DV_DOCKLOG_PROC_INIT;
    rt->logger_started_ns = dv_monotonic_ns();
    ended(run, t, &res, r, &err);
}

void dv_logger_launch_opts(dv_runtime *run, dv_task *t, dv_job *j)
{
    dv_task_rt *rt = dv_rt(t);
    j->launch = (dv_docklog_launch_opts){
        .binary = j->docklog_bin,
        .config_path = j->docklog_config_path,
        .diag_log = j->docklog_diag_path,
        .units = run->docklog_units,
        .task_name = j->task_name,
        .task_id = j->task_id,
        .serial = ++rt->logger_serial,
        .journald_rate_limit_ns = rt->spec->logs.journald_rate_limit_ns,
        .journald_rate_limit_burst = rt->spec->logs.journald_rate_limit_burst,
    };
}

static void spawn_failed(dv_runtime *run, dv_task *t, const char *why)
{
    dv_task_rt *rt = dv_rt(t);
    dv_task_event_add(t, &dv_runner_ops, run, "Driver", "docklog helper did not start: %s", why);
    rt->logger = DV_LOGGER_NONE;
    if (rt->start_after_logs || rt->destroy_after_logs)
        dv_runner_logs_done(run, t);
}

static void spawn_done(dv_loop *loop, void *data)
{
    (void)loop;
    dv_job *j = data;
    dv_runtime *run = j->run;
    dv_task *t = dv_task_table_get(run->tasks, j->task_id);
    dv_task_rt *rt = t ? dv_rt(t) : NULL;
    if (!rt || rt->logger != DV_LOGGER_SPAWNING || rt->logger_serial != j->launch.serial) {
        if (j->r == 0) /* nobody wants it any more: it ends with its container */
            dv_logger_reap_orphan(run, &j->proc, NULL);
        dv_job_free(j);
        return;
    }
    if (j->docklog_note[0])
        dv_task_event_add(t, &dv_runner_ops, run, "Driver", "%s", j->docklog_note);
    if (j->r < 0) {
        spawn_failed(run, t, j->err.msg);
        dv_job_free(j);
        return;
    }
    rt->logger = DV_LOGGER_NONE;
    /* One that ended already goes through ended(), which tells who waits; one that
     * cannot be watched was stopped (abandon()), and they are told here. */
    bool watchable = j->proc.pidfd >= 0;
    dv_logger_adopt_child(run, t, &j->proc);
    dv_job_free(j);
    if (rt->logger == DV_LOGGER_RUNNING) {
        dv_runner_ops.changed(run, t); /* persist the new identity */
        if (rt->start_after_logs || rt->destroy_after_logs)
            dv_timer_arm(rt->logger_timer, DRAIN_DEADLINE);
    } else if (watchable && rt->logger == DV_LOGGER_NONE &&
               (rt->start_after_logs || rt->destroy_after_logs)) {
        dv_runner_logs_done(run, t);
    }
}

/* In a transient unit: the launch is a job (systemd's start job is blocking bus
 * I/O); the helper is taken over when it is done. */
static void spawn_in_unit(dv_runtime *run, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    dv_job *j = dv_job_new(DV_JOB_DOCKLOG, run, t);
    j->docklog_bin = dv_xstrdup(run->docklog_bin);
    j->docklog_config_path = dv_xstrdup(rt->docklog_config_path);
    j->docklog_diag_path = dv_xstrdup(rt->docklog_diag_path);
    dv_logger_launch_opts(run, t, j);
    if (!rt->logger_timer)
        rt->logger_timer = dv_timer_new(run->loop, on_logger_timer, t);
    rt->logger = DV_LOGGER_SPAWNING;
    dv_runner_submit(run, j, spawn_done);
}

static void spawn(dv_runtime *run, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    if (run->docklog_units) {
        spawn_in_unit(run, t);
        return;
    }
    dv_error err;
    if (dv_docklog_spawn(run->docklog_bin, rt->docklog_config_path, rt->docklog_diag_path,
                         &rt->proc, &err) < 0) {
        spawn_failed(run, t, err.msg);
        return;
    }
    if (watch(run, t) < 0) {
        if (rt->start_after_logs || rt->destroy_after_logs)
            dv_runner_logs_done(run, t);
        return;
    }
    dv_runner_ops.changed(run, t); /* persist the new identity */
}

bool dv_logger_idle(const dv_task *t)
{
    return dv_rt(t)->logger == DV_LOGGER_NONE;
}

static void ended(dv_runtime *run, dv_task *t, const dv_docklog_result *res, int collect_r,
                  const dv_error *err)
{
    dv_task_rt *rt = dv_rt(t);
    forget_identity(t);
    rt->logger = DV_LOGGER_NONE;
    dv_timer_disarm(rt->logger_timer);
    dv_log_loss_check(run, t); /* what it found before it ended */
    enum dv_docklog_verdict v = collect_r < 0 ? DV_DOCKLOG_RESPAWN : dv_docklog_classify(res);
    if (rt->logger_term_sent && v == DV_DOCKLOG_RESPAWN)
        v = DV_DOCKLOG_DRAINED; /* we asked it to stop: it was given its chance */
    switch (v) {
    case DV_DOCKLOG_DRAINED:
        rt->logger_attempt = 0;
        break;
    case DV_DOCKLOG_PERMANENT:
        dv_task_event_add(t, &dv_runner_ops, run, "Driver", "log collection failed: %s",
                          res->message[0] ? res->message : "docklog gave up");
        break;
    case DV_DOCKLOG_RESPAWN: {
        if (dv_monotonic_ns() - rt->logger_started_ns > STABLE_RUN)
            rt->logger_attempt = 0;
        int64_t delay = dv_docklog_respawn_delay(++rt->logger_attempt);
        char d[32];
        dv_duration_format(delay, d, sizeof(d));
        if (collect_r < 0)
            dv_task_event_add(t, &dv_runner_ops, run, "Driver",
                              "docklog helper ended (%s); restarting it in %s", err->msg, d);
        else if (res->end == DV_DOCKLOG_END_UNKNOWN) /* not our child: no exit status */
            dv_task_event_add(t, &dv_runner_ops, run, "Driver",
                              "docklog helper ended before it was done (its checkpoint has no "
                              "outcome); restarting it in %s",
                              d);
        else if (res->end == DV_DOCKLOG_END_SIGNALED)
            dv_task_event_add(t, &dv_runner_ops, run, "Driver",
                              "docklog helper killed by signal %d; restarting it in %s",
                              res->status, d);
        else
            dv_task_event_add(t, &dv_runner_ops, run, "Driver",
                              "docklog helper exited with %d; restarting it in %s", res->status, d);
        rt->logger = DV_LOGGER_WAITING;
        /* Someone waits for the rest of the logs: no backoff. */
        dv_timer_arm(rt->logger_timer, rt->start_after_logs || rt->destroy_after_logs ? 0 : delay);
        break;
    }
    }
    dv_runner_ops.changed(run, t);
    if (rt->logger == DV_LOGGER_NONE && (rt->start_after_logs || rt->destroy_after_logs))
        dv_runner_logs_done(run, t);
}

static void on_proc(dv_loop *loop, int fd, uint32_t revents, void *userdata)
{
    (void)fd;
    (void)revents;
    dv_task *t = userdata;
    dv_task_rt *rt = dv_rt(t);
    dv_docklog_result res = {0};
    dv_error err;
    dv_error_clear(&err);
    int r = dv_docklog_collect(&rt->proc, rt->docklog_checkpoint_path, &res, &err);
    if (r == -EAGAIN)
        return;
    dv_loop_unwatch(loop, rt->proc_watch);
    rt->proc_watch = NULL;
    dv_docklog_proc_close(&rt->proc);
    rt->proc = (dv_docklog_proc)DV_DOCKLOG_PROC_INIT;
    ended(rt->run, t, &res, r, &err);
}

static void on_logger_timer(dv_loop *loop, void *userdata)
{
    (void)loop;
    dv_task *t = userdata;
    dv_task_rt *rt = dv_rt(t);
    dv_runtime *run = rt->run;
    if (rt->logger == DV_LOGGER_WAITING) {
        spawn(run, t);
        if (rt->logger == DV_LOGGER_RUNNING && (rt->start_after_logs || rt->destroy_after_logs))
            dv_timer_arm(rt->logger_timer, DRAIN_DEADLINE);
        return;
    }
    if (rt->logger != DV_LOGGER_RUNNING)
        return;
    dv_error err;
    if (!rt->logger_term_sent) {
        dv_task_event_add(t, &dv_runner_ops, run, "Driver",
                          "docklog helper still busy after the container ended: asking it to "
                          "finish");
        rt->logger_term_sent = true;
        if (dv_docklog_signal(&rt->proc, SIGTERM, &err) < 0 && err.code != -ESRCH)
            dv_log_warning("task %.8s: SIGTERM to docklog: %s", t->id, err.msg);
        dv_timer_arm(rt->logger_timer, KILL_GRACE);
    } else if (dv_docklog_signal(&rt->proc, SIGKILL, &err) < 0 && err.code != -ESRCH) {
        dv_log_warning("task %.8s: SIGKILL to docklog: %s", t->id, err.msg);
    }
}

void dv_logger_finish(dv_runtime *run, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    if (rt->logger == DV_LOGGER_WAITING) {
        dv_timer_arm(rt->logger_timer, 0); /* respawn now: it drains the ended container */
    } else if (rt->logger == DV_LOGGER_RUNNING && !dv_timer_armed(rt->logger_timer)) {
        dv_timer_arm(rt->logger_timer, DRAIN_DEADLINE);
    } else if (rt->logger == DV_LOGGER_NONE) {
        dv_runner_logs_done(run, t);
    }
}

void dv_logger_detach(dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    if (rt->proc_watch)
        dv_loop_unwatch(rt->run->loop, rt->proc_watch);
    rt->proc_watch = NULL;
    dv_timer_disarm(rt->logger_timer);
    if (rt->proc.pidfd >= 0)
        dv_docklog_proc_close(&rt->proc); /* the helper keeps running for the next agent */
}

static void on_orphan(dv_loop *loop, int fd, uint32_t revents, void *userdata)
{
    (void)fd;
    (void)revents;
    struct dv_orphan *o = userdata;
    dv_docklog_result res;
    dv_error err;
    if (dv_docklog_collect(&o->proc, o->checkpoint_path, &res, &err) == -EAGAIN)
        return;
    dv_loop_unwatch(loop, o->watch);
    dv_docklog_proc_close(&o->proc);
    for (struct dv_orphan **p = &o->run->orphans; *p; p = &(*p)->next)
        if (*p == o) {
            *p = o->next;
            break;
        }
    free(o->checkpoint_path);
    free(o);
}

void dv_logger_reap_orphan(dv_runtime *run, dv_docklog_proc *proc, const char *checkpoint_path)
{
    if (proc->pidfd < 0)
        return;
    struct dv_orphan *o = dv_xcalloc(1, sizeof(*o));
    dv_error err;
    o->checkpoint_path = dv_xstrdup(checkpoint_path ? checkpoint_path : "/");
    o->run = run;
    o->proc = *proc;
    proc->pidfd = -1;
    if (dv_loop_watch_fd(run->loop, o->proc.pidfd, EPOLLIN, on_orphan, o, &o->watch, &err) < 0) {
        dv_docklog_proc_close(&o->proc);
        free(o->checkpoint_path);
        free(o);
        return;
    }
    o->next = run->orphans;
    run->orphans = o;
}

void dv_logger_free_orphans(dv_runtime *run)
{
    while (run->orphans) {
        struct dv_orphan *o = run->orphans;
        run->orphans = o->next;
        dv_loop_unwatch(run->loop, o->watch);
        dv_docklog_proc_close(&o->proc);
        free(o->checkpoint_path);
        free(o);
    }
}

/* ---- after an agent restart ---- */

/* The helper's config (NESTED: {"container":{"id"}}) or checkpoint ({"container_id"})
 * at PATH if it belongs to CONTAINER_ID, else NULL: one left from a previous
 * container says nothing about the current one. Read as docklog reads them
 * (json_strict.h), so recovery trusts exactly what the helper would. */
static json_t *file_for_container(const char *path, const char *container_id, bool nested)
{
    json_t *j = NULL;
    if (!container_id || dv_json_read_strict(path, &j, NULL) < 0)
        return NULL;
    json_t *holder = nested ? json_object_get(j, "container") : j;
    const char *id = json_string_value(json_object_get(holder, nested ? "id" : "container_id"));
    if (!id || strcmp(id, container_id) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

json_t *dv_logger_checkpoint(const dv_task *t)
{
    return file_for_container(dv_rt(t)->docklog_checkpoint_path, t->container_id, false);
}

enum dv_logger_recovery dv_logger_recover(dv_runtime *run, dv_task *t, bool container_exists)
{
    dv_task_rt *rt = dv_rt(t);
    dv_error err;
    pid_t was = t->docklog.pid;
    if (was > 0) {
        dv_docklog_proc p;
        if (dv_docklog_adopt(was, t->docklog.starttime, t->docklog.boot_id, &p, &err) == 0) {
            dv_logger_adopt_child(run, t, &p);
            return rt->logger == DV_LOGGER_RUNNING ? DV_LOGGER_ADOPTED : DV_LOGGER_LOST;
        }
        /* Gone while the agent was down (it drained, or was killed): the record
         * must stop naming it, whatever recovery does with the task next; a task
         * it leaves as it is would otherwise keep the dead pid on disk. */
        forget_identity(t);
        dv_runner_ops.changed(run, t);
    }
    /* Gone (or never recorded): its checkpoint says how far it got with this container. */
    _cleanup_json_ json_t *cp = dv_logger_checkpoint(t);
    const char *outcome = json_string_value(json_object_get(cp, "outcome"));
    if (outcome && strcmp(outcome, DV_DOCKLOG_OUTCOME_DONE_NAME) == 0)
        return was > 0 ? DV_LOGGER_FINISHED : DV_LOGGER_NOTHING;
    if (outcome && strcmp(outcome, DV_DOCKLOG_OUTCOME_FAILED_NAME) == 0) {
        if (was > 0) {
            const char *why = json_string_value(json_object_get(cp, "error"));
            dv_task_event_add(t, &dv_runner_ops, run, "Driver", "log collection failed: %s",
                              why && *why ? why : "docklog gave up");
        }
        return was > 0 ? DV_LOGGER_FINISHED : DV_LOGGER_NOTHING;
    }
    /* Died midway, or was between respawns when the agent went: a new helper
     * resumes from the checkpoint (files stay exactly-once). Only for a container
     * that is still there and whose logs were being collected (its config). */
    _cleanup_json_ json_t *conf =
        file_for_container(rt->docklog_config_path, t->container_id, true);
    if (!container_exists || !conf || !run->docklog_bin)
        return was > 0 ? DV_LOGGER_LOST : DV_LOGGER_NOTHING;
    if (was > 0)
        dv_task_event_add(t, &dv_runner_ops, run, "Driver",
                          "docklog helper %d ended while the agent was down: relaunching it from "
                          "its checkpoint",
                          (int)was);
    else
        dv_task_event_add(t, &dv_runner_ops, run, "Driver",
                          "no docklog helper was running: launching one from its checkpoint");
    spawn(run, t);
    return rt->logger == DV_LOGGER_RUNNING || rt->logger == DV_LOGGER_SPAWNING
               ? DV_LOGGER_RELAUNCHED
               : DV_LOGGER_LOST;
}
