/* What the runtime's observers (runtime.h) tell the outside: the lines of
 * /v1/events, the answers of DELETE requests waiting for a destroy, systemd's
 * STATUS= and the drains waiting for their tasks. */
#include "agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "clock.h"
#include "xalloc.h"

struct dv_destroy_wait {
    char task_id[DV_UUID_STRLEN + 1];
    dv_api_waiters waiters;
};

/* ---- /v1/events lines ---- */

json_t *dv_agent_event_line(const dv_task *t, const dv_task_event *ev)
{
    json_t *j = dv_task_event_to_json(ev);
    if (j)
        json_object_update_new(j, json_pack("{s:s,s:s,s:s}", "task_id", t->id, "task_name", t->name,
                                            "state", dv_task_state_name(t->state)));
    return j;
}

json_t *dv_agent_state_line(const dv_task *t)
{
    json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "time_ns", (json_int_t)dv_realtime_ns(),
                          "type", "state", "task_id", t->id, "task_name", t->name, "state",
                          dv_task_state_name(t->state), "desired",
                          t->desired == DV_DESIRED_STOPPED ? "stopped" : "running");
    if (j && dv_task_state_is_terminal(t->state) && t->exit.valid)
        json_object_set_new(j, "exit_code", json_integer(t->exit.exit_code));
    if (j && t->waiting) /* a follower (run, stop) can stop waiting with the task */
        json_object_set_new(j, "waiting", json_string(t->waiting));
    return j;
}

/* ---- DELETE waiters ---- */

static struct dv_destroy_wait *find_wait(dv_agent *a, const char *task_id)
{
    for (size_t i = 0; i < a->n_destroy_waits; i++)
        if (strcmp(a->destroy_waits[i].task_id, task_id) == 0)
            return &a->destroy_waits[i];
    return NULL;
}

void dv_agent_wait_destroy(dv_agent *a, const char *task_id, dv_api_request *req)
{
    struct dv_destroy_wait *w = find_wait(a, task_id);
    if (!w) {
        struct dv_destroy_wait *v = a->destroy_waits =
            dv_xreallocarray(a->destroy_waits, a->n_destroy_waits + 1, sizeof(*v));
        w = &v[a->n_destroy_waits++];
        *w = (struct dv_destroy_wait){0};
        snprintf(w->task_id, sizeof(w->task_id), "%s", task_id);
    }
    dv_api_waiters_add(&w->waiters, req);
}

/* The waiters of TASK_ID, taken out of the map (empty when there are none). */
static dv_api_waiters take_waiters(dv_agent *a, const char *task_id)
{
    struct dv_destroy_wait *w = find_wait(a, task_id);
    if (!w)
        return (dv_api_waiters){0};
    dv_api_waiters taken = w->waiters;
    *w = a->destroy_waits[--a->n_destroy_waits];
    return taken;
}

void dv_agent_destroy_waits_free(dv_agent *a)
{
    for (size_t i = 0; i < a->n_destroy_waits; i++)
        dv_api_waiters_fail(&a->destroy_waits[i].waiters, 503, "the agent is shutting down");
    free(a->destroy_waits);
    a->destroy_waits = NULL;
    a->n_destroy_waits = 0;
}

static void answer_destroyed(dv_api_request *req, void *ctx)
{
    dv_api_respond_json(req, 200, json_pack("{s:s}", "id", ((const dv_task *)ctx)->id));
}

/* ---- the observers ---- */

static void on_task_event(void *ctx, const dv_task *t, const dv_task_event *ev, bool transient)
{
    (void)transient; /* the same line: only the record keeps it or not */
    dv_agent *a = ctx;
    _cleanup_json_ json_t *line = dv_agent_event_line(t, ev);
    if (line)
        dv_event_hub_publish(a->hub, t->id, line);
}

static void on_task_state(void *ctx, const dv_task *t)
{
    dv_agent *a = ctx;
    _cleanup_json_ json_t *line = dv_agent_state_line(t);
    if (line)
        dv_event_hub_publish(a->hub, t->id, line);
    dv_agent_notify_status(a);
}

static void on_task_gone(void *ctx, const dv_task *t, enum dv_task_gone_why why, const char *detail)
{
    dv_agent *a = ctx;
    dv_api_waiters waiters = take_waiters(a, t->id);
    if (why == DV_TASK_GONE_DESTROYED) {
        _cleanup_json_ json_t *line = dv_agent_state_line(t);
        if (line) {
            json_object_set_new(line, "state", json_string("destroyed"));
            dv_event_hub_publish(a->hub, t->id, line);
        }
        dv_api_waiters_answer(&waiters, answer_destroyed, (void *)t);
    } else {
        dv_api_waiters_fail(&waiters, 409, detail ? detail : "the task's record was set aside");
    }
    /* The last line for a follower of this task alone: its stream ends here. */
    dv_event_hub_close_task(a->hub, t->id);
    dv_agent_notify_status(a);
}

static void on_destroy_failed(void *ctx, const dv_task *t, const dv_error *err)
{
    dv_agent *a = ctx;
    dv_api_waiters waiters = take_waiters(a, t->id);
    if (err->unreachable) {
        /* The task stays destroying and the destroy goes on once the Engine
         * answers; whoever asked hears why it is not done yet. */
        char why[DV_ERROR_MSG_MAX + 64];
        snprintf(why, sizeof(why), "%s; the task is destroyed once the Docker Engine answers",
                 err->msg);
        dv_api_waiters_fail(&waiters, 503, why);
    } else {
        dv_api_waiters_fail(&waiters, err->code == -ETIMEDOUT ? 504 : 500, err->msg);
    }
}

static void on_busy(void *ctx, const char *what)
{
    (void)ctx;
    sd_notifyf(0, "STATUS=%s", what);
}

void dv_agent_observe(dv_agent *a)
{
    a->run.observers = (dv_runtime_observers){
        .ctx = a,
        .task_event = on_task_event,
        .task_state = on_task_state,
        .task_gone = on_task_gone,
        .destroy_failed = on_destroy_failed,
        .busy = on_busy,
    };
}
