/* Image reference counts and delayed removal, including persistence. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "image_refs.h"

#define SEC INT64_C(1000000000)

static void test_refcount_and_delayed_removal(void **state)
{
    (void)state;
    dv_image_refs *r = dv_image_refs_new();
    char due[128];
    assert_int_equal(dv_image_refs_acquire(r, "sha256:a", "img:1", "t1", NULL), 0);
    assert_int_equal(dv_image_refs_acquire(r, "sha256:a", "img:1", "t2", NULL), 0);
    assert_int_equal(dv_image_refs_acquire(r, "sha256:a", "img:1", "t2", NULL), 0); /* idempotent */
    assert_int_equal(dv_image_refs_count(r, "sha256:a"), 2);
    assert_int_equal(dv_image_refs_release(r, "sha256:a", "t1", 100 * SEC, 180 * SEC), 1);
    assert_int_equal(dv_image_refs_next_due(r), 0);
    assert_int_equal(dv_image_refs_release(r, "sha256:a", "t2", 100 * SEC, 180 * SEC), 0);
    assert_int_equal(dv_image_refs_next_due(r), 280 * SEC);
    assert_false(dv_image_refs_take_due(r, 279 * SEC, due, sizeof(due)));
    assert_true(dv_image_refs_take_due(r, 280 * SEC, due, sizeof(due)));
    assert_string_equal(due, "sha256:a");
    dv_image_refs_forget(r, "sha256:a");
    assert_false(dv_image_refs_take_due(r, 999 * SEC, due, sizeof(due)));
    dv_image_refs_free(r);
}

static void test_acquire_cancels_pending_removal(void **state)
{
    (void)state;
    dv_image_refs *r = dv_image_refs_new();
    char due[128];
    dv_image_refs_acquire(r, "sha256:b", "b", "t1", NULL);
    dv_image_refs_release(r, "sha256:b", "t1", 0, 10 * SEC);
    dv_image_refs_acquire(r, "sha256:b", "b", "t3", NULL);
    assert_false(dv_image_refs_take_due(r, 100 * SEC, due, sizeof(due)));
    assert_int_equal(dv_image_refs_next_due(r), 0);
    /* forget refuses an image that is in use */
    dv_image_refs_forget(r, "sha256:b");
    assert_int_equal(dv_image_refs_count(r, "sha256:b"), 1);
    /* releasing an unknown holder changes nothing */
    assert_int_equal(dv_image_refs_release(r, "sha256:b", "nobody", 0, 0), 1);
    dv_image_refs_free(r);
}

static void test_persistence_round_trip(void **state)
{
    (void)state;
    dv_image_refs *r = dv_image_refs_new();
    dv_image_refs_acquire(r, "sha256:c", "c:1", "t1", NULL);
    dv_image_refs_acquire(r, "sha256:d", "d:1", "t2", NULL);
    dv_image_refs_release(r, "sha256:d", "t2", 5 * SEC, 5 * SEC);
    _cleanup_json_ json_t *j = dv_image_refs_to_json(r);
    dv_image_refs_free(r);

    dv_image_refs *back = NULL;
    assert_int_equal(dv_image_refs_from_json(j, &back, NULL), 0);
    assert_int_equal(dv_image_refs_count(back, "sha256:c"), 1);
    assert_int_equal(dv_image_refs_count(back, "sha256:d"), 0);
    assert_int_equal(dv_image_refs_next_due(back), 10 * SEC);
    dv_image_refs_free(back);

    _cleanup_json_ json_t *bad = json_pack("{s:i,s:{}}", "version", 9, "images");
    dv_error err;
    assert_int_equal(dv_image_refs_from_json(bad, &back, &err), -EINVAL);
    assert_string_equal(err.msg, "image table: unknown version 9");
}

static void test_names_are_kept_per_image(void **state)
{
    (void)state;
    dv_image_refs *r = dv_image_refs_new();
    size_t n = 0;
    dv_image_refs_acquire(r, "sha256:e", "e:1", "t1", NULL);
    dv_image_refs_acquire(r, "sha256:e", "copy-of-e:1", "t2", NULL);
    dv_image_refs_acquire(r, "sha256:e", "e:1", "t3", NULL);
    /* a task that only knows the id adds no name: the id is never removed as a name */
    dv_image_refs_acquire(r, "sha256:e", "sha256:e", "t4", NULL);
    dv_image_refs_acquire(r, "sha256:e", NULL, "t5", NULL);
    const char *const *names = dv_image_refs_names(r, "sha256:e", &n);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "e:1");
    assert_string_equal(names[1], "copy-of-e:1");
    assert_null(dv_image_refs_names(r, "sha256:nope", &n));
    assert_int_equal(n, 0);
    assert_true(dv_image_refs_holds(r, "sha256:e", "t4"));
    assert_false(dv_image_refs_holds(r, "sha256:e", "t9"));
    assert_false(dv_image_refs_holds(r, "sha256:nope", "t1"));

    _cleanup_json_ json_t *j = dv_image_refs_to_json(r);
    dv_image_refs_free(r);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(j, "images"), "sha256:e"), "name")),
                        "e:1");
    dv_image_refs *back = NULL;
    assert_int_equal(dv_image_refs_from_json(j, &back, NULL), 0);
    names = dv_image_refs_names(back, "sha256:e", &n);
    assert_int_equal(n, 2);
    assert_string_equal(names[1], "copy-of-e:1");
    assert_int_equal(dv_image_refs_count(back, "sha256:e"), 5);
    dv_image_refs_free(back);
}

