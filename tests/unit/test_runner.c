/* The task runner on a runtime over the fake Engine (runner_env.h), with the
 * real loop, workers, timers and state store: submit and start (image found or
 * pulled), stops with kill_signal, kill_timeout and max_kill_timeout, the
 * restart policy, OOM kills, failed pulls, destroy, Engine outages (a start, a
 * stop, a destroy that meet no Engine; an exit the outage caused), a foreign
 * container. Each case checks what the Engine was asked, what the observers
 * heard and what the task's record on disk says. Three cases found bugs, since
 * fixed: a restart's stop not capped by max_kill_timeout, an API stop's own
 * timeout dropped while starting, an "oom" event lost while starting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "labels.h"
#include "runner_env.h"
#include "sync_gate.h"

#define CID "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
#define CID2 "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2"
#define IMG DV_RENV_IMAGE
#define SPEC(extra) "{\"name\":\"web\",\"config\":{\"image\":\"app:1\"}" extra "}"
#define MS DV_NSEC_PER_MSEC

/* Create, let the Engine answer CID, start, wait until running. */
static void run_task(dv_renv *e, const char *spec, const char *cid, char id[DV_UUID_STRLEN + 1])
{
    dv_task *t = dv_renv_create(e, spec, id);
    dv_renv_happy(e, cid, id);
    dv_renv_start(e, t);
    if (!dv_renv_wait_state(e, id, DV_TASK_RUNNING, 3000))
        fail_msg("task not running: %s; Engine saw %s",
                 dv_task_state_name(dv_renv_task(e, id)->state), dv_renv_calls(e));
}

/* ---- submit and start ---- */

static void test_start_with_the_image_present(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(""), CID, id);
    assert_string_equal(dv_renv_calls(e), "GET /images/app:1/json,POST /containers/create,"
                                          "POST /containers/c1c1c1c1c1c1,"
                                          "GET /containers/c1c1c1c1c1c1");
    assert_non_null(dv_fake_find(e->fake, "POST", "/containers/" CID "/start"));
    /* the create: the image by id, the container's name, our labels */
    const dv_fake_request *create = dv_fake_find(e->fake, "POST", "/containers/create");
    char name[128];
    snprintf(name, sizeof(name), "name=web-%s", id);
    assert_non_null(strstr(create->query, name));
    _cleanup_json_ json_t *body = json_loads(create->body, 0, NULL);
    assert_non_null(body);
    assert_string_equal(dv_renv_str(body, "Image"), IMG);
    json_t *labels = json_object_get(body, "Labels");
    assert_string_equal(dv_renv_str(labels, DV_LABEL_TASK_ID), id);
    assert_string_equal(dv_renv_str(labels, DV_LABEL_NODE_ID), DV_RENV_NODE);

    dv_task *t = dv_renv_task(e, id);
    assert_string_equal(t->container_id, CID);
    assert_string_equal(t->image_id, IMG);
    assert_string_equal(t->ip, "172.17.0.9");
    /* what the observers heard, in order */
    assert_int_equal(dv_renv_heard(e, "event", id, "Received", NULL), 1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Started", "c1c1c1c1c1c1"), 1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Driver", "Downloading"), 0);
    int64_t pulling = dv_renv_heard_time(e, "state", id, "pulling", NULL);
    int64_t starting = dv_renv_heard_time(e, "state", id, "starting", NULL);
    int64_t running = dv_renv_heard_time(e, "state", id, "running", NULL);
    assert_true(pulling > 0 && pulling <= starting && starting <= running);
    /* the record on disk */
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_non_null(rec);
    assert_string_equal(dv_renv_str(rec, "state"), "running");
    assert_string_equal(dv_renv_str(rec, "desired"), "running");
    assert_string_equal(dv_renv_str(rec, "container_id"), CID);
    assert_string_equal(dv_renv_str(rec, "image_id"), IMG);
}

static void test_start_with_a_pull(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    dv_task *t = dv_renv_create(e, SPEC(""), id);
    dv_fake_reply(e->fake, "GET", "/images/app:1/json", 1, 404,
                  "{\"message\":\"No such image: app:1\"}");
    dv_fake_rule pull = {.method = "POST",
                         .path = "/images/create",
                         .times = 1,
                         .stream = "{\"status\":\"Pulling from library/app\",\"id\":\"1\"}\n"
                                   "{\"status\":\"Pulling fs layer\",\"id\":\"l1\"}\n"
                                   "{\"status\":\"Pull complete\",\"id\":\"l1\"}\n"
                                   "{\"status\":\"Status: Downloaded newer image for app:1\"}\n",
                         .piece = 40};
    dv_fake_add(e->fake, &pull);
    dv_fake_reply(e->fake, "GET", "/images/app:1/json", 0, 200, "{\"Id\":\"" IMG "\"}");
    dv_renv_container(e, CID, id);
    dv_renv_start(e, t);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_RUNNING, 3000));
    assert_string_equal(dv_renv_calls(e),
                        "GET /images/app:1/json,POST /images/create,GET /images/app:1/json,"
                        "POST /containers/create,POST /containers/c1c1c1c1c1c1,"
                        "GET /containers/c1c1c1c1c1c1");
    const dv_fake_request *r = dv_fake_find(e->fake, "POST", "/images/create");
    assert_non_null(strstr(r->query, "fromImage=app"));
    assert_non_null(strstr(r->query, "tag=1"));
    assert_int_equal(dv_renv_heard(e, "event", id, "Driver", "Downloading image app:1"), 1);
    assert_true(dv_renv_heard(e, "event", id, "progress", "app:1") >= 1); /* transient */
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_string_equal(dv_renv_str(rec, "state"), "running");
    assert_string_equal(dv_renv_str(rec, "image_id"), IMG);
}

