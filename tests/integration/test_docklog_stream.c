/* docklog against the real dockerd and journald (issue 6, "Done when"):
 * - a container that printed 5 lines and exited before docklog started: all 5 in the
 *   files and in journald, with PRIORITY 3 for stderr;
 * - 100,000 numbered lines on stdout and stderr: exactly once, in order per stream,
 *   also from a TTY container;
 * - log driver "none": exit 100, a clear message, a failed checkpoint;
 * - SIGTERM: checkpoint and exit 0; a restarted docklog continues exactly. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "checkpoint.h"
#include "docklog_itest.h"
#include "docklog_protocol.h"
#include "journal_sink.h"
#include "timestamp.h"

static void expect_exit(it_task *t, int status, int code)
{
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != code) {
        it_print_diag(t);
        fail_msg("docklog ended with status 0x%x, want exit %d", status, code);
    }
}

static void expect_lines(it_task *t, const char *type, long first, long step, long last,
                         const char *word, const char *eol)
{
    _cleanup_free_ char *text = it_read_stream(t, type, NULL, NULL);
    const char *why = it_check_numbered(text, first, step, last, word, eol);
    if (why) {
        it_print_diag(t);
        fail_msg("%s file: %s", type, why);
    }
}

/* TYPE's file holds the lines FIRST, FIRST+STEP, ... each once, in order, from the start
 * and without a gap, however many there are; returns how many. */
static long expect_prefix(it_task *t, const char *type, long first, long step, const char *word)
{
    _cleanup_free_ char *text = it_read_stream(t, type, NULL, NULL);
    long lines = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        lines++;
    const char *why = it_check_numbered(text, first, step, first + (lines - 1) * step, word, "\n");
    if (why) {
        it_print_diag(t);
        fail_msg("%s file: %s", type, why);
    }
    return lines;
}

static void test_five_lines_exited_before_start(void **state)
{
    (void)state;
    it_task t;
    it_task_start(&t, "five", NULL, "lines 5");
    it_wait_exited(&t, 30);
    it_write_config(&t, false, 3, 1, true);
    /* Delivered late (more than DL_JOURNAL_LATE_NS after Docker stamped them): the
     * journal entries carry Docker's stamps, since journald's would mislead. */
    usleep(DL_JOURNAL_LATE_NS / 1000 + 200000);
    expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 60), DV_DOCKLOG_EXIT_DRAINED);
    expect_lines(&t, "stdout", 1, 2, 5, "stdout", "\n");
    expect_lines(&t, "stderr", 2, 2, 4, "stderr", "\n");
    dl_checkpoint cp;
    dv_error err;
    assert_int_equal(dl_checkpoint_load(t.checkpoint, &cp, &err), 0);
    assert_int_equal(cp.outcome, DL_OUTCOME_DONE);
    assert_string_equal(cp.container_id, t.id);
    assert_int_equal(access(t.gaps, F_OK), -1); /* its one log file was all there */

    /* journalctl CONTAINER_NAME=<name>: all 5, PRIORITY 6 stdout / 3 stderr, in order
     * per stream (Docker interleaves the two streams as its copiers see them). */
    _cleanup_json_ json_t *j = it_journal(&t, 5, 20);
    assert_int_equal(json_array_size(j), 5);
    long next[2] = {1, 2};
    for (size_t i = 0; i < 5; i++) {
        const char *msg = json_string_value(json_array_get(json_array_get(j, i), 0));
        const char *prio = json_string_value(json_array_get(json_array_get(j, i), 1));
        assert_non_null(msg);
        assert_non_null(prio);
        bool err_line = strcmp(prio, "3") == 0;
        if (!err_line)
            assert_string_equal(prio, "6");
        char want[32];
        snprintf(want, sizeof(want), "%ld %s", next[err_line], err_line ? "stderr" : "stdout");
        assert_string_equal(msg, want); /* in order, and no trailing newline */
        next[err_line] += 2;
    }
    assert_int_equal(next[0], 7);
    assert_int_equal(next[1], 6);
    char match[200];
    snprintf(match, sizeof(match), "CONTAINER_NAME=%s", t.name);
    _cleanup_json_ json_t *stamped = it_journal_entries(match, "SYSLOG_TIMESTAMP", 5, 20);
    assert_int_equal(json_array_size(stamped), 5);
    for (size_t i = 0; i < 5; i++) {
        const char *ts =
            json_string_value(json_object_get(json_array_get(stamped, i), "SYSLOG_TIMESTAMP"));
        int64_t ns;
        assert_non_null(ts);
        assert_int_equal(dv_timestamp_parse(ts, strlen(ts), &ns, NULL), 0);
    }
    /* A second run finds the checkpoint done and exits at once without output. */
    expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 30), DV_DOCKLOG_EXIT_DRAINED);
    expect_lines(&t, "stdout", 1, 2, 5, "stdout", "\n");
    it_task_cleanup(&t);
}

