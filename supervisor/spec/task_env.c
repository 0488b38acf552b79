/* The runtime variables of a task and its spec resolved against them (task_env.h). */
#include "task_env.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "interpolate.h"
#include "xalloc.h"

static const char *advertise_ip(const dv_agent_config *config, const dv_translate_ctx *ctx)
{
    if (ctx->advertise_ip && *ctx->advertise_ip)
        return ctx->advertise_ip;
    const char *bind = ctx->bind_address ? ctx->bind_address : config->bind_address;
    if (strcmp(bind, "0.0.0.0") == 0 || strcmp(bind, "::") == 0)
        return "127.0.0.1";
    return bind;
}

static void set_port_env(dv_kv *env, const char *label, const char *ip, int host_port,
                         int container_port)
{
    char key[96], value[128];
    bool v6 = strchr(ip, ':') != NULL;
    snprintf(key, sizeof(key), "NOMAD_PORT_%s", label);
    snprintf(value, sizeof(value), "%d", container_port);
    dv_kv_set(env, key, value);
    snprintf(key, sizeof(key), "NOMAD_HOST_PORT_%s", label);
    snprintf(value, sizeof(value), "%d", host_port);
    dv_kv_set(env, key, value);
    snprintf(key, sizeof(key), "NOMAD_IP_%s", label);
    dv_kv_set(env, key, ip);
    snprintf(key, sizeof(key), "NOMAD_HOST_IP_%s", label);
    dv_kv_set(env, key, ip);
    snprintf(value, sizeof(value), v6 ? "[%s]:%d" : "%s:%d", ip, host_port);
    snprintf(key, sizeof(key), "NOMAD_ADDR_%s", label);
    dv_kv_set(env, key, value);
    snprintf(key, sizeof(key), "NOMAD_HOST_ADDR_%s", label);
    dv_kv_set(env, key, value);
}

static void set_int(dv_kv *env, const char *key, int64_t value)
{
    char num[32];
    snprintf(num, sizeof(num), "%" PRId64, value);
    dv_kv_set(env, key, num);
}

static void set_ports(const dv_task_spec *spec, const dv_agent_config *config,
                      const dv_translate_ctx *ctx, dv_kv *env)
{
    const char *ip = advertise_ip(config, ctx);
    if (ctx->ports) {
        for (size_t i = 0; i < ctx->n_ports; i++) {
            const dv_port_alloc *a = &ctx->ports[i];
            set_port_env(env, a->label, ip, a->host_port,
                         a->container_port ? a->container_port : a->host_port);
        }
        return;
    }
    for (size_t i = 0; i < spec->network.n_ports; i++) {
        const dv_network_port *p = &spec->network.ports[i];
        int host = p->static_port ? p->static_port : config->port_min;
        set_port_env(env, p->label, ip, host, p->to ? p->to : host);
    }
}

void dv_task_runtime_env(const dv_task_spec *spec, const dv_agent_config *config,
                         const dv_translate_ctx *ctx, dv_kv *env)
{
    const char *job = ctx->job_name ? ctx->job_name : spec->name;
    const char *group = ctx->group_name ? ctx->group_name : spec->name;
    dv_kv_set(env, "NOMAD_TASK_NAME", spec->name);
    dv_kv_set(env, "NOMAD_JOB_NAME", job);
    dv_kv_set(env, "NOMAD_JOB_ID", job);
    dv_kv_set(env, "NOMAD_GROUP_NAME", group);
    dv_kv_set(env, "NOMAD_NAMESPACE", "default");
    const char *alloc_id = ctx->alloc_id ? ctx->alloc_id : ctx->task_id;
    dv_kv_set(env, "NOMAD_ALLOC_ID", alloc_id);
    char short_id[9];
    snprintf(short_id, sizeof(short_id), "%s", alloc_id);
    dv_kv_set(env, "NOMAD_SHORT_ALLOC_ID", short_id);
    set_int(env, "NOMAD_ALLOC_INDEX", ctx->alloc_index);
    _cleanup_free_ char *alloc_name = dv_xasprintf("%s.%s[%d]", job, group, ctx->alloc_index);
    dv_kv_set(env, "NOMAD_ALLOC_NAME", alloc_name);
    dv_kv_set(env, "NOMAD_ALLOC_DIR", "/alloc");
    dv_kv_set(env, "NOMAD_TASK_DIR", "/local");
    dv_kv_set(env, "NOMAD_SECRETS_DIR", "/secrets");
    set_int(env, "NOMAD_CPU_LIMIT", spec->resources.cpu);
    set_int(env, "NOMAD_MEMORY_LIMIT", spec->resources.memory);
    /* Nomad's taskenv: resources.memory_max as given, only when it is set;
     * config.memory_hard_limit is the driver's business and not reflected. */
    if (spec->resources.memory_max > 0)
        set_int(env, "NOMAD_MEMORY_MAX_LIMIT", spec->resources.memory_max);
    dv_kv_set(env, "NOMAD_DC", config->node.datacenter);
    dv_kv_set(env, "NOMAD_REGION", config->node.region);
    for (size_t i = 0; i < spec->meta.n; i++) {
        _cleanup_free_ char *key = dv_xasprintf("NOMAD_META_%s", spec->meta.v[i].key);
        /* Nomad: what a variable name cannot hold becomes '_' ("a.b" → a_b) */
        for (char *c = key; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '_')
                *c = '_';
        dv_kv_set(env, key, spec->meta.v[i].value);
    }
    set_ports(spec, config, ctx, env);
}

