/* Accepting a task: spec → checks → ports → directories → record; and the
 * runner's per-task data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "clock.h"
#include "inotify_limit.h"
#include "log.h"
#include "policy.h"
#include "spec_ports.h"
#include "task_dirs.h"
#include "task_env.h"
#include "task_runner.h"
#include "translate.h"
#include "xalloc.h"

static void on_timer_cb(dv_loop *loop, void *userdata);
static void on_retry_cb(dv_loop *loop, void *userdata);

/* T's runtime data; SPEC and PATHS become T's. */
static void attach(dv_runtime *run, dv_task *t, dv_task_spec *spec, dv_task_paths *paths)
{
    dv_task_rt *rt = dv_xcalloc(1, sizeof(*rt));
    rt->run = run;
    rt->spec = spec;
    rt->paths = *paths;
    *paths = (dv_task_paths){0};
    rt->proc = (dv_docklog_proc)DV_DOCKLOG_PROC_INIT;
    rt->gaps_wd = -1;
    rt->timer = dv_timer_new(run->loop, on_timer_cb, t);
    rt->retry_timer = dv_timer_new(run->loop, on_retry_cb, t);
    rt->docklog_config_path = dv_xasprintf("%s/docklog.json", rt->paths.task_root);
    rt->docklog_checkpoint_path = dv_xasprintf("%s/docklog.checkpoint", rt->paths.task_root);
    rt->docklog_diag_path = dv_xasprintf("%s/docklog.log", rt->paths.task_root);
    rt->docklog_gaps_path = dv_xasprintf("%s/docklog.gaps", rt->paths.task_root);
    t->runner = rt;
}

/* The context a spec is resolved in before T has ports: placeholders (task_env.h). */
static dv_translate_ctx unported_ctx(dv_runtime *run, const char *task_id)
{
    return (dv_translate_ctx){
        .task_id = task_id, .node_id = run->node_id, .attrs = &run->node_attrs};
}

/* T's spec resolved against its ports and the node (task_env.h), kept in
 * t->spec_resolved for the task's life: what every check, the translation and
 * the image job see. */
static int resolve_spec(dv_runtime *run, dv_task *t, dv_spec_error *err)
{
    dv_task_rt *rt = dv_rt(t);
    dv_translate_ctx tc;
    _cleanup_free_ dv_port_alloc *allocs = NULL;
    dv_task_spec *spec = NULL;
    json_t *resolved = NULL;
    int r = dv_runner_translate_ctx(run, t, &tc, &allocs, err);
    if (r == 0)
        r = dv_spec_parse_for_task(t->spec, run->config, &tc, &spec, &resolved, err);
    if (r < 0)
        return r;
    dv_task_spec_free(rt->spec);
    rt->spec = spec;
    json_decref(t->spec_resolved);
    t->spec_resolved = resolved;
    dv_task_set_str(&t->image, spec->config.image);
    return 0;
}

int dv_runner_attach(dv_runtime *run, dv_task *t, dv_error *err)
{
    dv_spec_error serr;
    dv_spec_error_clear(&serr);
    dv_task_spec *spec = NULL;
    dv_task_paths paths = {0};
    /* As it was accepted: the node's meta or name may have changed since. */
    dv_translate_ctx tc = unported_ctx(run, t->id);
    int r = t->spec_resolved
                ? dv_spec_parse(t->spec_resolved, &spec, &serr)
                : dv_spec_parse_for_task(t->spec, run->config, &tc, &spec, NULL, &serr);
    if (r == 0)
        r = dv_task_paths_build_in(run->config->data_dir, t->id, t->name,
                                   t->alloc.id[0] ? t->alloc.id : NULL, &paths, &serr);
    if (r < 0) {
        dv_task_spec_free(spec);
        return dv_error_set(err, r, "task %s: %s", t->id, serr.err.msg);
    }
    attach(run, t, spec, &paths);
    /* A record from before resolved specs were kept: resolved now, once. */
    if (!t->spec_resolved && (r = resolve_spec(run, t, &serr)) < 0) {
        dv_runner_free_rt(t);
        return dv_error_set(err, r, "task %s: %s", t->id, serr.err.msg);
    }
    return 0;
}

