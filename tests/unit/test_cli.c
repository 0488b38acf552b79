/* CLI plumbing: Go-style flags, tables, line splitting of streams, and the
 * UTF-8 cleanup of exec output for JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent_api.h"
#include "cleanup.h"
#include "cli.h"

static void test_flags(void **state)
{
    (void)state;
    bool force = false, json = false;
    const char *timeout = NULL, *signal = NULL;
    const dv_flag flags[] = {
        {"force", DV_FLAG_BOOL, &force, ""},
        {"json", DV_FLAG_BOOL, &json, ""},
        {"timeout", DV_FLAG_STRING, &timeout, ""},
        {"signal", DV_FLAG_STRING, &signal, ""},
        {0},
    };
    char *argv[] = {"exec", "-timeout", "5s", "abc", "--signal=SIGINT", "-force", "--", "ls", "-l"};
    dv_cli_args a;
    assert_int_equal(dv_cli_parse("u", flags, 9, argv, &a), 0);
    assert_true(force);
    assert_false(json);
    assert_string_equal(timeout, "5s");
    assert_string_equal(signal, "SIGINT");
    assert_int_equal(a.npos, 3); /* abc, ls, -l: nothing after -- is a flag */
    assert_string_equal(a.pos[0], "abc");
    assert_string_equal(a.pos[2], "-l");
    assert_int_equal(a.dashdash, 1);
    dv_cli_args_free(&a);

    char *bad[] = {"x", "-nope"};
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    assert_int_equal(dv_cli_parse("u", flags, 2, bad, &a), -EINVAL);
    char *missing[] = {"x", "-timeout"};
    assert_int_equal(dv_cli_parse("u", flags, 2, missing, &a), -EINVAL);
    fclose(stderr);
    stderr = saved;
    char *off[] = {"x", "-json=false", "-force=0"};
    json = force = true;
    assert_int_equal(dv_cli_parse("u", flags, 3, off, &a), 0);
    assert_false(json);
    assert_false(force);
    dv_cli_args_free(&a);
}

static void test_table(void **state)
{
    (void)state;
    const char *h[] = {"ID", "NAME"};
    dv_table *t = dv_table_new(2, h);
    const char *r1[] = {"abcdef12", "web"};
    const char *r2[] = {"x", NULL};
    dv_table_add(t, r1);
    dv_table_add(t, r2);
    char buf[256] = "";
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    dv_table_print(t, f);
    fclose(f);
    assert_string_equal(buf, "ID        NAME\nabcdef12  web\nx         -\n");
    dv_table_free(t);
}

static int collect(const char *line, void *u)
{
    char *out = u;
    strcat(out, "[");
    strcat(out, line);
    strcat(out, "]");
    return strcmp(line, "stop") == 0;
}

static void test_lines(void **state)
{
    (void)state;
    char out[128] = "";
    dv_cli_lines *l = dv_cli_lines_new(collect, out);
    assert_int_equal(dv_cli_lines_feed(l, "ab", 2), 0);
    assert_int_equal(dv_cli_lines_feed(l, "c\nd", 3), 0);
    assert_int_equal(dv_cli_lines_feed(l, "\n\nstop\nlater\n", 14), 1);
    assert_string_equal(out, "[abc][d][][stop]");
    dv_cli_lines_free(l);
}

static void test_exec_output_as_json(void **state)
{
    (void)state;
    _cleanup_json_ json_t *ok = dv_api_text("héllo\n", 7);
    assert_string_equal(json_string_value(ok), "héllo\n");
    _cleanup_json_ json_t *bad = dv_api_text("a\xff"
                                             "b\xc3",
                                             4);
    assert_string_equal(json_string_value(bad), "a\xef\xbf\xbd"
                                                "b\xef\xbf\xbd");
    _cleanup_json_ json_t *nul = dv_api_text("a\0b", 3);
    assert_int_equal(json_string_length(nul), 3); /* NUL is valid: JSON writes \u0000 */
    _cleanup_json_ json_t *empty = dv_api_text(NULL, 0);
    assert_string_equal(json_string_value(empty), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_exec_output_as_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
