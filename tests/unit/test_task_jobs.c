/* The worker side of the task runner against the fake Engine (fault injection
 * a real daemon cannot produce on demand): Nomad's create retries on a name
 * conflict (remove a dead container, reuse a running one), start retries on
 * 500, a container that cannot start is removed, stop/inspect edge cases; and
 * the pure helpers (stats, pull progress, pull error classes). */
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
#include "fake_engine.h"
#include "runtime.h"
#include "task_jobs.h"
#include "task_runner.h"

#define CID "1111111111111111111111111111111111111111111111111111111111111111"
#define NEW "2222222222222222222222222222222222222222222222222222222222222222"
#define NAME "web-0b9c3c8e-6f0a-4b8e-9d51-3a0f2b7c9e11"
#define TASK "0b9c3c8e-6f0a-4b8e-9d51-3a0f2b7c9e11"
#define NODE "4238a8df-4c01-4f77-ba8b-a7962f09fbf7"
/* The Config of an inspect of a container of this node and task (ownership.h). */
#define OURS                                                                                       \
    "\"Config\":{\"Labels\":{\"io.dockvisor.node_id\":\"" NODE                                     \
    "\",\"io.dockvisor.task_id\":\"" TASK "\"}}"

struct env {
    dv_fake *fake;
    dv_runtime run;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    e->fake = dv_fake_start(NULL, NULL);
    dv_docker_config c = {.endpoint = dv_fake_endpoint(e->fake)};
    if (dv_docker_new(&c, &e->run.docker, NULL) < 0 ||
        dv_docker_new(&c, &e->run.quick_docker, NULL) < 0 || dv_loop_new(&e->run.loop, NULL) < 0)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    dv_loop_free(e->run.loop); /* discards the notes the jobs posted */
    dv_docker_free(e->run.docker);
    dv_docker_free(e->run.quick_docker);
    dv_fake_stop(e->fake);
    free(e);
    return 0;
}

/* A job of task TASK on node NODE. */
static dv_job *task_job(struct env *e, enum dv_job_kind kind)
{
    dv_job *j = dv_job_new(kind, &e->run, NULL);
    snprintf(j->task_id, sizeof(j->task_id), "%s", TASK);
    snprintf(j->node_id, sizeof(j->node_id), "%s", NODE);
    return j;
}

static dv_job *start_job(struct env *e)
{
    dv_job *j = task_job(e, DV_JOB_START);
    j->container_name = strdup(NAME);
    j->body = json_pack("{s:s}", "Image", "sha256:abc");
    return j;
}

/* The sequence of "METHOD path" the fake saw, comma separated. */
static char *calls(dv_fake *f)
{
    static char buf[4096];
    buf[0] = '\0';
    for (size_t i = 0; i < dv_fake_request_count(f); i++) {
        const dv_fake_request *r = dv_fake_request_at(f, i);
        if (strcmp(r->path, "/version") == 0 || strcmp(r->path, "/_ping") == 0)
            continue;
        char one[256];
        snprintf(one, sizeof(one), "%s%s %.24s", buf[0] ? "," : "", r->method, r->path);
        strncat(buf, one, sizeof(buf) - strlen(buf) - 1);
    }
    return buf;
}

static const char *listed = "[{\"Id\":\"" CID "\",\"Names\":[\"/" NAME "\"]}]";