void dv_runner_free_rt(dv_task *t)
{
    dv_task_rt *rt = t ? dv_rt(t) : NULL;
    if (!rt)
        return;
    dv_logger_detach(t);
    dv_timer_free(rt->timer);
    dv_timer_free(rt->retry_timer);
    dv_timer_free(rt->logger_timer);
    dv_timer_free(rt->engine_timer);
    free(rt->stop_owed_signal);
    free(rt->network_join);
    dv_task_spec_free(rt->spec);
    dv_task_paths_clear(&rt->paths);
    free(rt->docklog_config_path);
    free(rt->docklog_checkpoint_path);
    free(rt->docklog_diag_path);
    free(rt->docklog_gaps_path);
    free(rt->image_user);
    free(rt);
    t->runner = NULL;
}

static void on_timer_cb(dv_loop *loop, void *userdata)
{
    (void)loop;
    dv_task *t = userdata;
    dv_runtime *run = dv_rt(t)->run;
    dv_task_input in = {0};
    if (t->state == DV_TASK_RESTARTING)
        in.event = DV_TE_RESTART_DUE;
    else if (t->state == DV_TASK_STOPPING)
        in.event = DV_TE_KILL_TIMEOUT;
    else
        return;
    dv_runner_feed(run, t, &in);
}

static void on_retry_cb(dv_loop *loop, void *userdata)
{
    (void)loop;
    dv_task *t = userdata;
    if (dv_task_state_is_active(t->state))
        dv_runner_recheck(dv_rt(t)->run, t);
}

static int take_ports(dv_runtime *run, dv_task *t, const dv_task_spec *spec, unsigned *ret_status,
                      dv_spec_error *err)
{
    _cleanup_free_ dv_port_request *reqs = NULL;
    size_t n = 0;
    int r = dv_spec_port_requests(spec, &reqs, &n, err);
    if (r < 0) {
        *ret_status = 400;
        return r;
    }
    if (n == 0)
        return 0;
    _cleanup_free_ dv_port_claim *claims = dv_xcalloc(n, sizeof(*claims));
    t->ports = dv_xcalloc(n, sizeof(*t->ports));
    for (size_t i = 0; i < n; i++)
        claims[i] = (dv_port_claim){.label = reqs[i].label, .static_port = reqs[i].static_port};
    dv_error perr;
    r = dv_ports_assign(run->ports, t->id, claims, n, &perr);
    if (r < 0) {
        *ret_status = r == -EADDRNOTAVAIL ? 503 : 409;
        char field[DV_SPEC_FIELD_MAX] = "network.ports";
        for (size_t i = 0; i < n; i++)
            if (claims[i].failed)
                snprintf(field, sizeof(field), "network.ports.%s", reqs[i].label);
        return dv_spec_fail(err, field, r, "%s", perr.msg);
    }
    for (size_t i = 0; i < n; i++) {
        t->ports[i] = (dv_port_mapping){
            .label = dv_xstrdup(reqs[i].label),
            .host_port = claims[i].value,
            .container_port = reqs[i].container_port ? reqs[i].container_port : claims[i].value,
            .is_static = reqs[i].static_port > 0,
        };
        t->nports++;
    }
    return 0;
}

static void alloc_copy(const dv_task_alloc *from, dv_task_alloc *to)
{
    memcpy(to->id, from->id, sizeof(to->id));
    memcpy(to->infra_task_id, from->infra_task_id, sizeof(to->infra_task_id));
    to->index = from->index;
    to->infra = from->infra;
    dv_task_set_str(&to->job, from->job);
    dv_task_set_str(&to->group, from->group);
}

