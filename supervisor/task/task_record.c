/* The task object and its persisted record. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "task.h"
#include "timestamp.h"
#include "xalloc.h"

int dv_task_set_str(char **field, const char *value)
{
    char *copy = value ? dv_xstrdup(value) : NULL;
    free(*field);
    *field = copy;
    return 0;
}

dv_task *dv_task_new(const char *id, const char *name)
{
    if (!dv_uuid_is_valid(id) || !name)
        return NULL;
    dv_task *t = dv_xcalloc(1, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%s", id);
    t->name = dv_xstrdup(name);
    t->container_name = dv_xasprintf("%s-%s", name, id);
    dv_restart_policy_default(&t->restart_policy);
    t->kill_timeout_ns = DV_KILL_TIMEOUT_DEFAULT;
    return t;
}

static void ports_free(dv_task *t)
{
    for (size_t i = 0; i < t->nports; i++)
        free(t->ports[i].label);
    free(t->ports);
    t->ports = NULL;
    t->nports = 0;
}

void dv_task_free(dv_task *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->container_name);
    json_decref(t->spec);
    json_decref(t->spec_resolved);
    free(t->alloc.job);
    free(t->alloc.group);
    free(t->alloc.joined);
    free(t->kill_signal);
    free(t->image);
    free(t->image_id);
    free(t->container_id);
    ports_free(t);
    free(t->ip);
    free(t->network_name);
    dv_exit_result_clear(&t->exit);
    dv_event_ring_clear(&t->events);
    free(t->stop_signal);
    free(t->waiting);
    free(t);
}

void dv_exit_result_clear(dv_exit_result *r)
{
    free(r->error);
    *r = (dv_exit_result){0};
}

/* Docker's FinishedAt; its zero time ("never") and junk count as unknown (0). */
static int64_t parse_docker_time(const char *s)
{
    int64_t ns;
    if (!s || dv_timestamp_parse(s, strlen(s), &ns, NULL) < 0 || ns == DV_TIMESTAMP_ZERO)
        return 0;
    return ns;
}

int dv_exit_result_from_inspect(const json_t *inspect, dv_exit_result *ret, dv_error *err)
{
    json_t *state = json_object_get(inspect, "State");
    if (!json_is_object(state))
        return dv_error_set(err, -EPROTO, "container inspect has no State");
    dv_exit_result r = {.valid = true};
    r.exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
    r.oom_killed = json_is_true(json_object_get(state, "OOMKilled"));
    if (r.exit_code > 128 && r.exit_code < 128 + 65)
        r.signal = r.exit_code - 128;
    r.finished_ns = parse_docker_time(json_string_value(json_object_get(state, "FinishedAt")));
    const char *e = json_string_value(json_object_get(state, "Error"));
    if (e && *e)
        r.error = dv_xstrdup(e);
    *ret = r;
    return 0;
}

void dv_exit_result_describe(const dv_exit_result *r, char *buf, size_t size)
{
    if (!r->valid) {
        snprintf(buf, size, "exit status unknown%s%s", r->error ? ": " : "",
                 r->error ? r->error : "");
        return;
    }
    int n;
    if (r->oom_killed)
        n = snprintf(buf, size, "OOM killed (exit code %d)", r->exit_code);
    else if (r->signal > 0)
        n = snprintf(buf, size, "exit code %d (signal %d SIG%s)", r->exit_code, r->signal,
                     sigabbrev_np(r->signal) ? sigabbrev_np(r->signal) : "?");
    else
        n = snprintf(buf, size, "exit code %d", r->exit_code);
    if (r->error && n >= 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, ": %s", r->error);
}

static json_t *exit_to_json(const dv_exit_result *r)
{
    if (!r->valid && !r->error)
        return json_null();
    return json_pack("{s:b,s:i,s:i,s:b,s:I,s:s*}", "valid", r->valid, "exit_code", r->exit_code,
                     "signal", r->signal, "oom_killed", r->oom_killed, "finished_ns",
                     (json_int_t)r->finished_ns, "error", r->error);
}

