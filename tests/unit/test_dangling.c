/* The dangling reaper's on-disk record check, which claims a container for a
 * task the agent has not loaded (the selection rule: test_dangling_select.c). */
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
        cmocka_unit_test(test_record_on_disk_claims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
