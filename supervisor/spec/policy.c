/* What the agent config allows a task to do (rules in policy.h). */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "policy_caps.h"
#include "spec_json.h"
#include "xalloc.h"

/* Used when the task's directories are not known yet (validation before an
 * id exists): no real path is ever inside it. */
#define PLACEHOLDER_ID "00000000-0000-0000-0000-000000000000"

static bool names_host(const char *mode)
{
    return mode && strcmp(mode, "host") == 0;
}

static int check_privileges(const dv_task_spec *spec, const dv_agent_config *config,
                            dv_spec_error *err)
{
    const dv_task_config *c = &spec->config;
    if (config->docker.allow_privileged)
        return 0;
    if (c->privileged)
        return dv_spec_fail(err, "config.privileged", -EPERM,
                            "privileged containers are not allowed on this agent "
                            "(docker.allow_privileged is false)");
    static const struct {
        const char *field;
        size_t offset;
    } modes[] = {
        {"config.pid_mode", offsetof(dv_task_config, pid_mode)},
        {"config.ipc_mode", offsetof(dv_task_config, ipc_mode)},
        {"config.uts_mode", offsetof(dv_task_config, uts_mode)},
        {"config.userns_mode", offsetof(dv_task_config, userns_mode)},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(modes); i++) {
        const char *mode = *(char *const *)((const char *)c + modes[i].offset);
        if (names_host(mode))
            return dv_spec_fail(err, modes[i].field, -EPERM,
                                "host mode is not allowed on this agent "
                                "(docker.allow_privileged is false)");
        /* The docs: ipc_mode naming an existing container needs it too; the
         * same goes for pid_mode (only these two accept container:). */
        if (mode && strncmp(mode, "container:", 10) == 0)
            return dv_spec_fail(err, modes[i].field, -EPERM,
                                "joining container \"%s\"'s namespace is not allowed on this "
                                "agent (docker.allow_privileged is false)",
                                mode + 10);
    }
    return 0;
}

/* KEY=VALUE or KEY:VALUE (dockerd's parseSecurityOpt); false for other forms. */
static bool security_opt_is(const char *opt, const char *key, const char *value)
{
    size_t k = strlen(key);
    if (strncmp(opt, key, k) != 0 || (opt[k] != '=' && opt[k] != ':'))
        return false;
    const char *v = opt + k + 1;
    while (isspace((unsigned char)*v))
        v++;
    return strcmp(v, value) == 0;
}

const char *dv_policy_seccomp_path(const char *opt)
{
    /* The key as the parser and dockerd split it: before the first '=', else
     * before the first ':'. */
    size_t key = strcspn(opt, "=");
    if (!opt[key])
        key = strcspn(opt, ":");
    if (key != 7 || strncmp(opt, "seccomp", 7) != 0 || !opt[key])
        return NULL;
    const char *v = opt + key + 1;
    while (isspace((unsigned char)*v))
        v++;
    return strcmp(v, "unconfined") == 0 || *v == '{' ? NULL : v;
}

/* Each option that switches a confinement off, or NULL. */
static const char *unconfined_opt(const char *opt)
{
    if (strcmp(opt, "disable") == 0 || security_opt_is(opt, "label", "disable"))
        return "SELinux labeling";
    if (security_opt_is(opt, "seccomp", "unconfined"))
        return "seccomp";
    if (security_opt_is(opt, "apparmor", "unconfined"))
        return "AppArmor";
    if (security_opt_is(opt, "systempaths", "unconfined"))
        return "the masked and read-only /proc and /sys paths";
    return NULL;
}

/* What Nomad passes on without allow_privileged but takes the task out of its
 * confinement: the host's network, unconfined security options, host devices.
 * Each has an agent switch that defaults to the safe side (agent_config.h);
 * allow_privileged allows them all, as a privileged container has them anyway. */
