/* Unit tests for Docker's timestamps: RFC3339Nano parsing/formatting and `since`. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "timestamp.h"

static int64_t parse(const char *s)
{
    int64_t ns = 42;
    dv_error err;
    int r = dv_timestamp_parse(s, strlen(s), &ns, &err);
    if (r < 0)
        fail_msg("parse %s: %s", s, err.msg);
    return ns;
}

static void test_known_values(void **state)
{
    (void)state;
    assert_int_equal(parse("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse("1970-01-01T00:00:00.000000001Z"), 1);
    assert_int_equal(parse("2024-05-01T12:34:56.123456789Z"), INT64_C(1714566896123456789));
    /* Fewer digits are a fraction, not a count of nanoseconds. */
    assert_int_equal(parse("2024-05-01T12:34:56.5Z"), INT64_C(1714566896500000000));
    /* Offsets are converted to UTC. */
    assert_int_equal(parse("2024-05-01T14:34:56.123456789+02:00"), INT64_C(1714566896123456789));
    assert_int_equal(parse("2024-05-01T07:04:56.123456789-05:30"), INT64_C(1714566896123456789));
    /* Leap day and year boundaries. */
    assert_int_equal(parse("2000-02-29T00:00:00Z"), INT64_C(951782400) * 1000000000);
    assert_int_equal(parse("1969-12-31T23:59:59.999999999Z"), -1);
    /* Go's zero time is Docker's "never". */
    assert_true(parse("0001-01-01T00:00:00Z") == DV_TIMESTAMP_ZERO);
    /* The edges of int64 nanoseconds. */
    assert_true(parse("2262-04-11T23:47:16.854775807Z") == INT64_MAX);
    assert_true(parse("1677-09-21T00:12:43.145224192Z") == INT64_MIN);
}

static void test_rejects(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "2024-05-01",
        "2024-05-01 12:34:56Z",
        "2024-05-01T12:34:56",
        "2024-05-01T12:34:56.Z",
        "2024-05-01T12:34:56.1234567891Z",
        "2024-13-01T12:34:56Z",
        "2023-02-29T12:34:56Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T12:34:56+0200",
        "2024-05-01T12:34:56Zjunk",
        "2024-05-01T12:34:56.12x4Z",
        "x024-05-01T12:34:56Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ns = 7;
        dv_error err;
        int r = dv_timestamp_parse(bad[i], strlen(bad[i]), &ns, &err);
        if (r != -EINVAL)
            fail_msg("\"%s\" gave %d", bad[i], r);
        assert_int_equal(ns, 7); /* untouched on failure */
        assert_non_null(strstr(err.msg, "invalid timestamp"));
    }
    int64_t ns;
    dv_error err;
    assert_int_equal(dv_timestamp_parse("2262-04-11T23:47:16.854775808Z", 30, &ns, &err), -ERANGE);
    assert_int_equal(dv_timestamp_parse("9999-12-31T23:59:59Z", 20, &ns, &err), -ERANGE);
    /* Length is honoured: the log line's message after the timestamp is not looked at. */
    const char *line = "2024-05-01T12:34:56.123456789Z hello";
    assert_int_equal(dv_timestamp_parse(line, 30, &ns, &err), 0);
    assert_int_equal(dv_timestamp_parse(line, 31, &ns, &err), -EINVAL);
}

static void test_format(void **state)
{
    (void)state;
    char buf[DV_TIMESTAMP_MAX];
    dv_timestamp_format(INT64_C(1714566896123456789), buf);
    assert_string_equal(buf, "2024-05-01T12:34:56.123456789Z");
    dv_timestamp_format(INT64_C(1714566896120000000), buf);
    assert_string_equal(buf, "2024-05-01T12:34:56.12Z");
    dv_timestamp_format(INT64_C(1714566896000000000), buf);
    assert_string_equal(buf, "2024-05-01T12:34:56Z");
    dv_timestamp_format_fixed(INT64_C(1714566896120000000), buf);
    assert_string_equal(buf, "2024-05-01T12:34:56.120000000Z");
    dv_timestamp_format(-1, buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999999999Z");
    dv_timestamp_format(DV_TIMESTAMP_ZERO, buf);
    assert_string_equal(buf, "0001-01-01T00:00:00Z");
    dv_timestamp_format(INT64_MAX, buf);
    assert_string_equal(buf, "2262-04-11T23:47:16.854775807Z");
    dv_timestamp_format(INT64_MIN + 1, buf);
    assert_string_equal(buf, "1677-09-21T00:12:43.145224193Z");
}

/* libc's gmtime is the oracle for the calendar arithmetic over the whole range. */
static void test_round_trip_against_gmtime(void **state)
{
    (void)state;
    srandom(12345);
    for (int i = 0; i < 200000; i++) {
        int64_t sec =
            ((int64_t)random() << 31 | random()) % INT64_C(9223372035) * (random() % 2 ? 1 : -1);
        int64_t frac = random() % 1000000000;
        if (i % 3 == 0)
            frac = (frac / 1000000) * 1000000;
        int64_t ns = sec * 1000000000 + frac;
        char buf[DV_TIMESTAMP_MAX];
        dv_timestamp_format_fixed(ns, buf);
        int64_t s2 = ns / 1000000000, f2 = ns % 1000000000;
        if (f2 < 0) {
            f2 += 1000000000;
            s2--;
        }
        time_t t = (time_t)s2;
        struct tm tm;
        gmtime_r(&t, &tm);
        char want[64];
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)f2);
        assert_string_equal(buf, want);
        assert_true(parse(buf) == ns);
        dv_timestamp_format(ns, buf);
        assert_true(parse(buf) == ns);
    }
}

static void test_since(void **state)
{
    (void)state;
    char buf[DV_TIMESTAMP_SINCE_MAX];
    dv_timestamp_since(INT64_C(1714566896123456789), buf);
    assert_string_equal(buf, "1714566896.123456789");
    dv_timestamp_since(INT64_C(1714566896000000001), buf);
    assert_string_equal(buf, "1714566896.000000001");
    dv_timestamp_since(0, buf);
    assert_string_equal(buf, "0.000000000");
    /* Docker reads "-5.500000000" as time.Unix(-5, 500000000) = -4.5s. */
    dv_timestamp_since(INT64_C(-4500000000), buf);
    assert_string_equal(buf, "-5.500000000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values), cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_format),       cmocka_unit_test(test_round_trip_against_gmtime),
        cmocka_unit_test(test_since),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
