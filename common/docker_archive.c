/* Reading one file out of a container: GET /containers/{id}/archive. */
#include "docker_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "tar_read.h"
#include "xalloc.h"

/* Room for the headers around the file: its own, PAX records, the end blocks. */
#define ARCHIVE_SLACK (64 * 1024)
#define MAX_LINKS 8

typedef struct archive_sink {
    dv_buf buf;
    size_t cap;
} archive_sink;

static int on_archive_data(const char *data, size_t len, void *userdata, dv_error *err)
{
    archive_sink *s = userdata;
    if (len > s->cap - s->buf.len)
        return dv_error_set(err, -EFBIG, "the archive is larger than %zu bytes", s->cap);
    if (dv_buf_append(&s->buf, data, len) < 0)
        return dv_error_set(err, -ENOMEM, "out of memory");
    return 0;
}

static int fetch(dv_docker *dk, const char *id, const char *path, archive_sink *sink, dv_error *err)
{
    _cleanup_buf_ dv_buf url = DV_BUF_INIT;
    int r = dv_docker_path(&url, "/containers/", id, NULL, err, "/archive?path=");
    if (r < 0)
        return r;
    dv_docker_escape(&url, path, "/");
    dv_docker_request req = {.method = "GET",
                             .path = url.data,
                             .timeout_ns = DV_DOCKER_TIMEOUT_CLIENT,
                             .on_data = on_archive_data,
                             .userdata = sink};
    dv_docker_response resp = {0};
    r = dv_docker_do(dk, &req, &resp, err);
    dv_docker_response_clear(&resp);
    return r;
}

/* TARGET of a link found at PATH, as the container would resolve it (the Engine
 * resolves ".." within the container's root). */
static char *link_path(const char *path, const char *target)
{
    if (target[0] == '/')
        return dv_xstrdup(target);
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) : 0;
    return dv_xasprintf("%.*s/%s", (int)dir, path, target);
}

int dv_docker_container_read_file(dv_docker *dk, const char *id, const char *path, size_t max,
                                  char **ret_data, size_t *ret_len, dv_error *err)
{
    if (!path || path[0] != '/')
        return dv_error_set(err, -EINVAL, "docker: read %s: the path must be absolute",
                            path ? path : "(null)");
    if (max > SIZE_MAX - ARCHIVE_SLACK - 1)
        max = SIZE_MAX - ARCHIVE_SLACK - 1;
    _cleanup_free_ char *cur = dv_xstrdup(path);
    for (int links = 0;; links++) {
        if (strlen(cur) > PATH_MAX)
            return dv_error_set(err, -ENAMETOOLONG, "docker: read %s: path too long", path);
        archive_sink sink = {.buf = DV_BUF_INIT, .cap = max + ARCHIVE_SLACK};
        int r = fetch(dk, id, cur, &sink, err);
        dv_tar_entry e;
        if (r == 0 && (r = dv_tar_first_entry(sink.buf.data, sink.buf.len, &e, err)) < 0)
            dv_error_wrap(err, "docker: %s in container %.12s", cur, id);
        if (r == 0 && e.kind == DV_TAR_FILE && e.len > max)
            r = dv_error_set(err, -EFBIG, "docker: %s in container %.12s is larger than %zu bytes",
                             cur, id, max);
        if (r < 0) {
            if (r == -EFBIG)
                err->recoverable = false; /* the same image gives the same file */
            dv_buf_free(&sink.buf);
            return r;
        }
        if (e.kind == DV_TAR_FILE) {
            char *copy = malloc(e.len + 1);
            if (copy) {
                memcpy(copy, e.data, e.len);
                copy[e.len] = '\0';
            }
            dv_buf_free(&sink.buf);
            if (!copy)
                return dv_error_set(err, -ENOMEM, "docker: out of memory");
            *ret_data = copy;
            if (ret_len)
                *ret_len = e.len;
            return 0;
        }
        dv_buf_free(&sink.buf);
        if (links == MAX_LINKS)
            return dv_error_set(err, -ELOOP, "docker: %s in container %.12s: too many symlinks",
                                path, id);
        char *next = link_path(cur, e.link);
        free(cur);
        cur = next;
    }
}
