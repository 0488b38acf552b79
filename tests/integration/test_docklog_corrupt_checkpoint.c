/* A corrupt checkpoint costs no position (issue 12 item 9): kill -9 docklog while
 * numbered lines stream, damage its checkpoint (garbage, truncated JSON, empty,
 * wrong types, missing), restart it, five times. It must resume from the
 * checkpoint's copy (docklog/checkpoint_copy.h): every line in the files exactly
 * once and in order per stream; in journald every line, repeated only from the
 * batch in flight at each kill, as after a kill alone. Before the copy existed each
 * damaged checkpoint made docklog start over in new files: every line again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "docklog_itest.h"
#include "docklog_protocol.h"

#define LINES 40000
#define SIZE 100
/* A batch is at most DL_HTTP_BATCH_MAX (256 KiB) plus one 64 KiB read, of frames
 * (or json-file lines, larger) of at least 8 + 31 + SIZE bytes. */
#define MAX_BATCH_ENTRIES ((256 + 64) * 1024 / (8 + 31 + SIZE) + 1)

enum damage { GARBAGE, TRUNCATED, EMPTY, WRONG_TYPES, MISSING, DAMAGES };
static const char *const damage_names[] = {"garbage", "truncated JSON", "empty", "wrong types",
                                           "missing"};

static void damage(const it_task *t, enum damage how)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    if (dv_read_file(t->checkpoint, &text, &len, NULL) < 0)
        it_die("read checkpoint");
    switch (how) {
    case GARBAGE:
        dv_test_write_file(t->checkpoint, "\x7f\x45LF \x01\x02 not a checkpoint");
        break;
    case TRUNCATED:
        text[len / 2] = '\0';
        dv_test_write_file(t->checkpoint, text);
        break;
    case EMPTY:
        dv_test_write_file(t->checkpoint, "");
        break;
    case WRONG_TYPES:
        dv_test_write_file(t->checkpoint,
                           "{\"version\":1,\"container_id\":7,\"outcome\":\"running\","
                           "\"position\":{\"stdout\":{\"offset\":\"12\"},\"stderr\":[]}}");
        break;
    default:
        if (unlink(t->checkpoint) < 0)
            it_die("unlink checkpoint");
        break;
    }
}

static void damage_after_kill(const it_task *t, int k)
{
    damage(t, (enum damage)k);
    fprintf(stderr, "kill %d: checkpoint %s\n", k + 1, damage_names[k]);
}

static int count_in_diag(const it_task *t, const char *what)
{
    _cleanup_free_ char *out = NULL;
    dv_test_sh(&out, "grep -c '%s' '%s'", what, t->diag);
    return out ? atoi(out) : 0;
}

static void test_corrupt_checkpoint_five_ways(void **state)
{
    (void)state;
    it_task t;
    /* ~10 s of output, 2 MB per stream: the files rotate at 1 MB. */
    it_task_start(&t, "corrupt", NULL, "lines 40000 4000 100");
    it_write_config(&t, false, 10, 1, true);
    srandom((unsigned)getpid());
    const char *why = NULL;
    int mid_stream = 0;
    pid_t pid = it_kill9_rounds(&t, it_docklog_spawn(&t), DAMAGES, 300000, 1000000,
                                damage_after_kill, &mid_stream, &why);
    if (pid < 0) {
        it_print_diag(&t);
        fail_msg("%s", why);
    }
    assert_true(mid_stream >= DAMAGES / 2);
    int status = it_docklog_wait(pid, 180);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != DV_DOCKLOG_EXIT_DRAINED) {
        it_print_diag(&t);
        fail_msg("final docklog: status 0x%x", status);
    }

    /* Files: exactly once, in order, and rotated. */
    int files_out = 0, files_err = 0;
    _cleanup_free_ char *out = it_read_stream(&t, "stdout", &files_out, NULL);
    _cleanup_free_ char *err = it_read_stream(&t, "stderr", &files_err, NULL);
    why = it_check_numbered(out, 1, 2, LINES - 1, "stdout", "\n");
    if (!why)
        why = it_check_numbered(err, 2, 2, LINES, "stderr", "\n");
    if (why) {
        it_print_diag(&t);
        fail_msg("files after %d damaged checkpoints: %s", DAMAGES, why);
    }
    assert_true(files_out >= 2 && files_err >= 2);

    /* Each restart said what it found and resumed from the copy; the damaged
     * checkpoint was kept for diagnosis. */
    assert_int_equal(count_in_diag(&t, "resuming from its copy"), DAMAGES);
    assert_int_equal(count_in_diag(&t, "unreadable checkpoint moved to"), DAMAGES - 1);
    assert_int_equal(count_in_diag(&t, "starting over"), 0);
    char aside[4300];
    snprintf(aside, sizeof(aside), "%s.corrupt", t.checkpoint);
    assert_int_equal(access(aside, F_OK), 0);

    /* journald: every line; duplicates only from the batch in flight at each kill. */
    why = it_check_journal_numbered(&t, LINES, (size_t)DAMAGES * MAX_BATCH_ENTRIES);
    if (why)
        fail_msg("after %d damaged checkpoints: %s", DAMAGES, why);
    it_task_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corrupt_checkpoint_five_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
