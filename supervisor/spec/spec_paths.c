#include "spec_paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

void dv_task_paths_clear(dv_task_paths *paths)
{
    if (!paths)
        return;
    free(paths->task_root);
    free(paths->alloc_dir);
    free(paths->logs_dir);
    free(paths->task_dir);
    free(paths->local_dir);
    free(paths->secrets_dir);
    memset(paths, 0, sizeof(*paths));
}

static bool safe_component(const char *s)
{
    return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int dv_task_paths_build(const char *data_dir, const char *task_id, const char *task_name,
                        dv_task_paths *ret, dv_spec_error *err)
{
    return dv_task_paths_build_in(data_dir, task_id, task_name, NULL, ret, err);
}

char *dv_alloc_root(const char *data_dir, const char *alloc_id)
{
    _cleanup_free_ char *clean = dv_path_clean(data_dir);
    return dv_xasprintf("%s/allocs/%s", strcmp(clean, "/") == 0 ? "" : clean, alloc_id);
}

int dv_task_paths_build_in(const char *data_dir, const char *task_id, const char *task_name,
                           const char *alloc_id, dv_task_paths *ret, dv_spec_error *err)
{
    if (alloc_id && !safe_component(alloc_id))
        return dv_spec_fail(err, "", -EINVAL, "invalid allocation id \"%s\"", alloc_id);
    if (!data_dir || data_dir[0] != '/')
        return dv_spec_fail(err, "data_dir", -EINVAL, "\"%s\" is not an absolute path",
                            data_dir ? data_dir : "");
    if (!safe_component(task_id))
        return dv_spec_fail(err, "", -EINVAL, "invalid task id \"%s\"", task_id ? task_id : "");
    if (!safe_component(task_name))
        return dv_spec_fail(err, "name", -EINVAL, "invalid task name \"%s\"",
                            task_name ? task_name : "");
    _cleanup_free_ char *clean = dv_path_clean(data_dir);
    const char *base = strcmp(clean, "/") == 0 ? "" : clean;
    dv_task_paths p = {0};
    p.task_root = dv_xasprintf("%s/tasks/%s", base, task_id);
    if (alloc_id) {
        _cleanup_free_ char *root = dv_alloc_root(data_dir, alloc_id);
        p.alloc_dir = dv_xasprintf("%s/alloc", root);
        p.alloc_shared = true;
    } else {
        p.alloc_dir = dv_xasprintf("%s/alloc", p.task_root);
    }
    p.logs_dir = dv_xasprintf("%s/logs", p.alloc_dir);
    p.task_dir = dv_xasprintf("%s/%s", p.task_root, task_name);
    p.local_dir = dv_xasprintf("%s/local", p.task_dir);
    p.secrets_dir = dv_xasprintf("%s/secrets", p.task_dir);
    *ret = p;
    return 0;
}

char *dv_path_clean(const char *path)
{
    size_t n = strlen(path);
    char *out = dv_xmalloc(n + 2);
    size_t len = 0;
    const char *p = path;
    bool absolute = *p == '/';
    if (absolute)
        out[len++] = '/';
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t clen = end ? (size_t)(end - p) : strlen(p);
        if (clen == 1 && p[0] == '.') {
            /* skip */
        } else if (clen == 2 && p[0] == '.' && p[1] == '.') {
            size_t floor = absolute ? 1 : 0;
            bool can_pop = len > floor;
            /* a relative path keeps leading ".." it cannot resolve */
            if (can_pop && !(len >= floor + 2 && strncmp(out + len - 2, "..", 2) == 0 &&
                             (len == floor + 2 || out[len - 3] == '/'))) {
                while (len > floor && out[len - 1] != '/')
                    len--;
                if (len > floor)
                    len--; /* the separator */
            } else if (!absolute) {
                if (len > 0)
                    out[len++] = '/';
                out[len++] = '.';
                out[len++] = '.';
            }
        } else {
            if (len > 0 && out[len - 1] != '/')
                out[len++] = '/';
            memcpy(out + len, p, clen);
            len += clen;
        }
        p += clen;
    }
    if (len == 0)
        out[len++] = '.';
    out[len] = '\0';
    return out;
}

bool dv_path_is_inside(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (strncmp(path, dir, n) != 0)
        return false;
    return path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/');
}
