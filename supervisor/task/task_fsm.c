/* The task lifecycle: one function per transition, the table at the bottom. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "task.h"

typedef int (*transition_fn)(dv_task *t, const dv_task_input *in, const dv_task_ops *ops,
                             void *ctx);

static const char *const state_names[DV_TASK_STATE_COUNT] = {
    [DV_TASK_PENDING] = "pending",   [DV_TASK_PULLING] = "pulling",
    [DV_TASK_STARTING] = "starting", [DV_TASK_RUNNING] = "running",
    [DV_TASK_STOPPING] = "stopping", [DV_TASK_RESTARTING] = "restarting",
    [DV_TASK_EXITED] = "exited",     [DV_TASK_FAILED] = "failed",
    [DV_TASK_STOPPED] = "stopped",   [DV_TASK_DESTROYING] = "destroying",
};

static const char *const event_names[DV_TE_COUNT] = {
    [DV_TE_START] = "start",
    [DV_TE_IMAGE_READY] = "image-ready",
    [DV_TE_STARTED] = "started",
    [DV_TE_START_FAILED] = "start-failed",
    [DV_TE_EXITED] = "exited",
    [DV_TE_STOP] = "stop",
    [DV_TE_RESTART] = "restart",
    [DV_TE_STOP_DONE] = "stop-done",
    [DV_TE_STOP_FAILED] = "stop-failed",
    [DV_TE_KILL_TIMEOUT] = "kill-timeout",
    [DV_TE_RESTART_DUE] = "restart-due",
    [DV_TE_DESTROY] = "destroy",
    [DV_TE_DESTROYED] = "destroyed",
    [DV_TE_DESTROY_FAILED] = "destroy-failed",
};

const char *dv_task_state_name(enum dv_task_state s)
{
    assert(s < DV_TASK_STATE_COUNT);
    return state_names[s];
}

int dv_task_state_from_name(const char *name, enum dv_task_state *ret)
{
    for (int s = 0; s < DV_TASK_STATE_COUNT; s++)
        if (name && strcmp(name, state_names[s]) == 0) {
            *ret = (enum dv_task_state)s;
            return 0;
        }
    return -EINVAL;
}

const char *dv_task_fsm_event_name(enum dv_task_fsm_event e)
{
    assert(e < DV_TE_COUNT);
    return event_names[e];
}

bool dv_task_state_is_terminal(enum dv_task_state s)
{
    return s == DV_TASK_EXITED || s == DV_TASK_FAILED || s == DV_TASK_STOPPED;
}

bool dv_task_state_is_active(enum dv_task_state s)
{
    return s == DV_TASK_RUNNING || s == DV_TASK_STOPPING;
}

bool dv_task_destroy_needs_force(const dv_task *t)
{
    return !dv_task_state_is_terminal(t->state) && t->state != DV_TASK_RESTARTING &&
           t->state != DV_TASK_PENDING && t->state != DV_TASK_DESTROYING;
}

void dv_task_event_add(dv_task *t, const dv_task_ops *ops, void *ctx, const char *type,
                       const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const dv_task_event *ev = dv_event_ring_push(&t->events, ops->now(ctx), type, msg);
    if (ev && ops->event)
        ops->event(ctx, t, ev);
}

/* Every transition goes through here: a new gen makes results of operations
 * started in the previous state stale. */
static void enter(dv_task *t, enum dv_task_state s)
{
    t->state = s;
    t->gen++;
}

/* ---- shared steps ---- */

static int begin_fetch(dv_task *t, const dv_task_ops *ops, void *ctx)
{
    enter(t, DV_TASK_PULLING);
    t->restart_requested = false;
    t->die_seen = false;
    t->stop_pending = false;
    ops->fetch_image(ctx, t);
    ops->changed(ctx, t);
    return 0;
}

static int begin_destroy(dv_task *t, const dv_task_ops *ops, void *ctx)
{
    ops->disarm_timer(ctx, t);
    t->destroy_after_end = dv_task_state_is_terminal(t->state) || t->state == DV_TASK_RESTARTING;
    enter(t, DV_TASK_DESTROYING);
    dv_task_event_add(t, ops, ctx, "Destroying", "destroying the task");
    ops->destroy(ctx, t);
    ops->changed(ctx, t);
    return 0;
}

/* The stop IN asks for, in t->stop_timeout_ns and t->stop_signal: its own timeout
 * and signal (an operator's stop) or the task's kill_timeout and kill_signal, the
 * timeout capped by IN's max_stop_timeout_ns. */