static void test_conflict_with_a_dead_container(void **state)
{
    struct env *e = *state;
    dv_fake *f = e->fake;
    dv_fake_reply(f, "POST", "/containers/create", 1, 409,
                  "{\"message\":\"Conflict. The container name \\\"/" NAME
                  "\\\" is already in use\"}");
    dv_fake_reply(f, "GET", "/containers/json", 1, 200, listed);
    dv_fake_reply(f, "GET", "/containers/" CID "/json", 1, 200,
                  "{\"State\":{\"Running\":false}," OURS "}");
    dv_fake_reply(f, "DELETE", "/containers/" CID, 1, 204, NULL);
    dv_fake_reply(f, "POST", "/containers/create", 1, 201, "{\"Id\":\"" NEW "\"}");
    dv_fake_reply(f, "POST", "/containers/" NEW "/start", 1, 204, NULL);
    dv_fake_reply(f, "GET", "/containers/" NEW "/json", 1, 200,
                  "{\"State\":{\"Running\":true},\"NetworkSettings\":{\"Networks\":{\"bridge\":"
                  "{\"IPAddress\":\"172.17.0.9\"}}}}");
    dv_job *j = start_job(e);
    dv_job_run(j);
    assert_int_equal(j->r, 0);
    assert_string_equal(j->container_id, NEW);
    assert_false(j->reused);
    assert_true(j->running);
    assert_string_equal(j->ip, "172.17.0.9");
    assert_false(j->auto_advertise); /* the default bridge is not advertised */
    assert_string_equal(calls(f),
                        "POST /containers/create,GET /containers/json,GET /containers/111111111111,"
                        "DELETE /containers/111111111111,POST /containers/create,"
                        "POST /containers/222222222222,GET /containers/222222222222");
    /* the name filter asks for exactly this name */
    assert_non_null(strstr(dv_fake_find(f, "GET", "/containers/json")->query, "^/" NAME "$"));
    dv_job_free(j);
}

static void test_conflict_with_a_running_container(void **state)
{
    struct env *e = *state;
    dv_fake *f = e->fake;
    dv_fake_reply(f, "POST", "/containers/create", 1, 409, "{\"message\":\"already in use\"}");
    dv_fake_reply(f, "GET", "/containers/json", 1, 200, listed);
    dv_fake_reply(f, "GET", "/containers/" CID "/json", 0, 200,
                  "{\"State\":{\"Running\":true}," OURS ",\"NetworkSettings\":{\"Networks\":{"
                  "\"mynet\":{\"IPAddress\":\"10.1.0.4\"}}}}");
    dv_job *j = start_job(e);
    dv_job_run(j);
    assert_int_equal(j->r, 0);
    assert_true(j->reused);
    assert_string_equal(j->container_id, CID);
    assert_string_equal(j->ip, "10.1.0.4");
    assert_true(j->auto_advertise);
    assert_null(dv_fake_find(f, "POST", "/containers/" CID "/start")); /* not started again */
    assert_null(dv_fake_find(f, "DELETE", "/containers/" CID));
    dv_job_free(j);
}

static void test_start_500_is_retried(void **state)
{
    struct env *e = *state;
    dv_fake *f = e->fake;
    dv_fake_reply(f, "POST", "/containers/create", 1, 201, "{\"Id\":\"" NEW "\"}");
    dv_fake_reply(f, "POST", "/containers/" NEW "/start", 2, 500,
                  "{\"message\":\"OCI runtime create failed\"}");
    dv_fake_reply(f, "POST", "/containers/" NEW "/start", 1, 204, NULL);
    dv_fake_reply(f, "GET", "/containers/" NEW "/json", 1, 200,
                  "{\"State\":{\"Running\":false,\"ExitCode\":0,"
                  "\"FinishedAt\":\"2024-05-01T10:00:00Z\"}}");
    dv_job *j = start_job(e);
    dv_job_run(j);
    assert_int_equal(j->r, 0);
    assert_false(j->running); /* exited already: the exit result comes with it */
    assert_true(j->exit.valid);
    assert_int_equal(j->exit.exit_code, 0);
    size_t starts = 0;
    for (size_t i = 0; i < dv_fake_request_count(f); i++)
        starts += strstr(dv_fake_request_at(f, i)->path, "/start") != NULL;
    assert_int_equal(starts, 3);
    dv_job_free(j);
}

static void test_a_container_that_cannot_start_is_removed(void **state)
{
    struct env *e = *state;
    dv_fake *f = e->fake;
    dv_fake_reply(f, "POST", "/containers/create", 1, 201, "{\"Id\":\"" NEW "\"}");
    dv_fake_reply(f, "POST", "/containers/" NEW "/start", 1, 400,
                  "{\"message\":\"exec: \\\"nope\\\": executable file not found in $PATH\"}");
    dv_fake_reply(f, "DELETE", "/containers/" NEW, 1, 204, NULL);
    dv_job *j = start_job(e);
    dv_job_run(j);
    assert_true(j->r < 0);
    assert_false(j->err.recoverable);
    assert_non_null(strstr(j->err.msg, "executable file not found"));
    assert_non_null(strstr(j->err.msg, "start container"));
    assert_null(j->container_id);
    const dv_fake_request *del = dv_fake_find(f, "DELETE", "/containers/" NEW);
    assert_non_null(del);
    assert_non_null(strstr(del->query, "force=1"));
    dv_job_free(j);
}