static int exit_from_json(const json_t *j, dv_exit_result *ret, dv_error *err)
{
    dv_exit_result r = {0};
    if (json_is_null(j) || !j) {
        *ret = r;
        return 0;
    }
    int valid = 0, oom = 0;
    json_int_t finished = 0;
    const char *e = NULL;
    if (json_unpack((json_t *)j, "{s:b,s:i,s:i,s:b,s:I,s?s}", "valid", &valid, "exit_code",
                    &r.exit_code, "signal", &r.signal, "oom_killed", &oom, "finished_ns", &finished,
                    "error", &e) < 0)
        return dv_error_set(err, -EINVAL, "exit: malformed");
    r.valid = valid;
    r.oom_killed = oom;
    r.finished_ns = finished;
    if (e)
        r.error = dv_xstrdup(e);
    *ret = r;
    return 0;
}

static json_t *ports_to_json(const dv_task *t)
{
    json_t *a = json_array();
    for (size_t i = 0; i < t->nports; i++) {
        const dv_port_mapping *p = &t->ports[i];
        json_array_append_new(a, json_pack("{s:s,s:i,s:i,s:b}", "label", p->label, "host_port",
                                           p->host_port, "container_port", p->container_port,
                                           "static", p->is_static));
    }
    return a;
}

static int ports_from_json(const json_t *a, dv_task *t, dv_error *err)
{
    if (!a)
        return 0;
    if (!json_is_array(a))
        return dv_error_set(err, -EINVAL, "ports: not an array");
    size_t n = json_array_size(a);
    dv_port_mapping *ports = dv_xcalloc(n ? n : 1, sizeof(*ports));
    for (size_t i = 0; i < n; i++) {
        const char *label;
        int st = 0;
        if (json_unpack(json_array_get(a, i), "{s:s,s:i,s:i,s?b}", "label", &label, "host_port",
                        &ports[i].host_port, "container_port", &ports[i].container_port, "static",
                        &st) < 0) {
            for (size_t k = 0; k < i; k++)
                free(ports[k].label);
            free(ports);
            return dv_error_set(err, -EINVAL, "ports[%zu]: malformed", i);
        }
        ports[i].label = dv_xstrdup(label);
        ports[i].is_static = st;
    }
    ports_free(t);
    t->ports = ports;
    t->nports = n;
    return 0;
}

static const char *desired_name(enum dv_task_desired d)
{
    return d == DV_DESIRED_STOPPED ? "stopped" : "running";
}

