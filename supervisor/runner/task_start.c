/* The start of a task's container (task_runner.h): the translation of its spec
 * into a create body, the START job and its result. */
#include "task_runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "clock.h"
#include "log.h"
#include "policy.h"
#include "spec_ports.h"
#include "task_dirs.h"
#include "task_jobs.h"
#include "translate.h"
#include "xalloc.h"

/* ---- START ---- */

int dv_runner_translate_ctx(dv_runtime *run, const dv_task *t, dv_translate_ctx *ret,
                            dv_port_alloc **ret_allocs, dv_spec_error *err)
{
    const dv_task_rt *rt = dv_rt(t);
    _cleanup_free_ dv_port_request *reqs = NULL;
    size_t nreqs = 0;
    int r = dv_spec_port_requests(rt->spec, &reqs, &nreqs, err);
    if (r < 0)
        return r;
    dv_port_alloc *allocs = dv_xcalloc(t->nports ? t->nports : 1, sizeof(*allocs));
    for (size_t i = 0; i < t->nports; i++) {
        allocs[i] = (dv_port_alloc){.label = t->ports[i].label,
                                    .host_port = t->ports[i].host_port,
                                    .container_port = t->ports[i].container_port};
        for (size_t k = 0; k < nreqs; k++)
            if (strcmp(reqs[k].label, t->ports[i].label) == 0)
                allocs[i].publish = reqs[k].publish;
    }
    *ret = (dv_translate_ctx){
        .task_id = t->id,
        .node_id = run->node_id,
        .paths = &rt->paths,
        .ports = allocs,
        .n_ports = t->nports,
        .ncpus = run->ncpus,
        .cpu_total_mhz = run->cpu_total_mhz,
        .attrs = &run->node_attrs,
    };
    *ret_allocs = allocs;
    return dv_runner_alloc_ctx(run, t, ret, ret_allocs, err);
}

static int translate(dv_runtime *run, dv_task *t, json_t **ret, dv_spec_error *err)
{
    dv_task_rt *rt = dv_rt(t);
    /* At every create, not only at submit: a reload may have narrowed the policy,
     * and the task's own directories may have changed since (a task that put
     * local/link -> / there and exited would get the host's root bound on its
     * restart). */
    _cleanup_(dv_strv_free) dv_strv devices = {0}, security_opt = {0};
    int r;
    /* A seccomp profile given by path is read here, at each create, through the
     * same checks: the file may have changed, or been swapped for a symlink. */
    if ((r = dv_policy_check(rt->spec, run->config, &rt->paths, err)) < 0 ||
        (r = dv_policy_check_host_paths(rt->spec, run->config, &rt->paths, err)) < 0 ||
        (r = dv_policy_check_devices(rt->spec, run->config, &devices, err)) < 0 ||
        (r = dv_policy_security_opts(rt->spec, run->config, &rt->paths, &security_opt, err)) < 0)
        return r;
    dv_translate_ctx tc;
    _cleanup_free_ dv_port_alloc *allocs = NULL;
    if ((r = dv_runner_translate_ctx(run, t, &tc, &allocs, err)) < 0)
        return r;
    tc.image = t->image_id; /* exactly what was pulled */
    tc.device_paths = &devices;
    tc.security_opt = &security_opt;
    return dv_translate(rt->spec, run->config, &tc, ret, err);
}

static void start_done(dv_loop *loop, void *data)
{
    (void)loop;
    dv_job *j = data;
    dv_runtime *run = j->run;
    dv_task *bad = dv_runner_named_foreign(run, j, j->old_container_id);
    if (bad) {
        dv_runner_set_aside(run, bad, j->err.msg);
        dv_job_free(j);
        return;
    }
    dv_task *t = dv_runner_current(j);
    if (!t) {
        /* Nobody wants this container any more: do not leave it behind. */
        if (j->r == 0 && j->container_id) {
            dv_job *rm = dv_job_new(DV_JOB_REMOVE, run, NULL);
            /* its own check needs the task id the container carries */
            snprintf(rm->task_id, sizeof(rm->task_id), "%s", j->task_id);
            snprintf(rm->node_id, sizeof(rm->node_id), "%s", j->node_id);
            rm->container_id = dv_xstrdup(j->container_id);
            dv_runner_submit(run, rm, dv_runner_free_job_done);
        }
        dv_logger_reap_orphan(run, &j->proc, j->docklog.checkpoint_path);
        dv_job_free(j);
        return;
    }
    if (!j->err.unreachable)
        dv_runner_engine_reached(run, t);
    if (j->r < 0) {
        if (!dv_runner_engine_wait(run, t, DV_ENGINE_OP_START, &j->err))
            dv_runner_feed_simple(run, t, DV_TE_START_FAILED, &j->err);
        dv_job_free(j);
        return;
    }
    dv_task_set_str(&t->container_id, j->container_id);
    dv_task_set_str(&t->ip, j->ip);
    dv_task_set_str(&t->network_name, j->network_name);
    t->auto_advertise = j->auto_advertise;
    if (j->reused)
        dv_task_event_add(t, &dv_runner_ops, run, "Driver",
                          "reusing the running container %.12s that already had the name %s",
                          j->container_id, t->container_name);
    if (j->docklog_note[0])
        dv_task_event_add(t, &dv_runner_ops, run, "Driver", "%s", j->docklog_note);
    if (j->docklog_started)
        dv_logger_adopt_child(run, t, &j->proc);
    else if (j->docklog_error[0])
        dv_task_event_add(t, &dv_runner_ops, run, "Driver", "%s", j->docklog_error);
    bool exited = !j->running;
    dv_exit_result ex = j->exit;
    j->exit = (dv_exit_result){0};
    if (exited && strcmp(dv_rt(t)->oom_container, j->container_id) == 0)
        ex.oom_killed = true; /* Docker said so while the start was under way */
    dv_runner_feed_simple(run, t, DV_TE_STARTED, NULL);
    /* It may be done already (echo hello): the exit is known from the inspect. */
    if (exited && t->state == DV_TASK_RUNNING) {
        dv_task_input in = {.event = DV_TE_EXITED, .exit = &ex};
        dv_runner_feed(run, t, &in);
    }
    dv_exit_result_clear(&ex);
    dv_job_free(j);
}

