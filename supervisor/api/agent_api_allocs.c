/* Task groups over the API: a group (or a Nomad job) submitted to /v1/tasks,
 * and /v1/allocs (list, show, destroy). DESIGN.md "Task groups". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_api.h"
#include "cleanup.h"
#include "group_spec.h"
#include "log.h"
#include "nomad_job.h"
#include "task_env.h"
#include "xalloc.h"
#include "task_runner.h"

/* The allocations of TASKS (grouped by alloc id, in their order), as the API shows them. */
static json_t *allocs_json(dv_task *const *tasks, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const dv_task *t = tasks[i];
        if (!t->alloc.id[0])
            continue;
        json_t *alloc = NULL;
        size_t k;
        json_t *a;
        json_array_foreach(list, k, a)
        {
            if (strcmp(json_string_value(json_object_get(a, "id")), t->alloc.id) == 0)
                alloc = a;
        }
        if (!alloc) {
            alloc = json_pack("{s:s,s:s?,s:s?,s:i,s:[]}", "id", t->alloc.id, "job", t->alloc.job,
                              "group", t->alloc.group, "index", t->alloc.index, "tasks");
            json_array_append_new(list, alloc);
        }
        json_array_append_new(json_object_get(alloc, "tasks"),
                              json_pack("{s:s,s:s,s:s,s:b}", "id", t->id, "name", t->name, "state",
                                        dv_task_state_name(t->state), "infra", t->alloc.infra));
    }
    return list;
}

/* Undo a group whose records could not all be written: nothing was started. */
static void abandon_all(dv_agent *a, dv_task **tasks, size_t n, size_t saved)
{
    for (size_t i = 0; i < saved; i++) {
        dv_error e;
        if (dv_state_store_remove_task(a->run.store, tasks[i]->id, &e) < 0)
            dv_log_warning("task %.8s: removing its record: %s", tasks[i]->id, e.msg);
    }
    while (n > 0)
        dv_runner_abandon(&a->run, tasks[--n]);
}

/* Create every task of GROUPS (group JSONs; errors prefixed "Job.TaskGroups[i]"
 * when FROM_JOB), all or nothing. */
static int create_groups(dv_agent *a, const json_t *groups, bool from_job, dv_task ***ret,
                         size_t *ret_n, unsigned *status, dv_spec_error *err)
{
    dv_task **all = NULL;
    size_t n = 0;
    int r = 0;
    for (size_t i = 0; r >= 0 && i < json_array_size(groups); i++) {
        dv_group_spec *g = NULL;
        dv_task **tasks = NULL;
        size_t k = 0;
        *status = 400;
        r = dv_group_spec_parse(json_array_get(groups, i), &g, err);
        if (r >= 0)
            r = dv_runner_create_group(&a->run, g, &tasks, &k, status, err);
        dv_group_spec_free(g);
        if (r < 0) {
            if (from_job) {
                char prefix[48];
                snprintf(prefix, sizeof(prefix), "Job.TaskGroups[%zu]", i);
                dv_spec_error_prefix(err, prefix);
            }
            break;
        }
        all = realloc(all, (n + k) * sizeof(*all));
        if (!all)
            dv_oom("group tasks");
        memcpy(all + n, tasks, k * sizeof(*tasks));
        n += k;
        free(tasks);
    }
    if (r < 0) {
        while (n > 0)
            dv_runner_abandon(&a->run, all[--n]);
        free(all);
        return r;
    }
    *ret = all;
    *ret_n = n;
    return 0;
}

static void submit_groups(dv_agent *a, dv_api_request *req, const json_t *groups, bool from_job)
{
    dv_spec_error err;
    dv_spec_error_clear(&err);
    dv_task **tasks = NULL;
    size_t n = 0;
    unsigned status = 400;
    if (create_groups(a, groups, from_job, &tasks, &n, &status, &err) < 0) {
        dv_log_info("refused a %s: %s", from_job ? "job" : "group spec", err.err.msg);
        dv_api_respond_error(req, status, err.field, "%s", err.err.msg);
        return;
    }
    /* Every record durable before the answer and before any Docker side effect,
     * as for a task alone; the group (the job) is all or nothing. */
    for (size_t i = 0; i < n; i++) {
        dv_error e;
        if (dv_runner_save(&a->run, tasks[i], &e) < 0) {
            unsigned code = e.code == -ENOSPC || e.code == -EDQUOT ? 507 : 503;
            dv_log_warning("refused a group: a record cannot be written: %s", e.msg);
            abandon_all(a, tasks, n, i);
            free(tasks);
            dv_api_respond_error(req, code, NULL,
                                 "the agent cannot record the group (nothing was started): %s",
                                 e.msg);
            return;
        }
    }
    json_t *answer = allocs_json(tasks, n);
    for (size_t i = 0; i < n; i++)
        dv_api_task_received(a, tasks[i]);
    free(tasks);
    dv_api_respond_json(req, 201, json_pack("{s:o}", "allocations", answer));
}

