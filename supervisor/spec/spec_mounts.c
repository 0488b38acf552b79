/* Storage-ish parts of the config block: volumes, mount / mounts, devices,
 * ulimit. Only their shape is checked here; whether the agent allows host
 * paths is policy.c's business. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "spec_json.h"
#include "spec_parse.h"
#include "xalloc.h"

/* Docker's ulimit names (moby: pkg/ulimit). */
static const char *const ulimit_names[] = {
    "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue", "nice",
    "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack",    NULL,
};

/* Bind options Docker accepts after "src:dst:" in a volume string. */
static const char *const volume_options[] = {
    "ro",      "rw",       "z",      "Z",          "shared", "rshared",   "slave", "rslave",
    "private", "rprivate", "nocopy", "consistent", "cached", "delegated", NULL,
};

static const char *const propagations[] = {"private", "rprivate", "shared", "rshared",
                                           "slave",   "rslave",   NULL};

static bool in_list(const char *value, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(value, *list) == 0)
            return true;
    return false;
}

static int check_volume(const char *volume, const char *field, dv_spec_error *err)
{
    _cleanup_free_ char *copy = dv_xstrdup(volume);
    char *parts[4] = {0};
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ":", &save); tok;
         tok = strtok_r(NULL, ":", &save)) {
        if (n == 3)
            return dv_spec_fail(err, field, -EINVAL,
                                "invalid volume \"%s\" (expected source:target[:options])", volume);
        parts[n++] = tok;
    }
    if (n < 2 || volume[0] == ':' || strstr(volume, "::") || volume[strlen(volume) - 1] == ':')
        return dv_spec_fail(err, field, -EINVAL,
                            "invalid volume \"%s\" (expected source:target[:options])", volume);
    if (parts[1][0] != '/')
        return dv_spec_fail(err, field, -EINVAL,
                            "invalid volume \"%s\": target \"%s\" is not an absolute path", volume,
                            parts[1]);
    if (n == 3) {
        for (char *save = NULL, *opt = strtok_r(parts[2], ",", &save); opt;
             opt = strtok_r(NULL, ",", &save))
            if (!in_list(opt, volume_options))
                return dv_spec_fail(err, field, -EINVAL,
                                    "invalid volume \"%s\": unknown option \"%s\"", volume, opt);
    }
    return 0;
}

