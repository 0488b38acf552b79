/* Container endpoints: create, start, inspect, list, wait, kill, stop, remove, stats. */
#include "docker_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

int dv_docker_container_create(dv_docker *dk, const char *name, const json_t *body, char **ret_id,
                               dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    dv_buf_appends(&path, "/containers/create");
    if (name && *name) {
        dv_buf_appends(&path, "?name=");
        dv_docker_escape(&path, name, NULL);
    }
    _cleanup_free_ char *text = dv_docker_dump(body);
    dv_docker_request req = {
        .method = "POST", .path = path.data, .body = text, .timeout_ns = DV_DOCKER_TIMEOUT_CLIENT};
    _cleanup_json_ json_t *ans = NULL;
    int r = dv_docker_do_json(dk, &req, &ans, err);
    if (r < 0)
        return r;
    const char *id = json_string_value(json_object_get(ans, "Id"));
    if (!id || !*id)
        return dv_docker_fail(&req, err, -EBADMSG, "no Id in the answer");
    *ret_id = dv_xstrdup(id);
    return 0;
}

int dv_docker_container_start(dv_docker *dk, const char *id, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/containers/", id, NULL, err, "/start");
    if (r < 0)
        return r;
    return dv_docker_simple(dk, "POST", path.data, DV_DOCKER_TIMEOUT_CLIENT, err);
}

int dv_docker_container_inspect(dv_docker *dk, const char *id, json_t **ret, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/containers/", id, NULL, err, "/json");
    if (r < 0)
        return r;
    return dv_docker_call(dk, "GET", path.data, NULL, ret, err);
}

int dv_docker_container_list(dv_docker *dk, bool all, const json_t *filters, json_t **ret,
                             dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    dv_buf_printf(&path, "/containers/json?all=%d", all ? 1 : 0);
    if (filters) {
        _cleanup_free_ char *f = dv_docker_dump(filters);
        dv_buf_appends(&path, "&filters=");
        dv_docker_escape(&path, f, NULL);
    }
    json_t *list = NULL;
    int r;
    if ((r = dv_docker_call(dk, "GET", path.data, NULL, &list, err)) < 0)
        return r;
    if (!json_is_array(list)) {
        json_decref(list);
        return dv_error_set(err, -EBADMSG, "docker: GET /containers/json: expected an array");
    }
    *ret = list;
    return 0;
}

int dv_docker_container_wait(dv_docker *dk, const char *id, const char *condition,
                             int64_t *ret_status, dv_cancel *cancel, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/containers/", id, NULL, err, "/wait?condition=");
    if (r < 0)
        return r;
    dv_docker_escape(&path, condition ? condition : "not-running", NULL);
    /* No deadline: a container may run for months. */
    dv_docker_request req = {
        .method = "POST", .path = path.data, .timeout_ns = 0, .cancel = cancel};
    _cleanup_json_ json_t *ans = NULL;
    if ((r = dv_docker_do_json(dk, &req, &ans, err)) < 0)
        return r;
    json_t *status = json_object_get(ans, "StatusCode");
    if (!json_is_integer(status)) {
        const char *msg =
            json_string_value(json_object_get(json_object_get(ans, "Error"), "Message"));
        return dv_docker_fail(&req, err, -EBADMSG, "no StatusCode in the answer%s%s",
                              msg ? ": " : "", msg ? msg : "");
    }
    *ret_status = json_integer_value(status);
    return 0;
}

int dv_docker_container_kill(dv_docker *dk, const char *id, const char *signal, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/containers/", id, NULL, err, "/kill");
    if (r < 0)
        return r;
    if (signal && *signal) {
        dv_buf_appends(&path, "?signal=");
        dv_docker_escape(&path, signal, NULL);
    }
    return dv_docker_simple(dk, "POST", path.data, DV_DOCKER_TIMEOUT_CLIENT, err);
}

int dv_docker_container_stop(dv_docker *dk, const char *id, int timeout_s, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    if (timeout_s < 0)
        timeout_s = 0;
    int r = dv_docker_path(&path, "/containers/", id, NULL, err, "/stop?t=%d", timeout_s);
    if (r < 0)
        return r;
    /* Docker answers only after the container is gone: allow the grace period on top. */
    int64_t base = dv_docker_timeout(dk);
    int64_t deadline = base > 0 ? base + (int64_t)timeout_s * INT64_C(1000000000) : 0;
    return dv_docker_simple(dk, "POST", path.data, deadline, err);
}

int dv_docker_container_remove(dv_docker *dk, const char *id, bool force, bool volumes,
                               dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/containers/", id, NULL, err, "?force=%d&v=%d", force ? 1 : 0,
                           volumes ? 1 : 0);
    if (r < 0)
        return r;
    return dv_docker_simple(dk, "DELETE", path.data, DV_DOCKER_TIMEOUT_CLIENT, err);
}

int dv_docker_container_stats(dv_docker *dk, const char *id, json_t **ret, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/containers/", id, NULL, err, "/stats?stream=false");
    if (r < 0)
        return r;
    return dv_docker_call(dk, "GET", path.data, NULL, ret, err);
}

int dv_docker_container_stats_once(dv_docker *dk, const char *id, json_t **ret, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r =
        dv_docker_path(&path, "/containers/", id, NULL, err, "/stats?stream=false&one-shot=true");
    if (r < 0)
        return r;
    return dv_docker_call(dk, "GET", path.data, NULL, ret, err);
}
