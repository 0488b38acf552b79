/* Unit tests for the multiplexed-stream demuxer and the line reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "cleanup.h"
#include "stream.h"
#include "test_support.h"

/* What the callbacks saw: "<type>:<payload>|" per frame (or "<line>|" per line). */
typedef struct seen {
    dv_buf log;
    int calls;
    int stop_after; /* ask to stop after this many calls (0: never) */
    const char *last_ptr;
} seen;

static int on_frame(enum dv_stream_type type, const char *data, size_t len, void *userdata)
{
    seen *s = userdata;
    s->calls++;
    s->last_ptr = data;
    assert_int_equal(dv_buf_printf(&s->log, "%d:", (int)type), 0);
    assert_int_equal(dv_buf_append(&s->log, data, len), 0);
    assert_int_equal(dv_buf_appends(&s->log, "|"), 0);
    return s->stop_after && s->calls >= s->stop_after;
}

static int on_line(const char *line, size_t len, void *userdata)
{
    seen *s = userdata;
    s->calls++;
    s->last_ptr = line;
    assert_int_equal(dv_buf_append(&s->log, line, len), 0);
    assert_int_equal(dv_buf_appends(&s->log, "|"), 0);
    return s->stop_after && s->calls >= s->stop_after;
}

static void add_frame(dv_buf *b, uint8_t type, const char *payload, size_t len)
{
    dv_test_frame(b, type, payload, len);
}

/* A stream with stdout, stderr, an empty frame (not delivered), a system frame and a
 * payload holding NUL and newline bytes. */
static void sample_stream(dv_buf *b, dv_buf *expect)
{
    add_frame(b, 1, "2024-01-01T00:00:00.000000001Z 1 stdout\n", 40);
    add_frame(b, 2, "2024-01-01T00:00:00.000000002Z 2 stderr\n", 40);
    add_frame(b, 1, "", 0);
    add_frame(b, 1, "a\0b\nc", 5);
    add_frame(b, 3, "error from daemon", 17);
    add_frame(b, 2, "x", 1);
    dv_buf_appends(expect, "1:2024-01-01T00:00:00.000000001Z 1 stdout\n|"
                           "2:2024-01-01T00:00:00.000000002Z 2 stderr\n|");
    dv_buf_append(expect, "1:a\0b\nc|", 8);
    dv_buf_appends(expect, "3:error from daemon|2:x|");
}

static void test_demux_whole_stream_in_one_feed(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf in = DV_BUF_INIT, expect = DV_BUF_INIT;
    sample_stream(&in, &expect);
    seen s = {0};
    dv_demux d;
    dv_demux_init(&d, false, on_frame, &s);
    dv_error err;
    assert_int_equal(dv_demux_feed(&d, in.data, in.len, &err), 0);
    assert_false(dv_demux_partial(&d));
    assert_int_equal(s.log.len, expect.len);
    assert_memory_equal(s.log.data, expect.data, expect.len);
    assert_int_equal(s.calls, 5);
    /* Contiguous frames are passed in place, not copied. */
    assert_ptr_equal(s.last_ptr, in.data + in.len - 1);
    assert_null(d.frame);
    dv_demux_free(&d);
    dv_buf_free(&s.log);
}

/* Every way to cut the stream in two, then every way to cut it in three. */
static void test_demux_split_at_every_boundary(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf in = DV_BUF_INIT, expect = DV_BUF_INIT;
    sample_stream(&in, &expect);
    dv_error err;
    for (size_t i = 0; i <= in.len; i++) {
        for (size_t j = i; j <= in.len; j++) {
            seen s = {0};
            dv_demux d;
            dv_demux_init(&d, false, on_frame, &s);
            assert_int_equal(dv_demux_feed(&d, in.data, i, &err), 0);
            assert_int_equal(dv_demux_feed(&d, in.data + i, j - i, &err), 0);
            assert_int_equal(dv_demux_feed(&d, in.data + j, in.len - j, &err), 0);
            assert_false(dv_demux_partial(&d));
            assert_int_equal(s.log.len, expect.len);
            assert_memory_equal(s.log.data, expect.data, expect.len);
            dv_demux_free(&d);
            dv_buf_free(&s.log);
        }
    }
}