void dv_task_env(const dv_task_spec *spec, const dv_agent_config *config,
                 const dv_translate_ctx *ctx, dv_kv *ret)
{
    dv_kv runtime = {0};
    dv_task_runtime_env(spec, config, ctx, &runtime);
    for (size_t i = 0; i < spec->env.n; i++)
        if (!dv_kv_get(&runtime, spec->env.v[i].key))
            dv_kv_set(ret, spec->env.v[i].key, spec->env.v[i].value);
    for (size_t i = 0; i < runtime.n; i++)
        dv_kv_set(ret, runtime.v[i].key, runtime.v[i].value);
    dv_kv_free(&runtime);
}

struct resolve_ctx {
    const dv_agent_config *config;
    const dv_translate_ctx *ctx;
    json_t *parts; /* config and artifact resolved, kept for the caller's RET_JSON */
};

void dv_task_interp_vars(const dv_agent_config *config, const dv_translate_ctx *ctx,
                         const dv_kv *env, dv_interp_vars *ret)
{
    *ret = (dv_interp_vars){
        .env = env,
        .node_id = ctx->node_id,
        .node_name = config->node.name,
        .node_datacenter = config->node.datacenter,
        .node_region = config->node.region,
        .node_class = config->node.node_class,
        .meta = &config->node.meta,
        .attrs = ctx->attrs,
    };
}

static int resolve(dv_task_spec *spec, json_t *parts, void *userdata, dv_spec_error *err)
{
    struct resolve_ctx *rc = userdata;
    const dv_agent_config *config = rc->config;
    dv_interp_vars vars;
    /* The spec's env values see the runtime variables only (as Nomad's: an env
     * value naming another of the spec's is not resolved in order). */
    dv_kv runtime = {0}, env = {0};
    dv_task_runtime_env(spec, config, rc->ctx, &runtime);
    dv_task_interp_vars(config, rc->ctx, &runtime, &vars);
    int r = 0;
    for (size_t i = 0; i < spec->env.n && r >= 0; i++) {
        char field[DV_SPEC_FIELD_MAX];
        snprintf(field, sizeof(field), "env.%s", spec->env.v[i].key);
        char *value = NULL;
        r = dv_interpolate(spec->env.v[i].value, &vars, field, &value, err);
        if (r >= 0) {
            free(spec->env.v[i].value);
            spec->env.v[i].value = value;
        }
    }
    if (r >= 0) {
        dv_task_env(spec, config, rc->ctx, &env);
        vars.env = &env;
        r = dv_interpolate_json(parts, &vars, "", err);
    }
    if (r >= 0)
        rc->parts = json_incref(parts);
    dv_kv_free(&runtime);
    dv_kv_free(&env);
    return r;
}

int dv_spec_parse_for_task(const json_t *spec_json, const dv_agent_config *config,
                           const dv_translate_ctx *ctx, dv_task_spec **ret, json_t **ret_json,
                           dv_spec_error *err)
{
    struct resolve_ctx rc = {.config = config, .ctx = ctx};
    dv_task_spec *spec = NULL;
    int r = dv_spec_parse_resolved(spec_json, resolve, &rc, &spec, err);
    _cleanup_json_ json_t *parts = rc.parts;
    if (r < 0)
        return r;
    if (ret_json) {
        json_t *resolved = json_deep_copy(spec_json);
        if (!resolved)
            dv_oom("resolved spec");
        json_object_update(resolved, parts);
        if (spec->env.n) {
            json_t *env = json_object();
            for (size_t i = 0; i < spec->env.n; i++)
                json_object_set_new(env, spec->env.v[i].key, json_string(spec->env.v[i].value));
            json_object_set_new(resolved, "env", env);
        }
        *ret_json = resolved;
    }
    *ret = spec;
    return 0;
}
