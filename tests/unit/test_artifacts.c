/* The artifact fetch (runner/artifacts.h) on host-file sources, so without a
 * network: the file lands whole at its target, a target in place is not
 * fetched again, a checksum mismatch leaves nothing, a symlink the task put in
 * local/ is not followed, and a final error is not retried. */
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
#include <errno.h>

#include "artifacts.h"
#include "buf.h"
#include "cleanup.h"
#include "spec.h"
#include "test_support.h"
#include "xalloc.h"

/* sha256("hello\n") */
#define HELLO_SUM "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

typedef struct fixture {
    char *root;     /* the test's temp dir */
    char *task_dir; /* root/task, with local/ */
    char *source;   /* root/src.txt: "hello\n" */
    dv_buf notes;   /* "TYPE: MSG\n" per note */
    bool volumes_off;
} fixture;

static void on_note(void *userdata, const char *type, bool transient, const char *msg)
{
    fixture *fx = userdata;
    if (!transient)
        dv_buf_printf(&fx->notes, "%s: %s\n", type, msg);
}

static int setup(void **state)
{
    fixture *fx = dv_xcalloc(1, sizeof(*fx));
    fx->root = dv_test_tmpdir("dv-artifacts");
    fx->task_dir = dv_xasprintf("%s/task", fx->root);
    fx->source = dv_xasprintf("%s/src.txt", fx->root);
    _cleanup_free_ char *local = dv_xasprintf("%s/local", fx->task_dir);
    assert_int_equal(mkdir(fx->task_dir, 0700), 0);
    assert_int_equal(mkdir(local, 0700), 0);
    dv_test_write_file(fx->source, "hello\n");
    fx->notes = (dv_buf)DV_BUF_INIT;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    dv_test_rm_rf(fx->root);
    free(fx->root);
    free(fx->task_dir);
    free(fx->source);
    dv_buf_free(&fx->notes);
    free(fx);
    return 0;
}

/* Fetch the artifacts of the spec whose artifact array is ARRAY_JSON. */
static int fetch(fixture *fx, const char *array_json, dv_error *err)
{
    _cleanup_free_ char *text = dv_xasprintf(
        "{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\"},\"artifact\":%s}", array_json);
    _cleanup_json_ json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    dv_task_spec *spec = NULL;
    dv_spec_error serr;
    if (dv_spec_parse(j, &spec, &serr) < 0)
        fail_msg("parse: %s", serr.err.msg);
    dv_artifact_fetch f = {.spec = spec,
                           .task_dir = fx->task_dir,
                           .timeout_ns = 0,
                           .allow_local = !fx->volumes_off,
                           .note = on_note,
                           .userdata = fx};
    dv_error_clear(err);
    int r = dv_artifacts_fetch(&f, err);
    dv_task_spec_free(spec);
    return r;
}

static char *read_file(const char *dir, const char *name)
{
    _cleanup_free_ char *path = dv_xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[256] = "";
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return dv_xstrdup(buf);
}

static const char *notes(fixture *fx)
{
    return fx->notes.len ? fx->notes.data : "";
}

static void test_fetched_then_in_place(void **state)
{
    fixture *fx = *state;
    _cleanup_free_ char *arr = dv_xasprintf(
        "[{\"source\":\"%s\",\"options\":{\"checksum\":\"sha256:" HELLO_SUM "\"}},"
        "{\"source\":\"file://%s\",\"destination\":\"local/deep/er/copy\",\"mode\":\"file\"}]",
        fx->source, fx->source);
    dv_error err;
    if (fetch(fx, arr, &err) < 0)
        fail_msg("fetch: %s", err.msg);
    _cleanup_free_ char *a = read_file(fx->task_dir, "local/src.txt");
    _cleanup_free_ char *b = read_file(fx->task_dir, "local/deep/er/copy");
    assert_string_equal(a, "hello\n");
    assert_string_equal(b, "hello\n");
    assert_non_null(strstr(notes(fx), "Downloading Artifacts: downloading "));
    assert_non_null(strstr(notes(fx), "(2 of 2)"));
    _cleanup_free_ char *ls = NULL;
    dv_test_sh(&ls, "ls -A '%s/local'", fx->task_dir);
    assert_string_equal(ls, "deep\nsrc.txt\n");

    /* A restart: both are in place, the source changed, nothing is fetched. */
    dv_test_write_file(fx->source, "changed\n");
    dv_buf_reset(&fx->notes);
    assert_int_equal(fetch(fx, arr, &err), 0);
    _cleanup_free_ char *again = read_file(fx->task_dir, "local/deep/er/copy");
    assert_string_equal(again, "hello\n");
    assert_non_null(strstr(notes(fx), "local/src.txt is in place already (artifact[0])"));
    assert_null(strstr(notes(fx), "downloading"));
}

