/* Policy: each refusal of the agent config, the capability computation, and
 * volume paths (and seccomp profile paths) inside, outside and escaping the
 * allocation directory. */
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
#include "policy.h"
#include "spec.h"

#define ID "6f1c3e9a-8d2b-4c5e-9f00-123456789abc"
#define CFG(x) "{\"name\":\"web\",\"config\":{\"image\":\"busybox:1\"" x "}}"

static dv_task_spec *spec_of(const char *text)
{
    _cleanup_json_ json_t *j = json_loads(text, 0, NULL);
    if (!j)
        fail_msg("bad test JSON: %s", text);
    dv_task_spec *spec = NULL;
    dv_spec_error err;
    if (dv_spec_parse(j, &spec, &err) < 0)
        fail_msg("parse failed: %s", err.err.msg);
    return spec;
}

static void config_of(const char *text, dv_agent_config *ret)
{
    _cleanup_json_ json_t *j = json_loads(text, 0, NULL);
    dv_spec_error err;
    if (!j || dv_agent_config_parse(j, ret, &err) < 0)
        fail_msg("agent config: %s", text);
}

/* Policy verdict for SPEC under AGENT: NULL field = allowed. */
static void expect(const char *agent, const char *spec_text, const char *field, const char *message)
{
    dv_agent_config config;
    config_of(agent, &config);
    dv_task_spec *spec = spec_of(spec_text);
    dv_task_paths paths;
    assert_int_equal(dv_task_paths_build("/var/lib/dv", ID, "web", &paths, NULL), 0);
    dv_spec_error err;
    dv_spec_error_clear(&err);
    int r = dv_policy_check(spec, &config, &paths, &err);
    if (!field && r < 0)
        fail_msg("refused: %s\n  spec %s\n  agent %s", err.err.msg, spec_text, agent);
    if (field) {
        if (r >= 0)
            fail_msg("allowed: spec %s\n  agent %s", spec_text, agent);
        assert_int_equal(r, -EPERM);
        if (strcmp(err.field, field) != 0 || !strstr(err.err.msg, message))
            fail_msg("got field \"%s\" message \"%s\"; want \"%s\", \"%s\"", err.field, err.err.msg,
                     field, message);
        assert_null(strchr(err.err.msg, '\n'));
    }
    dv_task_paths_clear(&paths);
    dv_task_spec_free(spec);
    dv_agent_config_clear(&config);
}

static void test_privileged(void **state)
{
    (void)state;
    expect("{}", CFG(",\"privileged\":true"), "config.privileged",
           "config.privileged: privileged containers are not allowed on this agent "
           "(docker.allow_privileged is false)");
    expect("{\"docker\":{\"allow_privileged\":true}}", CFG(",\"privileged\":true"), NULL, NULL);
    static const char *const modes[] = {"pid_mode", "ipc_mode", "uts_mode", "userns_mode"};
    for (size_t i = 0; i < 4; i++) {
        char spec[256], field[64];
        snprintf(spec, sizeof(spec), CFG(",\"%s\":\"host\""), modes[i]);
        snprintf(field, sizeof(field), "config.%s", modes[i]);
        expect("{}", spec, field, "host mode is not allowed on this agent");
        expect("{\"docker\":{\"allow_privileged\":true}}", spec, NULL, NULL);
    }
    expect("{}", CFG(",\"ipc_mode\":\"shareable\""), NULL, NULL);
    expect("{}", CFG(",\"ipc_mode\":\"private\""), NULL, NULL);
    /* The docs: ipc_mode naming an existing container needs allow_privileged
     * too; joining another container's PID namespace is no better. */
    static const char *const joins[] = {"ipc_mode", "pid_mode"};
    for (size_t i = 0; i < 2; i++) {
        char spec[256], field[64];
        snprintf(spec, sizeof(spec), CFG(",\"%s\":\"container:db\""), joins[i]);
        snprintf(field, sizeof(field), "config.%s", joins[i]);
        expect("{}", spec, field,
               "joining container \"db\"'s namespace is not allowed on this agent "
               "(docker.allow_privileged is false)");
        expect("{\"docker\":{\"allow_privileged\":true}}", spec, NULL, NULL);
    }
}

