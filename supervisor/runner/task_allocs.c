/* Tasks of a group's allocation (task_runner.h, DESIGN.md "Task groups").
 *
 * An allocation is a set of tasks sharing an alloc id, an alloc dir and, in a
 * group with bridge networking, the network namespace of an infra (pause)
 * task: an ordinary task of its own (pulled, started, restarted, recovered,
 * destroyed like any) that publishes the group's ports. Its members are
 * created with NetworkMode container:<infra container>, and follow it: started
 * once it runs, restarted when it runs a new container (the namespace they
 * joined is gone), failed when it fails for good. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "duration.h"
#include "log.h"
#include "translate_host.h"
#include "task_dirs.h"
#include "task_runner.h"
#include "xalloc.h"

static dv_task *infra_of(dv_runtime *run, const dv_task *t)
{
    return t->alloc.infra_task_id[0] ? dv_task_table_get(run->tasks, t->alloc.infra_task_id) : NULL;
}

int dv_runner_alloc_ctx(dv_runtime *run, const dv_task *t, dv_translate_ctx *ctx,
                        dv_port_alloc **allocs, dv_spec_error *err)
{
    if (!t->alloc.id[0])
        return 0;
    ctx->alloc_id = t->alloc.id;
    ctx->job_name = t->alloc.job;
    ctx->group_name = t->alloc.group;
    ctx->alloc_index = t->alloc.index;
    if (!t->alloc.infra_task_id[0])
        return 0;
    dv_task *infra = infra_of(run, t);
    if (!infra)
        return dv_spec_fail(err, "", -ENOENT,
                            "the infra task %.8s of allocation %.8s (whose network this task "
                            "joins) is gone",
                            t->alloc.infra_task_id, t->alloc.id);
    dv_task_rt *rt = dv_rt(t);
    if (rt && !rt->network_join)
        rt->network_join = dv_xasprintf("container:%s", infra->container_name);
    /* The group's ports, as NOMAD_PORT_* and friends: published by the infra
     * container, never by this one. */
    dv_port_alloc *ports = dv_xcalloc(infra->nports ? infra->nports : 1, sizeof(*ports));
    for (size_t i = 0; i < infra->nports; i++)
        ports[i] = (dv_port_alloc){.label = infra->ports[i].label,
                                   .host_port = infra->ports[i].host_port,
                                   .container_port = infra->ports[i].container_port};
    free(*allocs);
    *allocs = ports;
    ctx->ports = ports;
    ctx->n_ports = infra->nports;
    ctx->network_join = rt ? rt->network_join : NULL;
    return 0;
}

static bool infra_gone_for_good(const dv_task *infra)
{
    return infra->desired == DV_DESIRED_STOPPED || infra->state == DV_TASK_FAILED ||
           infra->state == DV_TASK_EXITED || infra->state == DV_TASK_STOPPED ||
           infra->state == DV_TASK_DESTROYING;
}

bool dv_runner_alloc_hold_start(dv_runtime *run, dv_task *t)
{
    if (!t->alloc.infra_task_id[0])
        return false;
    dv_task_rt *rt = dv_rt(t);
    dv_task *infra = infra_of(run, t);
    if (!infra || infra_gone_for_good(infra)) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "the allocation's infra container (the group's network) is %s: not started",
                 infra ? dv_task_state_name(infra->state) : "gone");
        rt->held_for_infra = false;
        dv_runner_fail_start(run, t, -ENETDOWN, msg);
        return true;
    }
    if (infra->state == DV_TASK_RUNNING && infra->container_id) {
        rt->held_for_infra = false;
        dv_task_set_str(&t->alloc.joined, infra->container_id);
        return false;
    }
    if (!rt->held_for_infra)
        dv_task_event_add(t, &dv_runner_ops, run, "Waiting",
                          "waiting for the allocation's infra container (task %.8s, %s) to run",
                          infra->id, dv_task_state_name(infra->state));
    rt->held_for_infra = true;
    return true;
}

void dv_runner_alloc_release(dv_runtime *run, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    if (!rt || !rt->held_for_infra)
        return;
    rt->held_for_infra = false;
    dv_runner_fail_start(run, t, -ECANCELED,
                         "called off while waiting for the allocation's infra container");
}

