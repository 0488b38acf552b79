/* Drain (drain.h) as a client of the runtime, answering a real HTTP request:
 * the API server on a socket of its own, a client thread POSTing /v1/drain, the
 * drains checked from the runtime's observers as the agent does. Every task is
 * stopped with its own kill_signal and kill_timeout, in parallel; the answer
 * comes once all are down, and says which were stopped, already down, or not
 * stopped (a stop that failed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "api_client.h"
#include "api_server.h"
#include "cleanup.h"
#include "duration.h"
#include "drain.h"
#include "runner_env.h"

#define CID_A "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define CID_B "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
#define CID_C "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"
#define CID_D "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4"
#define SPEC(extra) "{\"name\":\"web\",\"config\":{\"image\":\"app:1\"}" extra "}"
#define MS DV_NSEC_PER_MSEC

struct drain_env {
    dv_renv *e;
    dv_drains drains;
    dv_api_server *srv;
    char sock[512];
    /* the client's side */
    atomic_bool done;
    long status;
    json_t *answer;
    char error[256];
};

static void handler(void *userdata, dv_api_request *req)
{
    struct drain_env *d = userdata;
    if (strcmp(dv_api_request_path(req), "/v1/drain") == 0)
        dv_drain_request(&d->drains, req);
    else
        dv_api_respond_error(req, 404, NULL, "no route");
}

static void check_drains(dv_renv *e)
{
    struct drain_env *d = e->user;
    dv_drain_check(&d->drains);
}

static int setup(void **state)
{
    struct drain_env *d = calloc(1, sizeof(*d));
    d->e = dv_renv_new();
    d->e->user = d;
    d->e->after_observer = check_drains;
    d->drains.run = d->e->run;
    snprintf(d->sock, sizeof(d->sock), "%s/api.sock", d->e->tr->dir);
    dv_error err;
    if (dv_api_server_start(d->sock, d->e->run->loop, handler, d, &d->srv, &err) < 0) {
        fprintf(stderr, "api server: %s\n", err.msg);
        return -1;
    }
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct drain_env *d = *state;
    dv_drain_free(&d->drains);
    dv_api_server_stop(d->srv);
    dv_renv_free(d->e);
    json_decref(d->answer);
    free(d);
    return 0;
}

static void *client(void *arg)
{
    struct drain_env *d = arg;
    dv_api_client *c = NULL;
    dv_error err;
    if (dv_api_client_new(d->sock, &c, &err) < 0 ||
        dv_api_call(c, "POST", "/v1/drain", NULL, &d->status, &d->answer, &err) < 0)
        snprintf(d->error, sizeof(d->error), "%s", err.msg);
    dv_api_client_free(c);
    atomic_store(&d->done, true);
    return NULL;
}

static bool answered(dv_renv *e, const void *arg)
{
    (void)e;
    const struct drain_env *d = arg;
    return atomic_load(&d->done);
}

static void run_task(dv_renv *e, const char *spec, const char *cid, char id[DV_UUID_STRLEN + 1])
{
    dv_task *t = dv_renv_create(e, spec, id);
    dv_renv_happy(e, cid, id);
    dv_renv_start(e, t);
    assert_true(dv_renv_wait_state(e, id, DV_TASK_RUNNING, 3000));
}

static bool has(const json_t *list, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s =
            json_is_object(v) ? json_string_value(json_object_get(v, "id")) : json_string_value(v);
        if (s && strcmp(s, id) == 0)
            return true;
    }
    return false;
}

static const char *query_of(dv_renv *e, const char *method, const char *path)
{
    const dv_fake_request *r = dv_fake_find(e->fake, method, path);
    return r ? r->query : NULL;
}