static void test_checksum_mismatch_leaves_nothing(void **state)
{
    fixture *fx = *state;
    dv_test_write_file(fx->source, "not hello\n");
    /* what an agent killed mid-download leaves */
    _cleanup_free_ char *stale = dv_xasprintf("%s/local/.dvartifact-1-abc.tmp", fx->task_dir);
    dv_test_write_file(stale, "partial");
    _cleanup_free_ char *arr = dv_xasprintf(
        "[{\"source\":\"%s\",\"options\":{\"checksum\":\"sha256:" HELLO_SUM "\"}}]", fx->source);
    dv_error err;
    assert_int_equal(fetch(fx, arr, &err), -EBADMSG);
    assert_non_null(strstr(err.msg, "artifact[0]: "));
    assert_non_null(strstr(err.msg, "checksum mismatch: expected sha256:" HELLO_SUM));
    assert_false(err.recoverable);
    assert_false(err.unreachable);
    assert_non_null(strstr(notes(fx), "Failed Artifact Download: artifact[0]: "));
    _cleanup_free_ char *local = dv_xasprintf("%s/local", fx->task_dir);
    _cleanup_free_ char *out = NULL;
    dv_test_sh(&out, "ls -A '%s'", local);
    assert_string_equal(out, "");
}

static void test_symlink_in_local_not_followed(void **state)
{
    fixture *fx = *state;
    _cleanup_free_ char *outside = dv_xasprintf("%s/outside", fx->root);
    _cleanup_free_ char *link = dv_xasprintf("%s/local/sub", fx->task_dir);
    assert_int_equal(mkdir(outside, 0700), 0);
    assert_int_equal(symlink(outside, link), 0);
    _cleanup_free_ char *arr =
        dv_xasprintf("[{\"source\":\"%s\",\"destination\":\"local/sub/\"}]", fx->source);
    dv_error err;
    assert_int_equal(fetch(fx, arr, &err), -EPERM);
    assert_non_null(strstr(err.msg, "artifact[0]: local/sub: sub is not a directory"));
    _cleanup_free_ char *planted = read_file(outside, "src.txt");
    assert_null(planted);
}

static void test_missing_source_is_final(void **state)
{
    fixture *fx = *state;
    _cleanup_free_ char *arr = dv_xasprintf("[{\"source\":\"%s/nope\"}]", fx->root);
    dv_error err;
    assert_true(fetch(fx, arr, &err) < 0);
    assert_non_null(strstr(err.msg, "artifact[0]: "));
    assert_false(err.recoverable);
    assert_null(strstr(notes(fx), "trying again"));
}

/* A reload turned docker.volumes.enabled off after the submit. */
static void test_local_refused_when_volumes_off(void **state)
{
    fixture *fx = *state;
    fx->volumes_off = true;
    _cleanup_free_ char *arr = dv_xasprintf("[{\"source\":\"%s\"}]", fx->source);
    dv_error err;
    assert_int_equal(fetch(fx, arr, &err), -EPERM);
    assert_non_null(strstr(err.msg, "artifact[0]: source: a local file source reads the host"));
    _cleanup_free_ char *copy = read_file(fx->task_dir, "local/src.txt");
    assert_null(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetched_then_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checksum_mismatch_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_in_local_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_source_is_final, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_refused_when_volumes_off, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