void dv_runner_alloc_changed(dv_runtime *run, dv_task *infra)
{
    if (!infra->alloc.infra || !dv_rt(infra))
        return;
    bool running = infra->state == DV_TASK_RUNNING && infra->container_id;
    bool gone = infra_gone_for_good(infra);
    if (!running && !gone)
        return;
    /* The table may change under a feed (a member destroyed): by id, each once. */
    size_t n = dv_task_table_size(run->tasks);
    _cleanup_free_ char(*ids)[DV_UUID_STRLEN + 1] = dv_xcalloc(n ? n : 1, sizeof(*ids));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        dv_task *m = dv_task_table_at(run->tasks, i);
        if (strcmp(m->alloc.infra_task_id, infra->id) == 0)
            memcpy(ids[k++], m->id, sizeof(ids[0]));
    }
    for (size_t i = 0; i < k; i++) {
        dv_task *m = dv_task_table_get(run->tasks, ids[i]);
        dv_task_rt *rt = m ? dv_rt(m) : NULL;
        if (!rt)
            continue;
        if (rt->held_for_infra) {
            /* started now, or failed by the check it meets again */
            dv_runner_submit_start(run, m);
            continue;
        }
        if (running && m->state == DV_TASK_RUNNING && m->desired == DV_DESIRED_RUNNING &&
            (!m->alloc.joined || strcmp(m->alloc.joined, infra->container_id) != 0)) {
            dv_task_event_add(m, &dv_runner_ops, run, "Restart Signaled",
                              "the allocation's infra container was replaced (now %.12s): "
                              "restarting to join its network",
                              infra->container_id);
            dv_task_input in = {.event = DV_TE_RESTART};
            dv_runner_feed(run, m, &in);
        }
    }
}

void dv_runner_alloc_forgotten(dv_runtime *run, const char *alloc_id)
{
    dv_task *infra = NULL;
    size_t members = 0, tasks = 0;
    for (size_t i = 0; i < dv_task_table_size(run->tasks); i++) {
        dv_task *t = dv_task_table_at(run->tasks, i);
        if (strcmp(t->alloc.id, alloc_id) != 0)
            continue;
        tasks++;
        if (t->alloc.infra)
            infra = t;
        else
            members++;
    }
    if (infra && !members && dv_rt(infra) && dv_rt(infra)->destroy_when_alone) {
        dv_rt(infra)->destroy_when_alone = false;
        dv_task_input in = {.event = DV_TE_DESTROY, .force = true};
        dv_runner_feed(run, infra, &in);
        return;
    }
    if (tasks)
        return;
    _cleanup_free_ char *root = dv_alloc_root(run->config->data_dir, alloc_id);
    dv_error err;
    if (dv_remove_tree(root, &err) < 0)
        dv_log_warning("allocation %.8s: removing its directory: %s", alloc_id, err.msg);
}

/* ---- creating a group's allocations ---- */

/* The infra task of allocation INDEX of G: the infra image, the group's ports
 * and DNS, no logs, restarted as long as the allocation lives. */
static json_t *infra_spec(const dv_runtime *run, const dv_group_spec *g)
{
    char timeout[32];
    dv_duration_format(run->config->docker.infra_image_pull_timeout_ns, timeout, sizeof(timeout));
    json_t *ports = json_object(), *published = json_array();
    for (size_t i = 0; i < g->n_ports; i++) {
        json_array_append_new(published, json_string(g->ports[i].label));
        json_t *p = json_object();
        if (g->ports[i].static_port)
            json_object_set_new(p, "static", json_integer(g->ports[i].static_port));
        if (g->ports[i].to)
            json_object_set_new(p, "to", json_integer(g->ports[i].to));
        json_object_set_new(ports, g->ports[i].label, p);
    }
    /* every port of the group is published, by the one container owning the network */
    json_t *config = json_pack("{s:s,s:s,s:o}", "image", run->config->docker.infra_image,
                               "image_pull_timeout", timeout, "ports", published);
    if (g->dns_servers.n)
        json_object_set_new(config, "dns_servers", dv_json_strv(&g->dns_servers));
    if (g->dns_searches.n)
        json_object_set_new(config, "dns_search_domains", dv_json_strv(&g->dns_searches));
    if (g->dns_options.n)
        json_object_set_new(config, "dns_options", dv_json_strv(&g->dns_options));
    _cleanup_free_ char *name = dv_xasprintf("%s-infra", g->name);
    return json_pack("{s:s,s:o,s:{s:s,s:o},s:{s:I,s:I},s:{s:b},s:s,s:{s:i,s:s,s:s,s:s}}", "name",
                     name, "config", config, "network", "mode", "bridge", "ports", ports,
                     "resources", "cpu", (json_int_t)10, "memory", (json_int_t)10, "logs",
                     "disabled", 1, "kill_timeout", "5s", "restart", "attempts", 30, "interval",
                     "1m", "delay", "1s", "mode", "delay");
}

