/* The image GC on a task runtime (real loop, workers, state dir; the fake Engine
 * holds a removal in flight on demand, which a real daemon cannot do): a task
 * whose image is being removed waits for the outcome and fetches again if the
 * image is gone; the table is persisted on every change and reloaded; the
 * rebuild from task records; gc.image=false cancels pending removals; an image
 * a task in the table uses is never removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "fake_engine.h"
#include "image_gc.h"
#include "test_runtime.h"
#include "test_support.h"

#define IMG_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define IMG_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define IMG_C "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define IMG_D "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define T1 "11111111-1111-4111-8111-111111111111"
#define T2 "22222222-2222-4222-8222-222222222222"
#define T3 "33333333-3333-4333-8333-333333333333"
#define T9 "99999999-9999-4999-8999-999999999999"

struct env {
    dv_fake *fake;
    dv_test_runtime *tr;
    /* what the ready callback saw */
    int ready_calls;
    bool last_refetch;
    char last_task[DV_UUID_STRLEN + 1];
    int64_t ready_ns; /* dv_monotonic_ns() when the callback ran */
    bool quit_on_ready;
    const char *late_task; /* image_ready for it from a timer */
};

static struct env *E; /* the ready callback's way back (one test at a time) */

static void on_ready(dv_runtime *run, dv_task *t, bool refetch)
{
    (void)run;
    E->ready_calls++;
    E->last_refetch = refetch;
    snprintf(E->last_task, sizeof(E->last_task), "%s", t->id);
    E->ready_ns = dv_monotonic_ns();
    if (E->quit_on_ready)
        dv_loop_quit(E->tr->run.loop);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    E = e;
    e->fake = dv_fake_start(NULL, NULL);
    if (!(e->tr = dv_test_runtime_new(e->fake)))
        return -1;
    e->tr->config.docker.gc.image_delay_ns = 0;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    dv_runtime *run = &e->tr->run;
    /* after the workers: a removal's result may be queued */
    dv_lanes_shutdown(run->lanes, 5 * DV_NSEC_PER_SEC);
    dv_loop_close(run->loop);
    dv_image_gc_free(run->image_gc);
    dv_test_runtime_free(e->tr, NULL);
    dv_fake_stop(e->fake);
    free(e);
    return 0;
}

static dv_task *add_task(struct env *e, const char *id, const char *image_id, const char *image)
{
    dv_task *t = dv_task_new(id, "web");
    assert_non_null(t);
    dv_task_set_str(&t->image_id, image_id);
    dv_task_set_str(&t->image, image);
    t->state = DV_TASK_PULLING;
    t->gen = 7;
    assert_int_equal(dv_task_table_add(e->tr->run.tasks, t), 0);
    return t;
}

/* state/images.json as written by the agent */
static json_t *table(struct env *e)
{
    json_t *j = NULL;
    assert_int_equal(dv_state_store_load_images(e->tr->run.store, &j, NULL), 0);
    assert_non_null(j);
    return j;
}

static json_t *entry(json_t *table_json, const char *image_id)
{
    return json_object_get(json_object_get(table_json, "images"), image_id);
}

static void on_safety(dv_loop *loop, void *userdata)
{
    (void)userdata;
    dv_loop_quit(loop);
}

static void on_late(dv_loop *loop, void *userdata)
{
    (void)loop;
    struct env *e = userdata;
    dv_task *t = dv_task_table_get(e->tr->run.tasks, e->late_task);
    int before = e->ready_calls;
    dv_task_set_str(&t->image_id, IMG_A); /* as the runner's image step does */
    dv_task_set_str(&t->image, "app:1");
    dv_image_gc_image_ready(&e->tr->run, t, NULL, on_ready);
    /* the image is being removed: the task must wait for the outcome */
    assert_int_equal(e->ready_calls, before);
}

static void run_loop(struct env *e, int64_t late_ns)
{
    dv_timer *late = dv_timer_new(e->tr->run.loop, on_late, e);
    dv_timer *safety = dv_timer_new(e->tr->run.loop, on_safety, e);
    dv_timer_arm(late, late_ns);
    dv_timer_arm(safety, 10 * DV_NSEC_PER_SEC);
    e->quit_on_ready = true;
    assert_int_equal(dv_loop_run(e->tr->run.loop, NULL), 0);
    dv_timer_free(late);
    dv_timer_free(safety);
}

