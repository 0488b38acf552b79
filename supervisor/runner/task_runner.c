/* The task runner: the dv_task_ops of the agent, job results, Engine events. */
#include "task_runner.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "image_gc.h"
#include "log.h"
#include "labels.h"
#include "task_jobs.h"
#include "xalloc.h"

const char *dv_runner_short_id(const dv_task *t)
{
    static __thread char buf[9];
    snprintf(buf, sizeof(buf), "%s", t->id);
    return buf;
}

/* ---- observers and persistence ---- */

static void notify_state(dv_runtime *run, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    if (rt->notified_once && rt->last_notified == t->state)
        return;
    rt->last_notified = t->state;
    rt->notified_once = true;
    if (run->observers.task_state)
        run->observers.task_state(run->observers.ctx, t);
}

void dv_runner_forget(dv_runtime *run, dv_task *t, enum dv_task_gone_why why, const char *detail)
{
    dv_task_table_detach(run->tasks, t);
    if (run->observers.task_gone)
        run->observers.task_gone(run->observers.ctx, t, why, detail);
    char alloc_id[sizeof(t->alloc.id)];
    memcpy(alloc_id, t->alloc.id, sizeof(alloc_id));
    dv_runner_free_rt(t);
    dv_task_free(t);
    if (alloc_id[0] && why == DV_TASK_GONE_DESTROYED)
        dv_runner_alloc_forgotten(run, alloc_id);
}

int dv_runner_save(dv_runtime *run, dv_task *t, dv_error *err)
{
    /* Written here, not through the writer: a write of the task still queued
     * there would overtake this one. A task being submitted has had nothing saved
     * yet; for any other the loop waits for the writer first. */
    if (run->records && dv_record_writer_pending(run->records, t->id))
        dv_record_writer_wait(run->records, dv_record_writer_latest(run->records));
    memcpy(t->boot_id, run->boot_id, sizeof(t->boot_id)); /* recovery tells a reboot by it */
    _cleanup_json_ json_t *rec = dv_task_to_json(t);
    if (!rec) /* a string from outside (an Engine answer) that is not UTF-8 */
        return dv_error_set(err, -EINVAL, "cannot serialize the record of task %s", t->id);
    return dv_state_store_save_task(run->store, t->id, rec, err);
}

/* Serialized here (cheap), made durable by the writer's thread: the loop never
 * waits for an fsync. What depends on the record being on disk, a job's Docker
 * calls, waits for it on its worker (dv_runner_submit). */
static void save(dv_runtime *run, dv_task *t)
{
    memcpy(t->boot_id, run->boot_id, sizeof(t->boot_id));
    _cleanup_json_ json_t *rec = dv_task_to_json(t);
    dv_error err;
    size_t len = 0;
    char *text = NULL;
    if (!rec)
        dv_error_set(&err, -EINVAL, "cannot serialize the record of task %s", t->id);
    else
        text = dv_state_store_task_text(t->id, rec, &len, &err);
    if (!text) {
        dv_log_error("task %s: saving its record: %s", dv_runner_short_id(t), err.msg);
        return;
    }
    dv_record_writer_save(run->records, t->id, text, len);
}

/* The writer could not save or remove a record: logged as a synchronous save's
 * failure was. The task goes on (its container does not need the data dir). */
static void record_failed(void *ctx, const char *task_id, bool removing, const dv_error *err)
{
    (void)ctx;
    dv_log_error("task %.8s: %s its record: %s", task_id, removing ? "removing" : "saving",
                 err->msg);
}

int dv_runner_records_new(dv_runtime *run, dv_sync_fn sync, dv_error *err)
{
    dv_record_writer_options o = {
        .loop = run->loop, .failed = record_failed, .userdata = run, .sync = sync};
    return dv_record_writer_new(run->store, &o, &run->records, err);
}

/* ---- job plumbing ---- */

static void free_job(void *data)
{
    dv_job_free(data);
}

void dv_runner_free_job_done(dv_loop *loop, void *data)
{
    (void)loop;
    dv_job_free(data);
}

/* Keeps what the job learnt of its container's ownership (task_jobs.h), then hands
 * the result to the submitter. */
