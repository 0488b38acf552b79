/* Unit tests for the log file reader behind `dockvisor logs` / GET .../logs: tail
 * across rotated files, follow across rotation, end of a follow when docklog is done,
 * and agreement with docklog's own file sink (which writes while the reader reads). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "atomic_file.h"
#include "buf.h"
#include "checkpoint.h"
#include "cleanup.h"
#include "file_sink.h"
#include "log_files.h"
#include "test_support.h"

static void put(const char *dir, const char *name, const char *text, const char *mode)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, mode);
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Read everything available now; returns the last result (0 or END). */
static ssize_t drain(dv_log_reader *r, dv_buf *out)
{
    char buf[7]; /* small on purpose: many calls */
    for (;;) {
        dv_error err;
        ssize_t n = dv_log_reader_read(r, buf, sizeof(buf), &err);
        if (n <= 0) {
            if (n < 0 && n != DV_LOG_READER_END)
                fail_msg("read: %s", err.msg);
            return n;
        }
        dv_buf_append(out, buf, (size_t)n);
    }
}

static char *read_all(const char *dir, int64_t tail, const char *type)
{
    dv_log_reader_options o = {.dir = dir, .base = "app", .type = type, .tail = tail};
    _cleanup_log_reader_ dv_log_reader *r = NULL;
    dv_error err;
    assert_int_equal(dv_log_reader_open(&o, &r, &err), 0);
    dv_buf out = DV_BUF_INIT;
    assert_int_equal(drain(r, &out), DV_LOG_READER_END);
    return dv_buf_steal(&out);
}

static void test_tail_across_files(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dv-logs");
    put(dir, "app.stdout.3", "a\nb\n", "w");
    put(dir, "app.stdout.4", "c\nd\n", "w");
    put(dir, "app.stdout.5", "e\nf", "w"); /* the last line is still partial */
    put(dir, "app.stderr.0", "only\nstderr\n", "w");
    put(dir, "app.stdout.x", "not a log file\n", "w");
    struct {
        int64_t tail;
        const char *want;
    } cases[] = {
        {-1, "a\nb\nc\nd\ne\nf"},
        {0, ""},
        {1, "f"},
        {2, "e\nf"},
        {3, "d\ne\nf"},
        {5, "b\nc\nd\ne\nf"},
        {6, "a\nb\nc\nd\ne\nf"},
        {100, "a\nb\nc\nd\ne\nf"},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(cases); i++) {
        _cleanup_free_ char *got = read_all(dir, cases[i].tail, "stdout");
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("tail %lld: got \"%s\" want \"%s\"", (long long)cases[i].tail, got,
                     cases[i].want);
    }
    _cleanup_free_ char *e1 = read_all(dir, 1, "stderr");
    assert_string_equal(e1, "stderr\n");
    _cleanup_free_ char *e2 = read_all(dir, 2, "stderr");
    assert_string_equal(e2, "only\nstderr\n");
    /* Nothing there at all: an empty stream, not an error. */
    _cleanup_free_ char *empty = dv_test_tmpdir("dv-logs");
    _cleanup_free_ char *none = read_all(empty, 10, "stdout");
    assert_string_equal(none, "");
    dv_log_reader *r;
    dv_error err;
    dv_log_reader_options bad = {.dir = dir, .base = "app", .type = "stdin"};
    assert_int_equal(dv_log_reader_open(&bad, &r, &err), -EINVAL);
    dv_test_rm_rf(empty);
    dv_test_rm_rf(dir);
}

static void test_follow_across_rotation_until_done(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dv-logs");
    char cp[4096];
    snprintf(cp, sizeof(cp), "%s/docklog.checkpoint", dir);
    put(dir, "app.stdout.0", "one\n", "w");
    dv_log_reader_options o = {.dir = dir,
                               .base = "app",
                               .type = "stdout",
                               .tail = -1,
                               .follow = true,
                               .checkpoint_path = cp};
    _cleanup_log_reader_ dv_log_reader *r = NULL;
    dv_error err;
    assert_int_equal(dv_log_reader_open(&o, &r, &err), 0);
    assert_true(dv_log_reader_fd(r) >= 0);
    _cleanup_buf_ dv_buf out = DV_BUF_INIT;
    assert_int_equal(drain(r, &out), 0); /* following: nothing more yet */
    assert_string_equal(out.data, "one\n");

    put(dir, "app.stdout.0", "two\n", "a");
    struct pollfd p = {.fd = dv_log_reader_fd(r), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 1000), 1); /* the inotify fd woke up */
    assert_int_equal(drain(r, &out), 0);
    assert_string_equal(out.data, "one\ntwo\n");

    /* Rotation: the rest of file 0, then file 1; file 0 expires meanwhile. */
    put(dir, "app.stdout.0", "three\n", "a");
    put(dir, "app.stdout.1", "four\n", "w");
    assert_int_equal(drain(r, &out), 0);
    assert_string_equal(out.data, "one\ntwo\nthree\nfour\n");
    char path[4096];
    snprintf(path, sizeof(path), "%s/app.stdout.0", dir);
    unlink(path);
    put(dir, "app.stdout.2", "five\n", "w");
    assert_int_equal(drain(r, &out), 0);
    assert_string_equal(out.data, "one\ntwo\nthree\nfour\nfive\n");

    /* docklog still running: the follow goes on. */
    dl_checkpoint c;
    dl_checkpoint_init(&c, "cid");
    assert_int_equal(dl_checkpoint_save(cp, &c, false, &err), 0);
    assert_int_equal(drain(r, &out), 0);
    /* Last data then done: the data is returned, then the end. */
    put(dir, "app.stdout.2", "six\n", "a");
    c.outcome = DL_OUTCOME_DONE;
    assert_int_equal(dl_checkpoint_save(cp, &c, false, &err), 0);
    assert_int_equal(drain(r, &out), DV_LOG_READER_END);
    assert_string_equal(out.data, "one\ntwo\nthree\nfour\nfive\nsix\n");
    dv_test_rm_rf(dir);
}

