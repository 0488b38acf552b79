/* Nomad's job JSON as group specs: a realistic `nomad job run -output` job end
 * to end, placement on this node, every constraint operand, the config blocks
 * HCL writes as arrays, and every refusal naming Nomad's field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "cleanup.h"
#include "group_spec.h"
#include "nomad_constraints.h"
#include "nomad_job.h"
#include "spec.h"
#include "test_support.h"
#include "xalloc.h"

static dv_kv node_meta, node_attrs;
static dv_interp_vars node;

static int setup(void **state)
{
    (void)state;
    dv_kv_set(&node_meta, "rack", "r1");
    dv_kv_set(&node_meta, "zone", "eu-1a");
    dv_kv_set(&node_attrs, "kernel.name", "linux");
    dv_kv_set(&node_attrs, "kernel.version", "6.1.0-13-amd64");
    dv_kv_set(&node_attrs, "cpu.arch", "amd64");
    dv_kv_set(&node_attrs, "cpu.numcores", "8");
    dv_kv_set(&node_attrs, "driver.docker", "1");
    dv_kv_set(&node_attrs, "os.version", "12");
    node = (dv_interp_vars){.node_id = "6f1b1c8e-0000-4000-8000-000000000001",
                            .node_name = "node-1",
                            .node_datacenter = "dc1",
                            .node_region = "global",
                            .node_class = "web",
                            .meta = &node_meta,
                            .attrs = &node_attrs};
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dv_kv_free(&node_meta);
    dv_kv_free(&node_attrs);
    return 0;
}

/* JSON written with single quotes (test_support.h). */
static json_t *load(const char *text)
{
    return dv_test_json(text);
}

static json_t *load_fixture(const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/unit/data/%s", dv_test_env("DV_SOURCE_DIR", "."), name);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j)
        fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
    return j;
}

static json_t *convert_ok(const json_t *job)
{
    json_t *groups = NULL;
    dv_spec_error err;
    if (dv_nomad_job_to_groups(job, &node, &groups, &err) < 0)
        fail_msg("conversion failed: %s", err.err.msg);
    return groups;
}

