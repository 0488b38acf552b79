/* Recovery (dv_recovery_run) on a runtime over the fake Engine: records written
 * by the runner itself (dv_runner_save of tasks it created, as a previous agent
 * left them), the Engine's container list and inspects saying running, exited
 * or missing, and the rows of recovery_plan.c carried out through the state
 * machine: adopt, an exit while the agent was away (restart policy), a lost
 * container, a node reboot, an interrupted stop, a record naming a foreign
 * container (set aside into state/quarantine), an unreadable record, and a
 * container no record claims. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "labels.h"
#include "recovery.h"
#include "runner_env.h"
#include "task_table.h"
#include "test_support.h"

#define CID_A "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define CID_B "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
#define CID_C "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"
#define CID_D "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4"
#define CID_N "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5"
#define CID_X "f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6"
#define OTHER_NODE "5aa5a5a5-1111-4222-8333-444444444444"
#define OTHER_TASK "079a6c4f-aaaa-4bbb-8ccc-dddddddddddd"
#define SPEC(extra) "{\"name\":\"web\",\"config\":{\"image\":\"app:1\"}" extra "}"
#define NO_RESTART ",\"restart\":{\"attempts\":0,\"interval\":\"5s\",\"delay\":\"0s\"}"
#define MS DV_NSEC_PER_MSEC

/* A record as an agent that went away left it: task of SPEC in STATE (DESIRED),
 * naming container CID (NULL: none), a restart due at RESTART_DUE_NS (0: none);
 * the task is then out of the table (the agent is gone), its record and
 * directory stay. */
static void left_record_due(dv_renv *e, const char *spec, enum dv_task_state state,
                            enum dv_task_desired desired, const char *cid, int64_t restart_due_ns,
                            char id[DV_UUID_STRLEN + 1])
{
    dv_task *t = dv_renv_create(e, spec, id);
    t->restart_due_ns = restart_due_ns;
    t->state = state;
    t->desired = desired;
    dv_task_set_str(&t->image_id, DV_RENV_IMAGE);
    if (cid)
        dv_task_set_str(&t->container_id, cid);
    t->started_ns = dv_realtime_ns() - 60 * DV_NSEC_PER_SEC;
    dv_error err;
    assert_int_equal(dv_runner_save(e->run, t, &err), 0);
    dv_ports_release_task(e->run->ports, t->id);
    dv_task_table_remove(e->run->tasks, t, dv_runner_free_rt);
}

static void left_record(dv_renv *e, const char *spec, enum dv_task_state state,
                        enum dv_task_desired desired, const char *cid, char id[DV_UUID_STRLEN + 1])
{
    left_record_due(e, spec, state, desired, cid, 0, id);
}

/* The Engine's container list: {"Id","Names","State","Labels"} of CONTAINERS. */
static void engine_lists(dv_renv *e, json_t *containers)
{
    char *body = json_dumps(containers, 0);
    dv_fake_replace(e->fake, "GET", "/containers/json", 200, body);
    free(body);
    json_decref(containers);
}

static json_t *listed(const char *cid, const char *task_id, const char *state)
{
    char name[128];
    snprintf(name, sizeof(name), "/web-%s", task_id);
    json_int_t created = (json_int_t)(dv_realtime_ns() / DV_NSEC_PER_SEC) - 3600;
    return json_pack("{s:s,s:[s],s:s,s:I,s:{s:s,s:s}}", "Id", cid, "Names", name, "State", state,
                     "Created", created, "Labels", DV_LABEL_NODE_ID, DV_RENV_NODE, DV_LABEL_TASK_ID,
                     task_id);
}

/* The agent starts again on the same data dir. */
static void recover(dv_renv *e)
{
    json_array_clear(e->heard);
    dv_error err;
    if (dv_recovery_run(e->run, &err) < 0)
        fail_msg("recovery: %s", err.msg);
}

