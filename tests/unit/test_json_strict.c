/* The strict JSON reader docklog and the agent share (common/json_strict.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "json_strict.h"
#include "test_support.h"

static int parse(const char *text, json_t **ret, dv_error *err)
{
    return dv_json_parse_strict(text, strlen(text), ret, err);
}

static void test_accepts_one_object(void **state)
{
    (void)state;
    static const char *const good[] = {
        "{}",
        "{\"a\":1,\"b\":{\"a\":2},\"c\":[{\"a\":1},{\"a\":2}]}",
        " \n{\"a\":\"x\"}\n\t ",
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(good); i++) {
        json_t *j = NULL;
        dv_error err;
        if (parse(good[i], &j, &err) < 0)
            fail_msg("case %zu refused: %s", i, err.msg);
        json_decref(j);
    }
}

static void test_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"a\":1,\"a\":2}", "line 1"},                 /* a key twice */
        {"{\"o\":{\"a\":1,\"b\":2,\"a\":1}}", "line 1"}, /* ... at any depth */
        {"{\"l\":[{\"k\":1,\"k\":1}]}", "line 1"},
        {"{\"a\":1} {\"a\":2}", "line 1"}, /* something after the object */
        {"{\"a\":1}\n}", "line 2"},
        {"{\"a\":\"x\\u0000y\"}", "line 1"}, /* a NUL would cut the string short */
        {"[1,2]", "not a JSON object"},
        {"", "line"},
        {"{\"a\":", "line 1"},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(bad); i++) {
        json_t *j = NULL;
        dv_error err;
        int r = parse(bad[i].text, &j, &err);
        if (r != -EINVAL || !strstr(err.msg, bad[i].want))
            fail_msg("case %zu: r=%d msg=\"%s\" want \"%s\"", i, r, r < 0 ? err.msg : "",
                     bad[i].want);
        assert_null(j);
    }
}

static void test_read_names_the_file(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dv-json-strict");
    char path[4096];
    snprintf(path, sizeof(path), "%s/x.json", dir);
    json_t *j = NULL;
    dv_error err;
    assert_int_equal(dv_json_read_strict(path, &j, &err), -ENOENT);
    assert_non_null(strstr(err.msg, path));

    dv_test_write_file(path, "{\"a\":1,\n\"a\":1}\n");
    assert_int_equal(dv_json_read_strict(path, &j, &err), -EINVAL);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "line 2"));
    assert_null(j);

    dv_test_write_file(path, "{\"a\":1}\n");
    assert_int_equal(dv_json_read_strict(path, &j, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
    json_decref(j);
    dv_test_rm_rf(dir);
}

/* A NUL in a string is named by its place, as the spec's errors name fields. */
static void test_refuse_nul_names_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"name\":\"a\",\"config\":{\"args\":[\"x\",\"y\\u0000z\"]}}",
         "config.args[1]: holds a NUL character (\\u0000), which no field takes"},
        {"{\"tasks\":[{\"env\":{\"K\":\"\\u0000\"}}]}", "tasks[0].env.K: holds a NUL"},
        {"\"\\u0000\"", "the text: holds a NUL"},
        {"{\"config\":{\"args\":[\"x\",\"y\"]},\"n\":1}", NULL},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(cases); i++) {
        json_error_t jerr;
        _cleanup_json_ json_t *j =
            json_loads(cases[i].text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        assert_non_null(j);
        dv_error err = {0};
        int r = dv_json_refuse_nul(j, &err);
        if (!cases[i].want) {
            assert_int_equal(r, 0);
            continue;
        }
        assert_int_equal(r, -EINVAL);
        if (strncmp(err.msg, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err.msg, cases[i].want);
    }
}

static void test_unknown_key(void **state)
{
    (void)state;
    static const char *const known[] = {"id", "name", NULL};
    static const char *const none[] = {NULL};
    json_t *j = NULL;
    assert_int_equal(parse("{\"id\":1,\"name\":2}", &j, NULL), 0);
    assert_null(dv_json_unknown_key(j, known));
    assert_string_equal(dv_json_unknown_key(j, none), "id");
    json_decref(j);
    assert_int_equal(parse("{\"id\":1,\"nmae\":2,\"x\":3}", &j, NULL), 0);
    assert_string_equal(dv_json_unknown_key(j, known), "nmae");
    json_decref(j);
    assert_int_equal(parse("{}", &j, NULL), 0);
    assert_null(dv_json_unknown_key(j, none));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_one_object),
        cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_read_names_the_file),
        cmocka_unit_test(test_refuse_nul_names_the_field),
        cmocka_unit_test(test_unknown_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
