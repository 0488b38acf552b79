/* Every validation error of the task spec: the field it names, the reason it
 * gives, and that it is one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "cleanup.h"
#include "spec.h"

/* A spec whose config block is the image plus X. */
#define CFG(x) "{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\"," x "}}"
/* 4096 characters: after a "/", a path longer than PATH_MAX allows. */
#define LONG_NAME_64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LONG_NAME_512                                                                              \
    LONG_NAME_64 LONG_NAME_64 LONG_NAME_64 LONG_NAME_64 LONG_NAME_64 LONG_NAME_64 LONG_NAME_64     \
        LONG_NAME_64
#define LONG_NAME                                                                                  \
    LONG_NAME_512 LONG_NAME_512 LONG_NAME_512 LONG_NAME_512 LONG_NAME_512 LONG_NAME_512            \
        LONG_NAME_512 LONG_NAME_512
/* A spec with the minimal config plus top-level keys X. */
#define TOP(x) "{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\"}," x "}"

static const struct {
    const char *json;
    const char *field;
    const char *message; /* the whole message, or a distinctive part of it */
} cases[] = {
    /* shape */
    {"[]", "", "the task spec must be a JSON object, got an array"},
    {"{\"name\":\"t\"}", "config.image", "config.image: image name required"},
    {"{\"name\":\"t\",\"config\":{}}", "config.image", "config.image: image name required"},
    {"{\"name\":\"t\",\"config\":{\"image\":\"\"}}", "config.image",
     "config.image: image name required"},
    {"{\"config\":{\"image\":\"busybox:1\"}}", "name", "name: task name required"},
    {"{\"name\":\"-x\",\"config\":{\"image\":\"busybox:1\"}}", "name", "invalid task name \"-x\""},
    {"{\"name\":\"a/b\",\"config\":{\"image\":\"busybox:1\"}}", "name", "invalid task name"},
    {"{\"name\":3,\"config\":{\"image\":\"busybox:1\"}}", "name",
     "name: expected a string, got an integer"},
    {TOP("\"nmae\":1"), "nmae", "nmae: unknown option (did you mean \"name\"?)"},
    {CFG("\"port_mapp\":{}"), "config.port_mapp",
     "config.port_mapp: unknown option (did you mean \"port_map\"?)"},
    {CFG("\"bogus\":1"), "config.bogus", "config.bogus: unknown option"},
    {CFG("\"auth\":{\"user\":\"x\"}"), "config.auth.user", "unknown option"},
    {CFG("\"args\":\"a b\""), "config.args",
     "config.args: expected an array of strings, got a string"},
    {CFG("\"args\":[\"a\",1]"), "config.args[1]",
     "config.args[1]: expected a string, got an integer"},
    {CFG("\"tty\":\"yes\""), "config.tty",
     "config.tty: expected a boolean (true or false), got a string"},
    {CFG("\"shm_size\":1.5"), "config.shm_size", "expected an integer, got a number"},
    {CFG("\"labels\":{\"a\":[1]}"), "config.labels.a", "expected a string, got an array"},
    {CFG("\"labels\":[\"a\"]"), "config.labels", "expected an object, got an array"},
    {CFG("\"image\":\"Busybox\""), "config.image", "repository name must be lowercase"},
    {CFG("\"image\":\"busybox:bad tag\""), "config.image", "invalid tag"},
    /* durations */
    {CFG("\"image_pull_timeout\":\"5\""), "config.image_pull_timeout",
     "config.image_pull_timeout: invalid duration \"5\": missing unit"},
    {CFG("\"image_pull_timeout\":300"), "config.image_pull_timeout", "expected a duration string"},
    {TOP("\"kill_timeout\":\"soon\""), "kill_timeout", "invalid duration \"soon\""},
    {TOP("\"kill_timeout\":\"-1s\""), "kill_timeout", "is below the minimum 0s"},
    {TOP("\"restart\":{\"interval\":\"1s\"}"), "restart.interval",
     "restart.interval: \"1s\" is below the minimum 5s"},
    /* ulimit */
    {CFG("\"ulimit\":{\"nofile\":\"\"}"), "config.ulimit.nofile",
     "config.ulimit.nofile: invalid ulimit \"\": cannot be empty"},
    {CFG("\"ulimit\":{\"nofile\":\"abc\"}"), "config.ulimit.nofile",
     "config.ulimit.nofile: invalid ulimit \"abc\": soft limit is not a number"},
    {CFG("\"ulimit\":{\"nofile\":\"1024:lots\"}"), "config.ulimit.nofile",
     "config.ulimit.nofile: invalid ulimit \"1024:lots\": hard limit is not a number"},
    {CFG("\"ulimit\":{\"nofile\":\":1024\"}"), "config.ulimit.nofile",
     "soft limit is not a number"},
    {CFG("\"ulimit\":{\"nofile\":\"-2\"}"), "config.ulimit.nofile",
     "config.ulimit.nofile: invalid ulimit \"-2\": soft limit -2 is negative (-1 means unlimited)"},
    {CFG("\"ulimit\":{\"nofile\":\"1:-5\"}"), "config.ulimit.nofile",
     "hard limit -5 is negative (-1 means unlimited)"},
    {CFG("\"ulimit\":{\"nofile\":\"--1\"}"), "config.ulimit.nofile", "soft limit is not a number"},
    {CFG("\"ulimit\":{\"nofile\":\"-\"}"), "config.ulimit.nofile", "soft limit is not a number"},
    {CFG("\"ulimit\":{\"memlock\":\"-1:4096\"}"), "config.ulimit.memlock",
     "soft limit unlimited is above the hard limit 4096"},
    {CFG("\"ulimit\":{\"nofile\":\"4096:2048\"}"), "config.ulimit.nofile",
     "soft limit 4096 is above the hard limit 2048"},
    {CFG("\"ulimit\":{\"files\":\"10\"}"), "config.ulimit.files", "unknown ulimit \"files\""},
    /* devices */
    {CFG("\"devices\":[{\"container_path\":\"/dev/x\"}]"), "config.devices[0].host_path",
     "config.devices[0].host_path: host path must be set for a device"},
    {CFG("\"devices\":[{\"host_path\":\"dev/x\"}]"), "config.devices[0].host_path",
     "not an absolute path"},
    {CFG("\"devices\":[{\"host_path\":\"/dev/null\",\"cgroup_permissions\":\"rwx\"}]"),
     "config.devices[0].cgroup_permissions", "invalid cgroup permissions \"rwx\""},
    {CFG("\"devices\":[{\"host_path\":\"/dev/null\",\"cgroup_permissions\":\"rr\"}]"),
     "config.devices[0].cgroup_permissions", "invalid cgroup permissions \"rr\""},
    {CFG("\"devices\":[{\"host_path\":\"/dev/null\",\"perms\":\"r\"}]"), "config.devices[0].perms",
     "unknown option"},
    {CFG("\"devices\":{}"), "config.devices", "expected an array of objects"},
    /* cpu */
    {CFG("\"cpu_cfs_period\":1000001"), "config.cpu_cfs_period",
     "config.cpu_cfs_period: 1000001 is outside 0..1000000"},
    {CFG("\"cpu_cfs_period\":-1"), "config.cpu_cfs_period", "-1 is outside 0..1000000"},
    {CFG("\"cpu_cfs_period\":999"), "config.cpu_cfs_period",
     "config.cpu_cfs_period: 999 is below Docker's minimum 1000 (0 means the default 100000)"},
    {CFG("\"cpu_cfs_period\":1"), "config.cpu_cfs_period", "1 is below Docker's minimum 1000"},
    {CFG("\"cpuset_cpus\":\"0-\""), "config.cpuset_cpus", "invalid CPU set \"0-\""},
    {CFG("\"cpuset_cpus\":\"3-1\""), "config.cpuset_cpus", "invalid CPU set"},
    /* command */
    {CFG("\"command\":\" /bin/sh\""), "config.command",
     "config.command: command contains extra white space: \" /bin/sh\""},
    {CFG("\"command\":\"/bin/sh \""), "config.command", "command contains extra white space"},
    {CFG("\"command\":\"  \""), "config.command", "command empty"},
    /* ports */
    {CFG("\"ports\":[\"http\"]"), "config.ports[0]",
     "config.ports[0]: port \"http\" not found, declare it in network.ports"},
    {"{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\",\"ports\":[\"a\",\"b\"]},"
     "\"network\":{\"ports\":{\"a\":{}}}}",
     "config.ports[1]", "port \"b\" not found"},
    {"{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\",\"ports\":[\"a\",\"a\"]},"
     "\"network\":{\"ports\":{\"a\":{}}}}",
     "config.ports[1]", "listed twice"},
    {"{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\",\"ports\":[\"a\"],\"port_map\":{\"a\":80}"
     "},"
     "\"network\":{\"ports\":{\"a\":{}}}}",
     "config.port_map", "cannot be combined with config.ports"},
    {"{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\",\"port_map\":{\"a\":80}},"
     "\"network\":{\"ports\":{\"a\":{\"to\":8080}}}}",
     "config.port_map", "cannot map group network ports: network.ports.a sets \"to\""},
    {"{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\",\"port_map\":{\"b\":80}},"
     "\"network\":{\"ports\":{\"a\":{}}}}",
     "config.port_map.b", "port \"b\" not found"},
    {CFG("\"port_map\":{\"a\":0}"), "config.port_map.a", "0 is outside 1..65535"},
    {CFG("\"port_map\":{\"a\":\"80\"}"), "config.port_map.a", "expected an integer, got a string"},
    {TOP("\"network\":{\"ports\":{\"a-b\":{}}}"), "network.ports.a-b", "invalid port label"},
    {TOP("\"network\":{\"ports\":{\"a\":{\"static\":70000}}}"), "network.ports.a.static",
     "70000 is outside 0..65535"},
    {TOP("\"network\":{\"ports\":{\"a\":{\"static\":80},\"b\":{\"static\":80}}}"),
     "network.ports.b.static", "port 80 is already used by \"a\""},
    {TOP("\"network\":{\"ports\":{\"a\":{\"host\":1}}}"), "network.ports.a.host", "unknown option"},
    {TOP("\"network\":{\"ports\":{\"a\":3}}"), "network.ports.a", "expected an object"},
    {TOP("\"network\":{\"mode\":\"cni/x\"}"), "network.mode", "invalid mode \"cni/x\""},
    {TOP("\"network\":{\"mode\":\"host\",\"ports\":{\"a\":{\"static\":8000,\"to\":80}}}"),
     "network.ports.a.to", "cannot map to another port in host network mode"},
    {"{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\",\"network_mode\":\"bridge\"},"
     "\"network\":{\"mode\":\"host\"}}",
     "config.network_mode", "\"bridge\" conflicts with network.mode \"host\""},
    {CFG("\"network_aliases\":[\"x\"]"), "config.network_aliases",
     "needs a user-defined network in config.network_mode (is \"bridge\")"},
    {CFG("\"ipv4_address\":\"172.20.0.2\",\"network_mode\":\"host\""), "config.ipv4_address",
     "needs a user-defined network"},
    {CFG("\"network_mode\":\"container:other\",\"hostname\":\"h\""), "config.hostname",
     "cannot be set with network mode \"container:other\""},
    {CFG("\"network_mode\":\"container:other\",\"dns_servers\":[\"1.1.1.1\"]"),
     "config.dns_servers", "cannot be set with network mode"},
    /* addresses */
    {CFG("\"dns_servers\":[\"8.8.8.8\",\"8.8.8\"]"), "config.dns_servers[1]",
     "config.dns_servers[1]: invalid IP address \"8.8.8\""},
    {CFG("\"extra_hosts\":[\"db\"]"), "config.extra_hosts[0]",
     "invalid extra host \"db\" (expected host:IP)"},
    {CFG("\"extra_hosts\":[\"db:nowhere\"]"), "config.extra_hosts[0]",
     "\"nowhere\" is not an IP address"},
    {CFG("\"mac_address\":\"02:42:ac:11:00\""), "config.mac_address", "invalid MAC address"},
    {CFG("\"mac_address\":\"02:42:ac:11:00:02\",\"network_mode\":\"host\""), "config.mac_address",
     "config.mac_address: cannot be set with network mode \"host\""},
    {"{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\",\"mac_address\":\"02:42:ac:11:00:02\"},"
     "\"network\":{\"mode\":\"host\"}}",
     "config.mac_address", "cannot be set with network mode \"host\""},
    {CFG("\"mac_address\":\"02:42:ac:11:00:02\",\"network_mode\":\"container:x\""),
     "config.mac_address", "cannot be set with network mode \"container:x\""},
    /* security_opt: Docker's own syntax check, and what a seccomp profile path must be */
    {CFG("\"security_opt\":[\"no-new-privileges\",\"bogus\"]"), "config.security_opt[1]",
     "config.security_opt[1]: invalid security option \"bogus\" (expected KEY=VALUE, KEY:VALUE "
     "or no-new-privileges)"},
    {CFG("\"security_opt\":[\"=x\"]"), "config.security_opt[0]", "invalid security option"},
    {CFG("\"security_opt\":[\"\"]"), "config.security_opt[0]", "invalid security option"},
    {CFG("\"security_opt\":[\"no-new-privileges\",\"seccomp=\"]"), "config.security_opt[1]",
     "config.security_opt[1]: seccomp needs a profile: a path, the profile itself (JSON) or "
     "\"unconfined\""},
    {CFG("\"security_opt\":[\"seccomp:  \"]"), "config.security_opt[0]", "seccomp needs a profile"},
    {CFG("\"security_opt\":[\"seccomp=/etc/a\\u0000b.json\"]"), "config.security_opt[0]",
     "config.security_opt[0]: contains a NUL character"},
    {CFG("\"security_opt\":[\"seccomp=/" LONG_NAME "\"]"), "config.security_opt[0]",
     "config.security_opt[0]: seccomp profile path is longer than 4095 bytes"},
    {CFG("\"ipv4_address\":\"fd00::1\",\"network_mode\":\"n\""), "config.ipv4_address",
     "invalid IPv4 address"},
    {CFG("\"ipv6_address\":\"10.0.0.1\",\"network_mode\":\"n\""), "config.ipv6_address",
     "invalid IPv6 address"},
    /* memory and cpu */
    {"{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\",\"memory_hard_limit\":100},"
     "\"resources\":{\"memory\":200}}",
     "resources.memory",
     "resources.memory: 200 MB is above the hard limit of 100 MB (config.memory_hard_limit)"},
    {TOP("\"resources\":{\"memory\":200,\"memory_max\":150}"), "resources.memory",
     "200 MB is above the hard limit of 150 MB (resources.memory_max)"},
    {"{\"name\":\"t\",\"config\":{\"image\":\"busybox:1\",\"memory_hard_limit\":500},"
     "\"resources\":{\"memory_max\":-1}}",
     "config.memory_hard_limit", "conflicts with resources.memory_max = -1"},
    {TOP("\"resources\":{\"memory\":5}"), "resources.memory", "5 is outside 10.."},
    {TOP("\"resources\":{\"memory_max\":-2}"), "resources.memory_max", "-2 is outside -1.."},
    {TOP("\"resources\":{\"cpu\":0}"), "resources.cpu", "0 is outside 1.."},
    {TOP("\"resources\":{\"cores\":2}"), "resources.cores", "unknown option"},
    {CFG("\"memory_hard_limit\":-5"), "config.memory_hard_limit", "-5 is outside 0.."},
    {CFG("\"oom_score_adj\":1001"), "config.oom_score_adj", "1001 is outside -1000..1000"},
    {CFG("\"pids_limit\":-1"), "config.pids_limit", "-1 is outside 0..4194304"},
    /* what the kernel takes for pids.max, not what an int64 holds */
    {CFG("\"pids_limit\":4194305"), "config.pids_limit", "4194305 is outside 0..4194304"},
    {CFG("\"pids_limit\":9223372036854775807"), "config.pids_limit", "is outside 0..4194304"},
    {CFG("\"shm_size\":9223372036854775807"), "config.shm_size",
     "9223372036854775807 is outside 0..1099511627776"},
    {CFG("\"shm_size\":-1"), "config.shm_size", "-1 is outside 0..1099511627776"},
    /* mounts and volumes */
    {CFG("\"mount\":[{\"type\":\"bind\",\"target\":\"/x\"}]"), "config.mount[0].source",
     "source required for a bind mount"},
    {CFG("\"mount\":{\"type\":\"bind\",\"source\":\"/x\"}"), "config.mount.target",
     "config.mount.target: target required"},
    {CFG("\"mount\":[{\"target\":\"x\"}]"), "config.mount[0].target",
     "\"x\" is not an absolute path"},
    {CFG("\"mount\":[{\"type\":\"tmpfs\",\"target\":\"/x\",\"source\":\"s\"}]"),
     "config.mount[0].source", "a tmpfs mount has no source"},
    {CFG("\"mount\":[{\"type\":\"nfs\",\"target\":\"/x\"}]"), "config.mount[0].type",
     "invalid mount type \"nfs\" (expected volume, bind or tmpfs)"},
    {CFG("\"mount\":[{\"type\":\"tmpfs\",\"target\":\"/x\",\"bind_options\":{}}]"),
     "config.mount[0].bind_options", "not allowed for a tmpfs mount"},
    {CFG("\"mount\":[{\"type\":\"bind\",\"target\":\"/x\",\"source\":\"/y\","
         "\"bind_options\":{\"propagation\":\"sideways\"}}]"),
     "config.mount[0].bind_options.propagation", "invalid propagation \"sideways\""},
    {CFG("\"mounts\":[{\"type\":\"tmpfs\",\"target\":\"/x\",\"tmpfs_options\":{\"size\":-1}}]"),
     "config.mounts[0].tmpfs_options.size", "-1 is below the minimum 0"},
    {CFG("\"mounts\":[{\"type\":\"volume\",\"target\":\"/x\","
         "\"volume_options\":{\"driver_config\":{\"nmae\":\"x\"}}}]"),
     "config.mounts[0].volume_options.driver_config.nmae", "did you mean \"name\"?"},
    {CFG("\"mounts\":{\"target\":\"/x\"}"), "config.mounts", "expected an array of objects"},
    {CFG("\"volumes\":[\"/a\"]"), "config.volumes[0]",
     "invalid volume \"/a\" (expected source:target[:options])"},
    {CFG("\"volumes\":[\"/a:b\"]"), "config.volumes[0]", "target \"b\" is not an absolute path"},
    {CFG("\"volumes\":[\"/a:/b:rx\"]"), "config.volumes[0]", "unknown option \"rx\""},
    {CFG("\"volumes\":[\"/a:/b:ro:z\"]"), "config.volumes[0]", "invalid volume"},
    {CFG("\"volumes\":[\":/b\"]"), "config.volumes[0]", "invalid volume"},
    /* other options */
    {CFG("\"cap_add\":[\"sys_tme\"]"), "config.cap_add[0]", "unknown capability \"sys_tme\""},
    {CFG("\"cap_drop\":[\"\"]"), "config.cap_drop[0]", "unknown capability \"\""},
    {CFG("\"work_dir\":\"w\""), "config.work_dir",
     "\"w\" is not an absolute path inside the container"},
    {CFG("\"load\":\"../x.tar\""), "config.load",
     "must be a path relative to the task's local directory"},
    {CFG("\"load\":\"/x.tar\""), "config.load", "must be a path relative"},
    {CFG("\"load\":\"a/../../x.tar\""), "config.load", "must be a path relative"},
    {CFG("\"ipc_mode\":\"bogus\""), "config.ipc_mode", "invalid mode \"bogus\""},
    {CFG("\"pid_mode\":\"private\""), "config.pid_mode", "invalid mode \"private\""},
    {CFG("\"uts_mode\":\"container:x\""), "config.uts_mode", "invalid mode"},
    {CFG("\"logging\":{\"drivr\":\"x\"}"), "config.logging.drivr", "unknown option"},
    /* driver is Nomad's older name of type: one of them, or both the same */
    {CFG("\"logging\":{\"type\":\"syslog\",\"driver\":\"x\"}"), "config.logging.driver",
     "conflicts with type"},
    {CFG("\"isolation\":\"hyperv\""), "config.isolation", "only meaningful on Windows"},
    {"{\"name\":\"t\",\"meta\":{\"a b\":\"1\"},\"config\":{\"image\":\"busybox:1\"}}", "meta.a b",
     "invalid key"},
    {CFG("\"healthchecks\":{\"disable\":1}"), "config.healthchecks.disable", "expected a boolean"},
    {CFG("\"sysctl\":{\"a=b\":\"1\"}"), "config.sysctl.a=b", "invalid sysctl name"},
    /* top level */
    {TOP("\"env\":{\"A=B\":\"1\"}"), "env.A=B", "variable names cannot contain '='"},
    {TOP("\"env\":{\"A\":{}}"), "env.A", "expected a string, got an object"},
    {TOP("\"kill_signal\":\"SIGBOGUS\""), "kill_signal",
     "kill_signal: unknown signal \"SIGBOGUS\""},
    {TOP("\"kill_signal\":\"99\""), "kill_signal", "unknown signal \"99\""},
    {TOP("\"restart\":{\"mode\":\"forever\"}"), "restart.mode",
     "invalid mode \"forever\" (expected fail or delay)"},
    {TOP("\"restart\":{\"attempts\":10,\"interval\":\"1m\",\"delay\":\"15s\"}"), "restart.attempts",
     "cannot restart 10 times in an interval of 1m0s with a delay of 15s"},
    {TOP("\"logs\":{\"max_files\":0}"), "logs.max_files", "0 is outside 1..100000"},
    {TOP("\"logs\":{\"max_file_size\":0}"), "logs.max_file_size", "is outside 1.."},
    {TOP("\"logs\":{\"rotate\":true}"), "logs.rotate", "unknown option"},
    {TOP("\"logs\":{\"journald_rate_limit\":\"soon\"}"), "logs.journald_rate_limit", "soon"},
    {TOP("\"logs\":{\"journald_rate_limit\":30}"), "logs.journald_rate_limit",
     "expected a duration string"},
    {TOP("\"logs\":{\"journald_rate_limit_burst\":-1}"), "logs.journald_rate_limit_burst",
     "-1 is outside 0..4294967295"},
    {TOP("\"logs\":{\"journald_rate_limit_burst\":\"50\"}"), "logs.journald_rate_limit_burst",
     "expected an integer"},
    {TOP("\"user\":5"), "user", "expected a string"},
};

