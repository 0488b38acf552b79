/* Unit tests for docklog's file sink: names, rotation, max_files, partial lines
 * across rotation, truncation back to a checkpoint on restart. Real files in a
 * temp directory. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "atomic_file.h"
#include "buf.h"
#include "cleanup.h"
#include "file_sink.h"
#include "log_names.h"
#include "test_support.h"

static char *slurp(const char *dir, const char *type, int64_t index)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/app.%s.%lld", dir, type, (long long)index);
    char *data = NULL;
    if (dv_read_file(path, &data, NULL, NULL) < 0)
        return NULL;
    return data;
}

static bool exists(const char *dir, const char *type, int64_t index)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/app.%s.%lld", dir, type, (long long)index);
    return access(path, F_OK) == 0;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Indices of the existing files of TYPE, ascending; returns the count. */
static size_t indices(const char *dir, const char *type, int64_t *ret, size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        int64_t i = dv_log_file_index(de->d_name, "app", type);
        if (i < 0)
            continue;
        assert_true(n < max);
        size_t k = n++;
        for (; k > 0 && ret[k - 1] > i; k--)
            ret[k] = ret[k - 1];
        ret[k] = i;
    }
    closedir(d);
    return n;
}

/* Concatenation of every existing file of TYPE, in index order, checking sizes. */
static void concat(const char *dir, const char *type, int64_t max_size, dv_buf *out,
                   int64_t *ret_files)
{
    static int64_t idx[4096];
    size_t n = indices(dir, type, idx, DV_ARRAY_SIZE(idx));
    for (size_t k = 0; k < n; k++) {
        _cleanup_free_ char *data = slurp(dir, type, idx[k]);
        assert_non_null(data);
        size_t len = strlen(data);
        assert_true((int64_t)len <= max_size);
        dv_buf_append(out, data, len);
    }
    if (ret_files)
        *ret_files = (int64_t)n;
}

static void write_s(dl_file_sink *s, enum dl_stream st, const char *text)
{
    dv_error err;
    if (dl_file_sink_write(s, st, text, strlen(text), &err) < 0)
        fail_msg("write: %s", err.msg);
}

static void test_names_and_streams(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-files");
    char sub[4096];
    snprintf(sub, sizeof(sub), "%s/alloc/logs", dir); /* created on open */
    dl_file_sink_options o = {.dir = sub, .base = "app", .max_files = 3, .max_size = 1000};
    dl_file_sink s;
    dv_error err;
    assert_int_equal(dl_file_sink_open(&s, &o, NULL, &err), 0);
    write_s(&s, DL_STDOUT, "out one\n");
    write_s(&s, DL_STDERR, "err one\n");
    write_s(&s, DL_STDOUT, "out two\n");
    /* Buffered until flushed, but positions already count it. */
    dl_file_pos po, pe;
    dl_file_sink_positions(&s, &po, &pe);
    assert_int_equal(po.index, 0);
    assert_int_equal(po.offset, 16);
    assert_int_equal(pe.offset, 8);
    assert_false(po.mid_line);
    assert_int_equal(dl_file_sink_flush(&s, &err), 0);
    _cleanup_free_ char *out = slurp(sub, "stdout", 0);
    _cleanup_free_ char *e = slurp(sub, "stderr", 0);
    assert_string_equal(out, "out one\nout two\n");
    assert_string_equal(e, "err one\n");
    dl_file_sink_close(&s);
    assert_int_equal(dv_log_file_index("app.stdout.12", "app", "stdout"), 12);
    assert_int_equal(dv_log_file_index("app.stdout.012", "app", "stdout"), -1);
    assert_int_equal(dv_log_file_index("app.stdout.", "app", "stdout"), -1);
    assert_int_equal(dv_log_file_index("app.stderr.1", "app", "stdout"), -1);
    assert_int_equal(dv_log_file_index("app.x.stdout.1", "app", "stdout"), -1);
    dv_test_rm_rf(dir);
}