static void test_demux_one_byte_at_a_time(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf in = DV_BUF_INIT, expect = DV_BUF_INIT;
    sample_stream(&in, &expect);
    seen s = {0};
    dv_demux d;
    dv_demux_init(&d, false, on_frame, &s);
    dv_error err;
    for (size_t i = 0; i < in.len; i++) {
        assert_int_equal(dv_demux_feed(&d, in.data + i, 1, &err), 0);
    }
    assert_false(dv_demux_partial(&d));
    assert_memory_equal(s.log.data, expect.data, expect.len);
    dv_demux_free(&d);
    dv_buf_free(&s.log);
}

static void test_demux_truncated_stream_is_partial(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf in = DV_BUF_INIT;
    add_frame(&in, 1, "hello", 5);
    seen s = {0};
    dv_demux d;
    dv_demux_init(&d, false, on_frame, &s);
    assert_int_equal(dv_demux_feed(&d, in.data, 3, NULL), 0);
    assert_true(dv_demux_partial(&d)); /* inside the header */
    assert_int_equal(dv_demux_feed(&d, in.data + 3, 7, NULL), 0);
    assert_true(dv_demux_partial(&d)); /* inside the payload */
    assert_int_equal(s.calls, 0);
    dv_demux_free(&d);
}

static void test_demux_stop_from_callback(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf in = DV_BUF_INIT, expect = DV_BUF_INIT;
    sample_stream(&in, &expect);
    seen s = {.stop_after = 2};
    dv_demux d;
    dv_demux_init(&d, false, on_frame, &s);
    assert_int_equal(dv_demux_feed(&d, in.data, in.len, NULL), 1);
    assert_int_equal(s.calls, 2);
    dv_demux_free(&d);
    dv_buf_free(&s.log);

    /* Also when the stopping frame was assembled from pieces. */
    seen s2 = {.stop_after = 1};
    dv_demux_init(&d, false, on_frame, &s2);
    assert_int_equal(dv_demux_feed(&d, in.data, 10, NULL), 0);
    assert_int_equal(dv_demux_feed(&d, in.data + 10, in.len - 10, NULL), 1);
    assert_int_equal(s2.calls, 1);
    dv_demux_free(&d);
    dv_buf_free(&s2.log);
}

static void test_demux_raw_mode(void **state)
{
    (void)state;
    seen s = {0};
    dv_demux d;
    dv_demux_init(&d, true, on_frame, &s);
    /* Bytes that would be a malformed header are just data in raw mode. */
    assert_int_equal(dv_demux_feed(&d, "hello\r\n", 7, NULL), 0);
    assert_int_equal(dv_demux_feed(&d, "", 0, NULL), 0);
    assert_int_equal(dv_demux_feed(&d, "\x01\0\0\0", 4, NULL), 0);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.log.len, 17);
    assert_memory_equal(s.log.data, "1:hello\r\n|1:\x01\0\0\0|", 17);
    assert_false(dv_demux_partial(&d));
    dv_demux_free(&d);
    dv_buf_free(&s.log);
}

static void test_demux_malformed_headers(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"2024-01-01T00:00", 16},          /* a TTY stream read as multiplexed */
        {"\x04\0\0\0\0\0\0\x01x", 9},      /* unknown stream type */
        {"\x01\0\x01\0\0\0\0\x01x", 9},    /* non-zero padding */
        {"\x01\0\0\0\x00\x10\x00\x01", 8}, /* 1 MiB + 1: over the default limit */
        {"\x02\0\0\0\xff\xff\xff\xff", 8}, /* 4 GiB */
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(bad); i++) {
        /* Whole and byte by byte: both paths validate. */
        for (int split = 0; split < 2; split++) {
            seen s = {0};
            dv_demux d;
            dv_demux_init(&d, false, on_frame, &s);
            dv_error err;
            dv_error_clear(&err);
            int r = 0;
            if (!split) {
                r = dv_demux_feed(&d, bad[i].bytes, bad[i].len, &err);
            } else {
                for (size_t k = 0; k < bad[i].len && r == 0; k++)
                    r = dv_demux_feed(&d, bad[i].bytes + k, 1, &err);
            }
            assert_int_equal(r, -EPROTO);
            assert_int_equal(err.code, -EPROTO);
            assert_non_null(strstr(err.msg, "frame"));
            assert_int_equal(s.calls, 0);
            dv_demux_free(&d);
        }
    }
}

