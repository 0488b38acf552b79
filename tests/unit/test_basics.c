/* Unit tests for the common/ basics: errors, durations, atomic files, uuid, proc. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "duration.h"
#include "error.h"
#include "proc.h"
#include "test_support.h"
#include "uuid.h"

static void test_error_set_and_wrap(void **state)
{
    (void)state;
    dv_error err;
    dv_error_clear(&err);
    assert_int_equal(dv_error_set(&err, ENOENT, "no %s", "thing"), -ENOENT);
    assert_string_equal(err.msg, "no thing");
    err.http_status = 404;
    err.recoverable = true;
    assert_int_equal(dv_error_wrap(&err, "start task %s", "web"), -ENOENT);
    assert_string_equal(err.msg, "start task web: no thing");
    assert_int_equal(err.http_status, 404);
    assert_true(err.recoverable);
    assert_int_equal(dv_error_errno(&err, -EACCES, "open %s", "/x"), -EACCES);
    assert_string_equal(err.msg, "open /x: Permission denied");
    assert_int_equal(err.http_status, 0);
    assert_false(err.recoverable);
    /* A NULL error is allowed and still yields the code. */
    assert_int_equal(dv_error_set(NULL, -EINVAL, "x"), -EINVAL);
}

static void test_error_truncates_long_messages(void **state)
{
    (void)state;
    dv_error err;
    char big[3000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    dv_error_set(&err, -EINVAL, "%s", big);
    assert_int_equal(strlen(err.msg), DV_ERROR_MSG_MAX - 1);
    dv_error_wrap(&err, "ctx");
    assert_int_equal(strlen(err.msg), DV_ERROR_MSG_MAX - 1);
    assert_memory_equal(err.msg, "ctx: aaa", 8);
}

static void test_cleanup_take(void **state)
{
    (void)state;
    char *kept;
    {
        _cleanup_free_ char *s = strdup("x");
        kept = TAKE_PTR(s);
        assert_null(s);
    }
    assert_string_equal(kept, "x");
    free(kept);
    int fd_kept;
    {
        _cleanup_close_ int fd = dup(0);
        assert_true(fd >= 0);
        fd_kept = TAKE_FD(fd);
        assert_int_equal(fd, -1);
    }
    assert_int_equal(close(fd_kept), 0);
}

static const struct {
    const char *in;
    int64_t ns;
} good_durations[] = {
    {"0", 0},
    {"5s", 5 * DV_NSEC_PER_SEC},
    {"250ms", 250 * DV_NSEC_PER_MSEC},
    {"1h30m", 5400 * DV_NSEC_PER_SEC},
    {"1.5s", 1500 * DV_NSEC_PER_MSEC},
    {".5s", 500 * DV_NSEC_PER_MSEC},
    {"2m0.25s", 120250 * DV_NSEC_PER_MSEC},
    {"-2m", -120 * DV_NSEC_PER_SEC},
    {"+3ns", 3},
    {"10us", 10000},
    {"10\xc2\xb5s", 10000},
    {"1h1m1s1ms1us1ns", 3661001001001},
    {"2562047h", INT64_C(2562047) * 3600 * DV_NSEC_PER_SEC},
};

static const char *bad_durations[] = {
    "", "s", "5", "abc", "5x", "5 s", "1.s.", "-", "5s junk", "9999999999h", "1e3s", ".s",
};

static void test_duration_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < DV_ARRAY_SIZE(good_durations); i++) {
        int64_t ns = -1;
        dv_error err;
        int r = dv_duration_parse(good_durations[i].in, &ns, &err);
        if (r < 0)
            fail_msg("%s: %s", good_durations[i].in, err.msg);
        assert_int_equal(ns, good_durations[i].ns);
    }
    for (size_t i = 0; i < DV_ARRAY_SIZE(bad_durations); i++) {
        int64_t ns = 42;
        dv_error err;
        if (dv_duration_parse(bad_durations[i], &ns, &err) == 0)
            fail_msg("accepted %s", bad_durations[i]);
        assert_int_equal(ns, 42); /* untouched on failure */
        assert_non_null(strstr(err.msg, "invalid duration"));
    }
}

static void test_duration_format(void **state)
{
    (void)state;
    char buf[64];
    dv_duration_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "0s");
    dv_duration_format(5400 * DV_NSEC_PER_SEC, buf, sizeof(buf));
    assert_string_equal(buf, "1h30m0s");
    dv_duration_format(250 * DV_NSEC_PER_MSEC, buf, sizeof(buf));
    assert_string_equal(buf, "250ms");
    dv_duration_format(1500 * DV_NSEC_PER_MSEC, buf, sizeof(buf));
    assert_string_equal(buf, "1.5s");
    dv_duration_format(-90 * DV_NSEC_PER_SEC, buf, sizeof(buf));
    assert_string_equal(buf, "-1m30s");
}

