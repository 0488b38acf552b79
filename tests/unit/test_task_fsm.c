/* The task lifecycle state machine, driven with recorded ops (no daemon), and
 * the task record round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "duration.h"
#include "task.h"

#define ID "0b9c3c8e-6f0a-4b8e-9d51-3a0f2b7c9e11"
#define SEC DV_NSEC_PER_SEC

struct rec {
    char calls[2048]; /* "fetch,start,stop(5s,-),..." */
    int forgotten;
    int changed;
    int64_t now;
    dv_task *forgot;
};

static void add(struct rec *r, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (r->calls[0])
        strcat(r->calls, ",");
    strcat(r->calls, buf);
}

static void op_fetch(void *c, dv_task *t)
{
    (void)t;
    add(c, "fetch");
}
static void op_start(void *c, dv_task *t)
{
    (void)t;
    add(c, "start");
}
static void op_stop(void *c, dv_task *t, int64_t timeout, const char *sig)
{
    (void)t;
    char d[32];
    dv_duration_format(timeout, d, sizeof(d));
    add(c, "stop(%s,%s)", d, sig ? sig : "-");
}
static void op_confirm(void *c, dv_task *t)
{
    (void)t;
    add(c, "confirm");
}
static void op_cancel(void *c, dv_task *t)
{
    (void)t;
    add(c, "cancel");
}
static void op_arm(void *c, dv_task *t, int64_t delay)
{
    (void)t;
    char d[32];
    dv_duration_format(delay, d, sizeof(d));
    add(c, "arm(%s)", d);
}
static void op_disarm(void *c, dv_task *t)
{
    (void)t;
    (void)c;
}
static void op_destroy(void *c, dv_task *t)
{
    (void)t;
    add(c, "destroy");
}
static void op_forget(void *c, dv_task *t)
{
    struct rec *r = c;
    r->forgotten++;
    r->forgot = t;
}
static void op_event(void *c, dv_task *t, const dv_task_event *ev)
{
    (void)c;
    (void)t;
    (void)ev;
}
static void op_changed(void *c, dv_task *t)
{
    (void)t;
    ((struct rec *)c)->changed++;
}
static int64_t op_now(void *c)
{
    return ((struct rec *)c)->now += SEC;
}
static double op_jitter(void *c)
{
    (void)c;
    return 0.0;
}

static const dv_task_ops ops = {
    .fetch_image = op_fetch,
    .start_container = op_start,
    .stop_container = op_stop,
    .confirm_exit = op_confirm,
    .cancel = op_cancel,
    .arm_timer = op_arm,
    .disarm_timer = op_disarm,
    .destroy = op_destroy,
    .forget = op_forget,
    .event = op_event,
    .changed = op_changed,
    .now = op_now,
    .jitter = op_jitter,
};

static int feed(dv_task *t, struct rec *r, enum dv_task_fsm_event e)
{
    dv_task_input in = {.event = e};
    return dv_task_handle(t, &in, &ops, r);
}

static int feed_exit(dv_task *t, struct rec *r, int code, bool oom)
{
    dv_exit_result x = {.valid = true, .exit_code = code, .oom_killed = oom};
    if (code > 128)
        x.signal = code - 128;
    dv_task_input in = {.event = DV_TE_EXITED, .exit = &x};
    return dv_task_handle(t, &in, &ops, r);
}

static bool has_event(const dv_task *t, const char *type, const char *needle)
{
    for (size_t i = 0; i < t->events.len; i++) {
        const dv_task_event *ev = dv_event_ring_get(&t->events, i);
        if (strcmp(ev->type, type) == 0 && (!needle || strstr(ev->message, needle)))
            return true;
    }
    return false;
}

static dv_task *new_task(void)
{
    dv_task *t = dv_task_new(ID, "web");
    assert_non_null(t);
    assert_string_equal(t->container_name, "web-" ID);
    t->container_id = strdup("c0ffee0123456789");
    return t;
}

static void run_to_running(dv_task *t, struct rec *r)
{
    assert_int_equal(feed(t, r, DV_TE_START), 0);
    assert_int_equal(t->state, DV_TASK_PULLING);
    assert_int_equal(feed(t, r, DV_TE_IMAGE_READY), 0);
    assert_int_equal(t->state, DV_TASK_STARTING);
    assert_int_equal(feed(t, r, DV_TE_STARTED), 0);
    assert_int_equal(t->state, DV_TASK_RUNNING);
}