static void test_demux_max_frame_and_large_frame_buffer_released(void **state)
{
    (void)state;
    size_t big = 200 * 1024;
    _cleanup_free_ char *payload = malloc(big);
    assert_non_null(payload);
    for (size_t i = 0; i < big; i++)
        payload[i] = (char)('a' + i % 26);
    _cleanup_buf_ dv_buf in = DV_BUF_INIT;
    add_frame(&in, 1, payload, big);
    add_frame(&in, 2, "tail", 4);

    seen s = {0};
    dv_demux d;
    dv_demux_init(&d, false, on_frame, &s);
    /* Split in the middle of the big frame: it must be assembled, then released. */
    assert_int_equal(dv_demux_feed(&d, in.data, 1000, NULL), 0);
    assert_non_null(d.frame);
    assert_int_equal(dv_demux_feed(&d, in.data + 1000, in.len - 1000, NULL), 0);
    assert_int_equal(s.calls, 2);
    assert_null(d.frame); /* not kept at peak size */
    assert_int_equal(s.log.len, 2 + big + 1 + 7);
    assert_memory_equal(s.log.data + 2, payload, big);
    dv_demux_free(&d);
    dv_buf_free(&s.log);

    /* A smaller limit turns the same frame into a protocol error. */
    seen s2 = {0};
    dv_demux_init(&d, false, on_frame, &s2);
    d.max_frame = 1024;
    dv_error err;
    assert_int_equal(dv_demux_feed(&d, in.data, in.len, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "exceeds the limit of 1024"));
    dv_demux_free(&d);
}

static void test_demux_small_split_frames_reuse_buffer(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf in = DV_BUF_INIT;
    for (int i = 0; i < 100; i++)
        add_frame(&in, 1, "0123456789", 10);
    seen s = {0};
    dv_demux d;
    dv_demux_init(&d, false, on_frame, &s);
    /* Odd-sized feeds split most frames; the buffer is allocated once and reused. */
    char *first = NULL;
    for (size_t off = 0; off < in.len; off += 7) {
        size_t n = in.len - off < 7 ? in.len - off : 7;
        assert_int_equal(dv_demux_feed(&d, in.data + off, n, NULL), 0);
        if (d.frame && !first)
            first = d.frame;
        if (first)
            assert_ptr_equal(d.frame, first);
    }
    assert_int_equal(s.calls, 100);
    assert_true(d.frame_cap <= 256);
    dv_demux_free(&d);
    dv_buf_free(&s.log);
}

/* ---- line reader ---- */

static void test_lines_split_everywhere(void **state)
{
    (void)state;
    const char *in = "{\"status\":\"a\"}\r\n\n{\"b\":1}\nlast";
    size_t len = strlen(in);
    const char *expect = "{\"status\":\"a\"}|{\"b\":1}|last|";
    for (size_t i = 0; i <= len; i++) {
        for (size_t j = i; j <= len; j++) {
            seen s = {0};
            dv_line_reader r;
            dv_line_reader_init(&r, 64, on_line, &s);
            assert_int_equal(dv_line_reader_feed(&r, in, i, NULL), 0);
            assert_int_equal(dv_line_reader_feed(&r, in + i, j - i, NULL), 0);
            assert_int_equal(dv_line_reader_feed(&r, in + j, len - j, NULL), 0);
            assert_int_equal(dv_line_reader_finish(&r, NULL), 0);
            assert_string_equal(s.log.data, expect);
            assert_int_equal(s.calls, 3);
            dv_line_reader_free(&r);
            dv_buf_free(&s.log);
        }
    }
}

