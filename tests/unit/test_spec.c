/* Task spec parsing: defaults, every option, and redaction. Errors are in
 * test_spec_errors.c, ports in test_spec_ports.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "cleanup.h"
#include "duration.h"
#include "spec.h"

#define SEC DV_NSEC_PER_SEC

static dv_task_spec *parse_ok(const char *text)
{
    json_error_t jerr;
    _cleanup_json_ json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("bad test JSON: %s: %s", jerr.text, text);
    dv_task_spec *spec = NULL;
    dv_spec_error err;
    dv_spec_error_clear(&err);
    if (dv_spec_parse(j, &spec, &err) < 0)
        fail_msg("parse failed: %s", err.err.msg);
    return spec;
}

static void test_defaults(void **state)
{
    (void)state;
    dv_task_spec *s = parse_ok("{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\"}}");
    assert_string_equal(s->name, "t");
    assert_string_equal(s->config.image, "busybox:1");
    assert_int_equal(s->config.image_pull_timeout_ns, 0); /* the agent's default */
    assert_int_equal(s->resources.cpu, 100);
    assert_int_equal(s->resources.memory, 300);
    assert_int_equal(s->resources.memory_max, 0);
    assert_string_equal(s->network.mode, "bridge");
    assert_int_equal(s->network.n_ports, 0);
    assert_int_equal(s->kill_timeout_ns, 5 * SEC);
    assert_string_equal(s->kill_signal, "");
    assert_int_equal(s->kill_signo, 0);
    assert_int_equal(s->restart.attempts, 2);
    assert_int_equal(s->restart.interval_ns, 30 * 60 * SEC);
    assert_int_equal(s->restart.delay_ns, 15 * SEC);
    assert_int_equal(s->restart.mode, DV_RESTART_MODE_FAIL);
    assert_int_equal(s->logs.max_files, 10);
    assert_int_equal(s->logs.max_file_size, 10);
    assert_true(s->logs.file);
    assert_true(s->logs.journald);
    assert_false(s->logs.disabled);
    assert_int_equal(s->logs.journald_rate_limit_ns, 0); /* journald's own default */
    assert_int_equal(s->logs.journald_rate_limit_burst, 0);
    assert_null(s->user);
    assert_false(s->config.auth.set);
    assert_false(s->config.logging.set);
    assert_false(s->config.entrypoint_set);
    assert_false(s->config.oom_score_adj_set);
    assert_int_equal(s->config.n_mounts, 0);
    assert_int_equal(s->config.pids_limit, 0);
    dv_task_spec_free(s);
}

