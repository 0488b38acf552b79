/* One Nomad task as a task spec, and the readers the job conversion shares
 * (nomad_convert.h). */
#include "nomad_convert.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "duration.h"
#include "nomad_constraints.h"
#include "spec_json.h"
#include "xalloc.h"

/* Task fields whose feature dockvisor does not have: refused when given, so a
 * job never runs without what it asked for. */
static const char *const task_unsupported[] = {"Services",        "Templates", "Vault",
                                               "VolumeMounts",    "Lifecycle", "CSIPluginConfig",
                                               "DispatchPayload", NULL};

/* Blocks the docker driver's config takes once: HCL writes every block as an
 * array of objects, so `logging { ... }` arrives as "logging": [{...}]. */
static const char *const single_blocks[] = {"logging",      "labels",   "auth",
                                            "ulimit",       "sysctl",   "storage_opt",
                                            "healthchecks", "port_map", NULL};

bool dv_nomad_is_set(const json_t *v)
{
    const char *key;
    const json_t *item;
    size_t i;
    if (!v)
        return false;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    case JSON_TRUE:
        return true;
    case JSON_ARRAY:
        json_array_foreach(v, i, item) if (dv_nomad_is_set(item)) return true;
        return false;
    case JSON_OBJECT:
        json_object_foreach((json_t *)v, key, item) if (dv_nomad_is_set(item)) return true;
        return false;
    default:
        return false;
    }
}

int dv_nomad_refuse(const json_t *obj, const char *path, const char *const *keys,
                    dv_spec_error *err)
{
    for (const char *const *k = keys; *k; k++)
        if (dv_nomad_is_set(json_object_get(obj, *k))) {
            char field[DV_SPEC_FIELD_MAX];
            dv_sj_join(field, path, *k);
            return dv_spec_fail(err, field, -EINVAL, "not supported by dockvisor");
        }
    return 0;
}

/* Copy OBJ's KEY to OUT's OUT_KEY when given (not null). */
static void copy_key(json_t *out, const char *out_key, const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v && !json_is_null(v))
        json_object_set_new(out, out_key, json_deep_copy(v));
}

/* Nanoseconds (the API's durations) as a Go duration string; a string is
 * taken as written (a hand-written job). */
static int copy_duration(json_t *out, const char *out_key, const json_t *obj, const char *path,
                         const char *key, dv_spec_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        json_object_set(out, out_key, v);
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_join(field, path, key);
        return dv_spec_fail(err, field, -EINVAL,
                            "expected a duration in nanoseconds (a non-negative integer), got %s",
                            dv_sj_type_name(v));
    }
    char text[64];
    dv_duration_format(json_integer_value(v), text, sizeof(text));
    json_object_set_new(out, out_key, json_string(text));
    return 0;
}

int dv_nomad_restart(const json_t *policy, const char *path, json_t **ret, dv_spec_error *err)
{
    *ret = NULL;
    if (!policy || json_is_null(policy))
        return 0;
    if (!json_is_object(policy))
        return dv_spec_fail(err, path, -EINVAL, "expected an object, got %s",
                            dv_sj_type_name(policy));
    _cleanup_json_ json_t *out = json_object();
    int r;
    copy_key(out, "attempts", policy, "Attempts");
    if ((r = copy_duration(out, "interval", policy, path, "Interval", err)) < 0 ||
        (r = copy_duration(out, "delay", policy, path, "Delay", err)) < 0)
        return r;
    copy_key(out, "mode", policy, "Mode");
    *ret = TAKE_PTR(out);
    return 0;
}

/* KEY of OBJ given as HCL's block array: its one object in its place. */
static int unwrap_block(json_t *obj, const char *path, const char *key, dv_spec_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_array(v))
        return 0; /* already an object, or a shape the spec parser names */
    size_t n = json_array_size(v);
    if (n == 0) {
        json_object_del(obj, key);
        return 0;
    }
    char field[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, key);
    if (n > 1)
        return dv_spec_fail(err, field, -EINVAL, "a single block, given %zu times", n);
    if (json_is_object(json_array_get(v, 0)))
        json_object_set(obj, key, json_array_get(v, 0));
    return 0;
}

