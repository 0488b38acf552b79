/* Unit tests for docklog's entry parsing (multiplexed and TTY streams, split at every
 * byte) and delivery bookkeeping (skip what the checkpoint says was delivered). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atomic_file.h"
#include "buf.h"
#include "cleanup.h"
#include "deliver.h"
#include "entries.h"
#include "test_support.h"
#include "timestamp.h"

struct seen {
    int n;
    enum dl_stream stream[64];
    int64_t ts[64];
    char msg[64][256];
    size_t len[64];
    int stop_at; /* stop after this many (0: never) */
};

static int collect(const dl_entry *e, void *userdata, dv_error *err)
{
    (void)err;
    struct seen *s = userdata;
    assert_true(s->n < 64);
    s->stream[s->n] = e->stream;
    s->ts[s->n] = e->ts;
    size_t keep = e->len < sizeof(s->msg[0]) ? e->len : sizeof(s->msg[0]) - 1;
    memcpy(s->msg[s->n], e->msg, keep);
    s->msg[s->n][keep] = '\0';
    s->len[s->n] = e->len;
    s->n++;
    return s->stop_at && s->n >= s->stop_at;
}

static void frame(dv_buf *b, int type, const char *payload)
{
    dv_test_frame(b, type, payload, strlen(payload));
}

static void test_multiplexed_every_split(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    frame(&b, 1, "2024-05-01T12:34:56.000000001Z 1 stdout\n");
    frame(&b, 2, "2024-05-01T12:34:56.000000002Z 2 stderr\n");
    frame(&b, 1, "2024-05-01T12:34:56.000000003Z partial without newline");
    frame(&b, 0, "stdin is ignored");
    frame(&b, 1, "2024-05-01T12:34:56.000000004Z \n");
    for (size_t cut = 0; cut <= b.len; cut++) {
        struct seen s = {0};
        dl_entries e;
        dv_error err;
        assert_int_equal(dl_entries_init(&e, false, collect, &s, &err), 0);
        assert_int_equal(dl_entries_feed(&e, b.data, cut, &err), 0);
        assert_int_equal(dl_entries_feed(&e, b.data + cut, b.len - cut, &err), 0);
        assert_int_equal(s.n, 4);
        assert_int_equal(s.stream[0], DL_STDOUT);
        assert_int_equal(s.stream[1], DL_STDERR);
        assert_string_equal(s.msg[0], "1 stdout\n");
        assert_string_equal(s.msg[1], "2 stderr\n");
        assert_string_equal(s.msg[2], "partial without newline");
        assert_string_equal(s.msg[3], "\n");
        assert_int_equal(s.ts[2] - s.ts[0], 2);
        dl_entries_free(&e);
    }
}

static void test_multiplexed_errors(void **state)
{
    (void)state;
    struct seen s = {0};
    dl_entries e;
    dv_error err;
    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    frame(&b, 1, "no timestamp here at all, just text\n");
    assert_int_equal(dl_entries_init(&e, false, collect, &s, &err), 0);
    assert_int_equal(dl_entries_feed(&e, b.data, b.len, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "without a valid timestamp"));
    dl_entries_reset(&e);
    dv_buf_reset(&b);
    frame(&b, 3, "error from daemon: disk on fire");
    assert_int_equal(dl_entries_feed(&e, b.data, b.len, &err), -EIO);
    assert_non_null(strstr(err.msg, "disk on fire"));
    assert_true(err.recoverable);
    dl_entries_free(&e);
}

static void test_raw_tty_every_split(void **state)
{
    (void)state;
    /* A TTY stream: entries back to back, CRLF line ends, a 16 KiB partial. */
    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    dv_buf_appends(&b, "2024-05-01T12:34:56.000000001Z hello tty\r\n");
    dv_buf_appends(&b, "2024-05-01T12:34:56.000000002Z \r\n");
    dv_buf_appends(&b, "2024-05-01T12:34:56.000000003Z ");
    for (int i = 0; i < DL_ENTRY_MSG_MAX; i++)
        dv_buf_append(&b, "x", 1);
    dv_buf_appends(&b, "2024-05-01T12:34:56.000000004Z rest of the long line\r\n");
    for (size_t cut = 0; cut <= b.len; cut += (cut < 200 || cut > b.len - 200) ? 1 : 97) {
        struct seen s = {0};
        dl_entries e;
        dv_error err;
        assert_int_equal(dl_entries_init(&e, true, collect, &s, &err), 0);
        assert_int_equal(dl_entries_feed(&e, b.data, cut, &err), 0);
        assert_int_equal(dl_entries_feed(&e, b.data + cut, b.len - cut, &err), 0);
        assert_int_equal(s.n, 4);
        assert_string_equal(s.msg[0], "hello tty\r\n");
        assert_string_equal(s.msg[1], "\r\n");
        assert_int_equal(s.len[2], DL_ENTRY_MSG_MAX);
        assert_int_equal(s.ts[2] - s.ts[0], 2);
        assert_string_equal(s.msg[3], "rest of the long line\r\n");
        for (int k = 0; k < 4; k++)
            assert_int_equal(s.stream[k], DL_STDOUT);
        dl_entries_free(&e);
    }
}

