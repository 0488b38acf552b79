/* Image endpoints: inspect, pull (NDJSON progress, X-Registry-Auth, activity
 * timeout), load (tar upload), remove. */
#include "docker_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base64.h"
#include "cleanup.h"
#include "clock.h"
#include "open_beneath.h"
#include "xalloc.h"

/* Image names appear unescaped in paths ("127.0.0.1:5000/a/b:1", "x@sha256:..."):
 * Docker routes /images/{name:.*}. */
#define IMAGE_KEEP "/:@"
#define PROGRESS_LINE_MAX ((size_t)1 << 20)

int dv_docker_image_inspect(dv_docker *dk, const char *image, json_t **ret, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/images/", image, IMAGE_KEEP, err, "/json");
    if (r < 0)
        return r;
    return dv_docker_call(dk, "GET", path.data, NULL, ret, err);
}

int dv_docker_image_remove(dv_docker *dk, const char *image, bool force, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/images/", image, IMAGE_KEEP, err, "?force=%d&noprune=0",
                           force ? 1 : 0);
    if (r < 0)
        return r;
    return dv_docker_simple(dk, "DELETE", path.data, DV_DOCKER_TIMEOUT_CLIENT, err);
}

/* Docker reports registry failures as text only; these are the ones where a retry
 * may succeed (network trouble, registry 5xx, rate limits). */
static bool transient_message(const char *msg)
{
    static const char *const needles[] = {
        "timeout",
        "Timeout",
        "timed out",
        "connection reset",
        "connection refused",
        "EOF",
        " 500 ",
        "502 Bad Gateway",
        "503 Service",
        "504 Gateway",
        "toomanyrequests",
        "Internal Server Error",
        "i/o timeout",
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(needles); i++)
        if (strstr(msg, needles[i]))
            return true;
    return false;
}

/* Docker answers registry refusals with a 500 before streaming; retrying those
 * cannot help, unlike a real server error. */
static bool permanent_message(const char *msg)
{
    static const char *const needles[] = {
        "no basic auth credentials", "unauthorized", "denied", "not found", "manifest unknown",
        "invalid reference format",
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(needles); i++)
        if (strstr(msg, needles[i]))
            return true;
    return false;
}

/* An NDJSON progress stream (pull, load): every line is an object; one carrying
 * "error"/"errorDetail" ends the operation with that message. */
typedef struct progress {
    const char *what; /* the image (pull) or tar path (load), for messages */
    dv_line_reader lines;
    dv_pull_progress_cb cb;
    void *userdata;
    int64_t last_line_ns;
    dv_error fail; /* set by a line that ends the stream */
} progress;

static int on_progress_line(const char *line, size_t len, void *userdata)
{
    progress *p = userdata;
    p->last_line_ns = dv_monotonic_ns();
    json_error_t jerr;
    _cleanup_json_ json_t *j = json_loadb(line, len, 0, &jerr);
    if (!json_is_object(j)) {
        dv_error_set(&p->fail, -EBADMSG, "%s: invalid progress line: %s", p->what,
                     j ? "not an object" : jerr.text);
        return 1;
    }
    const char *msg =
        json_string_value(json_object_get(json_object_get(j, "errorDetail"), "message"));
    if (!msg)
        msg = json_string_value(json_object_get(j, "error"));
    if (msg) {
        dv_error_set(&p->fail, -EIO, "%s: %s", p->what, msg);
        p->fail.recoverable = transient_message(msg);
        return 1;
    }
    if (p->cb && p->cb(j, p->userdata) != 0) {
        dv_error_set(&p->fail, -ECANCELED, "%s: aborted by the progress callback", p->what);
        return 1;
    }
    return 0;
}

static int on_progress_data(const char *data, size_t len, void *userdata, dv_error *err)
{
    progress *p = userdata;
    int r = dv_line_reader_feed(&p->lines, data, len, err);
    if (r < 0)
        return r;
    if (r > 0) {
        *err = p->fail;
        return p->fail.code;
    }
    return 0;
}

/* The stream ended cleanly: a last line without "\n" may still carry an error. */
static int progress_finish(progress *p, const dv_docker_request *req, dv_error *err)
{
    dv_error e;
    dv_error_clear(&e);
    int r = dv_line_reader_finish(&p->lines, &e);
    if (r > 0) {
        e = p->fail;
        r = e.code;
    }
    if (r < 0) {
        dv_docker_fail(req, err, r, "%s", e.msg);
        if (err)
            err->recoverable = e.recoverable;
    }
    return r;
}

/* "repo[:tag|@digest]" (an https:// or http:// prefix, which Nomad's image option
 * allows, is dropped) → fromImage and tag. Without a tag Docker would pull every
 * tag of the repository, so "latest" is made explicit, as the docker CLI does. */