/* A mount's nested blocks: volume_options { labels {} driver_config { options {} } }. */
static int unwrap_mount(json_t *mount, const char *path, dv_spec_error *err)
{
    static const char *const blocks[] = {"volume_options", "bind_options", "tmpfs_options"};
    char vpath[DV_SPEC_FIELD_MAX], dpath[DV_SPEC_FIELD_MAX];
    int r;
    if (!json_is_object(mount))
        return 0;
    for (size_t i = 0; i < DV_ARRAY_SIZE(blocks); i++)
        if ((r = unwrap_block(mount, path, blocks[i], err)) < 0)
            return r;
    json_t *vo = json_object_get(mount, "volume_options");
    dv_sj_join(vpath, path, "volume_options");
    dv_sj_join(dpath, vpath, "driver_config");
    if (!json_is_object(vo) || (r = unwrap_block(vo, vpath, "labels", err)) < 0 ||
        (r = unwrap_block(vo, vpath, "driver_config", err)) < 0)
        return r;
    json_t *dc = json_object_get(vo, "driver_config");
    return json_is_object(dc) ? unwrap_block(dc, dpath, "options", err) : 0;
}

/* The docker driver's config with HCL's block arrays unwrapped. */
static int convert_config(const json_t *config, const char *path, json_t **ret, dv_spec_error *err)
{
    if (!json_is_object(config))
        return dv_spec_fail(err, path, -EINVAL,
                            "expected the docker driver's config object, got %s",
                            config ? dv_sj_type_name(config) : "nothing");
    _cleanup_json_ json_t *out = json_deep_copy(config);
    if (!out)
        dv_oom("nomad config");
    int r;
    for (const char *const *k = single_blocks; *k; k++)
        if ((r = unwrap_block(out, path, *k, err)) < 0)
            return r;
    char field[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, "logging");
    json_t *logging = json_object_get(out, "logging");
    if (json_is_object(logging) && (r = unwrap_block(logging, field, "config", err)) < 0)
        return r;
    static const char *const mount_keys[] = {"mount", "mounts"};
    for (size_t k = 0; k < DV_ARRAY_SIZE(mount_keys); k++) {
        json_t *m = json_object_get(out, mount_keys[k]);
        dv_sj_join(field, path, mount_keys[k]);
        if (json_is_object(m) && (r = unwrap_mount(m, field, err)) < 0)
            return r;
        for (size_t i = 0; json_is_array(m) && i < json_array_size(m); i++) {
            char ifield[DV_SPEC_FIELD_MAX];
            dv_sj_index(ifield, field, i);
            if ((r = unwrap_mount(json_array_get(m, i), ifield, err)) < 0)
                return r;
        }
    }
    *ret = TAKE_PTR(out);
    return 0;
}

static int convert_resources(const json_t *task, const char *path, json_t *out, dv_spec_error *err)
{
    static const char *const unsupported[] = {"Cores", "Devices", "Networks", NULL};
    const json_t *res = json_object_get(task, "Resources");
    if (!json_is_object(res))
        return 0;
    char rpath[DV_SPEC_FIELD_MAX];
    dv_sj_join(rpath, path, "Resources");
    int r = dv_nomad_refuse(res, rpath, unsupported, err);
    if (r < 0)
        return r;
    json_t *spec = json_object();
    static const char *const names[][2] = {
        {"CPU", "cpu"}, {"MemoryMB", "memory"}, {"MemoryMaxMB", "memory_max"}};
    /* 0 is what a job without the value says: the task spec's default. */
    for (size_t k = 0; k < DV_ARRAY_SIZE(names); k++)
        if (dv_nomad_is_set(json_object_get(res, names[k][0])))
            copy_key(spec, names[k][1], res, names[k][0]);
    json_object_set_new(out, "resources", spec);
    return 0;
}

