/* Volume sources and seccomp profiles resolved on disk: a symlink a task
 * planted in its own allocation dir must not lead a bind, or a profile the
 * agent reads, outside it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <unistd.h>

#include "agent_config.h"
#include "cleanup.h"
#include "policy.h"
#include "spec.h"
#include "test_support.h"

#define ID "6f1c3e9a-8d2b-4c5e-9f00-123456789abc"

static char *tmp;
static dv_task_paths paths;

static int setup(void **state)
{
    (void)state;
    tmp = dv_test_tmpdir("dv-policy-host");
    /* the data dir itself is reached through a symlink: that alone is fine */
    if (dv_test_sh(NULL,
                   "cd '%s' && mkdir -p real/tasks/" ID "/alloc/shared real/tasks/" ID
                   "/web/local && ln -s real data && ln -s / real/tasks/" ID "/alloc/evil && "
                   "ln -s shared real/tasks/" ID "/alloc/fine && "
                   "ln -s ../../" ID "x real/tasks/" ID "/alloc/sibling && "
                   "mkdir -p real/tasks/" ID "x",
                   tmp) != 0)
        return -1;
    char data[512];
    snprintf(data, sizeof(data), "%s/data", tmp);
    return dv_task_paths_build(data, ID, "web", &paths, NULL);
}

static int teardown(void **state)
{
    (void)state;
    dv_task_paths_clear(&paths);
    dv_test_rm_rf(tmp);
    free(tmp);
    return 0;
}

static void parse_both(const char *spec_text, const char *config_json, dv_task_spec **spec,
                       dv_agent_config *config)
{
    _cleanup_json_ json_t *sj = json_loads(spec_text, 0, NULL);
    _cleanup_json_ json_t *aj = json_loads(config_json, 0, NULL);
    assert_int_equal(dv_spec_parse(sj, spec, NULL), 0);
    assert_int_equal(dv_agent_config_parse(aj, config, NULL), 0);
}

static void expect(const char *config_json, const char *spec_extra, const char *field,
                   const char *message)
{
    char text[1024];
    snprintf(text, sizeof(text), "{\"name\":\"web\",\"config\":{\"image\":\"busybox:1\"%s}}",
             spec_extra);
    dv_task_spec *spec = NULL;
    dv_agent_config config;
    parse_both(text, config_json, &spec, &config);
    /* the lexical check passes all of these */
    assert_int_equal(dv_policy_check(spec, &config, &paths, NULL), 0);
    dv_spec_error err;
    dv_spec_error_clear(&err);
    int r = dv_policy_check_host_paths(spec, &config, &paths, &err);
    if (!field) {
        if (r < 0)
            fail_msg("refused %s: %s", spec_extra, err.err.msg);
    } else {
        assert_int_equal(r, -EPERM);
        assert_string_equal(err.field, field);
        if (!strstr(err.err.msg, message))
            fail_msg("got \"%s\", want \"%s\"", err.err.msg, message);
    }
    dv_task_spec_free(spec);
    dv_agent_config_clear(&config);
}