/* A job's Docker calls wait for the records saved before it was submitted: with
 * the record writer's fsync held, the start's first Engine call is not made and
 * the loop goes on (the task is pulling); once the fsync is let through, the
 * task starts. Without the wait (or with saves on the loop, which the held sync
 * does not hold) the Engine would be called at once. */
static void test_a_job_waits_for_the_records_saved_before_it(void **state)
{
    dv_renv *e = *state;
    dv_runtime *run = e->run;
    dv_record_writer_free(run->records); /* idle: nothing saved yet */
    dv_sync_gate_reset();
    assert_int_equal(dv_runner_records_new(run, dv_sync_gate_sync, NULL), 0);
    dv_sync_gate_hold(true);
    char id[DV_UUID_STRLEN + 1];
    dv_task *t = dv_renv_create(e, SPEC(""), id); /* "Received": saved, held */
    dv_renv_happy(e, CID, id);
    dv_renv_start(e, t); /* pulling: saved, held; the IMAGE job submitted */
    assert_true(dv_sync_gate_wait_held(3000));
    dv_renv_sleep(e, 300);
    assert_string_equal(dv_renv_calls(e), "");
    assert_int_equal(dv_renv_task(e, id)->state, DV_TASK_PULLING);
    assert_false(dv_sync_gate_overdue());
    dv_sync_gate_hold(false);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_RUNNING, 3000));
    assert_string_equal(dv_renv_calls(e), "GET /images/app:1/json,POST /containers/create,"
                                          "POST /containers/c1c1c1c1c1c1,"
                                          "GET /containers/c1c1c1c1c1c1");
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_string_equal(dv_renv_str(rec, "state"), "running");
}

/* ---- stops ---- */

static bool running_in_cid2(dv_renv *e, const void *id)
{
    dv_task *t = dv_renv_task(e, id);
    return t && t->state == DV_TASK_RUNNING && t->container_id &&
           strcmp(t->container_id, CID2) == 0;
}

/* The query of the I-th recorded request. */
static const char *query_at(dv_renv *e, long i)
{
    assert_true(i >= 0);
    return dv_fake_request_at(e->fake, (size_t)i)->query;
}

/* Stop task ID (container CID) as the API does, with TIMEOUT_NS (-1: the spec's)
 * and SIGNAL (NULL: the spec's); the confirm finds it exited. Returns the index
 * of the first request the stop sent. */
static size_t stop_task(dv_renv *e, const char *id, const char *cid, int64_t timeout_ns,
                        const char *signal)
{
    dv_renv_inspect_exited(e, cid, id, 143, false);
    size_t before = dv_fake_request_count(e->fake);
    assert_int_equal(dv_renv_feed(e, id, DV_TE_STOP, timeout_ns, signal, false), 0);
    if (!dv_renv_wait_state(e, id, DV_TASK_STOPPED, 3000))
        fail_msg("not stopped: %s; Engine saw %s", dv_task_state_name(dv_renv_task(e, id)->state),
                 dv_renv_calls(e));
    return before;
}

/* The operator's restart of a stopped task: a new container CID, running. */
static void restart_task(dv_renv *e, const char *id, const char *cid)
{
    dv_renv_container(e, cid, id);
    assert_int_equal(dv_renv_feed(e, id, DV_TE_RESTART, -1, NULL, false), 0);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_RUNNING, 3000));
}

static void test_stop_with_kill_signal_then_kill_timeout(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(",\"kill_signal\":\"SIGUSR1\",\"kill_timeout\":\"300ms\""), CID, id);
    size_t from = stop_task(e, id, CID, -1, NULL);
    /* the spec's signal first; the Engine's stop (at once) only after kill_timeout */
    long kill = dv_renv_request_index(e, "POST", "/containers/" CID "/kill", from);
    long stop = dv_renv_request_index(e, "POST", "/containers/" CID "/stop", from);
    assert_true(kill >= 0 && stop > kill);
    assert_string_equal(query_at(e, kill), "signal=SIGUSR1");
    assert_string_equal(query_at(e, stop), "t=0");
    int64_t signalled =
        dv_renv_heard_time(e, "event", id, "Killing", "sending SIGUSR1, stopping after 300ms");
    int64_t escalated = dv_renv_heard_time(e, "event", id, "Killing", "still running 300ms");
    assert_true(signalled > 0 && escalated > 0);
    assert_true(escalated - signalled >= 300 * MS);
    assert_true(escalated - signalled < 2000 * MS);
    assert_int_equal(dv_renv_heard(e, "event", id, "Killed", NULL), 1);
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_string_equal(dv_renv_str(rec, "state"), "stopped");
    assert_string_equal(dv_renv_str(rec, "desired"), "stopped");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "exit"), "exit_code")),
                     143);
}

static bool start_sent(dv_renv *e, const void *arg)
{
    (void)arg;
    return dv_fake_find(e->fake, "POST", "/containers/" CID "/start") != NULL;
}

static bool kill_sent(dv_renv *e, const void *arg)
{
    (void)arg;
    return dv_fake_find(e->fake, "POST", "/containers/" CID "/kill") != NULL;
}