static void test_100k_lines_exactly_once(void **state)
{
    (void)state;
    it_task t;
    it_task_start(&t, "100k", NULL, "lines 100000");
    it_write_config(&t, false, 10, 10, true);
    /* Started while the container runs: it follows, then drains and exits. */
    expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 120), DV_DOCKLOG_EXIT_DRAINED);
    expect_lines(&t, "stdout", 1, 2, 99999, "stdout", "\n");
    expect_lines(&t, "stderr", 2, 2, 100000, "stderr", "\n");
    _cleanup_json_ json_t *j = it_journal(&t, 100000, 30);
    assert_int_equal(json_array_size(j), 100000);
    it_task_cleanup(&t);
}

static void test_tty_100k_lines_exactly_once(void **state)
{
    (void)state;
    it_task t;
    it_task_start(&t, "tty", "-t", "lines 100000");
    it_write_config(&t, true, 10, 10, false);
    expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 120), DV_DOCKLOG_EXIT_DRAINED);
    /* A TTY has one stream: every line on stdout, in order, with the terminal's CRLF. */
    expect_lines(&t, "stdout", 1, 1, 100000, "", "\r\n");
    _cleanup_free_ char *errs = it_read_stream(&t, "stderr", NULL, NULL);
    assert_string_equal(errs, "");
    it_task_cleanup(&t);
}

static void test_tty_unterminated_last_line(void **state)
{
    (void)state;
    it_task t;
    /* A shell's last output often lacks its newline: it is still a line of the log. */
    it_task_start_image(&t, "ttyend", "-t",
                        dv_test_env("DV_TEST_IMAGE_BUSYBOX", "dockvisor-test/busybox:1"),
                        "sh -c 'echo first; printf \"last, no newline\"'");
    it_wait_exited(&t, 30);
    it_write_config(&t, true, 3, 1, true);
    expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 60), DV_DOCKLOG_EXIT_DRAINED);
    _cleanup_free_ char *out = it_read_stream(&t, "stdout", NULL, NULL);
    assert_string_equal(out, "first\r\nlast, no newline");
    _cleanup_json_ json_t *j = it_journal(&t, 2, 20);
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_array_get(json_array_get(j, 1), 0)),
                        "last, no newline");
    /* Resumed from the done checkpoint: nothing again. */
    expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 30), DV_DOCKLOG_EXIT_DRAINED);
    _cleanup_free_ char *again = it_read_stream(&t, "stdout", NULL, NULL);
    assert_string_equal(again, out);
    it_task_cleanup(&t);
}

static void test_log_driver_none_is_permanent(void **state)
{
    (void)state;
    it_task t;
    it_task_start(&t, "none", "--log-driver none", "lines 5 -- sleep 30");
    it_write_config(&t, false, 3, 1, true);
    expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 60), DV_DOCKLOG_EXIT_PERMANENT);
    dl_checkpoint cp;
    dv_error err;
    assert_int_equal(dl_checkpoint_load(t.checkpoint, &cp, &err), 0);
    assert_int_equal(cp.outcome, DL_OUTCOME_FAILED);
    if (!strstr(cp.error, "log driver") || !strstr(cp.error, "none"))
        fail_msg("unclear message: %s", cp.error);
    _cleanup_free_ char *diag = NULL;
    assert_int_equal(dv_read_file(t.diag, &diag, NULL, NULL), 0);
    assert_non_null(strstr(diag, "giving up"));
    it_task_cleanup(&t);
}