static void test_clean_exit_completes(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    run_to_running(t, &r);
    uint64_t gen = t->gen;
    assert_int_equal(feed_exit(t, &r, 0, false), 0);
    assert_int_equal(t->state, DV_TASK_EXITED);
    assert_true(t->gen > gen);
    assert_string_equal(r.calls, "fetch,start");
    assert_true(has_event(t, "Started", NULL));
    assert_true(has_event(t, "Terminated", "exit code 0: exited successfully"));
    assert_true(has_event(t, "Completed", NULL));
    assert_int_equal(t->exit.exit_code, 0);
    assert_true(t->finished_ns > 0);
    /* a result of the old run now is stale */
    assert_int_equal(feed(t, &r, DV_TE_STARTED), -EINVAL);
    dv_task_free(t);
}

static void test_failure_restarts_then_fails(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    t->restart_policy = (dv_restart_policy){
        .attempts = 1, .interval_ns = 600 * SEC, .delay_ns = 2 * SEC, .mode = DV_RESTART_MODE_FAIL};
    run_to_running(t, &r);
    assert_int_equal(feed_exit(t, &r, 3, false), 0);
    assert_int_equal(t->state, DV_TASK_RESTARTING);
    assert_true(has_event(t, "Restarting", "exit code 3"));
    /* the due time is persisted so a restarted agent re-arms what is left of the delay */
    assert_true(t->restart_due_ns > 2 * SEC && t->restart_due_ns <= r.now + 2 * SEC);
    assert_int_equal(feed(t, &r, DV_TE_RESTART_DUE), 0);
    assert_int_equal(t->state, DV_TASK_PULLING);
    assert_int_equal(feed(t, &r, DV_TE_IMAGE_READY), 0);
    assert_int_equal(feed(t, &r, DV_TE_STARTED), 0);
    assert_int_equal(feed_exit(t, &r, 137, true), 0);
    assert_int_equal(t->state, DV_TASK_FAILED);
    assert_true(has_event(t, "Terminated", "OOM killed (exit code 137)"));
    assert_true(has_event(t, "Not Restarting", "exceeded allowed attempts"));
    assert_string_equal(r.calls, "fetch,start,arm(2s),fetch,start");
    assert_int_equal(t->restarts.total, 1);
    dv_task_free(t);
}

/* Docker stopping its containers as it goes down (no live restore) is not the
 * task's failure: it starts again at once, and its attempts are all still there. */
static void test_outage_exit_is_not_counted(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    t->restart_policy = (dv_restart_policy){
        .attempts = 1, .interval_ns = 600 * SEC, .delay_ns = 2 * SEC, .mode = DV_RESTART_MODE_FAIL};
    run_to_running(t, &r);
    for (int i = 0; i < 3; i++) {
        dv_exit_result x = {.valid = true, .exit_code = 137, .signal = 9};
        dv_task_input in = {.event = DV_TE_EXITED, .exit = &x, .outage = true};
        assert_int_equal(dv_task_handle(t, &in, &ops, &r), 0);
        assert_int_equal(t->state, DV_TASK_PULLING); /* no delay: the Engine is back */
        assert_int_equal(feed(t, &r, DV_TE_IMAGE_READY), 0);
        assert_int_equal(feed(t, &r, DV_TE_STARTED), 0);
    }
    assert_true(has_event(t, "Restarting", "not counted against its restart policy"));
    assert_int_equal(t->restarts.count, 0);
    assert_int_equal(t->restarts.total, 3);
    /* the one attempt is still there for a real failure */
    assert_int_equal(feed_exit(t, &r, 1, false), 0);
    assert_int_equal(t->state, DV_TASK_RESTARTING);
    assert_true(has_event(t, "Restarting", "attempt 1 of 1"));
    dv_task_free(t);
}

