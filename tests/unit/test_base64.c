/* Unit tests for base64 / base64url (RFC 4648 test vectors and round trips). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "cleanup.h"

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *vectors[][2] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(vectors); i++) {
        _cleanup_free_ char *enc = NULL;
        assert_int_equal(dv_base64_encode(vectors[i][0], strlen(vectors[i][0]), true, &enc), 0);
        assert_string_equal(enc, vectors[i][1]);
        _cleanup_free_ void *dec = NULL;
        size_t len = 99;
        assert_int_equal(dv_base64_decode(enc, strlen(enc), &dec, &len), 0);
        assert_int_equal(len, strlen(vectors[i][0]));
        assert_string_equal(dec, vectors[i][0]);
    }
}

static void test_url_alphabet(void **state)
{
    (void)state;
    /* 0xfb 0xff encodes to "+/8=" in the standard and "-_8=" in the URL alphabet. */
    const unsigned char bytes[] = {0xfb, 0xff};
    _cleanup_free_ char *std = NULL, *url = NULL;
    assert_int_equal(dv_base64_encode(bytes, 2, false, &std), 0);
    assert_int_equal(dv_base64_encode(bytes, 2, true, &url), 0);
    assert_string_equal(std, "+/8=");
    assert_string_equal(url, "-_8=");
    /* The decoder takes both, padded or not. */
    const char *forms[] = {"+/8=", "-_8=", "-_8"};
    for (size_t i = 0; i < DV_ARRAY_SIZE(forms); i++) {
        _cleanup_free_ void *dec = NULL;
        size_t len = 0;
        assert_int_equal(dv_base64_decode(forms[i], strlen(forms[i]), &dec, &len), 0);
        assert_int_equal(len, 2);
        assert_memory_equal(dec, bytes, 2);
    }
}

static void test_round_trip_all_lengths(void **state)
{
    (void)state;
    unsigned char data[300];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(data); n++) {
        _cleanup_free_ char *enc = NULL;
        assert_int_equal(dv_base64_encode(data, n, true, &enc), 0);
        assert_int_equal(strlen(enc), (n + 2) / 3 * 4);
        assert_null(strpbrk(enc, "+/"));
        _cleanup_free_ void *dec = NULL;
        size_t len = 0;
        assert_int_equal(dv_base64_decode(enc, strlen(enc), &dec, &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(dec, data, n);
    }
}

static void test_invalid_input(void **state)
{
    (void)state;
    const char *bad[] = {"Zg=", "Z", "Zm9v\n", "Zm 9", "Zm9v=Zg=", "Zh==", "===="};
    for (size_t i = 0; i < DV_ARRAY_SIZE(bad); i++) {
        void *dec = (void *)0x1;
        size_t len = 7;
        assert_int_equal(dv_base64_decode(bad[i], strlen(bad[i]), &dec, &len), -EINVAL);
        assert_ptr_equal(dec, (void *)0x1); /* untouched on failure */
        assert_int_equal(len, 7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_url_alphabet),
        cmocka_unit_test(test_round_trip_all_lengths),
        cmocka_unit_test(test_invalid_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
