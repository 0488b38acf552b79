/* Unit tests for docklog's resume after a corrupt or missing checkpoint (issue 12
 * item 9): the checkpoint's copy (checkpoint_copy.h) and the choice of where to
 * resume (resume.h). Real files in a temp directory, the real deliver and file sink;
 * a "kill" drops what the file sink still buffers and runs no exit code. */
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

#include "atomic_file.h"
#include "buf.h"
#include "checkpoint.h"
#include "checkpoint_copy.h"
#include "cleanup.h"
#include "deliver.h"
#include "file_sink.h"
#include "resume.h"
#include "test_support.h"

#define CONTAINER "c0ffee"
#define N 600

static void test_slot_round_trip_and_damage(void **state)
{
    (void)state;
    dl_checkpoint cp;
    dl_checkpoint_init(&cp, CONTAINER);
    dl_position_advance(&cp.pos, DL_STDOUT, 1000);
    cp.pos.out = (dl_file_pos){.index = 3, .offset = 77, .line_start = 70, .truncate_index = -1};
    size_t len;
    _cleanup_free_ char *text = dl_checkpoint_dumps(&cp, &len);
    assert_non_null(text);
    char slot[DL_COPY_SLOT_SIZE];
    size_t n = dl_copy_format_slot(slot, 42, text, len);
    assert_int_equal(n, DL_COPY_HEADER_LEN + len);
    dl_copy_save s;
    dv_error err;
    assert_int_equal(dl_copy_parse_slot(slot, n, &s, &err), 0);
    assert_int_equal(s.seq, 42);
    assert_true(s.cp.pos.ts[DL_STDOUT] == 1000);
    assert_int_equal(s.cp.pos.out.offset, 77);
    /* Every single flipped bit, a short read, zeros: never a position. */
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            slot[i] ^= (char)(1 << bit);
            assert_int_not_equal(dl_copy_parse_slot(slot, n, &s, &err), 0);
            slot[i] ^= (char)(1 << bit);
        }
    for (size_t cut = 0; cut < n; cut++)
        assert_int_not_equal(dl_copy_parse_slot(slot, cut, &s, &err), 0);
    memset(slot, 0, sizeof(slot));
    assert_int_not_equal(dl_copy_parse_slot(slot, sizeof(slot), &s, &err), 0);
}

/* An error message too long for a slot once escaped: the copy keeps the position. */
static void test_copy_without_long_error(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-resume");
    char path[4096];
    snprintf(path, sizeof(path), "%s/docklog.checkpoint.copy", dir);
    dl_copy c;
    dv_error err;
    assert_int_equal(dl_copy_open(&c, path, &err), 0);
    dl_checkpoint cp;
    dl_checkpoint_init(&cp, CONTAINER);
    cp.outcome = DL_OUTCOME_FAILED;
    memset(cp.error, '\x01', sizeof(cp.error) - 1); /* 6 bytes each in JSON */
    memset(cp.container_id, '\x01', sizeof(cp.container_id) - 1);
    dl_position_advance(&cp.pos, DL_STDERR, 5);
    size_t len;
    _cleanup_free_ char *text = dl_checkpoint_dumps(&cp, &len);
    assert_true(len > DL_COPY_JSON_MAX);
    assert_int_equal(dl_copy_write(&c, &cp, text, len, true, &err), 0);
    dl_copy_close(&c);
    dl_copy_save s[2];
    int n;
    assert_int_equal(dl_copy_load(path, s, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].cp.outcome, DL_OUTCOME_FAILED);
    assert_true(s[0].cp.pos.ts[DL_STDERR] == 5);
    dv_test_rm_rf(dir);
}

/* The container's log: entries of both streams, each stream in timestamp order (runs
 * of equal stamps included, as Docker's 16 KiB pieces), interleaved out of order
 * between the streams; some partial lines, so rotation moves lines between files. */
struct log {
    dl_entry e[N];
    char *text[N];
};

static void make_log(struct log *l)
{
    int64_t ts[2] = {1000000, 1000000 - 5000};
    for (int i = 0; i < N; i++) {
        int st = (int)(random() % 2);
        if (random() % 4)
            ts[st] += 1 + random() % 3000;
        size_t len = 12 + (size_t)(random() % 40);
        l->text[i] = malloc(len + 1);
        int k = snprintf(l->text[i], len + 1, "%d %s ", i, st ? "err" : "out");
        for (size_t j = (size_t)k; j < len; j++)
            l->text[i][j] = (char)('a' + (i + (int)j) % 26);
        l->text[i][len - 1] = random() % 8 == 0 ? '~' : '\n';
        l->text[i][len] = '\0';
        l->e[i] =
            (dl_entry){.stream = (enum dl_stream)st, .ts = ts[st], .msg = l->text[i], .len = len};
    }
}