static void take_stop(dv_task *t, const dv_task_input *in)
{
    int64_t timeout = in->stop_timeout_set ? in->stop_timeout_ns : t->kill_timeout_ns;
    if (in->max_stop_timeout_ns > 0 && timeout > in->max_stop_timeout_ns)
        timeout = in->max_stop_timeout_ns;
    const char *signal = in->stop_signal ? in->stop_signal : t->kill_signal;
    t->stop_timeout_ns = timeout;
    dv_task_set_str(&t->stop_signal, signal && *signal ? signal : NULL);
}

/* Stop with what t->stop_timeout_ns and t->stop_signal say (take_stop). */
static int begin_stop(dv_task *t, const dv_task_ops *ops, void *ctx)
{
    int64_t timeout = t->stop_timeout_ns;
    const char *signal = t->stop_signal;
    t->stop_pending = false;
    enter(t, DV_TASK_STOPPING);
    char d[32];
    dv_duration_format(timeout, d, sizeof(d));
    if (signal)
        dv_task_event_add(t, ops, ctx, "Killing", "sending %s, stopping after %s", signal, d);
    else
        dv_task_event_add(t, ops, ctx, "Killing", "stopping the container (timeout %s)", d);
    ops->stop_container(ctx, t, timeout, t->stop_signal);
    ops->changed(ctx, t);
    return 0;
}

static void settle(dv_task *t, enum dv_task_state s, const dv_task_ops *ops, void *ctx)
{
    enter(t, s);
    t->finished_ns = ops->now(ctx);
    ops->changed(ctx, t);
}

/* A failure counts against the restart block: restart later, or fail for good. */
static int restart_or_fail(dv_task *t, bool failed, const char *what, const dv_task_ops *ops,
                           void *ctx)
{
    /* WHAT says what failed ("start failed", "exit code 1"); unused for a success. */
    dv_restart_decision d;
    dv_restart_decide(&t->restart_policy, &t->restarts, failed, ops->now(ctx), ops->jitter(ctx),
                      &d);
    switch (d.verdict) {
    case DV_RESTART_NONE:
        dv_task_event_add(t, ops, ctx, "Completed", "the task completed successfully");
        settle(t, DV_TASK_EXITED, ops, ctx);
        break;
    case DV_RESTART_AFTER:
        enter(t, DV_TASK_RESTARTING);
        t->restart_due_ns = ops->now(ctx) + d.delay_ns; /* persisted: survives an agent restart */
        dv_task_event_add(t, ops, ctx, "Restarting", "%s: %s", what, d.reason);
        ops->arm_timer(ctx, t, d.delay_ns);
        ops->changed(ctx, t);
        break;
    case DV_RESTART_FAIL:
        dv_task_event_add(t, ops, ctx, "Not Restarting", "%s: %s", what, d.reason);
        settle(t, DV_TASK_FAILED, ops, ctx);
        break;
    }
    return 0;
}

static int start_failed(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    const char *msg = in->error && in->error->msg[0] ? in->error->msg : "unknown error";
    dv_task_event_add(t, ops, ctx, "Driver Failure", "%s", msg);
    if (t->destroy_requested)
        return begin_destroy(t, ops, ctx);
    if (t->desired == DV_DESIRED_STOPPED) {
        dv_task_event_add(t, ops, ctx, "Stopped", "stopped before the container started");
        settle(t, DV_TASK_STOPPED, ops, ctx);
        return 0;
    }
    if (t->restart_requested)
        return begin_fetch(t, ops, ctx);
    if (in->error && in->error->recoverable)
        return restart_or_fail(t, true, "start failed", ops, ctx);
    dv_task_event_add(t, ops, ctx, "Not Restarting", "error was unrecoverable");
    settle(t, DV_TASK_FAILED, ops, ctx);
    return 0;
}

static void record_exit(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    dv_exit_result_clear(&t->exit);
    if (in->exit) {
        t->exit = *in->exit;
        t->exit.error = NULL;
        if (in->exit->error)
            dv_task_set_str(&t->exit.error, in->exit->error);
    }
    char what[256];
    dv_exit_result_describe(&t->exit, what, sizeof(what));
    if (t->exit.oom_killed)
        dv_task_event_add(t, ops, ctx, "Terminated", "%s: the container ran out of memory", what);
    else if (t->exit.valid && t->exit.exit_code == 0)
        dv_task_event_add(t, ops, ctx, "Terminated", "%s: exited successfully", what);
    else
        dv_task_event_add(t, ops, ctx, "Terminated", "%s", what);
}

