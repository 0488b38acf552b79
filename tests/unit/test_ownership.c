/* ownership.h: a container is the task's only when its labels carry this node's
 * id and the task's id; every other case is refused with what it carries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "cleanup.h"
#include "ownership.h"

#define NODE "4238a8df-4c01-4f77-ba8b-a7962f09fbf7"
#define TASK "4a96d3cd-1111-4222-8333-944455556666"
#define OTHER "079a6c4f-aaaa-4bbb-8ccc-dddddddddddd"

/* An inspect as the Engine answers it; NULL labels: "Labels": null (docker run
 * without labels gives {} or null depending on the version). */
static json_t *inspect(json_t *labels)
{
    return json_pack("{s:s,s:{s:s,s:o}}", "Id", "ab", "Config", "Image", "busybox", "Labels",
                     labels ? labels : json_null());
}

static int check(json_t *labels, dv_error *err)
{
    _cleanup_json_ json_t *ins = inspect(labels);
    return dv_owner_check_inspect(ins, NODE, TASK, err);
}

static void test_ours(void **state)
{
    (void)state;
    dv_error err;
    assert_int_equal(
        check(json_pack("{s:s,s:s,s:s,s:s}", "io.dockvisor.node_id", NODE, "io.dockvisor.task_id",
                        TASK, "io.dockvisor.task_name", "web", "extra", "x"),
              &err),
        0);
}

static void test_no_labels(void **state)
{
    (void)state;
    dv_error err;
    assert_int_equal(check(NULL, &err), -EPERM);
    assert_string_equal(err.msg, "no io.dockvisor labels");
    assert_int_equal(check(json_object(), &err), -EPERM);
    assert_string_equal(err.msg, "no io.dockvisor labels");
    /* somebody else's labels are no labels of ours */
    assert_int_equal(check(json_pack("{s:s}", "com.example.app", "db"), &err), -EPERM);
    assert_string_equal(err.msg, "no io.dockvisor labels");
    /* no Config at all */
    _cleanup_json_ json_t *bare = json_pack("{s:s}", "Id", "ab");
    assert_int_equal(dv_owner_check_inspect(bare, NODE, TASK, &err), -EPERM);
    assert_int_equal(dv_owner_check_inspect(NULL, NODE, TASK, &err), -EPERM);
}

static void test_other_node(void **state)
{
    (void)state;
    dv_error err;
    assert_int_equal(
        check(json_pack("{s:s,s:s}", "io.dockvisor.node_id", OTHER, "io.dockvisor.task_id", TASK),
              &err),
        -EPERM);
    assert_string_equal(err.msg, "io.dockvisor.node_id=" OTHER " io.dockvisor.task_id=" TASK);
    /* our task id without any node id is not enough either */
    assert_int_equal(check(json_pack("{s:s}", "io.dockvisor.task_id", TASK), &err), -EPERM);
    assert_string_equal(err.msg, "io.dockvisor.node_id=(none) io.dockvisor.task_id=" TASK);
}

static void test_other_task(void **state)
{
    (void)state;
    dv_error err;
    /* this node's container of another task: as foreign as any */
    assert_int_equal(
        check(json_pack("{s:s,s:s}", "io.dockvisor.node_id", NODE, "io.dockvisor.task_id", OTHER),
              &err),
        -EPERM);
    assert_string_equal(err.msg, "io.dockvisor.node_id=" NODE " io.dockvisor.task_id=" OTHER);
    assert_int_equal(check(json_pack("{s:s}", "io.dockvisor.node_id", NODE), &err), -EPERM);
    assert_string_equal(err.msg, "io.dockvisor.node_id=" NODE " io.dockvisor.task_id=(none)");
    /* a label that is not a string, or an empty id, never matches */
    assert_int_equal(
        check(json_pack("{s:s,s:i}", "io.dockvisor.node_id", NODE, "io.dockvisor.task_id", 7),
              &err),
        -EPERM);
    _cleanup_json_ json_t *labels =
        json_pack("{s:s,s:s}", "io.dockvisor.node_id", NODE, "io.dockvisor.task_id", "");
    assert_int_equal(dv_owner_check_labels(labels, NODE, "", &err), -EPERM);
}

static void test_list_entry(void **state)
{
    (void)state;
    /* the container list's Labels, as recovery passes them */
    _cleanup_json_ json_t *labels =
        json_pack("{s:s,s:s}", "io.dockvisor.node_id", NODE, "io.dockvisor.task_id", TASK);
    assert_int_equal(dv_owner_check_labels(labels, NODE, TASK, NULL), 0);
    assert_int_equal(dv_owner_check_labels(labels, NODE, OTHER, NULL), -EPERM);
    assert_int_equal(dv_owner_check_labels(labels, OTHER, TASK, NULL), -EPERM);
    assert_int_equal(dv_owner_check_labels(NULL, NODE, TASK, NULL), -EPERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ours),       cmocka_unit_test(test_no_labels),
        cmocka_unit_test(test_other_node), cmocka_unit_test(test_other_task),
        cmocka_unit_test(test_list_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