static void test_cap_add(void **state)
{
    (void)state;
    expect("{}", CFG(",\"cap_add\":[\"CHOWN\",\"sys_time\",\"CAP_NET_ADMIN\"]"), "config.cap_add",
           "config.cap_add: capabilities not allowed on this agent (docker.allow_caps): "
           "sys_time, net_admin");
    /* net_raw is not in the default list */
    expect("{}", CFG(",\"cap_add\":[\"net_raw\"]"), "config.cap_add",
           "(docker.allow_caps): net_raw");
    expect("{\"docker\":{\"allow_caps\":[\"SYS_TIME\",\"net_admin\"]}}",
           CFG(",\"cap_add\":[\"sys_time\",\"NET_ADMIN\"]"), NULL, NULL);
    expect("{\"docker\":{\"allow_caps\":[\"all\"]}}", CFG(",\"cap_add\":[\"sys_admin\"]"), NULL,
           NULL);
    expect("{}", CFG(",\"cap_add\":[\"all\"]"), "config.cap_add", "(docker.allow_caps): all");
    expect("{\"docker\":{\"allow_caps\":[\"ALL\"]}}", CFG(",\"cap_add\":[\"ALL\"]"), NULL, NULL);
    /* dropping is always fine */
    expect("{\"docker\":{\"allow_caps\":[\"chown\"]}}", CFG(",\"cap_drop\":[\"all\"]"), NULL, NULL);
}

static void caps(const char *agent, const char *spec_text, const char *want_add,
                 const char *want_drop)
{
    dv_agent_config config;
    config_of(agent, &config);
    dv_task_spec *spec = spec_of(spec_text);
    dv_strv add = {0}, drop = {0};
    assert_int_equal(dv_policy_caps(spec, &config, &add, &drop, NULL), 0);
    char got_add[512] = "", got_drop[512] = "";
    for (size_t i = 0; i < add.n; i++)
        snprintf(got_add + strlen(got_add), sizeof(got_add) - strlen(got_add), "%s%s", i ? "," : "",
                 add.v[i]);
    for (size_t i = 0; i < drop.n; i++)
        snprintf(got_drop + strlen(got_drop), sizeof(got_drop) - strlen(got_drop), "%s%s",
                 i ? "," : "", drop.v[i]);
    if (strcmp(got_add, want_add) != 0 || strcmp(got_drop, want_drop) != 0)
        fail_msg("spec %s agent %s:\n  add \"%s\" (want \"%s\")\n  drop \"%s\" (want \"%s\")",
                 spec_text, agent, got_add, want_add, got_drop, want_drop);
    dv_strv_free(&add);
    dv_strv_free(&drop);
    dv_task_spec_free(spec);
    dv_agent_config_clear(&config);
}

