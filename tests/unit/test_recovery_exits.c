/* Recovery's exit inspections (recovery_exits.h) against the fake Engine: each
 * container's exit as inspected, a removed container and a failing Engine told
 * apart, and the inspections made at once: while one hangs, the others are asked
 * and answered, and the waiting thread keeps ticking (the watchdog). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "docker.h"
#include "duration.h"
#include "fake_engine.h"
#include "recovery_exits.h"
#include "test_support.h"

static const char *exited(int code, bool oom)
{
    static char buf[8][256];
    static int n;
    char *b = buf[n++ % 8];
    snprintf(b, sizeof(buf[0]),
             "{\"State\":{\"Status\":\"exited\",\"ExitCode\":%d,\"OOMKilled\":%s,"
             "\"FinishedAt\":\"2026-12-07T08:00:00.5Z\",\"Error\":\"\"}}",
             code, oom ? "true" : "false");
    return b;
}

static void test_each_exit_as_inspected(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_reply(f, "GET", "/containers/aaa/json", 0, 200, exited(3, false));
    dv_fake_reply(f, "GET", "/containers/bbb/json", 0, 200, exited(137, true));
    dv_fake_reply(f, "GET", "/containers/gone/json", 0, 404,
                  "{\"message\":\"No such container: gone\"}");
    dv_fake_reply(f, "GET", "/containers/broken/json", 0, 500, "{\"message\":\"boom\"}");
    dv_docker *dk = dv_fake_client(f, 0);
    dv_exit_fetch items[] = {
        {.container_id = "aaa"},
        {.container_id = "gone"},
        {.container_id = "bbb"},
        {.container_id = "broken"},
    };
    dv_recovery_fetch_exits(dk, items, 4, 3, NULL, NULL);

    assert_true(items[0].result.valid);
    assert_int_equal(items[0].result.exit_code, 3);
    assert_int_equal(items[0].result.signal, 0);
    assert_false(items[0].result.oom_killed);
    assert_int_equal(items[0].result.finished_ns, INT64_C(1796630400500000000));
    assert_true(items[2].result.valid);
    assert_int_equal(items[2].result.exit_code, 137);
    assert_int_equal(items[2].result.signal, 9);
    assert_true(items[2].result.oom_killed);
    assert_false(items[1].result.valid);
    assert_string_equal(items[1].result.error, "the container was removed");
    assert_false(items[3].result.valid);
    assert_string_equal(items[3].result.error, "its exit could not be inspected");
    for (size_t i = 0; i < 4; i++)
        dv_exit_result_clear(&items[i].result);
    /* nothing to do: no call */
    size_t before = dv_fake_request_count(f);
    dv_recovery_fetch_exits(dk, items, 0, 3, NULL, NULL);
    assert_int_equal(dv_fake_request_count(f), before);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

typedef struct tick_seen {
    dv_fake *fake;
    int ticks;
    size_t others_asked; /* at the first tick: how many of the others were asked */
} tick_seen;

static const char *const others[] = {"c2", "c3", "c4", "c5"};

static void on_tick(void *userdata)
{
    tick_seen *t = userdata;
    if (t->ticks++ > 0)
        return;
    for (size_t i = 0; i < DV_ARRAY_SIZE(others); i++) {
        char path[64];
        snprintf(path, sizeof(path), "/containers/%s/json", others[i]);
        t->others_asked += dv_fake_count(t->fake, "GET", path);
    }
}

/* The first container's inspect hangs until the client's 2 s deadline. Asked one
 * at a time, nothing else would be asked meanwhile; at once, the other four are
 * asked and answered before the first tick (a second into the wait). */
static void test_inspections_run_at_once(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_add(f, &(dv_fake_rule){.method = "GET", .path = "/containers/c1/json", .hang = true});
    for (size_t i = 0; i < DV_ARRAY_SIZE(others); i++) {
        char path[64];
        snprintf(path, sizeof(path), "/containers/%s/json", others[i]);
        dv_fake_reply(f, "GET", path, 0, 200, exited((int)i + 1, false));
    }
    dv_docker *dk = dv_fake_client(f, 2 * DV_NSEC_PER_SEC);
    dv_exit_fetch items[5] = {{.container_id = "c1"}};
    for (size_t i = 0; i < DV_ARRAY_SIZE(others); i++)
        items[i + 1].container_id = others[i];
    tick_seen t = {.fake = f};
    dv_recovery_fetch_exits(dk, items, 5, 4, on_tick, &t);

    assert_true(t.ticks >= 1);
    assert_int_equal(t.others_asked, DV_ARRAY_SIZE(others));
    assert_false(items[0].result.valid);
    assert_string_equal(items[0].result.error, "its exit could not be inspected");
    for (size_t i = 1; i < 5; i++) {
        assert_true(items[i].result.valid);
        assert_int_equal(items[i].result.exit_code, (int)i);
    }
    for (size_t i = 0; i < 5; i++)
        dv_exit_result_clear(&items[i].result);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_exit_as_inspected),
        cmocka_unit_test(test_inspections_run_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
