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
#include "cli_follow.h"
#include "cli_format.h"
#include "commands.h"

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

/* C8: the Engine API call the agent quotes goes, what Docker said stays. */
static void test_readable_messages(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"docker: POST "
         "/exec/418263943a78c54c9ed75f33d9913bc7b4437d1bcbf461f52e9de08bf0b6c875/start: "
         "timed out after 998.84ms (Operation timed out after 1000 milliseconds with 0 bytes "
         "received)",
         "Docker did not answer within 998.84ms"},
        {"failed to pull `x/y:1`: docker: POST /images/create: 500 Internal Server Error: Get "
         "\"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such "
         "host",
         "failed to pull `x/y:1`: docker: Get \"https://registry-1.docker.io/v2/\": dial tcp: "
         "lookup "
         "registry-1.docker.io: no such host"},
        {"start container 053607a1bede: docker: POST /containers/0536/start: 400 Bad Request: "
         "failed to create shim task: OCI runtime create failed",
         "start container 053607a1bede: docker: failed to create shim task: OCI runtime create "
         "failed"},
        {"docker: DELETE /containers/abc: 500 Internal Server Error",
         "docker: 500 Internal Server Error"},
        {"docker: GET /version: connection to unix:///var/run/docker.sock lost (EOF): Recv failure",
         "the connection to Docker (unix:///var/run/docker.sock) was lost"},
        {"docker: GET /version: cannot connect to unix:///x.sock: No such file or directory",
         "cannot connect to Docker at unix:///x.sock: No such file or directory"},
        {"task 12 is stopped, not running", "task 12 is stopped, not running"},
        {"task 12 is failed, not running", "task 12 has failed and is not running"},
        {"task 12 is exited, not running", "task 12 has exited and is not running"},
        {"docker: not a call", "docker: not a call"},
        {"", ""},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(cases); i++) {
        char out[1024];
        dv_cli_readable(cases[i].in, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
    }
    char small[8];
    dv_cli_readable("docker: GET /x: 404 Not Found: No such container: abc", small, sizeof(small));
    assert_string_equal(small, "docker:");
}

/* B6: the signal of an exit has a name, from the number the API gives. */
static void test_exit_text(void **state)
{
    (void)state;
    char buf[128];
    _cleanup_json_ json_t *killed =
        json_pack("{s:i,s:i,s:b}", "exit_code", 137, "signal", 9, "oom_killed", 0);
    dv_cli_exit_text(killed, buf, sizeof(buf));
    assert_string_equal(buf, "exit code 137 (signal 9 SIGKILL)");
    _cleanup_json_ json_t *oom =
        json_pack("{s:i,s:i,s:b}", "exit_code", 137, "signal", 0, "oom_killed", 1);
    dv_cli_exit_text(oom, buf, sizeof(buf));
    assert_string_equal(buf, "exit code 137, OOM killed");
    _cleanup_json_ json_t *named =
        json_pack("{s:i,s:i,s:s}", "exit_code", 130, "signal", 2, "signal_name", "SIGINT");
    dv_cli_exit_text(named, buf, sizeof(buf));
    assert_string_equal(buf, "exit code 130 (signal 2 SIGINT)");
}

/* C7: `dockvisor -address X status` */
static void test_global_options(void **state)
{
    (void)state;
    unsetenv(DV_API_ADDR_ENV);
    char *a1[] = {"dockvisor", "-address", "/tmp/a.sock", "status", "-json"};
    assert_int_equal(dv_cli_global_options(5, a1), 2);
    assert_string_equal(getenv(DV_API_ADDR_ENV), "/tmp/a.sock");
    char *a2[] = {"dockvisor", "--address=unix:///tmp/b.sock", "status"};
    assert_int_equal(dv_cli_global_options(3, a2), 1);
    assert_string_equal(getenv(DV_API_ADDR_ENV), "unix:///tmp/b.sock");
    char *a3[] = {"dockvisor", "status", "-address", "/tmp/c.sock"};
    assert_int_equal(dv_cli_global_options(4, a3), 0); /* the command's own flag */
    char *a4[] = {"dockvisor", "-h"};
    assert_int_equal(dv_cli_global_options(2, a4), 0);
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    char *a5[] = {"dockvisor", "-bogus", "status"};
    assert_int_equal(dv_cli_global_options(3, a5), -EINVAL);
    char *a6[] = {"dockvisor", "-address"};
    assert_int_equal(dv_cli_global_options(2, a6), -EINVAL);
    fclose(stderr);
    stderr = saved;
    unsetenv(DV_API_ADDR_ENV);
}

/* One parse for every command: common flags, positional counts, exit codes. */
static void test_cli_start(void **state)
{
    (void)state;
    FILE *saved_out = stdout, *saved_err = stderr;
    stdout = fopen("/dev/null", "w");
    stderr = fopen("/dev/null", "w");
    bool force = false;
    const dv_flag flags[] = {{"force", DV_FLAG_BOOL, &force, ""}, {0}};
    {
        _cleanup_cli_ dv_cli cli = {.cmd = "x", .usage = "u", .json_help = "j"};
        char *argv[] = {"x", "abc", "-json", "-force", "-address", "/s"};
        assert_int_equal(dv_cli_start(&cli, flags, 6, argv, 1, 1), DV_CLI_PROCEED);
        assert_true(cli.json && force);
        assert_string_equal(cli.address, "/s");
        assert_int_equal(cli.npos, 1);
        assert_string_equal(cli.pos[0], "abc");
    }
    {
        _cleanup_cli_ dv_cli cli = {.cmd = "x", .usage = "u"};
        char *argv[] = {"x", "-json", "a"};
        assert_int_equal(dv_cli_start(&cli, flags, 3, argv, 1, 1), DV_EXIT_USAGE); /* no -json */
    }
    {
        _cleanup_cli_ dv_cli cli = {.cmd = "x", .usage = "u", .local = true};
        char *argv[] = {"x", "-address", "/s", "a"};
        assert_int_equal(dv_cli_start(&cli, flags, 4, argv, 1, 1), DV_EXIT_USAGE);
    }
    {
        _cleanup_cli_ dv_cli cli = {.cmd = "x", .usage = "u"};
        char *argv[] = {"x", "a", "b"};
        assert_int_equal(dv_cli_start(&cli, flags, 3, argv, 1, 1), DV_EXIT_USAGE);
    }
    {
        _cleanup_cli_ dv_cli cli = {.cmd = "x", .usage = "u"};
        char *argv[] = {"x"};
        assert_int_equal(dv_cli_start(&cli, flags, 1, argv, 1, DV_CLI_ANY), DV_EXIT_USAGE);
    }
    {
        _cleanup_cli_ dv_cli cli = {.cmd = "x", .usage = "u"};
        char *argv[] = {"x", "a", "--", "b", "-c"};
        assert_int_equal(dv_cli_start(&cli, flags, 5, argv, 1, DV_CLI_ANY), DV_CLI_PROCEED);
        assert_int_equal(cli.npos, 3);
        assert_int_equal(cli.dashdash, 1);
    }
    {
        _cleanup_cli_ dv_cli cli = {.cmd = "x", .usage = "u"};
        char *argv[] = {"x", "-h"};
        assert_int_equal(dv_cli_start(&cli, flags, 2, argv, 1, 1), DV_EXIT_OK);
    }
    fclose(stdout);
    fclose(stderr);
    stdout = saved_out;
    stderr = saved_err;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_exec_output_as_json),
        cmocka_unit_test(test_readable_messages),
        cmocka_unit_test(test_exit_text),
        cmocka_unit_test(test_global_options),
        cmocka_unit_test(test_cli_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