static const char *full_spec =
    "{\"name\":\"web-1.a\",\"config\":{"
    "\"image\":\"https://127.0.0.1:5000/dockvisor-test/payload:1\","
    "\"image_pull_timeout\":\"90s\",\"args\":[\"a\",\"b\"],"
    "\"auth\":{\"username\":\"u\",\"password\":\"p\",\"email\":\"e@x\",\"server_address\":\"r\"},"
    "\"auth_soft_fail\":true,\"command\":\"/payload\",\"cpuset_cpus\":\"0-1,3\","
    "\"dns_search_domains\":[\"example.com\"],\"dns_options\":[\"ndots:2\"],"
    "\"dns_servers\":[\"10.0.0.1\",\"fd00::1\"],\"entrypoint\":[],"
    "\"extra_hosts\":[\"db:10.0.0.2\",\"v6:fd00::2\",\"gw:host-gateway\"],\"force_pull\":true,"
    "\"healthchecks\":{\"disable\":true},\"hostname\":\"h\",\"init\":true,\"interactive\":true,"
    "\"sysctl\":{\"net.core.somaxconn\":\"16384\"},"
    "\"ulimit\":{\"nofile\":\"2048:4096\",\"nproc\":4242},\"privileged\":true,"
    "\"ipc_mode\":\"host\",\"ipv4_address\":\"172.30.0.5\",\"ipv6_address\":\"fd00::5\","
    "\"labels\":{\"a\":\"b\",\"n\":1},\"load\":\"img.tar\","
    "\"logging\":{\"type\":\"journald\",\"config\":{\"tag\":\"x\"}},"
    "\"mac_address\":\"02:42:ac:11:00:02\",\"memory_hard_limit\":512,"
    "\"network_aliases\":[\"w\"],\"network_mode\":\"mynet\",\"pid_mode\":\"host\","
    "\"ports\":[\"http\"],\"security_opt\":[\"no-new-privileges\"],\"shm_size\":67108864,"
    "\"storage_opt\":{\"size\":\"1G\"},\"SSL\":true,\"tty\":true,\"uts_mode\":\"host\","
    "\"userns_mode\":\"host\",\"volumes\":[\"d:/d\",\"/abs:/abs:ro,z\"],"
    "\"volume_driver\":\"local\",\"work_dir\":\"/w\","
    "\"mount\":{\"type\":\"bind\",\"target\":\"/b\",\"source\":\"rel\",\"readonly\":true,"
    "\"bind_options\":{\"propagation\":\"rshared\"}},"
    "\"mounts\":[{\"type\":\"volume\",\"target\":\"/v\",\"source\":\"vol\","
    "\"volume_options\":{\"no_copy\":true,\"labels\":{\"l\":\"1\"},"
    "\"driver_config\":{\"name\":\"pxd\",\"options\":{\"o\":\"2\"}}}},"
    "{\"type\":\"tmpfs\",\"target\":\"/t\",\"tmpfs_options\":{\"size\":100000,\"mode\":448}}],"
    "\"devices\":[{\"host_path\":\"/dev/null\",\"container_path\":\"/dev/n\","
    "\"cgroup_permissions\":\"r\"},{\"host_path\":\"/dev/zero\"}],"
    "\"cap_add\":[\"NET_ADMIN\",\"cap_sys_time\"],\"cap_drop\":[\"mknod\"],"
    "\"cpu_hard_limit\":true,\"cpu_cfs_period\":50000,\"advertise_ipv6_address\":true,"
    "\"readonly_rootfs\":true,\"runtime\":\"runc\",\"pids_limit\":64,"
    "\"group_add\":[\"audio\"],\"oom_score_adj\":-500},"
    "\"env\":{\"K\":\"v\",\"N\":3},\"user\":\"1000:1000\","
    "\"resources\":{\"cpu\":250,\"memory\":128,\"memory_max\":256},"
    "\"network\":{\"mode\":\"bridge\",\"ports\":{\"http\":{\"to\":80},\"admin\":{\"static\":9000}}}"
    ","
    "\"kill_timeout\":\"1m30s\",\"kill_signal\":\"SIGRTMIN+3\","
    "\"restart\":{\"attempts\":3,\"interval\":\"10m\",\"delay\":\"20s\",\"mode\":\"delay\"},"
    "\"logs\":{\"max_files\":3,\"max_file_size\":5,\"file\":true,\"journald\":false,"
    "\"disabled\":false,\"journald_rate_limit\":\"30s\",\"journald_rate_limit_burst\":500}}";