static void test_symlinks(void **state)
{
    (void)state;
    expect("{}", ",\"volumes\":[\"../alloc/evil:/host\"]", "config.volumes[0]",
           "config.volumes[0]: host path \"../alloc/evil\" resolves to \"/\" outside the task's "
           "allocation directory");
    /* a path below the link that does not exist yet: Docker would create it there */
    expect("{}", ",\"volumes\":[\"local:/l\",\"../alloc/evil/etc/dvnew:/x\"]", "config.volumes[1]",
           "resolves to \"/etc/dvnew\"");
    expect("{}", ",\"volumes\":[\"../alloc/sibling:/x\"]", "config.volumes[0]", ID "x\" outside");
    expect("{}",
           ",\"mount\":[{\"type\":\"bind\",\"target\":\"/b\",\"source\":\"../alloc/evil/tmp\"}]",
           "config.mount[0]", "resolves to \"/tmp\"");
    /* links that stay inside, and paths that do not exist yet */
    expect("{}", ",\"volumes\":[\"../alloc/fine:/f\",\"data/new/dir:/d\",\"local:/l\"]", NULL,
           NULL);
    expect("{}", ",\"mount\":[{\"type\":\"bind\",\"target\":\"/b\",\"source\":\"local\"}]", NULL,
           NULL);
    /* with volumes enabled the operator allowed host paths anyway */
    expect("{\"docker\":{\"volumes\":{\"enabled\":true}}}", ",\"volumes\":[\"../alloc/evil:/h\"]",
           NULL, NULL);
    /* a volume driver names volumes, not paths */
    expect("{\"docker\":{\"volumes\":{\"enabled\":true}}}",
           ",\"volumes\":[\"../alloc/evil:/h\"],\"volume_driver\":\"pxd\"", NULL, NULL);
}

/* Devices on disk: DEVICE (a host path) under CONFIG_JSON; NULL field = allowed
 * as CANONICAL (what the Engine is given). */
static void device(const char *config_json, const char *host_path, int want,
                   const char *message_or_canonical)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"name\":\"web\",\"config\":{\"image\":\"busybox:1\","
             "\"devices\":[{\"host_path\":\"/dev/null\"},{\"host_path\":\"%s\"}]}}",
             host_path);
    dv_task_spec *spec = NULL;
    dv_agent_config config;
    parse_both(text, config_json, &spec, &config);
    dv_strv canonical = {0};
    dv_spec_error err;
    dv_spec_error_clear(&err);
    int r = dv_policy_check_devices(spec, &config, &canonical, &err);
    if (want == 0) {
        if (r < 0)
            fail_msg("refused %s: %s", host_path, err.err.msg);
        assert_int_equal(canonical.n, 2);
        assert_string_equal(canonical.v[0], "/dev/null");
        assert_string_equal(canonical.v[1], message_or_canonical);
    } else {
        if (r != want)
            fail_msg("%s: got %d (%s), want %d", host_path, r, err.err.msg, want);
        assert_string_equal(err.field, "config.devices[1]");
        if (!strstr(err.err.msg, message_or_canonical))
            fail_msg("got \"%s\", want \"%s\"", err.err.msg, message_or_canonical);
        assert_int_equal(canonical.n, 0);
    }
    dv_strv_free(&canonical);
    dv_task_spec_free(spec);
    dv_agent_config_clear(&config);
}

static void test_devices(void **state)
{
    (void)state;
    char link[600], file[600], out[600];
    snprintf(link, sizeof(link), "%s/zero-link", tmp);
    snprintf(file, sizeof(file), "%s/plain", tmp);
    snprintf(out, sizeof(out), "%s/full-link", tmp);
    assert_int_equal(symlink("/dev/zero", link), 0);
    assert_int_equal(symlink("/dev/full", out), 0);
    dv_test_write_file(file, "not a device");
    const char *allow = "{\"docker\":{\"allow_devices\":[\"/dev/null\",\"/dev/zero\"]}}";
    device(allow, "/dev/zero", 0, "/dev/zero");
    /* given through a symlink: checked, and sent, as what it resolves to */
    device(allow, link, 0, "/dev/zero");
    device(allow, "/dev/../dev/zero", 0, "/dev/zero");
    /* a symlink to a device not allowed is refused naming both */
    device(allow, out, -EPERM, "(/dev/full) is not allowed on this agent");
    device("{\"docker\":{\"allow_devices\":[\"/dev/null\"]}}", "/dev/zero", -EPERM,
           "device \"/dev/zero\" is not allowed on this agent (docker.allow_devices: /dev/null)");
    /* not a device, missing */
    device("{\"docker\":{\"allow_privileged\":true}}", file, -EINVAL,
           "is not a character or block device");
    device("{\"docker\":{\"allow_privileged\":true}}", "/dev/../etc/passwd", -EINVAL,
           "(/etc/passwd) is not a character or block device");
    device(allow, "/dev/dv-no-such-device", -ENOENT, "No such file or directory");
    /* globs match whole components */
    device("{\"docker\":{\"allow_devices\":[\"/dev/*\"]}}", "/dev/zero", 0, "/dev/zero");
    device("{\"docker\":{\"allow_privileged\":true}}", "/dev/zero", 0, "/dev/zero");
}

