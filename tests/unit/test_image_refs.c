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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refcount_and_delayed_removal),
        cmocka_unit_test(test_acquire_cancels_pending_removal),
        cmocka_unit_test(test_persistence_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