static void convert_logs(const json_t *task, json_t *out)
{
    const json_t *lc = json_object_get(task, "LogConfig");
    if (!json_is_object(lc))
        return;
    json_t *logs = json_object();
    copy_key(logs, "max_files", lc, "MaxFiles");
    copy_key(logs, "max_file_size", lc, "MaxFileSizeMB");
    copy_key(logs, "disabled", lc, "Disabled");
    json_object_set_new(out, "logs", logs);
}

/* Artifacts as the task spec's "artifact" blocks. */
static void convert_artifacts(const json_t *task, json_t *out)
{
    static const char *const names[][2] = {{"GetterSource", "source"},
                                           {"RelativeDest", "destination"},
                                           {"GetterMode", "mode"},
                                           {"GetterOptions", "options"},
                                           {"GetterHeaders", "headers"}};
    const json_t *list = json_object_get(task, "Artifacts");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return;
    json_t *artifacts = json_array();
    size_t i;
    const json_t *a;
    json_array_foreach(list, i, a)
    {
        json_t *spec = json_object();
        for (size_t k = 0; k < DV_ARRAY_SIZE(names); k++)
            if (dv_nomad_is_set(json_object_get(a, names[k][0])))
                copy_key(spec, names[k][1], a, names[k][0]);
        json_array_append_new(artifacts, spec);
    }
    json_object_set_new(out, "artifact", artifacts);
}

int dv_nomad_task_convert(const json_t *task, const char *path, const dv_interp_vars *node,
                          json_t **ret, dv_spec_error *err)
{
    if (!json_is_object(task))
        return dv_spec_fail(err, path, -EINVAL, "expected a task object, got %s",
                            dv_sj_type_name(task));
    char field[DV_SPEC_FIELD_MAX];
    const char *name, *driver, *user, *signal;
    int r;
    if ((r = dv_sj_string_ref(task, path, "Name", &name, err)) < 0 ||
        (r = dv_sj_string_ref(task, path, "Driver", &driver, err)) < 0 ||
        (r = dv_sj_string_ref(task, path, "User", &user, err)) < 0 ||
        (r = dv_sj_string_ref(task, path, "KillSignal", &signal, err)) < 0)
        return r;
    dv_sj_join(field, path, "Name");
    if (!name || !*name)
        return dv_spec_fail(err, field, -EINVAL, "task name required");
    dv_sj_join(field, path, "Driver");
    if (!driver || strcmp(driver, "docker") != 0)
        return dv_spec_fail(err, field, -EINVAL,
                            "driver \"%s\" is not supported (dockvisor runs docker tasks only)",
                            driver ? driver : "");
    dv_sj_join(field, path, "Constraints");
    if ((r = dv_nomad_refuse(task, path, task_unsupported, err)) < 0 ||
        (r = dv_nomad_constraints_check(json_object_get(task, "Constraints"), field, node, err)) <
            0)
        return r;
    _cleanup_json_ json_t *out = json_pack("{s:s}", "name", name);
    if (!out)
        return dv_spec_fail(err, path, -EINVAL, "task name is not valid UTF-8");
    json_t *config = NULL;
    dv_sj_join(field, path, "Config");
    if ((r = convert_config(json_object_get(task, "Config"), field, &config, err)) < 0)
        return r;
    json_object_set_new(out, "config", config);
    copy_key(out, "env", task, "Env");
    copy_key(out, "meta", task, "Meta");
    if (user && *user)
        copy_key(out, "user", task, "User");
    if ((r = convert_resources(task, path, out, err)) < 0 ||
        (r = copy_duration(out, "kill_timeout", task, path, "KillTimeout", err)) < 0)
        return r;
    if (signal && *signal)
        copy_key(out, "kill_signal", task, "KillSignal");
    json_t *restart = NULL;
    dv_sj_join(field, path, "RestartPolicy");
    if ((r = dv_nomad_restart(json_object_get(task, "RestartPolicy"), field, &restart, err)) < 0)
        return r;
    if (restart)
        json_object_set_new(out, "restart", restart);
    convert_logs(task, out);
    convert_artifacts(task, out);
    *ret = TAKE_PTR(out);
    return 0;
}