static int check_confinement(const dv_task_spec *spec, const dv_agent_config *config,
                             dv_spec_error *err)
{
    const dv_task_config *c = &spec->config;
    if (config->docker.allow_privileged)
        return 0;
    bool own_mode = c->network_mode && *c->network_mode;
    const char *mode = own_mode ? c->network_mode : spec->network.mode;
    const char *field = own_mode ? "config.network_mode" : "network.mode";
    if (names_host(mode) && !config->docker.allow_host_network)
        return dv_spec_fail(err, field, -EPERM,
                            "the host's network is not allowed on this agent "
                            "(docker.allow_host_network is false)");
    /* A spec naming another container's namespace names a foreign one: a task of a
     * group joins its own infra container by the runner's doing, not its spec's. */
    if (own_mode && strncmp(mode, "container:", 10) == 0)
        return dv_spec_fail(err, field, -EPERM,
                            "joining container \"%s\"'s network namespace is not allowed on this "
                            "agent (docker.allow_privileged is false)",
                            mode + 10);
    for (size_t i = 0; i < c->security_opt.n && !config->docker.allow_unconfined; i++) {
        const char *what = unconfined_opt(c->security_opt.v[i]);
        if (!what)
            continue;
        char f[DV_SPEC_FIELD_MAX];
        dv_sj_index(f, "config.security_opt", i);
        return dv_spec_fail(err, f, -EPERM,
                            "\"%s\" turns %s off, which is not allowed on this agent "
                            "(docker.allow_unconfined is false)",
                            c->security_opt.v[i], what);
    }
    /* As resolved on this node when the path exists (a /dev/disk/by-id/ link is
     * matched as its target, as Docker will open it), else lexically
     * ("/dev/../etc/shadow" is "/etc/shadow"). The file type, and the resolution
     * again right before each create, are dv_policy_check_devices(). */
    for (size_t i = 0; i < c->n_devices; i++) {
        char f[DV_SPEC_FIELD_MAX];
        dv_sj_index(f, "config.devices", i);
        const char *host = c->devices[i].host_path;
        if (host[0] != '/')
            return dv_spec_fail(err, f, -EINVAL, "host_path \"%s\" is not absolute", host);
        _cleanup_free_ char *clean = realpath(host, NULL);
        if (!clean)
            clean = dv_path_clean(host);
        if (!dv_policy_device_allowed(config, clean))
            return dv_policy_device_refused(config, f, host, clean, err);
    }
    return 0;
}

bool dv_policy_device_allowed(const dv_agent_config *config, const char *canonical)
{
    if (config->docker.allow_privileged)
        return true;
    for (size_t i = 0; i < config->docker.allow_devices.n; i++)
        if (fnmatch(config->docker.allow_devices.v[i], canonical, FNM_PATHNAME) == 0)
            return true;
    return false;
}

int dv_policy_device_refused(const dv_agent_config *config, const char *field, const char *path,
                             const char *resolved, dv_spec_error *err)
{
    _cleanup_buf_ dv_buf allowed = DV_BUF_INIT;
    for (size_t i = 0; i < config->docker.allow_devices.n; i++)
        dv_buf_printf(&allowed, "%s%s", i ? ", " : "", config->docker.allow_devices.v[i]);
    char as[PATH_MAX + 16] = "";
    if (strcmp(path, resolved) != 0)
        snprintf(as, sizeof(as), " (%s)", resolved);
    return dv_spec_fail(err, field, -EPERM,
                        "device \"%s\"%s is not allowed on this agent (docker.allow_devices: %s)",
                        path, as, allowed.len ? allowed.data : "none");
}

static void upper(const char *in, char out[DV_CAP_NAME_MAX])
{
    size_t i = 0;
    for (; in[i] && i + 1 < DV_CAP_NAME_MAX; i++)
        out[i] = (char)toupper((unsigned char)in[i]);
    out[i] = '\0';
}

/* The normalized (lowercase) names of LIST, deduplicated. */
static int normalized(const dv_strv *list, dv_strv *ret)
{
    for (size_t i = 0; i < list->n; i++) {
        char norm[DV_CAP_NAME_MAX];
        if (!dv_cap_normalize(list->v[i], norm))
            return -EINVAL; /* dv_spec_parse refused it already */
        if (!dv_strv_contains(ret, norm))
            dv_strv_push(ret, norm);
    }
    return 0;
}

static int check_cap_add(const dv_strv *add, const dv_agent_config *config, dv_spec_error *err)
{
    if (dv_strv_contains(&config->docker.allow_caps, "all"))
        return 0;
    _cleanup_buf_ dv_buf missing = DV_BUF_INIT;
    for (size_t i = 0; i < add->n; i++)
        if (!dv_strv_contains(&config->docker.allow_caps, add->v[i]) &&
            dv_buf_printf(&missing, "%s%s", missing.len ? ", " : "", add->v[i]) < 0)
            dv_oom("capability list"); /* dv_buf reports exhaustion; the policy is abort */
    if (missing.len)
        return dv_spec_fail(err, "config.cap_add", -EPERM,
                            "capabilities not allowed on this agent (docker.allow_caps): %s",
                            missing.data);
    return 0;
}

