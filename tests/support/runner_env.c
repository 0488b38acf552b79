#include "runner_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "duration.h"
#include "labels.h"
#include "task_table.h"

/* ---- observers (loop thread) ---- */

static void heard(dv_renv *e, json_t *note)
{
    json_object_set_new(note, "t_ns", json_integer(dv_monotonic_ns()));
    json_array_append_new(e->heard, note);
    if (e->after_observer)
        e->after_observer(e);
}

static void on_event(void *ctx, const dv_task *t, const dv_task_event *ev, bool transient)
{
    heard(ctx, json_pack("{s:s,s:s,s:s,s:s,s:b}", "kind", "event", "task", t->id, "type", ev->type,
                         "message", ev->message, "transient", transient));
}

static void on_state(void *ctx, const dv_task *t)
{
    heard(ctx, json_pack("{s:s,s:s,s:s}", "kind", "state", "task", t->id, "state",
                         dv_task_state_name(t->state)));
}

static void on_gone(void *ctx, const dv_task *t, enum dv_task_gone_why why, const char *detail)
{
    heard(ctx, json_pack("{s:s,s:s,s:s,s:s}", "kind", "gone", "task", t->id, "type",
                         why == DV_TASK_GONE_DESTROYED ? "destroyed" : "set aside", "message",
                         detail ? detail : ""));
}

static void on_destroy_failed(void *ctx, const dv_task *t, const dv_error *err)
{
    heard(ctx, json_pack("{s:s,s:s,s:s,s:s}", "kind", "destroy_failed", "task", t->id, "type",
                         err->unreachable ? "unreachable" : "answered", "message", err->msg));
}

/* ---- the loop's thread, held and released ---- */

static void *loop_main(void *arg)
{
    dv_renv *e = arg;
    dv_error err;
    if (dv_loop_run(e->run->loop, &err) < 0)
        fprintf(stderr, "runner env: loop: %s\n", err.msg);
    return NULL;
}

