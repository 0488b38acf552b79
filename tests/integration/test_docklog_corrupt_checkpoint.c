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
#include "exit_codes.h"

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
    pid_t pid = it_docklog_spawn(&t);
    int mid_stream = 0;
    for (int k = 0; k < DAMAGES; k++) {
        usleep(300000 + (useconds_t)(random() % 1000000));
        char *out = NULL;
        dv_test_sh(&out, "docker inspect -f '{{.State.Running}}' %s", t.id);
        mid_stream += strncmp(out, "true", 4) == 0;
        free(out);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (!WIFSIGNALED(status)) {
            it_print_diag(&t);
            fail_msg("docklog ended before kill %d (status 0x%x)", k + 1, status);
        }
        damage(&t, (enum damage)k);
        fprintf(stderr, "kill %d: checkpoint %s\n", k + 1, damage_names[k]);
        pid = it_docklog_spawn(&t);
    }
    assert_true(mid_stream >= DAMAGES / 2);
    int status = it_docklog_wait(pid, 180);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != DL_EXIT_DRAINED) {
        it_print_diag(&t);
        fail_msg("final docklog: status 0x%x", status);
    }

    /* Files: exactly once, in order, and rotated. */
    int files_out = 0, files_err = 0;
    _cleanup_free_ char *out = it_read_stream(&t, "stdout", &files_out, NULL);
    _cleanup_free_ char *err = it_read_stream(&t, "stderr", &files_err, NULL);
    const char *why = it_check_numbered(out, 1, 2, LINES - 1, "stdout", "\n");
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
    _cleanup_json_ json_t *j = it_journal(&t, LINES, 60);
    unsigned char *seen = calloc(LINES + 1, 1);
    size_t dups = 0;
    for (size_t i = 0; i < json_array_size(j); i++) {
        const char *msg = json_string_value(json_array_get(json_array_get(j, i), 0));
        long n = msg ? strtol(msg, NULL, 10) : 0;
        assert_true(n >= 1 && n <= LINES);
        dups += seen[n]++ > 0;
    }
    size_t missing = 0;
    for (long n = 1; n <= LINES; n++)
        missing += !seen[n];
    free(seen);
    fprintf(stderr, "journald: %zu entries, %zu duplicates (bound %d), %zu missing\n",
            json_array_size(j), dups, DAMAGES * MAX_BATCH_ENTRIES, missing);
    assert_int_equal(missing, 0);
    assert_true(dups <= (size_t)DAMAGES * MAX_BATCH_ENTRIES);
    it_task_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corrupt_checkpoint_five_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