static void test_stream_end(void **state)
{
    (void)state;
    /* A TTY container's last line without a newline is an entry of its own once the
     * response has ended cleanly, at every split of the timestamp and message. */
    const char *text = "2024-05-01T12:34:56.000000001Z one\r\n"
                       "2024-05-01T12:34:56.000000002Z two, unterminated";
    for (size_t cut = 0; cut <= strlen(text); cut++) {
        struct seen s = {0};
        dl_entries e;
        dv_error err;
        assert_int_equal(dl_entries_init(&e, true, collect, &s, &err), 0);
        assert_int_equal(dl_entries_feed(&e, text, cut, &err), 0);
        assert_int_equal(dl_entries_feed(&e, text + cut, strlen(text) - cut, &err), 0);
        assert_int_equal(s.n, 1);
        assert_int_equal(dl_entries_finish(&e, &err), 0);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.msg[1], "two, unterminated");
        assert_int_equal(s.ts[1] - s.ts[0], 1);
        assert_int_equal(dl_entries_finish(&e, &err), 0); /* nothing twice */
        assert_int_equal(s.n, 2);
        dl_entries_free(&e);
    }
    /* A multiplexed response cannot end inside a frame unless it is garbled. */
    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    frame(&b, 1, "2024-05-01T12:34:56.000000001Z whole\n");
    struct seen s = {0};
    dl_entries e;
    dv_error err;
    assert_int_equal(dl_entries_init(&e, false, collect, &s, &err), 0);
    assert_int_equal(dl_entries_feed(&e, b.data, b.len, &err), 0);
    assert_int_equal(dl_entries_finish(&e, &err), 0);
    assert_int_equal(dl_entries_feed(&e, b.data, b.len - 3, &err), 0);
    assert_int_equal(dl_entries_finish(&e, &err), -EPROTO);
    assert_int_equal(s.n, 1);
    dl_entries_free(&e);
}

/* ---- delivery: skip at the checkpoint's timestamp ---- */

static dl_entry mk(enum dl_stream st, int64_t ts, const char *msg)
{
    return (dl_entry){.stream = st, .ts = ts, .msg = msg, .len = strlen(msg)};
}

static char *slurp(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    char *data = NULL;
    if (dv_read_file(path, &data, NULL, NULL) < 0)
        return NULL;
    return data;
}

static void test_skip_per_stream(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-deliver");
    char cppath[4096];
    snprintf(cppath, sizeof(cppath), "%s/cp", dir);
    dl_file_sink_options o = {.dir = dir, .base = "t", .max_files = 3, .max_size = 1 << 20};
    /* The log as Docker has it: each stream in time order, the two interleaved out of
     * order (stderr's 15 is written after stdout's 20), and equal times. */
    dl_entry stream[] = {
        mk(DL_STDOUT, 10, "a\n"), mk(DL_STDOUT, 20, "b\n"), mk(DL_STDERR, 15, "c\n"),
        mk(DL_STDOUT, 20, "d\n"), mk(DL_STDERR, 16, "e\n"), mk(DL_STDOUT, 30, "f\n"),
    };
    dl_checkpoint cp;
    dl_checkpoint_init(&cp, "cid");
    dl_file_sink files;
    dv_error err;
    assert_int_equal(dl_file_sink_open(&files, &o, NULL, &err), 0);
    dl_deliver d;
    dl_deliver_init(&d, cppath, &cp, &files, NULL, NULL);
    dl_deliver_begin_stream(&d, true);
    for (int i = 0; i < 3; i++) /* a, b, c delivered; then killed */
        assert_int_equal(dl_deliver_entry(&d, &stream[i], &err), 0);
    assert_int_equal(dl_deliver_batch_end(&d, &err), 0);
    assert_int_equal(d.cp.pos.ts[DL_STDOUT], 20);
    assert_int_equal(d.cp.pos.count[DL_STDOUT], 1);
    assert_int_equal(d.cp.pos.ts[DL_STDERR], 15);
    /* One time for both streams would be 20 and lose e (16). */
    assert_int_equal(dl_position_since(&d.cp.pos), 15);
    dl_file_sink_close(&files);

    /* Restart: since=15 returns b, c, d, e, f; b and c are skipped. */
    assert_int_equal(dl_checkpoint_load(cppath, &cp, &err), 0);
    assert_int_equal(dl_file_sink_open(&files, &o, &cp.pos, &err), 0);
    dl_deliver_init(&d, cppath, &cp, &files, NULL, NULL);
    dl_deliver_begin_stream(&d, true);
    for (int i = 1; i < 6; i++)
        assert_int_equal(dl_deliver_entry(&d, &stream[i], &err), 0);
    assert_int_equal(d.skipped, 2);
    assert_int_equal(d.entries, 3);
    assert_int_equal(dl_deliver_finish(&d, DL_OUTCOME_DONE, NULL, &err), 0);
    dl_file_sink_close(&files);
    _cleanup_free_ char *out = slurp(dir, "t.stdout.0");
    _cleanup_free_ char *errs = slurp(dir, "t.stderr.0");
    assert_string_equal(out, "a\nb\nd\nf\n");
    assert_string_equal(errs, "c\ne\n");
    assert_int_equal(dl_checkpoint_load(cppath, &cp, &err), 0);
    assert_int_equal(cp.outcome, DL_OUTCOME_DONE);
    assert_true(cp.has_synced);
    assert_int_equal(cp.synced.ts[DL_STDOUT], 30);
    dv_test_rm_rf(dir);
}