static int split_reference(const char *image, char **ret_name, char **ret_tag)
{
    if (strncmp(image, "https://", 8) == 0)
        image += 8;
    else if (strncmp(image, "http://", 7) == 0)
        image += 7;
    const char *at = strchr(image, '@');
    const char *slash = strrchr(image, '/');
    const char *colon = strrchr(image, ':');
    size_t name_len;
    const char *tag;
    if (at) {
        name_len = (size_t)(at - image);
        tag = at + 1;
    } else if (colon && (!slash || colon > slash)) {
        name_len = (size_t)(colon - image);
        tag = colon + 1;
    } else {
        name_len = strlen(image);
        tag = "latest";
    }
    if (name_len == 0 || !*tag)
        return -EINVAL;
    *ret_name = dv_xstrndup(image, name_len);
    *ret_tag = dv_xstrdup(tag);
    return 0;
}

static int auth_header(const dv_registry_auth *auth, char **ret)
{
    _cleanup_json_ json_t *o = json_object();
    const struct {
        const char *key, *value;
    } fields[] = {
        {"username", auth->username},
        {"password", auth->password},
        {"email", auth->email},
        {"serveraddress", auth->server_address},
        {"identitytoken", auth->identity_token},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(fields); i++)
        if (fields[i].value && *fields[i].value &&
            json_object_set_new(o, fields[i].key, json_string(fields[i].value)) < 0)
            return -EINVAL; /* credentials from a file or a spec: not valid UTF-8 */
    _cleanup_free_ char *text = dv_docker_dump(o);
    return dv_base64_encode(text, strlen(text), true, ret);
}

int dv_docker_image_pull(dv_docker *dk, const dv_pull_options *opts, dv_error *err)
{
    _cleanup_free_ char *name = NULL, *tag = NULL, *auth = NULL;
    int r = split_reference(opts->image ? opts->image : "", &name, &tag);
    if (r < 0)
        return dv_error_set(err, r, "docker: pull: invalid image reference \"%s\"",
                            opts->image ? opts->image : "");
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    dv_buf_appends(&path, "/images/create?fromImage=");
    dv_docker_escape(&path, name, NULL);
    dv_buf_appends(&path, "&tag=");
    dv_docker_escape(&path, tag, NULL);
    if (opts->auth && (r = auth_header(opts->auth, &auth)) < 0)
        return dv_error_set(err, r, "docker: pull %s: the registry credentials are not valid UTF-8",
                            opts->image);

    progress p = {.what = opts->image, .cb = opts->progress, .userdata = opts->userdata};
    dv_line_reader_init(&p.lines, PROGRESS_LINE_MAX, on_progress_line, &p);
    dv_error_clear(&p.fail);
    dv_docker_request req = {
        .method = "POST",
        .path = path.data,
        .registry_auth = auth,
        .timeout_ns = opts->timeout_ns > 0 ? opts->timeout_ns : 0,
        .activity_timeout_ns = opts->activity_timeout_ns,
        .last_activity_ns = &p.last_line_ns,
        .activity_what = "pull_activity_timeout",
        .cancel = opts->cancel,
        .on_data = on_progress_data,
        .userdata = &p,
    };
    dv_docker_response resp = {0};
    r = dv_docker_do(dk, &req, &resp, err);
    if (r == 0)
        r = progress_finish(&p, &req, err);
    else if (err && err->http_status >= 500 && permanent_message(err->msg))
        err->recoverable = false;
    dv_docker_response_clear(&resp);
    dv_line_reader_free(&p.lines);
    return r;
}

int dv_docker_image_load(dv_docker *dk, int dirfd, const char *tar_path, dv_error *err)
{
    /* Without blocking: a FIFO a task put there must not hold the worker. */
    _cleanup_close_ int fd = dirfd == AT_FDCWD
                                 ? open(tar_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
                                 : dv_open_beneath(dirfd, tar_path);
    if (fd < 0) {
        int e = dirfd == AT_FDCWD ? -errno : fd;
        if (e == -EXDEV || e == -ELOOP)
            return dv_error_set(err, -EPERM, "%s resolves outside its directory (a symlink?)",
                                tar_path);
        return dv_error_set(err, e, "open %s: %s", tar_path, strerror(-e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        return dv_error_errno(err, -errno, "stat %s", tar_path);
    if (!S_ISREG(st.st_mode))
        return dv_error_set(err, -EINVAL, "%s is not a regular file (an image tarball is)",
                            tar_path);
    progress p = {.what = tar_path};
    dv_line_reader_init(&p.lines, PROGRESS_LINE_MAX, on_progress_line, &p);
    dv_error_clear(&p.fail);
    dv_docker_request req = {
        .method = "POST",
        .path = "/images/load?quiet=1",
        .upload_name = tar_path,
        .upload_fd = fd,
        .timeout_ns = DV_DOCKER_TIMEOUT_CLIENT,
        .on_data = on_progress_data,
        .userdata = &p,
    };
    dv_docker_response resp = {0};
    int r = dv_docker_do(dk, &req, &resp, err);
    if (r == 0)
        r = progress_finish(&p, &req, err);
    dv_docker_response_clear(&resp);
    dv_line_reader_free(&p.lines);
    return r;
}
