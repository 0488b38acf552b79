#include "drain.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "task_runner.h"
#include "task_table.h"
#include "xalloc.h"

struct dv_drain {
    dv_api_request *req;
    json_t *tasks; /* [{"id","was"}]: was = state name before the drain */
    int64_t started_ns;
    struct dv_drain *next;
};

static bool complete(const dv_runtime *run, const struct dv_drain *d)
{
    size_t i;
    json_t *e;
    json_array_foreach(d->tasks, i, e)
    {
        if (!dv_task_drain_settled(
                dv_task_table_get(run->tasks, json_string_value(json_object_get(e, "id")))))
            return false;
    }
    return true;
}

static json_t *summary(const dv_runtime *run, const struct dv_drain *d)
{
    json_t *stopped = json_array(), *already = json_array(), *failed = json_array(),
           *gone = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(d->tasks, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        const char *was = json_string_value(json_object_get(e, "was"));
        dv_task *t = dv_task_table_get(run->tasks, id);
        enum dv_task_state before = DV_TASK_PENDING;
        dv_task_state_from_name(was, &before);
        if (!t)
            json_array_append_new(gone, json_string(id));
        else if (dv_task_state_is_terminal(before) && dv_task_state_is_terminal(t->state))
            json_array_append_new(already, json_string(id));
        else if (dv_task_state_is_terminal(t->state))
            json_array_append_new(stopped, json_string(id));
        else
            json_array_append_new(
                failed, json_pack("{s:s,s:s,s:s}", "id", id, "state", dv_task_state_name(t->state),
                                  "reason",
                                  "still running: the stop failed, or it was restarted since "
                                  "(see its events)"));
    }
    return json_pack("{s:I,s:o,s:o,s:o,s:o,s:I}", "tasks", (json_int_t)json_array_size(d->tasks),
                     "stopped", stopped, "already_down", already, "not_stopped", failed,
                     "destroyed", gone, "took_ns", (json_int_t)(dv_monotonic_ns() - d->started_ns));
}

static void answer(dv_drains *ds, struct dv_drain *d)
{
    json_t *s = summary(ds->run, d);
    dv_log_info("drain done: %zu tasks, %zu stopped, %zu were down already, %zu not stopped",
                json_array_size(d->tasks), json_array_size(json_object_get(s, "stopped")),
                json_array_size(json_object_get(s, "already_down")),
                json_array_size(json_object_get(s, "not_stopped")));
    dv_api_respond_json(d->req, 200, s);
    dv_api_request_unref(d->req);
    json_decref(d->tasks);
    free(d);
}

void dv_drain_check(dv_drains *ds)
{
    struct dv_drain **p = &ds->pending;
    while (*p) {
        struct dv_drain *d = *p;
        if (complete(ds->run, d)) {
            *p = d->next;
            answer(ds, d);
        } else {
            p = &d->next;
        }
    }
}

void dv_drain_request(dv_drains *ds, dv_api_request *req)
{
    dv_runtime *run = ds->run;
    struct dv_drain *d = dv_xcalloc(1, sizeof(*d));
    d->tasks = json_array();
    d->started_ns = dv_monotonic_ns();
    size_t n = dv_task_table_size(run->tasks);
    dv_log_info("drain: stopping %zu tasks", n);
    /* Ids first: a stop can end a task's life in the table only later (on the
     * loop), but collect them before feeding anything all the same. */
    for (size_t i = 0; i < n; i++) {
        dv_task *t = dv_task_table_at(run->tasks, i);
        json_array_append_new(
            d->tasks, json_pack("{s:s,s:s}", "id", t->id, "was", dv_task_state_name(t->state)));
    }
    size_t i;
    json_t *e;
    json_array_foreach(d->tasks, i, e)
    {
        dv_task *t = dv_task_table_get(run->tasks, json_string_value(json_object_get(e, "id")));
        if (!t)
            continue;
        /* kill_signal / kill_timeout of the spec; a finished task just gets
         * desired = stopped, so no restart of any kind brings it back. */
        dv_task_input in = {.event = DV_TE_STOP};
        dv_runner_feed(run, t, &in);
    }
    d->req = dv_api_request_ref(req);
    d->next = ds->pending;
    ds->pending = d;
    dv_drain_check(ds);
}

void dv_drain_free(dv_drains *ds)
{
    while (ds->pending) {
        struct dv_drain *d = ds->pending;
        ds->pending = d->next;
        if (!dv_api_request_answered(d->req))
            dv_api_respond_error(d->req, 503, NULL, "the agent is shutting down");
        dv_api_request_unref(d->req);
        json_decref(d->tasks);
        free(d);
    }
}