static int parse_mount(const json_t *obj, const char *path, dv_mount *m, dv_spec_error *err)
{
    static const char *const keys[] = {
        "type",         "target",        "source",         "readonly",
        "bind_options", "tmpfs_options", "volume_options", NULL};
    char field[DV_SPEC_FIELD_MAX];
    if (!json_is_object(obj))
        return dv_spec_fail(err, path, -EINVAL, "expected an object, got %s", dv_sj_type_name(obj));
    _cleanup_free_ char *type = NULL;
    int r;
    if ((r = dv_sj_check_keys(obj, path, keys, err)) < 0 ||
        (r = dv_sj_string(obj, path, "type", &type, err)) < 0 ||
        (r = dv_sj_string(obj, path, "target", &m->target, err)) < 0 ||
        (r = dv_sj_string(obj, path, "source", &m->source, err)) < 0 ||
        (r = dv_sj_bool(obj, path, "readonly", &m->readonly, err)) < 0)
        return r;
    dv_sj_join(field, path, "type");
    if (!type || !*type || strcmp(type, "volume") == 0)
        m->type = DV_MOUNT_VOLUME;
    else if (strcmp(type, "bind") == 0)
        m->type = DV_MOUNT_BIND;
    else if (strcmp(type, "tmpfs") == 0)
        m->type = DV_MOUNT_TMPFS;
    else
        return dv_spec_fail(err, field, -EINVAL,
                            "invalid mount type \"%s\" (expected volume, bind or tmpfs)", type);
    const char *tname = m->type == DV_MOUNT_VOLUME ? "volume"
                        : m->type == DV_MOUNT_BIND ? "bind"
                                                   : "tmpfs";
    dv_sj_join(field, path, "target");
    if (!m->target || !*m->target)
        return dv_spec_fail(err, field, -EINVAL, "target required");
    if (m->target[0] != '/')
        return dv_spec_fail(err, field, -EINVAL, "\"%s\" is not an absolute path", m->target);
    if (m->source && !*m->source) {
        free(m->source);
        m->source = NULL;
    }
    dv_sj_join(field, path, "source");
    if (m->type == DV_MOUNT_BIND && !m->source)
        return dv_spec_fail(err, field, -EINVAL, "source required for a bind mount");
    if (m->type == DV_MOUNT_TMPFS && m->source)
        return dv_spec_fail(err, field, -EINVAL, "a tmpfs mount has no source");

    /* Options of another type are a mistake Docker would reject less clearly. */
    static const char *const opt_keys[] = {"volume_options", "bind_options", "tmpfs_options"};
    for (int t = 0; t < 3; t++) {
        const json_t *o = json_object_get(obj, opt_keys[t]);
        if (o && !json_is_null(o) && t != (int)m->type) {
            dv_sj_join(field, path, opt_keys[t]);
            return dv_spec_fail(err, field, -EINVAL, "not allowed for a %s mount", tname);
        }
    }

    const json_t *o = NULL;
    char opath[DV_SPEC_FIELD_MAX];
    if (m->type == DV_MOUNT_BIND) {
        static const char *const bkeys[] = {"propagation", NULL};
        dv_sj_join(opath, path, "bind_options");
        if ((r = dv_sj_object(obj, path, "bind_options", &o, err)) < 0)
            return r;
        if (o && ((r = dv_sj_check_keys(o, opath, bkeys, err)) < 0 ||
                  (r = dv_sj_string(o, opath, "propagation", &m->bind_propagation, err)) < 0))
            return r;
        if (m->bind_propagation && !*m->bind_propagation) {
            free(m->bind_propagation);
            m->bind_propagation = NULL;
        }
        if (m->bind_propagation && !in_list(m->bind_propagation, propagations)) {
            dv_sj_join(field, opath, "propagation");
            return dv_spec_fail(err, field, -EINVAL,
                                "invalid propagation \"%s\" (expected private, rprivate, shared, "
                                "rshared, slave or rslave)",
                                m->bind_propagation);
        }
    } else if (m->type == DV_MOUNT_TMPFS) {
        static const char *const tkeys[] = {"size", "mode", NULL};
        dv_sj_join(opath, path, "tmpfs_options");
        if ((r = dv_sj_object(obj, path, "tmpfs_options", &o, err)) < 0)
            return r;
        if (o && ((r = dv_sj_check_keys(o, opath, tkeys, err)) < 0 ||
                  (r = dv_sj_int(o, opath, "size", 0, INT64_MAX, &m->tmpfs_size, err)) < 0 ||
                  (r = dv_sj_int(o, opath, "mode", 0, 07777, &m->tmpfs_mode, err)) < 0))
            return r;
    } else {
        static const char *const vkeys[] = {"no_copy", "labels", "driver_config", NULL};
        static const char *const dkeys[] = {"name", "options", NULL};
        dv_sj_join(opath, path, "volume_options");
        if ((r = dv_sj_object(obj, path, "volume_options", &o, err)) < 0)
            return r;
        if (o && ((r = dv_sj_check_keys(o, opath, vkeys, err)) < 0 ||
                  (r = dv_sj_bool(o, opath, "no_copy", &m->volume_no_copy, err)) < 0 ||
                  (r = dv_sj_kv(o, opath, "labels", &m->volume_labels, err)) < 0))
            return r;
        const json_t *d = NULL;
        char dpath[DV_SPEC_FIELD_MAX];
        dv_sj_join(dpath, opath, "driver_config");
        if (o && (r = dv_sj_object(o, opath, "driver_config", &d, err)) < 0)
            return r;
        if (d && ((r = dv_sj_check_keys(d, dpath, dkeys, err)) < 0 ||
                  (r = dv_sj_string(d, dpath, "name", &m->volume_driver, err)) < 0 ||
                  (r = dv_sj_kv(d, dpath, "options", &m->volume_driver_options, err)) < 0))
            return r;
        if (m->volume_driver && !*m->volume_driver) {
            free(m->volume_driver);
            m->volume_driver = NULL;
        }
    }
    return 0;
}

static void mount_clear(dv_mount *m)
{
    free(m->target);
    free(m->source);
    dv_kv_free(&m->volume_labels);
    free(m->volume_driver);
    dv_kv_free(&m->volume_driver_options);
    free(m->bind_propagation);
}

/* `mount` is a repeated block: an array of objects, or one object. `mounts`
 * (deprecated) is an array. Both end up in cfg->mounts, mount first. */
