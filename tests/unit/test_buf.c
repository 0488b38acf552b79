/* Unit tests for the growable buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_append_and_printf(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    assert_int_equal(dv_buf_appends(&b, "hello"), 0);
    assert_int_equal(dv_buf_printf(&b, " %d %s", 42, "x"), 0);
    assert_string_equal(b.data, "hello 42 x");
    assert_int_equal(b.len, 10);
    /* Binary data with NULs keeps its length and is still terminated. */
    assert_int_equal(dv_buf_append(&b, "\0a", 2), 0);
    assert_int_equal(b.len, 12);
    assert_int_equal(b.data[12], '\0');
}

static void test_growth_keeps_content(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    for (int i = 0; i < 10000; i++)
        assert_int_equal(dv_buf_printf(&b, "%05d", i), 0);
    assert_int_equal(b.len, 50000);
    assert_memory_equal(b.data + 5 * 9999, "09999", 5);
    assert_true(b.cap > b.len);
}

static void test_consume_reset_steal(void **state)
{
    (void)state;
    dv_buf b = DV_BUF_INIT;
    dv_buf_appends(&b, "abcdef");
    dv_buf_consume(&b, 2);
    assert_string_equal(b.data, "cdef");
    dv_buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    dv_buf_appends(&b, "xyz");
    char *s = dv_buf_steal(&b);
    assert_string_equal(s, "xyz");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);
    /* Stealing an empty buffer still gives a string the caller can free. */
    s = dv_buf_steal(&b);
    assert_string_equal(s, "");
    free(s);
    dv_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_printf),
        cmocka_unit_test(test_growth_keeps_content),
        cmocka_unit_test(test_consume_reset_steal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
