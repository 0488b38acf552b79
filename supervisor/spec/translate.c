/* Spec → Engine create body: the Config part (image, command, env, labels,
 * networking); HostConfig is translate_host.c. */
#include "translate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "image_name.h"
#include "policy.h"
#include "labels.h"
#include "spec_json.h"
#include "spec_parse.h"
#include "translate_host.h"
#include "xalloc.h"

#define NOMAD_LABEL_PREFIX "com.hashicorp.nomad."

int dv_container_name(const char *task_name, const char *task_id, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s-%s", task_name, task_id);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    return 0;
}

char *dv_translate_interpolate(const char *in, const dv_kv *env)
{
    _cleanup_buf_ dv_buf out = DV_BUF_INIT;
    const char *p = in;
    int r = 0;
    while (r >= 0 && *p) {
        const char *start = strstr(p, "${");
        const char *end = start ? strchr(start + 2, '}') : NULL;
        if (!end) {
            r = dv_buf_appends(&out, p);
            break;
        }
        r = dv_buf_append(&out, p, (size_t)(start - p));
        _cleanup_free_ char *name = dv_xstrndup(start + 2, (size_t)(end - start - 2));
        const char *value = dv_kv_get(env, name);
        if (r >= 0)
            r = value ? dv_buf_appends(&out, value)
                      : dv_buf_append(&out, start, (size_t)(end - start + 1));
        p = end + 1;
    }
    /* dv_buf (common/) reports exhaustion rather than aborting; the policy here is abort. */
    char *s = r < 0 ? NULL : dv_buf_steal(&out);
    if (!s)
        dv_oom("interpolate");
    return s;
}

static json_t *interpolated(const char *in, const dv_kv *env)
{
    _cleanup_free_ char *v = dv_translate_interpolate(in, env);
    return json_string(v);
}

