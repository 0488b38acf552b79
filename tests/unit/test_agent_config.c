/* The agent config: the docs' defaults, every option, errors, reload rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <errno.h>

#include "agent_config.h"
#include "cleanup.h"
#include "duration.h"
#include "test_support.h"

#define MIN (60 * DV_NSEC_PER_SEC)

static int parse(const char *text, dv_agent_config *ret, dv_spec_error *err)
{
    _cleanup_json_ json_t *j = json_loads(text, 0, NULL);
    if (!j)
        fail_msg("bad test JSON: %s", text);
    return dv_agent_config_parse(j, ret, err);
}

static void test_defaults(void **state)
{
    (void)state;
    dv_agent_config c;
    assert_int_equal(parse("{}", &c, NULL), 0);
    assert_string_equal(c.data_dir, "/var/lib/dockvisor");
    assert_string_equal(c.socket, "/run/dockvisor/dockvisor.sock");
    assert_string_equal(c.bind_address, "0.0.0.0");
    assert_int_equal(c.port_min, 20000);
    assert_int_equal(c.port_max, 32000);
    assert_int_equal(c.max_kill_timeout_ns, 30 * DV_NSEC_PER_SEC); /* Nomad's client default */
    assert_int_equal(c.max_exec_timeout_ns, 30 * MIN);
    assert_null(c.docker.endpoint);
    /* current Nomad's plugin options and the node's identity */
    assert_int_equal(c.docker.image_pull_timeout_ns, 5 * MIN);
    assert_int_equal(c.docker.container_exists_attempts, 5);
    assert_string_equal(c.docker.nvidia_runtime, "nvidia");
    assert_int_equal(c.docker.log_source, DV_LOG_SOURCE_AUTO);
    char host[256] = "";
    assert_int_equal(gethostname(host, sizeof(host)), 0);
    assert_string_equal(c.node.name, host);
    assert_string_equal(c.node.datacenter, "dc1");
    assert_string_equal(c.node.region, "global");
    assert_null(c.node.node_class);
    assert_int_equal(c.node.meta.n, 0);
    assert_null(c.docker.auth.config);
    assert_null(c.docker.auth.helper);
    assert_null(c.docker.tls.cert);
    assert_false(c.docker.allow_privileged);
    /* the docs' list: Docker's defaults without net_raw */
    static const char *const caps[] = {
        "audit_write",      "chown",   "dac_override", "fowner",  "fsetid", "kill",      "mknod",
        "net_bind_service", "setfcap", "setgid",       "setpcap", "setuid", "sys_chroot"};
    assert_int_equal(c.docker.allow_caps.n, 13);
    for (size_t i = 0; i < 13; i++)
        assert_true(dv_strv_contains(&c.docker.allow_caps, caps[i]));
    assert_false(dv_strv_contains(&c.docker.allow_caps, "net_raw"));
    assert_int_equal(c.docker.allow_runtimes.n, 2);
    assert_string_equal(c.docker.allow_runtimes.v[0], "runc");
    assert_string_equal(c.docker.allow_runtimes.v[1], "nvidia");
    assert_int_equal(c.docker.pull_activity_timeout_ns, 2 * MIN);
    assert_int_equal(c.docker.pids_limit, 0);
    /* out of confinement: nothing unless the operator says so */
    assert_false(c.docker.allow_host_network);
    assert_false(c.docker.allow_unconfined);
    assert_int_equal(c.docker.allow_devices.n, 0);
    assert_int_equal(c.docker.extra_labels.n, 0);
    assert_false(c.docker.disable_log_collection);
    assert_string_equal(c.docker.logging.type, "json-file");
    assert_int_equal(c.docker.logging.config.n, 2);
    assert_string_equal(dv_kv_get(&c.docker.logging.config, "max-file"), "2");
    assert_string_equal(dv_kv_get(&c.docker.logging.config, "max-size"), "2m");
    assert_true(c.docker.gc.image);
    assert_int_equal(c.docker.gc.image_delay_ns, 3 * MIN);
    assert_true(c.docker.gc.container);
    assert_true(c.docker.gc.dangling_containers.enabled);
    assert_false(c.docker.gc.dangling_containers.dry_run);
    assert_int_equal(c.docker.gc.dangling_containers.period_ns, 5 * MIN);
    assert_int_equal(c.docker.gc.dangling_containers.creation_grace_ns, 5 * MIN);
    assert_false(c.docker.volumes.enabled);
    assert_null(c.docker.volumes.selinuxlabel);
    assert_non_null(strstr(c.docker.infra_image, "gcr.io/google_containers/pause-"));
    assert_non_null(strstr(c.docker.infra_image, ":3.1"));
    assert_int_equal(c.docker.infra_image_pull_timeout_ns, 5 * MIN);

    /* defaults() gives the same as parsing {} */
    dv_agent_config d;
    assert_int_equal(dv_agent_config_defaults(&d, NULL), 0);
    assert_string_equal(d.docker.infra_image, c.docker.infra_image);
    assert_null(dv_agent_config_restart_field(&c, &d));
    dv_agent_config_clear(&d);
    dv_agent_config_clear(&c);
}