static void hold_msg(dv_loop *loop, void *data)
{
    (void)loop;
    dv_renv *e = data;
    pthread_mutex_lock(&e->lock);
    e->held = true;
    pthread_cond_broadcast(&e->cond);
    while (!e->release)
        pthread_cond_wait(&e->cond, &e->lock);
    e->release = false;
    e->held = false;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

static void hold(dv_renv *e)
{
    assert_int_equal(dv_loop_post(e->run->loop, hold_msg, NULL, e), 0);
    pthread_mutex_lock(&e->lock);
    while (!e->held)
        pthread_cond_wait(&e->cond, &e->lock);
    pthread_mutex_unlock(&e->lock);
}

static void release(dv_renv *e)
{
    pthread_mutex_lock(&e->lock);
    e->release = true;
    pthread_cond_broadcast(&e->cond);
    while (e->held)
        pthread_cond_wait(&e->cond, &e->lock);
    pthread_mutex_unlock(&e->lock);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

dv_renv *dv_renv_new(void)
{
    dv_renv *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    e->fake = dv_fake_start(NULL, NULL);
    e->tr = dv_test_runtime_new(e->fake);
    assert_non_null(e->tr);
    e->run = &e->tr->run;
    e->heard = json_array();
    e->run->observers = (dv_runtime_observers){.ctx = e,
                                               .task_event = on_event,
                                               .task_state = on_state,
                                               .task_gone = on_gone,
                                               .destroy_failed = on_destroy_failed};
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    assert_int_equal(pthread_create(&e->thread, NULL, loop_main, e), 0);
    hold(e);
    return e;
}

void dv_renv_free(dv_renv *e)
{
    if (!e)
        return;
    dv_loop_quit(e->run->loop);
    release(e);
    pthread_join(e->thread, NULL);
    dv_test_runtime_free(e->tr, dv_runner_free_rt);
    dv_fake_stop(e->fake);
    json_decref(e->heard);
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

bool dv_renv_wait(dv_renv *e, dv_renv_pred pred, const void *arg, int timeout_ms)
{
    int64_t end = dv_monotonic_ns() + (int64_t)timeout_ms * DV_NSEC_PER_MSEC;
    if (pred(e, arg))
        return true;
    for (;;) {
        release(e);
        sleep_ms(1);
        hold(e);
        if (pred(e, arg))
            return true;
        if (dv_monotonic_ns() > end)
            return false;
    }
}

void dv_renv_sleep(dv_renv *e, int ms)
{
    release(e);
    sleep_ms(ms);
    hold(e);
}

bool dv_renv_gone(dv_renv *e, const void *id)
{
    return dv_task_table_get(e->run->tasks, id) == NULL;
}

struct state_arg {
    const char *id;
    enum dv_task_state state;
};

static bool in_state(dv_renv *e, const void *arg)
{
    const struct state_arg *a = arg;
    dv_task *t = dv_task_table_get(e->run->tasks, a->id);
    return t && t->state == a->state;
}

bool dv_renv_wait_state(dv_renv *e, const char *id, enum dv_task_state state, int timeout_ms)
{
    struct state_arg a = {id, state};
    return dv_renv_wait(e, in_state, &a, timeout_ms);
}

/* ---- tasks ---- */

dv_task *dv_renv_create(dv_renv *e, const char *spec, char ret_id[DV_UUID_STRLEN + 1])
{
    json_error_t jerr;
    json_t *j = json_loads(spec, 0, &jerr);
    if (!j)
        fail_msg("spec: %s: %s", jerr.text, spec);
    dv_task *t = NULL;
    unsigned status = 0;
    dv_spec_error err;
    dv_spec_error_clear(&err);
    int r = dv_runner_create(e->run, j, NULL, &t, &status, &err);
    json_decref(j);
    if (r < 0)
        fail_msg("create: %u %s", status, err.err.msg);
    dv_error e2;
    assert_int_equal(dv_runner_save(e->run, t, &e2), 0);
    dv_task_event_add(t, &dv_runner_ops, e->run, "Received", "task %s received", t->name);
    dv_runner_ops.changed(e->run, t);
    snprintf(ret_id, DV_UUID_STRLEN + 1, "%s", t->id);
    return t;
}

void dv_renv_start(dv_renv *e, dv_task *t)
{
    dv_task_input in = {.event = DV_TE_START};
    assert_int_equal(dv_runner_feed(e->run, t, &in), 0);
}

dv_task *dv_renv_task(dv_renv *e, const char *id)
{
    return dv_task_table_get(e->run->tasks, id);
}

int dv_renv_feed(dv_renv *e, const char *id, enum dv_task_fsm_event ev, int64_t stop_timeout_ns,
                 const char *stop_signal, bool force)
{
    dv_task *t = dv_renv_task(e, id);
    assert_non_null(t);
    dv_task_input in = {.event = ev,
                        .stop_timeout_set = stop_timeout_ns >= 0,
                        .stop_timeout_ns = stop_timeout_ns,
                        .stop_signal = stop_signal,
                        .force = force};
    return dv_runner_feed(e->run, t, &in);
}

void dv_renv_engine_event(dv_renv *e, const char *action, const char *cid, const char *id)
{
    json_t *ev = json_pack("{s:s,s:s,s:{s:s,s:{s:s}}}", "Type", "container", "Action", action,
                           "Actor", "ID", cid, "Attributes", DV_LABEL_TASK_ID, id);
    dv_runner_engine_event(e->run, ev);
    json_decref(ev);
}

/* ---- the fake Engine ---- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0)
        abort();
    va_end(ap);
    return s;
}

void dv_renv_image(dv_renv *e, const char *ref, const char *image_id)
{
    char *path = fmt("/images/%s/json", ref);
    char *body = fmt("{\"Id\":\"%s\",\"Config\":{\"User\":\"\"}}", image_id);
    dv_fake_replace(e->fake, "GET", path, 200, body);
    free(path);
    free(body);
}

void dv_renv_create_answer(dv_renv *e, const char *cid)
{
    char *body = fmt("{\"Id\":\"%s\",\"Warnings\":[]}", cid);
    dv_fake_reply(e->fake, "POST", "/containers/create", 1, 201, body);
    free(body);
}

void dv_renv_container_ops(dv_renv *e, const char *cid)
{
    static const char *const ops[] = {"start", "stop", "kill"};
    for (size_t i = 0; i < 3; i++) {
        char *path = fmt("/containers/%s/%s", cid, ops[i]);
        dv_fake_replace(e->fake, "POST", path, 204, NULL);
        free(path);
    }
    char *path = fmt("/containers/%s", cid);
    dv_fake_replace(e->fake, "DELETE", path, 204, NULL);
    free(path);
}

static void inspect(dv_renv *e, const char *cid, const char *id, const char *state)
{
    char *path = fmt("/containers/%s/json", cid);
    char *body =
        fmt("{\"Id\":\"%s\",\"State\":%s,\"Config\":{\"User\":\"\",\"Labels\":{\"" DV_LABEL_NODE_ID
            "\":\"" DV_RENV_NODE "\",\"" DV_LABEL_TASK_ID "\":\"%s\"}},"
            "\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAddress\":"
            "\"172.17.0.9\"}}}}",
            cid, state, id);
    dv_fake_replace(e->fake, "GET", path, 200, body);
    free(path);
    free(body);
}

void dv_renv_inspect_running(dv_renv *e, const char *cid, const char *id)
{
    inspect(e, cid, id,
            "{\"Status\":\"running\",\"Running\":true,\"ExitCode\":0,"
            "\"StartedAt\":\"2026-01-01T10:00:00Z\",\"FinishedAt\":\"0001-01-01T00:00:00Z\"}");
}

void dv_renv_inspect_exited(dv_renv *e, const char *cid, const char *id, int exit_code,
                            bool oomkilled)
{
    char *state = fmt("{\"Status\":\"exited\",\"Running\":false,\"ExitCode\":%d,\"OOMKilled\":%s,"
                      "\"Error\":\"\",\"FinishedAt\":\"2026-01-01T10:00:05Z\"}",
                      exit_code, oomkilled ? "true" : "false");
    inspect(e, cid, id, state);
    free(state);
}

void dv_renv_happy(dv_renv *e, const char *cid, const char *id)
{
    dv_renv_image(e, "app:1", DV_RENV_IMAGE);
    dv_renv_container(e, cid, id);
}

void dv_renv_container(dv_renv *e, const char *cid, const char *id)
{
    dv_renv_create_answer(e, cid);
    dv_renv_container_ops(e, cid);
    dv_renv_inspect_running(e, cid, id);
}

/* ---- what was heard and recorded ---- */

static bool note_matches(json_t *n, const char *kind, const char *id, const char *type,
                         const char *needle)
{
    const char *k = json_string_value(json_object_get(n, "kind"));
    const char *task = json_string_value(json_object_get(n, "task"));
    const char *ty =
        json_string_value(json_object_get(n, strcmp(k, "state") == 0 ? "state" : "type"));
    const char *msg = json_string_value(json_object_get(n, "message"));
    return strcmp(k, kind) == 0 && (!id || strcmp(task, id) == 0) &&
           (!type || (ty && strcmp(ty, type) == 0)) && (!needle || (msg && strstr(msg, needle)));
}

size_t dv_renv_heard(dv_renv *e, const char *kind, const char *id, const char *type,
                     const char *needle)
{
    size_t n = 0, i;
    json_t *note;
    json_array_foreach(e->heard, i, note) n += note_matches(note, kind, id, type, needle);
    return n;
}

int64_t dv_renv_heard_time(dv_renv *e, const char *kind, const char *id, const char *type,
                           const char *needle)
{
    size_t i;
    json_t *note;
    json_array_foreach(e->heard, i, note)
    {
        if (note_matches(note, kind, id, type, needle))
            return json_integer_value(json_object_get(note, "t_ns"));
    }
    return 0;
}

json_t *dv_renv_record(dv_renv *e, const char *id)
{
    /* What the runner saved so far, once the record writer has written it. */
    dv_record_writer_wait(e->run->records, dv_record_writer_latest(e->run->records));
    char *path = fmt("%s/state/tasks/%s.json", e->tr->dir, id);
    json_t *j = json_load_file(path, 0, NULL);
    free(path);
    return j;
}

const char *dv_renv_calls(dv_renv *e)
{
    static char buf[16384];
    buf[0] = '\0';
    for (size_t i = 0; i < dv_fake_request_count(e->fake); i++) {
        const dv_fake_request *r = dv_fake_request_at(e->fake, i);
        if (strcmp(r->path, "/version") == 0 || strcmp(r->path, "/_ping") == 0)
            continue;
        char one[256];
        snprintf(one, sizeof(one), "%s%s %.24s", buf[0] ? "," : "", r->method, r->path);
        strncat(buf, one, sizeof(buf) - strlen(buf) - 1);
    }
    return buf;
}

long dv_renv_request_index(dv_renv *e, const char *method, const char *path, size_t from)
{
    for (size_t i = from; i < dv_fake_request_count(e->fake); i++) {
        const dv_fake_request *r = dv_fake_request_at(e->fake, i);
        if (strcmp(r->method, method) == 0 && strncmp(r->path, path, strlen(path)) == 0)
            return (long)i;
    }
    return -1;
}

int dv_renv_setup(void **state)
{
    *state = dv_renv_new();
    return 0;
}

int dv_renv_teardown(void **state)
{
    dv_renv_free(*state);
    return 0;
}

const char *dv_renv_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}
