/* Dangling container selection: ours and untracked and past the grace only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "labels.h"
#include "dangling_select.h"

#define NOW_S 1700001000
#define SEC INT64_C(1000000000)

static bool tracked(const char *container_id, const char *task_id, void *userdata)
{
    (void)task_id;
    (void)userdata;
    return strcmp(container_id, "tracked") == 0;
}

static json_t *container(const char *id, const char *node, json_int_t created)
{
    json_t *labels = json_object();
    if (node) {
        json_object_set_new(labels, DV_LABEL_NODE_ID, json_string(node));
        json_object_set_new(labels, DV_LABEL_TASK_ID, json_string("task-1"));
    }
    return json_pack("{s:s,s:[s],s:I,s:o}", "Id", id, "Names", "/web-task-1", "Created", created,
                     "Labels", labels);
}

static void test_select(void **state)
{
    (void)state;
    _cleanup_json_ json_t *list = json_array();
    json_array_append_new(list, container("old-ours", "node-a", NOW_S - 600));
    json_array_append_new(list, container("young-ours", "node-a", NOW_S - 10));
    json_array_append_new(list, container("tracked", "node-a", NOW_S - 600));
    json_array_append_new(list, container("other-node", "node-b", NOW_S - 600));
    json_array_append_new(list, container("unlabelled", NULL, NOW_S - 600));
    _cleanup_json_ json_t *out = NULL;
    assert_int_equal(dv_dangling_select(list, "node-a", tracked, NULL, (int64_t)NOW_S * SEC,
                                        300 * SEC, &out, NULL),
                     0);
    assert_int_equal(json_array_size(out), 1);
    json_t *victim = json_array_get(out, 0);
    assert_string_equal(json_string_value(json_object_get(victim, "id")), "old-ours");
    assert_string_equal(json_string_value(json_object_get(victim, "name")), "web-task-1");
    assert_string_equal(json_string_value(json_object_get(victim, "task_id")), "task-1");
}

static void test_rejects_non_array(void **state)
{
    (void)state;
    _cleanup_json_ json_t *obj = json_object();
    json_t *out = NULL;
    dv_error err;
    assert_int_equal(dv_dangling_select(obj, "n", tracked, NULL, 0, 0, &out, &err), -EINVAL);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_rejects_non_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