/* ---- transitions ---- */

static int pending_start(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    (void)in;
    return begin_fetch(t, ops, ctx);
}

static int any_destroy(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    if (dv_task_destroy_needs_force(t) && !in->force)
        return -EBUSY;
    return begin_destroy(t, ops, ctx);
}

static int pending_stop(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    (void)in;
    t->desired = DV_DESIRED_STOPPED;
    dv_task_event_add(t, ops, ctx, "Stopped", "stopped before it started");
    settle(t, DV_TASK_STOPPED, ops, ctx);
    return 0;
}

static int pulling_image_ready(dv_task *t, const dv_task_input *in, const dv_task_ops *ops,
                               void *ctx)
{
    (void)in;
    if (t->destroy_requested)
        return begin_destroy(t, ops, ctx);
    if (t->desired == DV_DESIRED_STOPPED) {
        dv_task_event_add(t, ops, ctx, "Stopped", "stopped before the container was created");
        settle(t, DV_TASK_STOPPED, ops, ctx);
        return 0;
    }
    if (t->restart_requested)
        return begin_fetch(t, ops, ctx);
    enter(t, DV_TASK_STARTING);
    ops->start_container(ctx, t);
    ops->changed(ctx, t);
    return 0;
}

/* Stop or restart while an operation is in flight: remember, cancel what can be
 * cancelled (a pull), and decide when its result arrives. */
static int busy_stop(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    if (t->desired == DV_DESIRED_STOPPED)
        return -EALREADY;
    take_stop(t, in); /* begun so once the container has started */
    t->stop_pending = true;
    t->desired = DV_DESIRED_STOPPED;
    t->restart_requested = false;
    ops->cancel(ctx, t);
    ops->changed(ctx, t);
    return 0;
}

static int busy_restart(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    (void)in;
    t->desired = DV_DESIRED_RUNNING;
    t->restart_requested = true;
    t->stop_pending = false; /* the restart's stop is the task's own */
    ops->cancel(ctx, t);
    ops->changed(ctx, t);
    return 0;
}

static int busy_destroy(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    if (!in->force)
        return -EBUSY;
    t->destroy_requested = true;
    ops->cancel(ctx, t);
    ops->changed(ctx, t); /* persisted: an agent restart still finishes the destroy */
    return 0;
}

static int starting_started(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    enter(t, DV_TASK_RUNNING);
    t->started_ns = ops->now(ctx);
    t->finished_ns = 0;
    dv_task_event_add(t, ops, ctx, "Started", "container %.12s started", t->container_id);
    if (t->destroy_requested)
        return begin_destroy(t, ops, ctx);
    if (t->desired == DV_DESIRED_STOPPED || t->restart_requested) {
        /* an operator's stop taken while starting keeps its own timeout and signal */
        if (!(t->desired == DV_DESIRED_STOPPED && t->stop_pending))
            take_stop(t, in);
        return begin_stop(t, ops, ctx);
    }
    ops->changed(ctx, t);
    if (t->die_seen) /* it died before we knew its id: look now */
        ops->confirm_exit(ctx, t);
    return 0;
}

static int running_exited(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    record_exit(t, in, ops, ctx);
    if (in->outage) {
        /* The task did not fail, its Engine went away (as for a node reboot in
         * recovery): the restart block's attempts are not spent on that. */
        t->restarts.total++;
        dv_task_event_add(t, ops, ctx, "Restarting",
                          "the container was stopped by the Docker Engine going down: starting "
                          "the task again (not counted against its restart policy)");
        return begin_fetch(t, ops, ctx);
    }
    bool failed = !t->exit.valid || t->exit.exit_code != 0 || t->exit.oom_killed;
    char what[256];
    dv_exit_result_describe(&t->exit, what, sizeof(what));
    return restart_or_fail(t, failed, what, ops, ctx);
}

static int running_stop(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    t->desired = DV_DESIRED_STOPPED;
    take_stop(t, in);
    return begin_stop(t, ops, ctx);
}

static int running_restart(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    t->restart_requested = true;
    dv_task_event_add(t, ops, ctx, "Restart Signaled", "restart requested by the operator");
    take_stop(t, in);
    return begin_stop(t, ops, ctx);
}

