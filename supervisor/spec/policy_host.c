/* Host paths resolved on disk (symlinks): volume and bind sources, devices (policy.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "policy.h"
#include "spec_json.h"
#include "xalloc.h"

/* realpath() of the longest existing prefix of PATH (absolute, clean), with
 * the rest appended. */
static int resolve_on_disk(const char *path, char **ret)
{
    _cleanup_free_ char *prefix = dv_xstrdup(path);
    size_t len = strlen(prefix);
    for (;;) {
        char *real = realpath(prefix, NULL);
        if (real) {
            const char *rest = path + len; /* "" or "/x/y" */
            *ret = dv_xasprintf("%s%s", strcmp(real, "/") == 0 && *rest ? "" : real, rest);
            free(real);
            return 0;
        }
        if (errno != ENOENT && errno != ENOTDIR)
            return -errno;
        char *slash = strrchr(prefix, '/');
        if (!slash || slash == prefix) {
            /* nothing below / exists: the path is its own resolution */
            *ret = dv_xstrdup(path);
            return 0;
        }
        *slash = '\0';
        len = (size_t)(slash - prefix);
    }
}

static int check_one(const char *root, const dv_task_paths *paths, const char *source,
                     const char *field, dv_spec_error *err)
{
    _cleanup_free_ char *lexical = dv_policy_resolve_source(paths, source), *real = NULL;
    int r;
    if ((r = resolve_on_disk(lexical, &real)) < 0)
        return dv_spec_fail(err, field, r, "resolving \"%s\": %s", source, strerror(-r));
    if (!dv_path_is_inside(real, root))
        return dv_spec_fail(err, field, -EPERM,
                            "host path \"%s\" resolves to \"%s\" outside the task's allocation "
                            "directory (docker.volumes.enabled is false)",
                            source, real);
    return 0;
}

int dv_policy_check_host_paths(const dv_task_spec *spec, const dv_agent_config *config,
                               const dv_task_paths *paths, dv_spec_error *err)
{
    if (config->docker.volumes.enabled)
        return 0;
    _cleanup_free_ char *root = NULL;
    int r = resolve_on_disk(paths->task_root, &root);
    if (r < 0)
        return dv_spec_fail(err, "", r, "resolving %s: %s", paths->task_root, strerror(-r));
    const dv_task_config *c = &spec->config;
    const char *driver = c->volume_driver;
    bool local = !driver || !*driver || strcmp(driver, "local") == 0;
    for (size_t i = 0; local && i < c->volumes.n; i++) {
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "config.volumes", i);
        _cleanup_free_ char *source = dv_xstrndup(c->volumes.v[i], strcspn(c->volumes.v[i], ":"));
        if ((r = check_one(root, paths, source, field, err)) < 0)
            return r;
    }
    for (size_t i = 0; i < c->n_mounts; i++) {
        if (c->mounts[i].type != DV_MOUNT_BIND)
            continue;
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "config.mount", i);
        if ((r = check_one(root, paths, c->mounts[i].source, field, err)) < 0)
            return r;
    }
    return 0;
}

int dv_policy_check_devices(const dv_task_spec *spec, const dv_agent_config *config, dv_strv *ret,
                            dv_spec_error *err)
{
    const dv_task_config *c = &spec->config;
    dv_strv canonical = {0};
    int r = 0;
    for (size_t i = 0; i < c->n_devices && r == 0; i++) {
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "config.devices", i);
        const char *host = c->devices[i].host_path;
        _cleanup_free_ char *real = realpath(host, NULL);
        struct stat st;
        if (!real || stat(real, &st) < 0)
            r = dv_spec_fail(err, field, -errno, "device \"%s\": %s", host, strerror(errno));
        else if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
            r = dv_spec_fail(err, field, -EINVAL, "\"%s\"%s%s%s is not a character or block device",
                             host, strcmp(host, real) ? " (" : "", strcmp(host, real) ? real : "",
                             strcmp(host, real) ? ")" : "");
        else if (!dv_policy_device_allowed(config, real))
            r = dv_policy_device_refused(config, field, host, real, err);
        else
            dv_strv_push(&canonical, real);
    }
    if (r == 0 && ret) {
        dv_strv_free(ret);
        *ret = canonical;
    } else {
        dv_strv_free(&canonical);
    }
    return r;
}