/* A container that ends on the signal: its die event ends the stop, no Engine stop. */
static void test_stop_with_kill_signal_that_ends_it(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(",\"kill_signal\":\"SIGINT\",\"kill_timeout\":\"5s\""), CID, id);
    assert_int_equal(dv_renv_feed(e, id, DV_TE_STOP, -1, NULL, false), 0);
    assert_true(dv_renv_wait(e, kill_sent, NULL, 3000));
    assert_string_equal(dv_fake_find(e->fake, "POST", "/containers/" CID "/kill")->query,
                        "signal=SIGINT");
    dv_renv_inspect_exited(e, CID, id, 130, false);
    dv_renv_sleep(e, 20); /* the kill's result is in: the kill_timeout runs */
    dv_renv_engine_event(e, "die", CID, id);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_STOPPED, 2000));
    assert_null(dv_fake_find(e->fake, "POST", "/containers/" CID "/stop"));
    assert_int_equal(dv_renv_task(e, id)->exit.exit_code, 130);
    assert_int_equal(dv_renv_task(e, id)->exit.signal, 2);
}

/* An API stop's own timeout and signal win over the spec's; max_kill_timeout
 * caps both. */
static void test_stop_timeouts_and_max_kill_timeout(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(",\"kill_timeout\":\"7s\""), CID, id);
    size_t from = stop_task(e, id, CID, 3 * DV_NSEC_PER_SEC, NULL);
    assert_string_equal(
        query_at(e, dv_renv_request_index(e, "POST", "/containers/" CID "/stop", from)), "t=3");
    assert_int_equal(dv_renv_heard(e, "event", id, "Killing", "timeout 3s"), 1);
    assert_int_equal(dv_renv_request_index(e, "POST", "/containers/" CID "/kill", 0), -1);

    restart_task(e, id, CID);
    from = stop_task(e, id, CID, -1, NULL); /* the spec's */
    assert_string_equal(
        query_at(e, dv_renv_request_index(e, "POST", "/containers/" CID "/stop", from)), "t=7");

    e->tr->config.max_kill_timeout_ns = 2 * DV_NSEC_PER_SEC;
    restart_task(e, id, CID);
    from = stop_task(e, id, CID, -1, NULL);
    assert_string_equal(
        query_at(e, dv_renv_request_index(e, "POST", "/containers/" CID "/stop", from)), "t=2");
    restart_task(e, id, CID);
    from = stop_task(e, id, CID, 10 * DV_NSEC_PER_SEC, NULL);
    assert_string_equal(
        query_at(e, dv_renv_request_index(e, "POST", "/containers/" CID "/stop", from)), "t=2");
    assert_int_equal(dv_renv_heard(e, "event", id, "Killing", "timeout 2s"), 2);
    /* an API stop's signal, capped the same way */
    restart_task(e, id, CID);
    e->tr->config.max_kill_timeout_ns = 200 * MS;
    from = stop_task(e, id, CID, 10 * DV_NSEC_PER_SEC, "SIGHUP");
    long kill = dv_renv_request_index(e, "POST", "/containers/" CID "/kill", from);
    assert_string_equal(query_at(e, kill), "signal=SIGHUP");
    assert_string_equal(
        query_at(e, dv_renv_request_index(e, "POST", "/containers/" CID "/stop", (size_t)kill)),
        "t=0");
    int64_t signalled =
        dv_renv_heard_time(e, "event", id, "Killing", "sending SIGHUP, stopping after 200ms");
    int64_t escalated = dv_renv_heard_time(e, "event", id, "Killing", "still running 200ms");
    assert_true(signalled > 0 && escalated - signalled >= 200 * MS);
    assert_true(escalated - signalled < 2000 * MS); /* not the 10s asked for */
}

/* An operator restart stops the container first: with the spec's kill_timeout,
 * capped by max_kill_timeout as every stop is. */
static void test_restart_is_capped_by_max_kill_timeout(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(",\"kill_timeout\":\"7s\""), CID, id);
    e->tr->config.max_kill_timeout_ns = 2 * DV_NSEC_PER_SEC;
    dv_renv_inspect_exited(e, CID, id, 143, false);
    dv_renv_container(e, CID2, id);
    assert_int_equal(dv_renv_feed(e, id, DV_TE_RESTART, -1, NULL, false), 0);
    assert_true(dv_renv_wait(e, running_in_cid2, id, 3000));
    assert_int_equal(dv_renv_heard(e, "event", id, "Restart Signaled", NULL), 1);
    const char *q = dv_fake_find(e->fake, "POST", "/containers/" CID "/stop")->query;
    assert_string_equal(q, "t=2");
}

/* An API stop with its own timeout and signal while the container is still
 * being started: once it has started, it is stopped the way that stop asked. */
static void test_stop_while_starting_keeps_its_timeout_and_signal(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    dv_task *t = dv_renv_create(e, SPEC(",\"kill_timeout\":\"7s\""), id);
    dv_renv_happy(e, CID, id);
    dv_fake_rule slow_start = {
        .method = "POST", .path = "/containers/" CID "/start", .status = 204, .delay_ms = 200};
    dv_fake_replace_rule(e->fake, &slow_start);
    dv_renv_start(e, t);
    assert_true(dv_renv_wait(e, start_sent, NULL, 3000));
    assert_int_equal(dv_renv_task(e, id)->state, DV_TASK_STARTING);
    /* what the stop's confirm finds (the start's inspect too: it is stopped anyway) */
    dv_renv_inspect_exited(e, CID, id, 143, false);
    assert_int_equal(dv_renv_feed(e, id, DV_TE_STOP, 2 * DV_NSEC_PER_SEC, NULL, false), 0);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_STOPPED, 3000));
    const char *q = dv_fake_find(e->fake, "POST", "/containers/" CID "/stop")->query;
    assert_string_equal(q, "t=2");
}