static int stopping_exited(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    ops->disarm_timer(ctx, t);
    record_exit(t, in, ops, ctx);
    if (t->destroy_requested)
        return begin_destroy(t, ops, ctx);
    if (t->restart_requested) {
        t->desired = DV_DESIRED_RUNNING;
        dv_task_event_add(t, ops, ctx, "Restarting", "restarting on operator request");
        return begin_fetch(t, ops, ctx);
    }
    dv_task_event_add(t, ops, ctx, "Killed", "task stopped by the operator");
    settle(t, DV_TASK_STOPPED, ops, ctx);
    return 0;
}

static int stopping_stop_done(dv_task *t, const dv_task_input *in, const dv_task_ops *ops,
                              void *ctx)
{
    if (in->error)
        dv_task_event_add(t, ops, ctx, "Killing", "stop: %s", in->error->msg);
    ops->confirm_exit(ctx, t);
    return 0;
}

static int stopping_stop_failed(dv_task *t, const dv_task_input *in, const dv_task_ops *ops,
                                void *ctx)
{
    (void)in;
    ops->disarm_timer(ctx, t);
    t->restart_requested = false;
    /* Running again, and wanted so: a persisted "desired stopped" on a running task
     * would make a restarted agent stop what the operator sees running. */
    t->desired = DV_DESIRED_RUNNING;
    dv_task_event_add(t, ops, ctx, "Killing",
                      "the container is still running after the stop: stop it again to retry");
    enter(t, DV_TASK_RUNNING);
    ops->changed(ctx, t);
    return 0;
}

static int stopping_kill_timeout(dv_task *t, const dv_task_input *in, const dv_task_ops *ops,
                                 void *ctx)
{
    (void)in;
    char d[32];
    dv_duration_format(t->stop_timeout_ns, d, sizeof(d));
    dv_task_event_add(t, ops, ctx, "Killing", "still running %s after %s: stopping it now", d,
                      t->stop_signal ? t->stop_signal : "the signal");
    ops->stop_container(ctx, t, 0, NULL);
    return 0;
}

static int stopping_stop(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    (void)in;
    if (t->restart_requested) { /* a stop wins over a pending restart */
        t->restart_requested = false;
        t->desired = DV_DESIRED_STOPPED;
        ops->changed(ctx, t);
        return 0;
    }
    return -EALREADY;
}

/* A restart asked for while a stop is under way is honoured once the container is
 * down (stopping_exited starts it again), not dropped. */
static int stopping_restart(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    (void)in;
    if (t->destroy_requested)
        return -EBUSY;
    if (t->restart_requested)
        return -EALREADY;
    t->restart_requested = true;
    t->desired = DV_DESIRED_RUNNING;
    dv_task_event_add(t, ops, ctx, "Restart Signaled",
                      "restart requested by the operator: it starts again once the stop is done");
    ops->changed(ctx, t);
    return 0;
}

/* The task is going away: a restart cannot be honoured, and must not look accepted. */
static int destroying_refuse(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    (void)t;
    (void)in;
    (void)ops;
    (void)ctx;
    return -EBUSY;
}

static int stopping_destroy(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    if (!in->force)
        return -EBUSY;
    return begin_destroy(t, ops, ctx); /* destroy stops with timeout 0 itself */
}

static int restarting_due(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    (void)in;
    return begin_fetch(t, ops, ctx);
}

static int restarting_stop(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    (void)in;
    ops->disarm_timer(ctx, t);
    t->desired = DV_DESIRED_STOPPED;
    dv_task_event_add(t, ops, ctx, "Stopped", "stopped while waiting to restart");
    settle(t, DV_TASK_STOPPED, ops, ctx);
    return 0;
}

static int restarting_restart(dv_task *t, const dv_task_input *in, const dv_task_ops *ops,
                              void *ctx)
{
    (void)in;
    ops->disarm_timer(ctx, t);
    dv_task_event_add(t, ops, ctx, "Restarting", "restarting now on operator request");
    return begin_fetch(t, ops, ctx);
}

static int terminal_restart(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    (void)in;
    t->desired = DV_DESIRED_RUNNING;
    dv_task_event_add(t, ops, ctx, "Restarting", "started again by the operator");
    return begin_fetch(t, ops, ctx);
}

static int terminal_stop(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    (void)in;
    if (t->desired == DV_DESIRED_STOPPED)
        return -EALREADY;
    t->desired = DV_DESIRED_STOPPED; /* stays down after an agent restart too */
    ops->changed(ctx, t);
    return -EALREADY;
}

static int destroying_destroyed(dv_task *t, const dv_task_input *in, const dv_task_ops *ops,
                                void *ctx)
{
    (void)in;
    ops->forget(ctx, t);
    return 0;
}