static void test_stop_with_engine_stop(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    t->kill_timeout_ns = 7 * SEC;
    run_to_running(t, &r);
    assert_int_equal(feed(t, &r, DV_TE_STOP), 0);
    assert_int_equal(t->state, DV_TASK_STOPPING);
    assert_int_equal(t->desired, DV_DESIRED_STOPPED);
    assert_int_equal(feed(t, &r, DV_TE_STOP), -EALREADY);
    dv_task_input done = {.event = DV_TE_STOP_DONE};
    assert_int_equal(dv_task_handle(t, &done, &ops, &r), 0);
    assert_int_equal(feed_exit(t, &r, 143, false), 0);
    assert_int_equal(t->state, DV_TASK_STOPPED);
    assert_string_equal(r.calls, "fetch,start,stop(7s,-),confirm");
    assert_true(has_event(t, "Terminated", "exit code 143 (signal 15 SIGTERM)"));
    assert_true(has_event(t, "Killed", NULL));
    /* stopping a stopped task changes nothing */
    assert_int_equal(feed(t, &r, DV_TE_STOP), -EALREADY);
    dv_task_free(t);
}

static void test_stop_with_signal_then_timeout(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    run_to_running(t, &r);
    dv_task_input stop = {.event = DV_TE_STOP,
                          .stop_timeout_set = true,
                          .stop_timeout_ns = 2 * SEC,
                          .stop_signal = "SIGUSR1"};
    assert_int_equal(dv_task_handle(t, &stop, &ops, &r), 0);
    assert_int_equal(feed(t, &r, DV_TE_KILL_TIMEOUT), 0);
    assert_int_equal(feed_exit(t, &r, 137, false), 0);
    assert_int_equal(t->state, DV_TASK_STOPPED);
    assert_string_equal(r.calls, "fetch,start,stop(2s,SIGUSR1),stop(0s,-)");
    assert_true(has_event(t, "Killing", "still running 2s after SIGUSR1"));
    dv_task_free(t);
}

static void test_kill_signal_from_spec(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    t->kill_signal = strdup("SIGINT");
    t->kill_timeout_ns = 3 * SEC;
    run_to_running(t, &r);
    assert_int_equal(feed(t, &r, DV_TE_STOP), 0);
    assert_int_equal(feed_exit(t, &r, 130, false), 0);
    assert_string_equal(r.calls, "fetch,start,stop(3s,SIGINT)");
    assert_int_equal(t->state, DV_TASK_STOPPED);
    dv_task_free(t);
}

static void test_stop_while_pulling_cancels(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    assert_int_equal(feed(t, &r, DV_TE_START), 0);
    assert_int_equal(feed(t, &r, DV_TE_STOP), 0);
    assert_int_equal(t->state, DV_TASK_PULLING); /* the pull decides */
    dv_error e = {.code = -ECANCELED};
    snprintf(e.msg, sizeof(e.msg), "pull cancelled");
    dv_task_input failed = {.event = DV_TE_START_FAILED, .error = &e};
    assert_int_equal(dv_task_handle(t, &failed, &ops, &r), 0);
    assert_int_equal(t->state, DV_TASK_STOPPED);
    assert_string_equal(r.calls, "fetch,cancel");
    dv_task_free(t);
}

static void test_stop_while_starting_stops_after_start(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    assert_int_equal(feed(t, &r, DV_TE_START), 0);
    assert_int_equal(feed(t, &r, DV_TE_IMAGE_READY), 0);
    assert_int_equal(feed(t, &r, DV_TE_STOP), 0);
    assert_int_equal(feed(t, &r, DV_TE_STARTED), 0);
    assert_int_equal(t->state, DV_TASK_STOPPING);
    assert_string_equal(r.calls, "fetch,start,cancel,stop(5s,-)");
    dv_task_free(t);
}

static void test_destroy_rules(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    run_to_running(t, &r);
    dv_task_input d = {.event = DV_TE_DESTROY};
    assert_true(dv_task_destroy_needs_force(t));
    assert_int_equal(dv_task_handle(t, &d, &ops, &r), -EBUSY);
    assert_int_equal(t->state, DV_TASK_RUNNING);
    d.force = true;
    assert_int_equal(dv_task_handle(t, &d, &ops, &r), 0);
    assert_int_equal(t->state, DV_TASK_DESTROYING);
    /* late results are stale now */
    assert_int_equal(feed_exit(t, &r, 0, false), -EINVAL);
    assert_int_equal(feed(t, &r, DV_TE_DESTROYED), 0);
    assert_int_equal(r.forgotten, 1);
    assert_ptr_equal(r.forgot, t);
    dv_task_free(t);

    /* a finished task needs no force */
    struct rec r2 = {0};
    t = new_task();
    run_to_running(t, &r2);
    assert_int_equal(feed_exit(t, &r2, 0, false), 0);
    assert_false(dv_task_destroy_needs_force(t));
    d.force = false;
    assert_int_equal(dv_task_handle(t, &d, &ops, &r2), 0);
    assert_string_equal(r2.calls, "fetch,start,destroy");
    dv_task_free(t);
}