static void test_every_option(void **state)
{
    (void)state;
    dv_task_spec *s = parse_ok(full_spec);
    const dv_task_config *c = &s->config;
    assert_string_equal(c->image, "https://127.0.0.1:5000/dockvisor-test/payload:1");
    assert_int_equal(c->image_pull_timeout_ns, 90 * SEC);
    assert_int_equal(c->args.n, 2);
    assert_string_equal(c->args.v[1], "b");
    assert_true(c->auth.set);
    assert_string_equal(c->auth.username, "u");
    assert_string_equal(c->auth.password, "p");
    assert_string_equal(c->auth.email, "e@x");
    assert_string_equal(c->auth.server_address, "r");
    assert_true(c->auth_soft_fail);
    assert_string_equal(c->command, "/payload");
    assert_string_equal(c->cpuset_cpus, "0-1,3");
    assert_string_equal(c->dns_search_domains.v[0], "example.com");
    assert_string_equal(c->dns_options.v[0], "ndots:2");
    assert_int_equal(c->dns_servers.n, 2);
    assert_true(c->entrypoint_set);
    assert_int_equal(c->entrypoint.n, 0);
    assert_int_equal(c->extra_hosts.n, 3);
    assert_true(c->force_pull);
    assert_true(c->healthchecks_disable);
    assert_string_equal(c->hostname, "h");
    assert_true(c->init);
    assert_true(c->interactive);
    assert_string_equal(dv_kv_get(&c->sysctl, "net.core.somaxconn"), "16384");
    assert_int_equal(c->n_ulimits, 2);
    assert_string_equal(c->ulimits[0].name, "nofile");
    assert_int_equal(c->ulimits[0].soft, 2048);
    assert_int_equal(c->ulimits[0].hard, 4096);
    assert_string_equal(c->ulimits[1].name, "nproc");
    assert_int_equal(c->ulimits[1].soft, 4242);
    assert_int_equal(c->ulimits[1].hard, 4242);
    assert_true(c->privileged);
    assert_string_equal(c->ipc_mode, "host");
    assert_string_equal(c->ipv4_address, "172.30.0.5");
    assert_string_equal(c->ipv6_address, "fd00::5");
    assert_string_equal(dv_kv_get(&c->labels, "n"), "1");
    assert_string_equal(c->load, "img.tar");
    assert_true(c->logging.set);
    assert_string_equal(c->logging.type, "journald");
    assert_string_equal(dv_kv_get(&c->logging.config, "tag"), "x");
    assert_string_equal(c->mac_address, "02:42:ac:11:00:02");
    assert_int_equal(c->memory_hard_limit, 512);
    assert_string_equal(c->network_aliases.v[0], "w");
    assert_string_equal(c->network_mode, "mynet");
    assert_string_equal(c->pid_mode, "host");
    assert_string_equal(c->ports.v[0], "http");
    assert_string_equal(c->security_opt.v[0], "no-new-privileges");
    assert_int_equal(c->shm_size, 67108864);
    assert_string_equal(dv_kv_get(&c->storage_opt, "size"), "1G");
    assert_true(c->tty);
    assert_string_equal(c->uts_mode, "host");
    assert_string_equal(c->userns_mode, "host");
    assert_int_equal(c->volumes.n, 2);
    assert_string_equal(c->volume_driver, "local");
    assert_string_equal(c->work_dir, "/w");
    assert_int_equal(c->n_mounts, 3);
    assert_int_equal(c->mounts[0].type, DV_MOUNT_BIND);
    assert_string_equal(c->mounts[0].source, "rel");
    assert_true(c->mounts[0].readonly);
    assert_string_equal(c->mounts[0].bind_propagation, "rshared");
    assert_int_equal(c->mounts[1].type, DV_MOUNT_VOLUME);
    assert_true(c->mounts[1].volume_no_copy);
    assert_string_equal(dv_kv_get(&c->mounts[1].volume_labels, "l"), "1");
    assert_string_equal(c->mounts[1].volume_driver, "pxd");
    assert_string_equal(dv_kv_get(&c->mounts[1].volume_driver_options, "o"), "2");
    assert_int_equal(c->mounts[2].type, DV_MOUNT_TMPFS);
    assert_null(c->mounts[2].source);
    assert_int_equal(c->mounts[2].tmpfs_size, 100000);
    assert_int_equal(c->mounts[2].tmpfs_mode, 448);
    assert_int_equal(c->n_devices, 2);
    assert_string_equal(c->devices[0].cgroup_permissions, "r");
    assert_string_equal(c->devices[1].container_path, "/dev/zero");
    assert_string_equal(c->devices[1].cgroup_permissions, "rwm");
    assert_int_equal(c->cap_add.n, 2);
    assert_int_equal(c->cap_drop.n, 1);
    assert_true(c->cpu_hard_limit);
    assert_int_equal(c->cpu_cfs_period, 50000);
    assert_true(c->advertise_ipv6_address);
    assert_true(c->readonly_rootfs);
    assert_string_equal(c->runtime, "runc");
    assert_int_equal(c->pids_limit, 64);
    assert_string_equal(c->group_add.v[0], "audio");
    assert_true(c->oom_score_adj_set);
    assert_int_equal(c->oom_score_adj, -500);

    assert_string_equal(dv_kv_get(&s->env, "N"), "3");
    assert_string_equal(s->user, "1000:1000");
    assert_int_equal(s->resources.cpu, 250);
    assert_int_equal(s->resources.memory, 128);
    assert_int_equal(s->resources.memory_max, 256);
    assert_int_equal(s->network.n_ports, 2);
    assert_string_equal(s->network.ports[0].label, "http");
    assert_int_equal(s->network.ports[0].to, 80);
    assert_int_equal(s->network.ports[1].static_port, 9000);
    assert_int_equal(s->kill_timeout_ns, 90 * SEC);
    assert_string_equal(s->kill_signal, "SIGRTMIN+3");
    assert_int_equal(s->kill_signo, 37);
    assert_int_equal(s->restart.attempts, 3);
    assert_int_equal(s->restart.interval_ns, 600 * SEC);
    assert_int_equal(s->restart.delay_ns, 20 * SEC);
    assert_int_equal(s->restart.mode, DV_RESTART_MODE_DELAY);
    assert_int_equal(s->logs.max_files, 3);
    assert_int_equal(s->logs.max_file_size, 5);
    assert_false(s->logs.journald);
    assert_int_equal(s->logs.journald_rate_limit_ns, 30 * SEC);
    assert_int_equal(s->logs.journald_rate_limit_burst, 500);
    dv_task_spec_free(s);
}

