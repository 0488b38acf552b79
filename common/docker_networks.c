/* Network endpoints: list, inspect, create. */
#include "docker_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

int dv_docker_network_list(dv_docker *dk, const json_t *filters, json_t **ret, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    dv_buf_appends(&path, "/networks");
    if (filters) {
        _cleanup_free_ char *f = dv_docker_dump(filters);
        dv_buf_appends(&path, "?filters=");
        dv_docker_escape(&path, f, NULL);
    }
    json_t *list = NULL;
    int r;
    if ((r = dv_docker_call(dk, "GET", path.data, NULL, &list, err)) < 0)
        return r;
    if (!json_is_array(list)) {
        json_decref(list);
        return dv_error_set(err, -EBADMSG, "docker: GET /networks: expected an array");
    }
    *ret = list;
    return 0;
}

int dv_docker_network_inspect(dv_docker *dk, const char *name, json_t **ret, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/networks/", name, NULL, err, NULL);
    if (r < 0)
        return r;
    return dv_docker_call(dk, "GET", path.data, NULL, ret, err);
}

int dv_docker_network_create(dv_docker *dk, const json_t *body, char **ret_id, dv_error *err)
{
    _cleanup_json_ json_t *ans = NULL;
    int r = dv_docker_call(dk, "POST", "/networks/create", body, &ans, err);
    if (r < 0)
        return r;
    const char *id = json_string_value(json_object_get(ans, "Id"));
    if (!id || !*id)
        return dv_error_set(err, -EBADMSG, "docker: POST /networks/create: no Id in the answer");
    if (ret_id)
        *ret_id = dv_xstrdup(id);
    return 0;
}

int dv_docker_network_remove(dv_docker *dk, const char *name, dv_error *err)
{
    _cleanup_buf_ dv_buf path = DV_BUF_INIT;
    int r = dv_docker_path(&path, "/networks/", name, NULL, err, NULL);
    if (r < 0)
        return r;
    return dv_docker_simple(dk, "DELETE", path.data, DV_DOCKER_TIMEOUT_CLIENT, err);
}
