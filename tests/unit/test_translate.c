/* Translation to the Engine create body: Nomad's semantics option by option. */
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
#include "labels.h"
#include "spec.h"
#include "spec_ports.h"
#include "policy.h"
#include "task_env.h"
#include "translate.h"

#define ID "6f1c3e9a-8d2b-4c5e-9f00-123456789abc"
#define NODE "0d6b1f3c-1111-4222-8333-444455556666"
#define ROOT "/var/lib/dv/tasks/" ID
#define MB (1024 * 1024)
#define CFG(x) "{\"name\":\"web\",\"config\":{\"image\":\"busybox:1\"" x

typedef struct tr {
    json_t *body;
    dv_spec_error err;
    int r;
} tr;

/* Translate SPEC under AGENT with ports allocated from 20000 up (as validate
 * does), 4 CPUs of 2000 MHz, and CTX_IMAGE as the resolved image (or NULL). */
static tr translate_with(const char *agent, const char *spec_text, const char *ctx_image,
                         const char *bind)
{
    tr t = {0};
    _cleanup_json_ json_t *aj = json_loads(agent, 0, NULL);
    _cleanup_json_ json_t *sj = json_loads(spec_text, 0, NULL);
    if (!aj || !sj)
        fail_msg("bad test JSON: %s / %s", agent, spec_text);
    dv_agent_config config;
    dv_spec_error err;
    if (dv_agent_config_parse(aj, &config, &err) < 0)
        fail_msg("agent config: %s", err.err.msg);
    free(config.node.name);
    config.node.name = strdup("node-a");
    dv_task_spec *spec = NULL;
    dv_spec_error_clear(&t.err);
    dv_kv attrs = {0};
    dv_kv_set(&attrs, "kernel.name", "linux");
    /* as the runner does: parsed once for its ports, then resolved against them */
    if (dv_spec_parse_for_task(sj, &config,
                               &(dv_translate_ctx){.task_id = ID, .node_id = NODE, .attrs = &attrs},
                               &spec, NULL, &t.err) < 0) {
        t.r = -EINVAL;
        dv_kv_free(&attrs);
        dv_agent_config_clear(&config);
        return t;
    }
    dv_task_paths paths;
    assert_int_equal(dv_task_paths_build("/var/lib/dv", ID, spec->name, &paths, NULL), 0);
    dv_port_request *reqs = NULL;
    dv_port_alloc *allocs = NULL;
    size_t n = 0;
    assert_int_equal(dv_spec_port_requests(spec, &reqs, &n, NULL), 0);
    assert_int_equal(dv_ports_placeholder(reqs, n, 20000, 20100, &allocs, NULL), 0);
    dv_translate_ctx ctx = {.task_id = ID,
                            .node_id = NODE,
                            .attrs = &attrs,
                            .paths = &paths,
                            .ports = allocs,
                            .n_ports = n,
                            .bind_address = bind,
                            .image = ctx_image,
                            .ncpus = 4,
                            .cpu_total_mhz = 8000};
    dv_task_spec *resolved = NULL;
    t.r = dv_spec_parse_for_task(sj, &config, &ctx, &resolved, NULL, &t.err);
    /* as every caller does: the policy first (once per submit), then the translation */
    if (t.r == 0)
        t.r = dv_policy_check(resolved, &config, &paths, &t.err);
    if (t.r == 0)
        t.r = dv_translate(resolved, &config, &ctx, &t.body, &t.err);
    dv_task_spec_free(resolved);
    free(allocs);
    free(reqs);
    dv_kv_free(&attrs);
    dv_task_paths_clear(&paths);
    dv_task_spec_free(spec);
    dv_agent_config_clear(&config);
    return t;
}

static json_t *translate_ok(const char *agent, const char *spec_text)
{
    tr t = translate_with(agent, spec_text, NULL, NULL);
    if (t.r < 0)
        fail_msg("translate failed: %s\n  spec %s", t.err.err.msg, spec_text);
    return t.body;
}

/* Walk keys (and "#N" array indexes) from ROOT; NULL if absent. */
static json_t *at(json_t *root, ...)
{
    va_list ap;
    va_start(ap, root);
    json_t *v = root;
    for (const char *k; v && (k = va_arg(ap, const char *));)
        v = k[0] == '#' ? json_array_get(v, (size_t)atoi(k + 1)) : json_object_get(v, k);
    va_end(ap);
    return v;
}

static json_int_t int_at(json_t *v)
{
    if (!json_is_integer(v))
        fail_msg("not an integer");
    return json_integer_value(v);
}

static void assert_json(json_t *got, const char *want_text)
{
    _cleanup_json_ json_t *want = json_loads(want_text, JSON_DECODE_ANY, NULL);
    assert_non_null(want);
    if (!json_equal(got, want)) {
        _cleanup_free_ char *g =
            got ? json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY) : strdup("(absent)");
        fail_msg("got %s\nwant %s", g, want_text);
    }
}

static bool env_has(json_t *body, const char *entry)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(body, "Env"), i, e)
    {
        if (strcmp(json_string_value(e), entry) == 0)
            return true;
    }
    return false;
}