/* Wait (up to 5 s) until the reader's fd says the files may have changed, then read. */
static void wait_and_drain(dv_log_reader *r, dv_buf *out)
{
    struct pollfd p = {.fd = dv_log_reader_fd(r), .events = POLLIN};
    assert_true(p.fd >= 0);
    if (poll(&p, 1, 5000) != 1)
        fail_msg("the follower was never woken");
    assert_int_equal(drain(r, out), 0);
}

static void test_follow_directory_appears(void **state)
{
    (void)state;
    /* A follower that starts before the log directory exists (or after it was
     * removed) is woken when the files come, not left waiting on a watch it could
     * not set. */
    _cleanup_free_ char *base = dv_test_tmpdir("dv-logs");
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/alloc/logs", base);
    dv_log_reader_options o = {
        .dir = dir, .base = "app", .type = "stdout", .tail = -1, .follow = true};
    _cleanup_log_reader_ dv_log_reader *r = NULL;
    dv_error err;
    assert_int_equal(dv_log_reader_open(&o, &r, &err), 0);
    _cleanup_buf_ dv_buf out = DV_BUF_INIT;
    assert_int_equal(drain(r, &out), 0);
    assert_int_equal(dv_mkdir_p(dir, 0755, NULL), 0);
    put(dir, "app.stdout.0", "one\n", "w");
    wait_and_drain(r, &out);
    assert_string_equal(out.data, "one\n");
    put(dir, "app.stdout.0", "two\n", "a");
    wait_and_drain(r, &out); /* now by inotify */
    assert_string_equal(out.data, "one\ntwo\n");
    /* The directory goes away and comes back. */
    dv_test_rm_rf(dir);
    wait_and_drain(r, &out);
    assert_int_equal(dv_mkdir_p(dir, 0755, NULL), 0);
    put(dir, "app.stdout.1", "three\n", "w");
    for (int i = 0; i < 20 && !strstr(out.data, "three"); i++)
        wait_and_drain(r, &out);
    assert_string_equal(out.data, "one\ntwo\nthree\n");
    dv_test_rm_rf(base);
}

/* docklog's file sink writes (with rotation, max_files and restarts that cut files
 * back and rewrite them) while a follower reads: the follower sees every byte once,
 * as long as it keeps up with rotation. PIECES: entries are parts of lines, as
 * Docker cuts lines longer than 16 KiB, so lines move to the next file on rotation. */
struct writer {
    dl_file_sink *sink;
    dl_position committed, saved;
    size_t n_entries, saved_entries;
};

/* docklog's checkpoint before a second line move in one batch (file_sink.h). */
static int writer_hook(void *userdata, dv_error *err)
{
    struct writer *w = userdata;
    int r = dl_file_sink_flush(w->sink, err);
    if (r < 0)
        return r;
    w->saved = w->committed;
    w->saved_entries = w->n_entries;
    return dl_file_sink_checkpointed(w->sink, err);
}