static int parse_mounts(const json_t *config, dv_task_config *cfg, dv_spec_error *err)
{
    static const char *const names[] = {"mount", "mounts"};
    for (int k = 0; k < 2; k++) {
        const json_t *v = json_object_get(config, names[k]);
        if (!v || json_is_null(v))
            continue;
        char path[DV_SPEC_FIELD_MAX];
        dv_sj_join(path, "config", names[k]);
        bool single = k == 0 && json_is_object(v);
        if (!single && !json_is_array(v))
            return dv_spec_fail(err, path, -EINVAL, "expected an array of objects, got %s",
                                dv_sj_type_name(v));
        size_t n = single ? 1 : json_array_size(v);
        cfg->mounts = dv_xreallocarray(cfg->mounts, cfg->n_mounts + n + 1, sizeof(*cfg->mounts));
        for (size_t i = 0; i < n; i++) {
            char ipath[DV_SPEC_FIELD_MAX];
            if (single)
                snprintf(ipath, sizeof(ipath), "%s", path);
            else
                dv_sj_index(ipath, path, i);
            dv_mount *m = &cfg->mounts[cfg->n_mounts];
            memset(m, 0, sizeof(*m));
            int r = parse_mount(single ? v : json_array_get(v, i), ipath, m, err);
            if (r < 0) {
                mount_clear(m);
                return r;
            }
            cfg->n_mounts++;
        }
    }
    return 0;
}

static int check_permissions(const char *perms)
{
    if (!*perms || strlen(perms) > 3)
        return -EINVAL;
    for (const char *p = perms; *p; p++)
        if (!strchr("rwm", *p) || strchr(p + 1, *p))
            return -EINVAL;
    return 0;
}

static int parse_devices(const json_t *config, dv_task_config *cfg, dv_spec_error *err)
{
    static const char *const keys[] = {"host_path", "container_path", "cgroup_permissions", NULL};
    const json_t *v = json_object_get(config, "devices");
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return dv_spec_fail(err, "config.devices", -EINVAL, "expected an array of objects, got %s",
                            dv_sj_type_name(v));
    size_t n = json_array_size(v);
    if (n == 0)
        return 0;
    cfg->devices = dv_xcalloc(n, sizeof(*cfg->devices));
    for (size_t i = 0; i < n; i++) {
        char path[DV_SPEC_FIELD_MAX], field[DV_SPEC_FIELD_MAX];
        dv_sj_index(path, "config.devices", i);
        const json_t *d = json_array_get(v, i);
        dv_device *dev = &cfg->devices[i];
        cfg->n_devices = i + 1; /* so a failure below frees what was parsed */
        if (!json_is_object(d))
            return dv_spec_fail(err, path, -EINVAL, "expected an object, got %s",
                                dv_sj_type_name(d));
        int r;
        if ((r = dv_sj_check_keys(d, path, keys, err)) < 0 ||
            (r = dv_sj_string(d, path, "host_path", &dev->host_path, err)) < 0 ||
            (r = dv_sj_string(d, path, "container_path", &dev->container_path, err)) < 0 ||
            (r = dv_sj_string(d, path, "cgroup_permissions", &dev->cgroup_permissions, err)) < 0)
            return r;
        dv_sj_join(field, path, "host_path");
        if (!dev->host_path || !*dev->host_path)
            return dv_spec_fail(err, field, -EINVAL, "host path must be set for a device");
        if (dev->host_path[0] != '/')
            return dv_spec_fail(err, field, -EINVAL, "\"%s\" is not an absolute path",
                                dev->host_path);
        dv_sj_join(field, path, "container_path");
        if (!dev->container_path || !*dev->container_path) {
            free(dev->container_path);
            dev->container_path = dv_xstrdup(dev->host_path);
        } else if (dev->container_path[0] != '/') {
            return dv_spec_fail(err, field, -EINVAL, "\"%s\" is not an absolute path",
                                dev->container_path);
        }
        dv_sj_join(field, path, "cgroup_permissions");
        if (!dev->cgroup_permissions || !*dev->cgroup_permissions) {
            free(dev->cgroup_permissions);
            dev->cgroup_permissions = dv_xstrdup("rwm");
        } else if (check_permissions(dev->cgroup_permissions) < 0) {
            return dv_spec_fail(err, field, -EINVAL,
                                "invalid cgroup permissions \"%s\" (letters of \"rwm\", each once)",
                                dev->cgroup_permissions);
        }
    }
    return 0;
}

/* A decimal number with an optional leading '-' (Nomad reads ulimits with
 * strconv.Atoi, so "-1" passes through to Docker as RLIM_INFINITY). */
static bool parse_limit(const char *s, int64_t *ret)
{
    bool negative = *s == '-';
    if (negative)
        s++;
    if (!*s || strlen(s) > 18) /* stays within int64 */
        return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    *ret = negative ? -v : v;
    return true;
}

/* -1 is the only meaningful negative limit: unlimited, above any number. */
static bool limit_above(int64_t a, int64_t b)
{
    if (a == -1)
        return b != -1;
    return b != -1 && a > b;
}