static void test_drain(void **state)
{
    struct drain_env *d = *state;
    dv_renv *e = d->e;
    char a[DV_UUID_STRLEN + 1], b[DV_UUID_STRLEN + 1], c[DV_UUID_STRLEN + 1], x[DV_UUID_STRLEN + 1];
    run_task(e, SPEC(",\"kill_signal\":\"SIGUSR1\",\"kill_timeout\":\"200ms\""), CID_A, a);
    run_task(e, SPEC(",\"kill_timeout\":\"1s\""), CID_B, b);
    run_task(e, SPEC(""), CID_C, c);
    run_task(e, SPEC(""), CID_D, x);
    /* C finished already; A and B end when stopped; D's container keeps running */
    dv_renv_inspect_exited(e, CID_C, c, 0, false);
    dv_renv_engine_event(e, "die", CID_C, c);
    assert_true(dv_renv_wait_state(e, c, DV_TASK_EXITED, 2000));
    dv_renv_inspect_exited(e, CID_A, a, 138, false);
    dv_renv_inspect_exited(e, CID_B, b, 143, false);
    size_t before = dv_fake_request_count(e->fake);

    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client, d), 0);
    assert_true(dv_renv_wait(e, answered, d, 5000));
    pthread_join(th, NULL);
    if (d->error[0])
        fail_msg("drain request: %s", d->error);
    assert_int_equal(d->status, 200);

    json_t *s = d->answer;
    assert_int_equal(json_integer_value(json_object_get(s, "tasks")), 4);
    json_t *stopped = json_object_get(s, "stopped"), *already = json_object_get(s, "already_down"),
           *not_stopped = json_object_get(s, "not_stopped");
    assert_int_equal(json_array_size(stopped), 2);
    assert_true(has(stopped, a) && has(stopped, b));
    assert_int_equal(json_array_size(already), 1);
    assert_true(has(already, c));
    assert_int_equal(json_array_size(not_stopped), 1);
    assert_true(has(not_stopped, x));
    assert_string_equal(json_string_value(json_object_get(json_array_get(not_stopped, 0), "state")),
                        "running");
    assert_int_equal(json_array_size(json_object_get(s, "destroyed")), 0);
    /* the answer waited for A's kill_timeout */
    assert_true(json_integer_value(json_object_get(s, "took_ns")) >= 200 * MS);

    /* each stopped its own way, and C was left alone */
    assert_string_equal(query_of(e, "POST", "/containers/" CID_A "/kill"), "signal=SIGUSR1");
    assert_string_equal(query_of(e, "POST", "/containers/" CID_A "/stop"), "t=0");
    assert_string_equal(query_of(e, "POST", "/containers/" CID_B "/stop"), "t=1");
    assert_string_equal(query_of(e, "POST", "/containers/" CID_D "/stop"), "t=5");
    assert_int_equal(dv_renv_request_index(e, "POST", "/containers/" CID_C, before), -1);
    assert_int_equal(dv_renv_task(e, a)->state, DV_TASK_STOPPED);
    assert_int_equal(dv_renv_task(e, b)->state, DV_TASK_STOPPED);
    assert_int_equal(dv_renv_task(e, x)->state, DV_TASK_RUNNING);
    /* every task that is down stays down, the finished one included */
    const char *down[] = {a, b, c};
    for (size_t i = 0; i < 3; i++) {
        _cleanup_json_ json_t *rec = dv_renv_record(e, down[i]);
        assert_string_equal(json_string_value(json_object_get(rec, "desired")), "stopped");
    }
    assert_int_equal(dv_renv_heard(e, "event", x, "Killing", "still running after the stop"), 1);
}

/* Nothing to stop: answered at once. */
static void test_drain_of_nothing(void **state)
{
    struct drain_env *d = *state;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client, d), 0);
    assert_true(dv_renv_wait(d->e, answered, d, 3000));
    pthread_join(th, NULL);
    assert_int_equal(d->status, 200);
    assert_int_equal(json_integer_value(json_object_get(d->answer, "tasks")), 0);
}

/* dv_task_drain_settled: what a drain waits for. */
static void test_settled(void **state)
{
    (void)state;
    assert_true(dv_task_drain_settled(NULL));
    dv_task t = {.state = DV_TASK_STOPPING};
    assert_false(dv_task_drain_settled(&t));
    t.state = DV_TASK_PULLING;
    assert_false(dv_task_drain_settled(&t));
    t.state = DV_TASK_DESTROYING;
    assert_false(dv_task_drain_settled(&t));
    t.state = DV_TASK_RUNNING; /* its stop failed, or it was restarted since */
    assert_true(dv_task_drain_settled(&t));
    t.state = DV_TASK_STOPPED;
    assert_true(dv_task_drain_settled(&t));
    t.state = DV_TASK_FAILED;
    assert_true(dv_task_drain_settled(&t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_of_nothing, setup, teardown),
        cmocka_unit_test(test_settled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