static void test_every_option(void **state)
{
    (void)state;
    dv_agent_config c;
    dv_spec_error err;
    int r = parse(
        "{\"data_dir\":\"/srv/dv\",\"socket\":\"/tmp/dv.sock\",\"bind_address\":\"127.0.0.1\","
        "\"port_range\":\"30000-30100\",\"max_kill_timeout\":\"2m\","
        "\"max_exec_timeout\":\"1h\",\"docker\":{"
        "\"endpoint\":\"tcp://10.0.0.1:2376\",\"auth\":{\"config\":\"/etc/docker-auth.json\","
        "\"helper\":\"ecr-login\"},\"tls\":{\"cert\":\"/c\",\"key\":\"/k\",\"ca\":\"/a\"},"
        "\"allow_privileged\":true,\"allow_caps\":[\"CHOWN\",\" net_raw\",\"cap_sys_time\","
        "\"chown\"],"
        "\"allow_runtimes\":[\"runc\",\"runsc\"],\"pull_activity_timeout\":\"90s\","
        "\"pids_limit\":100,\"extra_labels\":[\"job_name\",\"task*\"],"
        "\"disable_log_collection\":true,"
        "\"logging\":{\"type\":\"journald\",\"config\":{\"tag\":\"dv\"}},"
        "\"gc\":{\"image\":false,\"image_delay\":\"10m\",\"container\":false,"
        "\"dangling_containers\":{\"enabled\":false,\"dry_run\":true,\"period\":\"1m\","
        "\"creation_grace\":\"2m\"}},"
        "\"volumes\":{\"enabled\":true,\"selinuxlabel\":\"z\"},"
        "\"infra_image\":\"registry.local/pause:3.9\",\"infra_image_pull_timeout\":\"1m\","
        "\"image_pull_timeout\":\"7m\",\"container_exists_attempts\":9,"
        "\"nvidia_runtime\":\"nvidia-container\",\"log_source\":\"api\"},"
        "\"node\":{\"name\":\"n1\",\"datacenter\":\"eu-west\",\"region\":\"eu\","
        "\"node_class\":\"gpu\",\"meta\":{\"rack\":\"r7\",\"zone.id\":\"b\"}}}",
        &c, &err);
    if (r < 0)
        fail_msg("%s", err.err.msg);
    assert_string_equal(c.data_dir, "/srv/dv");
    assert_string_equal(c.socket, "/tmp/dv.sock");
    assert_string_equal(c.bind_address, "127.0.0.1");
    assert_int_equal(c.port_min, 30000);
    assert_int_equal(c.port_max, 30100);
    assert_int_equal(c.max_kill_timeout_ns, 2 * MIN);
    assert_int_equal(c.max_exec_timeout_ns, 60 * MIN);
    assert_string_equal(c.docker.endpoint, "tcp://10.0.0.1:2376");
    assert_string_equal(c.docker.auth.config, "/etc/docker-auth.json");
    assert_string_equal(c.docker.auth.helper, "ecr-login");
    assert_string_equal(c.docker.tls.ca, "/a");
    assert_true(c.docker.allow_privileged);
    assert_int_equal(c.docker.allow_caps.n, 3); /* normalized, deduplicated */
    assert_string_equal(c.docker.allow_caps.v[0], "chown");
    assert_string_equal(c.docker.allow_caps.v[1], "net_raw");
    assert_string_equal(c.docker.allow_caps.v[2], "sys_time");
    assert_true(dv_agent_config_cap_allowed(&c, "CAP_SYS_TIME"));
    assert_false(dv_agent_config_cap_allowed(&c, "kill"));
    assert_string_equal(c.docker.allow_runtimes.v[1], "runsc");
    assert_int_equal(c.docker.pull_activity_timeout_ns, 90 * DV_NSEC_PER_SEC);
    assert_int_equal(c.docker.pids_limit, 100);
    assert_int_equal(c.docker.extra_labels.n, 2);
    assert_true(c.docker.disable_log_collection);
    assert_string_equal(c.docker.logging.type, "journald");
    assert_int_equal(c.docker.logging.config.n, 1); /* replaces the default options */
    assert_false(c.docker.gc.image);
    assert_int_equal(c.docker.gc.image_delay_ns, 10 * MIN);
    assert_false(c.docker.gc.container);
    assert_false(c.docker.gc.dangling_containers.enabled);
    assert_true(c.docker.gc.dangling_containers.dry_run);
    assert_int_equal(c.docker.gc.dangling_containers.period_ns, MIN);
    assert_int_equal(c.docker.gc.dangling_containers.creation_grace_ns, 2 * MIN);
    assert_true(c.docker.volumes.enabled);
    assert_string_equal(c.docker.volumes.selinuxlabel, "z");
    assert_string_equal(c.docker.infra_image, "registry.local/pause:3.9");
    assert_int_equal(c.docker.image_pull_timeout_ns, 7 * MIN);
    assert_int_equal(c.docker.container_exists_attempts, 9);
    assert_int_equal(c.docker.log_source, DV_LOG_SOURCE_API);
    assert_string_equal(dv_log_source_name(c.docker.log_source), "api");
    assert_string_equal(c.docker.nvidia_runtime, "nvidia-container");
    assert_string_equal(c.node.name, "n1");
    assert_string_equal(c.node.datacenter, "eu-west");
    assert_string_equal(c.node.region, "eu");
    assert_string_equal(c.node.node_class, "gpu");
    assert_string_equal(dv_kv_get(&c.node.meta, "zone.id"), "b");
    assert_int_equal(c.docker.infra_image_pull_timeout_ns, MIN);
    dv_agent_config_clear(&c);

    /* A logging block replaces the default as a whole (Nomad's block
     * default): what it leaves out is Docker's default, not json-file's
     * max-file/max-size, which another driver would refuse. */
    static const struct {
        const char *json, *type; /* NULL type = dockerd's default driver */
        size_t n_options;
    } logging[] = {
        {"{\"docker\":{\"logging\":{\"type\":\"journald\"}}}", "journald", 0},
        {"{\"docker\":{\"logging\":{\"config\":{\"max-size\":\"9m\"}}}}", NULL, 1},
        {"{\"docker\":{\"logging\":{\"type\":\"\"}}}", NULL, 0},
        {"{\"docker\":{\"logging\":{}}}", NULL, 0},
        {"{\"docker\":{\"logging\":null}}", "json-file", 2},
        /* driver: Nomad's older name of type */
        {"{\"docker\":{\"logging\":{\"driver\":\"local\"}}}", "local", 0},
        {"{\"docker\":{\"logging\":{\"driver\":\"local\",\"type\":\"local\"}}}", "local", 0},
    };
    for (size_t i = 0; i < sizeof(logging) / sizeof(logging[0]); i++) {
        if (parse(logging[i].json, &c, &err) < 0)
            fail_msg("%s: %s", logging[i].json, err.err.msg);
        if (logging[i].type)
            assert_string_equal(c.docker.logging.type, logging[i].type);
        else
            assert_null(c.docker.logging.type);
        assert_int_equal(c.docker.logging.config.n, logging[i].n_options);
        dv_agent_config_clear(&c);
    }

    /* The docs: tls without endpoint "will be ignored" (DOCKER_HOST and its
     * DOCKER_TLS_VERIFY / DOCKER_CERT_PATH apply then). */
    assert_int_equal(
        parse("{\"docker\":{\"tls\":{\"cert\":\"/c\",\"key\":\"/k\",\"ca\":\"/a\"}}}", &c, NULL),
        0);
    assert_null(c.docker.tls.cert);
    assert_null(c.docker.tls.key);
    assert_null(c.docker.tls.ca);
    dv_agent_config_clear(&c);
    assert_int_equal(parse("{\"docker\":{\"tls\":{\"cert\":\"/c\"}}}", &c, NULL), 0);
    assert_null(c.docker.tls.cert);
    dv_agent_config_clear(&c);

    assert_int_equal(parse("{\"docker\":{\"allow_caps\":[\"ALL\"]}}", &c, NULL), 0);
    assert_true(dv_agent_config_cap_allowed(&c, "sys_admin"));
    dv_agent_config_clear(&c);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json, *field, *message;
    } cases[] = {
        {"[]", "", "the agent config must be a JSON object"},
        {"{\"datadir\":\"/x\"}", "datadir", "datadir: unknown option (did you mean \"data_dir\"?)"},
        {"{\"docker\":{\"alow_caps\":[]}}", "docker.alow_caps", "did you mean \"allow_caps\"?"},
        {"{\"docker\":{\"gc\":{\"dangling_containers\":{\"enable\":true}}}}",
         "docker.gc.dangling_containers.enable", "unknown option"},
        {"{\"data_dir\":\"rel\"}", "data_dir", "data_dir: \"rel\" is not an absolute path"},
        {"{\"docker\":{\"logging\":{\"type\":\"local\",\"driver\":\"syslog\"}}}",
         "docker.logging.driver", "conflicts with type \"local\""},
        {"{\"docker\":{\"windows_allow_insecure_container_admin\":true}}",
         "docker.windows_allow_insecure_container_admin", "only meaningful on Windows"},
        {"{\"docker\":{\"isolation\":\"hyperv\"}}", "docker.isolation",
         "only meaningful on Windows"},
        {"{\"docker\":{\"container_exists_attempts\":0}}", "docker.container_exists_attempts", ""},
        {"{\"telemetry\":{\"prometheus_adress\":\"127.0.0.1:9700\"}}",
         "telemetry.prometheus_adress", "unknown option"},
        {"{\"telemetry\":[]}", "telemetry", ""},
        {"{\"telemetry\":{\"prometheus_address\":9700}}", "telemetry.prometheus_address", ""},
        {"{\"telemetry\":{\"prometheus_address\":\"127.0.0.1\"}}", "telemetry.prometheus_address",
         "telemetry.prometheus_address: \"127.0.0.1\" is not IPv4:PORT or [IPv6]:PORT"},
        {"{\"telemetry\":{\"prometheus_address\":\"localhost:9700\"}}",
         "telemetry.prometheus_address", "is not IPv4:PORT"},
        {"{\"docker\":{\"nvidia_runtime\":\"\"}}", "docker.nvidia_runtime", "required"},
        {"{\"docker\":{\"log_source\":\"disk\"}}", "docker.log_source",
         "must be \"auto\", \"file\" or \"api\""},
        {"{\"docker\":{\"log_source\":1}}", "docker.log_source", ""},
        {"{\"node\":{\"datacenter\":\"\"}}", "node.datacenter", "must not be empty"},
        {"{\"node\":{\"meta\":{\"a b\":\"1\"}}}", "node.meta.a b", "invalid key"},
        {"{\"node\":{\"nmae\":\"x\"}}", "node.nmae", "did you mean \"name\"?"},
        {"{\"socket\":\"dv.sock\"}", "socket", "not an absolute path"},
        {"{\"bind_address\":\"localhost\"}", "bind_address", "invalid IP address \"localhost\""},
        {"{\"port_range\":\"20000\"}", "port_range", "invalid port range \"20000\""},
        {"{\"port_range\":\"300-200\"}", "port_range", "invalid port range"},
        {"{\"port_range\":\"0-10\"}", "port_range", "invalid port range"},
        {"{\"port_range\":\"1-70000\"}", "port_range", "invalid port range"},
        {"{\"port_range\":\"1-2x\"}", "port_range", "invalid port range"},
        {"{\"docker\":{\"pull_activity_timeout\":\"30s\"}}", "docker.pull_activity_timeout",
         "docker.pull_activity_timeout: \"30s\" is below the minimum 1m0s"},
        {"{\"docker\":{\"gc\":{\"image_delay\":\"3\"}}}", "docker.gc.image_delay",
         "invalid duration \"3\""},
        {"{\"docker\":{\"gc\":{\"image\":\"yes\"}}}", "docker.gc.image", "expected a boolean"},
        {"{\"docker\":{\"endpoint\":\"tcp://h:2376\",\"tls\":{\"cert\":\"/c\"}}}", "docker.tls",
         "cert, key and ca must be set together"},
        /* Nomad's danglingContainersCreationGraceMinimum */
        {"{\"docker\":{\"gc\":{\"dangling_containers\":{\"creation_grace\":\"59s\"}}}}",
         "docker.gc.dangling_containers.creation_grace", "\"59s\" is below the minimum 1m0s"},
        {"{\"docker\":{\"allow_caps\":[\"chown\",\"superpowers\"]}}", "docker.allow_caps[1]",
         "unknown capability \"superpowers\""},
        {"{\"docker\":{\"allow_runtimes\":\"runc\"}}", "docker.allow_runtimes",
         "expected an array of strings"},
        {"{\"docker\":{\"pids_limit\":-1}}", "docker.pids_limit", "-1 is outside 0..4194304"},
        {"{\"docker\":{\"pids_limit\":4194305}}", "docker.pids_limit", "outside 0..4194304"},
        {"{\"docker\":{\"allow_devices\":[\"/dev/fuse\",\"dev/sda\"]}}", "docker.allow_devices[1]",
         "\"dev/sda\" is not a clean absolute path glob"},
        {"{\"docker\":{\"allow_devices\":[\"/dev/../etc/*\"]}}", "docker.allow_devices[0]",
         "not a clean absolute path glob"},
        {"{\"docker\":{\"allow_devices\":[\"/dev/\"]}}", "docker.allow_devices[0]",
         "not a clean absolute path glob"},
        {"{\"docker\":{\"allow_host_network\":\"yes\"}}", "docker.allow_host_network", "expected"},
        {"{\"docker\":{\"extra_labels\":[\"job_name\",\"bogus*\"]}}", "docker.extra_labels[1]",
         "\"bogus*\" matches no label"},
        {"{\"docker\":{\"auth\":{\"helper\":\"docker-credential-pass\"}}}", "docker.auth.helper",
         "give only the suffix"},
        {"{\"docker\":{\"auth\":{\"helper\":\"/usr/bin/x\"}}}", "docker.auth.helper", "not a path"},
        {"{\"docker\":{\"logging\":{\"config\":{\"max-file\":[]}}}}",
         "docker.logging.config.max-file", "expected a string"},
        {"{\"docker\":{\"volumes\":{\"selinux\":\"z\"}}}", "docker.volumes.selinux",
         "did you mean \"selinuxlabel\"?"},
        {"{\"docker\":{\"infra_image\":\"\"}}", "docker.infra_image", "image name required"},
        {"{\"docker\":3}", "docker", "expected an object, got an integer"},
        {"{\"max_kill_timeout\":\"500ms\"}", "max_kill_timeout", "below the minimum 1s"},
        {"{\"max_exec_timeout\":\"x\"}", "max_exec_timeout", "invalid duration"},
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        _cleanup_json_ json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(j);
        dv_agent_config c = {0};
        dv_spec_error err;
        dv_spec_error_clear(&err);
        int r = dv_agent_config_parse(j, &c, &err);
        if (r >= 0 || strcmp(err.field, cases[i].field) != 0 ||
            !strstr(err.err.msg, cases[i].message)) {
            fprintf(stderr, "case %zu: %s: got r=%d field \"%s\" message \"%s\"\n", i,
                    cases[i].json, r, err.field, err.err.msg);
            failures++;
        }
        assert_null(c.data_dir); /* untouched on failure */
        if (r >= 0)
            dv_agent_config_clear(&c);
    }
    assert_int_equal(failures, 0);
}