static void job_done(dv_loop *loop, void *data)
{
    dv_job *j = data;
    dv_task *t = dv_runner_current(j);
    if (t && j->owned_out[0])
        snprintf(dv_rt(t)->owned_container, sizeof(dv_rt(t)->owned_container), "%s", j->owned_out);
    j->done(loop, j);
}

void dv_runner_submit(dv_runtime *run, dv_job *j, dv_work_done_fn done)
{
    dv_task *t = dv_runner_current(j);
    if (t)
        snprintf(j->owned_in, sizeof(j->owned_in), "%s", dv_rt(t)->owned_container);
    j->done = done;
    /* Every record saved so far is durable before the job's first Engine call
     * (dv_job_run waits for it): what the job does to Docker is never ahead of
     * the records, whatever order the writer and the workers run in. */
    if (j->records)
        j->records_ticket = dv_record_writer_latest(j->records);
    int r = dv_lanes_submit(run->lanes, dv_job_lane(j), dv_job_run, job_done, free_job, j);
    if (r == 0)
        return;
    /* The result says why, later, never from inside the state machine call that
     * asked for the job. */
    if (r == -EAGAIN)
        j->r = dv_error_set(&j->err, r,
                            "no worker thread could be started (the agent's thread limit?)");
    else
        j->r = dv_error_set(&j->err, -ESHUTDOWN, "the agent is shutting down");
    if (dv_loop_post(run->loop, (dv_loop_msg_fn)done, free_job, j) < 0)
        dv_job_free(j);
}

/* A job that failed before it could be submitted still answers through the loop:
 * the state machine must never be re-entered from inside one of its own ops. */
void dv_runner_fail_later(dv_runtime *run, dv_job *j, dv_work_done_fn done, int code,
                          const char *msg)
{
    j->r = dv_error_set(&j->err, code, "%s", msg);
    if (dv_loop_post(run->loop, (dv_loop_msg_fn)done, free_job, j) < 0)
        dv_job_free(j);
}

/* The task a result belongs to, or NULL if the task is gone or moved on. */
dv_task *dv_runner_current(const dv_job *j)
{
    dv_task *t = dv_task_table_get(j->run->tasks, j->task_id);
    return t && t->gen == j->gen ? t : NULL;
}

/* ---- a container that is not the task's ---- */

void dv_runner_set_aside(dv_runtime *run, dv_task *t, const char *why)
{
    dv_task_event_add(t, &dv_runner_ops, run, "Set Aside",
                      "%s: the task's record is set aside and nothing of the task is touched "
                      "any more (see GET /v1/node)",
                      why);
    /* The record is moved aside: a write of it still queued must not put it
     * back (rare: a hand-edited record or a bug; the loop waits for the writer). */
    dv_record_writer_wait(run->records, dv_record_writer_latest(run->records));
    dv_error err;
    _cleanup_free_ char *to = NULL;
    char listed[DV_QUARANTINE_REASON_MAX];
    if (dv_state_store_quarantine_task(run->store, t->id, why, listed, &to, &err) < 0)
        dv_log_error("task %s: %s; its record stays in place, it cannot be set aside: %s", t->id,
                     why, err.msg);
    else
        dv_log_error("task record %s set aside as %s: %s (its container and files are left "
                     "alone; see GET /v1/node)",
                     t->id, to, listed);
    dv_ports_release_task(run->ports, t->id);
    dv_image_gc_task_destroyed(run, t);
    /* Frees the runtime: timers disarmed, the helper left running (as for a
     * record set aside at start). */
    dv_runner_forget(run, t, DV_TASK_GONE_SET_ASIDE, why);
}

dv_task *dv_runner_named_foreign(dv_runtime *run, const dv_job *j, const char *container_id)
{
    if (!j->foreign || !container_id)
        return NULL;
    dv_task *t = dv_task_table_get(run->tasks, j->task_id);
    return t && t->container_id && strcmp(t->container_id, container_id) == 0 ? t : NULL;
}