/* ---- the restart policy ---- */

/* The monotonic times of task ID's notes of KIND (state, event) named NAME, in
 * order (at most N). */
static size_t note_times(dv_renv *e, const char *kind, const char *id, const char *name,
                         int64_t *ret, size_t n)
{
    size_t k = 0, i;
    json_t *note;
    const char *key = strcmp(kind, "state") == 0 ? "state" : "type";
    json_array_foreach(e->heard, i, note)
    {
        if (k < n && strcmp(dv_renv_str(note, "kind"), kind) == 0 &&
            strcmp(dv_renv_str(note, "task"), id) == 0 && strcmp(dv_renv_str(note, key), name) == 0)
            ret[k++] = json_integer_value(json_object_get(note, "t_ns"));
    }
    return k;
}

static void test_restart_mode_fail(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e,
             SPEC(",\"restart\":{\"attempts\":2,\"interval\":\"5s\",\"delay\":\"100ms\","
                  "\"mode\":\"fail\"}"),
             CID, id);
    /* It exits with 3; every container after it exits at once too. */
    dv_renv_inspect_exited(e, CID, id, 3, false);
    dv_fake_replace(e->fake, "POST", "/containers/create", 201, "{\"Id\":\"" CID "\"}");
    dv_renv_engine_event(e, "die", CID, id);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_FAILED, 3000));
    assert_int_equal(dv_fake_count(e->fake, "POST", "/containers/create"), 3);
    /* each restart removes the container before */
    assert_int_equal(dv_fake_count(e->fake, "DELETE", "/containers/" CID), 2);
    assert_int_equal(dv_renv_heard(e, "event", id, "Restarting", "exit code 3: restarting in"), 2);
    assert_int_equal(
        dv_renv_heard(e, "event", id, "Not Restarting",
                      "exceeded allowed attempts 2 in interval 5s and mode is \"fail\""),
        1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Terminated", "exit code 3"), 3);
    /* the delay is honoured: from the verdict (its event comes before the timer is
     * armed) to the next fetch at least 100ms (at most 125ms + scheduling) */
    int64_t waits[4], pulls[4];
    assert_int_equal(note_times(e, "event", id, "Restarting", waits, 4), 2);
    assert_int_equal(note_times(e, "state", id, "pulling", pulls, 4), 3);
    for (int i = 0; i < 2; i++) {
        assert_true(pulls[i + 1] - waits[i] >= 100 * MS);
        assert_true(pulls[i + 1] - waits[i] < 1000 * MS);
    }
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_string_equal(dv_renv_str(rec, "state"), "failed");
    json_t *tracker = json_object_get(rec, "restart_tracker");
    assert_int_equal(json_integer_value(json_object_get(tracker, "total")), 2);
    assert_int_equal(json_integer_value(json_object_get(tracker, "count")), 3); /* failures */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "exit"), "exit_code")),
                     3);
}

static bool heard_delay_verdict(dv_renv *e, const void *id)
{
    return dv_renv_heard(e, "event", id, "Restarting", "mode is \"delay\"") > 0;
}

static bool created_thrice(dv_renv *e, const void *arg)
{
    (void)arg;
    return dv_fake_count(e->fake, "POST", "/containers/create") >= 3;
}

/* Attempts spent in mode delay: no failure, the rest of the interval is waited out. */
static void test_restart_mode_delay(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e,
             SPEC(",\"restart\":{\"attempts\":1,\"interval\":\"5s\",\"delay\":\"100ms\","
                  "\"mode\":\"delay\"}"),
             CID, id);
    /* The spec's interval is at least 5s; the state machine takes the task's. */
    dv_renv_task(e, id)->restart_policy.interval_ns = 600 * MS;
    dv_renv_inspect_exited(e, CID, id, 1, false);
    dv_fake_replace(e->fake, "POST", "/containers/create", 201, "{\"Id\":\"" CID "\"}");
    dv_renv_engine_event(e, "die", CID, id);
    assert_true(dv_renv_wait(e, heard_delay_verdict, id, 3000));
    assert_true(dv_renv_wait(e, created_thrice, NULL, 3000));
    assert_int_equal(dv_renv_heard(e, "state", id, "failed", NULL), 0);
    int64_t waits[4], pulls[4];
    assert_true(note_times(e, "event", id, "Restarting", waits, 4) >= 2);
    assert_true(note_times(e, "state", id, "pulling", pulls, 4) >= 3);
    /* the first restart after the delay; the next one only once the 600ms window
     * that began with the first exit is over */
    assert_true(pulls[1] - waits[0] >= 100 * MS);
    assert_true(pulls[2] - waits[0] >= 550 * MS);
    assert_int_equal(dv_renv_heard(e, "event", id, "Not Restarting", NULL), 0);
}

/* A batch-like task: exit 0 completes it, whatever attempts are left. */
static void test_exit_zero_completes(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e,
             SPEC(",\"restart\":{\"attempts\":3,\"interval\":\"5s\",\"delay\":\"100ms\","
                  "\"mode\":\"fail\"}"),
             CID, id);
    dv_renv_inspect_exited(e, CID, id, 0, false);
    dv_renv_engine_event(e, "die", CID, id);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_EXITED, 2000));
    dv_renv_sleep(e, 150); /* no restart comes */
    assert_int_equal(dv_renv_task(e, id)->state, DV_TASK_EXITED);
    assert_int_equal(dv_fake_count(e->fake, "POST", "/containers/create"), 1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Completed", NULL), 1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Terminated", "exited successfully"), 1);
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_string_equal(dv_renv_str(rec, "state"), "exited");
    assert_true(json_is_true(json_object_get(json_object_get(rec, "exit"), "valid")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "exit"), "exit_code")),
                     0);
}