static void free_log(struct log *l)
{
    for (int i = 0; i < N; i++)
        free(l->text[i]);
}

struct env {
    char *dir;
    char logs[4096], cp[4096], copy[4096];
    dl_file_sink_options fo;
};

static void env_init(struct env *e)
{
    e->dir = dv_test_tmpdir("dl-resume");
    snprintf(e->logs, sizeof(e->logs), "%s/logs", e->dir);
    snprintf(e->cp, sizeof(e->cp), "%s/docklog.checkpoint", e->dir);
    _cleanup_free_ char *copy = dl_resume_copy_path(e->cp);
    assert_non_null(copy);
    snprintf(e->copy, sizeof(e->copy), "%s", copy);
    /* ~5 lines to a file: many rotations, moved partial lines, both streams. */
    e->fo =
        (dl_file_sink_options){.dir = e->logs, .base = "app", .max_files = 100000, .max_size = 160};
}

static void env_free(struct env *e)
{
    dv_test_rm_rf(e->dir);
    free(e->dir);
    e->dir = NULL;
}

/* One docklog run: resume, deliver the whole log from its start (as Docker answers
 * since=, the filter drops what was delivered), batch ends at random. KILL_AT >= 0:
 * killed after that many entries of the log were handled, the last batch not yet
 * saved. Returns the entries delivered by this run; *RET_SAVED_AT: how many of the
 * log's entries the last save covered. */
static uint64_t run(struct env *e, const struct log *l, int kill_at, dl_resume *ret_res,
                    int *ret_saved_at)
{
    dv_error err;
    dl_resume_load(e->cp, e->copy, CONTAINER, &e->fo, ret_res);
    dl_file_sink sink;
    assert_int_equal(
        dl_file_sink_open(&sink, &e->fo, ret_res->fresh_files ? NULL : &ret_res->cp.pos, &err), 0);
    dl_copy copy;
    assert_int_equal(dl_copy_open(&copy, e->copy, &err), 0);
    dl_deliver d;
    dl_deliver_init(&d, e->cp, &ret_res->cp, &sink, NULL, NULL);
    d.copy = &copy;
    assert_int_equal(dl_deliver_sync(&d, &err), 0);
    dl_deliver_begin_stream(&d, true);
    int saved_at = 0;
    for (int i = 0; i < N; i++) {
        if (i == kill_at) {
            if (random() % 2) /* the unsaved batch may or may not have reached the files */
                assert_int_equal(dl_file_sink_flush(&sink, &err), 0);
            sink.s[0].buf_len = sink.s[1].buf_len = 0;
            dl_file_sink_close(&sink);
            dl_copy_close(&copy);
            *ret_saved_at = saved_at;
            return d.entries;
        }
        if (dl_deliver_entry(&d, &l->e[i], &err) < 0)
            fail_msg("deliver: %s", err.msg);
        if (random() % 6 == 0) {
            assert_int_equal(dl_deliver_batch_end(&d, &err), 0);
            saved_at = i + 1;
        }
    }
    assert_int_equal(dl_deliver_finish(&d, DL_OUTCOME_DONE, NULL, &err), 0);
    dl_file_sink_close(&sink);
    dl_copy_close(&copy);
    *ret_saved_at = N;
    return d.entries;
}

static void concat(const struct env *e, const char *type, dv_buf *out)
{
    for (int64_t i = 0;; i++) {
        char path[8192];
        snprintf(path, sizeof(path), "%s/app.%s.%lld", e->logs, type, (long long)i);
        _cleanup_free_ char *data = NULL;
        size_t len;
        if (dv_read_file(path, &data, &len, NULL) < 0)
            break;
        dv_buf_append(out, data, len);
    }
}

/* The files hold every entry of the log exactly once, in order per stream. */
static void assert_files_exact(const struct env *e, const struct log *l)
{
    for (int st = 0; st < 2; st++) {
        _cleanup_buf_ dv_buf want = DV_BUF_INIT, got = DV_BUF_INIT;
        for (int i = 0; i < N; i++)
            if ((int)l->e[i].stream == st)
                dv_buf_append(&want, l->e[i].msg, l->e[i].len);
        concat(e, st ? "stderr" : "stdout", &got);
        dv_buf_appends(&want, "");
        dv_buf_appends(&got, "");
        assert_string_equal(got.data, want.data);
    }
}

/* How many entries of the log POS counts as delivered: per stream, those stamped
 * before its time and the first `count` at it. */
static int committed(const struct log *l, const dl_position *pos)
{
    int n = 0;
    for (int st = 0; st < 2; st++) {
        uint64_t at = 0;
        for (int i = 0; i < N; i++) {
            const dl_entry *x = &l->e[i];
            if ((int)x->stream != st || pos->ts[st] == DL_TS_NONE || x->ts > pos->ts[st])
                continue;
            if (x->ts < pos->ts[st] || at++ < pos->count[st])
                n++;
        }
    }
    return n;
}

