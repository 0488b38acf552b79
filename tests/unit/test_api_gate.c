/* api_gate.h's request-head classifier: what the gate hands to the HTTP server,
 * refuses at once (not HTTP, a TLS hello above all) or refuses as too long, from
 * the bytes a client has sent so far. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api_gate.h"

#define MAX 64

static const struct {
    const char *bytes;
    size_t len; /* 0: strlen(bytes) */
    enum dv_api_head_state want;
} cases[] = {
    /* nothing yet, or a method being typed */
    {"", 0, DV_API_HEAD_INCOMPLETE},
    {"G", 0, DV_API_HEAD_INCOMPLETE},
    {"DELETE", 0, DV_API_HEAD_INCOMPLETE},
    {"M-SEARCH", 0, DV_API_HEAD_INCOMPLETE},
    {"GET /v1/tasks HTTP/1.1\r\nHost: x\r\n", 0, DV_API_HEAD_INCOMPLETE},
    /* complete heads, with CRLF or bare LF line ends */
    {"GET /v1/tasks HTTP/1.1\r\n\r\n", 0, DV_API_HEAD_COMPLETE},
    {"POST /v1/tasks HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 0, DV_API_HEAD_COMPLETE},
    {"GET / HTTP/1.0\n\n", 0, DV_API_HEAD_COMPLETE},
    /* not HTTP: a TLS ClientHello, lower case, a NUL, a leading space, digits */
    {"\x16\x03\x01\x02\x00", 5, DV_API_HEAD_GARBAGE},
    {"get / HTTP/1.1\r\n\r\n", 0, DV_API_HEAD_GARBAGE},
    {"GET\0/ HTTP/1.1", 14, DV_API_HEAD_GARBAGE},
    {" GET / HTTP/1.1\r\n\r\n", 0, DV_API_HEAD_GARBAGE},
    {"123 / HTTP/1.1\r\n\r\n", 0, DV_API_HEAD_GARBAGE},
    {"GET\t/ HTTP/1.1\r\n\r\n", 0, DV_API_HEAD_GARBAGE},
    /* a method token of 16 letters is no method: refused without waiting for more */
    {"ABCDEFGHIJKLMNOP", 0, DV_API_HEAD_GARBAGE},
    {"ABCDEFGHIJKLMNO", 0, DV_API_HEAD_INCOMPLETE},
    {"ABCDEFGHIJKLMNO / HTTP/1.1\r\n\r\n", 0, DV_API_HEAD_COMPLETE},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].bytes);
        enum dv_api_head_state got = dv_api_head_classify(cases[i].bytes, len, MAX);
        if (got != cases[i].want)
            fail_msg("case %zu (%.*s): got %d, want %d", i, (int)len, cases[i].bytes, got,
                     cases[i].want);
    }
}

/* No end of headers within MAX bytes: too long, not a wait for more. At MAX with
 * the end in it, complete. */
static void test_too_long(void **state)
{
    (void)state;
    char buf[MAX * 2];
    memset(buf, 'a', sizeof(buf));
    memcpy(buf, "GET /", 5);
    assert_int_equal(dv_api_head_classify(buf, MAX - 1, MAX), DV_API_HEAD_INCOMPLETE);
    assert_int_equal(dv_api_head_classify(buf, MAX, MAX), DV_API_HEAD_TOO_LONG);
    assert_int_equal(dv_api_head_classify(buf, sizeof(buf), MAX), DV_API_HEAD_TOO_LONG);
    memcpy(buf + MAX - 4, "\r\n\r\n", 4);
    assert_int_equal(dv_api_head_classify(buf, MAX, MAX), DV_API_HEAD_COMPLETE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