/* ---- OOM ---- */

#define NO_RESTART ",\"restart\":{\"attempts\":0,\"interval\":\"5s\",\"delay\":\"0s\"}"

/* Docker's "oom" event before the exit: the exit is an OOM kill even though
 * inspect does not say so (cgroup v2 races). */
static void test_oom_event_before_the_exit(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(NO_RESTART), CID, id);
    dv_renv_engine_event(e, "oom", CID, id);
    assert_int_equal(dv_renv_heard(e, "event", id, "OOM", "ran out of memory"), 1);
    dv_renv_inspect_exited(e, CID, id, 137, false);
    dv_renv_engine_event(e, "die", CID, id);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_FAILED, 2000));
    assert_true(dv_renv_task(e, id)->exit.oom_killed);
    assert_int_equal(dv_renv_heard(e, "event", id, "Terminated", "ran out of memory"), 1);
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_true(json_is_true(json_object_get(json_object_get(rec, "exit"), "oom_killed")));
}

/* ... and after it: the recorded exit is mended ("OOM Killed"), the record too. */
static void test_oom_event_after_the_exit(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(NO_RESTART), CID, id);
    dv_renv_inspect_exited(e, CID, id, 137, false);
    dv_renv_engine_event(e, "die", CID, id);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_FAILED, 2000));
    assert_false(dv_renv_task(e, id)->exit.oom_killed);
    assert_int_equal(dv_renv_heard(e, "event", id, "Terminated", "ran out of memory"), 0);
    dv_renv_engine_event(e, "oom", CID, id);
    assert_true(dv_renv_task(e, id)->exit.oom_killed);
    assert_int_equal(dv_renv_heard(e, "event", id, "OOM Killed", "after its exit"), 1);
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_true(json_is_true(json_object_get(json_object_get(rec, "exit"), "oom_killed")));
    /* Docker's own OOMKilled is taken as it is */
    char id2[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(NO_RESTART), CID, id2);
    dv_renv_inspect_exited(e, CID, id2, 137, true);
    dv_renv_engine_event(e, "die", CID, id2);
    assert_true(dv_renv_wait_state(e, id2, DV_TASK_FAILED, 2000));
    assert_true(dv_renv_task(e, id2)->exit.oom_killed);
}

/* A container killed for memory at once: Docker's "oom" (and "die") come while
 * the start job is still out, before the runner has learnt the container's id.
 * The die is remembered for that case (die_seen); the oom should be too. */
static void test_oom_event_while_starting(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    dv_task *t = dv_renv_create(e, SPEC(NO_RESTART), id);
    dv_renv_happy(e, CID, id);
    dv_fake_rule slow_start = {
        .method = "POST", .path = "/containers/" CID "/start", .status = 204, .delay_ms = 300};
    dv_fake_replace_rule(e->fake, &slow_start);
    dv_renv_inspect_exited(e, CID, id, 137, false); /* cgroup v2: OOMKilled not set */
    dv_renv_start(e, t);
    assert_true(dv_renv_wait(e, start_sent, NULL, 3000));
    assert_int_equal(dv_renv_task(e, id)->state, DV_TASK_STARTING);
    dv_renv_engine_event(e, "oom", CID, id);
    dv_renv_engine_event(e, "die", CID, id);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_FAILED, 3000));
    assert_true(dv_renv_task(e, id)->exit.oom_killed);
    assert_int_equal(dv_renv_heard(e, "event", id, "Terminated", "ran out of memory"), 1);
}

/* ---- failed pulls, no Engine ---- */

static void test_pull_refused_by_the_registry(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    dv_task *t = dv_renv_create(e, SPEC(""), id); /* default policy: 2 attempts */
    dv_fake_reply(e->fake, "GET", "/images/app:1/json", 0, 404,
                  "{\"message\":\"No such image: app:1\"}");
    dv_fake_reply(e->fake, "POST", "/images/create", 0, 404,
                  "{\"message\":\"pull access denied for app, repository does not exist or may "
                  "require 'docker login'\"}");
    dv_renv_start(e, t);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_FAILED, 3000));
    assert_int_equal(dv_fake_count(e->fake, "POST", "/images/create"), 1); /* final: no retry */
    assert_int_equal(dv_fake_count(e->fake, "POST", "/containers/create"), 0);
    assert_int_equal(dv_renv_heard(e, "event", id, "Driver Failure", "failed to pull `app:1`"), 1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Driver Failure", "pull access denied"), 1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Not Restarting", "unrecoverable"), 1);
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_string_equal(dv_renv_str(rec, "state"), "failed");
}

/* A registry's 500 may pass: the restart policy decides. */
static void test_pull_500_is_restarted_then_fails(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    dv_task *t = dv_renv_create(
        e, SPEC(",\"restart\":{\"attempts\":1,\"interval\":\"5s\",\"delay\":\"50ms\"}"), id);
    dv_fake_reply(e->fake, "GET", "/images/app:1/json", 0, 404,
                  "{\"message\":\"No such image: app:1\"}");
    dv_fake_reply(e->fake, "POST", "/images/create", 0, 500,
                  "{\"message\":\"Get \\\"https://registry-1.docker.io/v2/\\\": net/http: TLS "
                  "handshake timeout\"}");
    dv_renv_start(e, t);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_FAILED, 3000));
    assert_int_equal(dv_fake_count(e->fake, "POST", "/images/create"), 2);
    assert_int_equal(dv_renv_heard(e, "event", id, "Driver Failure", "failed to pull `app:1`"), 2);
    assert_int_equal(dv_renv_heard(e, "event", id, "Restarting", "start failed"), 1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Not Restarting", "exceeded allowed attempts"),
                     1);
}