static void test_two_groups(void **state)
{
    (void)state;
    _cleanup_json_ json_t *job = load_fixture("nomad_job_two_groups.json");
    _cleanup_json_ json_t *want = load_fixture("nomad_job_two_groups.groups.json");
    assert_true(dv_nomad_job_is_job(job));
    _cleanup_json_ json_t *groups = convert_ok(job);
    if (!json_equal(groups, want)) {
        _cleanup_free_ char *got = json_dumps(groups, JSON_INDENT(2) | JSON_SORT_KEYS);
        fail_msg("converted:\n%s", got);
    }
    /* What the conversion gives is what the group parser takes. */
    dv_group_spec *web = NULL, *cache = NULL;
    dv_spec_error err;
    if (dv_group_spec_parse(json_array_get(groups, 0), &web, &err) < 0 ||
        dv_group_spec_parse(json_array_get(groups, 1), &cache, &err) < 0)
        fail_msg("group parse failed: %s", err.err.msg);
    assert_string_equal(web->job, "shop");
    assert_int_equal(web->count, 2);
    assert_string_equal(web->network_mode, "bridge");
    assert_int_equal(web->n_ports, 2);
    assert_int_equal(web->ports[0].static_port, 8080);
    assert_int_equal(web->ports[1].to, 9113);
    assert_string_equal(web->dns_searches.v[0], "svc.local");
    assert_int_equal(web->n_tasks, 2);
    dv_task_spec *nginx = NULL, *exporter = NULL;
    assert_int_equal(dv_spec_parse(web->tasks[0], &nginx, NULL), 0);
    assert_int_equal(dv_spec_parse(web->tasks[1], &exporter, NULL), 0);
    assert_string_equal(nginx->config.logging.type, "journald");
    assert_string_equal(dv_kv_get(&nginx->config.logging.config, "tag"),
                        "web-${NOMAD_ALLOC_INDEX}");
    assert_string_equal(dv_kv_get(&nginx->config.labels, "team"), "shop");
    assert_int_equal(nginx->config.n_mounts, 2);
    assert_int_equal(nginx->config.mounts[0].tmpfs_size, 1000000);
    assert_string_equal(nginx->config.mounts[1].bind_propagation, "rprivate");
    assert_int_equal(nginx->resources.memory_max, 256);
    assert_int_equal(nginx->kill_timeout_ns, INT64_C(10000000000));
    assert_string_equal(nginx->kill_signal, "SIGQUIT");
    assert_int_equal(nginx->logs.max_files, 3);
    /* Meta: job < group < task. */
    assert_string_equal(dv_kv_get(&nginx->meta, "owner"), "ops");
    assert_string_equal(dv_kv_get(&nginx->meta, "tier"), "front");
    assert_string_equal(dv_kv_get(&nginx->meta, "role"), "proxy");
    /* Restart: the group's, unless the task has its own. */
    assert_int_equal(nginx->restart.attempts, 2);
    assert_int_equal(nginx->restart.interval_ns, INT64_C(1800000000000));
    assert_int_equal(exporter->restart.attempts, 10);
    assert_int_equal(exporter->restart.mode, DV_RESTART_MODE_DELAY);
    assert_true(exporter->config.healthchecks_disable);
    assert_int_equal(exporter->kill_timeout_ns, INT64_C(1500000000));
    dv_task_spec_free(nginx);
    dv_task_spec_free(exporter);
    /* Nomad's default (host) mode with docker tasks: one bridge namespace. */
    assert_string_equal(cache->network_mode, "bridge");
    assert_int_equal(cache->count, 1);
    dv_task_spec *redis = NULL;
    assert_int_equal(dv_spec_parse(cache->tasks[0], &redis, NULL), 0);
    assert_true(redis->config.mounts[0].volume_no_copy);
    assert_string_equal(redis->config.mounts[0].volume_driver, "local");
    assert_string_equal(dv_kv_get(&redis->config.mounts[0].volume_driver_options, "type"), "tmpfs");
    assert_string_equal(dv_kv_get(&redis->config.sysctl, "net.core.somaxconn"), "1024");
    dv_task_spec_free(redis);
    dv_group_spec_free(web);
    dv_group_spec_free(cache);
}

#define TASK "{'Name':'t','Driver':'docker','Config':{'image':'busybox:1'}}"
/* A bare job (no "Job" wrapper) with fields X, one group with group fields G. */
#define JOB(x, g) "{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[" TASK "]" g "}]" x "}"

static void test_bare_job_and_defaults(void **state)
{
    (void)state;
    _cleanup_json_ json_t *job = load(JOB("", ""));
    assert_true(dv_nomad_job_is_job(job));
    _cleanup_json_ json_t *groups = convert_ok(job);
    _cleanup_json_ json_t *want =
        load("[{'job':'j','name':'g','count':1,'network':{'mode':'bridge'},"
             "'tasks':[{'name':'t','config':{'image':'busybox:1'}}]}]");
    assert_true(json_equal(groups, want));
    /* The job's Name when it has no ID. */
    _cleanup_json_ json_t *named =
        load("{'Job':{'Name':'by-name','TaskGroups':[{'Name':'g','Tasks':[" TASK "]}]}}");
    _cleanup_json_ json_t *g2 = convert_ok(named);
    assert_string_equal(json_string_value(json_object_get(json_array_get(g2, 0), "job")),
                        "by-name");
    _cleanup_json_ json_t *task = load("{'name':'t','config':{'image':'busybox:1'}}");
    _cleanup_json_ json_t *empty = load("{'Job':5}");
    assert_false(dv_nomad_job_is_job(task));
    assert_false(dv_nomad_job_is_job(empty));
    assert_false(dv_nomad_job_is_job(NULL));
}

static json_t *group0(const char *text)
{
    _cleanup_json_ json_t *job = load(text);
    json_t *groups = convert_ok(job);
    json_t *g = json_incref(json_array_get(groups, 0));
    json_decref(groups);
    return g;
}