/* Requests that act on container CID (anything but GET). */
static size_t acted_on(dv_renv *e, const char *cid)
{
    char path[128];
    snprintf(path, sizeof(path), "/containers/%s", cid);
    return dv_fake_count(e->fake, "POST", path) + dv_fake_count(e->fake, "DELETE", path);
}

/* running + running: adopted as it is. running + exited: its exit recorded at
 * Docker's time and the policy applied. running + missing: lost. A container
 * of a task without a record is removed; an unreadable record is set aside. */
static void test_adopt_exited_lost_orphan(void **state)
{
    dv_renv *e = *state;
    char a[DV_UUID_STRLEN + 1], b[DV_UUID_STRLEN + 1], d[DV_UUID_STRLEN + 1];
    left_record(e, SPEC(NO_RESTART), DV_TASK_RUNNING, DV_DESIRED_RUNNING, CID_A, a);
    left_record(e, SPEC(NO_RESTART), DV_TASK_RUNNING, DV_DESIRED_RUNNING, CID_B, b);
    left_record(e, SPEC(NO_RESTART), DV_TASK_RUNNING, DV_DESIRED_RUNNING, CID_D, d);
    char bad[1024];
    snprintf(bad, sizeof(bad), "%s/state/tasks/%s.json", e->tr->dir, OTHER_TASK);
    dv_test_write_file(bad, "{\"version\":1,\"id\":");
    engine_lists(e, json_pack("[o,o,o]", listed(CID_A, a, "running"), listed(CID_B, b, "exited"),
                              listed(CID_N, "11111111-2222-4333-8444-555555555555", "running")));
    dv_renv_inspect_running(e, CID_A, a);
    dv_renv_inspect_exited(e, CID_B, b, 3, false);
    dv_fake_reply(e->fake, "GET", "/containers/" CID_D "/json", 0, 404,
                  "{\"message\":\"No such container: " CID_D "\"}");
    dv_fake_reply(e->fake, "DELETE", "/containers/" CID_N, 0, 204, NULL);
    recover(e);
    dv_renv_sleep(e, 50); /* the loop carries out what recovery fed */

    /* A: adopted, nothing sent to its container */
    dv_task *t = dv_renv_task(e, a);
    assert_non_null(t);
    assert_int_equal(t->state, DV_TASK_RUNNING);
    assert_string_equal(t->container_id, CID_A);
    assert_int_equal(acted_on(e, CID_A), 0);
    assert_int_equal(dv_renv_heard(e, "event", a, NULL, NULL), 0);

    /* B: exited meanwhile with 3, no attempts: failed, at Docker's FinishedAt */
    t = dv_renv_task(e, b);
    assert_int_equal(t->state, DV_TASK_FAILED);
    assert_true(t->exit.valid);
    assert_int_equal(t->exit.exit_code, 3);
    assert_int_equal(t->finished_ns, 1767261605LL * DV_NSEC_PER_SEC); /* 2026-01-01T10:00:05Z */
    assert_int_equal(dv_renv_heard(e, "event", b, "Terminated", "exit code 3"), 1);
    assert_int_equal(acted_on(e, CID_B), 0);
    _cleanup_json_ json_t *rb = dv_renv_record(e, b);
    assert_string_equal(dv_renv_str(rb, "state"), "failed");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rb, "exit"), "exit_code")),
                     3);

    /* D: its container is gone: lost, then the policy */
    t = dv_renv_task(e, d);
    assert_int_equal(t->state, DV_TASK_FAILED);
    assert_false(t->exit.valid);
    assert_int_equal(dv_renv_heard(e, "event", d, "Container Lost", "d4d4d4d4d4d4"), 1);
    _cleanup_json_ json_t *rd = dv_renv_record(e, d);
    assert_string_equal(dv_renv_str(rd, "state"), "failed");
    assert_non_null(
        strstr(dv_renv_str(json_object_get(rd, "exit"), "error"), "removed while the agent"));

    /* the container no record claims is removed; the unreadable record set aside */
    assert_int_equal(dv_fake_count(e->fake, "DELETE", "/containers/" CID_N), 1);
    assert_int_equal(access(bad, F_OK), -1);
    const json_t *q = dv_state_store_quarantined(e->run->store);
    assert_int_equal(json_array_size(q), 1);
    assert_string_equal(dv_renv_str(json_array_get(q, 0), "task_id"), OTHER_TASK);
    assert_int_equal(access(dv_renv_str(json_array_get(q, 0), "moved_to"), F_OK), 0);
    assert_int_equal(dv_task_table_size(e->run->tasks), 3);
}

