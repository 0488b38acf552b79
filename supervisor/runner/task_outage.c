/* A Docker Engine that cannot be reached (task_runner.h, DESIGN.md "Engine
 * outages"): a stopped or restarting dockerd is waited out. A task that needs
 * the Engine to get going stays where it is and tries again; a container the
 * Engine's going down stopped is started again without spending the restart
 * policy's attempts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "duration.h"
#include "log.h"
#include "task_runner.h"
#include "xalloc.h"

int64_t dv_engine_retry_next(int64_t previous_ns)
{
    if (previous_ns <= 0)
        return DV_ENGINE_RETRY_MIN;
    return previous_ns >= DV_ENGINE_RETRY_MAX / 2 ? DV_ENGINE_RETRY_MAX : previous_ns * 2;
}

static void feed_failed(dv_runtime *run, dv_task *t, const dv_error *err)
{
    dv_task_input in = {.event = DV_TE_START_FAILED, .error = err};
    dv_runner_feed(run, t, &in);
}

static bool called_off(const dv_task *t)
{
    return t->destroy_requested || t->desired == DV_DESIRED_STOPPED || t->restart_requested;
}

static void on_engine_timer(dv_loop *loop, void *userdata)
{
    (void)loop;
    dv_task *t = userdata;
    dv_task_rt *rt = dv_rt(t);
    dv_runtime *run = rt->run;
    enum dv_engine_op op = rt->engine_op;
    rt->engine_op = DV_ENGINE_OP_NONE;
    if (op == DV_ENGINE_OP_NONE)
        return;
    if (op == DV_ENGINE_OP_DESTROY) { /* nothing calls a destroy off */
        if (t->state == DV_TASK_DESTROYING)
            dv_runner_destroy_step(run, t);
        return;
    }
    if (called_off(t)) {
        dv_error err = rt->engine_err;
        free(t->waiting);
        t->waiting = NULL;
        rt->engine_backoff_ns = 0;
        feed_failed(run, t, &err);
        return;
    }
    /* Same state, same gen: the result of the new try is as current as the first. */
    if (op == DV_ENGINE_OP_IMAGE && t->state == DV_TASK_PULLING)
        dv_runner_fetch_image(run, t);
    else if (op == DV_ENGINE_OP_START && t->state == DV_TASK_STARTING)
        dv_runner_submit_start(run, t);
}

bool dv_runner_engine_wait(dv_runtime *run, dv_task *t, enum dv_engine_op op, const dv_error *err)
{
    dv_task_rt *rt = dv_rt(t);
    if (!err->unreachable)
        return false;
    if (op != DV_ENGINE_OP_DESTROY && called_off(t)) {
        free(t->waiting);
        t->waiting = NULL;
        rt->engine_backoff_ns = 0;
        return false;
    }
    if (!rt->engine_timer)
        rt->engine_timer = dv_timer_new(run->loop, on_engine_timer, t);
    bool first = t->waiting == NULL;
    rt->engine_op = op;
    rt->engine_err = *err;
    rt->engine_backoff_ns = dv_engine_retry_next(rt->engine_backoff_ns);
    char d[32], why[DV_ERROR_MSG_MAX + 128];
    dv_duration_format(rt->engine_backoff_ns, d, sizeof(d));
    snprintf(why, sizeof(why), "Docker Engine unreachable: %s; trying again in %s", err->msg, d);
    if (dv_task_set_str(&t->waiting, why) < 0)
        return false;
    static const char *const what[] = {
        [DV_ENGINE_OP_IMAGE] = "fetching the image",
        [DV_ENGINE_OP_START] = "starting",
        [DV_ENGINE_OP_DESTROY] = "destroying",
    };
    if (first)
        dv_task_event_add(t, &dv_runner_ops, run, "Engine Unreachable",
                          "Docker Engine unreachable: %s, waiting (%s again once it answers)",
                          err->msg, what[op]);
    else
        dv_log_debug("task %.8s: %s", t->id, why);
    dv_timer_arm(rt->engine_timer, rt->engine_backoff_ns);
    return true;
}

void dv_runner_engine_reached(dv_runtime *run, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    rt->engine_backoff_ns = 0;
    if (!t->waiting)
        return;
    free(t->waiting);
    t->waiting = NULL;
    dv_task_event_add(t, &dv_runner_ops, run, "Engine Reachable",
                      "the Docker Engine answers again: going on");
}

void dv_runner_stop_unreachable(dv_runtime *run, dv_task *t, const dv_error *err)
{
    if (!err->unreachable || t->waiting)
        return;
    dv_rt(t)->stop_owed = true;
    /* The confirm owed retries after the resync once the Engine is back. */
    dv_task_set_str(&t->waiting,
                    "Docker Engine unreachable: the stop is confirmed once it answers again");
    dv_task_event_add(t, &dv_runner_ops, run, "Engine Unreachable",
                      "Docker Engine unreachable: %s, waiting (the stop is confirmed once it "
                      "answers again)",
                      err->msg);
}

void dv_runner_stop_reached(dv_task *t)
{
    if (t->waiting && dv_rt(t)->engine_op == DV_ENGINE_OP_NONE) {
        free(t->waiting);
        t->waiting = NULL;
    }
}

void dv_runner_engine_wait_cancel(dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    /* From inside the state machine: the timer brings the answer, never a call. */
    if (rt->engine_op != DV_ENGINE_OP_NONE && rt->engine_timer)
        dv_timer_arm(rt->engine_timer, 0);
}

void dv_runner_engine_back(dv_runtime *run)
{
    for (size_t i = 0; i < dv_task_table_size(run->tasks); i++) {
        dv_task *t = dv_task_table_at(run->tasks, i);
        dv_task_rt *rt = dv_rt(t);
        if (rt && rt->engine_op != DV_ENGINE_OP_NONE && rt->engine_timer) {
            rt->engine_backoff_ns = 0;
            dv_timer_arm(rt->engine_timer, 0);
        }
    }
}

void dv_runner_engine_lost(dv_runtime *run, int64_t since_ns)
{
    for (size_t i = 0; i < dv_task_table_size(run->tasks); i++) {
        dv_task *t = dv_task_table_at(run->tasks, i);
        if (dv_task_state_is_active(t->state) && t->container_id)
            dv_runner_outage_note(t, since_ns);
    }
}

void dv_runner_outage_note(dv_task *t, int64_t since_ns)
{
    dv_task_rt *rt = dv_rt(t);
    if (rt && since_ns > 0 && (rt->outage_since_ns == 0 || since_ns < rt->outage_since_ns))
        rt->outage_since_ns = since_ns;
}

bool dv_runner_outage_exit(dv_task *t, const dv_exit_result *x)
{
    dv_task_rt *rt = dv_rt(t);
    int64_t since = rt ? rt->outage_since_ns : 0;
    if (rt)
        rt->outage_since_ns = 0;
    if (since == 0)
        return false;
    /* An exit Docker has no time for (the container vanished with the daemon's
     * data) is the outage's too. */
    return !x || x->finished_ns <= 0 || x->finished_ns >= since - DV_OUTAGE_SLACK;
}