int dv_runner_feed(dv_runtime *run, dv_task *t, const dv_task_input *in)
{
    enum dv_task_state before = t->state;
    bool last = in->event == DV_TE_DESTROYED;
    char id[9];
    snprintf(id, sizeof(id), "%s", t->id);
    /* max_kill_timeout caps every stop, whatever asked for it (an API stop's
     * timeout, the spec's kill_timeout, a restart, a drain, recovery), as Nomad's
     * client does: in the state machine, so its events show the time waited. */
    dv_task_input capped = *in;
    capped.max_stop_timeout_ns = run->config->max_kill_timeout_ns;
    int r = dv_task_handle(t, &capped, &dv_runner_ops, run);
    if (r == -EINVAL)
        dv_log_debug("task %s: %s ignored in state %s", id, dv_task_fsm_event_name(in->event),
                     dv_task_state_name(before));
    else if (r == 0 && !last && t->state != before)
        dv_log_info("task %s: %s -> %s", id, dv_task_state_name(before),
                    dv_task_state_name(t->state));
    return r;
}

void dv_runner_feed_simple(dv_runtime *run, dv_task *t, enum dv_task_fsm_event e,
                           const dv_error *err)
{
    dv_task_input in = {.event = e, .error = err};
    dv_runner_feed(run, t, &in);
}

struct note {
    dv_runtime *run;
    char task_id[DV_UUID_STRLEN + 1];
    char type[32];
    bool transient;
    char msg[1024];
};

static void run_note(dv_loop *loop, void *data)
{
    (void)loop;
    struct note *n = data;
    dv_task *t = dv_task_table_get(n->run->tasks, n->task_id);
    if (t && n->transient) {
        dv_task_event ev = {.time_ns = dv_realtime_ns(), .type = n->type, .message = n->msg};
        if (n->run->observers.task_event)
            n->run->observers.task_event(n->run->observers.ctx, t, &ev, true);
    } else if (t) {
        dv_task_event_add(t, &dv_runner_ops, n->run, n->type, "%s", n->msg);
        save(n->run, t);
    }
    free(n);
}

void dv_runner_post_note(dv_runtime *run, const char *task_id, const char *type, bool transient,
                         const char *fmt, ...)
{
    struct note *n = dv_xcalloc(1, sizeof(*n));
    n->run = run;
    snprintf(n->task_id, sizeof(n->task_id), "%s", task_id);
    snprintf(n->type, sizeof(n->type), "%s", type);
    n->transient = transient;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->msg, sizeof(n->msg), fmt, ap);
    va_end(ap);
    if (dv_loop_post(run->loop, run_note, free, n) < 0)
        free(n);
}

/* ---- IMAGE ---- */

static void op_fetch_image(void *ctx, dv_task *t);

/* The image GC lets a task go on once its image is safe from removal. */
static void image_settled(dv_runtime *run, dv_task *t, bool refetch)
{
    if (refetch && !t->destroy_requested) {
        dv_task_event_add(t, &dv_runner_ops, run, "Driver",
                          "image %s was removed by the image GC just now: fetching it again",
                          t->image);
        op_fetch_image(run, t);
    } else {
        dv_runner_feed_simple(run, t, DV_TE_IMAGE_READY, NULL);
    }
}

static void image_done(dv_loop *loop, void *data)
{
    (void)loop;
    dv_job *j = data;
    dv_task *any = dv_task_table_get(j->run->tasks, j->task_id);
    if (any && dv_rt(any)->cancel == &j->cancel)
        dv_rt(any)->cancel = NULL;
    dv_task *t = dv_runner_current(j);
    if (t) {
        if (!j->err.unreachable)
            dv_runner_engine_reached(j->run, t);
        if (j->r < 0) {
            if (!dv_runner_engine_wait(j->run, t, DV_ENGINE_OP_IMAGE, &j->err))
                dv_runner_feed_simple(j->run, t, DV_TE_START_FAILED, &j->err);
        } else {
            _cleanup_free_ char *prev_image_id = TAKE_PTR(t->image_id);
            dv_task_set_str(&t->image, j->image_ref);
            dv_task_set_str(&t->image_id, j->image_id);
            free(dv_rt(t)->image_user);
            dv_rt(t)->image_user = TAKE_PTR(j->image_user);
            dv_image_gc_image_ready(j->run, t, prev_image_id, image_settled);
        }
    }
    dv_job_free(j);
}

void dv_runner_fetch_image(dv_runtime *run, dv_task *t)
{
    op_fetch_image(run, t);
}