/* dv_policy_security_opts() of ["no-new-privileges", OPT, "apparmor=x"] under
 * CONFIG_JSON: WANT 0 = OPT became WANT_TEXT (NULL: some profile); else the error, naming
 * config.security_opt[1], contains WANT_TEXT. */
static void profile(const char *config_json, const char *opt, int want, const char *want_text)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"name\":\"web\",\"config\":{\"image\":\"busybox:1\","
             "\"security_opt\":[\"no-new-privileges\",\"%s\",\"apparmor=x\"]}}",
             opt);
    dv_task_spec *spec = NULL;
    dv_agent_config config;
    parse_both(text, config_json, &spec, &config);
    dv_strv out = {0};
    dv_strv_push(&out, "untouched on failure");
    dv_spec_error err;
    dv_spec_error_clear(&err);
    int r = dv_policy_security_opts(spec, &config, &paths, &out, &err);
    if (want == 0) {
        if (r < 0)
            fail_msg("%s: refused: %s", opt, err.err.msg);
        assert_int_equal(out.n, 3);
        assert_string_equal(out.v[0], "no-new-privileges");
        if (want_text)
            assert_string_equal(out.v[1], want_text);
        else
            assert_true(strncmp(out.v[1], "seccomp={", 9) == 0);
        assert_string_equal(out.v[2], "apparmor=x");
    } else {
        if (r != want)
            fail_msg("%s: got %d (%s), want %d", opt, r, err.err.msg, want);
        assert_string_equal(err.field, "config.security_opt[1]");
        if (!strstr(err.err.msg, want_text))
            fail_msg("got \"%s\", want \"%s\"", err.err.msg, want_text);
        assert_int_equal(out.n, 1);
    }
    dv_strv_free(&out);
    dv_task_spec_free(spec);
    dv_agent_config_clear(&config);
}

#define PROFILE_TEXT "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [ ]\n}\n"
#define PROFILE_COMPACT "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[]}"