void dv_api_group_submit(dv_agent *a, dv_api_request *req, const json_t *group_json)
{
    _cleanup_json_ json_t *groups = json_pack("[O]", group_json);
    submit_groups(a, req, groups, false);
}

void dv_api_job_submit(dv_agent *a, dv_api_request *req, const json_t *job_json)
{
    dv_interp_vars node;
    dv_task_interp_vars(&a->config,
                        &(dv_translate_ctx){.node_id = a->run.node_id, .attrs = &a->run.node_attrs},
                        NULL, &node);
    dv_spec_error err;
    dv_spec_error_clear(&err);
    _cleanup_json_ json_t *groups = NULL;
    if (dv_nomad_job_to_groups(job_json, &node, &groups, &err) < 0) {
        dv_log_info("refused a job: %s", err.err.msg);
        dv_api_respond_error(req, 400, err.field, "%s", err.err.msg);
        return;
    }
    submit_groups(a, req, groups, true);
}

static void allocs_list(dv_agent *a, dv_api_request *req, const char *only)
{
    size_t n = dv_task_table_size(a->run.tasks);
    _cleanup_free_ dv_task **tasks = calloc(n ? n : 1, sizeof(*tasks));
    size_t k = 0;
    for (size_t i = 0; tasks && i < n; i++) {
        dv_task *t = dv_task_table_at(a->run.tasks, i);
        if (t->alloc.id[0] && (!only || strcmp(t->alloc.id, only) == 0))
            tasks[k++] = t;
    }
    if (!tasks) {
        dv_api_respond_error(req, 500, NULL, "out of memory");
        return;
    }
    json_t *list = allocs_json(tasks, k);
    if (!only) {
        dv_api_respond_json(req, 200, list);
    } else if (json_array_size(list) == 1) {
        dv_api_respond_json(req, 200, json_incref(json_array_get(list, 0)));
        json_decref(list);
    } else {
        json_decref(list);
        dv_api_respond_error(req, 404, NULL, "no allocation %s", only);
    }
}

void dv_api_allocs(dv_agent *a, dv_api_request *req, const char *id)
{
    const char *method = dv_api_request_method(req);
    if (strcmp(method, "GET") == 0) {
        allocs_list(a, req, id);
        return;
    }
    if (!id || strcmp(method, "DELETE") != 0) {
        dv_api_respond_error(req, 405, NULL, "%s is not allowed on %s", method,
                             dv_api_request_path(req));
        return;
    }
    dv_error e;
    if (dv_runner_destroy_alloc(&a->run, id, &e) < 0) {
        dv_api_respond_error(req, e.code == -ENOENT ? 404 : 409, NULL, "%s", e.msg);
        return;
    }
    dv_api_respond_json(req, 202, json_pack("{s:s,s:s}", "id", id, "state", "destroying"));
}

bool dv_api_infra_in_use(dv_agent *a, dv_api_request *req, const dv_task *t)
{
    if (!t->alloc.infra)
        return false;
    for (size_t i = 0; i < dv_task_table_size(a->run.tasks); i++) {
        const dv_task *m = dv_task_table_at(a->run.tasks, i);
        if (strcmp(m->alloc.infra_task_id, t->id) == 0) {
            dv_api_respond_error(req, 409, NULL,
                                 "task %s is the infra container of allocation %s, whose tasks "
                                 "use its network: destroy the allocation (DELETE /v1/allocs/%s)",
                                 t->id, t->alloc.id, t->alloc.id);
            return true;
        }
    }
    return false;
}