static void op_fetch_image(void *ctx, dv_task *t)
{
    dv_runtime *run = ctx;
    dv_task_rt *rt = dv_rt(t);
    dv_job *j = dv_job_new(DV_JOB_IMAGE, run, t);
    j->spec = dv_task_spec_ref(rt->spec);
    j->local_dir = dv_xstrdup(rt->paths.local_dir);
    j->task_dir = dv_xstrdup(rt->paths.task_dir);
    j->artifacts_local_allowed = run->config->docker.volumes.enabled;
    j->auth_config =
        run->config->docker.auth.config ? dv_xstrdup(run->config->docker.auth.config) : NULL;
    j->auth_helper =
        run->config->docker.auth.helper ? dv_xstrdup(run->config->docker.auth.helper) : NULL;
    j->auth = (dv_auth_sources){.config_path = j->auth_config, .helper = j->auth_helper};
    j->activity_timeout_ns = run->config->docker.pull_activity_timeout_ns;
    j->pull_timeout_ns = rt->spec->config.image_pull_timeout_ns
                             ? rt->spec->config.image_pull_timeout_ns
                             : run->config->docker.image_pull_timeout_ns;
    rt->cancel = &j->cancel;
    dv_runner_submit(run, j, image_done);
}

/* ---- STOP / confirm ---- */

static void stop_done(dv_loop *loop, void *data)
{
    (void)loop;
    dv_job *j = data;
    dv_task *bad = dv_runner_named_foreign(j->run, j, j->container_id);
    if (bad) {
        dv_runner_set_aside(j->run, bad, j->err.msg);
        dv_job_free(j);
        return;
    }
    dv_task *t = dv_runner_current(j);
    if (t && t->state == DV_TASK_STOPPING && j->r < 0 && j->err.unreachable) {
        dv_task_rt *rt = dv_rt(t);
        free(rt->stop_owed_signal);
        rt->stop_owed_signal = j->signal ? dv_xstrdup(j->signal) : NULL;
        rt->stop_owed_timeout_ns = (int64_t)j->stop_timeout_s * DV_NSEC_PER_SEC;
        dv_runner_stop_unreachable(j->run, t, &j->err);
    }
    if (t && t->state == DV_TASK_STOPPING) {
        if (j->r == 0 && j->signal && j->running)
            dv_timer_arm(dv_rt(t)->timer, t->stop_timeout_ns); /* → KILL_TIMEOUT */
        else
            dv_runner_feed_simple(j->run, t, DV_TE_STOP_DONE, j->r < 0 ? &j->err : NULL);
    } else if (t && t->state == DV_TASK_DESTROYING) {
        dv_runner_destroy_step(j->run, t);
    }
    dv_job_free(j);
}

static void submit_stop(dv_runtime *run, dv_task *t, int64_t timeout_ns, const char *signal)
{
    dv_job *j = dv_job_new(DV_JOB_STOP, run, t);
    j->container_id = t->container_id ? dv_xstrdup(t->container_id) : NULL;
    j->signal = signal ? dv_xstrdup(signal) : NULL;
    /* The Engine takes whole seconds: round up, so a 500ms kill_timeout is not 0. */
    j->stop_timeout_s = (int)((timeout_ns + DV_NSEC_PER_SEC - 1) / DV_NSEC_PER_SEC);
    if (!j->container_id) { /* nothing to stop */
        j->r = 0;
        if (dv_loop_post(run->loop, stop_done, free_job, j) < 0)
            dv_job_free(j);
        return;
    }
    dv_runner_submit(run, j, stop_done);
}

static void op_stop_container(void *ctx, dv_task *t, int64_t timeout_ns, const char *signal)
{
    /* A strict confirm still owed by an earlier stop is void: this stop's own
     * STOP_DONE confirms it, and a strict look now, while the container may
     * rightly still run out its kill_timeout, would call this stop failed. */
    dv_rt(t)->inspect_owed_strict = false;
    dv_rt(t)->stop_owed = false;
    submit_stop(ctx, t, timeout_ns, signal);
}

/* A failed confirm is tried again with a per-task backoff (2s doubling to 60s),
 * logged once per streak. While the Engine's event stream is down nothing is
 * retried per task: the resync when the stream is back inspects every task, and
 * an outage must not become a warning and a failing call per task every 2s. */