static void test_create_errors(void **state)
{
    struct env *e = *state;
    dv_fake *f = e->fake;
    /* a transient 500 is retried */
    dv_fake_reply(f, "POST", "/containers/create", 1, 500, "{\"message\":\"try again\"}");
    dv_fake_reply(f, "POST", "/containers/create", 1, 201, "{\"Id\":\"" NEW "\"}");
    dv_fake_reply(f, "POST", "/containers/" NEW "/start", 1, 204, NULL);
    dv_fake_reply(f, "GET", "/containers/" NEW "/json", 1, 200, "{\"State\":{\"Running\":true}}");
    dv_job *j = start_job(e);
    dv_job_run(j);
    assert_int_equal(j->r, 0);
    dv_job_free(j);
    /* "no such image" fails the attempt but is worth a restart */
    dv_fake_reply(f, "POST", "/containers/create", 1, 404,
                  "{\"message\":\"No such image: sha256:abc\"}");
    j = start_job(e);
    dv_job_run(j);
    assert_true(j->r < 0);
    assert_true(j->err.recoverable);
    dv_job_free(j);
    /* a bad body is final */
    dv_fake_reply(f, "POST", "/containers/create", 1, 400, "{\"message\":\"invalid mount\"}");
    j = start_job(e);
    dv_job_run(j);
    assert_true(j->r < 0);
    assert_false(j->err.recoverable);
    assert_non_null(strstr(j->err.msg, "invalid mount"));
    dv_job_free(j);
}

static void test_stop_and_inspect_edges(void **state)
{
    struct env *e = *state;
    dv_fake *f = e->fake;
    dv_fake_reply(f, "POST", "/containers/" CID "/stop", 1, 304, NULL);
    dv_fake_reply(f, "POST", "/containers/" CID "/stop", 1, 404,
                  "{\"message\":\"No such container\"}");
    dv_fake_reply(f, "POST", "/containers/" CID "/kill", 1, 409,
                  "{\"message\":\"Container " CID " is not running\"}");
    /* each stop inspects first (ownership); then the confirm's inspect */
    dv_fake_reply(f, "GET", "/containers/" CID "/json", 3, 200, "{" OURS "}");
    dv_fake_reply(f, "GET", "/containers/" CID "/json", 1, 404,
                  "{\"message\":\"No such container\"}");
    for (int i = 0; i < 3; i++) {
        dv_job *j = task_job(e, DV_JOB_STOP);
        j->container_id = strdup(CID);
        j->stop_timeout_s = 5;
        if (i == 2)
            j->signal = strdup("SIGUSR1");
        dv_job_run(j);
        assert_int_equal(j->r, 0); /* already stopped, gone, not running: all success */
        assert_false(j->running);
        dv_job_free(j);
    }
    assert_non_null(strstr(dv_fake_find(f, "POST", "/containers/" CID "/stop")->query, "t=5"));
    dv_job *j = dv_job_new(DV_JOB_INSPECT, &e->run, NULL);
    j->container_id = strdup(CID);
    dv_job_run(j);
    assert_int_equal(j->r, 0);
    assert_false(j->running);
    assert_false(j->exit.valid);
    assert_non_null(strstr(j->exit.error, "removed outside dockvisor"));
    dv_job_free(j);
}

/* A container the record names without this node's and task's labels: every
 * destructive job inspects, refuses with `foreign` set, and sends nothing else. */
