/* Registry credentials: docker config.json lookup, the order of sources,
 * auth_soft_fail, and a real credential helper process (a fake
 * docker-credential-dvtest script written to a temp dir put on PATH). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "registry_auth.h"
#include "spec.h"
#include "test_support.h"

static char *tmp;

static const char *helper_script =
    "#!/bin/sh\n"
    "[ \"$1\" = get ] || exit 3\n"
    "server=$(cat)\n"
    "ls -l /proc/self/fd > \"$DVTEST_DIR/fds\"\n"
    "case \"$server\" in\n"
    "127.0.0.1:5000) printf '{\"ServerURL\":\"%s\",\"Username\":\"dvtest\","
    "\"Secret\":\"dvtest-password\"}' \"$server\";;\n"
    "token.example) printf '{\"ServerURL\":\"%s\",\"Username\":\"<token>\","
    "\"Secret\":\"tok-123\"}' \"$server\";;\n"
    "missing.example) echo 'credentials not found in native keychain'; exit 1;;\n"
    "broken.example) echo 'helper exploded' >&2; echo 'second line' >&2; exit 2;;\n"
    "garbage.example) echo 'not json';;\n"
    "empty.example) echo '{}';;\n"
    "slow.example) sleep 30 & echo $! > \"$DVTEST_DIR/child\"; sleep 30;;\n"
    "*) printf '{\"ServerURL\":\"%s\",\"Username\":\"echo\",\"Secret\":\"%s\"}' "
    "\"$server\" \"$server\";;\n"
    "esac\n";

static int setup(void **state)
{
    (void)state;
    tmp = dv_test_tmpdir("dv-registry-auth");
    char path[512];
    snprintf(path, sizeof(path), "%s/docker-credential-dvtest", tmp);
    dv_test_write_file(path, helper_script);
    chmod(path, 0755);
    char *newpath = NULL;
    if (asprintf(&newpath, "%s:%s", tmp, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin") < 0)
        return -1;
    setenv("PATH", newpath, 1);
    setenv("DVTEST_DIR", tmp, 1);
    free(newpath);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!getenv("DVTEST_KEEP"))
        dv_test_rm_rf(tmp);
    free(tmp);
    return 0;
}

static dv_task_spec *spec_of(const char *config_extra)
{
    char text[1024];
    snprintf(text, sizeof(text), "{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\"%s}}",
             config_extra);
    _cleanup_json_ json_t *j = json_loads(text, 0, NULL);
    dv_task_spec *spec = NULL;
    dv_spec_error err;
    if (!j || dv_spec_parse(j, &spec, &err) < 0)
        fail_msg("spec: %s", text);
    return spec;
}

static void test_config_lookup(void **state)
{
    (void)state;
    /* "dvtest:dvtest-password" */
    _cleanup_json_ json_t *cfg =
        json_loads("{\"auths\":{"
                   "\"https://127.0.0.1:5000/v2/\":{\"auth\":\"ZHZ0ZXN0OmR2dGVzdC1wYXNzd29yZA==\"},"
                   "\"plain.example\":{\"username\":\"u\",\"password\":\"p\",\"email\":\"e@x\"},"
                   "\"tok.example\":{\"identitytoken\":\"itok\"},"
                   "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOnNlY3JldA\"},"
                   "\"stored.example\":{},"
                   "\"bad.example\":{\"auth\":\"!!!\"}},"
                   "\"credHelpers\":{\"ecr.example\":\"ecr-login\"},"
                   "\"credsStore\":\"desktop\"}",
                   0, NULL);
    assert_non_null(cfg);
    static const struct {
        const char *server, *user, *pass, *token, *helper;
    } cases[] = {
        {"127.0.0.1:5000", "dvtest", "dvtest-password", NULL, NULL},
        {"plain.example", "u", "p", NULL, NULL},
        {"https://plain.example/", "u", "p", NULL, NULL},
        {"tok.example", NULL, NULL, "itok", NULL},
        {"https://index.docker.io/v1/", "hub", "secret", NULL, NULL}, /* unpadded base64 */
        {"ecr.example", NULL, NULL, NULL, "ecr-login"},
        {"stored.example", NULL, NULL, NULL, "desktop"}, /* empty entry: in the store */
        {"other.example", NULL, NULL, NULL, "desktop"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dv_registry_creds c = {0};
        const char *helper = NULL;
        dv_spec_error err;
        if (dv_docker_config_lookup(cfg, cases[i].server, &c, &helper, &err) < 0)
            fail_msg("%s: %s", cases[i].server, err.err.msg);
        assert_int_equal(c.found, cases[i].user || cases[i].token);
        if (c.found) {
            assert_int_equal(c.source, DV_AUTH_CONFIG_FILE);
            assert_ptr_equal(c.auth.username, c.username);
            if (cases[i].user)
                assert_string_equal(c.auth.username, cases[i].user);
            if (cases[i].pass)
                assert_string_equal(c.auth.password, cases[i].pass);
            if (cases[i].token)
                assert_string_equal(c.auth.identity_token, cases[i].token);
            assert_string_equal(c.auth.server_address, cases[i].server);
        }
        if (cases[i].helper)
            assert_string_equal(helper, cases[i].helper);
        else
            assert_null(helper);
        dv_registry_creds_clear(&c);
    }
    dv_registry_creds c = {0};
    const char *helper = NULL;
    dv_spec_error err;
    assert_int_equal(dv_docker_config_lookup(cfg, "bad.example", &c, &helper, &err), -EINVAL);
    assert_string_equal(err.err.msg, "docker.auth.config: auths.bad.example.auth is not base64 of "
                                     "\"user:password\"");
    /* Docker Hub under its other spellings */
    _cleanup_json_ json_t *hub =
        json_loads("{\"auths\":{\"docker.io\":{\"username\":\"h\",\"password\":\"p\"}}}", 0, NULL);
    assert_int_equal(dv_docker_config_lookup(hub, "https://index.docker.io/v1/", &c, &helper, NULL),
                     0);
    assert_true(c.found);
    dv_registry_creds_clear(&c);
}