static void test_partial_blocks_keep_defaults(void **state)
{
    (void)state;
    dv_task_spec *s = parse_ok(
        "{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\",\"mount\":[{\"target\":\"/v\"}]},"
        "\"restart\":{\"attempts\":0},\"logs\":{\"journald\":false},\"resources\":{\"cpu\":7},"
        "\"kill_signal\":\"term\",\"user\":\"\",\"network\":{\"ports\":{\"p\":{}}}}");
    assert_int_equal(s->restart.attempts, 0);
    assert_int_equal(s->restart.delay_ns, 15 * SEC); /* untouched keys keep Nomad's defaults */
    assert_int_equal(s->logs.max_files, 10);
    assert_false(s->logs.journald);
    assert_int_equal(s->resources.memory, 300);
    assert_string_equal(s->kill_signal, "SIGTERM");
    assert_int_equal(s->kill_signo, 15);
    assert_null(s->user);                                        /* "" = the image's user */
    assert_int_equal(s->config.mounts[0].type, DV_MOUNT_VOLUME); /* the docs' default type */
    assert_int_equal(s->network.ports[0].static_port, 0);
    assert_int_equal(s->network.ports[0].to, 0);
    dv_task_spec_free(s);
}

static void test_null_means_unset(void **state)
{
    (void)state;
    dv_task_spec *s =
        parse_ok("{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\",\"command\":null,"
                 "\"args\":null,\"labels\":null},\"env\":null,\"restart\":null}");
    assert_null(s->config.command);
    assert_int_equal(s->config.args.n, 0);
    assert_int_equal(s->restart.attempts, 2);
    dv_task_spec_free(s);
}

/* Nomad reads each ulimit with strconv.Atoi, so "-1" (Docker's and the
 * kernel's "unlimited") is a value, not an error; "N" alone sets both. */
static void test_ulimit_values(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        int64_t soft, hard;
    } cases[] = {
        {"\"4242\"", 4242, 4242}, {"\"2048:4096\"", 2048, 4096}, {"4242", 4242, 4242},
        {"\"-1\"", -1, -1},       {"\"-1:-1\"", -1, -1},         {"\"1024:-1\"", 1024, -1},
        {"\"0\"", 0, 0},          {"\"0:-1\"", 0, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        snprintf(
            text, sizeof(text),
            "{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\",\"ulimit\":{\"memlock\":%s}}}",
            cases[i].value);
        dv_task_spec *s = parse_ok(text);
        assert_int_equal(s->config.n_ulimits, 1);
        assert_string_equal(s->config.ulimits[0].name, "memlock");
        if (s->config.ulimits[0].soft != cases[i].soft ||
            s->config.ulimits[0].hard != cases[i].hard)
            fail_msg("ulimit %s: got %lld:%lld", cases[i].value,
                     (long long)s->config.ulimits[0].soft, (long long)s->config.ulimits[0].hard);
        dv_task_spec_free(s);
    }
}

/* Values the docs (or Nomad's code) accept that a stricter reading could
 * refuse: each must parse. */
