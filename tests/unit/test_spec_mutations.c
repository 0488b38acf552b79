/* Every value of a spec using every option, replaced in turn by values of
 * every other type: the parser either refuses with an error naming a field,
 * or accepts and the translation succeeds or refuses cleanly. Under the
 * sanitizers this walks each error path for leaks and bad frees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "agent_config.h"
#include "cleanup.h"
#include "spec.h"
#include "spec_ports.h"
#include "translate.h"

static const char *base_spec =
    "{\"name\":\"web\",\"config\":{"
    "\"image\":\"127.0.0.1:5000/dockvisor-test/payload:1\",\"image_pull_timeout\":\"90s\","
    "\"args\":[\"a\"],\"auth\":{\"username\":\"u\",\"password\":\"p\"},\"auth_soft_fail\":true,"
    "\"command\":\"/payload\",\"cpuset_cpus\":\"0\",\"dns_search_domains\":[\"x.y\"],"
    "\"dns_options\":[\"ndots:2\"],\"dns_servers\":[\"10.0.0.1\"],\"entrypoint\":[\"/e\"],"
    "\"extra_hosts\":[\"db:10.0.0.2\"],\"force_pull\":true,\"healthchecks\":{\"disable\":true},"
    "\"hostname\":\"h\",\"init\":true,\"interactive\":true,\"sysctl\":{\"net.core.somaxconn\":"
    "\"1\"},"
    "\"ulimit\":{\"nofile\":\"1:2\"},\"ipc_mode\":\"shareable\",\"labels\":{\"a\":\"b\"},"
    "\"load\":\"i.tar\",\"logging\":{\"type\":\"local\",\"config\":{\"k\":\"v\"}},"
    "\"mac_address\":\"02:42:ac:11:00:02\",\"memory_hard_limit\":512,\"network_mode\":\"n\","
    "\"network_aliases\":[\"w\"],\"ipv4_address\":\"10.9.0.2\",\"ports\":[\"http\"],"
    "\"security_opt\":[\"no-new-privileges\"],\"shm_size\":1024,\"storage_opt\":{\"size\":\"1G\"},"
    "\"tty\":true,\"volumes\":[\"d:/d:ro\"],\"volume_driver\":\"local\",\"work_dir\":\"/w\","
    "\"mount\":[{\"type\":\"bind\",\"target\":\"/b\",\"source\":\"s\",\"readonly\":true,"
    "\"bind_options\":{\"propagation\":\"rshared\"}},{\"type\":\"tmpfs\",\"target\":\"/t\","
    "\"tmpfs_options\":{\"size\":1,\"mode\":448}},{\"type\":\"volume\",\"target\":\"/v\","
    "\"volume_options\":{\"no_copy\":true,\"labels\":{\"l\":\"1\"}}}],"
    "\"devices\":[{\"host_path\":\"/dev/null\",\"container_path\":\"/dev/n\","
    "\"cgroup_permissions\":\"r\"}],\"cap_add\":[\"chown\"],\"cap_drop\":[\"mknod\"],"
    "\"cpu_hard_limit\":true,\"cpu_cfs_period\":50000,\"advertise_ipv6_address\":true,"
    "\"readonly_rootfs\":true,\"runtime\":\"runc\",\"pids_limit\":64,\"group_add\":[\"g\"],"
    "\"oom_score_adj\":5},"
    "\"env\":{\"K\":\"v\"},\"user\":\"u\",\"resources\":{\"cpu\":250,\"memory\":128,"
    "\"memory_max\":256},\"network\":{\"mode\":\"bridge\",\"ports\":{\"http\":{\"to\":80},"
    "\"admin\":{\"static\":9000}}},\"kill_timeout\":\"1m\",\"kill_signal\":\"SIGTERM\","
    "\"restart\":{\"attempts\":3,\"interval\":\"10m\",\"delay\":\"20s\",\"mode\":\"delay\"},"
    "\"logs\":{\"max_files\":3,\"max_file_size\":5,\"file\":true,\"journald\":false,"
    "\"disabled\":false}}";

static int accepted, refused, translated;

static void try_spec(const json_t *spec_json, const dv_agent_config *config)
{
    dv_task_spec *spec = NULL;
    dv_spec_error err;
    dv_spec_error_clear(&err);
    if (dv_spec_parse(spec_json, &spec, &err) < 0) {
        assert_null(spec);
        assert_true(err.err.code < 0);
        assert_non_null(err.err.msg[0] ? err.err.msg : NULL);
        assert_null(strchr(err.err.msg, '\n'));
        refused++;
        return;
    }
    accepted++;
    _cleanup_json_ json_t *body = NULL;
    if (dv_translate_preview(spec_json, config, NULL, &body, &err) == 0) {
        assert_true(json_is_object(body));
        translated++;
    } else {
        assert_null(body);
        assert_true(err.err.msg[0]);
    }
    _cleanup_json_ json_t *red = dv_spec_redact(spec_json);
    assert_non_null(red);
    dv_task_spec_free(spec);
}

/* Replace every scalar/array/object under NODE by each of REPLACEMENTS in turn. */
static void mutate(json_t *root, json_t *node, const dv_agent_config *config)
{
    /* null stands for "missing": the parsers treat both alike */
    static const char *const replacements[] = {"null", "1",    "-1",  "\"\"", "\"x\"",    "[]",
                                               "{}",   "true", "1.5", "[1]",  "{\"a\":1}"};
    if (json_is_object(node)) {
        const char *key;
        json_t *value;
        void *tmp;
        json_object_foreach_safe(node, tmp, key, value)
        {
            json_t *saved = json_incref(value);
            for (size_t i = 0; i < sizeof(replacements) / sizeof(replacements[0]); i++) {
                json_object_set_new(node, key, json_loads(replacements[i], JSON_DECODE_ANY, NULL));
                try_spec(root, config);
            }
            json_object_set_new(node, key, saved);
            mutate(root, saved, config);
        }
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++) {
            json_t *saved = json_incref(json_array_get(node, i));
            for (size_t r = 0; r < sizeof(replacements) / sizeof(replacements[0]); r++) {
                json_array_set_new(node, i, json_loads(replacements[r], JSON_DECODE_ANY, NULL));
                try_spec(root, config);
            }
            json_array_set_new(node, i, saved);
            mutate(root, saved, config);
        }
    }
}