static void test_caps_computation(void **state)
{
    (void)state;
    /* Default policy: Docker's set minus NET_RAW. */
    caps("{}", CFG(""), "", "NET_RAW");
    caps("{}", CFG(",\"cap_drop\":[\"mknod\"]"), "", "MKNOD,NET_RAW");
    caps("{\"docker\":{\"allow_caps\":[\"net_raw\",\"chown\",\"kill\",\"setuid\",\"setgid\","
         "\"dac_override\",\"fsetid\",\"fowner\",\"mknod\",\"setfcap\",\"setpcap\","
         "\"net_bind_service\",\"sys_chroot\",\"audit_write\"]}}",
         CFG(""), "", "");
    caps("{\"docker\":{\"allow_caps\":[\"chown\",\"sys_time\"]}}",
         CFG(",\"cap_add\":[\"sys_time\"]"), "SYS_TIME",
         "DAC_OVERRIDE,FSETID,FOWNER,MKNOD,NET_RAW,SETGID,SETUID,SETFCAP,SETPCAP,"
         "NET_BIND_SERVICE,SYS_CHROOT,KILL,AUDIT_WRITE");
    caps("{}", CFG(",\"cap_drop\":[\"ALL\"],\"cap_add\":[\"chown\"]"), "",
         "DAC_OVERRIDE,FSETID,FOWNER,MKNOD,NET_RAW,SETGID,SETUID,SETFCAP,SETPCAP,"
         "NET_BIND_SERVICE,SYS_CHROOT,KILL,AUDIT_WRITE");
    /* allow all: the task's wishes as written */
    caps("{\"docker\":{\"allow_caps\":[\"all\"]}}",
         CFG(",\"cap_add\":[\"cap_sys_admin\",\"net_raw\"],\"cap_drop\":[\"mknod\"]"),
         "SYS_ADMIN,NET_RAW", "MKNOD");
    caps("{\"docker\":{\"allow_caps\":[\"all\"]}}", CFG(""), "", "");
}

static void test_runtime_and_pids(void **state)
{
    (void)state;
    expect("{}", CFG(",\"runtime\":\"runsc\""), "config.runtime",
           "config.runtime: runtime \"runsc\" is not allowed on this agent "
           "(docker.allow_runtimes: runc, nvidia)");
    expect("{}", CFG(",\"runtime\":\"nvidia\""), NULL, NULL);
    expect("{\"docker\":{\"allow_runtimes\":[\"runsc\"]}}", CFG(",\"runtime\":\"runsc\""), NULL,
           NULL);
    expect("{\"docker\":{\"allow_runtimes\":[]}}", CFG(",\"runtime\":\"runc\""), "config.runtime",
           "(docker.allow_runtimes: none)");
    expect("{\"docker\":{\"pids_limit\":100}}", CFG(",\"pids_limit\":101"), "config.pids_limit",
           "config.pids_limit: 101 is above this agent's limit of 100 (docker.pids_limit)");
    expect("{\"docker\":{\"pids_limit\":100}}", CFG(",\"pids_limit\":100"), NULL, NULL);
    expect("{}", CFG(",\"pids_limit\":100000"), NULL, NULL);
}

/* What Nomad passes on without allow_privileged but takes a task out of its
 * confinement: each behind its own switch, all allowed by allow_privileged. */
