/* kill -9 of docklog at 10 random moments while 100,000 numbered lines stream
 * (issue 6, "Done when"): each time it is restarted, as the agent would. Every line
 * must be in the files exactly once and in order per stream; in journald every line
 * at least once, duplicates only from the batch in flight at each kill. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "checkpoint.h"
#include "docklog_itest.h"
#include "docklog_protocol.h"

#define LINES 100000
#define KILLS 10
/* A batch is at most DL_HTTP_BATCH_MAX (256 KiB) plus one 64 KiB read; a frame of
 * these lines is at least 8 + 31 + 14 bytes, so a batch holds at most ~6200 entries. */
#define MAX_BATCH_ENTRIES ((256 + 64) * 1024 / (8 + 31 + 14) + 1)

static void test_kill9_ten_times(void **state)
{
    (void)state;
    it_task t;
    /* ~15 s of output: the kills land while it streams. */
    it_task_start(&t, "kill", NULL, "lines 100000 8000");
    it_write_config(&t, false, 10, 10, true);
    srandom((unsigned)getpid());
    const char *why = NULL;
    int killed_mid_stream = 0;
    pid_t pid = it_kill9_rounds(&t, it_docklog_spawn(&t), KILLS, 200000, 1000000, NULL,
                                &killed_mid_stream, &why);
    if (pid < 0) {
        it_print_diag(&t);
        fail_msg("%s", why);
    }
    assert_true(killed_mid_stream >= KILLS / 2);
    int status = it_docklog_wait(pid, 180);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != DV_DOCKLOG_EXIT_DRAINED) {
        it_print_diag(&t);
        fail_msg("final docklog: status 0x%x", status);
    }

    /* Files: exactly once, in order. */
    _cleanup_free_ char *out = it_read_stream(&t, "stdout", NULL, NULL);
    _cleanup_free_ char *err = it_read_stream(&t, "stderr", NULL, NULL);
    why = it_check_numbered(out, 1, 2, LINES - 1, "stdout", "\n");
    if (!why)
        why = it_check_numbered(err, 2, 2, LINES, "stderr", "\n");
    if (why) {
        it_print_diag(&t);
        fail_msg("files after %d kills: %s", KILLS, why);
    }

    /* journald: at least once; duplicates bounded by the batches in flight. */
    why = it_check_journal_numbered(&t, LINES, (size_t)KILLS * MAX_BATCH_ENTRIES);
    if (why)
        fail_msg("after %d kills: %s", KILLS, why);
    it_task_cleanup(&t);
}

static void check_files(const it_task *t, const char *type, int64_t max)
{
    const char *why = it_check_files(t, type, max);
    if (why)
        fail_msg("%s", why);
}

static void test_kill9_while_rotating_long_lines(void **state)
{
    (void)state;
    it_task t;
    /* 40,000-byte lines (Docker's 16 KiB partials) into 1 MiB files: rotations move
     * partial lines to the next file, cut the old one back and expire files beyond
     * max_files, all while docklog is killed. */
    it_task_start(&t, "killrot", NULL, "lines 800 100 40000");
    it_write_config(&t, false, 6, 1, false);
    srandom((unsigned)getpid() + 1);
    pid_t pid = it_docklog_spawn(&t);
    for (int k = 0; k < 8; k++) {
        usleep(100000 + (useconds_t)(random() % 700000));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        pid = it_docklog_spawn(&t);
    }
    int status = it_docklog_wait(pid, 120);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != DV_DOCKLOG_EXIT_DRAINED) {
        it_print_diag(&t);
        fail_msg("final docklog: status 0x%x", status);
    }
    check_files(&t, "stdout", 1024 * 1024);
    check_files(&t, "stderr", 1024 * 1024);
    /* 400 lines per stream, 26 to a file: files 0-15, the newest six kept (the last
     * holding 10): the end of each stream, exactly once. */
    _cleanup_free_ char *out = it_read_stream(&t, "stdout", NULL, NULL);
    _cleanup_free_ char *err = it_read_stream(&t, "stderr", NULL, NULL);
    long first_out = strtol(out, NULL, 10), first_err = strtol(err, NULL, 10);
    const char *why = it_check_numbered(out, first_out, 2, 799, "stdout", "\n");
    if (!why)
        why = it_check_numbered(err, first_err, 2, 800, "stderr", "\n");
    if (why) {
        it_print_diag(&t);
        fail_msg("files after kills during rotation: %s", why);
    }
    assert_int_equal((800 - first_err) / 2 + 1, 400 - 26 * (16 - 6));
    assert_int_equal((799 - first_out) / 2 + 1, 400 - 26 * (16 - 6));
    it_task_cleanup(&t);
}

/* Docker's local driver read from disk (docklog/localfile.h): a fast writer under a
 * small max-size, so files rotate and are gzipped while docklog follows them, and
 * docklog killed three times mid-stream, each new one resuming from its checkpoint
 * (through the .gz files Docker made meanwhile). Every line exactly once, no gap.
 * File source only: through the API this is Docker's follow reader, which loses
 * lines under such a writer (DESIGN.md, Logs). */
static void test_local_driver_rotation_kills(void **state)
{
    (void)state;
    if (!it_source_is_file())
        skip();
    it_task t;
    /* ~40 bytes a frame, 30,000 lines at 10,000/s: ~12 files of 100k in 3 s, five
     * kept (.1.gz ... .4.gz): 1.2 s of slack for each restart. */
    it_task_start(&t, "local", "--log-driver local --log-opt max-size=100k --log-opt max-file=5",
                  "lines 30000 10000");
    it_write_config(&t, false, 10, 10, false);
    srandom((unsigned)getpid() + 2);
    const char *why = NULL;
    int mid = 0;
    pid_t pid = it_kill9_rounds(&t, it_docklog_spawn(&t), 3, 300000, 500000, NULL, &mid, &why);
    if (pid < 0) {
        it_print_diag(&t);
        fail_msg("%s", why);
    }
    int status = it_docklog_wait(pid, 120);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != DV_DOCKLOG_EXIT_DRAINED) {
        it_print_diag(&t);
        fail_msg("final docklog: status 0x%x", status);
    }
    _cleanup_free_ char *diag = NULL;
    assert_int_equal(dv_read_file(t.diag, &diag, NULL, NULL), 0);
    if (!strstr(diag, "local-logs/container.log directly"))
        fail_msg("the local log was not read from disk:\n%s", diag);
    assert_int_equal(access(t.gaps, F_OK), -1); /* no gap recorded */
    _cleanup_free_ char *out = it_read_stream(&t, "stdout", NULL, NULL);
    _cleanup_free_ char *err = it_read_stream(&t, "stderr", NULL, NULL);
    why = it_check_numbered(out, 1, 2, 29999, "stdout", "\n");
    if (!why)
        why = it_check_numbered(err, 2, 2, 30000, "stderr", "\n");
    if (why) {
        it_print_diag(&t);
        fail_msg("local driver after %d kills (%d mid-stream): %s", 3, mid, why);
    }
    fprintf(stderr, "local driver: %d of 3 kills mid-stream\n", mid);
    it_task_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_ten_times),
        cmocka_unit_test(test_kill9_while_rotating_long_lines),
        cmocka_unit_test(test_local_driver_rotation_kills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
