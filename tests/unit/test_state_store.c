/* The persistent state directory: node id, task records, quarantine, image table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "state_store.h"
#include "test_support.h"

#define ID_A "11111111-2222-4333-8444-555555555555"
#define ID_B "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

struct bad_seen {
    int count;
    char last_why[256];
    char last_id[64];
};

static void on_bad(const char *task_id, const char *moved_to, const char *why, void *userdata)
{
    struct bad_seen *seen = userdata;
    seen->count++;
    snprintf(seen->last_why, sizeof(seen->last_why), "%s", why);
    snprintf(seen->last_id, sizeof(seen->last_id), "%s", task_id);
    assert_int_equal(access(moved_to, F_OK), 0);
}

static void test_node_id_is_created_once(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dv-state");
    dv_state_store *s = NULL;
    assert_int_equal(dv_state_store_open(dir, &s, NULL), 0);
    char a[DV_UUID_STRLEN + 1], b[DV_UUID_STRLEN + 1];
    assert_int_equal(dv_state_store_node_id(s, a, NULL), 0);
    dv_state_store_free(s);
    assert_int_equal(dv_state_store_open(dir, &s, NULL), 0);
    assert_int_equal(dv_state_store_node_id(s, b, NULL), 0);
    assert_string_equal(a, b);

    /* A damaged agent.json is an error, never a silent new identity. */
    _cleanup_free_ char *path = NULL;
    assert_true(asprintf(&path, "%s/state/agent.json", dir) > 0);
    dv_test_write_file(path, "{not json");
    dv_error err;
    assert_int_equal(dv_state_store_node_id(s, b, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "agent.json"));
    dv_state_store_free(s);
    dv_test_rm_rf(dir);
}

