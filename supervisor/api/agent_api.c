/* HTTP routes of the agent (DESIGN.md, HTTP API). Runs on the loop thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_api.h"
#include "cleanup.h"
#include "group_spec.h"
#include "nomad_job.h"
#include "clock.h"
#include "drain.h"
#include "duration.h"
#include "log.h"
#include "signals.h"
#include "spec.h"
#include "task_jobs.h"
#include "task_runner.h"
#include "translate.h"
#include "xalloc.h"

/* ---- helpers ---- */

bool dv_api_flag(const dv_api_request *req, const char *key)
{
    const char *v = dv_api_request_query(req, key);
    return v && (strcmp(v, "") == 0 || strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

/* A task id or a prefix of one: lower-case hex digits and dashes, at most a UUID. */
static bool id_like(const char *id)
{
    size_t n = strspn(id, "0123456789abcdef-");
    return n > 0 && id[n] == '\0' && n <= DV_UUID_STRLEN;
}

dv_task *dv_api_find_task(dv_agent *a, dv_api_request *req, const char *id)
{
    if (!id_like(id)) {
        dv_api_respond_error(req, 400, NULL, "\"%.80s\" is not a task id or a prefix of one", id);
        return NULL;
    }
    dv_task *t = NULL;
    size_t matches = 0;
    int r = dv_task_table_lookup(a->run.tasks, id, &t, &matches);
    if (r == -EEXIST) {
        dv_api_respond_error(req, 400, NULL, "id prefix \"%s\" matches %zu tasks: give more of it",
                             id, matches);
        return NULL;
    }
    if (r < 0) {
        dv_api_respond_error(req, 404, NULL, "no task with id \"%s\"", id);
        return NULL;
    }
    return t;
}

/* Replace bytes that are not valid UTF-8 (JSON strings must be): exec output
 * is whatever the command printed. */
json_t *dv_api_text(const char *s, size_t len)
{
    json_t *j = json_stringn(s ? s : "", s ? len : 0);
    if (j)
        return j;
    char *out = calloc(1, len * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80             ? 1
                   : (c & 0xe0) == 0xc0 ? 2
                   : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4
                                        : 0;
        bool ok = n > 0 && i + n <= len && c != 0;
        for (size_t k = 1; ok && k < n; k++)
            ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
        if (ok) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    j = json_stringn(out, o);
    if (!j) /* overlong forms or surrogates: keep ASCII only */
        for (size_t i = 0; i < o; i++)
            if ((unsigned char)out[i] >= 0x80 || out[i] == 0)
                out[i] = '?';
    if (!j)
        j = json_stringn(out, o);
    free(out);
    return j;
}

static json_t *redact(const json_t *spec)
{
    return dv_spec_redact(spec);
}

/* ---- /v1/tasks ---- */

static void tasks_list(dv_agent *a, dv_api_request *req)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < dv_task_table_size(a->run.tasks); i++)
        json_array_append_new(list, dv_task_to_api_json(dv_task_table_at(a->run.tasks, i), redact));
    dv_api_respond_json(req, 200, list);
}

static void tasks_submit(dv_agent *a, dv_api_request *req)
{
    const json_t *spec = dv_api_request_body(req);
    if (!spec) {
        dv_api_respond_error(req, 400, NULL, "the request body must be a task spec (JSON)");
        return;
    }
    if (dv_nomad_job_is_job(spec)) {
        dv_api_job_submit(a, req, spec);
        return;
    }
    if (dv_group_spec_is_group(spec)) {
        dv_api_group_submit(a, req, spec);
        return;
    }
    dv_task *t = NULL;
    unsigned status = 400;
    dv_spec_error err;
    dv_spec_error_clear(&err);
    if (dv_runner_create(&a->run, spec, NULL, &t, &status, &err) < 0) {
        dv_log_info("refused a task spec: %s", err.err.msg);
        dv_api_respond_error(req, status, err.field, "%s", err.err.msg);
        return;
    }
    /* The record is durable before the answer and before any Docker side effect:
     * an acknowledged task survives any crash, and one that cannot be recorded
     * (the data dir's filesystem full) is refused with nothing started. */
    dv_error e;
    if (dv_runner_save(&a->run, t, &e) < 0) {
        unsigned code = e.code == -ENOSPC || e.code == -EDQUOT ? 507 : 503;
        dv_log_warning("refused task %s: its record cannot be written: %s", t->name, e.msg);
        dv_runner_abandon(&a->run, t);
        dv_api_respond_error(req, code, NULL,
                             "the agent cannot record the task (nothing was started): %s", e.msg);
        return;
    }
    dv_api_task_received(a, t);
    dv_api_respond_json(req, 201, json_pack("{s:s}", "id", t->id));
}

void dv_api_task_received(dv_agent *a, dv_task *t)
{
    if (t->alloc.id[0])
        dv_task_event_add(t, &dv_runner_ops, &a->run, "Received",
                          "task %s of allocation %.8s (%s.%s[%d]) received", t->name, t->alloc.id,
                          t->alloc.job, t->alloc.group, t->alloc.index);
    else
        dv_task_event_add(t, &dv_runner_ops, &a->run, "Received", "task %s received", t->name);
    dv_runner_ops.changed(&a->run, t);
    dv_task_input in = {.event = DV_TE_START};
    dv_runner_feed(&a->run, t, &in);
}

/* Stop and restart: 202 with the state once the task took it (or already does
 * it), 409 when it cannot in its state. */
static void feed_and_answer(dv_agent *a, dv_api_request *req, dv_task *t, const dv_task_input *in)
{
    int r = dv_runner_feed(&a->run, t, in);
    if (r == -EBUSY)
        dv_api_respond_error(req, 409, NULL, "task %s is being destroyed", t->id);
    else if (r < 0 && r != -EALREADY)
        dv_api_respond_error(req, 409, NULL, "task %s is %s", t->id, dv_task_state_name(t->state));
    else
        dv_api_respond_json(
            req, 202, json_pack("{s:s,s:s}", "id", t->id, "state", dv_task_state_name(t->state)));
}

static void task_stop(dv_agent *a, dv_api_request *req, dv_task *t)
{
    const json_t *body = dv_api_request_body(req);
    dv_task_input in = {.event = DV_TE_STOP};
    const char *timeout = json_string_value(json_object_get(body, "timeout"));
    const char *signal = json_string_value(json_object_get(body, "signal"));
    dv_error err;
    if (timeout && dv_duration_parse(timeout, &in.stop_timeout_ns, &err) < 0) {
        dv_api_respond_error(req, 400, "timeout", "timeout: %s", err.msg);
        return;
    }
    in.stop_timeout_set = timeout != NULL;
    if (in.stop_timeout_ns < 0) {
        dv_api_respond_error(req, 400, "timeout", "timeout: must not be negative");
        return;
    }
    char name[DV_SIGNAL_NAME_MAX];
    if (signal && *signal) {
        int signo;
        if (dv_signal_parse(signal, &signo, &err) < 0 ||
            dv_signal_name(signo, name, sizeof(name)) < 0) {
            dv_api_respond_error(req, 400, "signal", "signal: %s", err.msg);
            return;
        }
        in.stop_signal = name;
    }
    feed_and_answer(a, req, t, &in);
}

static void task_restart(dv_agent *a, dv_api_request *req, dv_task *t)
{
    dv_task_input in = {.event = DV_TE_RESTART};
    feed_and_answer(a, req, t, &in);
}

static void task_destroy(dv_agent *a, dv_api_request *req, dv_task *t)
{
    if (dv_api_infra_in_use(a, req, t))
        return;
    dv_task_input in = {.event = DV_TE_DESTROY, .force = dv_api_flag(req, "force")};
    enum dv_task_state state = t->state;
    int r = dv_runner_feed(&a->run, t, &in);
    if (r == -EBUSY) {
        dv_api_respond_error(req, 409, NULL, "task %s is %s: stop it first, or use force", t->id,
                             dv_task_state_name(state));
        return;
    }
    if (r < 0 && r != -EALREADY) {
        dv_api_respond_error(req, 409, NULL, "task %s cannot be destroyed while %s", t->id,
                             dv_task_state_name(state));
        return;
    }
    dv_agent_wait_destroy(a, t->id, req); /* answered when it is gone */
}

/* ---- jobs answering a request: signal, exec, stats ---- */

/* Exec output for the answer; a stream cut at DV_EXEC_OUTPUT_MAX ends with a line
 * that says so, where a reader of the text sees it (the *_truncated flags say it
 * to programs). */
static json_t *exec_text(const char *s, size_t len, bool truncated)
{
    json_t *text = dv_api_text(s, len);
    if (!text || !truncated)
        return text;
    char marker[128];
    snprintf(marker, sizeof(marker),
             "%s[dockvisor: output truncated after %zu MiB; the rest was dropped]\n",
             len > 0 && s[len - 1] != '\n' ? "\n" : "", DV_EXEC_OUTPUT_MAX >> 20);
    size_t n = json_string_length(text);
    _cleanup_free_ char *joined = malloc(n + strlen(marker) + 1);
    if (!joined)
        return text;
    memcpy(joined, json_string_value(text), n);
    strcpy(joined + n, marker);
    json_string_setn_nocheck(text, joined, n + strlen(marker));
    return text;
}

static void request_job_done(dv_loop *loop, void *data)
{
    (void)loop;
    dv_job *j = data;
    dv_api_request *req = j->client;
    dv_task *bad = dv_runner_named_foreign(j->run, j, j->container_id);
    if (j->foreign) {
        /* Nothing was sent to it; the task is set aside (task_runner.h). */
        dv_api_respond_error(req, 409, NULL, "%s: the task's record is set aside", j->err.msg);
        if (bad)
            dv_runner_set_aside(j->run, bad, j->err.msg);
    } else if (j->r < 0) {
        unsigned status = dv_docker_is_not_found(&j->err) ? 404
                          : j->err.unreachable            ? 503
                          : j->r == -ETIMEDOUT            ? 504
                          : j->r == -ESHUTDOWN            ? 503
                          : j->r == -EAGAIN               ? 503
                          : j->err.http_status == 409     ? 409
                                                          : 500;
        const char *why = j->err.unreachable ? "Docker Engine unreachable: "
                          : j->r == -ETIMEDOUT && j->kind != DV_JOB_EXEC
                              ? "the Docker Engine did not answer in time: "
                              : "";
        dv_api_respond_error(req, status, NULL, "%s%s", why, j->err.msg);
    } else if (j->kind == DV_JOB_SIGNAL) {
        dv_task *t = dv_task_table_get(j->run->tasks, j->task_id);
        if (t)
            dv_task_event_add(t, &dv_runner_ops, j->run, "Signaling", "sent %s", j->signal);
        dv_api_respond_json(req, 200,
                            json_pack("{s:s,s:s}", "id", j->task_id, "signal", j->signal));
    } else if (j->kind == DV_JOB_EXEC) {
        dv_api_respond_json(
            req, 200,
            json_pack("{s:i,s:o,s:o,s:b,s:b}", "exit_code", j->exec.exit_code, "stdout",
                      exec_text(j->exec.out, j->exec.out_len, j->exec.out_truncated), "stderr",
                      exec_text(j->exec.err, j->exec.err_len, j->exec.err_truncated),
                      "stdout_truncated", j->exec.out_truncated, "stderr_truncated",
                      j->exec.err_truncated));
    } else {
        json_t *s = j->stats;
        j->stats = NULL;
        dv_api_respond_json(req, 200, s);
    }
    dv_api_request_unref(req);
    j->client = NULL;
    dv_job_free(j);
}

static void discard_request_job(void *data)
{
    dv_job *j = data;
    if (j->client) {
        dv_api_respond_error(j->client, 503, NULL, "the agent is shutting down");
        dv_api_request_unref(j->client);
    }
    dv_job_free(j);
}

static void submit_request_job(dv_agent *a, dv_api_request *req, dv_job *j)
{
    j->client = dv_api_request_ref(req);
    int r = dv_lanes_submit(&a->lanes, dv_job_lane(j), dv_job_run, request_job_done,
                            discard_request_job, j);
    if (r == -EAGAIN) {
        /* The lane is full: refuse now rather than queue behind commands that may
         * run for many minutes. */
        dv_api_respond_error(req, 429, NULL,
                             "too many %s requests in flight on this agent; try again later",
                             j->kind == DV_JOB_EXEC ? "exec" : "stats and signal");
        dv_api_request_unref(j->client);
        j->client = NULL;
        dv_job_free(j);
    } else if (r < 0) {
        discard_request_job(j);
    }
}

static bool require_running(dv_api_request *req, dv_task *t)
{
    if (t->state == DV_TASK_RUNNING && t->container_id)
        return true;
    dv_api_respond_error(req, 409, NULL, "task %s is %s, not running", t->id,
                         dv_task_state_name(t->state));
    return false;
}

static void task_signal(dv_agent *a, dv_api_request *req, dv_task *t)
{
    const char *signal = json_string_value(json_object_get(dv_api_request_body(req), "signal"));
    int signo;
    char name[DV_SIGNAL_NAME_MAX];
    dv_error err;
    if (!signal) {
        dv_api_respond_error(req, 400, "signal", "signal: required");
        return;
    }
    if (dv_signal_parse(signal, &signo, &err) < 0 ||
        dv_signal_name(signo, name, sizeof(name)) < 0) {
        dv_api_respond_error(req, 400, "signal", "signal: %s", err.msg);
        return;
    }
    if (!require_running(req, t))
        return;
    dv_job *j = dv_job_new(DV_JOB_SIGNAL, &a->run, t);
    j->container_id = dv_xstrdup(t->container_id);
    j->signal = dv_xstrdup(name);
    submit_request_job(a, req, j);
}

static void task_exec(dv_agent *a, dv_api_request *req, dv_task *t)
{
    const json_t *body = dv_api_request_body(req);
    json_t *cmd = json_object_get(body, "cmd");
    size_t i;
    json_t *arg;
    bool ok = json_is_array(cmd) && json_array_size(cmd) > 0;
    json_array_foreach(cmd, i, arg) ok = ok && json_is_string(arg);
    if (!ok) {
        dv_api_respond_error(req, 400, "cmd", "cmd: a non-empty array of strings is required");
        return;
    }
    int64_t timeout = 5 * 60 * DV_NSEC_PER_SEC;
    if (timeout > a->config.max_exec_timeout_ns)
        timeout = a->config.max_exec_timeout_ns;
    const char *ts = json_string_value(json_object_get(body, "timeout"));
    dv_error err;
    if (ts && (dv_duration_parse(ts, &timeout, &err) < 0 || timeout <= 0)) {
        dv_api_respond_error(req, 400, "timeout", "timeout: %s",
                             timeout <= 0 ? "must be positive" : err.msg);
        return;
    }
    if (timeout > a->config.max_exec_timeout_ns) {
        char d[32];
        dv_duration_format(a->config.max_exec_timeout_ns, d, sizeof(d));
        dv_api_respond_error(req, 400, "timeout",
                             "timeout: at most %s on this agent (max_exec_timeout)", d);
        return;
    }
    if (!require_running(req, t))
        return;
    dv_job *j = dv_job_new(DV_JOB_EXEC, &a->run, t);
    j->container_id = dv_xstrdup(t->container_id);
    j->cmd = json_incref(cmd);
    j->exec_timeout_ns = timeout;
    submit_request_job(a, req, j);
}

static void task_stats(dv_agent *a, dv_api_request *req, dv_task *t)
{
    if (!require_running(req, t))
        return;
    dv_job *j = dv_job_new(DV_JOB_STATS, &a->run, t);
    j->container_id = dv_xstrdup(t->container_id);
    submit_request_job(a, req, j);
}

/* ---- /v1/validate ---- */

static void validate(dv_agent *a, dv_api_request *req)
{
    const json_t *spec = dv_api_request_body(req);
    if (!spec) {
        dv_api_respond_error(req, 400, NULL, "the request body must be a task spec (JSON)");
        return;
    }
    dv_spec_error err;
    dv_spec_error_clear(&err);
    json_t *body = NULL;
    if (dv_translate_preview(spec, &a->config, a->run.node_id, &body, &err) < 0) {
        dv_api_respond_error(req, 400, err.field, "%s", err.err.msg);
        return;
    }
    dv_api_respond_json(req, 200, json_pack("{s:o}", "container", body));
}

/* ---- routing ---- */

static bool method_is(dv_api_request *req, const char *m)
{
    return strcmp(dv_api_request_method(req), m) == 0;
}

static void not_allowed(dv_api_request *req)
{
    dv_api_respond_error(req, 405, NULL, "%s is not allowed on %s", dv_api_request_method(req),
                         dv_api_request_path(req));
}

static void task_routes(dv_agent *a, dv_api_request *req, const char *id, const char *action)
{
    dv_task *t = dv_api_find_task(a, req, id);
    if (!t)
        return;
    static const struct {
        const char *action;
        const char *method;
        void (*fn)(dv_agent *, dv_api_request *, dv_task *);
    } routes[] = {
        {"stop", "POST", task_stop},     {"restart", "POST", task_restart},
        {"signal", "POST", task_signal}, {"exec", "POST", task_exec},
        {"stats", "GET", task_stats},    {"logs", "GET", dv_api_task_logs},
    };
    if (!action) {
        if (method_is(req, "GET"))
            dv_api_respond_json(req, 200, dv_task_to_api_json(t, redact));
        else if (method_is(req, "DELETE"))
            task_destroy(a, req, t);
        else
            not_allowed(req);
        return;
    }
    for (size_t i = 0; i < DV_ARRAY_SIZE(routes); i++)
        if (strcmp(action, routes[i].action) == 0) {
            if (method_is(req, routes[i].method))
                routes[i].fn(a, req, t);
            else
                not_allowed(req);
            return;
        }
    dv_api_respond_error(req, 404, NULL, "no route for %s", dv_api_request_path(req));
}

void dv_agent_api_handle(void *agent, dv_api_request *req)
{
    dv_agent *a = agent;
    char path[512];
    snprintf(path, sizeof(path), "%s", dv_api_request_path(req));
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
    char *seg[5] = {0};
    int n = 0;
    for (char *save = NULL, *s = strtok_r(path, "/", &save); s && n < 5;
         s = strtok_r(NULL, "/", &save))
        seg[n++] = s;
    if (n < 2 || strcmp(seg[0], "v1") != 0) {
        dv_api_respond_error(req, 404, NULL, "no route for %s", dv_api_request_path(req));
        return;
    }
    if (n == 2 && strcmp(seg[1], "tasks") == 0) {
        if (method_is(req, "GET"))
            tasks_list(a, req);
        else if (method_is(req, "POST"))
            tasks_submit(a, req);
        else
            not_allowed(req);
    } else if ((n == 3 || n == 4) && strcmp(seg[1], "tasks") == 0) {
        task_routes(a, req, seg[2], n == 4 ? seg[3] : NULL);
    } else if ((n == 2 || n == 3) && strcmp(seg[1], "allocs") == 0) {
        dv_api_allocs(a, req, n == 3 ? seg[2] : NULL);
    } else if (n == 2 && strcmp(seg[1], "node") == 0) {
        method_is(req, "GET") ? dv_api_node(a, req) : not_allowed(req);
    } else if (n == 2 && strcmp(seg[1], "events") == 0) {
        method_is(req, "GET") ? dv_api_events(a, req) : not_allowed(req);
    } else if (n == 2 && strcmp(seg[1], "metrics") == 0) {
        method_is(req, "GET") ? dv_api_metrics(a, req) : not_allowed(req);
    } else if (n == 2 && strcmp(seg[1], "drain") == 0) {
        method_is(req, "POST") ? dv_drain_request(&a->drains, req) : not_allowed(req);
    } else if (n == 2 && strcmp(seg[1], "validate") == 0) {
        method_is(req, "POST") ? validate(a, req) : not_allowed(req);
    } else {
        dv_api_respond_error(req, 404, NULL, "no route for %s", dv_api_request_path(req));
    }
}