static void test_lines_in_place_when_contiguous(void **state)
{
    (void)state;
    const char *in = "one\ntwo\n";
    seen s = {0};
    dv_line_reader r;
    dv_line_reader_init(&r, 0, on_line, &s);
    assert_int_equal(r.max_line, DV_LINE_MAX_DEFAULT);
    assert_int_equal(dv_line_reader_feed(&r, in, strlen(in), NULL), 0);
    assert_ptr_equal(s.last_ptr, in + 4);
    assert_null(r.buf);
    assert_int_equal(dv_line_reader_finish(&r, NULL), 0);
    assert_int_equal(s.calls, 2);
    dv_line_reader_free(&r);
    dv_buf_free(&s.log);
}

static void test_lines_max_line(void **state)
{
    (void)state;
    dv_error err;
    /* Exactly max_line is fine, whole or split, with or without "\r". */
    const char *ok[] = {"12345678\n", "12345678\r\n"};
    for (size_t k = 0; k < DV_ARRAY_SIZE(ok); k++) {
        size_t len = strlen(ok[k]);
        for (size_t i = 0; i <= len; i++) {
            seen s = {0};
            dv_line_reader r;
            dv_line_reader_init(&r, 8, on_line, &s);
            assert_int_equal(dv_line_reader_feed(&r, ok[k], i, &err), 0);
            assert_int_equal(dv_line_reader_feed(&r, ok[k] + i, len - i, &err), 0);
            assert_string_equal(s.log.data, "12345678|");
            dv_line_reader_free(&r);
            dv_buf_free(&s.log);
        }
    }
    /* One more byte is an error wherever the input is cut, also at finish. */
    const char *bad = "123456789\n";
    size_t len = strlen(bad);
    for (size_t i = 0; i <= len; i++) {
        seen s = {0};
        dv_line_reader r;
        dv_line_reader_init(&r, 8, on_line, &s);
        dv_error_clear(&err);
        int rc = dv_line_reader_feed(&r, bad, i, &err);
        if (rc == 0)
            rc = dv_line_reader_feed(&r, bad + i, len - i, &err);
        assert_int_equal(rc, -EMSGSIZE);
        assert_non_null(strstr(err.msg, "exceeds the limit of 8 bytes"));
        assert_int_equal(s.calls, 0);
        dv_line_reader_free(&r);
    }
    seen s = {0};
    dv_line_reader r;
    dv_line_reader_init(&r, 8, on_line, &s);
    assert_int_equal(dv_line_reader_feed(&r, "12345", 5, &err), 0);
    assert_int_equal(dv_line_reader_feed(&r, "6789", 4, &err), -EMSGSIZE);
    dv_line_reader_free(&r);
}

static void test_lines_stop(void **state)
{
    (void)state;
    seen s = {.stop_after = 2};
    dv_line_reader r;
    dv_line_reader_init(&r, 64, on_line, &s);
    assert_int_equal(dv_line_reader_feed(&r, "a\nb", 3, NULL), 0);
    assert_int_equal(dv_line_reader_feed(&r, "\nc\n", 3, NULL), 1);
    assert_string_equal(s.log.data, "a|b|");
    dv_line_reader_free(&r);
    dv_buf_free(&s.log);

    seen s2 = {.stop_after = 1};
    dv_line_reader_init(&r, 64, on_line, &s2);
    assert_int_equal(dv_line_reader_feed(&r, "tail", 4, NULL), 0);
    assert_int_equal(dv_line_reader_finish(&r, NULL), 1);
    dv_line_reader_free(&r);
    dv_buf_free(&s2.log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demux_whole_stream_in_one_feed),
        cmocka_unit_test(test_demux_split_at_every_boundary),
        cmocka_unit_test(test_demux_one_byte_at_a_time),
        cmocka_unit_test(test_demux_truncated_stream_is_partial),
        cmocka_unit_test(test_demux_stop_from_callback),
        cmocka_unit_test(test_demux_raw_mode),
        cmocka_unit_test(test_demux_malformed_headers),
        cmocka_unit_test(test_demux_max_frame_and_large_frame_buffer_released),
        cmocka_unit_test(test_demux_small_split_frames_reuse_buffer),
        cmocka_unit_test(test_lines_split_everywhere),
        cmocka_unit_test(test_lines_in_place_when_contiguous),
        cmocka_unit_test(test_lines_max_line),
        cmocka_unit_test(test_lines_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