static void test_confinement(void **state)
{
    (void)state;
    const char *priv = "{\"docker\":{\"allow_privileged\":true}}";
    /* the host's network, from the task or from network.mode */
    expect("{}", CFG(",\"network_mode\":\"host\""), "config.network_mode",
           "config.network_mode: the host's network is not allowed on this agent "
           "(docker.allow_host_network is false)");
    const char *group_host = "{\"name\":\"web\",\"config\":{\"image\":\"busybox:1\"},"
                             "\"network\":{\"mode\":\"host\"}}";
    expect("{}", group_host, "network.mode", "(docker.allow_host_network is false)");
    expect("{\"docker\":{\"allow_host_network\":true}}", group_host, NULL, NULL);
    expect("{\"docker\":{\"allow_host_network\":true}}", CFG(",\"network_mode\":\"host\""), NULL,
           NULL);
    expect(priv, CFG(",\"network_mode\":\"host\""), NULL, NULL);
    expect("{}", CFG(",\"network_mode\":\"bridge\""), NULL, NULL);
    expect("{}", CFG(",\"network_mode\":\"mynet\""), NULL, NULL);
    /* another container's network namespace */
    expect("{\"docker\":{\"allow_host_network\":true}}", CFG(",\"network_mode\":\"container:db\""),
           "config.network_mode",
           "joining container \"db\"'s network namespace is not allowed on this agent "
           "(docker.allow_privileged is false)");
    expect(priv, CFG(",\"network_mode\":\"container:db\""), NULL, NULL);

    /* security options that switch a confinement off, in each spelling dockerd takes */
    static const char *const unconfined[] = {
        "seccomp=unconfined",
        "seccomp:unconfined",
        "apparmor=unconfined",
        "apparmor:unconfined",
        "label=disable",
        "label:disable",
        "disable",
        "systempaths=unconfined",
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(unconfined); i++) {
        char spec[256];
        snprintf(spec, sizeof(spec), CFG(",\"security_opt\":[\"no-new-privileges\",\"%s\"]"),
                 unconfined[i]);
        expect("{}", spec, "config.security_opt[1]", "(docker.allow_unconfined is false)");
        expect("{\"docker\":{\"allow_unconfined\":true}}", spec, NULL, NULL);
        expect(priv, spec, NULL, NULL);
    }
    expect("{}", CFG(",\"security_opt\":[\"seccomp=unconfined\"]"), "config.security_opt[0]",
           "\"seccomp=unconfined\" turns seccomp off, which is not allowed on this agent");
    expect("{}",
           CFG(",\"security_opt\":[\"no-new-privileges\",\"apparmor=docker-default\","
               "\"label=level:s0:c100,c200\",\"seccomp={\\\"defaultAction\\\":"
               "\\\"SCMP_ACT_ERRNO\\\"}\"]"),
           NULL, NULL);

    /* host devices: none by default; globs over the clean path (on disk: policy_host) */
    expect("{}", CFG(",\"devices\":[{\"host_path\":\"/dev/vda\"}]"), "config.devices[0]",
           "config.devices[0]: device \"/dev/vda\" is not allowed on this agent "
           "(docker.allow_devices: none)");
    const char *fuse = "{\"docker\":{\"allow_devices\":[\"/dev/fuse\",\"/dev/nvidia*\"]}}";
    expect(fuse,
           CFG(",\"devices\":[{\"host_path\":\"/dev/fuse\"},{\"host_path\":\"/dev/nvidia0\"}]"),
           NULL, NULL);
    expect(fuse, CFG(",\"devices\":[{\"host_path\":\"/dev/mem\"}]"), "config.devices[0]",
           "(docker.allow_devices: /dev/fuse, /dev/nvidia*)");
    expect(fuse, CFG(",\"devices\":[{\"host_path\":\"/dev/../etc/shadow\"}]"), "config.devices[0]",
           "device \"/dev/../etc/shadow\" (/etc/shadow) is not allowed");
    expect(fuse, CFG(",\"devices\":[{\"host_path\":\"/dev/nvidia0/../../etc/x\"}]"),
           "config.devices[0]", "(/etc/x) is not allowed");
    /* '*' does not cross '/' */
    expect("{\"docker\":{\"allow_devices\":[\"/dev/*\"]}}",
           CFG(",\"devices\":[{\"host_path\":\"/dev/disk/by-id/x\"}]"), "config.devices[0]",
           "is not allowed");
    expect(priv, CFG(",\"devices\":[{\"host_path\":\"/dev/vda\"}]"), NULL, NULL);
}