/* T1 releases app:1; while its removal is held in flight, T2 gets the same image. */
#define DELETE_DELAY_MS 1500

static void in_flight(struct env *e, int delete_status, const char *delete_body)
{
    dv_fake_reply(e->fake, "GET", "/images/" IMG_A "/json", 0, 200,
                  "{\"Id\":\"" IMG_A "\",\"RepoTags\":[\"app:1\"]}");
    dv_fake_rule del = {.method = "DELETE",
                        .path = "/images/" IMG_A,
                        .times = 1,
                        .status = delete_status,
                        .delay_ms = DELETE_DELAY_MS,
                        .body = delete_body};
    dv_fake_add(e->fake, &del);
    e->tr->run.image_gc = dv_image_gc_new(&e->tr->run);
    dv_task *t1 = add_task(e, T1, IMG_A, "app:1");
    add_task(e, T2, NULL, NULL); /* still pulling: no image id yet */
    dv_image_gc_image_ready(&e->tr->run, t1, NULL, on_ready);
    assert_int_equal(e->ready_calls, 1); /* nothing in flight: at once */
    assert_false(e->last_refetch);
    dv_image_gc_task_destroyed(&e->tr->run, t1); /* image_delay 0: due now */
    dv_task_table_remove(e->tr->run.tasks, t1, NULL);
    e->late_task = T2;
    int64_t removal_started_ns = dv_monotonic_ns(); /* the removal is due at once */
    run_loop(e, 50 * DV_NSEC_PER_MSEC);
    /* T2 went on only once Docker had answered the removal */
    assert_true(e->ready_ns - removal_started_ns >= DELETE_DELAY_MS * DV_NSEC_PER_MSEC);
    assert_int_equal(e->ready_calls, 2);
    assert_string_equal(e->last_task, T2);
    assert_non_null(dv_fake_find(e->fake, "DELETE", "/images/" IMG_A));
    /* T2 holds the image again; nothing pending */
    _cleanup_json_ json_t *t = table(e);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(entry(t, IMG_A), "tasks"), 0)), T2);
    assert_int_equal(json_integer_value(json_object_get(entry(t, IMG_A), "remove_at_ns")), 0);
}

static void test_waits_for_removal_then_fetches_again(void **state)
{
    struct env *e = *state;
    in_flight(e, 200, "[{\"Untagged\":\"app:1\"},{\"Deleted\":\"" IMG_A "\"}]");
    assert_true(e->last_refetch); /* the image is gone: fetch it again */
}

static void test_waits_for_refused_removal_then_goes_on(void **state)
{
    struct env *e = *state;
    in_flight(e, 409,
              "{\"message\":\"conflict: unable to delete aaaaaaaaaaaa (must be forced) - image "
              "is being used by stopped container 0123456789ab\"}");
    assert_false(e->last_refetch); /* the image stayed */
}