static void test_forced_destroy_waits_for_the_start(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    assert_int_equal(feed(t, &r, DV_TE_START), 0);
    assert_int_equal(feed(t, &r, DV_TE_IMAGE_READY), 0);
    dv_task_input d = {.event = DV_TE_DESTROY, .force = true};
    assert_int_equal(dv_task_handle(t, &d, &ops, &r), 0);
    assert_int_equal(t->state, DV_TASK_STARTING);
    assert_int_equal(feed(t, &r, DV_TE_STARTED), 0);
    assert_int_equal(t->state, DV_TASK_DESTROYING);
    assert_string_equal(r.calls, "fetch,start,cancel,destroy");
    dv_task_free(t);
}

static void test_start_failures(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    assert_int_equal(feed(t, &r, DV_TE_START), 0);
    dv_error e = {.code = -ENOENT};
    snprintf(e.msg, sizeof(e.msg), "pull dockvisor-test/nope:1: manifest unknown");
    dv_task_input failed = {.event = DV_TE_START_FAILED, .error = &e};
    assert_int_equal(dv_task_handle(t, &failed, &ops, &r), 0);
    assert_int_equal(t->state, DV_TASK_FAILED);
    assert_true(has_event(t, "Driver Failure", "manifest unknown"));
    assert_true(has_event(t, "Not Restarting", "unrecoverable"));

    /* recoverable: the restart block decides; the operator can start it again */
    e.recoverable = true;
    assert_int_equal(feed(t, &r, DV_TE_RESTART), 0);
    assert_int_equal(t->state, DV_TASK_PULLING);
    assert_int_equal(dv_task_handle(t, &failed, &ops, &r), 0);
    assert_int_equal(t->state, DV_TASK_RESTARTING);
    dv_task_free(t);
}

static void test_operator_restart(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    run_to_running(t, &r);
    assert_int_equal(feed(t, &r, DV_TE_RESTART), 0);
    assert_int_equal(t->state, DV_TASK_STOPPING);
    assert_int_equal(feed_exit(t, &r, 143, false), 0);
    assert_int_equal(t->state, DV_TASK_PULLING);
    assert_int_equal(t->desired, DV_DESIRED_RUNNING);
    assert_int_equal(t->restarts.total, 0); /* an operator restart is not a failure */
    assert_string_equal(r.calls, "fetch,start,stop(5s,-),fetch");
    dv_task_free(t);
}

static void test_die_while_starting(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    assert_int_equal(feed(t, &r, DV_TE_START), 0);
    assert_int_equal(feed(t, &r, DV_TE_IMAGE_READY), 0);
    t->die_seen = true;
    assert_int_equal(feed(t, &r, DV_TE_STARTED), 0);
    assert_string_equal(r.calls, "fetch,start,confirm");
    dv_task_free(t);
}

