/* Docker's `local` log driver read from disk (docklog/localfile.h): the frame and
 * protobuf decoder against hand-made entries, and the follower (jsonfile.h) against a
 * directory rotated and compressed the way Docker does it. */
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
#include <zlib.h>

#include "buf.h"
#include "cleanup.h"
#include "jsonfile.h"
#include "localfile.h"
#include "atomic_file.h"
#include "entry_collector.h"
#include "test_support.h"
#include "xalloc.h"

/* --- a LogEntry encoder, as Docker's gogo/protobuf writes it --- */

static void put_varint(dv_buf *b, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        if (v)
            c |= 0x80;
        dv_buf_append(b, (const char *)&c, 1);
    } while (v);
}

static void put_bytes(dv_buf *b, unsigned field, const void *p, size_t n)
{
    put_varint(b, field << 3 | 2);
    put_varint(b, n);
    dv_buf_append(b, p, n);
}

static void put_be32(dv_buf *b, uint32_t v)
{
    uint8_t c[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    dv_buf_append(b, (const char *)c, 4);
}

/* One frame. PARTIAL: 0 whole, 1 a piece, 2 the last piece. EXTRA: unknown fields. */
static void frame(dv_buf *out, const char *source, int64_t ts, const char *line, int partial,
                  bool extra)
{
    dv_buf b = DV_BUF_INIT;
    if (extra) {
        put_varint(&b, 9 << 3 | 0); /* an unknown varint */
        put_varint(&b, 123456789);
        put_varint(&b, 10 << 3 | 1); /* fixed64 */
        dv_buf_append(&b, "12345678", 8);
    }
    put_bytes(&b, 1, source, strlen(source));
    put_varint(&b, 2 << 3 | 0);
    put_varint(&b, (uint64_t)ts);
    put_bytes(&b, 3, line, strlen(line));
    if (partial) {
        put_varint(&b, 4 << 3 | 0);
        put_varint(&b, 1);
        dv_buf m = DV_BUF_INIT;
        if (extra)
            put_bytes(&m, 7, "x", 1);
        put_varint(&m, 1 << 3 | 0);
        put_varint(&m, partial == 2);
        put_bytes(&m, 2, "pid", 3);
        put_varint(&m, 3 << 3 | 0);
        put_varint(&m, 1);
        put_bytes(&b, 5, m.data, m.len);
        dv_buf_free(&m);
    }
    if (extra) {
        put_bytes(&b, 12, "unknown", 7);
        put_varint(&b, 11 << 3 | 5); /* fixed32 */
        dv_buf_append(&b, "1234", 4);
    }
    put_be32(out, (uint32_t)b.len);
    dv_buf_append(out, b.data, b.len);
    put_be32(out, (uint32_t)b.len);
    dv_buf_free(&b);
}

static void got_free(struct got *g)
{
    dv_buf_free(&g->out);
    dv_buf_free(&g->err);
}

#define T0 1704067200000000000LL /* 2024-01-01T00:00:00Z */

static void test_decode_entries(void **state)
{
    (void)state;
    dv_buf b = DV_BUF_INIT;
    frame(&b, "stdout", T0 + 5, "hello", 0, false);
    size_t size;
    dv_error err;
    assert_int_equal(dl_local_frame((const uint8_t *)b.data, b.len, &size, &err), 0);
    assert_int_equal(size, b.len);
    dl_local_entry e;
    assert_int_equal(dl_local_decode_entry((const uint8_t *)b.data + 4, size - 8, &e, &err), 0);
    assert_int_equal(e.stream, DL_STDOUT);
    assert_int_equal(e.ts, T0 + 5);
    assert_int_equal(e.len, 5);
    assert_memory_equal(e.line, "hello", 5);
    assert_false(e.partial);

    /* Unknown fields of every wire type, in the entry and its metadata, are skipped. */
    dv_buf_reset(&b);
    frame(&b, "stderr", T0, "piece", 2, true);
    assert_int_equal(dl_local_frame((const uint8_t *)b.data, b.len, &size, &err), 0);
    assert_int_equal(dl_local_decode_entry((const uint8_t *)b.data + 4, size - 8, &e, &err), 0);
    assert_int_equal(e.stream, DL_STDERR);
    assert_true(e.partial);
    assert_true(e.last);
    assert_memory_equal(e.line, "piece", 5);

    /* What is not a LogEntry. */
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"\x0a\x06stdin!\x10\x01", 10},      /* source neither stdout nor stderr */
        {"\x0a\x06stdout\x1a\x09short", 15}, /* line runs past the end */
        {"\x0a\x06stdout\x10\xff", 10},      /* varint cut off */
        {"\x0a\x06stdout\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 20}, /* 11 bytes */
        {"\x0a\x06stdout\x12\x01x", 11},                                    /* time_nano as bytes */
        {"\x0a\x06stdout\x0b", 9},                                          /* a group */
        {"\x0a\x06stdout\x00", 9},                                          /* field 0 */
        {"\x0a\x06stdout\x6d\x01\x02", 11},                                 /* fixed32 cut off */
        {"\x0a\x06stdout\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 19}, /* negative time */
        {"", 0},                                                            /* no source */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (dl_local_decode_entry((const uint8_t *)bad[i].bytes, bad[i].len, &e, &err) != -EPROTO)
            fail_msg("bad entry %zu decoded", i);
    dv_buf_free(&b);
}

static void test_frames(void **state)
{
    (void)state;
    size_t size;
    dv_error err;
    /* Too short to tell: more is needed. */
    assert_int_equal(dl_local_frame((const uint8_t *)"\0\0", 2, &size, &err), 1);
    assert_int_equal(dl_local_frame((const uint8_t *)"\0\0\0\x05"
                                                     "abc",
                                    7, &size, &err),
                     1);
    /* The trailing length differs. */
    assert_int_equal(dl_local_frame((const uint8_t *)"\0\0\0\x01x\0\0\0\x02", 9, &size, &err),
                     -EPROTO);
    /* Over 1 MiB: corruption, refused before anything is buffered. */
    assert_int_equal(dl_local_frame((const uint8_t *)"\x7f\xff\xff\xff", 4, &size, &err), -EPROTO);
    assert_int_equal(dl_local_frame((const uint8_t *)"\x00\x10\x00\x01", 4, &size, &err), -EPROTO);
}

/* Frames cut at every read boundary give the same entries; partial pieces keep no
 * '\n' but the last. */
static void test_stream_every_boundary(void **state)
{
    (void)state;
    dv_buf b = DV_BUF_INIT;
    frame(&b, "stdout", T0 + 1, "one", 0, false);
    frame(&b, "stdout", T0 + 2, "long-", 1, false);
    frame(&b, "stdout", T0 + 2, "line", 2, true);
    frame(&b, "stderr", T0 + 3, "", 0, false);
    frame(&b, "stdout", T0 + 4, "two", 0, true);
    for (size_t step = 1; step <= b.len; step++) {
        dl_local_stream s;
        dl_local_stream_init(&s);
        struct got g = {DV_BUF_INIT, DV_BUF_INIT, 0, 0};
        size_t skipped = 0;
        dv_error err;
        for (size_t at = 0; at < b.len; at += step) {
            size_t n = b.len - at < step ? b.len - at : step;
            assert_int_equal(dl_local_stream_feed(&s, (const uint8_t *)b.data + at, n, collect, &g,
                                                  &skipped, &err),
                             0);
        }
        assert_int_equal(skipped, 0);
        assert_int_equal(g.n, 5);
        assert_int_equal(g.out.len, strlen("one\nlong-line\ntwo\n"));
        assert_memory_equal(g.out.data, "one\nlong-line\ntwo\n", g.out.len);
        assert_int_equal(g.err.len, 1);
        assert_int_equal(g.last_ts, T0 + 4);
        assert_false(dl_local_stream_next_file(&s));
        dl_local_stream_free(&s);
        got_free(&g);
    }
    dv_buf_free(&b);
}

/* A broken frame costs the rest of its file (no resynchronising on a binary format),
 * counted once; a torn last frame is reported at the next file; the next file reads. */
static void test_stream_corruption(void **state)
{
    (void)state;
    dv_buf b = DV_BUF_INIT;
    frame(&b, "stdout", T0 + 1, "one", 0, false);
    size_t first = b.len;
    frame(&b, "stdout", T0 + 2, "two", 0, false);
    b.data[b.len - 1] ^= 1; /* trailing length differs */
    frame(&b, "stdout", T0 + 3, "three", 0, false);
    dl_local_stream s;
    dl_local_stream_init(&s);
    struct got g = {DV_BUF_INIT, DV_BUF_INIT, 0, 0};
    size_t skipped = 0;
    dv_error err;
    /* In two reads, the mismatch seen while carrying a frame over. */
    assert_int_equal(
        dl_local_stream_feed(&s, (const uint8_t *)b.data, first + 3, collect, &g, &skipped, &err),
        0);
    assert_int_equal(dl_local_stream_feed(&s, (const uint8_t *)b.data + first + 3,
                                          b.len - first - 3, collect, &g, &skipped, &err),
                     0);
    assert_int_equal(g.n, 1);
    assert_int_equal(skipped, 1);
    assert_false(dl_local_stream_next_file(&s));

    /* A huge length: nothing buffered, the file given up. */
    assert_int_equal(
        dl_local_stream_feed(&s, (const uint8_t *)"\x40\0\0\0", 4, collect, &g, &skipped, &err), 0);
    assert_int_equal(skipped, 2);
    dl_local_stream_next_file(&s);

    /* A well-framed entry that is not a LogEntry costs only itself. */
    dv_buf c = DV_BUF_INIT;
    put_be32(&c, 2);
    dv_buf_append(&c, "\x08\x01", 2);
    put_be32(&c, 2);
    frame(&c, "stdout", T0 + 4, "four", 0, false);
    frame(&c, "stdout", T0 + 5, "torn", 0, false);
    assert_int_equal(
        dl_local_stream_feed(&s, (const uint8_t *)c.data, c.len - 3, collect, &g, &skipped, &err),
        0);
    assert_int_equal(skipped, 3);
    assert_int_equal(g.n, 2);
    assert_true(dl_local_stream_next_file(&s)); /* "torn" */
    assert_int_equal(g.out.len, strlen("one\nfour\n"));
    assert_memory_equal(g.out.data, "one\nfour\n", g.out.len);
    dl_local_stream_free(&s);
    got_free(&g);
    dv_buf_free(&b);
    dv_buf_free(&c);
}

static void append_frames(const char *path, int from, int to)
{
    dv_buf b = DV_BUF_INIT;
    for (int n = from; n <= to; n++) {
        char line[32];
        snprintf(line, sizeof(line), "%d", n);
        frame(&b, n % 3 ? "stdout" : "stderr", T0 + n, line, 0, false);
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);
    dv_buf_free(&b);
}

/* Docker's rotation with max-file MAX and compression: .(k-1).gz → .k.gz, the oldest
 * deleted, the current file → .1, a new current file; then (in the background) .1 is
 * gzipped to .1.gz and removed. */
static void rotate(const char *path, int max)
{
    char from[4200], to[4200];
    for (int k = max - 1; k >= 2; k--) {
        snprintf(from, sizeof(from), "%s.%d.gz", path, k - 1);
        snprintf(to, sizeof(to), "%s.%d.gz", path, k);
        if (k == max - 1)
            unlink(to);
        rename(from, to);
    }
    snprintf(to, sizeof(to), "%s.1", path);
    assert_int_equal(rename(path, to), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    close(fd);
}

static void compress_first(const char *path)
{
    char plain[4200], gz[4200];
    snprintf(plain, sizeof(plain), "%s.1", path);
    snprintf(gz, sizeof(gz), "%s.1.gz", path);
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    assert_int_equal(dv_read_file(plain, &data, &len, NULL), 0);
    gzFile z = gzopen(gz, "wbe");
    assert_non_null(z);
    if (len)
        assert_int_equal(gzwrite(z, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(z), Z_OK);
    assert_int_equal(unlink(plain), 0);
}

static void read_all(dl_jsonfile *f, struct got *g, size_t *skipped)
{
    dv_error err;
    int r;
    assert_int_equal(dl_jsonfile_wait(f, -1, -1, 0, &err), 0);
    while ((r = dl_jsonfile_read(f, 1 << 20, collect, g, skipped, &err)) == 1) {
    }
    assert_int_equal(r, 0);
}

static void expect_numbers(const struct got *g, int to)
{
    dv_buf out = DV_BUF_INIT, err = DV_BUF_INIT;
    for (int n = 1; n <= to; n++)
        dv_buf_printf(n % 3 ? &out : &err, "%d\n", n);
    assert_int_equal(g->n, to);
    assert_int_equal(g->out.len, out.len);
    assert_memory_equal(g->out.data, out.data, out.len);
    assert_int_equal(g->err.len, err.len);
    assert_memory_equal(g->err.data, err.data, err.len);
    dv_buf_free(&out);
    dv_buf_free(&err);
}

static char *local_dir(char **ret_path)
{
    char *dir = dv_test_tmpdir("dl-localfile");
    char *path = dv_xasprintf("%s/local-logs", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    free(path);
    *ret_path = dv_xasprintf("%s/local-logs/container.log", dir);
    return dir;
}

/* A slow reader: the file it is reading is rotated, compressed and deleted, twice:
 * it keeps reading the held file, and never reads a .gz copy again. */
static void test_follows_compressed_rotations(void **state)
{
    (void)state;
    _cleanup_free_ char *path = NULL;
    _cleanup_free_ char *dir = local_dir(&path);
    append_frames(path, 1, 10);
    dl_jsonfile f;
    dv_error err;
    assert_int_equal(dl_logfile_open(&f, path, DL_LOGFILE_LOCAL, &err), 0);
    struct got g = {DV_BUF_INIT, DV_BUF_INIT, 0, 0};
    size_t skipped = 0;
    assert_int_equal(dl_jsonfile_read(&f, 1, collect, &g, &skipped, &err), 1);
    append_frames(path, 11, 20);
    rotate(path, 3);
    append_frames(path, 21, 30);
    assert_int_equal(dl_jsonfile_wait(&f, -1, -1, 0, &err), 0); /* takes hold of the new one */
    compress_first(path);
    rotate(path, 3);
    compress_first(path);
    assert_int_equal(dl_jsonfile_wait(&f, -1, -1, 0, &err), 0);
    append_frames(path, 31, 35);
    rotate(path, 3); /* the file the reader started with is gone, .2.gz deleted */
    compress_first(path);
    append_frames(path, 36, 40);
    read_all(&f, &g, &skipped);
    assert_int_equal(skipped, 0);
    expect_numbers(&g, 40);
    assert_int_equal(f.dropped, 0);

    /* A file created, rotated and compressed between two looks: not seen, and not
     * silently: counted as a gap. The reader goes on with the next file. */
    rotate(path, 3);
    compress_first(path);
    append_frames(path, 41, 45);
    rotate(path, 3);
    compress_first(path);
    append_frames(path, 46, 46);
    read_all(&f, &g, &skipped);
    read_all(&f, &g, &skipped);
    assert_int_equal(f.dropped, 1);
    assert_int_equal(g.n, 41);
    assert_int_equal(g.last_ts, T0 + 46);
    dl_jsonfile_close(&f);
    got_free(&g);
    dv_test_rm_rf(dir);
}

/* A start from a checkpoint: rotated files that exist only compressed are read
 * through zlib, oldest first; a file still being compressed is read uncompressed. */
static void test_start_reads_gz(void **state)
{
    (void)state;
    _cleanup_free_ char *path = NULL;
    _cleanup_free_ char *dir = local_dir(&path);
    append_frames(path, 1, 10);
    rotate(path, 5);
    compress_first(path);
    append_frames(path, 11, 20);
    rotate(path, 5);
    compress_first(path);
    append_frames(path, 21, 30);
    rotate(path, 5); /* .1 not compressed yet: .1 plain, .2.gz, .3.gz */
    append_frames(path, 31, 33);
    dl_jsonfile f;
    dv_error err;
    assert_int_equal(dl_logfile_open(&f, path, DL_LOGFILE_LOCAL, &err), 0);
    assert_int_equal(f.n, 4);
    struct got g = {DV_BUF_INIT, DV_BUF_INIT, 0, 0};
    size_t skipped = 0;
    compress_first(path); /* meanwhile: the held plain file stays readable */
    read_all(&f, &g, &skipped);
    assert_int_equal(skipped, 0);
    expect_numbers(&g, 33);
    dl_jsonfile_close(&f);
    got_free(&g);
    dv_test_rm_rf(dir);
}

static void test_log_path(void **state)
{
    (void)state;
    char buf[256];
    dv_error err;
    assert_int_equal(dl_local_log_path("abc", "/var/lib/docker/containers/abc/hostname", NULL, buf,
                                       sizeof(buf), &err),
                     0);
    assert_string_equal(buf, "/var/lib/docker/containers/abc/local-logs/container.log");
    /* --network container:X: X's directory, the same root. */
    assert_int_equal(
        dl_local_log_path("abc", "/d/containers/xyz/hostname", NULL, buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, "/d/containers/abc/local-logs/container.log");
    assert_int_equal(
        dl_local_log_path("abc", "", "/r/containers/abc/resolv.conf", buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, "/r/containers/abc/local-logs/container.log");
    assert_int_equal(dl_local_log_path("abc", "/etc/hostname", "hosts", buf, sizeof(buf), &err),
                     -EINVAL);
    assert_int_equal(dl_local_log_path("abc", "/containers/abc/hostname", NULL, buf, 10, &err),
                     -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_entries),
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_stream_every_boundary),
        cmocka_unit_test(test_stream_corruption),
        cmocka_unit_test(test_follows_compressed_rotations),
        cmocka_unit_test(test_start_reads_gz),
        cmocka_unit_test(test_log_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