static void test_accepted_values(void **state)
{
    (void)state;
    static const char *const specs[] = {
        /* Nomad: `if driverConfig.Command != ""`, so "" means no command */
        "{\"name\":\"t\",\"config\":{\"image\":\"b:1\",\"command\":\"\",\"args\":[\"x\"]}}",
        /* security_opt as Docker takes them */
        "{\"name\":\"t\",\"config\":{\"image\":\"b:1\",\"security_opt\":[\"no-new-privileges\","
        "\"no-new-privileges:true\",\"apparmor=unconfined\",\"label=disable\",\"label:type:svirt_"
        "t\","
        "\"seccomp=unconfined\",\"seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\"}\","
        "\"credentialspec=file://gmsaUser.json\"]}}",
        /* seccomp profiles by path, read by the agent at each start (as Nomad) */
        "{\"name\":\"t\",\"config\":{\"image\":\"b:1\",\"security_opt\":["
        "\"seccomp=/etc/docker/seccomp.json\",\"seccomp:local/profile.json\","
        "\"seccomp= ../alloc/p.json\"]}}",
        "{\"name\":\"t\",\"config\":{\"image\":\"b:1\",\"cpu_cfs_period\":1000}}",
        "{\"name\":\"t\",\"config\":{\"image\":\"b:1\",\"cpu_cfs_period\":0}}",
        "{\"name\":\"t\",\"config\":{\"image\":\"b:1\",\"mac_address\":\"02:42:ac:11:00:02\","
        "\"network_mode\":\"mynet\"}}",
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        dv_task_spec *s = parse_ok(specs[i]);
        if (i == 0)
            assert_null(s->config.command);
        dv_task_spec_free(s);
    }
}

static void test_deterministic(void **state)
{
    (void)state;
    /* The agent re-parses the stored JSON after a restart: same input, same struct. */
    dv_task_spec *a = parse_ok(full_spec), *b = parse_ok(full_spec);
    assert_int_equal(a->config.n_mounts, b->config.n_mounts);
    for (size_t i = 0; i < a->config.labels.n; i++)
        assert_string_equal(a->config.labels.v[i].key, b->config.labels.v[i].key);
    for (size_t i = 0; i < a->network.n_ports; i++)
        assert_string_equal(a->network.ports[i].label, b->network.ports[i].label);
    dv_task_spec_free(a);
    dv_task_spec_free(b);
}

static void test_redact(void **state)
{
    (void)state;
    _cleanup_json_ json_t *spec = json_loads(
        "{\"name\":\"t\",\"config\":{\"image\":\"x\",\"auth\":{\"username\":\"u\","
        "\"password\":\"hunter2\"},\"logging\":{\"type\":\"splunk\",\"config\":{"
        "\"splunk-token\":\"tok\",\"splunk-url\":\"https://s\",\"aws-secret-access-key\":\"k\"}}}}",
        0, NULL);
    assert_non_null(spec);
    _cleanup_json_ json_t *red = dv_spec_redact(spec);
    assert_non_null(red);
    _cleanup_free_ char *text = json_dumps(red, JSON_SORT_KEYS);
    assert_null(strstr(text, "hunter2"));
    assert_null(strstr(text, "\"tok\""));
    assert_null(strstr(text, "\"k\""));
    assert_non_null(strstr(text, "https://s"));
    assert_non_null(strstr(text, "\"username\": \"u\""));
    json_t *red_auth = json_object_get(json_object_get(red, "config"), "auth");
    assert_string_equal(json_string_value(json_object_get(red_auth, "password")), DV_REDACTED);
    /* the original is untouched */
    json_t *auth = json_object_get(json_object_get(spec, "config"), "auth");
    assert_string_equal(json_string_value(json_object_get(auth, "password")), "hunter2");
    /* garbage in: still a copy, nothing to redact */
    _cleanup_json_ json_t *odd = json_loads("{\"config\":[1,2]}", 0, NULL);
    _cleanup_json_ json_t *odd_red = dv_spec_redact(odd);
    assert_true(json_equal(odd, odd_red));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_option),
        cmocka_unit_test(test_partial_blocks_keep_defaults),
        cmocka_unit_test(test_null_means_unset),
        cmocka_unit_test(test_ulimit_values),
        cmocka_unit_test(test_accepted_values),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