static void retry_inspect_later(dv_runtime *run, dv_task *t, const dv_job *j)
{
    dv_task_rt *rt = dv_rt(t);
    bool first = rt->inspect_retry_ns == 0;
    /* A confirm after a stop must still be able to tell that the stop failed. */
    rt->inspect_owed_strict = rt->inspect_owed_strict || !j->lenient;
    if (!run->engine_stream_ok) {
        dv_log_debug("task %s: inspect %.12s: %s (checked again when the Engine is back)",
                     dv_runner_short_id(t), j->container_id, j->err.msg);
        return;
    }
    rt->inspect_retry_ns = dv_inspect_retry_next(rt->inspect_retry_ns);
    char d[32];
    dv_duration_format(rt->inspect_retry_ns, d, sizeof(d));
    rt->inspect_warned = rt->inspect_warned || first;
    if (first)
        dv_log_warning("task %s: inspect %.12s: %s (retrying in %s, backing off to %ds)",
                       dv_runner_short_id(t), j->container_id, j->err.msg, d,
                       (int)(DV_INSPECT_RETRY_MAX / DV_NSEC_PER_SEC));
    else
        dv_log_debug("task %s: inspect %.12s: %s (retrying in %s)", dv_runner_short_id(t),
                     j->container_id, j->err.msg, d);
    dv_timer_arm(rt->retry_timer, rt->inspect_retry_ns);
}

int64_t dv_inspect_retry_next(int64_t previous_ns)
{
    if (previous_ns <= 0)
        return DV_INSPECT_RETRY_MIN;
    return previous_ns >= DV_INSPECT_RETRY_MAX / 2 ? DV_INSPECT_RETRY_MAX : previous_ns * 2;
}

static void inspect_done(dv_loop *loop, void *data)
{
    (void)loop;
    dv_job *j = data;
    dv_task *t = dv_runner_current(j);
    if (!t) {
        dv_job_free(j);
        return;
    }
    dv_task_rt *rt = dv_rt(t);
    if (j->r < 0) {
        /* Docker stops its containers when it goes down without live restore: an
         * exit found after this is the outage's doing (task_outage.c). */
        if (j->err.unreachable)
            dv_runner_outage_note(t, dv_realtime_ns());
        retry_inspect_later(j->run, t, j);
        dv_job_free(j);
        return;
    }
    if (rt->inspect_warned)
        dv_log_info("task %s: inspect %.12s works again", dv_runner_short_id(t), j->container_id);
    dv_runner_stop_reached(t);
    rt->inspect_retry_ns = 0;
    rt->inspect_warned = false;
    if (!j->lenient)
        rt->inspect_owed_strict = false;
    if (j->running) {
        rt->outage_since_ns = 0; /* it rode the outage out (live restore) */
        if (t->state == DV_TASK_STOPPING && rt->stop_owed) {
            /* The stop never reached the Engine: give it now. */
            rt->stop_owed = false;
            dv_task_event_add(t, &dv_runner_ops, j->run, "Killing",
                              "the Docker Engine answers again and the container still runs: "
                              "stopping it now");
            dv_rt(t)->inspect_owed_strict = false;
            submit_stop(j->run, t, rt->stop_owed_timeout_ns, rt->stop_owed_signal);
        } else if (t->state == DV_TASK_STOPPING && !j->lenient) {
            /* After the stop returned, a running container means the stop failed; an
             * events resync or a die event during a stop proves nothing of the kind. */
            dv_runner_feed_simple(j->run, t, DV_TE_STOP_FAILED, NULL);
        }
    } else {
        rt->stop_owed = false; /* it ended: nothing left to stop */
        if (j->container_id && strcmp(rt->oom_container, j->container_id) == 0)
            j->exit.oom_killed = true;
        dv_task_input in = {
            .event = DV_TE_EXITED, .exit = &j->exit, .outage = dv_runner_outage_exit(t, &j->exit)};
        dv_runner_feed(j->run, t, &in);
    }
    dv_job_free(j);
}

static void confirm(dv_runtime *run, dv_task *t, bool lenient)
{
    dv_job *j = dv_job_new(DV_JOB_INSPECT, run, t);
    j->lenient = lenient;
    if (!t->container_id) {
        j->r = 0;
        j->running = false;
        j->exit.error = dv_xstrdup("the task has no container");
        if (dv_loop_post(run->loop, inspect_done, free_job, j) < 0)
            dv_job_free(j);
        return;
    }
    j->container_id = dv_xstrdup(t->container_id);
    dv_runner_submit(run, j, inspect_done);
}

