/* The task-level `artifact` array: what each block becomes (URL, target in
 * the task dir, checksum), every refusal naming its field, the policy on host
 * files, and that header values are redacted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "agent_config.h"
#include "cleanup.h"
#include "policy.h"
#include "spec.h"

#define ID "6f1c3e9a-8d2b-4c5e-9f00-123456789abc"
/* A spec whose artifact array is X. */
#define ART(x) "{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\"},\"artifact\":[" x "]}"
#define SHA256 "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"

static dv_task_spec *parse(const char *text, dv_spec_error *err)
{
    /* As the API reads a body: a \u0000 must reach the parser, which refuses it. */
    _cleanup_json_ json_t *j = json_loads(text, JSON_ALLOW_NUL, NULL);
    if (!j)
        fail_msg("bad test JSON: %s", text);
    dv_task_spec *spec = NULL;
    dv_spec_error_clear(err);
    if (dv_spec_parse(j, &spec, err) < 0)
        return NULL;
    return spec;
}

static dv_task_spec *parse_ok(const char *text)
{
    dv_spec_error err;
    dv_task_spec *spec = parse(text, &err);
    if (!spec)
        fail_msg("parse failed: %s\n  spec %s", err.err.msg, text);
    return spec;
}

static void test_parsed(void **state)
{
    (void)state;
    dv_task_spec *s =
        parse_ok(ART("{\"source\":\"https://example.com/a/redis.tar?x=1#f\","
                     "\"options\":{\"checksum\":\"sha256:" SHA256 "\","
                     "\"archive\":\"false\"},\"headers\":{\"X-Token\":\"t\"}},"
                     "{\"source\":\"http://h/b.bin\",\"destination\":\"./local//sub/\"},"
                     "{\"source\":\"file:///srv/x\",\"destination\":\"secrets/key\","
                     "\"mode\":\"file\"},"
                     "{\"source\":\"/srv/my file%\",\"destination\":\".\"}"));
    assert_int_equal(s->n_artifacts, 4);
    const dv_artifact *a = s->artifacts;
    assert_string_equal(a[0].url, "https://example.com/a/redis.tar?x=1#f");
    assert_false(a[0].local);
    assert_string_equal(a[0].target, "local/redis.tar");
    assert_string_equal(a[0].checksum_type, "sha256");
    assert_string_equal(a[0].checksum_hex,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_string_equal(dv_kv_get(&a[0].headers, "X-Token"), "t");
    assert_string_equal(a[1].target, "local/sub/b.bin");
    assert_null(a[1].checksum_type);
    assert_true(a[2].local);
    assert_string_equal(a[2].url, "file:///srv/x");
    assert_string_equal(a[2].target, "secrets/key");
    assert_true(a[3].local);
    assert_string_equal(a[3].url, "file:///srv/my%20file%25");
    assert_string_equal(a[3].target, "my file%");
    dv_task_spec_free(s);
}

static void test_parsed_basename_escaped_refused(void **state)
{
    (void)state;
    /* "my file%" above is a bare path; a URL's escaped segment is not decoded. */
    dv_spec_error err;
    assert_null(parse(ART("{\"source\":\"http://h/a%20b\"}"), &err));
    assert_string_equal(err.field, "artifact[0].source");
}

static const struct {
    const char *json;
    const char *field;
    const char *message;
} cases[] = {
    {"{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\"},\"artifact\":{}}", "artifact",
     "artifact: expected an array, got an object"},
    {ART("\"x\""), "artifact[0]", "artifact[0]: expected an object, got a string"},
    {ART("{}"), "artifact[0].source", "artifact[0].source: source required"},
    {ART("{\"source\":\"http://h/x\",\"sourcee\":1}"), "artifact[0].sourcee", "unknown option"},
    {ART("{\"source\":\"http://h/x\",\"options\":{\"checksumm\":\"x\"}}"),
     "artifact[0].options.checksumm", "artifact[0].options.checksumm: unknown option"},
    {ART("{\"source\":\"s3://bucket/x\"}"), "artifact[0].source", "unsupported scheme \"s3\""},
    {ART("{\"source\":\"git::https://h/x\"}"), "artifact[0].source", "unsupported scheme"},
    {ART("{\"source\":\"github.com/x/y\"}"), "artifact[0].source",
     "neither an http(s) or file:// URL nor an absolute path"},
    {ART("{\"source\":\"file://host/x\"}"), "artifact[0].source", "not a local file URL"},
    {ART("{\"source\":\"http://h/x\\r\\nHost: y\"}"), "artifact[0].source", "control characters"},
    {ART("{\"source\":\"http://h/x\\u0000y\"}"), "artifact[0].source", ""},
    {ART("{\"source\":\"http://h\"}"), "artifact[0].source", "has no file name"},
    {ART("{\"source\":\"http://h/dir/\"}"), "artifact[0].source", "has no file name"},
    {ART("{\"source\":\"http://h/x\",\"destination\":\"/etc\"}"), "artifact[0].destination",
     "must be a path relative to the task directory"},
    {ART("{\"source\":\"http://h/x\",\"destination\":\"local/../../x\"}"),
     "artifact[0].destination", "escapes the task directory"},
    {ART("{\"source\":\"http://h/x\",\"destination\":\"..\"}"), "artifact[0].destination",
     "escapes the task directory"},
    {ART("{\"source\":\"http://h/x\",\"destination\":\"local/a\\u0000b\"}"),
     "artifact[0].destination", ""},
    {ART("{\"source\":\"http://h/x\",\"mode\":\"dir\"}"), "artifact[0].mode",
     "mode \"dir\" is not supported"},
    {ART("{\"source\":\"http://h/x\",\"mode\":\"copy\"}"), "artifact[0].mode", "invalid mode"},
    {ART("{\"source\":\"http://h/x\",\"mode\":\"file\"}"), "artifact[0].destination",
     "mode \"file\" needs the file's path"},
    {ART("{\"source\":\"http://h/x\",\"mode\":\"file\",\"destination\":\"local/\"}"),
     "artifact[0].destination", "needs the file's path"},
    {ART("{\"source\":\"http://h/x\",\"options\":{\"checksum\":\"sha256\"}}"),
     "artifact[0].options.checksum", "expected TYPE:HEX"},
    {ART("{\"source\":\"http://h/x\",\"options\":{\"checksum\":\"sha256:abc\"}}"),
     "artifact[0].options.checksum", "a sha256 checksum is 64 hex digits"},
    {ART("{\"source\":\"http://h/x\",\"options\":{\"checksum\":\"crc32:abcd\"}}"),
     "artifact[0].options.checksum", "unsupported checksum type \"crc32\""},
    {ART("{\"source\":\"http://h/x\",\"options\":{\"archive\":true}}"),
     "artifact[0].options.archive", "archives are not unpacked"},
    {ART("{\"source\":\"http://h/x\",\"headers\":{\"Bad Name\":\"v\"}}"),
     "artifact[0].headers.Bad Name", "invalid header name"},
    {ART("{\"source\":\"http://h/x\",\"headers\":{\"X\":\"a\\r\\nY: b\"}}"),
     "artifact[0].headers.X", "control characters"},
    {ART("{\"source\":\"http://h/x\"},{\"source\":\"https://g/x\"}"), "artifact[1].destination",
     "artifact[0] is saved as local/x already"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dv_spec_error err;
        dv_task_spec *s = parse(cases[i].json, &err);
        if (s)
            fail_msg("accepted: %s", cases[i].json);
        if (strcmp(err.field, cases[i].field) != 0 || !strstr(err.err.msg, cases[i].message))
            fail_msg("%s\n  got field \"%s\" message \"%s\"\n  want \"%s\", \"%s\"", cases[i].json,
                     err.field, err.err.msg, cases[i].field, cases[i].message);
        assert_null(strchr(err.err.msg, '\n'));
    }
}

static void check_policy(const char *agent, const char *spec_text, const char *field)
{
    _cleanup_json_ json_t *aj = json_loads(agent, 0, NULL);
    dv_agent_config config;
    dv_spec_error err;
    assert_int_equal(dv_agent_config_parse(aj, &config, &err), 0);
    dv_task_spec *spec = parse_ok(spec_text);
    dv_task_paths paths;
    assert_int_equal(dv_task_paths_build("/var/lib/dv", ID, "t", &paths, NULL), 0);
    for (int with_paths = 0; with_paths < 2; with_paths++) {
        dv_spec_error_clear(&err);
        int r = dv_policy_check(spec, &config, with_paths ? &paths : NULL, &err);
        if (!field) {
            if (r < 0)
                fail_msg("refused: %s", err.err.msg);
            continue;
        }
        assert_int_equal(r, -EPERM);
        assert_string_equal(err.field, field);
        assert_non_null(strstr(err.err.msg, "docker.volumes.enabled is false"));
    }
    dv_task_paths_clear(&paths);
    dv_task_spec_free(spec);
    dv_agent_config_clear(&config);
}

static void test_policy(void **state)
{
    (void)state;
    const char *off = "{\"data_dir\":\"/var/lib/dv\"}";
    const char *on = "{\"data_dir\":\"/var/lib/dv\",\"docker\":{\"volumes\":{\"enabled\":true}}}";
    check_policy(off, ART("{\"source\":\"https://h/x\"}"), NULL);
    check_policy(off, ART("{\"source\":\"http://h/x\"},{\"source\":\"file:///etc/passwd\"}"),
                 "artifact[1].source");
    check_policy(off, ART("{\"source\":\"/var/lib/dv/x\"}"), "artifact[0].source");
    check_policy(on, ART("{\"source\":\"file:///etc/hostname\"},{\"source\":\"/srv/x\"}"), NULL);
}

static void test_redact(void **state)
{
    (void)state;
    _cleanup_json_ json_t *j = json_loads(
        ART("{\"source\":\"http://h/x\",\"headers\":{\"Authorization\":\"Bearer s3cr3t\","
            "\"X-Anything\":\"v\"}}"),
        0, NULL);
    _cleanup_json_ json_t *r = dv_spec_redact(j);
    _cleanup_free_ char *text = json_dumps(r, 0);
    assert_null(strstr(text, "s3cr3t"));
    assert_null(strstr(text, "\"v\""));
    assert_non_null(strstr(text, "\"Authorization\": \"" DV_REDACTED "\""));
    assert_non_null(strstr(text, "\"source\": \"http://h/x\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parsed), cmocka_unit_test(test_parsed_basename_escaped_refused),
        cmocka_unit_test(test_errors), cmocka_unit_test(test_policy),
        cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
