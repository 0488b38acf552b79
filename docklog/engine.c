#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cleanup.h"
#include "localfile.h"
#include "timestamp.h"

int dl_engine_init(dl_engine *e, const dl_config *config, int wake_fd, dv_error *err)
{
    memset(e, 0, sizeof(*e));
    e->container_id = config->container_id;
    dl_tls_files tls = {config->tls_cert, config->tls_key, config->tls_ca};
    return dl_http_client_init(&e->http, config->endpoint, (const char *const *)config->addresses,
                               config->n_addresses, config->tls_cert ? &tls : NULL, wake_fd, err);
}

void dl_engine_free(dl_engine *e)
{
    dl_http_client_free(&e->http);
}

/* "1.41" < "1.9"? Compare as major.minor numbers. (No sscanf: it would add the
 * scanf machinery to every docklog's memory.) */
static int version_cmp(const char *a, const char *b)
{
    char *end;
    unsigned long am = strtoul(a, &end, 10), an = *end == '.' ? strtoul(end + 1, NULL, 10) : 0;
    unsigned long bm = strtoul(b, &end, 10), bn = *end == '.' ? strtoul(end + 1, NULL, 10) : 0;
    return am != bm ? (am < bm ? -1 : 1) : an != bn ? (an < bn ? -1 : 1) : 0;
}

int dl_engine_negotiate(dl_engine *e, dv_error *err)
{
    if (e->version[0])
        return 0;
    _cleanup_json_ json_t *v = NULL;
    int r = dl_http_get_json(&e->http, "/version", &v, err);
    if (r < 0)
        return r;
    const char *server = json_string_value(json_object_get(v, "ApiVersion"));
    if (!server || strlen(server) >= sizeof(e->version))
        return dv_error_set(err, -EPROTO, "GET /version: no ApiVersion in the answer");
    snprintf(e->version, sizeof(e->version), "%s",
             version_cmp(server, DL_API_MAX) < 0 ? server : DL_API_MAX);
    return 0;
}

static void copy_str(char *dst, size_t size, const json_t *v)
{
    snprintf(dst, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int dl_engine_inspect(dl_engine *e, dl_container_state *ret, dv_error *err)
{
    int r = dl_engine_negotiate(e, err);
    if (r < 0)
        return r;
    char path[256];
    snprintf(path, sizeof(path), "/v%s/containers/%s/json", e->version, e->container_id);
    _cleanup_json_ json_t *j = NULL;
    r = dl_http_get_json(&e->http, path, &j, err);
    if (r < 0) {
        if (err && err->http_status == 404)
            r = err->code = -ENOENT;
        return r;
    }
    json_t *state = json_object_get(j, "State");
    if (!json_is_object(state))
        return dv_error_set(err, -EPROTO, "inspect %s: no State in the answer", e->container_id);
    dl_container_state s;
    memset(&s, 0, sizeof(s));
    s.running = json_is_true(json_object_get(state, "Running"));
    s.restarting = json_is_true(json_object_get(state, "Restarting"));
    copy_str(s.status, sizeof(s.status), json_object_get(state, "Status"));
    copy_str(s.started_at, sizeof(s.started_at), json_object_get(state, "StartedAt"));
    json_t *lc = json_object_get(json_object_get(j, "HostConfig"), "LogConfig");
    copy_str(s.log_driver, sizeof(s.log_driver), json_object_get(lc, "Type"));
    const char *addr =
        json_string_value(json_object_get(json_object_get(lc, "Config"), "syslog-address"));
    s.syslog_local = !addr || !*addr || strncmp(addr, "unix", 4) == 0;
    const char *compress =
        json_string_value(json_object_get(json_object_get(lc, "Config"), "compress"));
    s.log_compress = compress && strcmp(compress, "true") == 0;
    const char *max_size =
        json_string_value(json_object_get(json_object_get(lc, "Config"), "max-size"));
    const char *max_file =
        json_string_value(json_object_get(json_object_get(lc, "Config"), "max-file"));
    bool local = strcmp(s.log_driver, "local") == 0;
    /* json-file rotates only with max-size (its max-file defaults to 1); local always
     * (max-size 20m, max-file 5 by default). */
    s.log_truncates = (local || (max_size && *max_size && strcmp(max_size, "-1") != 0)) &&
                      (max_file ? atoi(max_file) < 2 : !local);
    copy_str(s.log_path, sizeof(s.log_path), json_object_get(j, "LogPath"));
    if (strcmp(s.log_driver, "local") == 0) {
        /* Docker gives no LogPath for local, and compresses unless told not to. The
         * file exists once the container has started; before, the path stays empty
         * (the source is chosen once it is there). */
        s.log_compress = !compress || strcmp(compress, "false") != 0;
        if (strcmp(s.status, "created") != 0 &&
            dl_local_log_path(e->container_id,
                              json_string_value(json_object_get(j, "HostnamePath")),
                              json_string_value(json_object_get(j, "ResolvConfPath")), s.log_path,
                              sizeof(s.log_path), NULL) < 0)
            s.log_path[0] = '\0';
    }
    json_t *pid = json_object_get(state, "Pid");
    s.pid =
        json_is_integer(pid) && json_integer_value(pid) > 0 && json_integer_value(pid) < INT32_MAX
            ? (int)json_integer_value(pid)
            : 0;
    *ret = s;
    return 0;
}

bool dl_container_exited(const dl_container_state *s)
{
    return !s->running && !s->restarting && strcmp(s->status, "created") != 0;
}

bool dl_engine_logs_unreadable(const dv_error *err)
{
    return err && (err->http_status == 501 ||
                   strstr(err->msg, "configured logging driver does not support reading"));
}

int dl_engine_logs(dl_engine *e, int64_t since, const dl_http_stream_cbs *cbs, dv_error *err)
{
    int r = dl_engine_negotiate(e, err);
    if (r < 0)
        return r;
    char path[320], s[DV_TIMESTAMP_SINCE_MAX];
    int n = snprintf(path, sizeof(path),
                     "/v%s/containers/%s/logs?follow=1&stdout=1&stderr=1&timestamps=1", e->version,
                     e->container_id);
    if (since != DL_TS_NONE) {
        dv_timestamp_since(since, s);
        snprintf(path + n, sizeof(path) - (size_t)n, "&since=%s", s);
    }
    return dl_http_get_stream(&e->http, path, cbs, err);
}