static void test_rotation_keeps_max_files_and_whole_lines(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-files");
    dl_file_sink_options o = {.dir = dir, .base = "app", .max_files = 3, .max_size = 100};
    dl_file_sink s;
    dv_error err;
    assert_int_equal(dl_file_sink_open(&s, &o, NULL, &err), 0);
    _cleanup_buf_ dv_buf all = DV_BUF_INIT;
    for (int i = 0; i < 200; i++) {
        char line[64];
        snprintf(line, sizeof(line), "line %d%s\n", i, i % 7 == 0 ? " with some padding" : "");
        write_s(&s, DL_STDOUT, line);
        dv_buf_appends(&all, line);
        if (i % 10 == 0) {
            assert_int_equal(dl_file_sink_flush(&s, &err), 0);
            assert_int_equal(dl_file_sink_checkpointed(&s, &err), 0);
        }
    }
    assert_int_equal(dl_file_sink_flush(&s, &err), 0);
    assert_int_equal(dl_file_sink_checkpointed(&s, &err), 0);
    dl_file_pos po, pe;
    dl_file_sink_positions(&s, &po, &pe);
    dl_file_sink_close(&s);

    /* Exactly max_files stdout files remain (plus the single stderr file). */
    assert_int_equal(count_files(dir), 3 + 1);
    _cleanup_buf_ dv_buf kept = DV_BUF_INIT;
    int64_t files;
    concat(dir, "stdout", 100, &kept, &files);
    assert_int_equal(files, 3);
    /* The newest files are a suffix of the stream that starts at a line boundary. */
    assert_true(kept.len < all.len);
    assert_memory_equal(all.data + all.len - kept.len, kept.data, kept.len);
    assert_int_equal(all.data[all.len - kept.len - 1], '\n');
    /* Every file starts a line: no line was split. */
    for (int64_t i = po.index - 2; i <= po.index; i++) {
        _cleanup_free_ char *f = slurp(dir, "stdout", i);
        assert_non_null(f);
        assert_memory_equal(f, "line ", 5);
        assert_int_equal(f[strlen(f) - 1], '\n');
        /* A file was closed only when the next line did not fit. */
        if (i < po.index)
            assert_true(strlen(f) > 100 - 32);
    }
    dv_test_rm_rf(dir);
}

static void test_partial_line_moves_to_next_file(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-files");
    dl_file_sink_options o = {.dir = dir, .base = "app", .max_files = 5, .max_size = 50};
    dl_file_sink s;
    dv_error err;
    assert_int_equal(dl_file_sink_open(&s, &o, NULL, &err), 0);
    write_s(&s, DL_STDOUT, "0123456789012345678901234567890\n"); /* 32 bytes */
    write_s(&s, DL_STDOUT, "partial-");                          /* 40, mid line */
    dl_file_pos po, pe;
    dl_file_sink_positions(&s, &po, &pe);
    assert_true(po.mid_line);
    assert_int_equal(po.line_start, 32);
    /* The rest does not fit: the line's start moves to file 1. */
    write_s(&s, DL_STDOUT, "continued-beyond-the-limit\n");
    dl_file_sink_positions(&s, &po, &pe);
    assert_int_equal(po.index, 1);
    assert_false(po.mid_line);
    assert_int_equal(po.truncate_index, 0);
    assert_int_equal(po.truncate_offset, 32);
    assert_int_equal(dl_file_sink_flush(&s, &err), 0);
    /* Until the checkpoint naming file 1 is saved, file 0 keeps its bytes. */
    _cleanup_free_ char *f0 = slurp(dir, "stdout", 0);
    assert_string_equal(f0, "0123456789012345678901234567890\npartial-");
    assert_int_equal(dl_file_sink_checkpointed(&s, &err), 0);
    _cleanup_free_ char *f0b = slurp(dir, "stdout", 0);
    _cleanup_free_ char *f1 = slurp(dir, "stdout", 1);
    assert_string_equal(f0b, "0123456789012345678901234567890\n");
    assert_string_equal(f1, "partial-continued-beyond-the-limit\n");
    dl_file_sink_close(&s);
    dv_test_rm_rf(dir);
}

static void test_line_longer_than_limit_is_split_at_limit(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-files");
    dl_file_sink_options o = {.dir = dir, .base = "app", .max_files = 10, .max_size = 10};
    dl_file_sink s;
    dv_error err;
    assert_int_equal(dl_file_sink_open(&s, &o, NULL, &err), 0);
    write_s(&s, DL_STDERR, "abc\n");
    write_s(&s, DL_STDERR, "0123456789"); /* partial, does not fit after "abc\n" */
    write_s(&s, DL_STDERR, "abcdefghij"); /* still the same line */
    write_s(&s, DL_STDERR, "XY\n");
    write_s(&s, DL_STDERR, "next\n");
    assert_int_equal(dl_file_sink_flush(&s, &err), 0);
    assert_int_equal(dl_file_sink_checkpointed(&s, &err), 0);
    const char *want[] = {"abc\n", "0123456789", "abcdefghij", "XY\nnext\n"};
    for (int i = 0; i < 4; i++) {
        _cleanup_free_ char *f = slurp(dir, "stderr", i);
        assert_non_null(f);
        assert_string_equal(f, want[i]);
    }
    dl_file_sink_close(&s);
    dv_test_rm_rf(dir);
}

