/* Spec → Engine create body: the Config part (image, command, env, labels,
 * networking); HostConfig is translate_host.c. */
#include "translate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "image_name.h"
#include "policy.h"
#include "labels.h"
#include "spec_json.h"
#include "spec_parse.h"
#include "task_env.h"
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

static void build_labels(const dv_task_spec *spec, const dv_agent_config *config,
                         const dv_translate_ctx *ctx, dv_kv *ret)
{
    dv_kv labels = {0};
    for (size_t i = 0; i < spec->config.labels.n; i++) {
        dv_kv_set(&labels, spec->config.labels.v[i].key, spec->config.labels.v[i].value);
    }
    /* Ours after the user's: the reaper and recovery depend on them. */
    dv_kv_set(&labels, DV_LABEL_TASK_ID, ctx->task_id);
    dv_kv_set(&labels, DV_LABEL_TASK_NAME, spec->name);
    dv_kv_set(&labels, DV_LABEL_NODE_ID, ctx->node_id);
    /* Nomad's "main mandatory label", on every container: tooling written
     * for Nomad finds its containers by it. */
    dv_kv_set(&labels, DV_NOMAD_LABEL_ALLOC_ID, ctx->alloc_id ? ctx->alloc_id : ctx->task_id);
    if (config->docker.extra_labels.n) {
        /* Every name a glob matches. A task alone is a job and a group of its
         * own name (task_env.h). */
        const char *job = ctx->job_name ? ctx->job_name : spec->name;
        const struct {
            const char *name, *value;
        } extra[] = {
            {"job_name", job},
            {"job_id", job},
            {"task_group_name", ctx->group_name ? ctx->group_name : spec->name},
            {"task_name", spec->name},
            {"namespace", "default"},
            {"node_name", config->node.name},
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

static int command(const dv_task_spec *spec, json_t *body)
{
    const dv_task_config *c = &spec->config;
    int r = 0;
    if (c->entrypoint_set)
        r = put(body, "Entrypoint", dv_json_strv(&c->entrypoint));
    if (r < 0)
        return r;
    if (c->command && *c->command) {
        json_t *args = dv_json_strv(&c->args);
        if (!args || json_array_insert_new(args, 0, json_string(c->command)) < 0) {
            json_decref(args);
            return -EINVAL;
        }
        return put(body, "Cmd", args);
    }
    if (c->args.n)
        return put(body, "Cmd", dv_json_strv(&c->args));
    return 0;
}

static int networking(const dv_task_spec *spec, json_t *body)
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
        r = put(endpoint, "Aliases", dv_json_strv(&c->network_aliases));
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
        r = r < 0 ? r : put(body, "Hostname", json_string(c->hostname));
    if (spec->user)
        r = r < 0 ? r : put(body, "User", json_string(spec->user));
    if (c->work_dir && *c->work_dir)
        r = r < 0 ? r : put(body, "WorkingDir", json_string(c->work_dir));
    r = r < 0 ? r : put(body, "Tty", json_boolean(c->tty));
    r = r < 0 ? r : put(body, "OpenStdin", json_boolean(c->interactive));
    r = r < 0 ? r : put(body, "Env", env_array(env));
    r = r < 0 ? r : put(body, "Labels", dv_json_kv(labels));
    if (c->mac_address)
        r = r < 0 ? r : put(body, "MacAddress", json_string(c->mac_address));
    if (c->healthchecks_disable)
        r = r < 0 ? r : put(body, "Healthcheck", json_pack("{s[s]}", "Test", "NONE"));
    r = r < 0 ? r : command(spec, body);
    r = r < 0 ? r : networking(spec, body);
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
    dv_task_env(spec, config, ctx, &env);
    build_labels(spec, config, ctx, &labels);
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

/* KEY=value of /etc/os-release, unquoted, or "" */
static void os_release(const char *key, char *out, size_t size)
{
    out[0] = '\0';
    _cleanup_fclose_ FILE *f = fopen("/etc/os-release", "re");
    char line[256];
    size_t n = strlen(key);
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, n) != 0 || line[n] != '=')
            continue;
        const char *v = line + n + 1;
        size_t len = strcspn(v, "\n");
        if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
            v++;
            len -= 2;
        }
        snprintf(out, size, "%.*s", (int)len, v);
        return;
    }
}

void dv_node_attrs(dv_kv *ret)
{
    struct utsname u;
    char buf[256];
    if (uname(&u) == 0) {
        dv_kv_set(ret, "kernel.name", "linux");
        /* Nomad's kernel.version is the release's numeric part ("6.1.0") */
        snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(u.release, "-+_ "), u.release);
        dv_kv_set(ret, "kernel.version", buf);
        dv_kv_set(ret, "kernel.arch", u.machine);
        dv_kv_set(ret, "unique.hostname", u.nodename);
    }
    dv_kv_set(ret, "cpu.arch", DV_GOARCH);
    int ncpus;
    int64_t mhz;
    dv_host_cpu(&ncpus, &mhz);
    snprintf(buf, sizeof(buf), "%d", ncpus);
    dv_kv_set(ret, "cpu.numcores", buf);
    snprintf(buf, sizeof(buf), "%" PRId64, mhz);
    dv_kv_set(ret, "cpu.totalcompute", buf);
    struct sysinfo si;
    if (sysinfo(&si) == 0) {
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)si.totalram * si.mem_unit);
        dv_kv_set(ret, "memory.totalbytes", buf);
    }
    os_release("ID", buf, sizeof(buf));
    if (*buf)
        dv_kv_set(ret, "os.name", buf);
    os_release("VERSION_ID", buf, sizeof(buf));
    if (*buf)
        dv_kv_set(ret, "os.version", buf);
    dv_kv_set(ret, "driver.docker", "1");
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
