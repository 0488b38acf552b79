/* The HostConfig part of the create body: resources, binds and mounts,
 * ports, logging, capabilities and the pass-through options. */
#include "translate_host.h"

#include "interpolate.h"
#include "task_env.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "policy.h"
#include "spec_json.h"
#include "spec_parse.h"
#include "xalloc.h"

#define MB (INT64_C(1024) * 1024)
#define CFS_PERIOD_DEFAULT 100000
/* Docker refuses a CFS quota below 1 ms. */
#define CFS_QUOTA_MIN 1000
/* Docker's minimum CPU shares. */
#define CPU_SHARES_MIN 2

/* Accumulates values Jansson refused (a NULL or non-UTF-8 string; memory aborts,
 * common/xalloc.h) so building a large object stays readable: check .failed once at the
 * end. */
typedef struct jb {
    bool failed;
} jb;

static void put(jb *b, json_t *obj, const char *key, json_t *value)
{
    if (!value || json_object_set_new(obj, key, value) < 0)
        b->failed = true;
}

static void put_str(jb *b, json_t *obj, const char *key, const char *value)
{
    if (value && *value)
        put(b, obj, key, json_string(value));
}

static void push(jb *b, json_t *array, json_t *value)
{
    if (!value || json_array_append_new(array, value) < 0)
        b->failed = true;
}