static void test_record_round_trip(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    t->spec = json_pack("{s:s,s:{s:s}}", "name", "web", "config", "image", "busybox:1");
    t->kill_signal = strdup("SIGUSR1");
    t->image = strdup("busybox:1");
    t->image_id = strdup("sha256:abc");
    t->ports = calloc(1, sizeof(*t->ports));
    t->ports[0] = (dv_port_mapping){strdup("http"), 21001, 8080, false};
    t->nports = 1;
    t->ip = strdup("172.17.0.5");
    t->docklog.pid = 4242;
    t->docklog.starttime = 99;
    strcpy(t->docklog.boot_id, "11111111-2222-3333-4444-555555555555");
    run_to_running(t, &r);
    assert_int_equal(feed_exit(t, &r, 2, false), 0);
    strcpy(t->boot_id, "66666666-7777-8888-9999-000000000000");
    t->destroy_requested = true;
    _cleanup_json_ json_t *j = dv_task_to_json(t);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), DV_TASK_RECORD_VERSION);
    dv_task *back = NULL;
    dv_error err;
    int fr = dv_task_from_json(j, &back, &err);
    if (fr < 0)
        fail_msg("%s", err.msg);
    _cleanup_json_ json_t *j2 = dv_task_to_json(back);
    assert_true(json_equal(j, j2));
    assert_int_equal(back->state, t->state);
    assert_int_equal(back->events.len, t->events.len);
    assert_string_equal(back->kill_signal, "SIGUSR1");
    assert_int_equal(back->restart_policy.attempts, t->restart_policy.attempts);
    assert_true(back->restart_due_ns > 0);
    assert_int_equal(back->restart_due_ns, t->restart_due_ns);
    assert_string_equal(back->boot_id, t->boot_id);
    assert_true(back->destroy_requested);

    /* a record written before those fields existed still loads */
    _cleanup_json_ json_t *old = json_deep_copy(j);
    json_object_del(old, "boot_id");
    json_object_del(old, "restart_due_ns");
    json_object_del(old, "destroy_requested");
    dv_task *older = NULL;
    assert_int_equal(dv_task_from_json(old, &older, &err), 0);
    assert_string_equal(older->boot_id, "");
    assert_int_equal(older->restart_due_ns, 0);
    assert_false(older->destroy_requested);
    dv_task_free(older);

    /* an unknown version is refused, not guessed at */
    json_object_set_new(j, "version", json_integer(99));
    dv_task *bad = NULL;
    assert_int_equal(dv_task_from_json(j, &bad, &err), -EPROTONOSUPPORT);
    assert_null(bad);

    /* the API view has no lifecycle internals and no spec without a redactor */
    _cleanup_json_ json_t *api = dv_task_to_api_json(t, NULL);
    assert_null(json_object_get(api, "spec"));
    assert_non_null(json_object_get(api, "started"));
    dv_task_free(back);
    dv_task_free(t);
}

static void test_exit_from_inspect(void **state)
{
    (void)state;
    _cleanup_json_ json_t *in =
        json_pack("{s:{s:b,s:i,s:b,s:s,s:s}}", "State", "Running", 0, "ExitCode", 137, "OOMKilled",
                  1, "FinishedAt", "2024-05-01T10:00:00.123456789Z", "Error", "");
    dv_exit_result x;
    assert_int_equal(dv_exit_result_from_inspect(in, &x, NULL), 0);
    assert_true(x.valid);
    assert_int_equal(x.exit_code, 137);
    assert_int_equal(x.signal, 9);
    assert_true(x.oom_killed);
    assert_int_equal(x.finished_ns, INT64_C(1714557600123456789));
    assert_null(x.error);
    char buf[128];
    dv_exit_result_describe(&x, buf, sizeof(buf));
    assert_string_equal(buf, "OOM killed (exit code 137)");
    dv_exit_result_clear(&x);
}

/* B5: a restart during a stop is honoured once the container is down; a stop
 * after it still wins; during a destroy it is refused, not silently dropped. */
static void test_restart_during_stop(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    run_to_running(t, &r);
    assert_int_equal(feed(t, &r, DV_TE_STOP), 0);
    assert_int_equal(t->state, DV_TASK_STOPPING);
    assert_int_equal(t->desired, DV_DESIRED_STOPPED);
    assert_int_equal(feed(t, &r, DV_TE_RESTART), 0);
    assert_int_equal(t->desired, DV_DESIRED_RUNNING);
    assert_true(has_event(t, "Restart Signaled", "once the stop is done"));
    assert_int_equal(feed(t, &r, DV_TE_RESTART), -EALREADY);
    assert_int_equal(feed_exit(t, &r, 137, false), 0);
    assert_int_equal(t->state, DV_TASK_PULLING);
    assert_string_equal(r.calls, "fetch,start,stop(5s,-),fetch");

    /* stop, restart, stop: the last word is the stop */
    assert_int_equal(feed(t, &r, DV_TE_IMAGE_READY), 0);
    assert_int_equal(feed(t, &r, DV_TE_STARTED), 0);
    assert_int_equal(feed(t, &r, DV_TE_STOP), 0);
    assert_int_equal(feed(t, &r, DV_TE_RESTART), 0);
    assert_int_equal(feed(t, &r, DV_TE_STOP), 0);
    assert_int_equal(feed_exit(t, &r, 137, false), 0);
    assert_int_equal(t->state, DV_TASK_STOPPED);

    dv_task_input d = {.event = DV_TE_DESTROY};
    assert_int_equal(dv_task_handle(t, &d, &ops, &r), 0);
    assert_int_equal(t->state, DV_TASK_DESTROYING);
    assert_int_equal(feed(t, &r, DV_TE_RESTART), -EBUSY);
    dv_task_free(t);
}