static void test_seccomp_profiles(void **state)
{
    (void)state;
    char local[600], shared[600], outside[600], big[600];
    snprintf(local, sizeof(local), "%s/real/tasks/" ID "/web/local", tmp);
    snprintf(shared, sizeof(shared), "%s/real/tasks/" ID "/alloc/shared", tmp);
    snprintf(outside, sizeof(outside), "%s/outside.json", tmp);
    snprintf(big, sizeof(big), "%s/big.json", local);
    char path[700];
    snprintf(path, sizeof(path), "%s/p.json", local);
    dv_test_write_file(path, PROFILE_TEXT);
    snprintf(path, sizeof(path), "%s/q.json", shared);
    dv_test_write_file(path, PROFILE_TEXT);
    dv_test_write_file(outside, PROFILE_TEXT);
    snprintf(path, sizeof(path), "%s/bad.json", local);
    dv_test_write_file(path, "SCMP_ACT_ALLOW");
    snprintf(path, sizeof(path), "%s/list.json", local);
    dv_test_write_file(path, "[1]");
    snprintf(path, sizeof(path), "%s/twice.json", local);
    dv_test_write_file(path, "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultAction\":\"x\"}");
    /* one byte over the limit, of valid JSON but for that */
    if (dv_test_sh(
            NULL,
            "cd '%s' && ln -s p.json link.json && ln -s '%s' out.json && mkfifo fifo.json && "
            "{ printf '{\"a\":\"'; head -c %d /dev/zero | tr '\\0' x; printf '\"}'; } "
            ">'%s'",
            local, outside, DV_SECCOMP_PROFILE_MAX - 7, big) != 0)
        fail_msg("fixture");

    /* read and sent compact, relative to the task dir like a volume, or absolute */
    profile("{}", "seccomp=local/p.json", 0, PROFILE_COMPACT);
    profile("{}", "seccomp: ./local/../local/p.json", 0, PROFILE_COMPACT);
    snprintf(path, sizeof(path), "seccomp=%s/data/tasks/" ID "/web/local/p.json", tmp);
    profile("{}", path, 0, PROFILE_COMPACT);
    /* a directory symlink that stays inside is followed */
    profile("{}", "seccomp=../alloc/fine/q.json", 0, PROFILE_COMPACT);
    /* a limit-sized file is fine, one byte more is not */
    snprintf(path, sizeof(path), "%s/max.json", local);
    dv_test_sh(NULL, "head -c %d '%s' > '%s' && printf '\"}' >> '%s'", DV_SECCOMP_PROFILE_MAX - 2,
               big, path, path);
    profile("{}", "seccomp=local/max.json", 0, NULL);

    /* out of the allocation dir: through a directory symlink, or the file itself one */
    profile("{}", "seccomp=../alloc/evil/etc/passwd", -EPERM,
            "config.security_opt[1]: seccomp profile \"../alloc/evil/etc/passwd\" leads out of "
            "the task's allocation directory (docker.volumes.enabled is false)");
    profile(
        "{}", "seccomp=local/out.json", -ELOOP,
        "seccomp profile \"local/out.json\" is a symlink: in the task's allocation directory it "
        "must be the file itself");
    profile("{}", "seccomp=local/link.json", -ELOOP, "is a symlink");
    profile("{}", "seccomp=/etc/passwd", -EPERM, "leads out of the task's allocation directory");
    /* what the file must be */
    profile("{}", "seccomp=local/none.json", -ENOENT,
            "config.security_opt[1]: seccomp profile \"local/none.json\": No such file or "
            "directory");
    profile("{}", "seccomp=local/fifo.json", -EINVAL, "\"local/fifo.json\" is not a regular file");
    profile("{}", "seccomp=local", -EINVAL, "\"local\" is not a regular file");
    profile("{}", "seccomp=local/big.json", -EFBIG,
            "seccomp profile \"local/big.json\" is larger than 1048576 bytes");
    profile("{}", "seccomp=local/bad.json", -EINVAL,
            "seccomp profile \"local/bad.json\" is not a JSON object: line 1");
    profile("{}", "seccomp=local/list.json", -EINVAL, "is not a JSON object");
    profile("{}", "seccomp=local/twice.json", -EINVAL, "is not a JSON object");

    /* with volumes enabled any host path is read, through symlinks too */
    const char *on = "{\"docker\":{\"volumes\":{\"enabled\":true}}}";
    snprintf(path, sizeof(path), "seccomp=%s", outside);
    profile(on, path, 0, PROFILE_COMPACT);
    profile(on, "seccomp=local/out.json", 0, PROFILE_COMPACT);
    profile(on, "seccomp=local/fifo.json", -EINVAL, "is not a regular file");

    /* the on-disk check refuses what leads out, naming the field, like a bind source */
    expect("{}", ",\"security_opt\":[\"seccomp=local/p.json\",\"seccomp=../alloc/evil/etc/x\"]",
           "config.security_opt[1]",
           "config.security_opt[1]: host path \"../alloc/evil/etc/x\" resolves to \"/etc/x\" "
           "outside the task's allocation directory");
    expect("{}", ",\"security_opt\":[\"seccomp=../alloc/fine/q.json\"]", NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symlinks),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_seccomp_profiles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
