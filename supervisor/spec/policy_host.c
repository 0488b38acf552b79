/* Host paths resolved on disk (symlinks): volume and bind sources, seccomp
 * profiles, devices (policy.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "json_strict.h"
#include "open_beneath.h"
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
    for (size_t i = 0; i < c->security_opt.n; i++) {
        const char *profile = dv_policy_seccomp_path(c->security_opt.v[i]);
        if (!profile)
            continue;
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "config.security_opt", i);
        if ((r = check_one(root, paths, profile, field, err)) < 0)
            return r;
    }
    return 0;
}

/* Open LEXICAL (clean, absolute) for reading. O_NONBLOCK: a FIFO put there would
 * otherwise hold the agent's loop until someone writes to it. */
static int open_profile(const dv_agent_config *config, const dv_task_paths *paths,
                        const char *lexical)
{
    const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    if (config->docker.volumes.enabled) {
        int fd = open(lexical, flags);
        return fd < 0 ? -errno : fd;
    }
    if (!dv_path_is_inside(lexical, paths->task_root))
        return -EPERM;
    const char *rel = lexical + strlen(paths->task_root);
    while (*rel == '/')
        rel++;
    if (!*rel)
        return -EISDIR;
    /* The directories through dv_open_beneath() ("/." makes a FIFO among them fail
     * resolution, never get opened); the file itself relative to that fd, never
     * followed (the caller passes O_NONBLOCK: a FIFO there cannot block). */
    const char *slash = strrchr(rel, '/');
    _cleanup_free_ char *dir =
        slash ? dv_xasprintf("%.*s/.", (int)(slash - rel), rel) : dv_xstrdup(".");
    _cleanup_close_ int rootfd = open(paths->task_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return -errno;
    _cleanup_close_ int dirfd = dv_open_beneath(rootfd, dir);
    if (dirfd < 0)
        return dirfd;
    int fd = openat(dirfd, slash ? slash + 1 : rel, flags | O_NOFOLLOW);
    return fd < 0 ? -errno : fd;
}

/* FD's whole content, NUL-terminated, when it is a regular file of at most
 * DV_SECCOMP_PROFILE_MAX bytes (checked while reading too: it may grow). */
static int read_bounded(int fd, char **ret, size_t *ret_len)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    if (st.st_size > DV_SECCOMP_PROFILE_MAX)
        return -EFBIG;
    /* room for one byte past the limit, to see a file that grew, and the NUL */
    size_t cap = (size_t)st.st_size + 2, len = 0;
    _cleanup_free_ char *buf = dv_xmalloc(cap);
    for (;;) {
        if (len + 1 == cap) {
            if (len > DV_SECCOMP_PROFILE_MAX)
                return -EFBIG;
            cap = cap * 2 > DV_SECCOMP_PROFILE_MAX + 2 ? DV_SECCOMP_PROFILE_MAX + 2 : cap * 2;
            buf = dv_xrealloc(buf, cap); /* bounded by our limit, not the file */
        }
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *ret_len = len;
    *ret = TAKE_PTR(buf);
    return 0;
}

/* The profile at PROFILE (as written in FIELD), compact. */
static int load_profile(const dv_agent_config *config, const dv_task_paths *paths,
                        const char *profile, const char *field, char **ret, dv_spec_error *err)
{
    _cleanup_free_ char *lexical = dv_policy_resolve_source(paths, profile), *text = NULL;
    _cleanup_close_ int fd = open_profile(config, paths, lexical);
    if (fd == -EPERM || fd == -EXDEV)
        return dv_spec_fail(err, field, -EPERM,
                            "seccomp profile \"%s\" leads out of the task's allocation directory "
                            "(docker.volumes.enabled is false)",
                            profile);
    if (fd == -ELOOP && !config->docker.volumes.enabled)
        return dv_spec_fail(err, field, -ELOOP,
                            "seccomp profile \"%s\" is a symlink: in the task's allocation "
                            "directory it must be the file itself",
                            profile);
    if (fd < 0)
        return dv_spec_fail(err, field, fd, "seccomp profile \"%s\": %s", profile, strerror(-fd));
    size_t len = 0;
    int r = read_bounded(fd, &text, &len);
    if (r == -EINVAL)
        return dv_spec_fail(err, field, r, "seccomp profile \"%s\" is not a regular file", profile);
    if (r == -EFBIG)
        return dv_spec_fail(err, field, r, "seccomp profile \"%s\" is larger than %d bytes",
                            profile, DV_SECCOMP_PROFILE_MAX);
    if (r < 0)
        return dv_spec_fail(err, field, r, "seccomp profile \"%s\": %s", profile, strerror(-r));
    _cleanup_json_ json_t *json = NULL;
    dv_error e;
    if ((r = dv_json_parse_strict(text, len, &json, &e)) < 0)
        return dv_spec_fail(err, field, r, "seccomp profile \"%s\" is not a JSON object: %s",
                            profile, e.msg);
    char *compact = json_dumps(json, JSON_COMPACT);
    if (!compact)
        dv_oom("seccomp profile");
    *ret = compact;
    return 0;
}

int dv_policy_security_opts(const dv_task_spec *spec, const dv_agent_config *config,
                            const dv_task_paths *paths, dv_strv *ret, dv_spec_error *err)
{
    const dv_strv *opts = &spec->config.security_opt;
    dv_strv out = {0};
    for (size_t i = 0; i < opts->n; i++) {
        const char *profile = dv_policy_seccomp_path(opts->v[i]);
        if (!profile) {
            dv_strv_push(&out, opts->v[i]);
            continue;
        }
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "config.security_opt", i);
        _cleanup_free_ char *text = NULL;
        int r = load_profile(config, paths, profile, field, &text, err);
        if (r < 0) {
            dv_strv_free(&out);
            return r;
        }
        _cleanup_free_ char *opt = dv_xasprintf("seccomp=%s", text);
        dv_strv_push(&out, opt);
    }
    dv_strv_free(ret);
    *ret = out;
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