static void limit_text(int64_t v, char buf[32])
{
    if (v == -1)
        snprintf(buf, 32, "unlimited");
    else
        snprintf(buf, 32, "%" PRId64, v);
}

static int parse_ulimits(const json_t *config, dv_task_config *cfg, dv_spec_error *err)
{
    dv_kv raw = {0};
    int r = dv_sj_kv(config, "config", "ulimit", &raw, err);
    if (r < 0 || raw.n == 0)
        return r;
    cfg->ulimits = dv_xcalloc(raw.n, sizeof(*cfg->ulimits));
    for (size_t i = 0; i < raw.n && r >= 0; i++) {
        const char *name = raw.v[i].key, *spec = raw.v[i].value;
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_join(field, "config.ulimit", name);
        const char *colon = strchr(spec, ':');
        char soft_text[32] = "", hard_text[32] = "";
        if (colon) {
            snprintf(soft_text, sizeof(soft_text), "%.*s", (int)(colon - spec), spec);
            snprintf(hard_text, sizeof(hard_text), "%s", colon + 1);
        } else {
            snprintf(soft_text, sizeof(soft_text), "%s", spec);
            snprintf(hard_text, sizeof(hard_text), "%s", spec);
        }
        dv_ulimit *u = &cfg->ulimits[i];
        if (!in_list(name, ulimit_names))
            r = dv_spec_fail(err, field, -EINVAL,
                             "unknown ulimit \"%s\" (expected one of core, cpu, data, fsize, "
                             "locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, "
                             "rttime, sigpending, stack)",
                             name);
        else if (!*spec)
            r = dv_spec_fail(err, field, -EINVAL, "invalid ulimit \"\": cannot be empty");
        else if (!parse_limit(soft_text, &u->soft))
            r = dv_spec_fail(err, field, -EINVAL,
                             "invalid ulimit \"%s\": soft limit is not a number", spec);
        else if (!parse_limit(hard_text, &u->hard))
            r = dv_spec_fail(err, field, -EINVAL,
                             "invalid ulimit \"%s\": hard limit is not a number", spec);
        else if (u->soft < -1 || u->hard < -1)
            r = dv_spec_fail(
                err, field, -EINVAL,
                "invalid ulimit \"%s\": %s limit %" PRId64 " is negative (-1 means unlimited)",
                spec, u->soft < -1 ? "soft" : "hard", u->soft < -1 ? u->soft : u->hard);
        else if (limit_above(u->soft, u->hard)) {
            /* the kernel refuses it when the container starts: say so now */
            char soft[32], hard[32];
            limit_text(u->soft, soft);
            limit_text(u->hard, hard);
            r = dv_spec_fail(err, field, -EINVAL,
                             "invalid ulimit \"%s\": soft limit %s is above the hard limit %s",
                             spec, soft, hard);
        } else
            u->name = dv_xstrdup(name);
        cfg->n_ulimits = i + 1;
    }
    dv_kv_free(&raw);
    return r;
}

int dv_spec_parse_storage(const json_t *config, dv_task_config *cfg, dv_spec_error *err)
{
    int r;
    if ((r = dv_sj_strv(config, "config", "volumes", &cfg->volumes, NULL, err)) < 0)
        return r;
    for (size_t i = 0; i < cfg->volumes.n; i++) {
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "config.volumes", i);
        if ((r = check_volume(cfg->volumes.v[i], field, err)) < 0)
            return r;
    }
    if ((r = parse_mounts(config, cfg, err)) < 0 || (r = parse_devices(config, cfg, err)) < 0 ||
        (r = parse_ulimits(config, cfg, err)) < 0)
        return r;
    return 0;
}

void dv_spec_storage_clear(dv_task_config *cfg)
{
    dv_strv_free(&cfg->volumes);
    for (size_t i = 0; i < cfg->n_mounts; i++)
        mount_clear(&cfg->mounts[i]);
    free(cfg->mounts);
    cfg->mounts = NULL;
    cfg->n_mounts = 0;
    for (size_t i = 0; i < cfg->n_devices; i++) {
        free(cfg->devices[i].host_path);
        free(cfg->devices[i].container_path);
        free(cfg->devices[i].cgroup_permissions);
    }
    free(cfg->devices);
    cfg->devices = NULL;
    cfg->n_devices = 0;
    for (size_t i = 0; i < cfg->n_ulimits; i++)
        free(cfg->ulimits[i].name);
    free(cfg->ulimits);
    cfg->ulimits = NULL;
    cfg->n_ulimits = 0;
}
