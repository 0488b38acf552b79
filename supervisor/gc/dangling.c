/* The dangling-container reaper (dangling.h): timer, list job, selection,
 * removal job. */
#include "dangling.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "log.h"
#include "xalloc.h"
#include "labels.h"
#include "dangling_select.h"

struct dv_dangling {
    dv_runtime *run;
    dv_timer *timer;
    bool busy;            /* a list or remove job is out */
    bool armed_enabled;   /* the setting the timer was armed under */
    int64_t armed_period; /* ditto */
    bool list_failing;    /* log a broken Engine once, not every period */
    uint64_t scans;       /* for /v1/metrics */
    size_t last_found;    /* dangling containers at the last scan */
    uint64_t removed, failures;
};

struct scan_job {
    dv_dangling *d; /* for the loop side; the worker never touches it */
    dv_docker *dk;
    char node_id[DV_UUID_STRLEN + 1];
    bool remove;     /* false: list, true: remove VICTIMS */
    json_t *list;    /* out (list) */
    json_t *victims; /* in (remove): [{"id","name","task_id"}]; "error" added per failure */
    int r;
    dv_error err;
};

static void scan_job_free(struct scan_job *j)
{
    if (!j)
        return;
    json_decref(j->list);
    json_decref(j->victims);
    free(j);
}

/* ---- worker ---- */

static void scan_run(void *data)
{
    struct scan_job *j = data;
    if (!j->remove) {
        char label[128];
        snprintf(label, sizeof(label), "%s=%s", DV_LABEL_NODE_ID, j->node_id);
        _cleanup_json_ json_t *filters = json_pack("{s:[s]}", "label", label);
        /* running ones only, as Nomad's reconciler lists them */
        j->r = dv_docker_container_list(j->dk, false, filters, &j->list, &j->err);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(j->victims, i, v)
    {
        dv_error err;
        const char *id = json_string_value(json_object_get(v, "id"));
        if (dv_docker_container_remove(j->dk, id, true, true, &err) < 0 &&
            !dv_docker_is_not_found(&err))
            json_object_set_new(v, "error", json_string(err.msg));
    }
    j->r = 0;
}

/* ---- loop ---- */

static void arm(dv_dangling *d)
{
    const dv_agent_config *c = d->run->config;
    d->armed_enabled = c->docker.gc.dangling_containers.enabled;
    d->armed_period = c->docker.gc.dangling_containers.period_ns;
    if (d->armed_enabled)
        dv_timer_arm(d->timer, d->armed_period);
    else
        dv_timer_disarm(d->timer);
}

static bool claimed(const char *container_id, const char *task_id, void *userdata)
{
    dv_runtime *run = userdata;
    if (task_id && *task_id && dv_task_table_get(run->tasks, task_id))
        return true;
    for (size_t i = 0; i < dv_task_table_size(run->tasks); i++) {
        const dv_task *t = dv_task_table_at(run->tasks, i);
        if (t->container_id && strcmp(t->container_id, container_id) == 0)
            return true;
    }
    /* A record the agent did not load (yet) still claims its container, and so
     * does one recovery set aside (the operator decides about it). */
    return task_id && dv_uuid_is_valid(task_id) &&
           (dv_state_store_has_task(run->store, task_id) ||
            dv_state_store_is_quarantined(run->store, task_id));
}

static int submit(dv_dangling *d, struct scan_job *j);

static void removed_done(dv_dangling *d, struct scan_job *j)
{
    size_t i;
    json_t *v;
    json_array_foreach(j->victims, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "id"));
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *task = json_string_value(json_object_get(v, "task_id"));
        const char *error = json_string_value(json_object_get(v, "error"));
        if (error) {
            d->failures++;
            dv_log_warning("dangling container %.12s (%s, task %s): removal failed: %s", id, name,
                           *task ? task : "none", error);
        } else {
            d->removed++;
            dv_log_warning("dangling container %.12s (%s, task %s) removed: it carries this "
                           "agent's node id but no task claims it",
                           id, name, *task ? task : "none");
        }
    }
}