static void test_volumes_disabled(void **state)
{
    (void)state;
    const char *off = "{}";
    /* relative paths resolve in the task dir: inside the allocation dir */
    expect(off, CFG(",\"volumes\":[\"data:/data\",\"./x/../y:/y:ro\"]"), NULL, NULL);
    /* ../alloc is the shared alloc dir: still inside */
    expect(off, CFG(",\"volumes\":[\"../alloc/shared:/shared\"]"), NULL, NULL);
    /* absolute but inside the allocation dir */
    expect(off, CFG(",\"volumes\":[\"/var/lib/dv/tasks/" ID "/web/local/x:/x\"]"), NULL, NULL);
    /* escaping */
    expect(off, CFG(",\"volumes\":[\"../../x:/x\"]"), "config.volumes[0]",
           "config.volumes[0]: host path \"../../x\" escapes the task's allocation directory "
           "(docker.volumes.enabled is false)");
    expect(off, CFG(",\"volumes\":[\"data:/d\",\"a/../../../../etc:/etc2\"]"), "config.volumes[1]",
           "escapes the task's allocation directory");
    /* a sibling task's directory is outside too */
    expect(off, CFG(",\"volumes\":[\"../../" ID "x/web:/x\"]"), "config.volumes[0]", "escapes");
    /* absolute outside */
    expect(off, CFG(",\"volumes\":[\"/etc:/host-etc:ro\"]"), "config.volumes[0]",
           "host path \"/etc\" is outside the task's allocation directory");
    expect(off, CFG(",\"volumes\":[\"/var/lib/dv/tasks/" ID "/../other:/x\"]"), "config.volumes[0]",
           "is outside");
    /* volume drivers */
    expect(off, CFG(",\"volumes\":[\"vol:/v\"],\"volume_driver\":\"pxd\""), "config.volume_driver",
           "config.volume_driver: volume drivers are not allowed on this agent");
    expect(off, CFG(",\"volumes\":[\"vol:/v\"],\"volume_driver\":\"local\""), NULL, NULL);
    /* mounts */
    expect(off, CFG(",\"mount\":[{\"type\":\"volume\",\"target\":\"/v\",\"source\":\"named\"}]"),
           "config.mount[0]", "volume mounts (named or not) and volume drivers are not allowed");
    expect(off,
           CFG(",\"mount\":[{\"type\":\"volume\",\"target\":\"/v\",\"volume_options\":"
               "{\"driver_config\":{\"name\":\"pxd\"}}}]"),
           "config.mount[0]", "volume mounts (named or not) and volume drivers");
    /* an anonymous volume too, and the default type is volume (issue 14) */
    expect(off, CFG(",\"mount\":[{\"type\":\"volume\",\"target\":\"/v\"}]"), "config.mount[0]",
           "volume mounts (named or not)");
    expect(off, CFG(",\"mount\":[{\"target\":\"/v\"}]"), "config.mount[0]",
           "docker.volumes.enabled is false");
    expect(off, CFG(",\"mount\":[{\"type\":\"bind\",\"target\":\"/b\",\"source\":\"/srv\"}]"),
           "config.mount[0]", "bind source \"/srv\" is outside");
    expect(off,
           CFG(",\"mount\":[{\"type\":\"tmpfs\",\"target\":\"/t\"},{\"type\":\"bind\","
               "\"target\":\"/b\",\"source\":\"../../../..\"}]"),
           "config.mount[1]", "bind source \"../../../..\" escapes");
    expect(off, CFG(",\"mount\":[{\"type\":\"bind\",\"target\":\"/b\",\"source\":\"local/x\"}]"),
           NULL, NULL);
    expect(off, CFG(",\"mount\":[{\"type\":\"tmpfs\",\"target\":\"/t\"}]"), NULL, NULL);
}

static void test_volumes_enabled(void **state)
{
    (void)state;
    const char *on = "{\"docker\":{\"volumes\":{\"enabled\":true}}}";
    expect(on, CFG(",\"volumes\":[\"/etc:/host-etc:ro\",\"../../x:/x\"]"), NULL, NULL);
    expect(on, CFG(",\"volumes\":[\"vol:/v\"],\"volume_driver\":\"pxd\""), NULL, NULL);
    expect(on,
           CFG(",\"mount\":[{\"type\":\"volume\",\"target\":\"/v\",\"source\":\"named\"},"
               "{\"type\":\"bind\",\"target\":\"/b\",\"source\":\"/srv\"}]"),
           NULL, NULL);
}