static void test_task_auth_first(void **state)
{
    (void)state;
    dv_task_spec *spec =
        spec_of(",\"auth\":{\"username\":\"task\",\"password\":\"pw\",\"email\":\"e\"}");
    char cfg_path[512];
    snprintf(cfg_path, sizeof(cfg_path), "%s/config.json", tmp);
    dv_test_write_file(cfg_path, "{\"auths\":{\"r.example\":{\"username\":\"file\","
                                 "\"password\":\"x\"}}}");
    dv_auth_sources src = {.config_path = cfg_path, .helper = "dvtest"};
    dv_registry_creds c;
    assert_int_equal(dv_registry_auth_resolve(spec, "r.example", &src, &c, NULL), 0);
    assert_true(c.found);
    assert_int_equal(c.source, DV_AUTH_TASK);
    assert_string_equal(c.auth.username, "task");
    assert_string_equal(c.auth.password, "pw");
    assert_string_equal(c.auth.email, "e");
    assert_string_equal(c.auth.server_address, "r.example"); /* defaults to the image's */
    dv_registry_creds_clear(&c);
    dv_task_spec_free(spec);

    /* no task auth: the file, before the helper */
    spec = spec_of("");
    assert_int_equal(dv_registry_auth_resolve(spec, "r.example", &src, &c, NULL), 0);
    assert_int_equal(c.source, DV_AUTH_CONFIG_FILE);
    assert_string_equal(c.auth.username, "file");
    dv_registry_creds_clear(&c);
    /* not in the file: the helper */
    assert_int_equal(dv_registry_auth_resolve(spec, "127.0.0.1:5000", &src, &c, NULL), 0);
    assert_int_equal(c.source, DV_AUTH_HELPER);
    assert_string_equal(c.auth.username, "dvtest");
    assert_string_equal(c.auth.password, "dvtest-password");
    dv_registry_creds_clear(&c);
    /* nothing configured: anonymous */
    assert_int_equal(dv_registry_auth_resolve(spec, "r.example", NULL, &c, NULL), 0);
    assert_false(c.found);
    assert_int_equal(c.source, DV_AUTH_NONE);
    dv_task_spec_free(spec);
}