static bool pull_started(dv_renv *e, const void *arg)
{
    (void)arg;
    return dv_fake_find(e->fake, "POST", "/images/create") != NULL;
}

static bool waiting(dv_renv *e, const void *id)
{
    dv_task *t = dv_renv_task(e, id);
    return t && t->waiting;
}

/* No Engine at all (the connection dropped without an answer): the task waits
 * in its state rather than failing, and goes on once the Engine is back. */
static void test_unreachable_engine_makes_the_task_wait(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    dv_task *t = dv_renv_create(e, SPEC(NO_RESTART), id);
    dv_fake_rule drop = {.method = "GET", .path = "/images/app:1/json", .drop = true};
    dv_fake_add(e->fake, &drop);
    dv_renv_start(e, t);
    assert_true(dv_renv_wait(e, waiting, id, 3000));
    t = dv_renv_task(e, id);
    assert_int_equal(t->state, DV_TASK_PULLING);
    assert_non_null(strstr(t->waiting, "Docker Engine unreachable"));
    assert_int_equal(dv_renv_heard(e, "event", id, "Engine Unreachable", NULL), 1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Driver Failure", NULL), 0);
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_string_equal(dv_renv_str(rec, "state"), "pulling");
    /* back: the wait ends at once, not after its backoff */
    dv_renv_happy(e, CID, id);
    dv_runner_engine_back(e->run);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_RUNNING, 900));
    assert_null(dv_renv_task(e, id)->waiting);
    assert_int_equal(dv_renv_heard(e, "event", id, "Engine Reachable", NULL), 1);
}

/* ---- destroy ---- */

static void test_destroy(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(""), CID, id);
    /* running: only with force */
    assert_int_equal(dv_renv_feed(e, id, DV_TE_DESTROY, -1, NULL, false), -EBUSY);
    stop_task(e, id, CID, -1, NULL);
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tasks/%s", e->tr->dir, id);
    assert_int_equal(access(dir, F_OK), 0);
    size_t from = dv_fake_request_count(e->fake);
    assert_int_equal(dv_renv_feed(e, id, DV_TE_DESTROY, -1, NULL, false), 0);
    assert_true(dv_renv_wait(e, dv_renv_gone, id, 3000));
    /* One call: the container has ended (no stop), is the task's own (its start
     * made it: no inspect for ownership), and the remove is forced. */
    long del = dv_renv_request_index(e, "DELETE", "/containers/" CID, from);
    assert_int_equal(del, (long)from);
    assert_int_equal(dv_fake_request_count(e->fake), from + 1);
    assert_string_equal(query_at(e, del), "force=1&v=1");
    assert_int_equal(dv_renv_heard(e, "gone", id, "destroyed", NULL), 1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Destroyed", "the task is gone"), 1);
    assert_int_equal(dv_renv_heard(e, "destroy_failed", id, NULL, NULL), 0);
    json_t *rec = dv_renv_record(e, id);
    assert_null(rec);
    assert_int_equal(access(dir, F_OK), -1);
}

static void test_destroy_refused_by_the_engine(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(""), CID, id);
    stop_task(e, id, CID, -1, NULL);
    dv_fake_replace(e->fake, "DELETE", "/containers/" CID, 500,
                    "{\"message\":\"driver \\\"overlay2\\\" failed to remove root filesystem\"}");
    assert_int_equal(dv_renv_feed(e, id, DV_TE_DESTROY, -1, NULL, false), 0);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_FAILED, 3000));
    assert_int_equal(dv_renv_heard(e, "destroy_failed", id, "answered", "failed to remove root"),
                     1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Destroy Failed", "failed to remove root"), 1);
    assert_int_equal(dv_renv_heard(e, "gone", id, NULL, NULL), 0);
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_non_null(rec);
    assert_string_equal(dv_renv_str(rec, "state"), "failed");
}

/* No Engine during a destroy: whoever waits hears why (destroy_failed, the
 * Engine unreachable), the task stays destroying and waits; once the Engine is
 * back the destroy is carried out. */
static void test_destroy_waits_for_the_engine(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(""), CID, id);
    stop_task(e, id, CID, -1, NULL);
    dv_fake_rule drop = {.method = "DELETE", .path = "/containers/" CID, .drop = true};
    dv_fake_replace_rule(e->fake, &drop);
    assert_int_equal(dv_renv_feed(e, id, DV_TE_DESTROY, -1, NULL, false), 0);
    assert_true(dv_renv_wait(e, waiting, id, 3000));
    dv_task *t = dv_renv_task(e, id);
    assert_int_equal(t->state, DV_TASK_DESTROYING);
    assert_int_equal(dv_renv_heard(e, "destroy_failed", id, "unreachable", NULL), 1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Destroy Failed", NULL), 0);
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_string_equal(dv_renv_str(rec, "state"), "destroying");
    dv_fake_replace(e->fake, "DELETE", "/containers/" CID, 204, NULL);
    dv_runner_engine_back(e->run);
    assert_true(dv_renv_wait(e, dv_renv_gone, id, 900)); /* at once, not after the backoff */
    assert_int_equal(dv_renv_heard(e, "gone", id, "destroyed", NULL), 1);
    json_t *gone = dv_renv_record(e, id);
    assert_null(gone);
}

