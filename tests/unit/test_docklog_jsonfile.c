/* Docker's json-file followed from disk (docklog/jsonfile.h), against a directory
 * rotated exactly as Docker rotates it: rename up, create anew, delete the oldest. */
#include <errno.h>
#include <fcntl.h>
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

#include "buf.h"
#include "cleanup.h"
#include "jsonfile.h"
#include "entry_collector.h"
#include "test_support.h"

static void entry(const char *path, const char *stream, int n)
{
    char msg[64], time[64];
    snprintf(msg, sizeof(msg), "%d %s", n, stream);
    snprintf(time, sizeof(time), "2024-01-01T00:00:%02d.%09dZ", n / 1000, n % 1000 + 1);
    dv_test_jsonfile_line(path, stream, time, msg);
}

/* Docker's rotation with max-file MAX: .(k-1) → .k from the oldest, the oldest
 * deleted, the current file → .1, a new empty current file. */
static void rotate(const char *path, int max)
{
    char from[4200], to[4200];
    for (int k = max - 1; k >= 1; k--) {
        snprintf(from, sizeof(from), k == 1 ? "%s" : "%s.%d", path, k - 1);
        snprintf(to, sizeof(to), "%s.%d", path, k);
        if (k == max - 1)
            unlink(to);
        rename(from, to);
    }
    dv_test_append_file(path, "");
}

static void read_all(dl_jsonfile *f, struct got *g)
{
    dv_error err;
    int r;
    assert_int_equal(dl_jsonfile_wait(f, -1, -1, 0, &err), 0);
    while ((r = dl_jsonfile_read(f, 1 << 20, collect, g, NULL, &err)) == 1) {
    }
    assert_int_equal(r, 0);
}

static void test_follows_rotations_by_inode(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-jsonfile");
    char path[4200];
    snprintf(path, sizeof(path), "%s/c-json.log", dir);
    for (int n = 1; n <= 10; n++)
        entry(path, n % 2 ? "stdout" : "stderr", n);
    dl_jsonfile f;
    dv_error err;
    assert_int_equal(dl_jsonfile_open(&f, path, &err), 0);
    struct got g = {DV_BUF_INIT, DV_BUF_INIT, 0, 0};
    /* Read half of the first file only, as a slow reader would. */
    assert_int_equal(dl_jsonfile_read(&f, 1, collect, &g, NULL, &err), 1);
    /* Two rotations with max-file 2 while it reads: the file being read is deleted,
     * the next one is at .1, the newest is the current file. */
    for (int n = 11; n <= 20; n++)
        entry(path, "stdout", n);
    rotate(path, 2);
    for (int n = 21; n <= 30; n++)
        entry(path, "stdout", n);
    rotate(path, 2);
    for (int n = 31; n <= 35; n++)
        entry(path, "stdout", n);
    read_all(&f, &g);
    assert_int_equal(g.n, 35);
    _cleanup_buf_ dv_buf want = DV_BUF_INIT;
    for (int n = 1; n <= 35; n++)
        if (n > 10 || n % 2)
            dv_buf_printf(&want, "%d stdout\n", n);
    assert_int_equal(g.out.len, want.len);
    assert_memory_equal(g.out.data, want.data, want.len);
    /* More in the current file later. */
    entry(path, "stderr", 36);
    read_all(&f, &g);
    assert_int_equal(g.n, 36);
    dl_jsonfile_close(&f);
    dv_buf_free(&g.out);
    dv_buf_free(&g.err);
    dv_test_rm_rf(dir);
}

static void test_partial_lines_and_garbage(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-jsonfile");
    char path[4200];
    snprintf(path, sizeof(path), "%s/c-json.log", dir);
    dv_test_append_file(
        path, "{\"log\":\"a\\u0000b \\\"q\\\"\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:"
              "00:01.5Z\"}\n{\"log\":\"half");
    dl_jsonfile f;
    dv_error err;
    assert_int_equal(dl_jsonfile_open(&f, path, &err), 0);
    struct got g = {DV_BUF_INIT, DV_BUF_INIT, 0, 0};
    size_t skipped = 0;
    assert_int_equal(dl_jsonfile_read(&f, 1 << 20, collect, &g, &skipped, &err), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.out.len, 8);
    assert_memory_equal(g.out.data, "a\0b \"q\"\n", 8);
    assert_int_equal(g.last_ts, 1704067201500000000LL);
    /* The rest of the entry Docker was writing, then a line that is not an entry. */
    dv_test_append_file(
        path, " a line\",\"stream\":\"stderr\",\"time\":\"2024-01-01T00:00:02Z\"}\nnot json\n");
    assert_int_equal(dl_jsonfile_read(&f, 1 << 20, collect, &g, &skipped, &err), 0);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.err.len, strlen("half a line"));
    assert_memory_equal(g.err.data, "half a line", g.err.len);
    assert_int_equal(skipped, 1);
    dl_jsonfile_close(&f);
    dv_buf_free(&g.out);
    dv_buf_free(&g.err);
    dv_test_rm_rf(dir);
}