static void test_errors(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t jerr;
        /* NULs allowed: the parser must refuse them itself (a caller may not be the API) */
        _cleanup_json_ json_t *j =
            json_loads(cases[i].json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!j) {
            fprintf(stderr, "case %zu: bad test JSON (%s): %s\n", i, jerr.text, cases[i].json);
            failures++;
            continue;
        }
        dv_task_spec *spec = NULL;
        dv_spec_error err;
        dv_spec_error_clear(&err);
        int r = dv_spec_parse(j, &spec, &err);
        if (r >= 0) {
            fprintf(stderr, "case %zu: accepted: %s\n", i, cases[i].json);
            dv_task_spec_free(spec);
            failures++;
            continue;
        }
        assert_null(spec); /* ret untouched */
        bool ok = r == err.err.code && r < 0 && strcmp(err.field, cases[i].field) == 0 &&
                  strstr(err.err.msg, cases[i].message) && !strchr(err.err.msg, '\n');
        /* the message starts with the field it names */
        if (ok && *cases[i].field)
            ok = strncmp(err.err.msg, cases[i].field, strlen(cases[i].field)) == 0 &&
                 err.err.msg[strlen(cases[i].field)] == ':';
        if (!ok) {
            fprintf(stderr,
                    "case %zu: %s\n  want field \"%s\", message containing \"%s\"\n"
                    "  got field \"%s\", message \"%s\"\n",
                    i, cases[i].json, cases[i].field, cases[i].message, err.field, err.err.msg);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* A NULL error pointer is allowed: only the code comes back. */
static void test_null_error(void **state)
{
    (void)state;
    _cleanup_json_ json_t *j = json_loads(CFG("\"tty\":1"), 0, NULL);
    dv_task_spec *spec = NULL;
    assert_int_equal(dv_spec_parse(j, &spec, NULL), -EINVAL);
    assert_int_equal(dv_spec_parse(NULL, &spec, NULL), -EINVAL);
    assert_null(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_null_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