static void test_task_records(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dv-state");
    dv_state_store *s = NULL;
    assert_int_equal(dv_state_store_open(dir, &s, NULL), 0);
    _cleanup_json_ json_t *rec = json_pack("{s:i,s:s}", "version", 1, "name", "web");
    assert_int_equal(dv_state_store_save_task(s, ID_A, rec, NULL), 0);
    assert_int_equal(dv_state_store_save_task(s, ID_B, rec, NULL), 0);

    _cleanup_free_ char *path = NULL;
    assert_true(asprintf(&path, "%s/state/tasks/%s.json", dir, ID_A) > 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* specs may hold credentials */

    dv_error err;
    assert_int_equal(dv_state_store_save_task(s, "../../etc/passwd", rec, &err), -EINVAL);
    _cleanup_json_ json_t *unversioned = json_pack("{s:s}", "name", "x");
    assert_int_equal(dv_state_store_save_task(s, ID_A, unversioned, &err), -EINVAL);

    /* Leftover of an interrupted write, a corrupt record, a future version, a stray file. */
    _cleanup_free_ char *tmp = NULL, *corrupt = NULL, *future = NULL, *stray = NULL;
    assert_true(asprintf(&tmp, "%s/state/tasks/%s.json.tmp", dir, ID_A) > 0);
    dv_test_write_file(tmp, "{\"version\":1,\"na");
    assert_true(
        asprintf(&corrupt, "%s/state/tasks/22222222-2222-4222-8222-222222222222.json", dir) > 0);
    dv_test_write_file(corrupt, "{\"version\":1,");
    assert_true(asprintf(&future, "%s/state/tasks/33333333-3333-4333-8333-333333333333.json", dir) >
                0);
    dv_test_write_file(future, "{\"version\":99}");
    assert_true(asprintf(&stray, "%s/state/tasks/notes.txt", dir) > 0);
    dv_test_write_file(stray, "hello");

    struct bad_seen seen = {0};
    _cleanup_json_ json_t *loaded = NULL;
    assert_int_equal(dv_state_store_load_tasks(s, 1, on_bad, &seen, &loaded, NULL), 0);
    assert_int_equal(json_object_size(loaded), 2);
    assert_non_null(json_object_get(loaded, ID_A));
    assert_non_null(json_object_get(loaded, ID_B));
    assert_int_equal(seen.count, 3);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(access(future, F_OK), -1); /* moved aside, not deleted */
    _cleanup_free_ char *listing = NULL;
    dv_test_sh(&listing, "ls %s/state/quarantine", dir);
    assert_non_null(strstr(listing, "33333333-3333-4333-8333-333333333333.json."));

    /* The message for an unknown version says what happened. */
    seen.count = 0;
    dv_test_write_file(future, "{\"version\":99}");
    json_decref(loaded);
    loaded = NULL;
    assert_int_equal(dv_state_store_load_tasks(s, 1, on_bad, &seen, &loaded, NULL), 0);
    assert_int_equal(seen.count, 1);
    assert_string_equal(seen.last_why, "unknown record version 99 (this agent reads 1)");
    assert_string_equal(seen.last_id, "33333333-3333-4333-8333-333333333333");

    assert_int_equal(dv_state_store_remove_task(s, ID_A, NULL), 0);
    assert_int_equal(dv_state_store_remove_task(s, ID_A, NULL), 0);
    assert_int_equal(access(path, F_OK), -1);
    dv_state_store_free(s);
    dv_test_rm_rf(dir);
}

static void test_images_table(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dv-state");
    dv_state_store *s = NULL;
    assert_int_equal(dv_state_store_open(dir, &s, NULL), 0);
    json_t *none = (json_t *)1;
    assert_int_equal(dv_state_store_load_images(s, &none, NULL), 0);
    assert_null(none);
    _cleanup_json_ json_t *table = json_pack("{s:i,s:{}}", "version", 1, "images");
    assert_int_equal(dv_state_store_save_images(s, table, NULL), 0);
    _cleanup_json_ json_t *back = NULL;
    assert_int_equal(dv_state_store_load_images(s, &back, NULL), 0);
    assert_true(json_equal(table, back));
    dv_state_store_free(s);
    dv_test_rm_rf(dir);
}

/* read(2)-like system calls of this process so far (/proc/self/io syscr): counts
 * those made inside shared libraries too, which a --wrap=read would not see. */
static long read_calls(void)
{
    _cleanup_free_ char *io = NULL;
    assert_int_equal(dv_read_file("/proc/self/io", &io, NULL, NULL), 0);
    const char *syscr = strstr(io, "syscr: ");
    assert_non_null(syscr);
    return atol(syscr + 7);
}

/* Recovery reads every record at agent start: each must come in a read(2) or two,
 * not one byte per call (json_loadfd did that: ~1,400 calls for a task record). */
static void test_records_are_read_whole(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dv-state");
    dv_state_store *s = NULL;
    assert_int_equal(dv_state_store_open(dir, &s, NULL), 0);
    char pad[3000];
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    enum { N = 20 };
    for (int i = 0; i < N; i++) {
        char id[64];
        snprintf(id, sizeof(id), "11111111-2222-4333-8444-%012d", i);
        _cleanup_json_ json_t *rec =
            json_pack("{s:i,s:s,s:s}", "version", 1, "name", id, "pad", pad);
        assert_int_equal(dv_state_store_save_task(s, id, rec, NULL), 0);
    }
    struct bad_seen seen = {0};
    _cleanup_json_ json_t *loaded = NULL;
    long before = read_calls();
    assert_int_equal(dv_state_store_load_tasks(s, 1, on_bad, &seen, &loaded, NULL), 0);
    long calls = read_calls() - before;
    assert_int_equal(json_object_size(loaded), N);
    assert_int_equal(seen.count, 0);
    /* 2 per record (the data, then EOF) and a few for /proc/self/io itself. */
    if (calls > 3 * N + 5)
        fail_msg("%ld read calls for %d records of %zu bytes", calls, N, sizeof(pad));
    dv_state_store_free(s);
    dv_test_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_id_is_created_once),
        cmocka_unit_test(test_task_records),
        cmocka_unit_test(test_images_table),
        cmocka_unit_test(test_records_are_read_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