json_t *dv_task_to_json(const dv_task *t)
{
    json_t *rp = json_pack("{s:i,s:I,s:I,s:s}", "attempts", t->restart_policy.attempts,
                           "interval_ns", (json_int_t)t->restart_policy.interval_ns, "delay_ns",
                           (json_int_t)t->restart_policy.delay_ns, "mode",
                           t->restart_policy.mode == DV_RESTART_MODE_DELAY ? "delay" : "fail");
    json_t *docklog = t->docklog.pid > 0 ? json_pack("{s:i,s:I,s:s}", "pid", (int)t->docklog.pid,
                                                     "starttime", (json_int_t)t->docklog.starttime,
                                                     "boot_id", t->docklog.boot_id)
                                         : json_null();
    json_t *network = json_pack("{s:s?,s:b,s:s?}", "ip", t->ip, "auto_advertise", t->auto_advertise,
                                "name", t->network_name);
    json_t *j = json_pack(
        "{s:i,s:s,s:s,s:s,s:O?,s:{s:I,s:s?,s:o},s:s,s:s,s:s?,s:s?,s:s?,s:o,s:o,s:o,s:o,s:o,s:o,"
        "s:I,s:I,s:I}",
        "version", DV_TASK_RECORD_VERSION, "id", t->id, "name", t->name, "container_name",
        t->container_name, "spec", t->spec, "lifecycle", "kill_timeout_ns",
        (json_int_t)t->kill_timeout_ns, "kill_signal", t->kill_signal, "restart_policy", rp,
        "state", dv_task_state_name(t->state), "desired", desired_name(t->desired), "image",
        t->image, "image_id", t->image_id, "container_id", t->container_id, "ports",
        ports_to_json(t), "network", network, "docklog", docklog, "restart_tracker",
        dv_restart_tracker_to_json(&t->restarts), "exit", exit_to_json(&t->exit), "events",
        dv_event_ring_to_json(&t->events), "created_ns", (json_int_t)t->created_ns, "started_ns",
        (json_int_t)t->started_ns, "finished_ns", (json_int_t)t->finished_ns);
    /* Added within version 1: optional on read, so older records still load. */
    if (j &&
        (json_object_set_new(j, "restart_due_ns", json_integer(t->restart_due_ns)) < 0 ||
         json_object_set_new(j, "destroy_requested", json_boolean(t->destroy_requested)) < 0 ||
         ((t->log_gaps[0] || t->log_gaps[1]) &&
          json_object_set_new(j, "log_gaps",
                              json_pack("{s:I,s:I}", "stdout", (json_int_t)t->log_gaps[0], "stderr",
                                        (json_int_t)t->log_gaps[1])) < 0) ||
         (t->boot_id[0] && json_object_set_new(j, "boot_id", json_string(t->boot_id)) < 0) ||
         (t->spec_resolved && json_object_set(j, "spec_resolved", t->spec_resolved) < 0) ||
         (t->alloc.id[0] &&
          json_object_set_new(j, "alloc",
                              json_pack("{s:s,s:s?,s:s?,s:i,s:b,s:s?,s:s?}", "id", t->alloc.id,
                                        "job", t->alloc.job, "group", t->alloc.group, "index",
                                        t->alloc.index, "infra", t->alloc.infra, "infra_task_id",
                                        t->alloc.infra_task_id[0] ? t->alloc.infra_task_id : NULL,
                                        "joined", t->alloc.joined)) < 0))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static void opt_str(const json_t *o, const char *key, char **field)
{
    dv_task_set_str(field, json_string_value(json_object_get(o, key)));
}

/* "alloc" of a record (absent for a task alone). */
static int alloc_from_json(const json_t *a, dv_task_alloc *ret, dv_error *err)
{
    if (!a)
        return 0;
    const char *id = json_string_value(json_object_get(a, "id"));
    const char *infra_task = json_string_value(json_object_get(a, "infra_task_id"));
    json_t *index = json_object_get(a, "index");
    if (!id || strlen(id) != DV_UUID_STRLEN ||
        (infra_task && strlen(infra_task) != DV_UUID_STRLEN) ||
        (index && (!json_is_integer(index) || json_integer_value(index) < 0 ||
                   json_integer_value(index) > INT32_MAX)))
        return dv_error_set(err, -EINVAL, "task record: malformed alloc");
    memcpy(ret->id, id, DV_UUID_STRLEN + 1);
    if (infra_task)
        memcpy(ret->infra_task_id, infra_task, DV_UUID_STRLEN + 1);
    ret->index = (int)json_integer_value(index);
    ret->infra = json_is_true(json_object_get(a, "infra"));
    opt_str(a, "job", &ret->job);
    opt_str(a, "group", &ret->group);
    opt_str(a, "joined", &ret->joined);
    return 0;
}

int dv_task_from_json(const json_t *rec, dv_task **ret, dv_error *err)
{
    int version = 0;
    const char *id, *name, *state, *desired;
    if (json_unpack((json_t *)rec, "{s:i,s:s,s:s,s:s,s:s}", "version", &version, "id", &id, "name",
                    &name, "state", &state, "desired", &desired) < 0)
        return dv_error_set(err, -EINVAL, "task record: needs version, id, name, state, desired");
    if (version != DV_TASK_RECORD_VERSION)
        return dv_error_set(err, -EPROTONOSUPPORT, "task record version %d is not %d", version,
                            DV_TASK_RECORD_VERSION);
    dv_task *t = dv_task_new(id, name);
    if (!t)
        return dv_error_set(err, -EINVAL, "task record: bad id \"%s\"", id);
    int r = -EINVAL;
    if (dv_task_state_from_name(state, &t->state) < 0) {
        dv_error_set(err, -EINVAL, "task record: unknown state \"%s\"", state);
        goto fail;
    }
    t->desired = strcmp(desired, "stopped") == 0 ? DV_DESIRED_STOPPED : DV_DESIRED_RUNNING;
    t->spec = json_incref(json_object_get(rec, "spec"));
    json_t *resolved = json_object_get(rec, "spec_resolved");
    t->spec_resolved = json_is_object(resolved) ? json_incref(resolved) : NULL;
    if (alloc_from_json(json_object_get(rec, "alloc"), &t->alloc, err) < 0)
        goto fail;
    json_t *lc = json_object_get(rec, "lifecycle");
    if (lc) {
        json_int_t kt = t->kill_timeout_ns, interval = 0, delay = 0;
        const char *mode = "fail";
        if (json_unpack(lc, "{s?I,s?{s:i,s:I,s:I,s:s}}", "kill_timeout_ns", &kt, "restart_policy",
                        "attempts", &t->restart_policy.attempts, "interval_ns", &interval,
                        "delay_ns", &delay, "mode", &mode) < 0) {
            dv_error_set(err, -EINVAL, "task record: malformed lifecycle");
            goto fail;
        }
        t->kill_timeout_ns = kt;
        if (json_object_get(json_object_get(lc, "restart_policy"), "interval_ns")) {
            t->restart_policy.interval_ns = interval;
            t->restart_policy.delay_ns = delay;
            t->restart_policy.mode =
                strcmp(mode, "delay") == 0 ? DV_RESTART_MODE_DELAY : DV_RESTART_MODE_FAIL;
        }
        opt_str(lc, "kill_signal", &t->kill_signal);
    }
    opt_str(rec, "image", &t->image);
    opt_str(rec, "image_id", &t->image_id);
    opt_str(rec, "container_id", &t->container_id);
    if ((r = ports_from_json(json_object_get(rec, "ports"), t, err)) < 0)
        goto fail;
    json_t *net = json_object_get(rec, "network");
    if (json_is_object(net)) {
        opt_str(net, "ip", &t->ip);
        opt_str(net, "name", &t->network_name);
        t->auto_advertise = json_is_true(json_object_get(net, "auto_advertise"));
    }
    json_t *dl = json_object_get(rec, "docklog");
    if (json_is_object(dl)) {
        json_int_t st = 0;
        int pid = 0;
        const char *boot = "";
        if (json_unpack(dl, "{s:i,s:I,s:s}", "pid", &pid, "starttime", &st, "boot_id", &boot) < 0) {
            r = dv_error_set(err, -EINVAL, "task record: malformed docklog");
            goto fail;
        }
        t->docklog.pid = pid;
        t->docklog.starttime = (uint64_t)st;
        snprintf(t->docklog.boot_id, sizeof(t->docklog.boot_id), "%s", boot);
    }
    json_t *tr = json_object_get(rec, "restart_tracker");
    if (tr && (r = dv_restart_tracker_from_json(tr, &t->restarts, err)) < 0)
        goto fail;
    if ((r = exit_from_json(json_object_get(rec, "exit"), &t->exit, err)) < 0)
        goto fail;
    json_t *events = json_object_get(rec, "events");
    if (events && (r = dv_event_ring_from_json(events, &t->events, err)) < 0)
        goto fail;
    t->created_ns = json_integer_value(json_object_get(rec, "created_ns"));
    t->started_ns = json_integer_value(json_object_get(rec, "started_ns"));
    t->finished_ns = json_integer_value(json_object_get(rec, "finished_ns"));
    t->restart_due_ns = json_integer_value(json_object_get(rec, "restart_due_ns"));
    t->destroy_requested = json_is_true(json_object_get(rec, "destroy_requested"));
    json_t *gaps = json_object_get(rec, "log_gaps");
    for (int st = 0; st < 2; st++) {
        json_int_t n = json_integer_value(json_object_get(gaps, st ? "stderr" : "stdout"));
        t->log_gaps[st] = n > 0 ? (uint64_t)n : 0;
    }
    const char *boot = json_string_value(json_object_get(rec, "boot_id"));
    if (boot && strlen(boot) == DV_BOOT_ID_STRLEN)
        memcpy(t->boot_id, boot, DV_BOOT_ID_STRLEN + 1);
    *ret = t;
    return 0;
fail:
    dv_task_free(t);
    return r < 0 ? r : -EINVAL;
}

json_t *dv_task_to_api_json(const dv_task *t, dv_spec_redact_fn redact)
{
    json_t *j = dv_task_to_json(t);
    if (!j)
        return NULL;
    json_object_del(j, "lifecycle");
    json_object_del(j, "spec");
    json_object_del(j, "spec_resolved");
    if (redact && t->spec)
        json_object_set_new(j, "spec", redact(t->spec));
    if (redact && t->spec_resolved)
        json_object_set_new(j, "spec_resolved", redact(t->spec_resolved));
    json_object_set_new(j, "restarts", json_integer(t->restarts.total));
    if (t->waiting)
        json_object_set_new(j, "waiting", json_string(t->waiting));
    char when[DV_TIMESTAMP_MAX];
    const struct {
        const char *key;
        int64_t ns;
    } times[] = {
        {"created", t->created_ns}, {"started", t->started_ns}, {"finished", t->finished_ns}};
    for (size_t i = 0; i < DV_ARRAY_SIZE(times); i++)
        if (times[i].ns > 0) {
            dv_timestamp_format(times[i].ns, when);
            json_object_set_new(j, times[i].key, json_string(when));
        }
    return j;
}
