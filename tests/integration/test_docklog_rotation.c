/* Rotation limits with a real container (issue 6, "Done when"): max_files files of at
 * most max_file_size each, no line lost or split across files; lines longer than
 * Docker's 16 KiB partial-message limit stay whole in the files and are split with
 * CONTAINER_PARTIAL_MESSAGE in journald. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "docklog_itest.h"
#include "docklog_protocol.h"

#define MIB (1024 * 1024)

static void run_to_drain(it_task *t)
{
    int status = it_docklog_wait(it_docklog_spawn(t), 180);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != DV_DOCKLOG_EXIT_DRAINED) {
        it_print_diag(t);
        fail_msg("docklog: status 0x%x", status);
    }
}

static void check_files(const it_task *t, const char *type, int64_t max)
{
    const char *why = it_check_files(t, type, max);
    if (why)
        fail_msg("%s", why);
}

static void test_max_files_and_size(void **state)
{
    (void)state;
    it_task t;
    /* 60,000 lines of 100 bytes: 6 MB on stdout, 1 MB files, keep 3. */
    it_task_start(&t, "rot", NULL, "stdout-lines 60000 100");
    it_write_config(&t, false, 3, 1, false);
    run_to_drain(&t);
    int files;
    int64_t max;
    _cleanup_free_ char *out = it_read_stream(&t, "stdout", &files, &max);
    assert_int_equal(files, 3);
    assert_true(max <= MIB);
    assert_true(max > MIB - 100); /* a file is closed only when the next line does not fit */
    check_files(&t, "stdout", MIB);
    /* What is kept is the end of the stream, contiguous, whole lines only. */
    long first = strtol(out, NULL, 10);
    assert_true(first > 1);
    const char *why = it_check_numbered(out, first, 1, 60000, "stdout", "\n");
    if (why)
        fail_msg("%s", why);
    /* A file takes 10485 lines (the 10486th would pass 1 MiB); files 0-5 were written
     * and the newest three kept: the stream from line 3 * 10485 + 1 on. */
    assert_int_equal(first, 3 * (MIB / 100) + 1);
    char *ls = NULL;
    dv_test_sh(&ls, "ls '%s'", t.logs);
    assert_null(strstr(ls, "ittask.stdout.0\n"));
    assert_non_null(strstr(ls, "ittask.stdout.5\n"));
    free(ls);
    it_task_cleanup(&t);
}

static void test_long_lines_stay_whole(void **state)
{
    (void)state;
    it_task t;
    /* 100 lines of 40,000 bytes per stream: Docker cuts each into 16 KiB partials. */
    it_task_start(&t, "long", NULL, "lines 200 0 40000");
    it_write_config(&t, false, 10, 1, true);
    run_to_drain(&t);
    int files;
    int64_t max;
    _cleanup_free_ char *out = it_read_stream(&t, "stdout", &files, &max);
    _cleanup_free_ char *err = it_read_stream(&t, "stderr", NULL, NULL);
    assert_int_equal(files, 4);
    check_files(&t, "stdout", MIB);
    check_files(&t, "stderr", MIB);
    const char *why = it_check_numbered(out, 1, 2, 199, "stdout", "\n");
    if (!why)
        why = it_check_numbered(err, 2, 2, 200, "stderr", "\n");
    if (why)
        fail_msg("%s", why);
    assert_int_equal(strlen(out), 100 * 40000);

    /* journald: pieces of at most 16 KiB, all but the last of a line marked partial;
     * reassembled they are the lines. */
    _cleanup_json_ json_t *j = it_journal(&t, 600, 30);
    char *list = NULL;
    dv_test_sh(&list,
               "journalctl --no-pager -q -a CONTAINER_NAME=%s PRIORITY=6 -o json "
               "--output-fields=MESSAGE,CONTAINER_PARTIAL_MESSAGE",
               t.name);
    dv_buf line = DV_BUF_INIT, all = DV_BUF_INIT;
    int pieces = 0;
    for (char *save = NULL, *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_t *e = json_loads(l, 0, NULL);
        assert_non_null(e);
        const char *m = json_string_value(json_object_get(e, "MESSAGE"));
        assert_non_null(m);
        assert_true(strlen(m) <= 16 * 1024);
        dv_buf_appends(&line, m);
        pieces++;
        if (!json_object_get(e, "CONTAINER_PARTIAL_MESSAGE")) {
            dv_buf_appends(&all, line.data);
            dv_buf_appends(&all, "\n");
            dv_buf_reset(&line);
        }
        json_decref(e);
    }
    free(list);
    assert_true(pieces >= 300);
    assert_int_equal(line.len, 0);
    assert_string_equal(all.data, out);
    dv_buf_free(&line);
    dv_buf_free(&all);
    (void)j;
    it_task_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_files_and_size),
        cmocka_unit_test(test_long_lines_stay_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