static bool running_again(dv_renv *e, const void *id)
{
    dv_task *t = dv_renv_task(e, id);
    return t && t->state == DV_TASK_RUNNING && t->container_id &&
           strcmp(t->container_id, CID_C) == 0;
}

/* An exit while the agent was away counts against the restart policy: the task
 * restarts after its delay, in a new container, the old one removed. */
static void test_exited_meanwhile_restarts(void **state)
{
    dv_renv *e = *state;
    char b[DV_UUID_STRLEN + 1];
    left_record(e, SPEC(",\"restart\":{\"attempts\":1,\"interval\":\"5s\",\"delay\":\"50ms\"}"),
                DV_TASK_RUNNING, DV_DESIRED_RUNNING, CID_B, b);
    engine_lists(e, json_pack("[o]", listed(CID_B, b, "exited")));
    dv_renv_inspect_exited(e, CID_B, b, 1, false);
    dv_renv_image(e, "app:1", DV_RENV_IMAGE);
    dv_renv_container(e, CID_C, b);
    dv_fake_reply(e->fake, "DELETE", "/containers/" CID_B, 0, 204, NULL);
    recover(e);
    assert_int_equal(dv_renv_task(e, b)->state, DV_TASK_RESTARTING);
    assert_int_equal(dv_renv_heard(e, "event", b, "Restarting", "exit code 1: restarting in"), 1);
    assert_true(dv_renv_wait(e, running_again, b, 3000));
    assert_int_equal(dv_fake_count(e->fake, "DELETE", "/containers/" CID_B), 1);
    assert_int_equal(dv_renv_task(e, b)->restarts.total, 1);
    _cleanup_json_ json_t *rec = dv_renv_record(e, b);
    assert_string_equal(dv_renv_str(rec, "state"), "running");
    assert_string_equal(dv_renv_str(rec, "container_id"), CID_C);
}

/* A record written in another boot: the node rebooted under the task, which
 * starts again without counting against its policy (it has no attempts). */
static void test_node_reboot_starts_again(void **state)
{
    dv_renv *e = *state;
    char b[DV_UUID_STRLEN + 1];
    left_record(e, SPEC(NO_RESTART), DV_TASK_RUNNING, DV_DESIRED_RUNNING, CID_B, b);
    char path[1024];
    snprintf(path, sizeof(path), "%s/state/tasks/%s.json", e->tr->dir, b);
    json_t *rec = json_load_file(path, 0, NULL);
    assert_non_null(rec);
    assert_string_equal(dv_renv_str(rec, "boot_id"), e->run->boot_id);
    json_object_set_new(rec, "boot_id", json_string("b0070000-0000-4000-8000-000000000000"));
    assert_int_equal(json_dump_file(rec, path, 0), 0);
    json_decref(rec);
    engine_lists(e, json_pack("[o]", listed(CID_B, b, "exited")));
    dv_renv_inspect_exited(e, CID_B, b, 255, false);
    dv_renv_image(e, "app:1", DV_RENV_IMAGE);
    dv_renv_container(e, CID_C, b);
    dv_fake_reply(e->fake, "DELETE", "/containers/" CID_B, 0, 204, NULL);
    recover(e);
    assert_int_equal(dv_renv_heard(e, "event", b, "Restarting", "the node rebooted"), 1);
    assert_true(dv_renv_wait(e, running_again, b, 3000));
    assert_int_equal(dv_renv_heard(e, "event", b, "Not Restarting", NULL), 0);
    assert_int_equal(dv_renv_task(e, b)->restarts.count, 0);
}