static json_t *interpolated_strv(const dv_strv *s, const dv_kv *env)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n; i++) {
        _cleanup_free_ char *v = dv_translate_interpolate(s->v[i], env);
        if (json_array_append_new(a, json_string(v)) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

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

/* The spec's env, then the runtime variables of DESIGN.md, which win. Values
 * are interpolated (a user value may say "${NOMAD_PORT_http}"). */
static void build_env(const dv_task_spec *spec, const dv_agent_config *config,
                      const dv_translate_ctx *ctx, dv_kv *ret)
{
    dv_kv runtime = {0}, env = {0};
    char num[32];
    dv_kv_set(&runtime, "NOMAD_TASK_NAME", spec->name);
    dv_kv_set(&runtime, "NOMAD_ALLOC_ID", ctx->task_id);
    dv_kv_set(&runtime, "NOMAD_ALLOC_DIR", "/alloc");
    dv_kv_set(&runtime, "NOMAD_TASK_DIR", "/local");
    dv_kv_set(&runtime, "NOMAD_SECRETS_DIR", "/secrets");
    snprintf(num, sizeof(num), "%" PRId64, spec->resources.cpu);
    dv_kv_set(&runtime, "NOMAD_CPU_LIMIT", num);
    snprintf(num, sizeof(num), "%" PRId64, spec->resources.memory);
    dv_kv_set(&runtime, "NOMAD_MEMORY_LIMIT", num);
    /* Nomad's taskenv: resources.memory_max as given, only when it is set;
     * config.memory_hard_limit is the driver's business and not reflected. */
    if (spec->resources.memory_max > 0) {
        snprintf(num, sizeof(num), "%" PRId64, spec->resources.memory_max);
        dv_kv_set(&runtime, "NOMAD_MEMORY_MAX_LIMIT", num);
    }
    const char *ip = advertise_ip(config, ctx);
    for (size_t i = 0; i < ctx->n_ports; i++) {
        const dv_port_alloc *a = &ctx->ports[i];
        set_port_env(&runtime, a->label, ip, a->host_port,
                     a->container_port ? a->container_port : a->host_port);
    }
    for (size_t i = 0; i < spec->env.n; i++) {
        if (dv_kv_get(&runtime, spec->env.v[i].key))
            continue;
        _cleanup_free_ char *v = dv_translate_interpolate(spec->env.v[i].value, &runtime);
        dv_kv_set(&env, spec->env.v[i].key, v);
    }
    for (size_t i = 0; i < runtime.n; i++)
        dv_kv_set(&env, runtime.v[i].key, runtime.v[i].value);
    dv_kv_free(&runtime);
    *ret = env;
}

static void build_labels(const dv_task_spec *spec, const dv_agent_config *config,
                         const dv_translate_ctx *ctx, const dv_kv *env, dv_kv *ret)
{
    dv_kv labels = {0};
    for (size_t i = 0; i < spec->config.labels.n; i++) {
        _cleanup_free_ char *v = dv_translate_interpolate(spec->config.labels.v[i].value, env);
        dv_kv_set(&labels, spec->config.labels.v[i].key, v);
    }
    /* Ours after the user's: the reaper and recovery depend on them. */
    dv_kv_set(&labels, DV_LABEL_TASK_ID, ctx->task_id);
    dv_kv_set(&labels, DV_LABEL_TASK_NAME, spec->name);
    dv_kv_set(&labels, DV_LABEL_NODE_ID, ctx->node_id);
    /* Nomad's "main mandatory label", on every container: tooling written
     * for Nomad finds its containers by it. */
    dv_kv_set(&labels, NOMAD_LABEL_PREFIX "alloc_id", ctx->task_id);
    if (config->docker.extra_labels.n) {
        /* Every name a glob matches. In a single-task world job, group and
         * task all carry the task's name. */
        const struct {
            const char *name, *value;
        } extra[] = {
            {"job_name", spec->name},        {"job_id", spec->name},
            {"task_group_name", spec->name}, {"task_name", spec->name},
            {"namespace", "default"},        {"node_name", ctx->node_name ? ctx->node_name : ""},
            {"node_id", ctx->node_id},
        };
        for (size_t i = 0; i < DV_ARRAY_SIZE(extra); i++) {
            bool on = false;
            for (size_t g = 0; g < config->docker.extra_labels.n && !on; g++)
                on = dv_extra_label_glob(config->docker.extra_labels.v[g], extra[i].name);
            if (!on)
                continue;
            char key[64];
            snprintf(key, sizeof(key), NOMAD_LABEL_PREFIX "%s", extra[i].name);
            dv_kv_set(&labels, key, extra[i].value);
        }
    }
    *ret = labels;
}

static json_t *env_array(const dv_kv *env)
{
    json_t *a = json_array();
    for (size_t i = 0; i < env->n; i++) {
        _cleanup_free_ char *s = dv_xasprintf("%s=%s", env->v[i].key, env->v[i].value);
        if (json_array_append_new(a, json_string(s)) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* VALUE is NULL only when Jansson refused a string (NULL or not UTF-8): memory aborts
 * (common/xalloc.h). */
static int put(json_t *obj, const char *key, json_t *value)
{
    return value && json_object_set_new(obj, key, value) == 0 ? 0 : -EINVAL;
}

static int command(const dv_task_spec *spec, const dv_kv *env, json_t *body)
{
    const dv_task_config *c = &spec->config;
    int r = 0;
    if (c->entrypoint_set)
        r = put(body, "Entrypoint", interpolated_strv(&c->entrypoint, env));
    if (r < 0)
        return r;
    if (c->command && *c->command) {
        _cleanup_free_ char *cmd = dv_translate_interpolate(c->command, env);
        json_t *args = interpolated_strv(&c->args, env);
        if (!args || json_array_insert_new(args, 0, json_string(cmd)) < 0) {
            json_decref(args);
            return -EINVAL;
        }
        return put(body, "Cmd", args);
    }
    if (c->args.n)
        return put(body, "Cmd", interpolated_strv(&c->args, env));
    return 0;
}

static int networking(const dv_task_spec *spec, const dv_kv *env, json_t *body)
{
    const dv_task_config *c = &spec->config;
    if (!c->network_aliases.n && !c->ipv4_address && !c->ipv6_address)
        return 0;
    json_t *endpoint = json_object();
    int r = put(body, "NetworkingConfig",
                json_pack("{s{so}}", "EndpointsConfig", dv_spec_network_mode(spec), endpoint));
    if (r < 0)
        return r;
    if (c->network_aliases.n)
        r = put(endpoint, "Aliases", interpolated_strv(&c->network_aliases, env));
    if (r >= 0 && (c->ipv4_address || c->ipv6_address)) {
        json_t *ipam = json_object();
        r = put(endpoint, "IPAMConfig", ipam);
        if (r >= 0 && c->ipv4_address)
            r = put(ipam, "IPv4Address", json_string(c->ipv4_address));
        if (r >= 0 && c->ipv6_address)
            r = put(ipam, "IPv6Address", json_string(c->ipv6_address));
    }
    return r;
}

static int config_part(const dv_task_spec *spec, const dv_kv *env, const dv_kv *labels,
                       const char *image, json_t *body)
{
    const dv_task_config *c = &spec->config;
    int r = 0;
    r = r < 0 ? r : put(body, "Image", json_string(image));
    if (c->hostname && *c->hostname)
        r = r < 0 ? r : put(body, "Hostname", interpolated(c->hostname, env));
    if (spec->user)
        r = r < 0 ? r : put(body, "User", json_string(spec->user));
    if (c->work_dir && *c->work_dir)
        r = r < 0 ? r : put(body, "WorkingDir", interpolated(c->work_dir, env));
    r = r < 0 ? r : put(body, "Tty", json_boolean(c->tty));
    r = r < 0 ? r : put(body, "OpenStdin", json_boolean(c->interactive));
    r = r < 0 ? r : put(body, "Env", env_array(env));
    r = r < 0 ? r : put(body, "Labels", dv_json_kv(labels));
    if (c->mac_address)
        r = r < 0 ? r : put(body, "MacAddress", json_string(c->mac_address));
    if (c->healthchecks_disable)
        r = r < 0 ? r : put(body, "Healthcheck", json_pack("{s[s]}", "Test", "NONE"));
    r = r < 0 ? r : command(spec, env, body);
    r = r < 0 ? r : networking(spec, env, body);
    return r;
}

static int check_ctx(const dv_translate_ctx *ctx, dv_spec_error *err)
{
    if (!ctx || !ctx->task_id || !*ctx->task_id || !ctx->node_id || !*ctx->node_id)
        return dv_spec_fail(err, "", -EINVAL, "translation needs a task id and a node id");
    const dv_task_paths *p = ctx->paths;
    if (!p || !p->task_root || !p->alloc_dir || !p->logs_dir || !p->task_dir || !p->local_dir ||
        !p->secrets_dir)
        return dv_spec_fail(err, "", -EINVAL, "translation needs the task's directories");
    if (ctx->bind_address && !dv_sj_valid_ip(ctx->bind_address))
        return dv_spec_fail(err, "bind_address", -EINVAL, "invalid IP address \"%s\"",
                            ctx->bind_address);
    return 0;
}

int dv_translate(const dv_task_spec *spec, const dv_agent_config *config,
                 const dv_translate_ctx *ctx, json_t **ret, dv_spec_error *err)
{
    int r;
    if ((r = check_ctx(ctx, err)) < 0)
        return r;
    char name[DV_CONTAINER_NAME_MAX];
    if (dv_container_name(spec->name, ctx->task_id, name, sizeof(name)) < 0)
        return dv_spec_fail(err, "name", -ENAMETOOLONG, "container name too long");
    _cleanup_json_ json_t *body = json_object();
    json_t *host = NULL;
    dv_kv env = {0}, labels = {0};
    build_env(spec, config, ctx, &env);
    build_labels(spec, config, ctx, &env, &labels);
    r = config_part(spec, &env, &labels, ctx->image ? ctx->image : spec->config.image_name.ref,
                    body);
    dv_kv_free(&labels);
    if (r < 0) {
        dv_kv_free(&env);
        return dv_spec_fail(err, "", r, "a value of the create body is not valid UTF-8");
    }
    r = dv_translate_host_config(spec, config, ctx, &env, body, &host, err);
    dv_kv_free(&env);
    if (r < 0)
        return r;
    json_object_set_new(body, "HostConfig", host);
    *ret = TAKE_PTR(body);
    return 0;
}

/* Largest frequency this CPU reaches, in MHz, or 0. */
static int64_t sysfs_mhz(int cpu)
{
    char path[96];
    snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq", cpu);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    long long khz = 0;
    if (!f || fscanf(f, "%lld", &khz) != 1 || khz <= 0)
        return 0;
    return khz / 1000;
}

void dv_host_cpu(int *ret_ncpus, int64_t *ret_total_mhz)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    int ncpus = n > 0 ? (int)n : 1;
    int64_t total = 0;
    for (int i = 0; i < ncpus; i++) {
        int64_t mhz = sysfs_mhz(i);
        if (!mhz) {
            total = 0;
            break;
        }
        total += mhz;
    }
    if (!total) {
        /* Virtual machines often have no cpufreq: use what cpuinfo reports. */
        _cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
        char line[256];
        while (f && fgets(line, sizeof(line), f)) {
            double mhz;
            if (sscanf(line, "cpu MHz : %lf", &mhz) == 1 && mhz > 0)
                total += (int64_t)mhz;
        }
    }
    if (total <= 0)
        total = 1000 * (int64_t)ncpus;
    *ret_ncpus = ncpus;
    *ret_total_mhz = total;
}
