/* Dangling container selection: ours and untracked and past the grace only;
 * the periodic reaper's rule on top, Nomad's: running containers only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>

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

static json_t *listed(const char *id, const char *state)
{
    json_t *c = container(id, "node-a", NOW_S - 600);
    if (state)
        json_object_set_new(c, "State", json_string(state));
    return c;
}

static const char *ids(const json_t *list, const char *key)
{
    static char buf[256];
    size_t i, len = 0;
    json_t *c;
    buf[0] = '\0';
    json_array_foreach(list, i, c) len +=
        (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "," : "",
                         json_string_value(json_object_get(c, key)));
    return buf;
}

/* Nomad's reconciler lists without all=1: Docker's running, paused and
 * restarting containers. Whatever else is listed is never reaped: a stopped
 * container of ours is not dangling, old, labelled and unclaimed as it is. */
static void test_reaper_takes_running_only(void **state)
{
    (void)state;
    _cleanup_json_ json_t *list = json_array();
    json_array_append_new(list, listed("created", "created"));
    json_array_append_new(list, listed("running", "running"));
    json_array_append_new(list, listed("exited", "exited"));
    json_array_append_new(list, listed("dead", "dead"));
    json_array_append_new(list, listed("paused", "paused"));
    json_array_append_new(list, listed("restarting", "restarting"));
    json_array_append_new(list, listed("removing", "removing"));
    json_array_append_new(list, listed("nostate", NULL));

    _cleanup_json_ json_t *running = dv_dangling_running(list);
    assert_string_equal(ids(running, "Id"), "running,paused,restarting");
    /* the objects are shared, not copied: the selection reads the same fields */
    assert_ptr_equal(json_array_get(running, 0), json_array_get(list, 1));

    _cleanup_json_ json_t *out = NULL;
    assert_int_equal(dv_dangling_select(running, "node-a", tracked, NULL, (int64_t)NOW_S * SEC,
                                        300 * SEC, &out, NULL),
                     0);
    assert_string_equal(ids(out, "id"), "running,paused,restarting");

    _cleanup_json_ json_t *empty = json_array();
    _cleanup_json_ json_t *none = dv_dangling_running(empty);
    assert_int_equal(json_array_size(none), 0);
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
        cmocka_unit_test(test_reaper_takes_running_only),
        cmocka_unit_test(test_rejects_non_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