static bool noted(const dl_resume *r, const char *what)
{
    for (int i = 0; i < r->notes; i++)
        if (strstr(r->note[i], what))
            return true;
    return false;
}

enum damage { GARBAGE, TRUNCATED, EMPTY, WRONG_TYPES, DUPLICATE_KEY, MISSING, DAMAGES };

static void damage_checkpoint(const struct env *e, enum damage how)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    assert_int_equal(dv_read_file(e->cp, &text, &len, NULL), 0);
    switch (how) {
    case GARBAGE:
        dv_test_write_file(e->cp, "\x7f\x45LF garbage \x01\x02\x03");
        break;
    case TRUNCATED:
        text[len / 2] = '\0';
        dv_test_write_file(e->cp, text);
        break;
    case EMPTY:
        dv_test_write_file(e->cp, "");
        break;
    case WRONG_TYPES:
        dv_test_write_file(e->cp, "{\"version\":1,\"container_id\":\"" CONTAINER "\",\"outcome\":"
                                  "\"running\",\"position\":{\"stdout\":{\"index\":\"3\","
                                  "\"offset\":-1},\"stderr\":[]}}");
        break;
    case DUPLICATE_KEY: {
        /* A second "outcome" saying done. The copy's slots always refused a key
         * given twice, but the checkpoint itself was read leniently (the last one
         * wins): docklog then took the container as drained and stopped collecting,
         * and the agent took its logs as complete. */
        char *end = strrchr(text, '}');
        assert_non_null(end);
        *end = '\0';
        char doubled[8192];
        snprintf(doubled, sizeof(doubled), "%s,\"outcome\":\"done\"}\n", text);
        dv_test_write_file(e->cp, doubled);
        break;
    }
    case MISSING:
        assert_int_equal(unlink(e->cp), 0);
        break;
    default:
        break;
    }
}

/* Kill, damage the checkpoint (each way), restart: the copy gives the exact
 * position, the files end up exact, and the restart delivers again only the batch
 * the kill interrupted (all journald would repeat). */
static void test_damaged_checkpoint_resumes_from_copy(void **state)
{
    (void)state;
    srandom(912);
    for (int round = 0; round < 4 * DAMAGES; round++) {
        enum damage how = (enum damage)(round % DAMAGES);
        struct env e;
        env_init(&e);
        struct log l;
        make_log(&l);
        dl_resume res;
        int saved_at, ignored;
        int kill_at = 50 + (int)(random() % (N - 100));
        assert_int_equal(run(&e, &l, kill_at, &res, &saved_at), kill_at);
        dl_checkpoint before;
        dv_error err;
        assert_int_equal(dl_checkpoint_load(e.cp, &before, &err), 0);
        damage_checkpoint(&e, how);

        dl_resume check;
        dl_resume_load(e.cp, e.copy, CONTAINER, &e.fo, &check);
        assert_false(check.fresh_files);
        for (int st = 0; st < 2; st++) {
            assert_true(check.cp.pos.ts[st] == before.pos.ts[st]);
            assert_int_equal(check.cp.pos.count[st], before.pos.count[st]);
        }
        assert_int_equal(check.cp.pos.out.index, before.pos.out.index);
        assert_int_equal(check.cp.pos.out.offset, before.pos.out.offset);
        assert_int_equal(check.cp.pos.err.index, before.pos.err.index);
        assert_int_equal(check.cp.pos.err.offset, before.pos.err.offset);
        assert_int_equal(check.cp.pos.out.truncate_index, before.pos.out.truncate_index);
        assert_true(noted(&check, "resuming from its copy"));
        assert_true(check.from_copy);
        char aside[8192];
        snprintf(aside, sizeof(aside), "%s.corrupt", e.cp);
        assert_int_equal(access(aside, F_OK) == 0, how != MISSING);
        /* The resume sets it aside once: the rest of the test sees no checkpoint. */
        if (how != MISSING)
            assert_int_equal(access(e.cp, F_OK), -1);

        /* At most one batch was not saved; a partial-line move may have saved
         * within it. */
        assert_true(committed(&l, &before.pos) >= saved_at);
        uint64_t again = run(&e, &l, -1, &res, &ignored);
        assert_int_equal(again, N - committed(&l, &before.pos));
        assert_files_exact(&e, &l);
        free_log(&l);
        env_free(&e);
    }
}

static void overwrite(const char *path, off_t at, const char *bytes, size_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, len, at), (ssize_t)len);
    close(fd);
}

/* The copy damaged too. Its newest slot torn: the older one, a batch further back,
 * still matches the files, which are cut back to it and end up exact. Nothing
 * usable left: start over in new files, everything again but nothing lost. */