/* Task ID (created here) is started and its image is not there: the registry is
 * slow, the pull is under way and has nothing to say yet. */
static void start_a_hanging_pull(dv_renv *e, char id[DV_UUID_STRLEN + 1])
{
    dv_task *t = dv_renv_create(e, SPEC(""), id);
    dv_fake_reply(e->fake, "GET", "/images/app:1/json", 0, 404,
                  "{\"message\":\"No such image: app:1\"}");
    dv_fake_rule pull = {.method = "POST", .path = "/images/create", .hang = true};
    dv_fake_add(e->fake, &pull);
    dv_renv_start(e, t);
    assert_true(dv_renv_wait(e, pull_started, NULL, 3000));
}

/* A stop while the image is still being fetched: the fetch is called off (its
 * pull cancelled), nothing is created, the task is stopped and stays so. */
static void test_stop_while_pulling(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    start_a_hanging_pull(e, id);
    assert_int_equal(dv_renv_feed(e, id, DV_TE_STOP, -1, NULL, false), 0);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_STOPPED, 2000));
    assert_int_equal(dv_fake_count(e->fake, "POST", "/containers/create"), 0);
    assert_int_equal(dv_renv_heard(e, "event", id, "Stopped", NULL), 1);
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_string_equal(dv_renv_str(rec, "state"), "stopped");
    assert_string_equal(dv_renv_str(rec, "desired"), "stopped");
}

/* ---- a stop during an Engine outage ---- */

/* What the agent does when the Engine's event stream breaks and comes back
 * (agent.c: on_engine_broken, on_engine_resync). */
static void engine_broken(dv_renv *e)
{
    e->run->engine_stream_ok = false;
    e->run->engine_stream_down = true;
    dv_runner_engine_lost(e->run, dv_realtime_ns());
}

static void engine_back(dv_renv *e)
{
    e->run->engine_stream_ok = true;
    e->run->engine_stream_down = false;
    dv_runner_resync(e->run);
    dv_runner_engine_back(e->run);
}

static void engine_drops(dv_renv *e, const char *method, const char *path)
{
    dv_fake_rule drop = {.method = method, .path = path, .drop = true};
    dv_fake_replace_rule(e->fake, &drop);
}

static size_t inspects_before;
static bool stop_waits(dv_renv *e, const void *id)
{
    dv_task *t = dv_renv_task(e, id);
    /* the stop met no Engine, and neither did the confirm after it */
    return t && t->waiting &&
           dv_fake_count(e->fake, "GET", "/containers/" CID "/json") > inspects_before;
}

static size_t kills_before;
static bool killed_again(dv_renv *e, const void *arg)
{
    (void)arg;
    return dv_fake_count(e->fake, "POST", "/containers/" CID "/kill") > kills_before;
}

/* A stop that never reached the Engine: the task stays stopping and says why;
 * when the Engine is back and the container rode the outage out (live restore),
 * the stop is given then, with the signal and timeout it was asked with. */
static void test_stop_during_an_outage_is_given_once_the_engine_is_back(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    e->run->engine_stream_ok = true;
    run_task(e, SPEC(",\"kill_signal\":\"SIGUSR1\",\"kill_timeout\":\"200ms\""), CID, id);
    size_t inspects = inspects_before = dv_fake_count(e->fake, "GET", "/containers/" CID "/json");
    engine_broken(e);
    engine_drops(e, "GET", "/containers/" CID "/json");
    engine_drops(e, "POST", "/containers/" CID "/kill");
    engine_drops(e, "POST", "/containers/" CID "/stop");
    assert_int_equal(dv_renv_feed(e, id, DV_TE_STOP, -1, NULL, false), 0);
    assert_true(dv_renv_wait(e, stop_waits, id, 3000));
    dv_renv_sleep(e, 50); /* nothing more is tried while the Engine is away */
    /* the confirm only: the task's own container is not inspected for ownership */
    assert_int_equal(dv_fake_count(e->fake, "GET", "/containers/" CID "/json"), inspects + 1);

    dv_task *t = dv_renv_task(e, id);
    assert_int_equal(t->state, DV_TASK_STOPPING);
    assert_non_null(strstr(t->waiting, "the stop is confirmed once it answers again"));
    assert_int_equal(dv_renv_heard(e, "event", id, "Engine Unreachable", "the stop is confirmed"),
                     1);
    /* the kill was tried (and met no Engine) */
    assert_int_equal(dv_fake_count(e->fake, "POST", "/containers/" CID "/kill"), 1);

    /* back, and the container still runs */
    dv_renv_inspect_running(e, CID, id);
    dv_renv_container_ops(e, CID);
    kills_before = 1;
    engine_back(e);
    assert_true(dv_renv_wait(e, killed_again, NULL, 2000));
    assert_string_equal(dv_fake_find(e->fake, "POST", "/containers/" CID "/kill")->query,
                        "signal=SIGUSR1");
    assert_int_equal(dv_renv_heard(e, "event", id, "Killing", "the container still runs"), 1);
    dv_renv_inspect_exited(e, CID, id, 143, false);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_STOPPED, 2000));
    /* after the kill, the kill_timeout, then the Engine's stop */
    assert_string_equal(dv_fake_find(e->fake, "POST", "/containers/" CID "/stop")->query, "t=0");
    assert_null(dv_renv_task(e, id)->waiting);
    _cleanup_json_ json_t *rec = dv_renv_record(e, id);
    assert_string_equal(dv_renv_str(rec, "state"), "stopped");
}