static void test_restart_truncates_back_to_checkpoint(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-files");
    dl_file_sink_options o = {.dir = dir, .base = "app", .max_files = 10, .max_size = 20};
    dl_file_sink s;
    dv_error err;
    assert_int_equal(dl_file_sink_open(&s, &o, NULL, &err), 0);
    write_s(&s, DL_STDOUT, "first line\n");
    write_s(&s, DL_STDERR, "an error\n");
    dl_position cp = {.ts = {1, 1}};
    dl_file_sink_positions(&s, &cp.out, &cp.err);
    /* Not acknowledged by a checkpoint: rotates into file 1, written to disk. */
    write_s(&s, DL_STDOUT, "second line\n");
    write_s(&s, DL_STDOUT, "third\n");
    write_s(&s, DL_STDERR, "more\n");
    dl_file_sink_close(&s);
    assert_true(exists(dir, "stdout", 1));
    assert_true(dl_file_sink_matches(&o, &cp));

    assert_int_equal(dl_file_sink_open(&s, &o, &cp, &err), 0);
    assert_false(exists(dir, "stdout", 1));
    _cleanup_free_ char *f0 = slurp(dir, "stdout", 0);
    assert_string_equal(f0, "first line\n");
    _cleanup_free_ char *e0 = slurp(dir, "stderr", 0);
    assert_string_equal(e0, "an error\n");
    /* Redelivery produces the same files as if nothing happened. */
    write_s(&s, DL_STDOUT, "second line\n");
    write_s(&s, DL_STDOUT, "third\n");
    write_s(&s, DL_STDERR, "more\n");
    dl_file_sink_close(&s);
    _cleanup_free_ char *f1 = slurp(dir, "stdout", 1);
    _cleanup_free_ char *e0b = slurp(dir, "stderr", 0);
    assert_string_equal(f1, "second line\nthird\n");
    assert_string_equal(e0b, "an error\nmore\n");

    /* A checkpoint ahead of the files (power loss) is detected. */
    dl_position ahead = cp;
    ahead.out.offset = 1000;
    assert_false(dl_file_sink_matches(&o, &ahead));
    ahead = cp;
    ahead.err.index = 7;
    ahead.err.offset = 3;
    assert_false(dl_file_sink_matches(&o, &ahead));
    dv_test_rm_rf(dir);
}