static void got_free(struct got *g)
{
    dv_buf_free(&g->out);
    dv_buf_free(&g->err);
}

/* The place a reader tells (checkpoint.h, "source") is where a new reader resumes:
 * after a rotation still (by inode), never inside the half line Docker was writing, and
 * a place whose file is not the one it names is refused. */
static void test_resumes_at_its_place(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-jsonfile");
    char path[4200];
    snprintf(path, sizeof(path), "%s/c-json.log", dir);
    for (int n = 1; n <= 5; n++)
        entry(path, "stdout", n);
    dl_jsonfile f;
    dv_error err;
    assert_int_equal(dl_jsonfile_open(&f, path, &err), 0);
    struct got g = {DV_BUF_INIT, DV_BUF_INIT, 0, 0};
    read_all(&f, &g);
    dl_source_pos first;
    assert_true(dl_jsonfile_tell(&f, &first));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(first.offset, st.st_size);
    assert_int_equal(first.ino, st.st_ino);
    for (int n = 6; n <= 8; n++)
        entry(path, "stderr", n);
    dv_test_append_file(path, "{\"log\":\"9 std");
    read_all(&f, &g);
    assert_int_equal(g.n, 8);
    dl_source_pos place;
    assert_true(dl_jsonfile_tell(&f, &place));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(place.offset, st.st_size - (off_t)strlen("{\"log\":\"9 std"));
    dl_jsonfile_close(&f);
    got_free(&g);

    /* The reader is gone; Docker finishes the line, rotates, writes on. */
    dv_test_append_file(
        path, "out\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00.000000010Z\"}\n");
    rotate(path, 5);
    for (int n = 10; n <= 12; n++)
        entry(path, "stdout", n);
    assert_int_equal(dl_jsonfile_open(&f, path, &err), 0);
    assert_true(dl_jsonfile_seek(&f, &place));
    struct got rest = {DV_BUF_INIT, DV_BUF_INIT, 0, 0};
    read_all(&f, &rest);
    assert_int_equal(rest.n, 4);
    assert_int_equal(rest.err.len, 0);
    assert_int_equal(rest.out.len, strlen("9 stdout\n10 stdout\n11 stdout\n12 stdout\n"));
    assert_memory_equal(rest.out.data, "9 stdout\n10 stdout\n11 stdout\n12 stdout\n", rest.out.len);
    dl_jsonfile_close(&f);
    got_free(&rest);

    /* Another file's birth time (its inode reused), or an offset past the end: not a
     * place here; the reader still starts at the oldest file. */
    dl_source_pos reused = place, past = place;
    reused.born_ns++;
    past.offset = INT64_C(1) << 40;
    dl_source_pos wrong[] = {reused, past};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(dl_jsonfile_open(&f, path, &err), 0);
        assert_false(dl_jsonfile_seek(&f, &wrong[i]));
        struct got all = {DV_BUF_INIT, DV_BUF_INIT, 0, 0};
        read_all(&f, &all);
        assert_int_equal(all.n, 12);
        dl_jsonfile_close(&f);
        got_free(&all);
    }
    dv_test_rm_rf(dir);
}

/* A fresh directory whose log (PATH) holds entry 1; returns the directory. */
static char *one_entry_log(char path[4200])
{
    char *dir = dv_test_tmpdir("dl-jsonfile");
    snprintf(path, 4200, "%s/c-json.log", dir);
    entry(path, "stdout", 1);
    return dir;
}

/* A reader that gets no CPU while Docker creates and deletes a whole file counts the
 * file it never saw (the caller reports the gap); two rotations, which leave every
 * newer file named, count nothing. Files take time to fill: 20 ms between rotations,
 * more than a tick of the coarse clock inode times use. */
static void test_counts_a_file_it_never_saw(void **state)
{
    (void)state;
    for (int rotations = 2; rotations <= 3; rotations++) {
        char path[4200];
        _cleanup_free_ char *dir = one_entry_log(path);
        dl_jsonfile f;
        dv_error err;
        assert_int_equal(dl_jsonfile_open(&f, path, &err), 0);
        struct got g = {DV_BUF_INIT, DV_BUF_INIT, 0, 0};
        read_all(&f, &g);
        for (int r = 1; r <= rotations; r++) {
            usleep(20000);
            rotate(path, 2);
            entry(path, "stdout", 1 + r);
        }
        read_all(&f, &g);
        assert_int_equal(f.dropped, (uint64_t)(rotations - 2));
        /* 2 rotations: entries 1, 2, 3; with 3, entry 2's file went unseen: 1, 3, 4. */
        assert_int_equal(g.n, 3);
        assert_true((memmem(g.out.data, g.out.len, "2 stdout", 8) != NULL) == (rotations == 2));
        dl_jsonfile_close(&f);
        got_free(&g);
        dv_test_rm_rf(dir);
    }
}