static void test_atomic_write(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dv-atomic");
    _cleanup_free_ char *path = NULL;
    assert_true(asprintf(&path, "%s/a/b/state.json", dir) > 0);
    dv_error err;
    _cleanup_free_ char *sub = NULL;
    assert_true(asprintf(&sub, "%s/a/b", dir) > 0);
    assert_int_equal(dv_mkdir_p(sub, 0700, &err), 0);
    assert_int_equal(dv_mkdir_p(sub, 0700, &err), 0); /* idempotent */

    assert_int_equal(dv_atomic_write(path, "one", 3, 0644, &err), 0);
    assert_int_equal(dv_atomic_write(path, "second", 6, 0600, &err), 0);
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    assert_int_equal(dv_read_file(path, &data, &len, &err), 0);
    assert_int_equal(len, 6);
    assert_string_equal(data, "second");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    _cleanup_free_ char *tmp = NULL;
    assert_true(asprintf(&tmp, "%s.tmp", path) > 0);
    assert_int_equal(access(tmp, F_OK), -1); /* no temp file left behind */

    _cleanup_json_ json_t *j = json_pack("{s:i,s:s}", "b", 2, "a", "x");
    assert_int_equal(dv_atomic_write_json(path, j, 0600, &err), 0);
    free(data);
    data = NULL;
    assert_int_equal(dv_read_file(path, &data, NULL, &err), 0);
    assert_string_equal(data, "{\"a\":\"x\",\"b\":2}\n");

    /* Without sync it still replaces the whole file and leaves no temp file. */
    assert_int_equal(dv_atomic_write_json_flags(path, j, 0644, DV_ATOMIC_NO_SYNC, &err), 0);
    assert_int_equal(dv_atomic_write_flags(path, "third", 5, 0644, DV_ATOMIC_NO_SYNC, &err), 0);
    free(data);
    data = NULL;
    assert_int_equal(dv_read_file(path, &data, NULL, &err), 0);
    assert_string_equal(data, "third");
    assert_int_equal(access(tmp, F_OK), -1);

    /* A directory that does not exist is a clean error naming the path. */
    _cleanup_free_ char *bad = NULL;
    assert_true(asprintf(&bad, "%s/missing/x.json", dir) > 0);
    assert_int_equal(dv_atomic_write(bad, "x", 1, 0600, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "missing/x.json.tmp"));
    assert_int_equal(dv_read_file(bad, &data, NULL, &err), -ENOENT);
    dv_test_rm_rf(dir);
}

static void test_uuid(void **state)
{
    (void)state;
    char a[DV_UUID_STRLEN + 1], b[DV_UUID_STRLEN + 1];
    assert_int_equal(dv_uuid_v4(a, NULL), 0);
    assert_int_equal(dv_uuid_v4(b, NULL), 0);
    assert_true(dv_uuid_is_valid(a));
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
    assert_false(dv_uuid_is_valid("not-a-uuid"));
    assert_false(dv_uuid_is_valid("0123456789abcdef0123456789abcdef0123"));
}

static void test_proc_identity(void **state)
{
    (void)state;
    uint64_t start = 0;
    dv_error err;
    assert_int_equal(dv_proc_starttime(getpid(), &start, &err), 0);
    assert_true(start > 0);
    char boot[DV_BOOT_ID_STRLEN + 1];
    assert_int_equal(dv_boot_id(boot, &err), 0);
    assert_true(dv_uuid_is_valid(boot));
    assert_true(dv_proc_is_same(getpid(), start, boot));
    assert_false(dv_proc_is_same(getpid(), start + 1, boot));
    assert_false(dv_proc_is_same(getpid(), start, "00000000-0000-0000-0000-000000000000"));

    /* A child that exited (zombie, then reaped) is not "the same process". */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    uint64_t child_start = 0;
    dv_proc_starttime(child, &child_start, NULL);
    int status;
    waitpid(child, &status, 0);
    assert_false(dv_proc_is_same(child, child_start, boot));
    assert_int_equal(dv_proc_starttime(child, &start, &err), -ESRCH);

    int pidfd = dv_pidfd_open(getpid(), &err);
    assert_true(pidfd >= 0);
    close(pidfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_set_and_wrap),
        cmocka_unit_test(test_error_truncates_long_messages),
        cmocka_unit_test(test_cleanup_take),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_proc_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