static void test_types(void **state)
{
    (void)state;
    /* Batch: Nomad's batch restart default when the group has none. */
    _cleanup_json_ json_t *batch = group0(JOB(",'Type':'batch'", ",'Count':3"));
    _cleanup_json_ json_t *want =
        load("{'attempts':3,'interval':'24h','delay':'15s','mode':'fail'}");
    assert_true(json_equal(json_object_get(batch, "restart"), want));
    assert_int_equal(json_integer_value(json_object_get(batch, "count")), 3);
    /* System and sysbatch: one allocation on this node, whatever Count says. */
    _cleanup_json_ json_t *sys = group0(JOB(",'Type':'system'", ",'Count':5"));
    assert_int_equal(json_integer_value(json_object_get(sys, "count")), 1);
    assert_null(json_object_get(sys, "restart"));
    _cleanup_json_ json_t *sysb = group0(JOB(",'Type':'sysbatch'", ""));
    assert_int_equal(json_integer_value(json_object_get(sysb, "count")), 1);
    /* Placement that matches: "*" and globs, region and namespace. */
    _cleanup_json_ json_t *ok = group0(JOB(",'Datacenters':['eu','d*'],'Region':'global',"
                                           "'Namespace':'default'",
                                           ""));
    assert_non_null(ok);
    _cleanup_json_ json_t *any = group0(JOB(",'Datacenters':['*']", ""));
    assert_non_null(any);
}

static void test_networks(void **state)
{
    (void)state;
    /* Nomad's host mode: every task on the same network_mode makes the group's. */
    _cleanup_json_ json_t *host =
        group0("{'ID':'j','TaskGroups':[{'Name':'g','Networks':[{'Mode':'host'}],'Tasks':["
               "{'Name':'a','Driver':'docker','Config':{'image':'b:1','network_mode':'host'}},"
               "{'Name':'b','Driver':'docker','Config':{'image':'b:1','network_mode':'host'}}]}]}");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(host, "network"), "mode")), "host");
    json_t *tasks = json_object_get(host, "tasks");
    assert_null(
        json_object_get(json_object_get(json_array_get(tasks, 0), "config"), "network_mode"));
    _cleanup_json_ json_t *net = group0(
        "{'ID':'j','TaskGroups':[{'Name':'g','Tasks':["
        "{'Name':'a','Driver':'docker','Config':{'image':'b:1','network_mode':'backend'}}]}]}");
    assert_string_equal(json_string_value(json_object_get(json_object_get(net, "network"), "mode")),
                        "backend");
    dv_group_spec *g = NULL;
    assert_int_equal(dv_group_spec_parse(net, &g, NULL), 0);
    dv_group_spec_free(g);
    /* none stays none; config.ports stay outside bridge mode (for the group parser to name). */
    _cleanup_json_ json_t *none =
        group0("{'ID':'j','TaskGroups':[{'Name':'g','Networks':[{'Mode':'none'}],'Tasks':["
               "{'Name':'a','Driver':'docker','Config':{'image':'b:1','ports':['x']}}]}]}");
    json_t *cfg = json_object_get(json_array_get(json_object_get(none, "tasks"), 0), "config");
    assert_non_null(json_object_get(cfg, "ports"));
    /* To -1: the host port. */
    _cleanup_json_ json_t *same =
        group0("{'ID':'j','TaskGroups':[{'Name':'g','Networks':[{'Mode':'bridge','DynamicPorts':[{"
               "'Label':'http','Value':0,'To':-1}]}],'Tasks':[" TASK "]}]}");
    _cleanup_json_ json_t *want_net = load("{'mode':'bridge','ports':{'http':{}}}");
    assert_true(json_equal(json_object_get(same, "network"), want_net));
    /* The already unwrapped (hand-written) config form is taken as it is. */
    _cleanup_json_ json_t *plain = group0(
        "{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'a','Driver':'docker','Config':{"
        "'image':'b:1','labels':{'a':'b'},'logging':{'type':'json-file','config':{'max-file':'2'}},"
        "'mount':{'type':'tmpfs','target':'/t','tmpfs_options':{'size':10}},'auth':[]}}]}]}");
    _cleanup_json_ json_t *want_cfg = load(
        "{'image':'b:1','labels':{'a':'b'},'logging':{'type':'json-file','config':{"
        "'max-file':'2'}},'mount':{'type':'tmpfs','target':'/t','tmpfs_options':{'size':10}}}");
    assert_true(json_equal(
        json_object_get(json_array_get(json_object_get(plain, "tasks"), 0), "config"), want_cfg));
}