static void test_foreign_container_is_left_alone(void **state)
{
    struct env *e = *state;
    dv_fake *f = e->fake;
    static const char *const bodies[] = {
        "{\"Config\":{\"Labels\":null}}",
        "{\"Config\":{\"Labels\":{\"io.dockvisor.node_id\":\"" NODE
        "\",\"io.dockvisor.task_id\":\"079a6c4f-aaaa-4bbb-8ccc-dddddddddddd\"}}}",
    };
    const enum dv_job_kind kinds[] = {DV_JOB_STOP,   DV_JOB_STOP,   DV_JOB_DESTROY,
                                      DV_JOB_SIGNAL, DV_JOB_REMOVE, DV_JOB_EXEC};
    for (size_t b = 0; b < DV_ARRAY_SIZE(bodies); b++)
        for (size_t k = 0; k < DV_ARRAY_SIZE(kinds); k++) {
            dv_fake_reply(f, "GET", "/containers/" CID "/json", 1, 200, bodies[b]);
            dv_job *j = task_job(e, kinds[k]);
            j->container_id = strdup(CID);
            j->remove_container = true;
            if (k == 1 || kinds[k] == DV_JOB_SIGNAL)
                j->signal = strdup("SIGKILL");
            if (kinds[k] == DV_JOB_EXEC)
                j->cmd = json_pack("[s]", "true");
            dv_job_run(j);
            assert_int_equal(j->r, -EPERM);
            assert_true(j->foreign);
            assert_non_null(strstr(j->err.msg, "container 111111111111 is not this agent's ("));
            dv_job_free(j);
        }
    for (size_t i = 0; i < dv_fake_request_count(f); i++) /* inspects only */
        assert_string_equal(dv_fake_request_at(f, i)->method, "GET");

    /* The previous container of a start: not removed, nothing created. */
    dv_fake_reply(f, "GET", "/containers/" CID "/json", 1, 200, bodies[0]);
    dv_job *j = start_job(e);
    j->old_container_id = strdup(CID);
    dv_job_run(j);
    assert_int_equal(j->r, -EPERM);
    assert_true(j->foreign);
    assert_null(dv_fake_find(f, "DELETE", "/containers/" CID));
    assert_null(dv_fake_find(f, "POST", "/containers/create"));
    dv_job_free(j);
}

/* The name the task wants is held by a container that is not its own: neither
 * reused nor removed; the start fails (the record is not at fault: no `foreign`). */
static void test_name_held_by_a_foreign_container(void **state)
{
    struct env *e = *state;
    dv_fake *f = e->fake;
    dv_fake_reply(f, "POST", "/containers/create", 1, 409, "{\"message\":\"already in use\"}");
    dv_fake_reply(f, "GET", "/containers/json", 1, 200, listed);
    dv_fake_reply(f, "GET", "/containers/" CID "/json", 1, 200,
                  "{\"State\":{\"Running\":false},\"Config\":{\"Labels\":{}}}");
    dv_job *j = start_job(e);
    dv_job_run(j);
    assert_true(j->r < 0);
    assert_false(j->foreign);
    assert_null(j->container_id);
    assert_non_null(
        strstr(j->err.msg, "held by container 111111111111, which is not this agent's"));
    assert_null(dv_fake_find(f, "DELETE", "/containers/" CID));
    dv_job_free(j);
}

static void test_stats_cgroup_v1_and_v2(void **state)
{
    (void)state;
    _cleanup_json_ json_t *v1 = json_loads(
        "{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":3000000},\"system_cpu_usage\":20000000,"
        "\"online_cpus\":2,\"throttling_data\":{\"throttled_periods\":4,\"throttled_time\":900}},"
        "\"precpu_stats\":{\"cpu_usage\":{\"total_usage\":1000000},\"system_cpu_usage\":10000000},"
        "\"memory_stats\":{\"usage\":5000,\"max_usage\":9000,\"stats\":{\"rss\":1000,\"cache\":"
        "2000,\"swap\":30}}}",
        0, NULL);
    _cleanup_json_ json_t *s = dv_stats_from_engine(v1);
    json_t *cpu = json_object_get(s, "cpu"), *mem = json_object_get(s, "memory");
    assert_true(json_number_value(json_object_get(cpu, "percent")) == 40.0); /* 2/10 * 2 * 100 */
    assert_int_equal(json_integer_value(json_object_get(cpu, "throttled_periods")), 4);
    assert_int_equal(json_integer_value(json_object_get(cpu, "throttled_time_ns")), 900);
    assert_int_equal(json_integer_value(json_object_get(mem, "rss")), 1000);
    assert_int_equal(json_integer_value(json_object_get(mem, "cache")), 2000);
    assert_int_equal(json_integer_value(json_object_get(mem, "swap")), 30);
    assert_int_equal(json_integer_value(json_object_get(mem, "usage")), 5000);
    assert_int_equal(json_integer_value(json_object_get(mem, "max_usage")), 9000);
    _cleanup_json_ json_t *v2 =
        json_loads("{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":5}},\"precpu_stats\":{},"
                   "\"memory_stats\":{\"usage\":700,\"stats\":{\"anon\":300,\"file\":400}}}",
                   0, NULL);
    _cleanup_json_ json_t *s2 = dv_stats_from_engine(v2);
    mem = json_object_get(s2, "memory");
    assert_true(json_number_value(json_object_get(json_object_get(s2, "cpu"), "percent")) == 0.0);
    assert_int_equal(json_integer_value(json_object_get(mem, "rss")), 300);
    assert_int_equal(json_integer_value(json_object_get(mem, "cache")), 400);
}