static void test_failed_flush_retried_in_place(void **state)
{
    (void)state;
    /* A flush that stops half way (here the file size limit; in life a full disk) and
     * is retried, e.g. by the final sync before the exit for a respawn, must put the
     * same bytes at the same place, not append the whole buffer after the part that
     * made it. */
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-files");
    dl_file_sink_options o = {.dir = dir, .base = "app", .max_files = 3, .max_size = 1 << 20};
    dl_file_sink s;
    dv_error err;
    assert_int_equal(dl_file_sink_open(&s, &o, NULL, &err), 0);
    _cleanup_buf_ dv_buf all = DV_BUF_INIT;
    for (int i = 0; i < 100; i++) {
        char line[32];
        snprintf(line, sizeof(line), "line %03d\n", i);
        write_s(&s, DL_STDOUT, line);
        dv_buf_appends(&all, line);
    }
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 500;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int r = dl_file_sink_flush(&s, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(r, -EFBIG);
    if (dl_file_sink_flush(&s, &err) < 0)
        fail_msg("retry: %s", err.msg);
    _cleanup_free_ char *f0 = slurp(dir, "stdout", 0);
    assert_string_equal(f0, all.data);
    write_s(&s, DL_STDOUT, "after\n");
    dl_file_sink_close(&s);
    _cleanup_free_ char *f1 = slurp(dir, "stdout", 0);
    assert_int_equal(strlen(f1), all.len + 6);
    dv_test_rm_rf(dir);
}

static void test_fresh_start_never_overwrites(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-files");
    char path[4096];
    snprintf(path, sizeof(path), "%s/app.stdout.4", dir);
    dv_test_write_file(path, "older data\n");
    dl_file_sink_options o = {.dir = dir, .base = "app", .max_files = 10, .max_size = 100};
    dl_file_sink s;
    dv_error err;
    assert_int_equal(dl_file_sink_open(&s, &o, NULL, &err), 0);
    write_s(&s, DL_STDOUT, "new\n");
    dl_file_sink_close(&s);
    _cleanup_free_ char *f4 = slurp(dir, "stdout", 4);
    _cleanup_free_ char *f5 = slurp(dir, "stdout", 5);
    _cleanup_free_ char *e0 = slurp(dir, "stderr", 0);
    assert_string_equal(f4, "older data\n");
    assert_string_equal(f5, "new\n");
    assert_string_equal(e0, "");
    dv_test_rm_rf(dir);
}

/* Property test: random entries (whole lines, partial lines, long lines), random
 * checkpoints, random crashes (restart from the last saved checkpoint and deliver
 * again from there). The files must always end up holding exactly the stream, with
 * no file over the limit and no line split unless longer than the limit. */
struct model {
    dl_file_sink *sink;
    dl_position saved;
    dl_position committed;
    int saved_i; /* entries [0, saved_i) are covered by the saved checkpoint */
    int done_i;  /* entries [0, done_i) are written (committed) */
    int hooks;
};

static int hook(void *userdata, dv_error *err)
{
    struct model *m = userdata;
    int r = dl_file_sink_flush(m->sink, err);
    if (r < 0)
        return r;
    m->saved = m->committed;
    m->saved_i = m->done_i;
    m->hooks++;
    return dl_file_sink_checkpointed(m->sink, err);
}

static void test_random_crashes_exactly_once(void **state)
{
    (void)state;
    srandom(4242);
    int hooks = 0;
    for (int round = 0; round < 30; round++) {
        _cleanup_free_ char *dir = dv_test_tmpdir("dl-files");
        int64_t max_size = 40 + random() % 200;
        dl_file_sink_options o = {
            .dir = dir, .base = "app", .max_files = 100000, .max_size = max_size};
        /* The stream: per entry (stream, text). */
        int n = 400;
        char **text = calloc((size_t)n, sizeof(char *));
        int *stream = calloc((size_t)n, sizeof(int));
        for (int i = 0; i < n; i++) {
            int kind = (int)(random() % 10);
            size_t len = kind < 6 ? 1 + random() % 30 : kind < 9 ? 1 + random() % 80 : 300;
            text[i] = malloc(len + 1);
            for (size_t k = 0; k < len; k++)
                text[i][k] = (char)('a' + (i + (int)k) % 26);
            bool partial = random() % 4 == 0;
            text[i][len - 1] = partial ? '~' : '\n';
            text[i][len] = '\0';
            stream[i] = (int)(random() % 2);
        }
        dl_file_sink sink;
        struct model m = {.sink = &sink};
        dv_error err;
        assert_int_equal(dl_file_sink_open(&sink, &o, NULL, &err), 0);
        sink.checkpoint_hook = hook;
        sink.hook_userdata = &m;
        m.saved.out = m.saved.err = DL_FILE_POS_NONE;
        dl_file_sink_positions(&sink, &m.saved.out, &m.saved.err);
        int crashes = 0;
        for (int i = 0; i < n;) {
            if (dl_file_sink_write(&sink, (enum dl_stream)stream[i], text[i], strlen(text[i]),
                                   &err) < 0)
                fail_msg("write: %s", err.msg);
            i++;
            m.done_i = i;
            dl_file_sink_positions(&sink, &m.committed.out, &m.committed.err);
            /* Half the rounds checkpoint after every rotation; the others rarely, so
             * two partial-line moves meet in one batch and the hook runs. */
            bool rotated = m.saved.out.index != m.committed.out.index ||
                           m.saved.err.index != m.committed.err.index;
            if ((round % 2 && rotated) || random() % 5 == 0) {
                /* batch end: flush, save, then post-checkpoint work */
                if (random() % 8 != 0) {
                    assert_int_equal(dl_file_sink_flush(&sink, &err), 0);
                    m.saved = m.committed;
                    m.saved_i = i;
                    assert_int_equal(dl_file_sink_checkpointed(&sink, &err), 0);
                }
            }
            if (random() % 40 == 0) {
                /* crash: whatever reached the files stays, buffered bytes may or may not */
                if (random() % 2)
                    dl_file_sink_flush(&sink, NULL);
                for (int k = 0; k < 2; k++)
                    sink.s[k].buf_len = 0;
                dl_file_sink_close(&sink);
                assert_true(dl_file_sink_matches(&o, &m.saved));
                assert_int_equal(dl_file_sink_open(&sink, &o, &m.saved, &err), 0);
                sink.checkpoint_hook = hook;
                sink.hook_userdata = &m;
                i = m.saved_i; /* redelivery from the checkpoint */
                m.done_i = i;
                m.committed = m.saved;
                crashes++;
            }
        }
        hooks += m.hooks; /* counted before the final checkpoint at exit: */
        assert_int_equal(hook(&m, &err), 0);
        dl_file_sink_close(&sink);
        assert_true(crashes > 0);
        for (int st = 0; st < 2; st++) {
            _cleanup_buf_ dv_buf want = DV_BUF_INIT;
            for (int i = 0; i < n; i++)
                if (stream[i] == st)
                    dv_buf_appends(&want, text[i]);
            _cleanup_buf_ dv_buf got = DV_BUF_INIT;
            concat(dir, st ? "stderr" : "stdout", max_size, &got, NULL);
            assert_int_equal(got.len, want.len);
            assert_memory_equal(got.data, want.data, want.len);
            /* No line split across files unless it is longer than a file. */
            static int64_t idx[4096];
            size_t nidx = indices(dir, st ? "stderr" : "stdout", idx, DV_ARRAY_SIZE(idx));
            for (size_t k = 0; k < nidx; k++) {
                int64_t f = idx[k];
                _cleanup_free_ char *d = slurp(dir, st ? "stderr" : "stdout", f);
                assert_non_null(d);
                if (d[0] == '\0')
                    continue;
                _cleanup_free_ char *next = slurp(dir, st ? "stderr" : "stdout", f + 1);
                size_t len = strlen(d);
                if (d[len - 1] != '\n' && next && next[0]) {
                    /* the line continues: it must fill its file from the start */
                    char *nl = memrchr(d, '\n', len);
                    assert_null(nl);
                    assert_int_equal((int64_t)len, max_size);
                }
            }
        }
        for (int i = 0; i < n; i++)
            free(text[i]);
        free(text);
        free(stream);
        dv_test_rm_rf(dir);
    }
    assert_true(hooks > 0);
}

/* The log directory sits in the task's alloc/, which the task may write to: a
 * symlink in its place is refused at open, and a swap after the open changes
 * nothing: rotation and expiry stay in the directory that was opened. */
static void test_symlinked_directory_never_followed(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-files");
    char logs[4096], moved[4096], victim[4096];
    snprintf(logs, sizeof(logs), "%s/logs", dir);
    snprintf(moved, sizeof(moved), "%s/moved", dir);
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    assert_int_equal(mkdir(victim, 0700), 0);
    assert_int_equal(symlink(victim, logs), 0);
    dl_file_sink_options o = {.dir = logs, .base = "app", .max_files = 2, .max_size = 10};
    dl_file_sink s;
    dv_error err;
    assert_true(dl_file_sink_open(&s, &o, NULL, &err) < 0);
    assert_non_null(strstr(err.msg, "symlink"));
    assert_false(dl_file_sink_has_files(&o));
    assert_int_equal(count_files(victim), 0);

    assert_int_equal(unlink(logs), 0);
    assert_int_equal(dl_file_sink_open(&s, &o, NULL, &err), 0);
    write_s(&s, DL_STDOUT, "first\n");
    assert_int_equal(rename(logs, moved), 0);
    assert_int_equal(symlink(victim, logs), 0);
    for (int i = 0; i < 5; i++)
        write_s(&s, DL_STDOUT, "rotates\n"); /* each line its own file */
    assert_int_equal(dl_file_sink_flush(&s, &err), 0);
    assert_int_equal(dl_file_sink_checkpointed(&s, &err), 0); /* expiry of old files */
    dl_file_sink_close(&s);
    assert_int_equal(count_files(victim), 0);
    /* stdout 0..5, one line each, the newest 2 kept (max_files); stderr 0, empty */
    assert_int_equal(count_files(moved), 3);
    assert_true(exists(moved, "stdout", 5) && exists(moved, "stdout", 4));
    assert_true(exists(moved, "stderr", 0));
    dv_test_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_streams),
        cmocka_unit_test(test_symlinked_directory_never_followed),
        cmocka_unit_test(test_rotation_keeps_max_files_and_whole_lines),
        cmocka_unit_test(test_partial_line_moves_to_next_file),
        cmocka_unit_test(test_line_longer_than_limit_is_split_at_limit),
        cmocka_unit_test(test_restart_truncates_back_to_checkpoint),
        cmocka_unit_test(test_failed_flush_retried_in_place),
        cmocka_unit_test(test_fresh_start_never_overwrites),
        cmocka_unit_test(test_random_crashes_exactly_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
