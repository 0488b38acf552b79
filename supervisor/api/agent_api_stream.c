/* Streaming and node routes: /v1/events, /v1/tasks/{id}/logs, /v1/node,
 * /v1/metrics. Loop thread, except the stream readers (connection threads). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "agent_api.h"
#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "inotify_limit.h"
#include "log_files.h"
#include "metrics.h"
#include "node.h"
#include "task_runner.h"
#include "translate_host.h"
#include "xalloc.h"
#include "version.h"

/* ---- /v1/events[?task=ID[&history=1]] ---- */

void dv_api_events(dv_agent *a, dv_api_request *req)
{
    const char *id = dv_api_request_query(req, "task");
    dv_task *t = NULL;
    if (id && *id && !(t = dv_api_find_task(a, req, id)))
        return;
    _cleanup_json_ json_t *first = json_array();
    if (t) {
        /* A follower needs where the task stands before the live events. */
        if (dv_api_flag(req, "history"))
            for (size_t i = 0; i < t->events.len; i++)
                json_array_append_new(first,
                                      dv_agent_event_line(t, dv_event_ring_get(&t->events, i)));
        json_array_append_new(first, dv_agent_state_line(t));
    }
    const dv_api_stream_ops *ops;
    void *obj;
    dv_error err;
    if (dv_event_hub_subscribe(a->hub, t ? t->id : NULL, first, &ops, &obj, &err) < 0) {
        dv_api_respond_error(req, 500, NULL, "%s", err.msg);
        return;
    }
    dv_api_respond_stream(req, 200, "application/x-ndjson", ops, obj);
}

/* ---- /v1/tasks/{id}/logs?type=stdout|stderr&follow=1&tail=N ---- */

struct log_stream {
    char *dir, *base, *type, *checkpoint;
    int64_t tail;
    bool follow;
    dv_log_reader *reader; /* opened by the first read, on the connection thread */
};

static void log_stream_free(void *obj)
{
    struct log_stream *s = obj;
    if (s->reader)
        dv_log_reader_free(s->reader);
    free(s->dir);
    free(s->base);
    free(s->type);
    free(s->checkpoint);
    free(s);
}

static ssize_t log_stream_read(void *obj, char *buf, size_t size)
{
    struct log_stream *s = obj;
    dv_error err;
    if (!s->reader) {
        dv_log_reader_options o = {.dir = s->dir,
                                   .base = s->base,
                                   .type = s->type,
                                   .tail = s->tail,
                                   .follow = s->follow,
                                   .checkpoint_path = s->checkpoint};
        if (dv_log_reader_open(&o, &s->reader, &err) < 0)
            return -EIO;
    }
    ssize_t n = dv_log_reader_read(s->reader, buf, size, &err);
    if (n == DV_LOG_READER_END)
        return DV_API_STREAM_END;
    return n < 0 ? -EIO : n;
}

static int log_stream_fd(void *obj)
{
    struct log_stream *s = obj;
    return s->reader ? dv_log_reader_fd(s->reader) : -1;
}

static const dv_api_stream_ops log_ops = {log_stream_read, log_stream_fd, log_stream_free};

/* docklog's checkpoint says it failed for T's current container, and nothing of TYPE
 * was delivered: WHY gets its reason. */
static bool collection_failed(const dv_task *t, const char *type, char *why, size_t size)
{
    _cleanup_json_ json_t *cp = dv_logger_checkpoint(t);
    const char *outcome = json_string_value(json_object_get(cp, "outcome"));
    const char *error = json_string_value(json_object_get(cp, "error"));
    if (!outcome || strcmp(outcome, DV_DOCKLOG_OUTCOME_FAILED_NAME) != 0)
        return false;
    /* A stream with something delivered has a "ts" in the checkpoint (docklog/
     * checkpoint.h): then its files are worth reading. */
    if (json_object_get(json_object_get(json_object_get(cp, "position"), type), "ts"))
        return false;
    snprintf(why, size, "%s", error && *error ? error : "docklog gave up");
    return true;
}