static void test_container_name(void **state)
{
    (void)state;
    char buf[DV_CONTAINER_NAME_MAX];
    assert_int_equal(dv_container_name("web", ID, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "web-" ID);
    char small[10];
    assert_int_equal(dv_container_name("web", ID, small, sizeof(small)), -ENAMETOOLONG);
}

static void test_ports(void **state)
{
    (void)state;
    _cleanup_json_ json_t *b = translate_ok(
        "{}", CFG(",\"ports\":[\"http\",\"raw\",\"fixed\"]},"
                  "\"network\":{\"ports\":{\"http\":{\"to\":8080},\"raw\":{},"
                  "\"fixed\":{\"static\":5353,\"to\":53},\"unpublished\":{\"to\":9}}}}"));
    /* `to` set: container port = to; not set: the host port itself */
    assert_json(at(b, "HostConfig", "PortBindings", NULL),
                "{\"8080/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"20000\"}],"
                " \"8080/udp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"20000\"}],"
                " \"20001/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"20001\"}],"
                " \"20001/udp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"20001\"}],"
                " \"53/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"5353\"}],"
                " \"53/udp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"5353\"}]}");
    assert_json(at(b, "ExposedPorts", NULL),
                "{\"8080/tcp\":{},\"8080/udp\":{},\"20001/tcp\":{},\"20001/udp\":{},"
                "\"53/tcp\":{},\"53/udp\":{}}");
    /* env for every declared port, published or not */
    assert_true(env_has(b, "NOMAD_PORT_http=8080"));
    assert_true(env_has(b, "NOMAD_HOST_PORT_http=20000"));
    assert_true(env_has(b, "NOMAD_IP_http=127.0.0.1"));
    assert_true(env_has(b, "NOMAD_ADDR_http=127.0.0.1:20000"));
    assert_true(env_has(b, "NOMAD_PORT_raw=20001"));
    assert_true(env_has(b, "NOMAD_PORT_fixed=53"));
    assert_true(env_has(b, "NOMAD_HOST_PORT_fixed=5353"));
    assert_true(env_has(b, "NOMAD_PORT_unpublished=9"));
    assert_true(env_has(b, "NOMAD_HOST_PORT_unpublished=20002"));

    /* bind_address of the agent, and the context's override */
    json_decref(b);
    b = translate_ok("{\"bind_address\":\"127.0.0.1\"}",
                     CFG(",\"ports\":[\"http\"]},\"network\":{\"ports\":{\"http\":{}}}}"));
    assert_json(at(b, "HostConfig", "PortBindings", "20000/tcp", NULL),
                "[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"20000\"}]");
    tr t = translate_with(
        "{}", CFG(",\"ports\":[\"http\"]},\"network\":{\"ports\":{\"http\":{}}}}"), NULL, "::1");
    assert_int_equal(t.r, 0);
    assert_json(at(t.body, "HostConfig", "PortBindings", "20000/udp", NULL),
                "[{\"HostIp\":\"::1\",\"HostPort\":\"20000\"}]");
    assert_true(env_has(t.body, "NOMAD_ADDR_http=[::1]:20000"));
    json_decref(t.body);

    /* deprecated port_map: every port published, mapped */
    json_decref(b);
    b = translate_ok("{}", CFG(",\"port_map\":{\"db\":6379}},"
                               "\"network\":{\"ports\":{\"db\":{},\"web\":{\"static\":8000}}}}"));
    assert_json(at(b, "HostConfig", "PortBindings", "6379/tcp", NULL),
                "[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"20000\"}]");
    assert_json(at(b, "HostConfig", "PortBindings", "8000/udp", NULL),
                "[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8000\"}]");
    assert_true(env_has(b, "NOMAD_PORT_db=6379"));
}

static void test_no_bindings_without_own_network(void **state)
{
    (void)state;
    static const char *const specs[] = {
        CFG(",\"ports\":[\"p\"],\"network_mode\":\"container:other\"},"
            "\"network\":{\"ports\":{\"p\":{\"to\":80}}}}"),
        CFG(",\"ports\":[\"p\"]},\"network\":{\"mode\":\"host\",\"ports\":{\"p\":{}}}}"),
        CFG(",\"ports\":[\"p\"]},\"network\":{\"mode\":\"none\",\"ports\":{\"p\":{}}}}"),
    };
    /* joining another container's namespace, or the host's, takes the agent's leave */
    const char *allow = "{\"docker\":{\"allow_privileged\":true}}";
    for (size_t i = 0; i < 3; i++) {
        _cleanup_json_ json_t *b = translate_ok(allow, specs[i]);
        assert_null(at(b, "HostConfig", "PortBindings", NULL));
        assert_null(at(b, "ExposedPorts", NULL));
        assert_true(env_has(b, "NOMAD_HOST_PORT_p=20000"));
    }
    _cleanup_json_ json_t *b = translate_ok(allow, specs[0]);
    assert_json(at(b, "HostConfig", "NetworkMode", NULL), "\"container:other\"");
    /* in host mode the container listens on the host port itself */
    json_decref(b);
    b = translate_ok("{\"docker\":{\"allow_host_network\":true}}", specs[1]);
    assert_true(env_has(b, "NOMAD_PORT_p=20000"));
    assert_json(at(b, "HostConfig", "NetworkMode", NULL), "\"host\"");
}

static void test_labels(void **state)
{
    (void)state;
    _cleanup_json_ json_t *b = translate_ok(
        "{}", CFG(",\"labels\":{\"team\":\"a\",\"" DV_LABEL_TASK_ID "\":\"forged\","
                  "\"" DV_LABEL_NODE_ID "\":\"forged\",\"port\":\"${NOMAD_TASK_NAME}\","
                  "\"com.hashicorp.nomad.alloc_id\":\"forged\"}}}"));
    /* Nomad's "main mandatory label" com.hashicorp.nomad.alloc_id is on every
     * container, extra_labels or not, and a user label cannot replace it. */
    assert_json(at(b, "Labels", NULL),
                "{\"team\":\"a\",\"port\":\"web\",\"" DV_LABEL_TASK_ID "\":\"" ID "\","
                "\"" DV_LABEL_NODE_ID "\":\"" NODE "\",\"" DV_LABEL_TASK_NAME "\":\"web\","
                "\"com.hashicorp.nomad.alloc_id\":\"" ID "\"}");
    json_decref(b);
    b = translate_ok("{\"docker\":{\"extra_labels\":[\"task*\",\"node_*\"]}}",
                     CFG(",\"labels\":{\"com.hashicorp.nomad.task_name\":\"user\"}}}"));
    assert_json(at(b, "Labels", NULL),
                "{\"com.hashicorp.nomad.task_name\":\"web\","
                "\"" DV_LABEL_TASK_ID "\":\"" ID "\",\"" DV_LABEL_NODE_ID "\":\"" NODE "\","
                "\"" DV_LABEL_TASK_NAME "\":\"web\",\"com.hashicorp.nomad.alloc_id\":\"" ID "\","
                "\"com.hashicorp.nomad.task_group_name\":\"web\","
                "\"com.hashicorp.nomad.node_name\":\"node-a\","
                "\"com.hashicorp.nomad.node_id\":\"" NODE "\"}");
}

static void test_env(void **state)
{
    (void)state;
    _cleanup_json_ json_t *b =
        translate_ok("{\"node\":{\"meta\":{\"rack\":\"r1\"}}}",
                     CFG("},\"env\":{\"A\":\"1\",\"NOMAD_TASK_NAME\":\"forged\","
                         "\"WHERE\":\"${NOMAD_ALLOC_DIR}/x $${HOME} ${meta.rack} ${node.region} "
                         "${attr.kernel.name} ${env[\\\"NOMAD_SHORT_ALLOC_ID\\\"]}\"},"
                         "\"meta\":{\"team.name\":\"core\"},"
                         "\"resources\":{\"cpu\":250,\"memory\":64,\"memory_max\":128}}"));
    assert_json(at(b, "Env", NULL),
                "[\"A=1\",\"WHERE=/alloc/x ${HOME} r1 global linux 6f1c3e9a\","
                "\"NOMAD_TASK_NAME=web\",\"NOMAD_JOB_NAME=web\",\"NOMAD_JOB_ID=web\","
                "\"NOMAD_GROUP_NAME=web\",\"NOMAD_NAMESPACE=default\","
                "\"NOMAD_ALLOC_ID=" ID "\",\"NOMAD_SHORT_ALLOC_ID=6f1c3e9a\","
                "\"NOMAD_ALLOC_INDEX=0\",\"NOMAD_ALLOC_NAME=web.web[0]\","
                "\"NOMAD_ALLOC_DIR=/alloc\",\"NOMAD_TASK_DIR=/local\","
                "\"NOMAD_SECRETS_DIR=/secrets\",\"NOMAD_CPU_LIMIT=250\","
                "\"NOMAD_MEMORY_LIMIT=64\",\"NOMAD_MEMORY_MAX_LIMIT=128\",\"NOMAD_DC=dc1\","
                "\"NOMAD_REGION=global\",\"NOMAD_META_team_name=core\"]");

    /* NOMAD_MEMORY_MAX_LIMIT is Nomad's resources.memory_max, set only when
     * memory_max is: config.memory_hard_limit does not make it appear, nor
     * change its value. */
    static const struct {
        const char *spec, *want; /* NULL = absent */
    } cases[] = {
        {CFG(",\"memory_hard_limit\":512},\"resources\":{\"memory\":64}}"), NULL},
        {CFG(",\"memory_hard_limit\":2048},\"resources\":{\"memory\":64,\"memory_max\":1024}}"),
         "NOMAD_MEMORY_MAX_LIMIT=1024"},
        {CFG("},\"resources\":{\"memory\":64,\"memory_max\":-1}}"), NULL},
        {CFG("},\"resources\":{\"memory\":64}}"), NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_decref(b);
        b = translate_ok("{}", cases[i].spec);
        size_t k;
        json_t *e;
        const char *found = NULL;
        json_array_foreach(json_object_get(b, "Env"), k, e)
        {
            if (strncmp(json_string_value(e), "NOMAD_MEMORY_MAX_LIMIT=", 23) == 0)
                found = json_string_value(e);
        }
        if (cases[i].want ? !found || strcmp(found, cases[i].want) != 0 : found != NULL)
            fail_msg("spec %s: got %s, want %s", cases[i].spec, found ? found : "(absent)",
                     cases[i].want ? cases[i].want : "(absent)");
    }
}

static void test_memory(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int64_t memory, reservation, swap; /* -1 = absent */
    } cases[] = {
        /* soft only */
        {CFG("},\"resources\":{\"memory\":256}}"), 256, -1, 256},
        /* memory_hard_limit: hard, with the soft limit as reservation */
        {CFG(",\"memory_hard_limit\":512},\"resources\":{\"memory\":256}}"), 512, 256, 512},
        /* memory_max */
        {CFG("},\"resources\":{\"memory\":256,\"memory_max\":1024}}"), 1024, 256, 1024},
        /* the larger of the two */
        {CFG(",\"memory_hard_limit\":2048},\"resources\":{\"memory\":256,\"memory_max\":1024}}"),
         2048, 256, 2048},
        {CFG(",\"memory_hard_limit\":512},\"resources\":{\"memory\":256,\"memory_max\":1024}}"),
         1024, 256, 1024},
        /* -1: no hard limit at all */
        {CFG("},\"resources\":{\"memory\":256,\"memory_max\":-1}}"), -1, 256, -1},
        /* equal soft and hard */
        {CFG("},\"resources\":{\"memory\":256,\"memory_max\":256}}"), 256, 256, 256},
        /* defaults: 300 MB */
        {CFG("}}"), 300, -1, 300},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        _cleanup_json_ json_t *b = translate_ok("{}", cases[i].spec);
        json_t *host = at(b, "HostConfig", NULL);
        json_t *m = json_object_get(host, "Memory"),
               *r = json_object_get(host, "MemoryReservation"),
               *s = json_object_get(host, "MemorySwap");
        if (cases[i].memory < 0)
            assert_null(m);
        else
            assert_int_equal(int_at(m), cases[i].memory * MB);
        if (cases[i].reservation < 0)
            assert_null(r);
        else
            assert_int_equal(int_at(r), cases[i].reservation * MB);
        if (cases[i].swap < 0)
            assert_null(s);
        else
            assert_int_equal(int_at(s), cases[i].swap * MB);
    }
}

static void test_cpu(void **state)
{
    (void)state;
    _cleanup_json_ json_t *b = translate_ok("{}", CFG("},\"resources\":{\"cpu\":1}}"));
    assert_int_equal(int_at(at(b, "HostConfig", "CpuShares", NULL)), 2); /* Docker's minimum */
    assert_null(at(b, "HostConfig", "CpuQuota", NULL));
    json_decref(b);
    b = translate_ok("{}", CFG("},\"resources\":{\"cpu\":500}}"));
    assert_int_equal(int_at(at(b, "HostConfig", "CpuShares", NULL)), 500);
    json_decref(b);
    /* 500 MHz of 4 x 2000 MHz = a quarter core: 25000 us per 100000 us period */
    b = translate_ok("{}", CFG(",\"cpu_hard_limit\":true},\"resources\":{\"cpu\":500}}"));
    assert_int_equal(int_at(at(b, "HostConfig", "CpuPeriod", NULL)), 100000);
    assert_int_equal(int_at(at(b, "HostConfig", "CpuQuota", NULL)), 25000);
    json_decref(b);
    b = translate_ok("{}", CFG(",\"cpu_hard_limit\":true,\"cpu_cfs_period\":50000},"
                               "\"resources\":{\"cpu\":6000}}"));
    assert_int_equal(int_at(at(b, "HostConfig", "CpuPeriod", NULL)), 50000);
    assert_int_equal(int_at(at(b, "HostConfig", "CpuQuota", NULL)), 150000); /* 3 cores */
    json_decref(b);
    b = translate_ok("{}", CFG(",\"cpu_hard_limit\":true},\"resources\":{\"cpu\":1}}"));
    assert_int_equal(int_at(at(b, "HostConfig", "CpuQuota", NULL)), 1000); /* Docker's minimum */
    json_decref(b);
    b = translate_ok("{}", CFG(",\"cpuset_cpus\":\"0,1\"}}"));
    assert_json(at(b, "HostConfig", "CpusetCpus", NULL), "\"0,1\"");
}

static void test_binds_and_volumes(void **state)
{
    (void)state;
    _cleanup_json_ json_t *b =
        translate_ok("{}", CFG(",\"volumes\":[\"data:/data\",\"../alloc/x:/x:ro\"]}}"));
    assert_json(at(b, "HostConfig", "Binds", NULL),
                "[\"" ROOT "/alloc:/alloc\",\"" ROOT "/web/local:/local\","
                "\"" ROOT "/web/secrets:/secrets\",\"" ROOT "/alloc/logs:/alloc/logs:ro\","
                "\"" ROOT "/web/data:/data\",\"" ROOT "/alloc/x:/x:ro\"]");
    json_decref(b);
    b = translate_ok("{\"docker\":{\"volumes\":{\"enabled\":true,\"selinuxlabel\":\"z\"}}}",
                     CFG(",\"volumes\":[\"/srv:/srv\",\"/etc:/e:ro\"]}}"));
    assert_json(at(b, "HostConfig", "Binds", NULL),
                "[\"" ROOT "/alloc:/alloc:z\",\"" ROOT "/web/local:/local:z\","
                "\"" ROOT "/web/secrets:/secrets:z\",\"" ROOT "/alloc/logs:/alloc/logs:ro,z\","
                "\"/srv:/srv:z\",\"/etc:/e:ro,z\"]");
    json_decref(b);
    /* a volume driver takes the source as a volume name */
    b = translate_ok("{\"docker\":{\"volumes\":{\"enabled\":true}}}",
                     CFG(",\"volumes\":[\"myvol:/v\"],\"volume_driver\":\"pxd\"}}"));
    assert_json(at(b, "HostConfig", "Binds", "#4", NULL), "\"myvol:/v\"");
    assert_json(at(b, "HostConfig", "VolumeDriver", NULL), "\"pxd\"");
    /* refused by the policy check that precedes every translation */
    tr t = translate_with("{}", CFG(",\"volumes\":[\"/etc:/e\"]}}"), NULL, NULL);
    assert_int_equal(t.r, -EPERM);
    assert_null(t.body);
    assert_string_equal(t.err.field, "config.volumes[0]");
}

static void test_mounts(void **state)
{
    (void)state;
    _cleanup_json_ json_t *b = translate_ok(
        "{\"docker\":{\"volumes\":{\"enabled\":true}}}",
        CFG(",\"mount\":[{\"type\":\"bind\",\"target\":\"/b\",\"source\":\"rel/dir\","
            "\"readonly\":true,\"bind_options\":{\"propagation\":\"rslave\"}},"
            "{\"type\":\"volume\",\"target\":\"/v\",\"source\":\"vol\",\"volume_options\":"
            "{\"no_copy\":true,\"labels\":{\"a\":\"b\"},\"driver_config\":{\"name\":\"local\","
            "\"options\":{\"type\":\"tmpfs\"}}}},"
            "{\"type\":\"tmpfs\",\"target\":\"/t\",\"tmpfs_options\":{\"size\":100000,"
            "\"mode\":448}}],"
            "\"mounts\":[{\"target\":\"/anon\"}]}}"));
    assert_json(at(b, "HostConfig", "Mounts", NULL),
                "[{\"Type\":\"bind\",\"Target\":\"/b\",\"Source\":\"" ROOT "/web/rel/dir\","
                "\"ReadOnly\":true,\"BindOptions\":{\"Propagation\":\"rslave\"}},"
                "{\"Type\":\"volume\",\"Target\":\"/v\",\"Source\":\"vol\","
                "\"VolumeOptions\":{\"NoCopy\":true,\"Labels\":{\"a\":\"b\"},"
                "\"DriverConfig\":{\"Name\":\"local\",\"Options\":{\"type\":\"tmpfs\"}}}},"
                "{\"Type\":\"tmpfs\",\"Target\":\"/t\","
                "\"TmpfsOptions\":{\"SizeBytes\":100000,\"Mode\":448}},"
                "{\"Type\":\"volume\",\"Target\":\"/anon\"}]");
}

static void test_logging(void **state)
{
    (void)state;
    _cleanup_json_ json_t *b = translate_ok("{}", CFG("}}"));
    assert_json(at(b, "HostConfig", "LogConfig", NULL),
                "{\"Type\":\"json-file\",\"Config\":{\"max-file\":\"2\",\"max-size\":\"2m\"}}");
    json_decref(b);
    b = translate_ok(
        "{\"docker\":{\"logging\":{\"type\":\"local\",\"config\":{\"max-size\":\"5m\"}}}}",
        CFG("}}"));
    assert_json(at(b, "HostConfig", "LogConfig", NULL),
                "{\"Type\":\"local\",\"Config\":{\"max-size\":\"5m\"}}");
    json_decref(b);
    /* the task's block replaces the agent's default entirely */
    b = translate_ok("{}",
                     CFG(",\"logging\":{\"type\":\"journald\",\"config\":{\"tag\":\"t\"}}}}"));
    assert_json(at(b, "HostConfig", "LogConfig", NULL),
                "{\"Type\":\"journald\",\"Config\":{\"tag\":\"t\"}}");
    json_decref(b);
    b = translate_ok("{}", CFG(",\"logging\":{\"type\":\"journald\"}}}"));
    assert_json(at(b, "HostConfig", "LogConfig", NULL), "{\"Type\":\"journald\",\"Config\":{}}");
    json_decref(b);
    /* options only: as Nomad, no type, so dockerd's own default driver takes
     * them (the agent's driver may not know these options) */
    b = translate_ok("{\"docker\":{\"logging\":{\"type\":\"journald\"}}}",
                     CFG(",\"logging\":{\"config\":{\"max-file\":\"9\"}}}}"));
    assert_json(at(b, "HostConfig", "LogConfig", NULL), "{\"Config\":{\"max-file\":\"9\"}}");
    json_decref(b);
    /* an agent logging block without config has no options: the defaults
     * max-file/max-size are for json-file only and journald would refuse them */
    b = translate_ok("{\"docker\":{\"logging\":{\"type\":\"journald\"}}}", CFG("}}"));
    assert_json(at(b, "HostConfig", "LogConfig", NULL), "{\"Type\":\"journald\",\"Config\":{}}");
    json_decref(b);
    b = translate_ok("{\"docker\":{\"logging\":{\"config\":{\"max-size\":\"9m\"}}}}", CFG("}}"));
    assert_json(at(b, "HostConfig", "LogConfig", NULL), "{\"Config\":{\"max-size\":\"9m\"}}");
    json_decref(b);
    /* an empty task block says nothing: the agent's default */
    b = translate_ok("{}", CFG(",\"logging\":{}}}"));
    assert_json(at(b, "HostConfig", "LogConfig", NULL),
                "{\"Type\":\"json-file\",\"Config\":{\"max-file\":\"2\",\"max-size\":\"2m\"}}");
}

static void test_command_and_image(void **state)
{
    (void)state;
    _cleanup_json_ json_t *b = translate_ok(
        "{}",
        CFG(",\"command\":\"/bin/${NOMAD_TASK_NAME}\",\"args\":[\"-p\",\"${NOMAD_PORT_http}\"],"
            "\"entrypoint\":[]},\"network\":{\"ports\":{\"http\":{\"to\":80}}}}"));
    assert_json(at(b, "Cmd", NULL), "[\"/bin/web\",\"-p\",\"80\"]");
    assert_json(at(b, "Entrypoint", NULL), "[]"); /* [] clears the image's entrypoint */
    assert_json(at(b, "Image", NULL), "\"busybox:1\"");
    json_decref(b);
    b = translate_ok("{}", "{\"name\":\"web\",\"config\":{\"image\":\"https://reg.local/app\","
                           "\"args\":[\"x\"],\"entrypoint\":[\"/sh\",\"-c\"]}}");
    assert_json(at(b, "Cmd", NULL), "[\"x\"]");
    assert_json(at(b, "Entrypoint", NULL), "[\"/sh\",\"-c\"]");
    assert_json(at(b, "Image", NULL), "\"reg.local/app:latest\"");
    json_decref(b);
    b = translate_ok("{}", CFG("}}"));
    assert_null(at(b, "Cmd", NULL));
    assert_null(at(b, "Entrypoint", NULL)); /* absent: the image's */
    tr t = translate_with("{}", CFG("}}"), "sha256:abcd", NULL);
    assert_json(at(t.body, "Image", NULL), "\"sha256:abcd\"");
    json_decref(t.body);

    /* Nomad interpolates the strings of the config block; besides the above
     * the commonly used ones: hostname, work_dir, logging options (tag) */
    json_decref(b);
    b = translate_ok(
        "{}", CFG(",\"hostname\":\"${NOMAD_TASK_NAME}-h\","
                  "\"work_dir\":\"${NOMAD_TASK_DIR}/app\",\"logging\":{\"type\":"
                  "\"journald\",\"config\":{\"tag\":\"${NOMAD_TASK_NAME}/${NOMAD_ALLOC_ID}\"}}}}"));
    assert_json(at(b, "Hostname", NULL), "\"web-h\"");
    assert_json(at(b, "WorkingDir", NULL), "\"/local/app\"");
    assert_json(at(b, "HostConfig", "LogConfig", "Config", "tag", NULL), "\"web/" ID "\"");
    json_decref(b);
    b = translate_ok(
        "{\"docker\":{\"logging\":{\"type\":\"local\",\"config\":{\"x\":\"${NOMAD_TASK_NAME}\"}}}}",
        CFG("}}"));
    assert_json(at(b, "HostConfig", "LogConfig", "Config", "x", NULL), "\"web\"");
    json_decref(b);

    /* every string of the config block, with the node's facts (issue 14) */
    b = translate_ok(
        "{\"docker\":{\"volumes\":{\"enabled\":true}},\"node\":{"
        "\"datacenter\":\"eu1\",\"meta\":{\"reg\":\"reg.local\",\"dns\":\"10.0.0.53\"}}}",
        CFG(",\"image\":\"${meta.reg}/${NOMAD_TASK_NAME}:${node.datacenter}\","
            "\"volumes\":[\"/srv/${NOMAD_JOB_NAME}:/data/${NOMAD_ALLOC_INDEX}\"],"
            "\"mount\":[{\"type\":\"tmpfs\",\"target\":\"/t/${NOMAD_SHORT_ALLOC_ID}\"}],"
            "\"extra_hosts\":[\"${node.unique.name}:127.0.0.1\"],"
            "\"dns_servers\":[\"${meta.dns}\"],\"dns_search_domains\":[\"${NOMAD_DC}.x\"],"
            "\"sysctl\":{\"net.core.somaxconn\":\"${NOMAD_PORT_http}\"},"
            "\"labels\":{\"n\":\"${attr.kernel.name}\"},"
            "\"network_aliases\":[\"${NOMAD_ALLOC_NAME}\"],\"network_mode\":\"net1\"},"
            "\"network\":{\"ports\":{\"http\":{\"to\":1024}}}}"));
    assert_json(at(b, "Image", NULL), "\"reg.local/web:eu1\"");
    assert_json(at(b, "HostConfig", "Binds", "#4", NULL), "\"/srv/web:/data/0\"");
    assert_json(at(b, "HostConfig", "Mounts", "#0", "Target", NULL), "\"/t/6f1c3e9a\"");
    assert_json(at(b, "HostConfig", "ExtraHosts", NULL), "[\"node-a:127.0.0.1\"]");
    assert_json(at(b, "HostConfig", "Dns", NULL), "[\"10.0.0.53\"]");
    assert_json(at(b, "HostConfig", "DnsSearch", NULL), "[\"eu1.x\"]");
    assert_json(at(b, "HostConfig", "Sysctls", "net.core.somaxconn", NULL), "\"1024\"");
    assert_json(at(b, "Labels", "n", NULL), "\"linux\"");
    assert_json(at(b, "NetworkingConfig", "EndpointsConfig", "net1", "Aliases", NULL),
                "[\"web.web[0]\"]");

    /* an unknown variable is an error naming the field, never text in a container */
    static const struct {
        const char *spec, *field;
    } bad[] = {
        {CFG(",\"volumes\":[\"/srv/${NOMAD_JOB}:/d\"]}}"), "config.volumes[0]"},
        {CFG(",\"image\":\"${meta.missing}\"}}"), "config.image"},
        {CFG(",\"args\":[\"ok\",\"${attr.nope}\"]}}"), "config.args[1]"},
        {CFG("},\"env\":{\"X\":\"${NOMAD_PORT_none}\"}}"), "env.X"},
        {CFG(",\"hostname\":\"${NOMAD_TASK_NAME\"}}"), "config.hostname"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tr e = translate_with("{\"docker\":{\"volumes\":{\"enabled\":true}}}", bad[i].spec, NULL,
                              NULL);
        if (e.r == 0)
            fail_msg("accepted: %s", bad[i].spec);
        assert_string_equal(e.err.field, bad[i].field);
    }
    /* artifact blocks are interpolated too (source, destination, headers) */
    {
        dv_agent_config config;
        assert_int_equal(dv_agent_config_defaults(&config, NULL), 0);
        _cleanup_json_ json_t *sj = json_loads(
            "{\"name\":\"web\",\"config\":{\"image\":\"busybox:1\"},\"meta\":{\"v\":\"7\"},"
            "\"artifact\":[{\"source\":\"https://files.local/${NOMAD_META_v}/app.tar\","
            "\"destination\":\"local/${NOMAD_TASK_NAME}/\"}]}",
            0, NULL);
        dv_task_spec *spec = NULL;
        json_t *resolved = NULL;
        dv_spec_error err;
        if (dv_spec_parse_for_task(sj, &config, &(dv_translate_ctx){.task_id = ID, .node_id = NODE},
                                   &spec, &resolved, &err) < 0)
            fail_msg("%s", err.err.msg);
        assert_string_equal(spec->artifacts[0].source, "https://files.local/7/app.tar");
        assert_string_equal(spec->artifacts[0].target, "local/web/app.tar");
        assert_json(
            json_object_get(json_array_get(json_object_get(resolved, "artifact"), 0), "source"),
            "\"https://files.local/7/app.tar\"");
        json_decref(resolved);
        dv_task_spec_free(spec);
        json_object_set_new(json_array_get(json_object_get(sj, "artifact"), 0), "destination",
                            json_string("local/${nope}"));
        dv_spec_error_clear(&err);
        assert_int_equal(dv_spec_parse_for_task(sj, &config,
                                                &(dv_translate_ctx){.task_id = ID, .node_id = NODE},
                                                &spec, NULL, &err),
                         -EINVAL);
        assert_string_equal(err.field, "artifact[0].destination");
        dv_agent_config_clear(&config);
    }

    /* the agent's own logging options: their field is the agent config's */
    t = translate_with("{\"docker\":{\"logging\":{\"config\":{\"tag\":\"${nope}\"}}}}", CFG("}}"),
                       NULL, NULL);
    assert_int_equal(t.r, -EINVAL);
    assert_string_equal(t.err.field, "docker.logging.config.tag");
}

static void test_passthrough(void **state)
{
    (void)state;
    _cleanup_json_ json_t *b = translate_ok(
        "{\"docker\":{\"allow_privileged\":true,\"allow_caps\":[\"all\"],"
        "\"allow_runtimes\":[\"runc\"]}}",
        "{\"name\":\"web\",\"user\":\"nobody\",\"config\":{\"image\":\"busybox:1\","
        "\"hostname\":\"h\",\"work_dir\":\"/w\",\"tty\":true,\"interactive\":true,"
        "\"healthchecks\":{\"disable\":true},\"mac_address\":\"02:42:ac:11:00:02\","
        "\"privileged\":true,\"dns_servers\":[\"10.0.0.1\"],\"dns_search_domains\":[\"a.b\"],"
        "\"dns_options\":[\"ndots:1\"],\"extra_hosts\":[\"db:10.0.0.2\"],"
        "\"ipc_mode\":\"host\",\"pid_mode\":\"host\",\"uts_mode\":\"host\",\"userns_mode\":"
        "\"host\","
        "\"security_opt\":[\"no-new-privileges\"],\"sysctl\":{\"net.core.somaxconn\":\"1024\"},"
        "\"ulimit\":{\"nofile\":\"2048:4096\",\"nproc\":\"4242\",\"memlock\":\"-1\"},"
        "\"readonly_rootfs\":true,"
        "\"shm_size\":1048576,\"storage_opt\":{\"size\":\"1G\"},"
        "\"devices\":[{\"host_path\":\"/dev/fuse\",\"cgroup_permissions\":\"rw\"}],"
        "\"init\":true,\"runtime\":\"runc\",\"group_add\":[\"audio\"],\"oom_score_adj\":100,"
        "\"cap_add\":[\"sys_admin\"],\"cap_drop\":[\"mknod\"],\"pids_limit\":50,"
        "\"network_mode\":\"mynet\",\"network_aliases\":[\"${NOMAD_TASK_NAME}-x\"],"
        "\"ipv4_address\":\"172.30.0.9\",\"ipv6_address\":\"fd00::9\"}}");
    assert_json(at(b, "User", NULL), "\"nobody\"");
    assert_json(at(b, "Hostname", NULL), "\"h\"");
    assert_json(at(b, "WorkingDir", NULL), "\"/w\"");
    assert_json(at(b, "Tty", NULL), "true");
    assert_json(at(b, "OpenStdin", NULL), "true");
    assert_json(at(b, "Healthcheck", NULL), "{\"Test\":[\"NONE\"]}");
    assert_json(at(b, "MacAddress", NULL), "\"02:42:ac:11:00:02\"");
    json_t *h = at(b, "HostConfig", NULL);
    assert_json(at(h, "Privileged", NULL), "true");
    assert_json(at(h, "Dns", NULL), "[\"10.0.0.1\"]");
    assert_json(at(h, "DnsSearch", NULL), "[\"a.b\"]");
    assert_json(at(h, "DnsOptions", NULL), "[\"ndots:1\"]");
    assert_json(at(h, "ExtraHosts", NULL), "[\"db:10.0.0.2\"]");
    assert_json(at(h, "IpcMode", NULL), "\"host\"");
    assert_json(at(h, "PidMode", NULL), "\"host\"");
    assert_json(at(h, "UTSMode", NULL), "\"host\"");
    assert_json(at(h, "UsernsMode", NULL), "\"host\"");
    assert_json(at(h, "SecurityOpt", NULL), "[\"no-new-privileges\"]");
    assert_json(at(h, "Sysctls", NULL), "{\"net.core.somaxconn\":\"1024\"}");
    assert_json(at(h, "Ulimits", NULL), "[{\"Name\":\"nofile\",\"Soft\":2048,\"Hard\":4096},"
                                        "{\"Name\":\"nproc\",\"Soft\":4242,\"Hard\":4242},"
                                        "{\"Name\":\"memlock\",\"Soft\":-1,\"Hard\":-1}]");
    assert_json(at(h, "ReadonlyRootfs", NULL), "true");
    assert_json(at(h, "ShmSize", NULL), "1048576");
    assert_json(at(h, "StorageOpt", NULL), "{\"size\":\"1G\"}");
    assert_json(at(h, "Devices", NULL),
                "[{\"PathOnHost\":\"/dev/fuse\",\"PathInContainer\":\"/dev/fuse\","
                "\"CgroupPermissions\":\"rw\"}]");
    assert_json(at(h, "Init", NULL), "true");
    assert_json(at(h, "Runtime", NULL), "\"runc\"");
    assert_json(at(h, "GroupAdd", NULL), "[\"audio\"]");
    assert_json(at(h, "OomScoreAdj", NULL), "100");
    assert_json(at(h, "CapAdd", NULL), "[\"SYS_ADMIN\"]");
    assert_json(at(h, "CapDrop", NULL), "[\"MKNOD\"]");
    assert_json(at(h, "PidsLimit", NULL), "50");
    assert_json(at(h, "NetworkMode", NULL), "\"mynet\"");
    assert_json(at(b, "NetworkingConfig", NULL),
                "{\"EndpointsConfig\":{\"mynet\":{\"Aliases\":[\"web-x\"],"
                "\"IPAMConfig\":{\"IPv4Address\":\"172.30.0.9\",\"IPv6Address\":\"fd00::9\"}}}}");

    /* unset options stay out of the body (Docker's defaults apply) */
    json_decref(b);
    b = translate_ok("{}", CFG("}}"));
    h = at(b, "HostConfig", NULL);
    static const char *const absent[] = {"Privileged", "Dns",     "IpcMode",   "Ulimits",
                                         "Init",       "Runtime", "PidsLimit", "OomScoreAdj",
                                         "Devices",    "Mounts",  "CapAdd"};
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
        if (json_object_get(h, absent[i]))
            fail_msg("%s set without being asked for", absent[i]);
    assert_null(at(b, "NetworkingConfig", NULL));
    assert_null(at(b, "Healthcheck", NULL));
    assert_json(at(h, "NetworkMode", NULL), "\"bridge\"");
    assert_json(at(h, "CapDrop", NULL), "[\"NET_RAW\"]");
    /* the agent's pids_limit is the default */
    json_decref(b);
    b = translate_ok("{\"docker\":{\"pids_limit\":200}}", CFG("}}"));
    assert_json(at(b, "HostConfig", "PidsLimit", NULL), "200");
}

/* A seccomp profile by path: the body carries the profile the agent read
 * (ctx->security_opt), and without one the path as written (validate). */
static void test_security_opt_profiles(void **state)
{
    (void)state;
    const char *spec_text =
        CFG(",\"security_opt\":[\"no-new-privileges\",\"seccomp=local/p.json\"]}}");
    _cleanup_json_ json_t *b = translate_ok("{}", spec_text);
    assert_json(at(b, "HostConfig", "SecurityOpt", NULL),
                "[\"no-new-privileges\",\"seccomp=local/p.json\"]");

    _cleanup_json_ json_t *sj = json_loads(spec_text, 0, NULL);
    dv_task_spec *spec = NULL;
    assert_int_equal(dv_spec_parse(sj, &spec, NULL), 0);
    dv_agent_config config;
    assert_int_equal(dv_agent_config_defaults(&config, NULL), 0);
    dv_task_paths paths;
    assert_int_equal(dv_task_paths_build("/var/lib/dv", ID, "web", &paths, NULL), 0);
    dv_strv read = {0};
    dv_strv_push(&read, "no-new-privileges");
    dv_strv_push(&read, "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}");
    dv_translate_ctx ctx = {.task_id = ID, .node_id = NODE, .paths = &paths, .security_opt = &read};
    _cleanup_json_ json_t *body = NULL;
    dv_spec_error err;
    assert_int_equal(dv_translate(spec, &config, &ctx, &body, &err), 0);
    assert_json(
        at(body, "HostConfig", "SecurityOpt", NULL),
        "[\"no-new-privileges\",\"seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\"}\"]");
    dv_strv_free(&read);
    dv_task_paths_clear(&paths);
    dv_agent_config_clear(&config);
    dv_task_spec_free(spec);
}

static void test_policy_enforced(void **state)
{
    (void)state;
    tr t = translate_with("{}", CFG(",\"privileged\":true}}"), NULL, NULL);
    assert_int_equal(t.r, -EPERM);
    assert_string_equal(t.err.field, "config.privileged");
    assert_null(t.body);
    t = translate_with("{}", CFG(",\"cap_add\":[\"sys_time\",\"net_raw\"]}}"), NULL, NULL);
    assert_int_equal(t.r, -EPERM);
    assert_string_equal(t.err.err.msg, "config.cap_add: capabilities not allowed on this agent "
                                       "(docker.allow_caps): sys_time, net_raw");
}

static void test_bad_context(void **state)
{
    (void)state;
    _cleanup_json_ json_t *sj = json_loads(CFG("},\"network\":{\"ports\":{\"p\":{}}}}"), 0, NULL);
    dv_task_spec *spec = NULL;
    assert_int_equal(dv_spec_parse(sj, &spec, NULL), 0);
    dv_agent_config config;
    assert_int_equal(dv_agent_config_defaults(&config, NULL), 0);
    dv_task_paths paths;
    assert_int_equal(dv_task_paths_build("/d", ID, "web", &paths, NULL), 0);
    json_t *body = NULL;
    dv_spec_error err;
    dv_translate_ctx ctx = {.task_id = ID, .node_id = NODE};
    assert_int_equal(dv_translate(spec, &config, &ctx, &body, &err), -EINVAL);
    assert_non_null(strstr(err.err.msg, "task's directories"));
    dv_port_alloc wrong = {"other", 20000, 0, true};
    ctx = (dv_translate_ctx){
        .task_id = ID, .node_id = NODE, .paths = &paths, .ports = &wrong, .n_ports = 1};
    assert_int_equal(dv_translate(spec, &config, &ctx, &body, &err), -EINVAL);
    assert_string_equal(err.field, "network.ports.other");
    dv_port_alloc bad = {"p", 0, 0, true};
    ctx.ports = &bad;
    assert_int_equal(dv_translate(spec, &config, &ctx, &body, &err), -EINVAL);
    assert_null(body);
    dv_task_paths_clear(&paths);
    dv_agent_config_clear(&config);
    dv_task_spec_free(spec);
}

static void test_deterministic(void **state)
{
    (void)state;
    const char *spec = CFG(",\"ports\":[\"a\",\"b\"],\"labels\":{\"z\":\"1\",\"a\":\"2\"},"
                           "\"ulimit\":{\"nproc\":\"1\",\"core\":\"0\"}},"
                           "\"env\":{\"Z\":\"1\",\"A\":\"2\"},"
                           "\"network\":{\"ports\":{\"b\":{},\"a\":{\"to\":1}}}}");
    _cleanup_json_ json_t *a = translate_ok("{}", spec);
    _cleanup_json_ json_t *b = translate_ok("{}", spec);
    _cleanup_free_ char *ta = json_dumps(a, JSON_SORT_KEYS);
    _cleanup_free_ char *tb = json_dumps(b, JSON_SORT_KEYS);
    assert_string_equal(ta, tb);
    /* and preview gives what validate prints */
    _cleanup_json_ json_t *sj = json_loads(spec, 0, NULL);
    dv_agent_config config;
    assert_int_equal(dv_agent_config_defaults(&config, NULL), 0);
    _cleanup_json_ json_t *p = NULL;
    assert_int_equal(dv_translate_preview(sj, &config, NULL, &p, NULL), 0);
    assert_json(at(p, "Labels", DV_LABEL_TASK_ID, NULL), "\"" DV_PREVIEW_TASK_ID "\"");
    assert_json(at(p, "HostConfig", "PortBindings", "1/tcp", "#0", "HostPort", NULL), "\"20001\"");
    dv_agent_config_clear(&config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_container_name),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_no_bindings_without_own_network),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_cpu),
        cmocka_unit_test(test_binds_and_volumes),
        cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_logging),
        cmocka_unit_test(test_command_and_image),
        cmocka_unit_test(test_passthrough),
        cmocka_unit_test(test_security_opt_profiles),
        cmocka_unit_test(test_policy_enforced),
        cmocka_unit_test(test_bad_context),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