/* extra_labels globs are go-glob's (Nomad's): '*' is the only wildcard. */
static void test_extra_label_globs(void **state)
{
    (void)state;
    static const struct {
        const char *glob, *name;
        bool match;
    } cases[] = {
        {"task*", "task_name", true},
        {"task*", "task_group_name", true},
        {"*", "node_id", true},
        {"*_id", "job_id", true},
        {"*_id", "job_name", false},
        {"node_*", "node_name", true},
        {"job_name", "job_name", true},
        {"job_name", "job_id", false},
        {"j*b*e", "job_name", true},
        {"job_?ame", "job_name", false},
        {"job_[n]ame", "job_name", false},
        {"job\\_name", "job_name", false},
        {"**name", "task_name", true},
        {"*name*", "namespace", true},
        {"", "job_name", false},
        {"task", "task_name", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (dv_extra_label_glob(cases[i].glob, cases[i].name) != cases[i].match)
            fail_msg("glob \"%s\" vs \"%s\": want %s", cases[i].glob, cases[i].name,
                     cases[i].match ? "match" : "no match");
    dv_agent_config c;
    dv_spec_error err;
    assert_int_equal(parse("{\"docker\":{\"extra_labels\":[\"job_?ame\"]}}", &c, &err), -EINVAL);
    assert_string_equal(err.field, "docker.extra_labels[0]");
}

static void test_load(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dv-agent-config");
    char path[512];
    snprintf(path, sizeof(path), "%s/agent.json", dir);

    dv_test_write_file(path, "{\"bind_address\":\"127.0.0.1\",\"docker\":{\"pids_limit\":7}}");
    dv_agent_config c;
    assert_int_equal(dv_agent_config_load(path, &c, NULL), 0);
    assert_int_equal(c.docker.pids_limit, 7);
    dv_agent_config_clear(&c);

    dv_spec_error err;
    dv_test_write_file(path, "{\"docker\":{\"gc\":{\"image\":1}}}");
    assert_int_equal(dv_agent_config_load(path, &c, &err), -EINVAL);
    assert_string_equal(err.field, "docker.gc.image");
    char want[600];
    snprintf(want, sizeof(want),
             "%s: docker.gc.image: expected a boolean (true or false), got "
             "an integer",
             path);
    assert_string_equal(err.err.msg, want);

    dv_test_write_file(path, "{\"data_dir\": \"/a\",\n \"data_dir\": \"/b\"}");
    assert_int_equal(dv_agent_config_load(path, &c, &err), -EINVAL);
    assert_non_null(strstr(err.err.msg, "duplicate object key"));

    dv_test_write_file(path, "{\"data_dir\": ");
    assert_int_equal(dv_agent_config_load(path, &c, &err), -EINVAL);
    assert_non_null(strstr(err.err.msg, "invalid JSON"));

    snprintf(path, sizeof(path), "%s/missing.json", dir);
    assert_int_equal(dv_agent_config_load(path, &c, &err), -ENOENT);

    /* the shipped example config is valid */
    snprintf(path, sizeof(path), "%s/systemd/agent.json", dv_test_env("DV_SOURCE_DIR", "."));
    if (dv_agent_config_load(path, &c, &err) < 0)
        fail_msg("%s", err.err.msg);
    dv_agent_config_clear(&c);
    dv_test_rm_rf(dir);
}

static void test_restart_field(void **state)
{
    (void)state;
    static const struct {
        const char *json, *field;
    } cases[] = {
        {"{\"docker\":{\"allow_privileged\":true,\"pids_limit\":5,\"gc\":{\"image\":false},"
         "\"auth\":{\"helper\":\"x\"},\"extra_labels\":[\"node_id\"],\"logging\":{\"type\":"
         "\"local\"},"
         "\"volumes\":{\"enabled\":true}},\"port_range\":\"1000-2000\"}",
         NULL},
        {"{\"data_dir\":\"/other\"}", "data_dir"},
        {"{\"socket\":\"/other.sock\"}", "socket"},
        {"{\"bind_address\":\"127.0.0.1\"}", "bind_address"},
        {"{\"telemetry\":{\"prometheus_address\":\"127.0.0.1:9700\"}}",
         "telemetry.prometheus_address"},
        {"{\"telemetry\":{\"prometheus_address\":\"\"}}", NULL}, /* "" is unset */
        {"{\"docker\":{\"endpoint\":\"unix:///x.sock\"}}", "docker.endpoint"},
        /* tls without endpoint is ignored: nothing to restart for */
        {"{\"docker\":{\"tls\":{\"cert\":\"/c\",\"key\":\"/k\",\"ca\":\"/a\"}}}", NULL},
    };
    dv_agent_config base;
    assert_int_equal(dv_agent_config_defaults(&base, NULL), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dv_agent_config next;
        assert_int_equal(parse(cases[i].json, &next, NULL), 0);
        const char *field = dv_agent_config_restart_field(&base, &next);
        if (cases[i].field)
            assert_string_equal(field, cases[i].field);
        else
            assert_null(field);
        dv_agent_config_clear(&next);
    }
    dv_agent_config_clear(&base);

    dv_agent_config a, b;
    assert_int_equal(parse("{\"docker\":{\"endpoint\":\"tcp://h:2376\"}}", &a, NULL), 0);
    assert_int_equal(parse("{\"docker\":{\"endpoint\":\"tcp://h:2376\",\"tls\":{\"cert\":\"/c\","
                           "\"key\":\"/k\",\"ca\":\"/a\"}}}",
                           &b, NULL),
                     0);
    assert_string_equal(dv_agent_config_restart_field(&a, &b), "docker.tls");
    dv_agent_config_clear(&a);
    dv_agent_config_clear(&b);
}

static void test_listen_address(void **state)
{
    (void)state;
    static const struct {
        const char *text, *host;
        int port;
    } good[] = {{"127.0.0.1:9700", "127.0.0.1", 9700},
                {"0.0.0.0:1", "0.0.0.0", 1},
                {"[::1]:65535", "::1", 65535},
                {"[fe80::1]:80", "fe80::1", 80}};
    for (size_t i = 0; i < DV_ARRAY_SIZE(good); i++) {
        char host[64];
        int port = 0;
        assert_int_equal(dv_listen_address_parse(good[i].text, host, sizeof(host), &port), 0);
        assert_string_equal(host, good[i].host);
        assert_int_equal(port, good[i].port);
    }
    static const char *const bad[] = {
        "127.0.0.1",        "127.0.0.1:",    ":9700",          "127.0.0.1:0",     "127.0.0.1:65536",
        "127.0.0.1:09",     "127.0.0.1:97a", "localhost:9700", "::1:9700",        "[::1]",
        "[127.0.0.1]:9700", "[]:80",         "1.2.3.4:+80",    "127.0.0.1:123456"};
    for (size_t i = 0; i < DV_ARRAY_SIZE(bad); i++) {
        char host[64] = "untouched";
        int port = -1;
        assert_int_equal(dv_listen_address_parse(bad[i], host, sizeof(host), &port), -EINVAL);
        assert_string_equal(host, "untouched");
        assert_int_equal(port, -1);
    }

    dv_agent_config c;
    assert_int_equal(parse("{\"telemetry\":{\"prometheus_address\":\"[::1]:9700\"}}", &c, NULL), 0);
    assert_string_equal(c.telemetry.prometheus_address, "[::1]:9700");
    dv_agent_config_clear(&c);
    assert_int_equal(parse("{}", &c, NULL), 0);
    assert_null(c.telemetry.prometheus_address);
    dv_agent_config_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),       cmocka_unit_test(test_every_option),
        cmocka_unit_test(test_errors),         cmocka_unit_test(test_load),
        cmocka_unit_test(test_restart_field),  cmocka_unit_test(test_extra_label_globs),
        cmocka_unit_test(test_listen_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
