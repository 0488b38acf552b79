/* The dangling reaper's pure parts: which listed containers may be dangling at
 * all (gc.container false keeps stopped ones), and the on-disk record check that
 * claims a container for a task the agent has not loaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "dangling.h"
#include "state_store.h"
#include "test_support.h"

static json_t *listed(const char *id, const char *state)
{
    return state ? json_pack("{s:s,s:s}", "Id", id, "State", state) : json_pack("{s:s}", "Id", id);
}

static const char *ids(const json_t *list)
{
    static char buf[256];
    size_t i, len = 0;
    json_t *c;
    buf[0] = '\0';
    json_array_foreach(list, i, c) len +=
        (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "," : "",
                         json_string_value(json_object_get(c, "Id")));
    return buf;
}

static void test_candidates(void **state)
{
    (void)state;
    _cleanup_json_ json_t *list = json_array();
    json_array_append_new(list, listed("created", "created"));
    json_array_append_new(list, listed("running", "running"));
    json_array_append_new(list, listed("exited", "exited"));
    json_array_append_new(list, listed("dead", "dead"));
    json_array_append_new(list, listed("paused", "paused"));
    json_array_append_new(list, listed("nostate", NULL));

    _cleanup_json_ json_t *all = dv_dangling_candidates(list, false);
    assert_string_equal(ids(all), "created,running,exited,dead,paused,nostate");
    _cleanup_json_ json_t *kept = dv_dangling_candidates(list, true);
    assert_string_equal(ids(kept), "created,running,paused,nostate");
    /* the objects are shared, not copied: the reaper reads the same fields */
    assert_ptr_equal(json_array_get(kept, 0), json_array_get(list, 0));

    _cleanup_json_ json_t *empty = json_array();
    _cleanup_json_ json_t *none = dv_dangling_candidates(empty, true);
    assert_int_equal(json_array_size(none), 0);
}

static void test_record_on_disk_claims(void **state)
{
    (void)state;
    char *dir = dv_test_tmpdir("dvtest-dangling");
    dv_state_store *store = NULL;
    assert_int_equal(dv_state_store_open(dir, &store, NULL), 0);
    const char *id = "0b9c3c8e-6f0a-4b8e-9d51-3a0f2b7c9e11";
    assert_false(dv_state_store_has_task(store, id));
    _cleanup_json_ json_t *rec = json_pack("{s:i}", "version", 1);
    assert_int_equal(dv_state_store_save_task(store, id, rec, NULL), 0);
    assert_true(dv_state_store_has_task(store, id));
    assert_false(dv_state_store_has_task(store, "0b9c3c8e-6f0a-4b8e-9d51-3a0f2b7c9e12"));
    /* not a task id: no record can exist (and no path is built from it) */
    assert_false(dv_state_store_has_task(store, "../agent"));
    assert_false(dv_state_store_has_task(store, ""));
    assert_int_equal(dv_state_store_remove_task(store, id, NULL), 0);
    assert_false(dv_state_store_has_task(store, id));
    dv_state_store_free(store);
    dv_test_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_record_on_disk_claims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