void dv_runner_fail_start(dv_runtime *run, dv_task *t, int code, const char *msg)
{
    dv_runner_fail_later(run, dv_job_new(DV_JOB_START, run, t), start_done, code, msg);
}

static void submit_start(dv_runtime *run, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    if (dv_runner_alloc_hold_start(run, t))
        return; /* its network is not there yet: task_allocs.c starts it */
    dv_spec_error serr;
    dv_spec_error_clear(&serr);
    dv_job *j = dv_job_new(DV_JOB_START, run, t);
    if (translate(run, t, &j->body, &serr) < 0) {
        dv_runner_fail_later(run, j, start_done, serr.err.code ? serr.err.code : -EINVAL,
                             serr.err.msg);
        return;
    }
    j->container_name = dv_xstrdup(t->container_name);
    j->container_exists_attempts = (int)run->config->docker.container_exists_attempts;
    j->old_container_id = t->container_id ? dv_xstrdup(t->container_id) : NULL;
    j->user_from_spec = rt->spec->user != NULL;
    const char *user = rt->spec->user ? rt->spec->user : rt->image_user;
    j->user = user ? dv_xstrdup(user) : NULL;
    dv_task_paths_copy(&rt->paths, &j->dirs);
    j->advertise_ipv6 = rt->spec->config.advertise_ipv6_address;
    const dv_task_spec *s = rt->spec;
    bool files = s->logs.file, journald = s->logs.journald;
    j->logs_enabled = !s->logs.disabled && !run->config->docker.disable_log_collection &&
                      (files || journald) && run->docklog_bin;
    if (!run->docklog_bin && !s->logs.disabled && !run->config->docker.disable_log_collection)
        snprintf(j->docklog_error, sizeof(j->docklog_error), "logs are not collected: %s",
                 run->docklog_missing);
    if (j->logs_enabled) {
        j->docklog_bin = dv_xstrdup(run->docklog_bin);
        j->docklog_config_path = dv_xstrdup(rt->docklog_config_path);
        j->docklog_diag_path = dv_xstrdup(rt->docklog_diag_path);
        dv_logger_launch_opts(run, t, j);
        /* The helper reaches the Engine as the agent's client does, whatever its
         * TLS came from; docklog takes the three files together or none. */
        dv_docker *dk = run->docker;
        char endpoint[1024];
        bool tls_files = dv_docker_tls_cert(dk) && dv_docker_tls_key(dk) && dv_docker_tls_ca(dk);
        j->docklog = (dv_docklog_config){
            .endpoint =
                dv_job_keep(j, dv_docklog_endpoint(dv_docker_endpoint(dk), dv_docker_tls(dk),
                                                   endpoint, sizeof(endpoint))),
            .tls_cert = tls_files ? dv_job_keep(j, dv_docker_tls_cert(dk)) : NULL,
            .tls_key = tls_files ? dv_job_keep(j, dv_docker_tls_key(dk)) : NULL,
            .tls_ca = tls_files ? dv_job_keep(j, dv_docker_tls_ca(dk)) : NULL,
            .container_name = dv_job_keep(j, t->container_name),
            .tty = s->config.tty,
            .task_name = dv_job_keep(j, t->name),
            .task_id = dv_job_keep(j, t->id),
            .image = dv_job_keep(j, t->image),
            .files_enabled = files,
            .files_dir = dv_job_keep(j, rt->paths.logs_dir),
            .files_base = dv_job_keep(j, t->name),
            .max_files = (int)s->logs.max_files,
            .max_file_size_mb = (int)s->logs.max_file_size,
            .journald_enabled = journald,
            .checkpoint_path = dv_job_keep(j, rt->docklog_checkpoint_path),
            .gaps_path = dv_job_keep(j, rt->docklog_gaps_path),
            /* a static string; read at each start, so a reload applies to the next */
            .source = dv_log_source_name(run->config->docker.log_source),
        };
    }
    dv_runner_submit(run, j, start_done);
}

void dv_runner_submit_start(dv_runtime *run, dv_task *t)
{
    submit_start(run, t);
}

void dv_runner_start_container(void *ctx, dv_task *t)
{
    dv_runtime *run = ctx;
    /* The previous container's helper must finish first: files are shared and the
     * old container may only go once it is drained. */
    if (!dv_logger_idle(t)) {
        dv_rt(t)->start_after_logs = true;
        dv_logger_finish(run, t);
        return;
    }
    submit_start(run, t);
}