static void test_config_file_helpers(void **state)
{
    (void)state;
    char cfg_path[512];
    snprintf(cfg_path, sizeof(cfg_path), "%s/helpers.json", tmp);
    dv_test_write_file(cfg_path, "{\"credHelpers\":{\"127.0.0.1:5000\":\"dvtest\"}}");
    dv_task_spec *spec = spec_of("");
    dv_auth_sources src = {.config_path = cfg_path};
    dv_registry_creds c;
    dv_spec_error err;
    assert_int_equal(dv_registry_auth_resolve(spec, "127.0.0.1:5000", &src, &c, &err), 0);
    assert_true(c.found);
    assert_int_equal(c.source, DV_AUTH_CONFIG_HELPER);
    assert_string_equal(c.auth.password, "dvtest-password");
    dv_registry_creds_clear(&c);
    /* a registry without a helper: nothing */
    assert_int_equal(dv_registry_auth_resolve(spec, "elsewhere.example", &src, &c, &err), 0);
    assert_false(c.found);
    /* credsStore applies to every registry; the server is passed on stdin */
    dv_test_write_file(cfg_path, "{\"credsStore\":\"dvtest\"}");
    assert_int_equal(dv_registry_auth_resolve(spec, "https://index.docker.io/v1/", &src, &c, &err),
                     0);
    assert_string_equal(c.auth.username, "echo");
    assert_string_equal(c.auth.password, "https://index.docker.io/v1/");
    dv_registry_creds_clear(&c);
    /* a broken file is an error, naming it */
    dv_test_write_file(cfg_path, "{\"auths\": ");
    assert_int_equal(dv_registry_auth_resolve(spec, "r.example", &src, &c, &err), -EINVAL);
    assert_string_equal(err.field, "docker.auth.config");
    assert_non_null(strstr(err.err.msg, "invalid JSON"));
    assert_false(c.found);
    src.config_path = "/nonexistent/config.json";
    assert_int_equal(dv_registry_auth_resolve(spec, "r.example", &src, &c, &err), -ENOENT);
    dv_task_spec_free(spec);
}