static void test_reads_tables_without_names(void **state)
{
    (void)state;
    /* the first version of the file had "name" only */
    _cleanup_json_ json_t *j =
        json_loads("{\"version\":1,\"images\":{\"sha256:f\":{\"name\":\"f:1\",\"tasks\":[],"
                   "\"remove_at_ns\":7000000000}}}",
                   0, NULL);
    dv_image_refs *r = NULL;
    assert_int_equal(dv_image_refs_from_json(j, &r, NULL), 0);
    size_t n = 0;
    const char *const *names = dv_image_refs_names(r, "sha256:f", &n);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "f:1");
    assert_int_equal(dv_image_refs_next_due(r), 7 * SEC);
    dv_image_refs_free(r);

    const char *bad[] = {
        "{\"version\":1,\"images\":[]}",
        "{\"version\":1,\"images\":{\"x\":{\"name\":\"x\",\"tasks\":[1],\"remove_at_ns\":0}}}",
        "{\"version\":1,\"images\":{\"x\":{\"name\":\"x\",\"names\":{},\"tasks\":[],"
        "\"remove_at_ns\":0}}}",
        "{\"version\":1,\"images\":{\"x\":{\"tasks\":[],\"remove_at_ns\":0}}}",
        "{\"images\":{}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        _cleanup_json_ json_t *b = json_loads(bad[i], 0, NULL);
        dv_error err;
        r = NULL;
        assert_non_null(b);
        assert_int_equal(dv_image_refs_from_json(b, &r, &err), -EINVAL);
        assert_null(r);
    }
}

static void test_postpone_and_forget_unused(void **state)
{
    (void)state;
    dv_image_refs *r = dv_image_refs_new();
    char due[128];
    dv_image_refs_acquire(r, "sha256:g", "g", "t1", NULL);
    dv_image_refs_acquire(r, "sha256:h", "h", "t2", NULL);
    dv_image_refs_acquire(r, "sha256:i", "i", "t3", NULL);
    dv_image_refs_release(r, "sha256:g", "t1", 10 * SEC, 5 * SEC);
    dv_image_refs_release(r, "sha256:h", "t2", 10 * SEC, 2 * SEC);
    dv_image_refs_postpone(r, "sha256:h", 60 * SEC);
    dv_image_refs_postpone(r, "sha256:i", 60 * SEC); /* in use: untouched */
    assert_int_equal(dv_image_refs_next_due(r), 15 * SEC);
    assert_true(dv_image_refs_take_due(r, 20 * SEC, due, sizeof(due)));
    assert_string_equal(due, "sha256:g");
    size_t images = 0, pending = 0;
    dv_image_refs_stats(r, &images, &pending);
    assert_int_equal(images, 3);
    assert_int_equal(pending, 2);
    assert_int_equal(dv_image_refs_forget_unused(r), 2);
    dv_image_refs_stats(r, &images, &pending);
    assert_int_equal(images, 1);
    assert_int_equal(pending, 0);
    assert_int_equal(dv_image_refs_count(r, "sha256:i"), 1);
    assert_int_equal(dv_image_refs_next_due(r), 0);
    dv_image_refs_free(r);
}

static bool keep_even_tasks(const char *image_id, const char *task_id, void *userdata)
{
    (void)image_id;
    (*(int *)userdata)++;
    return (task_id[1] - '0') % 2 == 0;
}

static void test_retain(void **state)
{
    (void)state;
    dv_image_refs *r = dv_image_refs_new();
    dv_image_refs_acquire(r, "sha256:j", "j", "t1", NULL);
    dv_image_refs_acquire(r, "sha256:j", "j", "t2", NULL);
    dv_image_refs_acquire(r, "sha256:j", "j", "t3", NULL);
    dv_image_refs_acquire(r, "sha256:k", "k", "t5", NULL);
    dv_image_refs_acquire(r, "sha256:l", "l", "t6", NULL);
    int calls = 0;
    assert_int_equal(dv_image_refs_retain(r, keep_even_tasks, &calls, 100 * SEC, 3 * SEC), 3);
    assert_int_equal(calls, 5);
    assert_int_equal(dv_image_refs_count(r, "sha256:j"), 1);
    assert_true(dv_image_refs_holds(r, "sha256:j", "t2"));
    assert_int_equal(dv_image_refs_count(r, "sha256:k"), 0);
    assert_int_equal(dv_image_refs_count(r, "sha256:l"), 1);
    /* only k lost its last user: due after the delay */
    assert_int_equal(dv_image_refs_next_due(r), 103 * SEC);
    dv_image_refs_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refcount_and_delayed_removal),
        cmocka_unit_test(test_acquire_cancels_pending_removal),
        cmocka_unit_test(test_persistence_round_trip),
        cmocka_unit_test(test_names_are_kept_per_image),
        cmocka_unit_test(test_reads_tables_without_names),
        cmocka_unit_test(test_postpone_and_forget_unused),
        cmocka_unit_test(test_retain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