static void test_mutations(void **state)
{
    (void)state;
    _cleanup_json_ json_t *root = json_loads(base_spec, 0, NULL);
    assert_non_null(root);
    dv_agent_config config;
    _cleanup_json_ json_t *aj =
        json_loads("{\"docker\":{\"volumes\":{\"enabled\":true},\"allow_caps\":[\"all\"],"
                   "\"allow_devices\":[\"/dev/null\"]}}",
                   0, NULL);
    assert_int_equal(dv_agent_config_parse(aj, &config, NULL), 0);
    try_spec(root, &config);
    assert_int_equal(translated, 1); /* the base spec itself is valid */
    mutate(root, root, &config);
    /* the walk really exercised both outcomes */
    assert_true(refused > 300);
    assert_true(accepted > 100);
    assert_true(translated > 100);
    dv_agent_config_clear(&config);
}

static void test_agent_config_mutations(void **state)
{
    (void)state;
    _cleanup_json_ json_t *root = json_loads(
        "{\"data_dir\":\"/d\",\"socket\":\"/s\",\"bind_address\":\"127.0.0.1\","
        "\"port_range\":\"1-2\",\"docker\":{\"endpoint\":\"unix:///x\",\"auth\":{\"config\":\"/c\","
        "\"helper\":\"h\"},\"tls\":{\"cert\":\"/c\",\"key\":\"/k\",\"ca\":\"/a\"},"
        "\"allow_privileged\":true,\"allow_caps\":[\"chown\"],\"allow_runtimes\":[\"runc\"],"
        "\"pull_activity_timeout\":\"2m\",\"pids_limit\":1,\"extra_labels\":[\"job_name\"],"
        "\"disable_log_collection\":true,\"logging\":{\"type\":\"local\",\"config\":{\"a\":\"b\"}},"
        "\"gc\":{\"image\":true,\"image_delay\":\"1m\",\"container\":true,\"dangling_containers\":"
        "{\"enabled\":true,\"dry_run\":true,\"period\":\"1m\",\"creation_grace\":\"1m\"}},"
        "\"volumes\":{\"enabled\":true,\"selinuxlabel\":\"z\"},\"infra_image\":\"i:1\","
        "\"infra_image_pull_timeout\":\"1m\"}}",
        0, NULL);
    assert_non_null(root);
    static const char *const replacements[] = {"null", "0", "\"\"", "\"x\"", "[]", "{}", "[1]"};
    int ok = 0, bad = 0;
    json_t *docker = json_object_get(root, "docker");
    json_t *objects[] = {root, docker, json_object_get(docker, "gc"),
                         json_object_get(docker, "tls"), json_object_get(docker, "logging")};
    for (size_t o = 0; o < sizeof(objects) / sizeof(objects[0]); o++) {
        const char *key;
        json_t *value;
        void *tmp;
        json_object_foreach_safe(objects[o], tmp, key, value)
        {
            json_t *saved = json_incref(value);
            for (size_t r = 0; r < sizeof(replacements) / sizeof(replacements[0]); r++) {
                json_object_set_new(objects[o], key,
                                    json_loads(replacements[r], JSON_DECODE_ANY, NULL));
                dv_agent_config c = {0};
                dv_spec_error err;
                if (dv_agent_config_parse(root, &c, &err) == 0) {
                    ok++;
                    dv_agent_config_clear(&c);
                } else {
                    assert_null(c.data_dir);
                    bad++;
                }
            }
            json_object_set_new(objects[o], key, saved);
        }
    }
    assert_true(ok > 10);
    assert_true(bad > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_agent_config_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