static void test_container_removed_while_streaming(void **state)
{
    (void)state;
    it_task t;
    it_task_start(&t, "gone", NULL, "lines 100000 2000");
    it_write_config(&t, false, 5, 1, true);
    pid_t pid = it_docklog_spawn(&t);
    usleep(2000000);
    dv_test_sh(NULL, "docker rm -f %s >/dev/null 2>&1", t.id);
    dl_checkpoint cp;
    dv_error err;
    if (it_source_is_file()) {
        /* The files docklog holds open outlive their names: everything the container
         * wrote before it was killed is read, and that is all of its log. */
        expect_exit(&t, it_docklog_wait(pid, 60), DV_DOCKLOG_EXIT_DRAINED);
        assert_true(expect_prefix(&t, "stdout", 1, 2, "stdout") > 100);
        assert_true(expect_prefix(&t, "stderr", 2, 2, "stderr") > 100);
        assert_int_equal(dl_checkpoint_load(t.checkpoint, &cp, &err), 0);
        assert_int_equal(cp.outcome, DL_OUTCOME_DONE);
        it_task_cleanup(&t);
        return;
    }
    /* Through the API, what was read is in the files once; the rest is gone with the
     * container: a permanent failure that says so, not a respawn loop nor "drained". */
    expect_exit(&t, it_docklog_wait(pid, 60), DV_DOCKLOG_EXIT_PERMANENT);
    assert_true(expect_prefix(&t, "stdout", 1, 2, "stdout") > 100);
    assert_true(expect_prefix(&t, "stderr", 2, 2, "stderr") > 100);
    assert_int_equal(dl_checkpoint_load(t.checkpoint, &cp, &err), 0);
    assert_int_equal(cp.outcome, DL_OUTCOME_FAILED);
    if (!strstr(cp.error, "no longer exists") && !strstr(cp.error, "being removed"))
        fail_msg("unclear message: %s", cp.error);
    it_task_cleanup(&t);
}

/* Every fd of process PID above stderr is close-on-exec; returns how many it has. */
static int expect_cloexec(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int)pid);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] == '.' || fd <= 2)
            continue;
        char path[128];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        _cleanup_free_ char *info = NULL;
        if (dv_read_file(path, &info, NULL, NULL) < 0)
            continue; /* closed meanwhile */
        const char *f = strstr(info, "flags:");
        assert_non_null(f);
        unsigned long flags = strtoul(f + 6, NULL, 8);
        if (!(flags & O_CLOEXEC))
            fail_msg("docklog's fd %d is not close-on-exec (flags 0%lo)", fd, flags);
        n++;
    }
    closedir(d);
    return n;
}

static void test_sigterm_checkpoints_and_resumes(void **state)
{
    (void)state;
    it_task t;
    it_task_start(&t, "term", NULL, "lines 30000 10000");
    it_write_config(&t, false, 5, 1, true);
    pid_t pid = it_docklog_spawn(&t);
    usleep(1500000); /* mid-stream */
    /* signalfd, log files, journald socket, the daemon connection at least */
    assert_true(expect_cloexec(pid) >= 5);
    kill(pid, SIGTERM);
    expect_exit(&t, it_docklog_wait(pid, 30), DV_DOCKLOG_EXIT_DRAINED);
    dl_checkpoint cp;
    dv_error err;
    assert_int_equal(dl_checkpoint_load(t.checkpoint, &cp, &err), 0);
    assert_int_equal(cp.outcome, DL_OUTCOME_RUNNING);
    assert_true(cp.pos.ts[0] != DL_TS_NONE && cp.pos.ts[1] != DL_TS_NONE);
    _cleanup_free_ char *diag = NULL;
    assert_int_equal(dv_read_file(t.diag, &diag, NULL, NULL), 0);
    assert_non_null(strstr(diag, "stopped by signal 15"));

    expect_exit(&t, it_docklog_wait(it_docklog_spawn(&t), 120), DV_DOCKLOG_EXIT_DRAINED);
    expect_lines(&t, "stdout", 1, 2, 29999, "stdout", "\n");
    expect_lines(&t, "stderr", 2, 2, 30000, "stderr", "\n");
    it_task_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_five_lines_exited_before_start),
        cmocka_unit_test(test_100k_lines_exactly_once),
        cmocka_unit_test(test_tty_100k_lines_exactly_once),
        cmocka_unit_test(test_tty_unterminated_last_line),
        cmocka_unit_test(test_log_driver_none_is_permanent),
        cmocka_unit_test(test_container_removed_while_streaming),
        cmocka_unit_test(test_sigterm_checkpoints_and_resumes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