int dv_runner_create(dv_runtime *run, const json_t *spec_json, const dv_task_alloc *alloc,
                     dv_task **ret, unsigned *ret_status, dv_spec_error *err)
{
    *ret_status = 400;
    if (!json_is_object(spec_json))
        return dv_spec_fail(err, NULL, -EINVAL, "the task spec must be a JSON object");
    char id[DV_UUID_STRLEN + 1];
    dv_error e;
    int r = dv_uuid_v4(id, &e);
    if (r < 0) {
        *ret_status = 500;
        return dv_spec_fail_from(err, NULL, &e);
    }
    /* Parsed first with placeholder ports, for the ports to claim; resolved
     * against the claimed ones (resolve_spec) before anything is checked. */
    dv_task_spec *spec = NULL;
    dv_translate_ctx unported = unported_ctx(run, id);
    _cleanup_free_ dv_port_alloc *group_ports = NULL;
    /* A member sees its allocation (and its group's ports) from the first parse;
     * UNPORTED points into PROBE, which lives as long as it does. */
    dv_task probe = {.state = DV_TASK_PENDING};
    if (alloc) {
        probe.alloc = *alloc;
        if ((r = dv_runner_alloc_ctx(run, &probe, &unported, &group_ports, err)) < 0)
            return r;
    }
    if ((r = dv_spec_parse_for_task(spec_json, run->config, &unported, &spec, NULL, err)) < 0)
        return r;
    dv_task_paths paths = {0};
    dv_task *t = NULL;
    _cleanup_json_ json_t *body = NULL; /* before any goto: cleanup runs on every exit */
    if ((r = dv_task_paths_build_in(run->config->data_dir, id, spec->name, alloc ? alloc->id : NULL,
                                    &paths, err)) < 0)
        goto fail;
    t = dv_task_new(id, spec->name);
    if (alloc)
        alloc_copy(alloc, &t->alloc);
    t->spec = json_deep_copy(spec_json);
    t->kill_timeout_ns = spec->kill_timeout_ns;
    if (spec->kill_signal[0])
        dv_task_set_str(&t->kill_signal, spec->kill_signal);
    t->restart_policy = spec->restart;
    dv_task_set_str(&t->image, spec->config.image);
    t->created_ns = dv_realtime_ns();
    if ((r = take_ports(run, t, spec, ret_status, err)) < 0)
        goto fail;
    attach(run, t, spec, &paths);
    spec = NULL; /* the task's now */
    dv_task_rt *rt = dv_rt(t);
    if ((r = resolve_spec(run, t, err)) < 0 ||
        (r = dv_policy_check(rt->spec, run->config, &rt->paths, err)) < 0 ||
        (r = dv_policy_check_devices(rt->spec, run->config, NULL, err)) < 0)
        goto fail_ports;

    /* A dry run of the translation, so what cannot be built is a 400 now, not a
     * failed task later. */
    dv_translate_ctx tc;
    dv_port_alloc *allocs = NULL;
    r = dv_runner_translate_ctx(run, t, &tc, &allocs, err);
    if (r == 0)
        r = dv_translate(rt->spec, run->config, &tc, &body, err);
    free(allocs);
    if (r < 0)
        goto fail_ports;
    if ((r = dv_task_dirs_make(&rt->paths, &e)) < 0 || (r = dv_task_table_add(run->tasks, t)) < 0) {
        *ret_status = r == -ENOSPC || r == -EDQUOT ? 507 : 500;
        dv_spec_fail_from(err, NULL, &e);
        goto fail_ports;
    }
    dv_inotify_check(run);
    *ret = t;
    return 0;
fail_ports:
    dv_ports_release_task(run->ports, t->id);
    dv_runner_free_rt(t);
    dv_task_free(t);
    return r;
fail:
    if (t)
        dv_ports_release_task(run->ports, t->id);
    dv_task_free(t);
    dv_task_paths_clear(&paths);
    dv_task_spec_free(spec);
    return r;
}

void dv_runner_abandon(dv_runtime *run, dv_task *t)
{
    dv_error err;
    dv_ports_release_task(run->ports, t->id);
    if (dv_rt(t) && dv_remove_tree(dv_rt(t)->paths.task_root, &err) < 0)
        dv_log_warning("task %.8s: removing its directory: %s", t->id, err.msg);
    char alloc_id[sizeof(t->alloc.id)];
    memcpy(alloc_id, t->alloc.id, sizeof(alloc_id));
    dv_task_table_remove(run->tasks, t, dv_runner_free_rt);
    if (alloc_id[0]) /* its allocation's dir, with its last task */
        dv_runner_alloc_forgotten(run, alloc_id);
}