static void op_confirm_exit(void *ctx, dv_task *t)
{
    confirm(ctx, t, false);
}

/* ---- timers, cancel ---- */

static void op_cancel(void *ctx, dv_task *t)
{
    dv_runner_alloc_release(ctx, t);
    if (dv_rt(t)->cancel)
        dv_cancel_request(dv_rt(t)->cancel);
    dv_runner_engine_wait_cancel(t);
}

static void op_arm_timer(void *ctx, dv_task *t, int64_t delay_ns)
{
    (void)ctx;
    dv_timer_arm(dv_rt(t)->timer, delay_ns);
}

static void op_disarm_timer(void *ctx, dv_task *t)
{
    (void)ctx;
    dv_timer_disarm(dv_rt(t)->timer);
}

/* ---- the rest of the ops ---- */

static void op_destroy(void *ctx, dv_task *t)
{
    dv_runtime *run = ctx;
    /* Stop first (timeout 0, as Nomad's destroy), so the helper can drain; a
     * container that has ended already needs no stop (and should one still run,
     * the DESTROY job's forced remove kills it). */
    if (t->destroy_after_end)
        dv_runner_destroy_step(run, t);
    else
        submit_stop(run, t, 0, NULL);
}

static void op_forget(void *ctx, dv_task *t)
{
    dv_runner_forget(ctx, t, DV_TASK_GONE_DESTROYED, NULL);
}

static void op_event(void *ctx, dv_task *t, const dv_task_event *ev)
{
    dv_runtime *run = ctx;
    dv_log_info("task %s (%s): %s: %s", dv_runner_short_id(t), t->name, ev->type, ev->message);
    if (run->observers.task_event)
        run->observers.task_event(run->observers.ctx, t, ev, false);
}

static void op_changed(void *ctx, dv_task *t)
{
    dv_runtime *run = ctx;
    save(run, t);
    notify_state(run, t);
    dv_runner_alloc_changed(run, t);
}

static int64_t op_now(void *ctx)
{
    (void)ctx;
    return dv_realtime_ns();
}

static double op_jitter(void *ctx)
{
    (void)ctx;
    return drand48();
}

const dv_task_ops dv_runner_ops = {
    .fetch_image = op_fetch_image,
    .start_container = dv_runner_start_container,
    .stop_container = op_stop_container,
    .confirm_exit = op_confirm_exit,
    .cancel = op_cancel,
    .arm_timer = op_arm_timer,
    .disarm_timer = op_disarm_timer,
    .destroy = op_destroy,
    .forget = op_forget,
    .event = op_event,
    .changed = op_changed,
    .now = op_now,
    .jitter = op_jitter,
};

/* ---- destroy steps: stop → helper drained → remove → forget ---- */

static void destroy_done(dv_loop *loop, void *data)
{
    (void)loop;
    dv_job *j = data;
    dv_runtime *run = j->run;
    dv_task *bad = dv_runner_named_foreign(run, j, j->container_id);
    if (bad) {
        dv_runner_set_aside(run, bad, j->err.msg);
        dv_job_free(j);
        return;
    }
    dv_task *t = dv_runner_current(j);
    if (!t || t->state != DV_TASK_DESTROYING) {
        dv_job_free(j);
        return;
    }
    if (j->r < 0 && dv_runner_engine_wait(run, t, DV_ENGINE_OP_DESTROY, &j->err)) {
        /* The task stays destroying and the destroy goes on once the Engine
         * answers; whoever asked hears why it is not done yet. */
        if (run->observers.destroy_failed)
            run->observers.destroy_failed(run->observers.ctx, t, &j->err);
        dv_job_free(j);
        return;
    }
    if (j->r < 0) {
        if (run->observers.destroy_failed)
            run->observers.destroy_failed(run->observers.ctx, t, &j->err);
        dv_runner_feed_simple(run, t, DV_TE_DESTROY_FAILED, &j->err);
        dv_job_free(j);
        return;
    }
    dv_ports_release_task(run->ports, t->id);
    dv_image_gc_task_destroyed(run, t);
    /* After the container's removal (a crash in between finds the record, destroying,
     * and finishes the destroy); in the writer's queue, so no write of the record
     * still queued comes after it. A failure is logged by record_failed. */
    dv_record_writer_remove(run->records, t->id);
    if (j->container_id && !j->remove_container)
        dv_task_event_add(t, &dv_runner_ops, run, "Destroyed",
                          "the task is gone; its container %.12s is kept (gc.container is false)",
                          j->container_id);
    else
        dv_task_event_add(t, &dv_runner_ops, run, "Destroyed", "the task is gone");
    dv_runner_feed_simple(run, t, DV_TE_DESTROYED, NULL); /* forgets and frees t */
    dv_job_free(j);
}