void dv_api_task_logs(dv_agent *a, dv_api_request *req, dv_task *t)
{
    dv_task_rt *rt = dv_rt(t);
    const char *type = dv_api_request_query(req, "type");
    if (!type || !*type)
        type = "stdout";
    if (strcmp(type, "stdout") != 0 && strcmp(type, "stderr") != 0) {
        dv_api_respond_error(req, 400, "type", "type: \"%s\" is neither stdout nor stderr", type);
        return;
    }
    const char *tail = dv_api_request_query(req, "tail");
    int64_t n = -1;
    if (tail && *tail) {
        char *end;
        n = strtoll(tail, &end, 10);
        if (*end || n < 0) {
            dv_api_respond_error(req, 400, "tail", "tail: \"%s\" is not a number of lines", tail);
            return;
        }
    }
    if (rt->spec->logs.disabled || !rt->spec->logs.file) {
        dv_api_respond_error(req, 404, NULL, "task %s does not keep log files (logs.%s)", t->id,
                             rt->spec->logs.disabled ? "disabled" : "file");
        return;
    }
    /* No helper collects logs on this agent: say why, rather than answer nothing
     * (or, with follow, wait forever for a helper's checkpoint that never comes). */
    if (a->config.docker.disable_log_collection) {
        dv_api_respond_error(req, 404, NULL,
                             "log collection is disabled on this agent "
                             "(docker.disable_log_collection)");
        return;
    }
    if (!a->run.docklog_bin) {
        dv_api_respond_error(req, 404, NULL, "logs are not collected on this agent: %s",
                             a->run.docklog_missing);
        return;
    }
    /* The helper gave up on this container (a driver Docker cannot read back, the
     * container removed under it): with nothing collected, say why instead of an
     * empty answer. */
    char why[600];
    if (collection_failed(t, type, why, sizeof(why))) {
        dv_api_respond_error(req, 404, NULL, "logs are not collected for task %s: %s", t->id, why);
        return;
    }
    struct log_stream *s = dv_xcalloc(1, sizeof(*s));
    s->dir = dv_xstrdup(rt->paths.logs_dir);
    s->base = dv_xstrdup(t->name);
    s->type = dv_xstrdup(type);
    s->checkpoint = dv_xstrdup(rt->docklog_checkpoint_path);
    s->tail = n;
    s->follow = dv_api_flag(req, "follow");
    dv_api_respond_stream(req, 200, "text/plain; charset=utf-8", &log_ops, s);
}

/* ---- /v1/node ---- */

struct node_job {
    dv_agent *agent;
    json_t *result;
};

static void node_work(void *data)
{
    struct node_job *j = data;
    j->result = dv_node_fingerprint(j->agent->run.quick_docker);
}

static json_t *node_answer(dv_agent *a)
{
    size_t counts[DV_TASK_STATE_COUNT];
    dv_task_table_count(a->run.tasks, counts);
    json_t *states = json_object();
    for (int s = 0; s < DV_TASK_STATE_COUNT; s++)
        if (counts[s])
            json_object_set_new(states, dv_task_state_name((enum dv_task_state)s),
                                json_integer((json_int_t)counts[s]));
    /* The cached fingerprint, unless a refresh hangs and the cache is too old to
     * stand for the present (node.h). */
    json_t *docker = a->node;
    _cleanup_json_ json_t *unknown = NULL;
    bool usable = a->node && dv_monotonic_ns() - a->node_at_ns < DV_NODE_CACHE_MAX;
    if (!a->node || (a->node_stalled && !usable)) {
        char msg[96] = "Docker was not asked yet";
        if (a->node_stalled) {
            char d[32];
            dv_duration_format(DV_NODE_ANSWER_WAIT, d, sizeof(d));
            snprintf(msg, sizeof(msg), "Docker did not answer within %s", d);
        }
        unknown = json_pack("{s:b,s:s,s:s}", "healthy", 0, "error", msg, "endpoint",
                            dv_docker_endpoint(a->run.docker));
        docker = unknown;
    }
    bool docker_ok = json_is_true(json_object_get(docker, "healthy"));
    /* A full data dir refuses new tasks (their records cannot be written) while
     * running ones go on: say how much room is left. */
    struct statvfs vfs;
    json_int_t free_bytes = statvfs(a->config.data_dir, &vfs) == 0
                                ? (json_int_t)vfs.f_bavail * (json_int_t)vfs.f_frsize
                                : -1;
    char range[32];
    snprintf(range, sizeof(range), "%d-%d", a->config.port_min, a->config.port_max);
    dv_inotify_check(&a->run); /* the limit may have been raised since */
    return json_pack(
        "{s:s,s:s,s:I,s:s,s:I,s:b,s:b,s:O?,s:{s:b,s:b,s:b,s:o,s:b,s:I,s:s,s:s},s:{s:I,s:I,s:o},s:"
        "o,s:s,s:{s:I,s:I,s:b}}",
        "node_id", a->run.node_id, "agent_version", dv_version, "started_ns",
        (json_int_t)a->started_ns, "data_dir", a->config.data_dir, "data_dir_free_bytes",
        free_bytes, "healthy", docker_ok, "engine_events", a->run.engine_stream_ok, "docker",
        docker, "policy", "allow_privileged", a->config.docker.allow_privileged,
        "allow_host_network", a->config.docker.allow_host_network, "allow_unconfined",
        a->config.docker.allow_unconfined, "allow_devices",
        dv_json_strv(&a->config.docker.allow_devices), "volumes_enabled",
        a->config.docker.volumes.enabled, "pids_limit", (json_int_t)a->config.docker.pids_limit,
        "bind_address", a->config.bind_address, "port_range", range, "tasks", "total",
        (json_int_t)dv_task_table_size(a->run.tasks), "running",
        (json_int_t)counts[DV_TASK_RUNNING], "states", states, "quarantined",
        json_deep_copy(dv_state_store_quarantined(a->run.store)), "docklog_units",
        a->run.docklog_units_why, "inotify", "max_user_instances", (json_int_t)a->run.inotify_limit,
        "needed", (json_int_t)(dv_task_table_size(a->run.tasks) + DV_INOTIFY_MARGIN), "low",
        a->run.inotify_low);
}