/* A reader kept from reading (docklog waiting for room in journald's queue) that
 * holds the files Docker creates meanwhile loses none of them, over more rotations
 * than max-file; also when polling. Without the holds, the same rotations cost two
 * files (test_counts_a_file_it_never_saw). */
static void test_holding_files_while_not_reading(void **state)
{
    (void)state;
    for (int polling = 0; polling <= 1; polling++) {
        char path[4200];
        _cleanup_free_ char *dir = one_entry_log(path);
        dl_jsonfile f;
        dv_error err;
        assert_int_equal(dl_jsonfile_open(&f, path, &err), 0);
        if (polling) { /* as without an inotify instance */
            close(f.inotify_fd);
            f.inotify_fd = -1;
        }
        struct got g = {DV_BUF_INIT, DV_BUF_INIT, 0, 0};
        read_all(&f, &g);
        for (int r = 1; r <= 4; r++) {
            usleep(20000); /* > DL_JSONFILE_HOLD_POLL */
            rotate(path, 2);
            entry(path, "stdout", 1 + r);
            dl_jsonfile_hold(&f);
        }
        read_all(&f, &g);
        assert_int_equal(f.dropped, 0);
        assert_int_equal(g.n, 5);
        assert_string_equal(g.out.data, "1 stdout\n2 stdout\n3 stdout\n4 stdout\n5 stdout\n");
        dl_jsonfile_close(&f);
        got_free(&g);
        dv_test_rm_rf(dir);
    }
}

/* Docker's own lines are decoded without Jansson, exactly as Jansson reads them; any
 * other shape is left to Jansson (0). */
static void test_fast_decoder_reads_as_jansson(void **state)
{
    (void)state;
    static const char *const docker[] = {
        "{\"log\":\"plain "
        "line\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:01.123456789Z\"}",
        "{\"log\":\"\\u003cb\\u003e \\u0026 \\\"q\\\" \\\\ \\t \\u001b[0m "
        "\\u0000\\n\",\"stream\":\"stderr\","
        "\"time\":\"2024-01-01T00:00:02Z\"}",
        "{\"log\":\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00 \xf0\x9f\x98\x80 "
        "\\ufffd\\n\",\"stream\":\"stdout\",\"time\":"
        "\"2024-05-01T10:00:00.5+01:00\"}",
        "{\"log\":\"a 16 KiB piece, no "
        "newline\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:03Z\"}",
    };
    static const char *const other[] = {
        "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"attrs\":{\"a\":\"b\"},\"time\":\"2024-01-01T00:"
        "00:01Z\"}",
        "{\"stream\":\"stdout\",\"log\":\"x\\n\",\"time\":\"2024-01-01T00:00:01Z\"}",
        "{\"log\": \"x\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:01Z\"}",
        "{\"log\":\"\\ud800 lone\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:01Z\"}",
        "{\"log\":\"\xed\xa0\x80 surrogate in "
        "UTF-8\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:01Z\"}",
        "{\"log\":\"\xc0\xaf overlong\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:01Z\"}",
        "{\"log\":\"\\x\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:01Z\"}",
        "{\"log\":\"x\",\"stream\":\"stdin\",\"time\":\"2024-01-01T00:00:01Z\"}",
        "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"yesterday\"}",
        "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:01Z\"} ",
        "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:01Z\"",
    };
    static char msg[DL_JSONFILE_LINE_MAX];
    for (size_t i = 0; i < DV_ARRAY_SIZE(docker); i++) {
        dl_entry fast, slow;
        json_t *j = NULL;
        size_t len = strlen(docker[i]);
        assert_int_equal(dl_jsonfile_parse_line(docker[i], len, &j, &slow, NULL), 0);
        if (dl_jsonfile_parse_fast(docker[i], len, msg, &fast) != 1)
            fail_msg("line %zu: not decoded by the fast decoder", i);
        assert_int_equal(fast.stream, slow.stream);
        assert_int_equal(fast.ts, slow.ts);
        assert_int_equal(fast.len, slow.len);
        assert_memory_equal(fast.msg, slow.msg, slow.len);
        json_decref(j);
    }
    for (size_t i = 0; i < DV_ARRAY_SIZE(other); i++) {
        dl_entry fast;
        if (dl_jsonfile_parse_fast(other[i], strlen(other[i]), msg, &fast) != 0)
            fail_msg("line %zu was taken by the fast decoder: %s", i, other[i]);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-jsonfile");
    char path[4200];
    snprintf(path, sizeof(path), "%s/none-json.log", dir);
    dl_jsonfile f;
    dv_error err;
    assert_int_equal(dl_jsonfile_open(&f, path, &err), -ENOENT);
    dv_test_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follows_rotations_by_inode),
        cmocka_unit_test(test_partial_lines_and_garbage),
        cmocka_unit_test(test_resumes_at_its_place),
        cmocka_unit_test(test_counts_a_file_it_never_saw),
        cmocka_unit_test(test_holding_files_while_not_reading),
        cmocka_unit_test(test_fast_decoder_reads_as_jansson),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