static bool stopped(dv_renv *e, const void *id)
{
    dv_task *t = dv_renv_task(e, id);
    return t && t->state == DV_TASK_STOPPED;
}

/* An interrupted stop of a container that still runs is given again, with the
 * spec's kill_signal and kill_timeout. */
static void test_interrupted_stop_is_given_again(void **state)
{
    dv_renv *e = *state;
    char a[DV_UUID_STRLEN + 1];
    left_record(e, SPEC(",\"kill_signal\":\"SIGTERM\",\"kill_timeout\":\"100ms\""),
                DV_TASK_STOPPING, DV_DESIRED_STOPPED, CID_A, a);
    engine_lists(e, json_pack("[o]", listed(CID_A, a, "running")));
    dv_renv_container(e, CID_A, a);
    dv_renv_inspect_exited(e, CID_A, a, 143, false); /* the confirm finds it ended */
    recover(e);
    assert_true(dv_renv_wait(e, stopped, a, 3000));
    long kill = dv_renv_request_index(e, "POST", "/containers/" CID_A "/kill", 0);
    long stop = dv_renv_request_index(e, "POST", "/containers/" CID_A "/stop", 0);
    assert_true(kill >= 0 && stop > kill);
    assert_string_equal(dv_fake_request_at(e->fake, (size_t)kill)->query, "signal=SIGTERM");
    _cleanup_json_ json_t *rec = dv_renv_record(e, a);
    assert_string_equal(dv_renv_str(rec, "state"), "stopped");
}

/* A record naming a container that is not the task's (here: another node's, as
 * a record copied from there would) is set aside into state/quarantine before
 * anything acts on it; neither that container nor the task's own is touched. */
static void test_foreign_container_sets_the_record_aside(void **state)
{
    dv_renv *e = *state;
    char a[DV_UUID_STRLEN + 1], b[DV_UUID_STRLEN + 1];
    left_record(e, SPEC(NO_RESTART), DV_TASK_RUNNING, DV_DESIRED_RUNNING, CID_X, a);
    left_record(e, SPEC(NO_RESTART), DV_TASK_RUNNING, DV_DESIRED_RUNNING, CID_B, b);
    /* The list holds this node's containers only: the record's is inspected. */
    engine_lists(e, json_pack("[o,o]", listed(CID_A, a, "running"), listed(CID_B, b, "running")));
    char body[512];
    snprintf(body, sizeof(body),
             "{\"Id\":\"" CID_X "\",\"State\":{\"Running\":true},\"Config\":{\"Labels\":{"
             "\"" DV_LABEL_NODE_ID "\":\"" OTHER_NODE "\",\"" DV_LABEL_TASK_ID "\":\"%s\"}}}",
             a);
    dv_fake_reply(e->fake, "GET", "/containers/" CID_X "/json", 0, 200, body);
    char path[1024];
    snprintf(path, sizeof(path), "%s/state/tasks/%s.json", e->tr->dir, a);
    recover(e);
    dv_renv_sleep(e, 20);
    assert_null(dv_renv_task(e, a));
    assert_int_equal(access(path, F_OK), -1);
    const json_t *q = dv_state_store_quarantined(e->run->store);
    assert_int_equal(json_array_size(q), 1);
    assert_string_equal(dv_renv_str(json_array_get(q, 0), "task_id"), a);
    assert_non_null(strstr(dv_renv_str(json_array_get(q, 0), "reason"),
                           "container f6f6f6f6f6f6 is not this agent's"));
    assert_int_equal(access(dv_renv_str(json_array_get(q, 0), "moved_to"), F_OK), 0);
    assert_true(dv_state_store_is_quarantined(e->run->store, a));
    assert_int_equal(acted_on(e, CID_X), 0);
    assert_int_equal(acted_on(e, CID_A), 0); /* the task's own: left for the operator */
    /* its directory stays too; the other task is adopted */
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tasks/%s", e->tr->dir, a);
    assert_int_equal(access(dir, F_OK), 0);
    assert_int_equal(dv_renv_task(e, b)->state, DV_TASK_RUNNING);
    assert_int_equal(acted_on(e, CID_B), 0);
}