static void test_persisted_and_rebuilt(void **state)
{
    struct env *e = *state;
    dv_runtime *run = &e->tr->run;
    e->tr->config.docker.gc.image_delay_ns = 3600 * DV_NSEC_PER_SEC;
    /* before the restart: C was used by T9 (its record is gone now), D was pending */
    _cleanup_json_ json_t *old =
        json_pack("{s:i,s:{s:{s:s,s:[s],s:I},s:{s:s,s:[],s:I},s:{s:s,s:[s],s:I}}}", "version", 1,
                  "images", IMG_C, "name", "c:1", "tasks", T9, "remove_at_ns", (json_int_t)0, IMG_D,
                  "name", "d:1", "tasks", "remove_at_ns", (json_int_t)4000000000000000000, IMG_A,
                  "name", "a:1", "tasks", T1, "remove_at_ns", (json_int_t)0);
    assert_int_equal(dv_state_store_save_images(run->store, old, NULL), 0);
    run->image_gc = dv_image_gc_new(run);
    add_task(e, T1, IMG_A, "a:1");
    add_task(e, T2, IMG_A, "a:2");
    add_task(e, T3, IMG_B, "b:1");
    int64_t before = dv_realtime_ns();
    assert_int_equal(dv_image_gc_rebuild(run, NULL), 0);

    _cleanup_json_ json_t *t = table(e);
    assert_int_equal(json_array_size(json_object_get(entry(t, IMG_A), "tasks")), 2);
    assert_int_equal(json_integer_value(json_object_get(entry(t, IMG_A), "remove_at_ns")), 0);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(entry(t, IMG_B), "tasks"), 0)), T3);
    assert_int_equal(json_array_size(json_object_get(entry(t, IMG_C), "tasks")), 0);
    json_int_t c_at = json_integer_value(json_object_get(entry(t, IMG_C), "remove_at_ns"));
    assert_true(c_at >= before + 3600 * DV_NSEC_PER_SEC);
    assert_int_equal(json_integer_value(json_object_get(entry(t, IMG_D), "remove_at_ns")),
                     4000000000000000000);
    /* a second rebuild (recovery run twice) changes nothing */
    assert_int_equal(dv_image_gc_rebuild(run, NULL), 0);
    _cleanup_json_ json_t *again = table(e);
    assert_true(json_equal(t, again));

    /* gc.image turned off: the pending removals go, the used images stay */
    e->tr->config.docker.gc.image = false;
    dv_image_gc_reconfigure(run);
    _cleanup_json_ json_t *off = table(e);
    assert_null(entry(off, IMG_C));
    assert_null(entry(off, IMG_D));
    assert_non_null(entry(off, IMG_A));
    assert_non_null(entry(off, IMG_B));
    /* and a last user leaving drops the image from the table at once */
    dv_image_gc_task_destroyed(run, dv_task_table_get(run->tasks, T3));
    _cleanup_json_ json_t *gone = table(e);
    assert_null(entry(gone, IMG_B));
}

static void test_never_removes_an_image_a_task_uses(void **state)
{
    struct env *e = *state;
    dv_runtime *run = &e->tr->run;
    /* due long ago, but a task in the table uses it (the table lost track) */
    _cleanup_json_ json_t *old =
        json_pack("{s:i,s:{s:{s:s,s:[],s:I}}}", "version", 1, "images", IMG_A, "name", "a:1",
                  "tasks", "remove_at_ns", (json_int_t)1);
    assert_int_equal(dv_state_store_save_images(run->store, old, NULL), 0);
    add_task(e, T1, IMG_A, "a:1");
    run->image_gc = dv_image_gc_new(run);
    dv_timer *safety = dv_timer_new(run->loop, on_safety, e);
    dv_timer_arm(safety, 300 * DV_NSEC_PER_MSEC);
    assert_int_equal(dv_loop_run(run->loop, NULL), 0);
    dv_timer_free(safety);
    assert_null(dv_fake_find(e->fake, "DELETE", "/images"));
    assert_null(dv_fake_find(e->fake, "GET", "/images"));
    _cleanup_json_ json_t *t = table(e);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(entry(t, IMG_A), "tasks"), 0)), T1);
    assert_int_equal(json_integer_value(json_object_get(entry(t, IMG_A), "remove_at_ns")), 0);
}

static void test_unreadable_table_is_set_aside(void **state)
{
    struct env *e = *state;
    _cleanup_free_ char *path = NULL, *bad = NULL;
    assert_true(asprintf(&path, "%s/state/images.json", e->tr->dir) > 0);
    assert_true(asprintf(&bad, "%s.bad", path) > 0);
    dv_test_write_file(path, "{\"version\": 1, \"images\": ");
    e->tr->run.image_gc = dv_image_gc_new(&e->tr->run);
    _cleanup_free_ char *kept = NULL;
    assert_int_equal(dv_test_sh(&kept, "cat '%s'", bad), 0);
    assert_string_equal(kept, "{\"version\": 1, \"images\": ");
    /* the agent goes on with an empty table, and saves it on the first change */
    dv_task *t = add_task(e, T1, IMG_A, "a:1");
    dv_image_gc_image_ready(&e->tr->run, t, NULL, on_ready);
    _cleanup_json_ json_t *j = table(e);
    assert_non_null(entry(j, IMG_A));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_waits_for_removal_then_fetches_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waits_for_refused_removal_then_goes_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_persisted_and_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_removes_an_image_a_task_uses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_table_is_set_aside, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