static void listed_done(dv_dangling *d, struct scan_job *j)
{
    dv_runtime *run = d->run;
    const dv_agent_config *c = run->config;
    if (j->r < 0) {
        if (!d->list_failing)
            dv_log_warning("dangling containers: cannot list containers: %s (trying again every "
                           "period)",
                           j->err.msg);
        d->list_failing = true;
        return;
    }
    d->list_failing = false;
    d->scans++;
    _cleanup_json_ json_t *candidates = dv_dangling_running(j->list);
    _cleanup_json_ json_t *victims = NULL;
    dv_error err;
    if (dv_dangling_select(candidates, run->node_id, claimed, run, dv_realtime_ns(),
                           c->docker.gc.dangling_containers.creation_grace_ns, &victims,
                           &err) < 0) {
        dv_log_error("dangling containers: %s", err.msg);
        return;
    }
    d->last_found = json_array_size(victims);
    if (d->last_found == 0)
        return;
    if (c->docker.gc.dangling_containers.dry_run) {
        size_t i;
        json_t *v;
        json_array_foreach(victims, i, v)
        {
            const char *task = json_string_value(json_object_get(v, "task_id"));
            dv_log_warning("dangling container %.12s (%s, task %s) would be removed "
                           "(gc.dangling_containers.dry_run)",
                           json_string_value(json_object_get(v, "id")),
                           json_string_value(json_object_get(v, "name")), *task ? task : "none");
        }
        return;
    }
    struct scan_job *rm = dv_xcalloc(1, sizeof(*rm));
    rm->d = d;
    rm->dk = run->docker;
    rm->remove = true;
    rm->victims = TAKE_PTR(victims);
    submit(d, rm);
}

static void scan_done(dv_loop *loop, void *data)
{
    (void)loop;
    struct scan_job *j = data;
    dv_dangling *d = j->d;
    d->busy = false;
    if (j->remove)
        removed_done(d, j);
    else
        listed_done(d, j); /* may submit the removal (busy again) */
    if (!d->busy)
        arm(d);
    scan_job_free(j);
}

static void scan_discard(void *data)
{
    scan_job_free(data);
}

static int submit(dv_dangling *d, struct scan_job *j)
{
    int r =
        dv_lanes_submit(d->run->lanes, DV_LANE_BACKGROUND, scan_run, scan_done, scan_discard, j);
    if (r < 0) {
        scan_job_free(j);
        return r;
    }
    d->busy = true;
    return 0;
}

static void on_timer(dv_loop *loop, void *userdata)
{
    (void)loop;
    dv_dangling *d = userdata;
    if (d->busy || !d->run->config->docker.gc.dangling_containers.enabled)
        return;
    struct scan_job *j = dv_xcalloc(1, sizeof(*j));
    j->d = d;
    j->dk = d->run->docker;
    snprintf(j->node_id, sizeof(j->node_id), "%s", d->run->node_id);
    if (submit(d, j) < 0)
        arm(d); /* shutting down: next period */
}

void dv_dangling_reconfigure(dv_runtime *run)
{
    dv_dangling *d = run->dangling;
    if (!d)
        return;
    bool enabled = run->config->docker.gc.dangling_containers.enabled;
    int64_t period = run->config->docker.gc.dangling_containers.period_ns;
    if (enabled == d->armed_enabled && period == d->armed_period)
        return;
    if (enabled != d->armed_enabled)
        dv_log_info("dangling containers: reaper %s", enabled ? "enabled" : "disabled");
    if (!d->busy)
        arm(d); /* a scan in flight re-arms when it ends */
    else if (!enabled)
        dv_timer_disarm(d->timer);
}

void dv_dangling_metrics(const dv_dangling *d, dv_buf *b)
{
    dv_buf_printf(b,
                  "# HELP dockvisor_dangling_scans_total Scans for dangling containers.\n"
                  "# TYPE dockvisor_dangling_scans_total counter\n"
                  "dockvisor_dangling_scans_total %llu\n"
                  "# HELP dockvisor_dangling_containers Dangling containers found by the last "
                  "scan (removed, or only reported in dry_run).\n"
                  "# TYPE dockvisor_dangling_containers gauge\n"
                  "dockvisor_dangling_containers %zu\n"
                  "# HELP dockvisor_dangling_containers_removed_total Dangling containers "
                  "removed.\n"
                  "# TYPE dockvisor_dangling_containers_removed_total counter\n"
                  "dockvisor_dangling_containers_removed_total %llu\n"
                  "# HELP dockvisor_dangling_removal_failures_total Dangling containers that "
                  "could not be removed.\n"
                  "# TYPE dockvisor_dangling_removal_failures_total counter\n"
                  "dockvisor_dangling_removal_failures_total %llu\n",
                  (unsigned long long)d->scans, d->last_found, (unsigned long long)d->removed,
                  (unsigned long long)d->failures);
}

dv_dangling *dv_dangling_new(dv_runtime *run)
{
    dv_dangling *d = dv_xcalloc(1, sizeof(*d));
    d->run = run;
    d->timer = dv_timer_new(run->loop, on_timer, d);
    arm(d);
    return d;
}

void dv_dangling_free(dv_dangling *d)
{
    if (!d)
        return;
    dv_timer_free(d->timer);
    free(d);
}