/* A restart that was pending is re-armed for what is left of its persisted
 * delay; an interrupted destroy is finished (container, directory, record); a
 * task stopped before anything ran is settled stopped. */
static void test_pending_restart_destroy_and_stop(void **state)
{
    dv_renv *e = *state;
    char r[DV_UUID_STRLEN + 1], x[DV_UUID_STRLEN + 1], p[DV_UUID_STRLEN + 1];
    int64_t due = dv_realtime_ns() + 300 * MS;
    left_record_due(e, SPEC(",\"restart\":{\"attempts\":2,\"interval\":\"1m\",\"delay\":\"10s\"}"),
                    DV_TASK_RESTARTING, DV_DESIRED_RUNNING, CID_B, due, r);
    left_record(e, SPEC(""), DV_TASK_DESTROYING, DV_DESIRED_STOPPED, CID_D, x);
    left_record(e, SPEC(""), DV_TASK_PENDING, DV_DESIRED_STOPPED, NULL, p);
    engine_lists(e, json_pack("[o,o]", listed(CID_B, r, "exited"), listed(CID_D, x, "exited")));
    dv_renv_inspect_exited(e, CID_B, r, 1, false);
    dv_fake_reply(e->fake, "DELETE", "/containers/" CID_B, 0, 204, NULL);
    dv_renv_container_ops(e, CID_D); /* stop, delete */
    dv_renv_inspect_exited(e, CID_D, x, 0, false);
    dv_renv_image(e, "app:1", DV_RENV_IMAGE);
    dv_renv_container(e, CID_C, r);
    char xdir[1024];
    snprintf(xdir, sizeof(xdir), "%s/tasks/%s", e->tr->dir, x);
    assert_int_equal(access(xdir, F_OK), 0);
    recover(e);
    /* R: waits out the rest of its delay (300ms, not the spec's 10s) */
    assert_int_equal(dv_renv_task(e, r)->state, DV_TASK_RESTARTING);

    /* P: stopped, nothing asked of the Engine */
    assert_int_equal(dv_renv_task(e, p)->state, DV_TASK_STOPPED);
    _cleanup_json_ json_t *rp = dv_renv_record(e, p);
    assert_string_equal(dv_renv_str(rp, "state"), "stopped");
    /* X: gone, container removed, record and directory too */
    assert_true(dv_renv_wait(e, dv_renv_gone, x, 3000));
    assert_int_equal(dv_fake_count(e->fake, "DELETE", "/containers/" CID_D), 1);
    assert_int_equal(dv_renv_heard(e, "gone", x, "destroyed", NULL), 1);
    json_t *rx = dv_renv_record(e, x);
    assert_null(rx);
    assert_int_equal(access(xdir, F_OK), -1);
    /* R: then starts */
    assert_true(dv_renv_wait(e, running_again, r, 3000));
    assert_true(dv_realtime_ns() >= due);
    assert_int_equal(dv_fake_count(e->fake, "DELETE", "/containers/" CID_B), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_adopt_exited_lost_orphan, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_exited_meanwhile_restarts, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_node_reboot_starts_again, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_stop_is_given_again, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_foreign_container_sets_the_record_aside, dv_renv_setup,
                                        dv_renv_teardown),
        cmocka_unit_test_setup_teardown(test_pending_restart_destroy_and_stop, dv_renv_setup,
                                        dv_renv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