int dv_policy_caps(const dv_task_spec *spec, const dv_agent_config *config, dv_strv *ret_add,
                   dv_strv *ret_drop, dv_spec_error *err)
{
    dv_strv add = {0}, drop = {0}, result = {0}, out_add = {0}, out_drop = {0};
    int r = normalized(&spec->config.cap_add, &add);
    if (r >= 0)
        r = normalized(&spec->config.cap_drop, &drop);
    if (r < 0) {
        r = dv_spec_fail(err, "config.cap_add", r, "invalid capability list");
        goto out;
    }
    if ((r = check_cap_add(&add, config, err)) < 0)
        goto out;
    char name[DV_CAP_NAME_MAX];
    if (dv_strv_contains(&config->docker.allow_caps, "all")) {
        /* Nothing to enforce: pass the task's wishes through as written. */
        for (size_t i = 0; i < add.n; i++) {
            upper(add.v[i], name);
            dv_strv_push(&out_add, name);
        }
        for (size_t i = 0; i < drop.n; i++) {
            upper(drop.v[i], name);
            dv_strv_push(&out_drop, name);
        }
    } else {
        /* Nomad: (defaults - drop + add) ∩ allowed, then the delta to Docker's defaults. */
        bool drop_all = dv_strv_contains(&drop, "all");
        for (size_t i = 0; !drop_all && i < dv_caps_docker_default_n; i++)
            if (!dv_strv_contains(&drop, dv_caps_docker_default[i]))
                dv_strv_push(&result, dv_caps_docker_default[i]);
        for (size_t i = 0; i < add.n; i++)
            if (!dv_strv_contains(&result, add.v[i]))
                dv_strv_push(&result, add.v[i]);
        for (size_t i = 0; i < add.n; i++) {
            bool is_default = false;
            for (size_t j = 0; j < dv_caps_docker_default_n; j++)
                is_default = is_default || strcmp(add.v[i], dv_caps_docker_default[j]) == 0;
            if (!is_default) {
                upper(add.v[i], name);
                dv_strv_push(&out_add, name);
            }
        }
        for (size_t i = 0; i < dv_caps_docker_default_n; i++) {
            const char *cap = dv_caps_docker_default[i];
            bool kept =
                dv_strv_contains(&result, cap) && dv_strv_contains(&config->docker.allow_caps, cap);
            if (!kept) {
                upper(cap, name);
                dv_strv_push(&out_drop, name);
            }
        }
    }
    *ret_add = out_add;
    *ret_drop = out_drop;
    out_add = (dv_strv){0};
    out_drop = (dv_strv){0};
out:
    dv_strv_free(&add);
    dv_strv_free(&drop);
    dv_strv_free(&result);
    dv_strv_free(&out_add);
    dv_strv_free(&out_drop);
    return r;
}

char *dv_policy_resolve_source(const dv_task_paths *paths, const char *source)
{
    _cleanup_free_ char *joined =
        source[0] == '/' ? dv_xstrdup(source) : dv_xasprintf("%s/%s", paths->task_dir, source);
    return dv_path_clean(joined);
}

/* With volumes disabled, a host path must stay inside the allocation dir. */
static int check_host_path(const dv_task_paths *paths, const char *source, const char *field,
                           const char *what, dv_spec_error *err)
{
    _cleanup_free_ char *resolved = dv_policy_resolve_source(paths, source);
    if (dv_path_is_inside(resolved, paths->task_root))
        return 0;
    if (source[0] != '/')
        return dv_spec_fail(err, field, -EPERM,
                            "%s \"%s\" escapes the task's allocation directory "
                            "(docker.volumes.enabled is false)",
                            what, source);
    return dv_spec_fail(err, field, -EPERM,
                        "%s \"%s\" is outside the task's allocation directory "
                        "(docker.volumes.enabled is false)",
                        what, source);
}