json_t *dv_json_strv(const dv_strv *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n; i++)
        if (json_array_append_new(a, json_string(s->v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *dv_json_kv(const dv_kv *kv)
{
    json_t *o = json_object();
    for (size_t i = 0; i < kv->n; i++)
        if (json_object_set_new(o, kv->v[i].key, json_string(kv->v[i].value)) < 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

void dv_translate_memory(const dv_task_spec *spec, int64_t *ret_memory, int64_t *ret_reservation)
{
    int64_t soft = spec->resources.memory * MB, hard = dv_spec_memory_hard_mb(spec);
    if (hard == -1) {
        *ret_memory = 0;
        *ret_reservation = soft;
        return;
    }
    if (hard == 0) {
        *ret_memory = soft;
        *ret_reservation = 0;
        return;
    }
    *ret_memory = hard * MB;
    *ret_reservation = soft;
}

static void resources(jb *b, const dv_task_spec *spec, const dv_agent_config *config,
                      const dv_translate_ctx *ctx, json_t *host)
{
    const dv_task_config *c = &spec->config;
    int64_t memory, reservation;
    dv_translate_memory(spec, &memory, &reservation);
    if (memory) {
        put(b, host, "Memory", json_integer(memory));
        put(b, host, "MemorySwap", json_integer(memory)); /* memory + swap = memory: no swap */
    }
    if (reservation)
        put(b, host, "MemoryReservation", json_integer(reservation));

    int64_t shares = spec->resources.cpu < CPU_SHARES_MIN ? CPU_SHARES_MIN : spec->resources.cpu;
    put(b, host, "CpuShares", json_integer(shares));
    if (c->cpu_hard_limit) {
        int64_t period = c->cpu_cfs_period ? c->cpu_cfs_period : CFS_PERIOD_DEFAULT;
        int64_t ncpus = ctx->ncpus > 0 ? ctx->ncpus : 1;
        int64_t total = ctx->cpu_total_mhz > 0 ? ctx->cpu_total_mhz : 1000 * ncpus;
        /* cfs_quota is per core: the task's share of the machine times all cores. */
        int64_t quota = period * spec->resources.cpu * ncpus / total;
        if (quota < CFS_QUOTA_MIN)
            quota = CFS_QUOTA_MIN;
        put(b, host, "CpuPeriod", json_integer(period));
        put(b, host, "CpuQuota", json_integer(quota));
    }
    put_str(b, host, "CpusetCpus", c->cpuset_cpus);
    int64_t pids = c->pids_limit ? c->pids_limit : config->docker.pids_limit;
    if (pids > 0)
        put(b, host, "PidsLimit", json_integer(pids));
}

static json_t *bind_string(const char *source, const char *target, const char *options,
                           const char *selinux)
{
    char *s;
    if (selinux && options)
        s = dv_xasprintf("%s:%s:%s,%s", source, target, options, selinux);
    else if (selinux || options)
        s = dv_xasprintf("%s:%s:%s", source, target, selinux ? selinux : options);
    else
        s = dv_xasprintf("%s:%s", source, target);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static void binds(jb *b, const dv_task_spec *spec, const dv_agent_config *config,
                  const dv_translate_ctx *ctx, json_t *host)
{
    const dv_task_paths *p = ctx->paths;
    const char *selinux = config->docker.volumes.selinuxlabel;
    json_t *list = json_array();
    put(b, host, "Binds", list);
    push(b, list, bind_string(p->alloc_dir, "/alloc", NULL, selinux));
    push(b, list, bind_string(p->local_dir, "/local", NULL, selinux));
    push(b, list, bind_string(p->secrets_dir, "/secrets", NULL, selinux));
    /* The task may write to /alloc but must not rewrite its own logs. */
    push(b, list, bind_string(p->logs_dir, "/alloc/logs", "ro", selinux));

    const char *driver = spec->config.volume_driver;
    bool local = !driver || !*driver || strcmp(driver, "local") == 0;
    for (size_t i = 0; i < spec->config.volumes.n; i++) {
        const char *v = spec->config.volumes.v[i];
        size_t slen = strcspn(v, ":");
        const char *target = v + slen + 1;
        size_t tlen = strcspn(target, ":");
        const char *options = target[tlen] ? target + tlen + 1 : NULL;
        _cleanup_free_ char *source = dv_xstrndup(v, slen);
        _cleanup_free_ char *tgt = dv_xstrndup(target, tlen);
        /* As Nomad: without a driver every source is a host path, relative ones inside the
         * task dir. */
        _cleanup_free_ char *resolved = local ? dv_policy_resolve_source(p, source) : NULL;
        push(b, list, bind_string(resolved ? resolved : source, tgt, options, selinux));
    }
}

static void mounts(jb *b, const dv_task_spec *spec, const dv_translate_ctx *ctx, json_t *host)
{
    const dv_task_config *c = &spec->config;
    if (!c->n_mounts)
        return;
    json_t *list = json_array();
    put(b, host, "Mounts", list);
    for (size_t i = 0; i < c->n_mounts; i++) {
        const dv_mount *m = &c->mounts[i];
        json_t *o = json_object();
        push(b, list, o);
        static const char *const types[] = {"volume", "bind", "tmpfs"};
        assert((size_t)m->type < DV_ARRAY_SIZE(types));
        put(b, o, "Type", json_string(types[m->type]));
        put(b, o, "Target", json_string(m->target));
        if (m->readonly) /* false is Docker's default, omitted as the Engine does */
            put(b, o, "ReadOnly", json_true());
        if (m->type == DV_MOUNT_BIND) {
            _cleanup_free_ char *resolved = dv_policy_resolve_source(ctx->paths, m->source);
            put(b, o, "Source", json_string(resolved));
            if (m->bind_propagation)
                put(b, o, "BindOptions", json_pack("{ss}", "Propagation", m->bind_propagation));
        } else if (m->type == DV_MOUNT_VOLUME) {
            put_str(b, o, "Source", m->source);
            if (!m->volume_no_copy && !m->volume_labels.n && !m->volume_driver)
                continue;
            json_t *vo = json_object();
            put(b, o, "VolumeOptions", vo);
            if (m->volume_no_copy)
                put(b, vo, "NoCopy", json_true());
            if (m->volume_labels.n)
                put(b, vo, "Labels", dv_json_kv(&m->volume_labels));
            if (m->volume_driver)
                put(b, vo, "DriverConfig",
                    json_pack("{ss,so*}", "Name", m->volume_driver, "Options",
                              m->volume_driver_options.n ? dv_json_kv(&m->volume_driver_options)
                                                         : NULL));
        } else {
            json_t *to = json_object();
            put(b, o, "TmpfsOptions", to);
            if (m->tmpfs_size)
                put(b, to, "SizeBytes", json_integer(m->tmpfs_size));
            if (m->tmpfs_mode)
                put(b, to, "Mode", json_integer(m->tmpfs_mode));
        }
    }
}

static const dv_network_port *declared(const dv_task_spec *spec, const char *label)
{
    for (size_t i = 0; i < spec->network.n_ports; i++)
        if (strcmp(spec->network.ports[i].label, label) == 0)
            return &spec->network.ports[i];
    return NULL;
}

static int ports(jb *b, const dv_task_spec *spec, const dv_agent_config *config,
                 const dv_translate_ctx *ctx, json_t *body, json_t *host, dv_spec_error *err)
{
    const char *mode = ctx->network_join ? ctx->network_join : dv_spec_network_mode(spec);
    /* Docker rejects bindings and exposed ports for a network namespace that is not the
     * container's own; with host networking they would be ignored anyway. */
    bool can_publish = strcmp(mode, "host") != 0 && strcmp(mode, "none") != 0 &&
                       strncmp(mode, "container:", 10) != 0;
    const char *ip = ctx->bind_address ? ctx->bind_address : config->bind_address;
    json_t *bindings = NULL, *exposed = NULL;
    for (size_t i = 0; i < ctx->n_ports; i++) {
        const dv_port_alloc *a = &ctx->ports[i];
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_join(field, "network.ports", a->label ? a->label : "");
        if (!a->label || (!ctx->network_join && !declared(spec, a->label)))
            return dv_spec_fail(err, field, -EINVAL,
                                "allocation for a port the spec does not declare");
        if (a->host_port < 1 || a->host_port > 65535 || a->container_port < 0 ||
            a->container_port > 65535)
            return dv_spec_fail(err, field, -EINVAL, "invalid port allocation %d -> %d",
                                a->host_port, a->container_port);
        if (!a->publish || !can_publish)
            continue;
        if (!bindings) {
            bindings = json_object();
            exposed = json_object();
            put(b, host, "PortBindings", bindings);
            put(b, body, "ExposedPorts", exposed);
        }
        int container_port = a->container_port ? a->container_port : a->host_port;
        char host_port[8];
        snprintf(host_port, sizeof(host_port), "%d", a->host_port);
        static const char *const protos[] = {"tcp", "udp"};
        for (int p = 0; p < 2; p++) {
            char key[24];
            snprintf(key, sizeof(key), "%d/%s", container_port, protos[p]);
            json_t *list = json_object_get(bindings, key);
            if (!list) {
                list = json_array();
                put(b, bindings, key, list);
                put(b, exposed, key, json_object());
            }
            push(b, list, json_pack("{ssss}", "HostIp", ip, "HostPort", host_port));
        }
    }
    return 0;
}

static int logging(jb *b, const dv_task_spec *spec, const dv_agent_config *config,
                   const dv_translate_ctx *ctx, const dv_kv *env, json_t *host, dv_spec_error *err)
{
    const dv_task_config *c = &spec->config;
    /* Nomad: a task that says anything about logging replaces the agent's
     * default entirely (its options may not make sense for another driver);
     * a type it leaves out is dockerd's default driver, as is an agent
     * logging block without a type: the Engine fills in a missing Type. */
    const char *type = config->docker.logging.type;
    const dv_kv *opts = &config->docker.logging.config;
    if (c->logging.set) {
        type = c->logging.type;
        opts = &c->logging.config;
    }
    /* The task's own values were interpolated with its spec; the agent's are
     * here, per task (tag = "${NOMAD_TASK_NAME}" is common). */
    dv_interp_vars vars;
    dv_task_interp_vars(config, ctx, env, &vars);
    json_t *values = json_object();
    put(b, host, "LogConfig", json_pack("{ss*so}", "Type", type, "Config", values));
    for (size_t i = 0; i < opts->n; i++) {
        if (c->logging.set) {
            put_str(b, values, opts->v[i].key, opts->v[i].value);
            continue;
        }
        char field[DV_SPEC_FIELD_MAX];
        snprintf(field, sizeof(field), "docker.logging.config.%s", opts->v[i].key);
        _cleanup_free_ char *v = NULL;
        int r = dv_interpolate(opts->v[i].value, &vars, field, &v, err);
        if (r < 0)
            return r;
        put(b, values, opts->v[i].key, json_string(v));
    }
    return 0;
}

static void passthrough(jb *b, const dv_task_spec *spec, const dv_translate_ctx *ctx, json_t *host)
{
    const dv_task_config *c = &spec->config;
    if (c->privileged)
        put(b, host, "Privileged", json_true());
    if (c->dns_servers.n)
        put(b, host, "Dns", dv_json_strv(&c->dns_servers));
    if (c->dns_search_domains.n)
        put(b, host, "DnsSearch", dv_json_strv(&c->dns_search_domains));
    if (c->dns_options.n)
        put(b, host, "DnsOptions", dv_json_strv(&c->dns_options));
    if (c->extra_hosts.n)
        put(b, host, "ExtraHosts", dv_json_strv(&c->extra_hosts));
    put_str(b, host, "IpcMode", c->ipc_mode);
    put_str(b, host, "PidMode", c->pid_mode);
    put_str(b, host, "UTSMode", c->uts_mode);
    put_str(b, host, "UsernsMode", c->userns_mode);
    if (c->security_opt.n) {
        /* the profiles by path as read at this create (translate.h) */
        assert(!ctx->security_opt || ctx->security_opt->n == c->security_opt.n);
        put(b, host, "SecurityOpt",
            dv_json_strv(ctx->security_opt ? ctx->security_opt : &c->security_opt));
    }
    if (c->sysctl.n)
        put(b, host, "Sysctls", dv_json_kv(&c->sysctl));
    if (c->n_ulimits) {
        json_t *list = json_array();
        put(b, host, "Ulimits", list);
        for (size_t i = 0; list && i < c->n_ulimits; i++)
            push(b, list,
                 json_pack("{sssIsI}", "Name", c->ulimits[i].name, "Soft",
                           (json_int_t)c->ulimits[i].soft, "Hard", (json_int_t)c->ulimits[i].hard));
    }
    if (c->readonly_rootfs)
        put(b, host, "ReadonlyRootfs", json_true());
    if (c->shm_size)
        put(b, host, "ShmSize", json_integer(c->shm_size));
    if (c->storage_opt.n)
        put(b, host, "StorageOpt", dv_json_kv(&c->storage_opt));
    put_str(b, host, "VolumeDriver", c->volume_driver);
    if (c->n_devices) {
        json_t *list = json_array();
        put(b, host, "Devices", list);
        for (size_t i = 0; list && i < c->n_devices; i++)
            push(b, list,
                 json_pack("{ssssss}", "PathOnHost",
                           ctx->device_paths && i < ctx->device_paths->n ? ctx->device_paths->v[i]
                                                                         : c->devices[i].host_path,
                           "PathInContainer", c->devices[i].container_path, "CgroupPermissions",
                           c->devices[i].cgroup_permissions));
    }
    if (c->init)
        put(b, host, "Init", json_true());
    put_str(b, host, "Runtime", c->runtime);
    if (c->group_add.n)
        put(b, host, "GroupAdd", dv_json_strv(&c->group_add));
    if (c->oom_score_adj_set)
        put(b, host, "OomScoreAdj", json_integer(c->oom_score_adj));
    put(b, host, "NetworkMode",
        json_string(ctx->network_join ? ctx->network_join : dv_spec_network_mode(spec)));
}

int dv_translate_host_config(const dv_task_spec *spec, const dv_agent_config *config,
                             const dv_translate_ctx *ctx, const dv_kv *env, json_t *body,
                             json_t **ret, dv_spec_error *err)
{
    _cleanup_json_ json_t *host = json_object();
    jb b = {false};
    int r;
    resources(&b, spec, config, ctx, host);
    binds(&b, spec, config, ctx, host);
    mounts(&b, spec, ctx, host);
    if ((r = ports(&b, spec, config, ctx, body, host, err)) < 0)
        return r;
    if ((r = logging(&b, spec, config, ctx, env, host, err)) < 0)
        return r;
    passthrough(&b, spec, ctx, host);

    dv_strv add = {0}, drop = {0};
    if ((r = dv_policy_caps(spec, config, &add, &drop, err)) < 0)
        return r;
    if (add.n)
        put(&b, host, "CapAdd", dv_json_strv(&add));
    if (drop.n)
        put(&b, host, "CapDrop", dv_json_strv(&drop));
    dv_strv_free(&add);
    dv_strv_free(&drop);
    if (b.failed)
        return dv_spec_fail(err, "", -EINVAL, "a value of the create body is not valid UTF-8");
    *ret = TAKE_PTR(host);
    return 0;
}