/* R10: a failed stop leaves a running task that is wanted running, so a restarted
 * agent does not stop it behind the operator's back. */
static void test_stop_failed_keeps_it_wanted(void **state)
{
    (void)state;
    struct rec r = {0};
    dv_task *t = new_task();
    run_to_running(t, &r);
    assert_int_equal(feed(t, &r, DV_TE_STOP), 0);
    assert_int_equal(feed(t, &r, DV_TE_STOP_FAILED), 0);
    assert_int_equal(t->state, DV_TASK_RUNNING);
    assert_int_equal(t->desired, DV_DESIRED_RUNNING);
    assert_true(has_event(t, "Killing", "stop it again to retry"));
    assert_int_equal(feed(t, &r, DV_TE_STOP), 0);
    assert_int_equal(t->state, DV_TASK_STOPPING);
    dv_task_free(t);
}

/* A drain feeds every task a stop and waits only while that stop can still end
 * the task: a failed stop, or an operator's restart since, must not hang it. */
static void test_drain_waits_only_while_a_stop_can_end(void **state)
{
    (void)state;
    assert_true(dv_task_drain_settled(NULL)); /* destroyed meanwhile */

    struct rec r = {0};
    dv_task *t = new_task();
    run_to_running(t, &r);
    assert_int_equal(feed(t, &r, DV_TE_STOP), 0);
    assert_false(dv_task_drain_settled(t));
    assert_int_equal(feed(t, &r, DV_TE_STOP_FAILED), 0);
    assert_true(dv_task_drain_settled(t));
    dv_task_free(t);

    /* still starting: the stop comes after the start, so wait for it */
    r = (struct rec){0};
    t = new_task();
    assert_int_equal(feed(t, &r, DV_TE_START), 0);
    assert_int_equal(feed(t, &r, DV_TE_IMAGE_READY), 0);
    assert_int_equal(feed(t, &r, DV_TE_STOP), 0);
    assert_false(dv_task_drain_settled(t));
    assert_int_equal(feed(t, &r, DV_TE_STARTED), 0);
    assert_false(dv_task_drain_settled(t));
    assert_int_equal(feed_exit(t, &r, 137, false), 0);
    assert_true(dv_task_drain_settled(t));
    dv_task_free(t);

    /* restarted by an operator during the drain's stop: done once it runs again */
    r = (struct rec){0};
    t = new_task();
    run_to_running(t, &r);
    assert_int_equal(feed(t, &r, DV_TE_STOP), 0);
    assert_int_equal(feed(t, &r, DV_TE_RESTART), 0);
    assert_int_equal(feed_exit(t, &r, 137, false), 0);
    assert_false(dv_task_drain_settled(t));
    assert_int_equal(feed(t, &r, DV_TE_IMAGE_READY), 0);
    assert_int_equal(feed(t, &r, DV_TE_STARTED), 0);
    assert_true(dv_task_drain_settled(t));
    dv_task_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_exit_completes),
        cmocka_unit_test(test_failure_restarts_then_fails),
        cmocka_unit_test(test_outage_exit_is_not_counted),
        cmocka_unit_test(test_stop_with_engine_stop),
        cmocka_unit_test(test_stop_with_signal_then_timeout),
        cmocka_unit_test(test_kill_signal_from_spec),
        cmocka_unit_test(test_stop_while_pulling_cancels),
        cmocka_unit_test(test_stop_while_starting_stops_after_start),
        cmocka_unit_test(test_destroy_rules),
        cmocka_unit_test(test_forced_destroy_waits_for_the_start),
        cmocka_unit_test(test_start_failures),
        cmocka_unit_test(test_operator_restart),
        cmocka_unit_test(test_restart_during_stop),
        cmocka_unit_test(test_stop_failed_keeps_it_wanted),
        cmocka_unit_test(test_drain_waits_only_while_a_stop_can_end),
        cmocka_unit_test(test_die_while_starting),
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_exit_from_inspect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