static bool running_with_a_restart(dv_renv *e, const void *id)
{
    dv_task *t = dv_renv_task(e, id);
    return t && t->state == DV_TASK_RUNNING && t->restarts.total == 1 && t->container_id &&
           strcmp(t->container_id, CID2) == 0;
}

/* The Engine went away and took the container with it (no live restore): the
 * exit found once it is back is the outage's, and the task starts again without
 * spending its restart policy (it has no attempts at all). */
static void test_exit_during_an_outage_does_not_spend_attempts(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    e->run->engine_stream_ok = true;
    run_task(e, SPEC(NO_RESTART), CID, id);
    engine_broken(e);
    /* it ended just now (dv_renv_inspect_exited's FinishedAt is long past) */
    char now[64], body[1024];
    time_t secs = time(NULL);
    struct tm tm;
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&secs, &tm));
    snprintf(body, sizeof(body),
             "{\"Id\":\"" CID "\",\"State\":{\"Running\":false,\"ExitCode\":143,"
             "\"FinishedAt\":\"%s\"},\"Config\":{\"Labels\":{\"" DV_LABEL_NODE_ID
             "\":\"" DV_RENV_NODE "\",\"" DV_LABEL_TASK_ID "\":\"%s\"}}}",
             now, id);
    dv_fake_replace(e->fake, "GET", "/containers/" CID "/json", 200, body);
    dv_renv_container(e, CID2, id); /* the new container, running */
    engine_back(e);
    assert_true(dv_renv_wait(e, running_with_a_restart, id, 2000));
    assert_int_equal(dv_renv_heard(e, "event", id, "Restarting", "Docker Engine going down"), 1);
    dv_task *t = dv_renv_task(e, id);
    assert_int_equal(t->restarts.count, 0);
    assert_int_equal(dv_renv_heard(e, "event", id, "Not Restarting", NULL), 0);
    assert_int_equal(dv_fake_count(e->fake, "POST", "/containers/create"), 2);
}

/* A stop finds that the container the record names is not the task's (its
 * labels say another task): nothing is sent to it, the record is set aside, the
 * task leaves the table and the observers hear why. */
static void test_foreign_container_found_by_a_stop(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(""), CID, id);
    /* Docker never changes a container's labels: a task's container turns out
     * foreign only when its ownership was never confirmed, as for a record recovered
     * while the Engine could not say (the start confirmed this one). */
    dv_rt(dv_renv_task(e, id))->owned_container[0] = '\0';
    dv_renv_inspect_running(e, CID, "079a6c4f-aaaa-4bbb-8ccc-dddddddddddd");
    assert_int_equal(dv_renv_feed(e, id, DV_TE_STOP, -1, NULL, false), 0);
    assert_true(dv_renv_wait(e, dv_renv_gone, id, 2000));
    assert_int_equal(dv_renv_heard(e, "gone", id, "set aside", "is not this agent's"), 1);
    assert_int_equal(dv_renv_heard(e, "event", id, "Set Aside", NULL), 1);
    assert_int_equal(dv_fake_count(e->fake, "POST", "/containers/" CID "/stop"), 0);
    assert_int_equal(dv_fake_count(e->fake, "POST", "/containers/" CID "/kill"), 0);
    assert_int_equal(dv_fake_count(e->fake, "DELETE", "/containers/" CID), 0);
    assert_true(dv_state_store_is_quarantined(e->run->store, id));
    json_t *rec = dv_renv_record(e, id);
    assert_null(rec);
}

/* A forced destroy while the image is being pulled: the pull is called off and
 * the task goes, with nothing created. */
static void test_forced_destroy_while_pulling(void **state)
{
    dv_renv *e = *state;
    char id[DV_UUID_STRLEN + 1];
    start_a_hanging_pull(e, id);
    assert_int_equal(dv_renv_feed(e, id, DV_TE_DESTROY, -1, NULL, false), -EBUSY);
    assert_int_equal(dv_renv_feed(e, id, DV_TE_DESTROY, -1, NULL, true), 0);
    assert_true(dv_renv_wait(e, dv_renv_gone, id, 2000));
    assert_int_equal(dv_renv_heard(e, "gone", id, "destroyed", NULL), 1);
    assert_int_equal(dv_fake_count(e->fake, "POST", "/containers/create"), 0);
    json_t *rec = dv_renv_record(e, id);
    assert_null(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_with_the_image_present, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_start_with_a_pull, dv_renv_setup, dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_kill_signal_then_kill_timeout, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_kill_signal_that_ends_it, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_stop_timeouts_and_max_kill_timeout, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_restart_is_capped_by_max_kill_timeout, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_stop_while_starting_keeps_its_timeout_and_signal,
                                        dv_renv_setup, dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_restart_mode_fail, dv_renv_setup, dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_restart_mode_delay, dv_renv_setup, dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_exit_zero_completes, dv_renv_setup, dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_oom_event_before_the_exit, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_oom_event_after_the_exit, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_oom_event_while_starting, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_pull_refused_by_the_registry, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_pull_500_is_restarted_then_fails, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_engine_makes_the_task_wait, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_destroy, dv_renv_setup, dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_destroy_refused_by_the_engine, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_destroy_waits_for_the_engine, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_stop_while_pulling, dv_renv_setup, dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_stop_during_an_outage_is_given_once_the_engine_is_back,
                                        dv_renv_setup, dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_exit_during_an_outage_does_not_spend_attempts,
                                        dv_renv_setup, dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_foreign_container_found_by_a_stop, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_forced_destroy_while_pulling, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_a_job_waits_for_the_records_saved_before_it,
                                        dv_renv_setup, dv_renv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
