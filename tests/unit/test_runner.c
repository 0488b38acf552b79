/* The task runner on a runtime over the fake Engine (runner_env.h), with the
 * real loop, workers, timers and state store: submit and start (image found or
 * pulled), stops with kill_signal, kill_timeout and max_kill_timeout, the
 * restart policy, OOM kills, failed pulls, an unreachable Engine, destroy. Each
 * case checks what the Engine was asked, what the observers heard and what the
 * task's record on disk says. */
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
#include "duration.h"
#include "labels.h"
#include "runner_env.h"

#define CID "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
#define IMG DV_RENV_IMAGE
#define SPEC(extra) "{\"name\":\"web\",\"config\":{\"image\":\"app:1\"}" extra "}"
#define MS DV_NSEC_PER_MSEC

static int setup(void **state)
{
    *state = dv_renv_new();
    return 0;
}

static int teardown(void **state)
{
    dv_renv_free(*state);
    return 0;
}

static const char *rec_str(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

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
    assert_string_equal(rec_str(body, "Image"), IMG);
    json_t *labels = json_object_get(body, "Labels");
    assert_string_equal(rec_str(labels, DV_LABEL_TASK_ID), id);
    assert_string_equal(rec_str(labels, DV_LABEL_NODE_ID), DV_RENV_NODE);

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
    assert_string_equal(rec_str(rec, "state"), "running");
    assert_string_equal(rec_str(rec, "desired"), "running");
    assert_string_equal(rec_str(rec, "container_id"), CID);
    assert_string_equal(rec_str(rec, "image_id"), IMG);
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
    assert_string_equal(rec_str(rec, "state"), "running");
    assert_string_equal(rec_str(rec, "image_id"), IMG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_with_the_image_present, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_with_a_pull, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