/* Task I of G as it is submitted: the group's own mode when it is not bridge
 * (policed then as a task's own would be). */
static json_t *member_spec(const dv_group_spec *g, size_t i)
{
    json_t *spec = json_deep_copy(g->tasks[i]);
    const char *mode = g->network_mode;
    if (strcmp(mode, "host") == 0 || strcmp(mode, "none") == 0)
        json_object_set_new(spec, "network", json_pack("{s:s}", "mode", mode));
    else if (strcmp(mode, "bridge") != 0)
        json_object_set_new(json_object_get(spec, "config"), "network_mode", json_string(mode));
    return spec;
}

int dv_runner_create_group(dv_runtime *run, const dv_group_spec *g, dv_task ***ret, size_t *ret_n,
                           unsigned *ret_status, dv_spec_error *err)
{
    bool bridge = strcmp(g->network_mode, "bridge") == 0;
    size_t per_alloc = g->n_tasks + (bridge ? 1 : 0);
    size_t total = per_alloc * (size_t)g->count, n = 0;
    dv_task **tasks = dv_xcalloc(total, sizeof(*tasks));
    int r = 0;
    for (int64_t index = 0; index < g->count && r >= 0; index++) {
        dv_task_alloc alloc = {.job = g->job, .group = g->name, .index = (int)index};
        dv_error e;
        if ((r = dv_uuid_v4(alloc.id, &e)) < 0) {
            *ret_status = 500;
            dv_spec_fail_from(err, NULL, &e);
            break;
        }
        if (bridge) {
            _cleanup_json_ json_t *spec = infra_spec(run, g);
            dv_task_alloc infra = alloc;
            infra.infra = true;
            if ((r = dv_runner_create(run, spec, &infra, &tasks[n], ret_status, err)) < 0) {
                /* the group's ports or DNS, or the agent's infra_image */
                if (err && strncmp(err->field, "network.", 8) != 0)
                    snprintf(err->field, sizeof(err->field), "docker.infra_image");
                break;
            }
            memcpy(alloc.infra_task_id, tasks[n]->id, sizeof(alloc.infra_task_id));
            n++;
        }
        for (size_t i = 0; i < g->n_tasks && r >= 0; i++) {
            _cleanup_json_ json_t *spec = member_spec(g, i);
            if ((r = dv_runner_create(run, spec, &alloc, &tasks[n], ret_status, err)) < 0) {
                char prefix[32];
                snprintf(prefix, sizeof(prefix), "tasks[%zu]", i);
                dv_spec_error_prefix(err, prefix);
                break;
            }
            n++;
        }
    }
    if (r < 0) {
        /* nothing of the group: members first, their infra tasks last */
        while (n > 0)
            dv_runner_abandon(run, tasks[--n]);
        free(tasks);
        return r;
    }
    *ret = tasks;
    *ret_n = n;
    return 0;
}

int dv_runner_destroy_alloc(dv_runtime *run, const char *alloc_id, dv_error *err)
{
    dv_task *infra = NULL;
    size_t n = dv_task_table_size(run->tasks), k = 0;
    _cleanup_free_ char(*ids)[DV_UUID_STRLEN + 1] = dv_xcalloc(n ? n : 1, sizeof(*ids));
    for (size_t i = 0; i < n; i++) {
        dv_task *t = dv_task_table_at(run->tasks, i);
        if (strcmp(t->alloc.id, alloc_id) != 0)
            continue;
        if (t->alloc.infra)
            infra = t;
        else
            memcpy(ids[k++], t->id, sizeof(ids[0]));
    }
    if (!infra && !k)
        return dv_error_set(err, -ENOENT, "no allocation %s", alloc_id);
    /* The members first; the infra container, owner of their network, once they
     * are gone (dv_runner_alloc_forgotten). */
    if (infra && k)
        dv_rt(infra)->destroy_when_alone = true;
    else if (infra) {
        dv_task_input in = {.event = DV_TE_DESTROY, .force = true};
        dv_runner_feed(run, infra, &in);
    }
    for (size_t i = 0; i < k; i++) {
        dv_task *t = dv_task_table_get(run->tasks, ids[i]);
        if (!t)
            continue;
        dv_task_input in = {.event = DV_TE_DESTROY, .force = true};
        dv_runner_feed(run, t, &in);
    }
    return 0;
}
