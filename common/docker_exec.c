/* exec: create, start attached (demultiplexed), inspect for the exit code. */
#include "docker_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "clock.h"
#include "xalloc.h"

void dv_exec_result_clear(dv_exec_result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

typedef struct exec_out {
    dv_demux demux;
    dv_buf out, err;
    bool out_truncated, err_truncated;
    dv_error fail;
} exec_out;

static int on_exec_frame(enum dv_stream_type type, const char *data, size_t len, void *userdata)
{
    exec_out *x = userdata;
    if (type == DV_STREAM_SYSTEM) {
        dv_error_set(&x->fail, -EIO, "daemon error in the exec stream: %.*s",
                     (int)(len > 500 ? 500 : len), data);
        return 1;
    }
    bool is_err = type == DV_STREAM_STDERR;
    dv_buf *b = is_err ? &x->err : &x->out;
    /* Past the cap the command runs on (its exit code is still wanted) and its
     * output is dropped. */
    if (b->len + len > DV_EXEC_OUTPUT_MAX) {
        *(is_err ? &x->err_truncated : &x->out_truncated) = true;
        len = DV_EXEC_OUTPUT_MAX - b->len;
    }
    if (len > 0 && dv_buf_append(b, data, len) < 0) {
        dv_error_set(&x->fail, -ENOMEM, "out of memory collecting exec output");
        return 1;
    }
    return 0;
}

static int on_exec_data(const char *data, size_t len, void *userdata, dv_error *err)
{
    exec_out *x = userdata;
    int r = dv_demux_feed(&x->demux, data, len, err);
    if (r > 0) {
        *err = x->fail;
        return x->fail.code;
    }
    return r;
}

static int64_t remaining(int64_t end)
{
    int64_t left = end - dv_monotonic_ns();
    return left > 1000000 ? left : 1000000; /* at least 1 ms: curl treats 0 as "none" */
}

static int exec_create(dv_docker *dk, const char *id, const char *const *cmd, bool tty, int64_t end,
                       char **ret_exec_id, dv_error *err)
{
    _cleanup_json_ json_t *argv = json_array();
    for (size_t i = 0; cmd && cmd[i]; i++)
        if (json_array_append_new(argv, json_string(cmd[i])) < 0)
            return dv_error_set(err, -EINVAL, "docker: exec in %s: argument %zu is not valid UTF-8",
                                id, i);
    if (json_array_size(argv) == 0)
        return dv_error_set(err, -EINVAL, "docker: exec in %s: empty command", id);
    _cleanup_json_ json_t *body =
        json_pack("{s:b, s:b, s:b, s:b, s:O}", "AttachStdin", 0, "AttachStdout", 1, "AttachStderr",
                  1, "Tty", tty, "Cmd", argv);
    _cleanup_free_ char *text = dv_docker_dump(body);
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/containers/", id, NULL, err, "/exec");
    if (r < 0)
        return r;
    dv_docker_request req = {
        .method = "POST", .path = path.data, .body = text, .timeout_ns = remaining(end)};
    _cleanup_json_ json_t *ans = NULL;
    if ((r = dv_docker_do_json(dk, &req, &ans, err)) < 0)
        return r;
    const char *eid = json_string_value(json_object_get(ans, "Id"));
    if (!eid || !*eid)
        return dv_docker_fail(&req, err, -EBADMSG, "no Id in the answer");
    *ret_exec_id = dv_xstrdup(eid);
    return 0;
}

/* The attach stream can end a moment before Docker records the exit code. */
static int exec_exit_code(dv_docker *dk, const char *exec_id, int64_t end, int *ret_code,
                          dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/exec/", exec_id, NULL, err, "/json");
    if (r < 0)
        return r;
    dv_docker_request req = {.method = "GET", .path = path.data};
    for (;;) {
        req.timeout_ns = remaining(end);
        _cleanup_json_ json_t *ans = NULL;
        if ((r = dv_docker_do_json(dk, &req, &ans, err)) < 0)
            return r;
        json_t *code = json_object_get(ans, "ExitCode");
        if (!json_is_true(json_object_get(ans, "Running")) && json_is_integer(code)) {
            *ret_code = (int)json_integer_value(code);
            return 0;
        }
        if (dv_monotonic_ns() >= end) {
            r = dv_docker_fail(&req, err, -ETIMEDOUT, "exec still running at the deadline");
            if (err)
                err->recoverable = true;
            return r;
        }
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000}, NULL);
    }
}

int dv_docker_exec(dv_docker *dk, const char *id, const char *const *cmd, bool tty,
                   int64_t timeout_ns, dv_exec_result *ret, dv_error *err)
{
    int64_t budget = timeout_ns > 0 ? timeout_ns : dv_docker_timeout(dk);
    if (budget <= 0)
        budget = DV_DOCKER_DEFAULT_TIMEOUT_NS;
    int64_t end = dv_monotonic_ns() + budget;

    _cleanup_free_ char *exec_id = NULL;
    int r = exec_create(dk, id, cmd, tty, end, &exec_id, err);
    if (r < 0)
        return r;

    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    if ((r = dv_docker_path(&path, "/exec/", exec_id, NULL, err, "/start")) < 0)
        return r;
    const char *body = tty ? "{\"Detach\":false,\"Tty\":true}" : "{\"Detach\":false,\"Tty\":false}";
    exec_out x = {.out = DV_BUF_INIT, .err = DV_BUF_INIT};
    dv_error_clear(&x.fail);
    dv_demux_init(&x.demux, tty, on_exec_frame, &x);
    dv_docker_request req = {.method = "POST",
                             .path = path.data,
                             .body = body,
                             .timeout_ns = remaining(end),
                             .on_data = on_exec_data,
                             .userdata = &x};
    dv_docker_response resp = {0};
    r = dv_docker_do(dk, &req, &resp, err);
    dv_docker_response_clear(&resp);
    if (r == 0 && dv_demux_partial(&x.demux)) {
        r = dv_docker_fail(&req, err, -ECONNRESET, "exec stream ended inside a frame");
        if (err)
            err->recoverable = true;
    }
    dv_demux_free(&x.demux);
    int code = 0;
    if (r == 0)
        r = exec_exit_code(dk, exec_id, end, &code, err);
    if (r < 0) {
        dv_buf_free(&x.out);
        dv_buf_free(&x.err);
        return r;
    }
    dv_exec_result res = {.exit_code = code,
                          .out_len = x.out.len,
                          .err_len = x.err.len,
                          .out_truncated = x.out_truncated,
                          .err_truncated = x.err_truncated};
    res.out = dv_buf_steal(&x.out);
    res.err = dv_buf_steal(&x.err);
    *ret = res;
    return 0;
}