static int check_volumes(const dv_task_spec *spec, const dv_task_paths *paths, dv_spec_error *err)
{
    const dv_task_config *c = &spec->config;
    const char *driver = c->volume_driver;
    if (driver && *driver && strcmp(driver, "local") != 0)
        return dv_spec_fail(err, "config.volume_driver", -EPERM,
                            "volume drivers are not allowed on this agent "
                            "(docker.volumes.enabled is false)");
    for (size_t i = 0; i < c->volumes.n; i++) {
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "config.volumes", i);
        _cleanup_free_ char *source = dv_xstrndup(c->volumes.v[i], strcspn(c->volumes.v[i], ":"));
        int r = check_host_path(paths, source, field, "host path", err);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < c->n_mounts; i++) {
        const dv_mount *m = &c->mounts[i];
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "config.mount", i);
        /* Every mount but a bind (checked below) and a tmpfs is a volume, an
         * anonymous one too (the default type): refused, as current Nomad does. */
        if (m->type != DV_MOUNT_BIND && m->type != DV_MOUNT_TMPFS)
            return dv_spec_fail(err, field, -EPERM,
                                "volume mounts (named or not) and volume drivers are not allowed "
                                "on this agent (docker.volumes.enabled is false)");
        if (m->type == DV_MOUNT_BIND) {
            int r = check_host_path(paths, m->source, field, "bind source", err);
            if (r < 0)
                return r;
        }
    }
    /* The agent copies a local artifact into the task's directory: a host file
     * the task could otherwise not see, as a bind source would show it. */
    for (size_t i = 0; i < spec->n_artifacts; i++)
        if (spec->artifacts[i].local) {
            char field[DV_SPEC_FIELD_MAX];
            snprintf(field, sizeof(field), "artifact[%zu].source", i);
            return dv_spec_fail(err, field, -EPERM,
                                "a local file source reads the host: not allowed on this agent "
                                "(docker.volumes.enabled is false)");
        }
    /* The agent reads the profile and hands its content to the Engine: a host
     * file a task could otherwise not see, so it is held to the bind rule. */
    for (size_t i = 0; i < c->security_opt.n; i++) {
        const char *profile = dv_policy_seccomp_path(c->security_opt.v[i]);
        if (!profile)
            continue;
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "config.security_opt", i);
        int r = check_host_path(paths, profile, field, "seccomp profile", err);
        if (r < 0)
            return r;
    }
    return 0;
}

int dv_policy_check(const dv_task_spec *spec, const dv_agent_config *config,
                    const dv_task_paths *paths, dv_spec_error *err)
{
    int r;
    if ((r = check_privileges(spec, config, err)) < 0 ||
        (r = check_confinement(spec, config, err)) < 0)
        return r;
    dv_strv add = {0}, drop = {0};
    if ((r = dv_policy_caps(spec, config, &add, &drop, err)) < 0)
        return r;
    dv_strv_free(&add);
    dv_strv_free(&drop);

    const char *runtime = spec->config.runtime;
    if (runtime && *runtime && !dv_strv_contains(&config->docker.allow_runtimes, runtime)) {
        _cleanup_buf_ dv_buf allowed = DV_BUF_INIT;
        for (size_t i = 0; i < config->docker.allow_runtimes.n; i++)
            dv_buf_printf(&allowed, "%s%s", i ? ", " : "", config->docker.allow_runtimes.v[i]);
        return dv_spec_fail(err, "config.runtime", -EPERM,
                            "runtime \"%s\" is not allowed on this agent "
                            "(docker.allow_runtimes: %s)",
                            runtime, allowed.len ? allowed.data : "none");
    }
    int64_t limit = config->docker.pids_limit;
    if (limit > 0 && spec->config.pids_limit > limit)
        return dv_spec_fail(err, "config.pids_limit", -EPERM,
                            "%" PRId64 " is above this agent's limit of %" PRId64
                            " (docker.pids_limit)",
                            spec->config.pids_limit, limit);
    if (config->docker.volumes.enabled)
        return 0;
    if (paths)
        return check_volumes(spec, paths, err);
    dv_task_paths placeholder;
    if ((r = dv_task_paths_build(config->data_dir, PLACEHOLDER_ID, spec->name, &placeholder, err)) <
        0)
        return r;
    r = check_volumes(spec, &placeholder, err);
    dv_task_paths_clear(&placeholder);
    return r;
}