/* seccomp=<path>: a host file the agent reads, held to the bind source rule. */
static void test_seccomp_profile_paths(void **state)
{
    (void)state;
    /* which options name a profile by path, in each spelling dockerd takes */
    static const struct {
        const char *opt, *path;
    } forms[] = {
        {"seccomp=/etc/p.json", "/etc/p.json"},
        {"seccomp:local/p.json", "local/p.json"},
        {"seccomp= ../alloc/p.json", "../alloc/p.json"},
        {"seccomp=", ""},
        {"seccomp=unconfined", NULL},
        {"seccomp: unconfined", NULL},
        {"seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}", NULL},
        {"seccomp= {}", NULL},
        {"seccompx=/p", NULL},
        {"apparmor=/p", NULL},
        {"seccomp", NULL},
        {"no-new-privileges", NULL},
        {"label=seccomp:x", NULL},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(forms); i++) {
        const char *got = dv_policy_seccomp_path(forms[i].opt);
        if (forms[i].path ? !got || strcmp(got, forms[i].path) != 0 : got != NULL)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", forms[i].opt, got ? got : "(null)",
                     forms[i].path ? forms[i].path : "(null)");
    }

    const char *off = "{}";
    expect(off, CFG(",\"security_opt\":[\"no-new-privileges\",\"seccomp=/etc/p.json\"]"),
           "config.security_opt[1]",
           "config.security_opt[1]: seccomp profile \"/etc/p.json\" is outside the task's "
           "allocation directory (docker.volumes.enabled is false)");
    expect(off, CFG(",\"security_opt\":[\"seccomp:../../x/p.json\"]"), "config.security_opt[0]",
           "seccomp profile \"../../x/p.json\" escapes the task's allocation directory");
    expect(off, CFG(",\"security_opt\":[\"seccomp=/var/lib/dv/tasks/" ID "/../p.json\"]"),
           "config.security_opt[0]", "is outside the task's allocation directory");
    /* inside it: relative to the task dir, as a volume, or absolute */
    expect(off, CFG(",\"security_opt\":[\"seccomp=local/p.json\",\"seccomp=../alloc/p.json\"]"),
           NULL, NULL);
    expect(off, CFG(",\"security_opt\":[\"seccomp=/var/lib/dv/tasks/" ID "/web/local/p.json\"]"),
           NULL, NULL);
    /* unconfined, and profiles given as JSON, are not paths */
    expect("{\"docker\":{\"allow_unconfined\":true}}",
           CFG(",\"security_opt\":[\"seccomp=unconfined\",\"seccomp={}\"]"), NULL, NULL);
    /* with volumes enabled the operator allowed host paths */
    expect("{\"docker\":{\"volumes\":{\"enabled\":true}}}",
           CFG(",\"security_opt\":[\"seccomp=/etc/p.json\",\"seccomp=../../p.json\"]"), NULL, NULL);
    /* unconfined is still the allow_unconfined rule, whatever the volumes */
    expect("{\"docker\":{\"volumes\":{\"enabled\":true}}}",
           CFG(",\"security_opt\":[\"seccomp=unconfined\"]"), "config.security_opt[0]",
           "(docker.allow_unconfined is false)");

    /* before the task has an id: an absolute host path is refused, a relative one is not */
    dv_agent_config config;
    config_of(off, &config);
    dv_spec_error err;
    dv_task_spec *abs = spec_of(CFG(",\"security_opt\":[\"seccomp=/etc/p.json\"]"));
    assert_int_equal(dv_policy_check(abs, &config, NULL, &err), -EPERM);
    assert_string_equal(err.field, "config.security_opt[0]");
    dv_task_spec *rel = spec_of(CFG(",\"security_opt\":[\"seccomp=local/p.json\"]"));
    assert_int_equal(dv_policy_check(rel, &config, NULL, &err), 0);
    dv_task_spec_free(abs);
    dv_task_spec_free(rel);
    dv_agent_config_clear(&config);
}

/* Before the task has an id, relative paths get the same answer and absolute
 * host paths are refused when volumes are disabled. */