/* Artifacts map to the task spec's "artifact" blocks, which the group accepts. */
static void test_artifacts(void **state)
{
    (void)state;
    _cleanup_json_ json_t *g =
        group0("{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'a','Driver':'docker',"
               "'Config':{'image':'b:1'},'Artifacts':[{'GetterSource':'https://x/app.tar',"
               "'RelativeDest':'local/"
               "app.tar','GetterMode':'file','GetterOptions':{'checksum':'sha256:"
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'},"
               "'GetterHeaders':null}]}]}]}");
    _cleanup_json_ json_t *want =
        load("[{'source':'https://x/app.tar','destination':'local/app.tar',"
             "'mode':'file','options':{'checksum':'sha256:"
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}}]");
    json_t *task = json_array_get(json_object_get(g, "tasks"), 0);
    assert_true(json_equal(json_object_get(task, "artifact"), want));
    dv_group_spec *group = NULL;
    dv_spec_error err;
    if (dv_group_spec_parse(g, &group, &err) < 0)
        fail_msg("%s", err.err.msg);
    assert_int_equal(group->n_tasks, 1);
    dv_group_spec_free(group);
}

static const struct {
    const char *l, *op, *r;
    bool ok;
} constraints[] = {
    {"${attr.kernel.name}", "=", "linux", true},
    {"${attr.kernel.name}", "", "linux", true},
    {"${attr.kernel.name}", "==", "windows", false},
    {"${node.datacenter}", "is", "dc1", true},
    {"linux", "=", "${attr.kernel.name}", true},
    {"${attr.nope}", "=", "missing", false},
    {"${attr.kernel.name}", "!=", "windows", true},
    {"${attr.kernel.name}", "not", "linux", false},
    {"${attr.nope}", "!=", "x", true},
    {"${attr.cpu.numcores}", ">", "4", true},
    {"${attr.cpu.numcores}", ">", "10", false}, /* numeric, not byte order */
    {"${attr.cpu.numcores}", ">=", "8", true},
    {"${attr.cpu.numcores}", "<", "8", false},
    {"${attr.cpu.numcores}", "<=", "8", true},
    {"${node.class}", "<", "zzz", true},
    {"${node.class}", ">", "zzz", false},
    {"${attr.nope}", "<", "1", false},
    {"${attr.cpu.arch}", "regexp", "^(amd64|arm64)$", true},
    {"${node.unique.name}", "regexp", "^db-", false},
    {"${meta.rack}", "set_contains", "r1", true},
    {"r1, r2,r3", "set_contains", "r3,r1", true},
    {"r1,r2", "set_contains_all", "r1,r4", false},
    {"r1,r2", "set_contains_any", "r4, r2", true},
    {"r1,r2", "set_contains_any", "r4,r5", false},
    {"${meta.zone}", "is_set", "", true},
    {"${meta.nope}", "is_set", "", false},
    {"${meta.nope}", "is_not_set", "", true},
    {"${meta.zone}", "is_not_set", "", false},
    {"${attr.kernel.version}", "version", ">= 5.4, < 7", true},
    {"${attr.kernel.version}", "version", ">= 6.2", false},
    {"${attr.kernel.version}", "semver", "~> 6.1", true},
    {"${attr.kernel.version}", "semver", "~> 6.1.1", false},
    {"${attr.kernel.version}", "version", "6.1.0", true},
    {"${attr.kernel.version}", "version", "!= 6.1", false},
    {"${attr.kernel.version}", "version", "> 6, <= 6.1.0", true},
    {"${attr.nope}", "version", ">= 1", false},
    {"", "distinct_hosts", "", true},
    {"${meta.rack}", "distinct_property", "2", true},
    {"${node.unique.id}", "=", "6f1b1c8e-0000-4000-8000-000000000001", true},
    {"${node.region}", "=", "global", true},
};