static void test_damaged_copy(void **state)
{
    (void)state;
    srandom(77);
    enum { TORN_NEWEST, ZEROED_NEWEST, SHORT_FILE, BOTH_BAD, NO_COPY, CASES };
    for (int round = 0; round < 3 * CASES; round++) {
        int c = round % CASES;
        struct env e;
        env_init(&e);
        struct log l;
        make_log(&l);
        dl_resume res;
        int saved_at, ignored;
        int kill_at = 100 + (int)(random() % (N - 200));
        run(&e, &l, kill_at, &res, &saved_at);
        damage_checkpoint(&e, (enum damage)((round + round / CASES) % DAMAGES));
        dl_copy_save s[2];
        int n;
        dv_error err;
        assert_int_equal(dl_copy_load(e.copy, s, &n, &err), 0);
        assert_int_equal(n, 2);
        off_t newest = (off_t)(s[0].seq % 2) * DL_COPY_SLOT_SIZE;
        switch (c) {
        case TORN_NEWEST: /* the first half of the slot from another save */
            overwrite(e.copy, newest + DL_COPY_HEADER_LEN + 20, "{\"version\":1}", 13);
            break;
        case ZEROED_NEWEST: {
            char zeros[DL_COPY_SLOT_SIZE] = {0};
            overwrite(e.copy, newest, zeros, sizeof(zeros));
            break;
        }
        case SHORT_FILE: /* cut in the middle of the slot at the end */
            assert_int_equal(truncate(e.copy, DL_COPY_SLOT_SIZE + 30), 0);
            break;
        case BOTH_BAD:
            overwrite(e.copy, 3, "XX", 2);
            overwrite(e.copy, DL_COPY_SLOT_SIZE + 3, "XX", 2);
            break;
        case NO_COPY:
            assert_int_equal(unlink(e.copy), 0);
            break;
        }
        dl_resume check;
        dl_resume_load(e.cp, e.copy, CONTAINER, &e.fo, &check);
        if (c == BOTH_BAD || c == NO_COPY) {
            assert_true(check.fresh_files);
            assert_true(check.cp.pos.ts[0] == DL_TS_NONE && check.cp.pos.ts[1] == DL_TS_NONE);
            assert_true(noted(&check, "starting over in new files"));
            /* Everything again, in new files after the old ones: nothing lost. */
            assert_int_equal(run(&e, &l, -1, &res, &ignored), N);
        } else {
            assert_false(check.fresh_files);
            assert_true(noted(&check, "resuming from its copy"));
            assert_true(noted(&check, "the other slot is not valid"));
            run(&e, &l, -1, &res, &ignored);
            assert_files_exact(&e, &l);
        }
        free_log(&l);
        env_free(&e);
    }
}

/* No checkpoint and no copy: a first start, silently fresh. An intact checkpoint is
 * used as it is, whatever the copy holds. */
static void test_first_start_and_intact_checkpoint(void **state)
{
    (void)state;
    srandom(5);
    struct env e;
    env_init(&e);
    dl_resume r;
    dl_resume_load(e.cp, e.copy, CONTAINER, &e.fo, &r);
    assert_true(r.fresh_files);
    assert_int_equal(r.notes, 0);
    struct log l;
    make_log(&l);
    int saved_at, ignored;
    run(&e, &l, 300, &r, &saved_at);
    dl_checkpoint before;
    dv_error err;
    assert_int_equal(dl_checkpoint_load(e.cp, &before, &err), 0);
    assert_int_equal(truncate(e.copy, 0), 0);
    dl_resume_load(e.cp, e.copy, CONTAINER, &e.fo, &r);
    assert_false(r.fresh_files);
    assert_int_equal(r.notes, 0);
    assert_int_equal(run(&e, &l, -1, &r, &ignored), N - committed(&l, &before.pos));
    assert_files_exact(&e, &l);
    free_log(&l);
    env_free(&e);
}

/* A drained docklog's damaged checkpoint: the copy still says done. */
static void test_done_survives_in_copy(void **state)
{
    (void)state;
    srandom(6);
    struct env e;
    env_init(&e);
    struct log l;
    make_log(&l);
    dl_resume r;
    int saved_at;
    run(&e, &l, -1, &r, &saved_at);
    damage_checkpoint(&e, EMPTY);
    dl_resume_load(e.cp, e.copy, CONTAINER, &e.fo, &r);
    assert_true(r.from_copy);
    assert_int_equal(r.cp.outcome, DL_OUTCOME_DONE);
    free_log(&l);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slot_round_trip_and_damage),
        cmocka_unit_test(test_copy_without_long_error),
        cmocka_unit_test(test_damaged_checkpoint_resumes_from_copy),
        cmocka_unit_test(test_damaged_copy),
        cmocka_unit_test(test_first_start_and_intact_checkpoint),
        cmocka_unit_test(test_done_survives_in_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