static void test_without_paths(void **state)
{
    (void)state;
    dv_agent_config config;
    config_of("{}", &config);
    dv_spec_error err;
    dv_task_spec *ok = spec_of(CFG(",\"volumes\":[\"data:/d\"]"));
    assert_int_equal(dv_policy_check(ok, &config, NULL, &err), 0);
    dv_task_spec *esc = spec_of(CFG(",\"volumes\":[\"../../x:/d\"]"));
    assert_int_equal(dv_policy_check(esc, &config, NULL, &err), -EPERM);
    assert_string_equal(err.field, "config.volumes[0]");
    dv_task_spec *abs = spec_of(CFG(",\"volumes\":[\"/var/lib/dockvisor/tasks:/d\"]"));
    assert_int_equal(dv_policy_check(abs, &config, NULL, &err), -EPERM);
    dv_task_spec_free(ok);
    dv_task_spec_free(esc);
    dv_task_spec_free(abs);
    dv_agent_config_clear(&config);
}

static void test_paths(void **state)
{
    (void)state;
    dv_task_paths p;
    assert_int_equal(dv_task_paths_build("/var/lib/dockvisor/", ID, "web", &p, NULL), 0);
    assert_string_equal(p.task_root, "/var/lib/dockvisor/tasks/" ID);
    assert_string_equal(p.alloc_dir, "/var/lib/dockvisor/tasks/" ID "/alloc");
    assert_string_equal(p.logs_dir, "/var/lib/dockvisor/tasks/" ID "/alloc/logs");
    assert_string_equal(p.task_dir, "/var/lib/dockvisor/tasks/" ID "/web");
    assert_string_equal(p.local_dir, "/var/lib/dockvisor/tasks/" ID "/web/local");
    assert_string_equal(p.secrets_dir, "/var/lib/dockvisor/tasks/" ID "/web/secrets");
    _cleanup_free_ char *r = dv_policy_resolve_source(&p, "./a//b/../c");
    assert_string_equal(r, "/var/lib/dockvisor/tasks/" ID "/web/a/c");
    dv_task_paths_clear(&p);
    assert_int_equal(dv_task_paths_build("relative", ID, "web", &p, NULL), -EINVAL);
    assert_int_equal(dv_task_paths_build("/d", "../x", "web", &p, NULL), -EINVAL);
    assert_int_equal(dv_task_paths_build("/d", ID, "..", &p, NULL), -EINVAL);

    static const struct {
        const char *in, *out;
    } clean[] = {
        {"/", "/"},
        {"//a//b/", "/a/b"},
        {"/a/./b/..", "/a"},
        {"/../..", "/"},
        {"/a/../../b", "/b"},
        {"a/../..", ".."},
        {"", "."},
        {"../a/./../b", "../b"},
        {"a/b/../../..", ".."},
        {"../../x", "../../x"},
    };
    for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
        _cleanup_free_ char *c = dv_path_clean(clean[i].in);
        if (strcmp(c, clean[i].out) != 0)
            fail_msg("clean(\"%s\") = \"%s\", want \"%s\"", clean[i].in, c, clean[i].out);
    }
    assert_true(dv_path_is_inside("/a/b", "/a/b"));
    assert_true(dv_path_is_inside("/a/b/c", "/a/b/"));
    assert_false(dv_path_is_inside("/a/bc", "/a/b"));
    assert_false(dv_path_is_inside("/a", "/a/b"));
    assert_true(dv_path_is_inside("/x", "/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_privileged),
        cmocka_unit_test(test_cap_add),
        cmocka_unit_test(test_caps_computation),
        cmocka_unit_test(test_runtime_and_pids),
        cmocka_unit_test(test_volumes_disabled),
        cmocka_unit_test(test_volumes_enabled),
        cmocka_unit_test(test_confinement),
        cmocka_unit_test(test_without_paths),
        cmocka_unit_test(test_paths),
        /* seccomp=<path>: a host path like a bind source */
        cmocka_unit_test(test_seccomp_profile_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