static void test_constraint_operands(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(constraints) / sizeof(constraints[0]); i++) {
        _cleanup_json_ json_t *c =
            json_pack("{s:s, s:s, s:s}", "LTarget", constraints[i].l, "Operand", constraints[i].op,
                      "RTarget", constraints[i].r);
        dv_spec_error err;
        dv_spec_error_clear(&err);
        int r = dv_nomad_constraint_check(c, "Job.Constraints[0]", &node, &err);
        if ((r == 0) != constraints[i].ok)
            fail_msg("%s %s %s: got %d (%s)", constraints[i].l, constraints[i].op, constraints[i].r,
                     r, err.err.msg);
        if (r < 0) {
            assert_string_equal(err.field, "Job.Constraints[0]");
            assert_non_null(strstr(err.err.msg, "is not satisfied by this node"));
        }
    }
}

static const struct {
    const char *json;
    const char *field;
    const char *message; /* a distinctive part of it */
} cases[] = {
    /* the job */
    {"{'Job':{'TaskGroups':[{'Name':'g','Tasks':[" TASK "]}]}}", "Job.ID",
     "Job.ID: job ID (or Name) required"},
    {"{'Job':{'ID':3,'TaskGroups':[]}}", "Job.ID", "expected a string, got an integer"},
    {"{'Job':{'ID':'j','TaskGroups':[]}}", "Job.TaskGroups", "at least one task group required"},
    {"{'Job':{'ID':'j','TaskGroups':5}}", "Job.TaskGroups", "at least one task group required"},
    {JOB(",'Region':'eu'", ""), "Job.Region",
     "Job.Region: the job is for region \"eu\", this node is in \"global\""},
    {JOB(",'Datacenters':['dc2','eu-*']", ""), "Job.Datacenters",
     "this node's datacenter \"dc1\" is not one of the job's (\"dc2\", \"eu-*\")"},
    {JOB(",'Datacenters':'dc1'", ""), "Job.Datacenters", "expected an array of strings"},
    {JOB(",'Datacenters':[1]", ""), "Job.Datacenters[0]", "expected a string"},
    {JOB(",'Namespace':'prod'", ""), "Job.Namespace", "namespace \"prod\" is not supported"},
    {JOB(",'Type':'daemon'", ""), "Job.Type", "invalid type \"daemon\""},
    {JOB(",'Periodic':{'Enabled':true,'Spec':'@daily'}", ""), "Job.Periodic",
     "Job.Periodic: not supported by dockvisor"},
    {JOB(",'ParameterizedJob':{'Payload':'required'}", ""), "Job.ParameterizedJob",
     "not supported by dockvisor"},
    {JOB(",'Constraints':[{'LTarget':'${attr.kernel.name}','RTarget':'windows','Operand':'='}]",
         ""),
     "Job.Constraints[0]",
     "Job.Constraints[0]: ${attr.kernel.name} = windows is not satisfied by this node (linux)"},
    {JOB(",'Constraints':[{'LTarget':'${meta.gpu}','Operand':'is_set'}]", ""), "Job.Constraints[0]",
     "${meta.gpu} is_set is not satisfied by this node (not set)"},
    {JOB(",'Constraints':[{'LTarget':'a','RTarget':'a','Operand':'near'}]", ""),
     "Job.Constraints[0].Operand", "unknown operand \"near\""},
    {JOB(",'Constraints':[{'LTarget':'a','RTarget':'(','Operand':'regexp'}]", ""),
     "Job.Constraints[0].RTarget", "invalid regular expression \"(\""},
    {JOB(",'Constraints':[{'LTarget':'1.0','RTarget':'>= x','Operand':'version'}]", ""),
     "Job.Constraints[0].RTarget", "invalid version constraint \">= x\""},
    {JOB(",'Constraints':[{'LTarget':1,'RTarget':'a'}]", ""), "Job.Constraints[0].LTarget",
     "expected a string, got an integer"},
    {JOB(",'Constraints':[5]", ""), "Job.Constraints[0]", "expected a constraint object"},
    {JOB(",'Constraints':{}", ""), "Job.Constraints", "expected an array of constraints"},
    /* a group */
    {"{'ID':'j','TaskGroups':[5]}", "Job.TaskGroups[0]", "expected a task group object"},
    {"{'ID':'j','TaskGroups':[{'Tasks':[" TASK "]}]}", "Job.TaskGroups[0].Name",
     "group name required"},
    {"{'ID':'j','TaskGroups':[{'Name':'g'}]}", "Job.TaskGroups[0].Tasks",
     "at least one task required"},
    {JOB("", ",'Count':0"), "Job.TaskGroups[0].Count",
     "Job.TaskGroups[0].Count: 0: the group has nothing to run"},
    {JOB("", ",'Count':101"), "Job.TaskGroups[0].Count", "101 is outside 1..100"},
    {JOB("", ",'Count':'2'"), "Job.TaskGroups[0].Count", "expected an integer"},
    {JOB("", ",'Constraints':[{'LTarget':'${node.class}','RTarget':'db'}]"),
     "Job.TaskGroups[0].Constraints[0]", "${node.class} = db is not satisfied by this node (web)"},
    {JOB("", ",'Services':[{'Name':'web'}]"), "Job.TaskGroups[0].Services",
     "not supported by dockvisor"},
    {JOB("", ",'Volumes':{'data':{'Type':'host'}}"), "Job.TaskGroups[0].Volumes",
     "not supported by dockvisor"},
    {JOB("", ",'RestartPolicy':{'Interval':'x1'}"), "", ""}, /* a string: taken as written */
    {JOB("", ",'RestartPolicy':{'Delay':-1}"), "Job.TaskGroups[0].RestartPolicy.Delay",
     "expected a duration in nanoseconds"},
    {JOB("", ",'RestartPolicy':[]"), "Job.TaskGroups[0].RestartPolicy", "expected an object"},
    {JOB("", ",'Networks':[{'Mode':'bridge'},{'Mode':'host'}]"), "Job.TaskGroups[0].Networks",
     "2 networks; a group has one here"},
    {JOB("", ",'Networks':{}"), "Job.TaskGroups[0].Networks", "expected an array"},
    {JOB("", ",'Networks':[{'Mode':'cni/mynet'}]"), "Job.TaskGroups[0].Networks[0].Mode",
     "mode \"cni/mynet\" is not supported"},
    {JOB("", ",'Networks':[{'Mode':'bridge','Hostname':'h'}]"),
     "Job.TaskGroups[0].Networks[0].Hostname", "not supported by dockvisor"},
    {JOB("", ",'Networks':[{'ReservedPorts':[{'Value':80}]}]"),
     "Job.TaskGroups[0].Networks[0].ReservedPorts[0].Label", "port label required"},
    {JOB("", ",'Networks':[{'ReservedPorts':[{'Label':'a','Value':80}],'DynamicPorts':[{'Label':"
             "'a'}]}]"),
     "Job.TaskGroups[0].Networks[0].DynamicPorts[0].Label", "port \"a\" is declared twice"},
    {JOB("", ",'Networks':[{'DynamicPorts':{}}]"), "Job.TaskGroups[0].Networks[0].DynamicPorts",
     "expected an array of ports"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':["
     "{'Name':'a','Driver':'docker','Config':{'image':'b:1','network_mode':'host'}},"
     "{'Name':'b','Driver':'docker','Config':{'image':'b:1'}}]}]}",
     "Job.TaskGroups[0].Tasks[1].Config.network_mode", "\"\" differs from Tasks[0]'s \"host\""},
    /* a task */
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[" TASK ",{'Name':'x','Driver':'exec',"
     "'Config':{'command':'/bin/true'}}]}]}",
     "Job.TaskGroups[0].Tasks[1].Driver",
     "Job.TaskGroups[0].Tasks[1].Driver: driver \"exec\" is not supported (dockvisor runs docker "
     "tasks only)"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'x','Config':{}}]}]}",
     "Job.TaskGroups[0].Tasks[0].Driver", "driver \"\" is not supported"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Driver':'docker','Config':{}}]}]}",
     "Job.TaskGroups[0].Tasks[0].Name", "task name required"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[5]}]}", "Job.TaskGroups[0].Tasks[0]",
     "expected a task object"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'x','Driver':'docker'}]}]}",
     "Job.TaskGroups[0].Tasks[0].Config", "expected the docker driver's config object"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'x','Driver':'docker','Config':{"
     "'image':'b:1','logging':[{'type':'a'},{'type':'b'}]}}]}]}",
     "Job.TaskGroups[0].Tasks[0].Config.logging", "a single block, given 2 times"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'x','Driver':'docker','Config':{"
     "'image':'b:1','logging':[{'type':'a','config':[{},{}]}]}}]}]}",
     "Job.TaskGroups[0].Tasks[0].Config.logging.config", "a single block, given 2 times"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'x','Driver':'docker','Config':{"
     "'image':'b:1','mount':[{'target':'/a'},{'target':'/b','volume_options':[{'driver_config':"
     "[{'options':[{},{}]}]}]}]}}]}]}",
     "Job.TaskGroups[0].Tasks[0].Config.mount[1].volume_options.driver_config.options",
     "a single block, given 2 times"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'x','Driver':'docker','Config':{"
     "'image':'b:1'},'Templates':[{'DestPath':'local/x'}]}]}]}",
     "Job.TaskGroups[0].Tasks[0].Templates", "not supported by dockvisor"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'x','Driver':'docker','Config':{"
     "'image':'b:1'},'Lifecycle':{'Hook':'prestart'}}]}]}",
     "Job.TaskGroups[0].Tasks[0].Lifecycle", "not supported by dockvisor"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'x','Driver':'docker','Config':{"
     "'image':'b:1'},'Resources':{'Cores':2}}]}]}",
     "Job.TaskGroups[0].Tasks[0].Resources.Cores", "not supported by dockvisor"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'x','Driver':'docker','Config':{"
     "'image':'b:1'},'KillTimeout':'soon'}]}]}",
     "", ""}, /* a string is taken as written; the task spec names it */
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'x','Driver':'docker','Config':{"
     "'image':'b:1'},'KillTimeout':1.5}]}]}",
     "Job.TaskGroups[0].Tasks[0].KillTimeout", "expected a duration in nanoseconds"},
    {"{'ID':'j','TaskGroups':[{'Name':'g','Tasks':[{'Name':'x','Driver':'docker','Config':{"
     "'image':'b:1'},'Constraints':[{'LTarget':'${attr.cpu.arch}','RTarget':'arm64'}]}]}]}",
     "Job.TaskGroups[0].Tasks[0].Constraints[0]",
     "${attr.cpu.arch} = arm64 is not satisfied by this node (amd64)"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        _cleanup_json_ json_t *job = load(cases[i].json);
        json_t *groups = (json_t *)0x1;
        dv_spec_error err;
        dv_spec_error_clear(&err);
        int r = dv_nomad_job_to_groups(job, &node, &groups, &err);
        if (!*cases[i].field) { /* converted; what is wrong is for the task spec to say */
            if (r < 0)
                fail_msg("refused: %s: %s", cases[i].json, err.err.msg);
            json_decref(groups);
            continue;
        }
        if (r >= 0)
            fail_msg("accepted: %s", cases[i].json);
        assert_ptr_equal(groups, (json_t *)0x1); /* untouched on failure */
        if (strcmp(err.field, cases[i].field) != 0 || !strstr(err.err.msg, cases[i].message))
            fail_msg("%s\n  got field \"%s\", message \"%s\"\n  want field \"%s\", message ~ "
                     "\"%s\"",
                     cases[i].json, err.field, err.err.msg, cases[i].field, cases[i].message);
    }
    /* Not a job at all. */
    _cleanup_json_ json_t *task = load("{'name':'t'}");
    json_t *groups = NULL;
    assert_int_equal(dv_nomad_job_to_groups(task, &node, &groups, NULL), -EINVAL);
    assert_null(groups);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_groups), cmocka_unit_test(test_bare_job_and_defaults),
        cmocka_unit_test(test_types),      cmocka_unit_test(test_networks),
        cmocka_unit_test(test_artifacts),  cmocka_unit_test(test_constraint_operands),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