static void follow_writer(bool pieces)
{
    srandom(7);
    _cleanup_free_ char *dir = dv_test_tmpdir("dv-logs");
    dl_file_sink_options fo = {.dir = dir, .base = "app", .max_files = 3, .max_size = 200};
    dl_file_sink sink;
    dv_error err;
    assert_int_equal(dl_file_sink_open(&sink, &fo, NULL, &err), 0);
    struct writer w = {.sink = &sink};
    sink.checkpoint_hook = writer_hook;
    sink.hook_userdata = &w;
    dv_log_reader_options o = {
        .dir = dir, .base = "app", .type = "stdout", .tail = -1, .follow = true};
    _cleanup_log_reader_ dv_log_reader *r = NULL;
    assert_int_equal(dv_log_reader_open(&o, &r, &err), 0);
    _cleanup_buf_ dv_buf want = DV_BUF_INIT, got = DV_BUF_INIT;
    static size_t ends[20000]; /* where each entry ends in want */
    dl_file_sink_positions(&sink, &w.saved.out, &w.saved.err);
    w.committed = w.saved;
    for (int i = 0; i < 3000; i++) {
        char line[128];
        int len =
            snprintf(line, sizeof(line), "line %d %.*s\n", i, (int)(random() % (pieces ? 90 : 30)),
                     "............................................................"
                     "..............................");
        for (int at = 0; at < len;) {
            int piece = pieces ? 1 + (int)(random() % (len - at)) : len;
            assert_int_equal(dl_file_sink_write(&sink, DL_STDOUT, line + at, (size_t)piece, &err),
                             0);
            dv_buf_append(&want, line + at, (size_t)piece);
            assert_true(w.n_entries < DV_ARRAY_SIZE(ends));
            ends[w.n_entries++] = want.len;
            dl_file_sink_positions(&sink, &w.committed.out, &w.committed.err);
            at += piece;
            if (random() % 3 == 0) {
                assert_int_equal(dl_file_sink_flush(&sink, &err), 0);
                if (random() % 2)
                    assert_int_equal(writer_hook(&w, &err), 0);
            }
            if (random() % 4 == 0)
                assert_int_equal(drain(r, &got), 0);
        }
        if (random() % 300 == 0) {
            /* kill -9 and restart: back to the saved position, then the same entries
             * are written again (as the stream is redelivered from the checkpoint) */
            assert_int_equal(dl_file_sink_flush(&sink, &err), 0);
            dl_file_sink_close(&sink);
            assert_int_equal(dl_file_sink_open(&sink, &fo, &w.saved, &err), 0);
            sink.checkpoint_hook = writer_hook;
            sink.hook_userdata = &w;
            size_t n = w.n_entries;
            w.n_entries = w.saved_entries;
            w.committed = w.saved;
            for (size_t k = w.saved_entries; k < n; k++) {
                size_t from = k ? ends[k - 1] : 0;
                assert_int_equal(
                    dl_file_sink_write(&sink, DL_STDOUT, want.data + from, ends[k] - from, &err),
                    0);
                w.n_entries++;
                dl_file_sink_positions(&sink, &w.committed.out, &w.committed.err);
            }
        }
    }
    assert_int_equal(dl_file_sink_flush(&sink, &err), 0);
    assert_int_equal(dl_file_sink_checkpointed(&sink, &err), 0);
    assert_int_equal(drain(r, &got), 0);
    dl_file_sink_close(&sink);
    if (got.len != want.len || memcmp(got.data, want.data, want.len) != 0) {
        size_t k = 0;
        while (k < got.len && k < want.len && got.data[k] == want.data[k])
            k++;
        fail_msg("the follower read %zu bytes, want %zu; first difference at %zu: \"%.40s\" vs "
                 "\"%.40s\"",
                 got.len, want.len, k, got.data + k, want.data + k);
    }
    dv_test_rm_rf(dir);
}

static void test_follow_docklog_writer(void **state)
{
    (void)state;
    follow_writer(false);
}

static void test_follow_docklog_writer_moving_lines(void **state)
{
    (void)state;
    follow_writer(true);
}

static void test_file_names(void **state)
{
    (void)state;
    /* The one definition docklog's sink and this reader share (common/log_names.h). */
    struct {
        const char *name;
        int64_t stdout_index, stderr_index;
    } cases[] = {
        {"app.stdout.0", 0, -1},
        {"app.stdout.17", 17, -1},
        {"app.stderr.3", -1, 3},
        {"app.stdout.01", -1, -1},
        {"app.stdout.", -1, -1},
        {"app.stdout", -1, -1},
        {"ap.stdout.1", -1, -1},
        {"app.stdout.1x", -1, -1},
        {"app.stdout.-1", -1, -1},
        {"app.x.stdout.2", -1, -1},
        {"app.stdout.123456789012", 123456789012, -1},
        {"app.stdout.99999999999999999999", -1, -1},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(cases); i++) {
        assert_int_equal(dv_log_file_index(cases[i].name, "app", "stdout"), cases[i].stdout_index);
        assert_int_equal(dv_log_file_index(cases[i].name, "app", "stderr"), cases[i].stderr_index);
    }
    char path[64];
    assert_true(dv_log_file_path(path, sizeof(path), "/d", "app", "stderr", 12));
    assert_string_equal(path, "/d/app.stderr.12");
    assert_false(dv_log_file_path(path, 10, "/d", "app", "stderr", 12));
    /* Names that cannot fit are refused up front, not truncated into other names. */
    char dir[PATH_MAX];
    memset(dir, 'd', sizeof(dir) - 10);
    dir[0] = '/';
    dir[sizeof(dir) - 10] = '\0';
    dv_log_reader_options o = {.dir = dir, .base = "app", .type = "stdout", .tail = -1};
    dv_log_reader *r = NULL;
    dv_error err;
    assert_int_equal(dv_log_reader_open(&o, &r, &err), -ENAMETOOLONG);
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_across_files),
        cmocka_unit_test(test_follow_across_rotation_until_done),
        cmocka_unit_test(test_follow_directory_appears),
        cmocka_unit_test(test_follow_docklog_writer),
        cmocka_unit_test(test_follow_docklog_writer_moving_lines),
        cmocka_unit_test(test_file_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