static int destroying_failed(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    dv_task_event_add(t, ops, ctx, "Destroy Failed", "%s",
                      in->error && in->error->msg[0] ? in->error->msg : "unknown error");
    t->destroy_requested = false;
    t->desired = DV_DESIRED_STOPPED;
    settle(t, DV_TASK_FAILED, ops, ctx);
    return 0;
}

static int already(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    (void)t;
    (void)in;
    (void)ops;
    (void)ctx;
    return -EALREADY;
}

/* The lifecycle, in one place. An empty cell is an event that cannot happen in
 * that state (a stale result): dv_task_handle() returns -EINVAL. */
static const transition_fn table[DV_TASK_STATE_COUNT][DV_TE_COUNT] = {
    [DV_TASK_PENDING] =
        {
            [DV_TE_START] = pending_start,
            [DV_TE_STOP] = pending_stop,
            [DV_TE_RESTART] = pending_start,
            [DV_TE_DESTROY] = any_destroy,
        },
    [DV_TASK_PULLING] =
        {
            [DV_TE_IMAGE_READY] = pulling_image_ready,
            [DV_TE_START_FAILED] = start_failed,
            [DV_TE_STOP] = busy_stop,
            [DV_TE_RESTART] = busy_restart,
            [DV_TE_DESTROY] = busy_destroy,
        },
    [DV_TASK_STARTING] =
        {
            [DV_TE_STARTED] = starting_started,
            [DV_TE_START_FAILED] = start_failed,
            [DV_TE_STOP] = busy_stop,
            [DV_TE_RESTART] = busy_restart,
            [DV_TE_DESTROY] = busy_destroy,
        },
    [DV_TASK_RUNNING] =
        {
            [DV_TE_EXITED] = running_exited,
            [DV_TE_STOP] = running_stop,
            [DV_TE_RESTART] = running_restart,
            [DV_TE_DESTROY] = any_destroy,
        },
    [DV_TASK_STOPPING] =
        {
            [DV_TE_EXITED] = stopping_exited,
            [DV_TE_STOP_DONE] = stopping_stop_done,
            [DV_TE_STOP_FAILED] = stopping_stop_failed,
            [DV_TE_KILL_TIMEOUT] = stopping_kill_timeout,
            [DV_TE_STOP] = stopping_stop,
            [DV_TE_RESTART] = stopping_restart,
            [DV_TE_DESTROY] = stopping_destroy,
        },
    [DV_TASK_RESTARTING] =
        {
            [DV_TE_RESTART_DUE] = restarting_due,
            [DV_TE_STOP] = restarting_stop,
            [DV_TE_RESTART] = restarting_restart,
            [DV_TE_DESTROY] = any_destroy,
        },
    [DV_TASK_EXITED] =
        {
            [DV_TE_STOP] = terminal_stop,
            [DV_TE_RESTART] = terminal_restart,
            [DV_TE_DESTROY] = any_destroy,
        },
    [DV_TASK_FAILED] =
        {
            [DV_TE_STOP] = terminal_stop,
            [DV_TE_RESTART] = terminal_restart,
            [DV_TE_DESTROY] = any_destroy,
        },
    [DV_TASK_STOPPED] =
        {
            [DV_TE_STOP] = already,
            [DV_TE_RESTART] = terminal_restart,
            [DV_TE_DESTROY] = any_destroy,
        },
    [DV_TASK_DESTROYING] =
        {
            [DV_TE_DESTROYED] = destroying_destroyed,
            [DV_TE_DESTROY_FAILED] = destroying_failed,
            [DV_TE_STOP] = already,
            [DV_TE_RESTART] = destroying_refuse,
            [DV_TE_DESTROY] = already,
        },
};

int dv_task_handle(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx)
{
    assert(t->state < DV_TASK_STATE_COUNT && in->event < DV_TE_COUNT);
    transition_fn fn = table[t->state][in->event];
    if (!fn)
        return -EINVAL;
    return fn(t, in, ops, ctx);
}

bool dv_task_drain_settled(const dv_task *t)
{
    /* Every listed task was fed a stop, which leaves RUNNING at once (a task still
     * starting stops from STARTED without being published as running). So running
     * now means the stop failed (the task is wanted running again, so that a
     * restarted agent does not stop it behind the operator's back) or an operator
     * restarted it since: waiting would never end. */
    return !t || dv_task_state_is_terminal(t->state) || t->state == DV_TASK_RUNNING;
}