void dv_runner_destroy_step(dv_runtime *run, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    if (!dv_logger_idle(t)) {
        rt->destroy_after_logs = true;
        dv_logger_finish(run, t);
        return;
    }
    dv_job *j = dv_job_new(DV_JOB_DESTROY, run, t);
    j->container_id = t->container_id ? dv_xstrdup(t->container_id) : NULL;
    j->remove_container = run->config->docker.gc.container;
    j->task_root = dv_xstrdup(rt->paths.task_root);
    dv_runner_submit(run, j, destroy_done);
}

void dv_runner_logs_done(dv_runtime *run, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    if (rt->start_after_logs) {
        rt->start_after_logs = false;
        if (t->state == DV_TASK_STARTING)
            dv_runner_submit_start(run, t);
    }
    if (rt->destroy_after_logs) {
        rt->destroy_after_logs = false;
        if (t->state == DV_TASK_DESTROYING)
            dv_runner_destroy_step(run, t);
    }
}

/* ---- Engine events ---- */

void dv_runner_engine_event(dv_runtime *run, const json_t *event)
{
    const char *action = json_string_value(json_object_get(event, "Action"));
    json_t *actor = json_object_get(event, "Actor");
    const char *cid = json_string_value(json_object_get(actor, "ID"));
    const char *task_id =
        json_string_value(json_object_get(json_object_get(actor, "Attributes"), DV_LABEL_TASK_ID));
    dv_task *t = task_id ? dv_task_table_get(run->tasks, task_id) : NULL;
    if (!action || !cid || !t)
        return;
    bool ours = t->container_id && strcmp(t->container_id, cid) == 0;
    if (strcmp(action, "die") == 0 || strcmp(action, "destroy") == 0) {
        if (t->state == DV_TASK_STARTING)
            t->die_seen = true; /* STARTED looks again */
        else if (ours && dv_task_state_is_active(t->state))
            confirm(run, t, true);
    } else if (strcmp(action, "oom") == 0 && (ours || t->state == DV_TASK_STARTING)) {
        /* Docker may report the OOM kill after the exit (and inspect may never say
         * so): remember it for the exit still to be recorded, or mend the one
         * recorded already. The restart decision is not revisited: an OOM kill's
         * exit code 137 already counted as a failure. While starting, the task does
         * not name its new container yet (the event carries the task's label, so the
         * container is the task's): kept for the start's result and the confirms. */
        snprintf(dv_rt(t)->oom_container, sizeof(dv_rt(t)->oom_container), "%s", cid);
        bool exit_recorded = ours && t->state != DV_TASK_RUNNING && t->state != DV_TASK_STOPPING;
        if (exit_recorded && t->exit.valid && !t->exit.oom_killed) {
            t->exit.oom_killed = true;
            dv_task_event_add(t, &dv_runner_ops, run, "OOM Killed",
                              "the container ran out of memory (Docker said so after its exit)");
            dv_runner_ops.changed(run, t);
        } else {
            dv_task_event_add(t, &dv_runner_ops, run, "OOM", "the container ran out of memory");
        }
    }
}

void dv_runner_recheck(dv_runtime *run, dv_task *t)
{
    /* Strict only for the confirm a stop that has returned still owes. */
    confirm(run, t, !(dv_rt(t)->inspect_owed_strict && t->state == DV_TASK_STOPPING));
}

void dv_runner_resync(dv_runtime *run)
{
    for (size_t i = 0; i < dv_task_table_size(run->tasks); i++) {
        dv_task *t = dv_task_table_at(run->tasks, i);
        if (dv_task_state_is_active(t->state) && t->container_id)
            dv_runner_recheck(run, t);
    }
}
