/* The create body a spec would get, without an agent or a daemon. */
#include <stdlib.h>

#include "cleanup.h"
#include "policy.h"
#include "spec.h"
#include "spec_ports.h"
#include "task_env.h"
#include "translate.h"

int dv_translate_preview(const json_t *spec_json, const dv_agent_config *config,
                         const char *node_id, json_t **ret, dv_spec_error *err)
{
    dv_kv attrs = {0};
    dv_node_attrs(&attrs);
    dv_translate_ctx ctx = {
        .task_id = DV_PREVIEW_TASK_ID,
        .node_id = node_id ? node_id : DV_PREVIEW_TASK_ID,
        .attrs = &attrs,
    };
    /* As the runner: parsed for its ports, then resolved against them. */
    dv_task_spec *unported = NULL, *spec = NULL;
    dv_task_paths paths = {0};
    dv_port_request *reqs = NULL;
    dv_port_alloc *allocs = NULL;
    size_t n = 0;
    int r;
    if ((r = dv_spec_parse_for_task(spec_json, config, &ctx, &unported, NULL, err)) < 0 ||
        (r = dv_spec_port_requests(unported, &reqs, &n, err)) < 0 ||
        (r = dv_ports_placeholder(reqs, n, config->port_min, config->port_max, &allocs, err)) < 0)
        goto out;
    ctx.ports = allocs;
    ctx.n_ports = n;
    if ((r = dv_spec_parse_for_task(spec_json, config, &ctx, &spec, NULL, err)) < 0 ||
        (r = dv_task_paths_build(config->data_dir, DV_PREVIEW_TASK_ID, spec->name, &paths, err)) <
            0 ||
        (r = dv_policy_check(spec, config, &paths, err)) < 0)
        goto out;
    ctx.paths = &paths;
    /* ctx.security_opt NULL: a seccomp profile by path is shown as its path; a
     * preview reads no host file (translate.h) */
    dv_host_cpu(&ctx.ncpus, &ctx.cpu_total_mhz);
    r = dv_translate(spec, config, &ctx, ret, err);
out:
    free(allocs);
    free(reqs);
    dv_task_paths_clear(&paths);
    dv_task_spec_free(spec);
    dv_task_spec_free(unported);
    dv_kv_free(&attrs);
    return r;
}