static void test_helper_protocol(void **state)
{
    (void)state;
    dv_registry_creds c = {0};
    dv_spec_error err;
    /* An inheritable descriptor of ours (as curl's wakeup socketpair is in the agent). */
    int devnull = open("/dev/null", O_RDONLY);
    assert_int_equal(dup2(devnull, 150), 150);
    close(devnull);
    assert_int_equal(dv_cred_helper_get("dvtest", "token.example", 0, &c, &err), 0);
    close(150);
    assert_true(c.found);
    assert_null(c.auth.username);
    assert_null(c.auth.password);
    assert_string_equal(c.auth.identity_token, "tok-123");
    dv_registry_creds_clear(&c);

    /* Only our three pipes reach the helper, as its stdin/stdout/stderr: beyond
     * those it has no more pipes than we hold ourselves (a test harness may
     * leak some into us), so none of our pipe ends leaked into it. */
    char path[512];
    snprintf(path, sizeof(path), "%s/fds", tmp);
    _cleanup_free_ char *std = NULL, *extra = NULL, *ours = NULL;
    /* (its stdout is the fds file there) */
    assert_int_equal(dv_test_sh(&std, "grep -cE ' [02] -> pipe:' '%s'", path), 0);
    assert_int_equal(atoi(std), 2);
    dv_test_sh(&extra, "grep -cE ' ([3-9]|[1-9][0-9]+) -> pipe:' '%s'", path);
    dv_test_sh(&ours, "ls -l /proc/%d/fd | grep -cE ' ([3-9]|[1-9][0-9]+) -> pipe:'",
               (int)getpid());
    /* ours counts the pipe of the popen that runs ls */
    assert_true(atoi(extra) <= atoi(ours) - 1);
    /* And nothing else at all: the helper's ls holds 0-2 and its directory (3). */
    _cleanup_free_ char *above = NULL;
    dv_test_sh(&above, "grep -E ' ([4-9]|[1-9][0-9]+) -> ' '%s'", path);
    if (above && *above)
        fail_msg("the helper inherited: %s", above);

    assert_int_equal(dv_cred_helper_get("dvtest", "missing.example", 0, &c, &err), 0);
    assert_false(c.found);
    assert_int_equal(dv_cred_helper_get("dvtest", "empty.example", 0, &c, &err), 0);
    assert_false(c.found);

    assert_int_equal(dv_cred_helper_get("dvtest", "broken.example", 0, &c, &err), -EIO);
    assert_string_equal(err.err.msg, "docker.auth.helper: docker-credential-dvtest get for "
                                     "broken.example failed (exit status 2): helper exploded");
    assert_int_equal(dv_cred_helper_get("dvtest", "garbage.example", 0, &c, &err), -EINVAL);
    assert_non_null(strstr(err.err.msg, "returned invalid JSON"));
    assert_int_equal(dv_cred_helper_get("nothere", "x", 0, &c, &err), -ENOENT);
    assert_string_equal(err.err.msg, "docker.auth.helper: docker-credential-nothere not found on "
                                     "PATH");
    assert_int_equal(dv_cred_helper_get("../evil", "x", 0, &c, &err), -EINVAL);
    assert_false(c.found);
    /* every helper was reaped */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static bool gone(pid_t pid)
{
    char path[64], state = 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return true;
    int ok = fscanf(f, "%*d (%*[^)]) %c", &state);
    fclose(f);
    return ok == 1 && (state == 'Z' || state == 'X');
}

static void test_helper_timeout(void **state)
{
    (void)state;
    dv_registry_creds c = {0};
    dv_spec_error err;
    int64_t ms = 1000000;
    assert_int_equal(dv_cred_helper_get("dvtest", "slow.example", 300 * ms, &c, &err), -ETIMEDOUT);
    assert_non_null(strstr(err.err.msg, "timed out"));
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* reaped */
    /* and what it started was killed with it (its own process group) */
    char path[512];
    snprintf(path, sizeof(path), "%s/child", tmp);
    _cleanup_free_ char *text = NULL;
    assert_int_equal(dv_test_sh(&text, "cat '%s'", path), 0);
    pid_t child = (pid_t)atoi(text);
    assert_true(child > 1);
    for (int i = 0; i < 200 && !gone(child); i++)
        nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
    assert_true(gone(child));
}

static void test_soft_fail(void **state)
{
    (void)state;
    dv_auth_sources src = {.helper = "dvtest"};
    dv_registry_creds c;
    dv_spec_error err;
    dv_task_spec *hard = spec_of("");
    assert_int_equal(dv_registry_auth_resolve(hard, "broken.example", &src, &c, &err), -EIO);
    assert_false(c.found);
    assert_string_equal(c.warning, "");
    dv_task_spec *soft = spec_of(",\"auth_soft_fail\":true");
    assert_int_equal(dv_registry_auth_resolve(soft, "broken.example", &src, &c, &err), 0);
    assert_false(c.found);
    assert_non_null(strstr(c.warning, "pulling without credentials"));
    assert_non_null(strstr(c.warning, "helper exploded"));
    /* soft fail only swallows errors: found credentials are used */
    assert_int_equal(dv_registry_auth_resolve(soft, "127.0.0.1:5000", &src, &c, &err), 0);
    assert_true(c.found);
    assert_string_equal(c.warning, "");
    dv_registry_creds_clear(&c);
    /* works without an error object too */
    assert_int_equal(dv_registry_auth_resolve(soft, "broken.example", &src, &c, NULL), 0);
    assert_non_null(strstr(c.warning, "helper exploded"));
    dv_task_spec_free(hard);
    dv_task_spec_free(soft);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_lookup),       cmocka_unit_test(test_task_auth_first),
        cmocka_unit_test(test_config_file_helpers), cmocka_unit_test(test_helper_protocol),
        cmocka_unit_test(test_helper_timeout),      cmocka_unit_test(test_soft_fail),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