static void test_pull_helpers(void **state)
{
    (void)state;
    dv_pull_progress *p = dv_pull_progress_new();
    const char *lines[] = {
        "{\"status\":\"Pulling from dockvisor-test/payload\",\"id\":\"1\"}",
        "{\"status\":\"Pulling fs layer\",\"id\":\"aaa\"}",
        "{\"status\":\"Pulling fs layer\",\"id\":\"bbb\"}",
        "{\"status\":\"Downloading\",\"id\":\"aaa\",\"progressDetail\":{\"current\":500000,"
        "\"total\":2000000}}",
        "{\"status\":\"Already exists\",\"id\":\"bbb\"}",
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(lines); i++) {
        _cleanup_json_ json_t *l = json_loads(lines[i], 0, NULL);
        dv_pull_progress_feed(p, l);
    }
    char buf[128];
    dv_pull_progress_summary(p, "x:1", buf, sizeof(buf));
    assert_string_equal(buf, "pulling x:1: 1/2 layers, 0.5/2.0 MB");
    dv_pull_progress_free(p);
    /* an image already there has no layer lines: the last status says so */
    p = dv_pull_progress_new();
    _cleanup_json_ json_t *up = json_loads("{\"status\":\"Status: Image is up to date\"}", 0, NULL);
    dv_pull_progress_feed(p, up);
    dv_pull_progress_summary(p, "x:1", buf, sizeof(buf));
    assert_string_equal(buf, "pulling x:1: Status: Image is up to date");
    dv_pull_progress_free(p);

    dv_error err = {.code = -EIO, .http_status = 500};
    snprintf(err.msg, sizeof(err.msg), "Get https://r/v2/: connection refused");
    assert_true(dv_pull_error_recoverable(&err));
    snprintf(err.msg, sizeof(err.msg), "manifest for x:1 not found: manifest unknown");
    assert_false(dv_pull_error_recoverable(&err));
    snprintf(err.msg, sizeof(err.msg), "unauthorized: authentication required");
    assert_false(dv_pull_error_recoverable(&err));
    err.http_status = 404;
    snprintf(err.msg, sizeof(err.msg), "anything");
    assert_false(dv_pull_error_recoverable(&err));
}

/* R4: a failing confirm inspect backs off per task, 2s doubling to 60s. */
static void test_inspect_retry_backoff(void **state)
{
    (void)state;
    int64_t d = 0, seen[8];
    for (int i = 0; i < 8; i++)
        seen[i] = d = dv_inspect_retry_next(d);
    assert_int_equal(seen[0], DV_INSPECT_RETRY_MIN);
    assert_int_equal(seen[1], 2 * DV_INSPECT_RETRY_MIN);
    assert_int_equal(seen[4], 32 * DV_NSEC_PER_SEC);
    assert_int_equal(seen[5], DV_INSPECT_RETRY_MAX);
    assert_int_equal(seen[7], DV_INSPECT_RETRY_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_conflict_with_a_dead_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_with_a_running_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_500_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_container_that_cannot_start_is_removed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_and_inspect_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_container_is_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_held_by_a_foreign_container, setup, teardown),
        cmocka_unit_test(test_stats_cgroup_v1_and_v2),
        cmocka_unit_test(test_pull_helpers),
        cmocka_unit_test(test_inspect_retry_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