static void answer_node(dv_api_request *req, void *ctx)
{
    dv_api_respond_json(req, 200, node_answer(ctx));
}

static void answer_node_waiters(dv_agent *a)
{
    dv_api_waiters_answer(&a->node_waiters, answer_node, a);
}

static void node_done(dv_loop *loop, void *data)
{
    (void)loop;
    struct node_job *j = data;
    dv_agent *a = j->agent;
    if (j->result) {
        json_decref(a->node);
        a->node = j->result;
        a->node_at_ns = dv_monotonic_ns();
    }
    a->node_refreshing = false;
    a->node_stalled = false;
    dv_timer_disarm(a->node_timer);
    answer_node_waiters(a);
    free(j);
}

/* The refresh takes too long (Docker hangs): answer with what is known now. */
static void node_wait_over(dv_loop *loop, void *userdata)
{
    (void)loop;
    dv_agent *a = userdata;
    if (!a->node_refreshing)
        return;
    a->node_stalled = true;
    answer_node_waiters(a);
}

static void node_discard(void *data)
{
    struct node_job *j = data;
    json_decref(j->result);
    free(j);
}

void dv_api_node(dv_agent *a, dv_api_request *req)
{
    dv_api_waiters_add(&a->node_waiters, req);
    /* A fingerprint costs a few Engine calls: reuse a fresh one (node.h). */
    int64_t age = a->node ? dv_monotonic_ns() - a->node_at_ns : INT64_MAX;
    if (age < DV_NODE_FRESH) {
        answer_node_waiters(a);
        return;
    }
    if (!a->node_refreshing) {
        if (!a->node_timer)
            a->node_timer = dv_timer_new(a->run.loop, node_wait_over, a);
        struct node_job *j = dv_xcalloc(1, sizeof(*j));
        j->agent = a;
        if (dv_lanes_submit(&a->lanes, DV_LANE_BACKGROUND, node_work, node_done, node_discard, j) <
            0) {
            free(j);
            answer_node_waiters(a);
            return;
        }
        a->node_refreshing = true;
        a->node_stalled = false;
        dv_timer_arm(a->node_timer, DV_NODE_ANSWER_WAIT);
    }
    /* A recent one answers now while the new one is taken; so does a refresh that
     * is known to hang already. */
    if (age < DV_NODE_CACHE_MAX || a->node_stalled)
        answer_node_waiters(a);
}

/* ---- /v1/metrics (Prometheus text, metrics.h) ---- */

void dv_api_metrics(dv_agent *a, dv_api_request *req)
{
    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    dv_metrics_render(a, &b);
    dv_api_respond_text(req, 200, DV_METRICS_CONTENT_TYPE, b.data ? b.data : "");
}