/* Random kills at random points of a log whose streams are each in time order but
 * interleaved out of order, with runs of equal times and a stream that starts late;
 * every restart gets Docker's answer to since= (all entries at or after it, in log
 * order) and redelivers from the last saved checkpoint. The files end up exact. */
static void test_random_restarts(void **state)
{
    (void)state;
    srandom(99);
    for (int round = 0; round < 5; round++) {
        _cleanup_free_ char *dir = dv_test_tmpdir("dl-deliver");
        char cppath[4096];
        snprintf(cppath, sizeof(cppath), "%s/cp", dir);
        dl_file_sink_options o = {.dir = dir, .base = "t", .max_files = 1000, .max_size = 300};
        enum { N = 3000 };
        static dl_entry stream[N];
        static char text[N][32];
        int64_t clock[2] = {1000, 1000};
        _cleanup_buf_ dv_buf want_out = DV_BUF_INIT, want_err = DV_BUF_INIT;
        for (int i = 0; i < N; i++) {
            /* stderr only from the middle on: until then it has no time of its own */
            int s = i > N / 2 && random() % 2 ? DL_STDERR : DL_STDOUT;
            /* each stream advances by 0..2, and lags the other by up to ~8 */
            clock[s] += random() % 3;
            if (clock[s] < clock[!s] - 8)
                clock[s] = clock[!s] - 8 + random() % 4;
            snprintf(text[i], sizeof(text[i]), "line %d\n", i);
            stream[i] = mk((enum dl_stream)s, clock[s], text[i]);
            dv_buf_appends(s == DL_STDOUT ? &want_out : &want_err, text[i]);
        }
        int kills = 0;
        bool done = false;
        while (!done) {
            dl_checkpoint cp;
            dv_error err;
            bool fresh = dl_checkpoint_load(cppath, &cp, &err) == -ENOENT;
            if (fresh)
                dl_checkpoint_init(&cp, "cid");
            dl_file_sink files;
            assert_int_equal(dl_file_sink_open(&files, &o, fresh ? NULL : &cp.pos, &err), 0);
            dl_deliver d;
            dl_deliver_init(&d, cppath, &cp, &files, NULL, NULL);
            dl_deliver_begin_stream(&d, true);
            int64_t since = dl_position_since(&cp.pos);
            /* killed after delivering this many new entries (skips do not count) */
            uint64_t kill_after = (uint64_t)(random() % 500);
            for (int i = 0; i < N && !done; i++) {
                if (since != DL_TS_NONE && stream[i].ts < since)
                    continue; /* Docker's since= filter */
                if (d.entries == kill_after) {
                    kills++;
                    break; /* kill -9: no final checkpoint */
                }
                assert_int_equal(dl_deliver_entry(&d, &stream[i], &err), 0);
                if (random() % 7 == 0)
                    assert_int_equal(dl_deliver_batch_end(&d, &err), 0);
                if (i == N - 1) {
                    assert_int_equal(dl_deliver_finish(&d, DL_OUTCOME_DONE, NULL, &err), 0);
                    done = true;
                }
            }
            /* A kill loses buffered bytes; what was flushed stays. */
            files.s[0].buf_len = files.s[1].buf_len = 0;
            dl_file_sink_close(&files);
        }
        assert_true(kills > 3);
        _cleanup_buf_ dv_buf got_out = DV_BUF_INIT, got_err = DV_BUF_INIT;
        for (int i = 0; i < 1000; i++) {
            char name[64];
            snprintf(name, sizeof(name), "t.stdout.%d", i);
            _cleanup_free_ char *a = slurp(dir, name);
            if (a)
                dv_buf_appends(&got_out, a);
            snprintf(name, sizeof(name), "t.stderr.%d", i);
            _cleanup_free_ char *b = slurp(dir, name);
            if (b)
                dv_buf_appends(&got_err, b);
        }
        assert_int_equal(got_out.len, want_out.len);
        assert_string_equal(got_out.data, want_out.data);
        assert_string_equal(got_err.data, want_err.data);
        dv_test_rm_rf(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multiplexed_every_split), cmocka_unit_test(test_multiplexed_errors),
        cmocka_unit_test(test_raw_tty_every_split),     cmocka_unit_test(test_stream_end),
        cmocka_unit_test(test_skip_per_stream),         cmocka_unit_test(test_random_restarts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
