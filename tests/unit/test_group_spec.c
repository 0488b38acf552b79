/* The group spec: defaults, the group's defaults applied to its tasks, the
 * network rules of each mode, and every error naming its field. */
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
#include "spec.h"
#include "test_support.h"
#include "xalloc.h"

/* JSON written with single quotes (test_support.h). */
static json_t *load(const char *text)
{
    return dv_test_json(text);
}

static dv_group_spec *parse_ok(const char *text)
{
    _cleanup_json_ json_t *j = load(text);
    dv_group_spec *g = NULL;
    dv_spec_error err;
    if (dv_group_spec_parse(j, &g, &err) < 0)
        fail_msg("parse failed: %s", err.err.msg);
    return g;
}

#define TASK(name) "{'name':'" name "','config':{'image':'busybox:1'}}"
#define GROUP(x) "{'name':'g','tasks':[" TASK("a") "]" x "}"

static void test_defaults(void **state)
{
    (void)state;
    dv_group_spec *g = parse_ok(GROUP(""));
    assert_string_equal(g->name, "g");
    assert_string_equal(g->job, "g");
    assert_int_equal(g->count, 1);
    assert_string_equal(g->network_mode, "bridge");
    assert_int_equal(g->n_ports, 0);
    assert_int_equal(g->dns_servers.n + g->dns_searches.n + g->dns_options.n, 0);
    assert_int_equal(g->meta.n, 0);
    assert_null(g->restart);
    assert_int_equal(g->n_tasks, 1);
    /* Nothing to apply: the task is as written. */
    _cleanup_json_ json_t *want = load(TASK("a"));
    assert_true(json_equal(g->tasks[0], want));
    dv_group_spec_free(g);
}

static void test_full(void **state)
{
    (void)state;
    dv_group_spec *g = parse_ok(
        "{'name':'web','job':'shop','count':3,"
        "'network':{'mode':'bridge','ports':{'http':{'static':8080,'to':80,"
        "'host_network':'default'},'admin':{'to':9000}},"
        "'dns':{'servers':['1.1.1.1','::1'],'searches':['x.internal'],'options':['ndots:2']}},"
        "'meta':{'team':'a','tier':1},"
        "'restart':{'attempts':5,'interval':'10m','delay':'5s','mode':'delay'},"
        "'tasks':[" TASK("front") "," TASK("back") "]}");
    assert_string_equal(g->job, "shop");
    assert_int_equal(g->count, 3);
    assert_int_equal(g->n_ports, 2);
    assert_string_equal(g->ports[0].label, "http");
    assert_int_equal(g->ports[0].static_port, 8080);
    assert_int_equal(g->ports[0].to, 80);
    assert_string_equal(g->ports[1].label, "admin");
    assert_int_equal(g->ports[1].static_port, 0);
    assert_int_equal(g->ports[1].to, 9000);
    assert_int_equal(g->dns_servers.n, 2);
    assert_string_equal(g->dns_servers.v[1], "::1");
    assert_string_equal(g->dns_searches.v[0], "x.internal");
    assert_string_equal(g->dns_options.v[0], "ndots:2");
    assert_string_equal(dv_kv_get(&g->meta, "tier"), "1");
    assert_non_null(g->restart);
    assert_int_equal(json_integer_value(json_object_get(g->restart, "attempts")), 5);
    assert_int_equal(g->n_tasks, 2);
    dv_group_spec_free(g);
}

static void test_defaults_applied(void **state)
{
    (void)state;
    dv_group_spec *g = parse_ok(
        "{'name':'g','meta':{'team':'a','tier':'1'},"
        "'restart':{'attempts':1,'interval':'1m','delay':'10s','mode':'delay'},"
        "'tasks':[" TASK(
            "plain") ","
                     "{'name':'own','config':{'image':'busybox:1'},'meta':{'tier':'2','own':'x'},"
                     "'restart':{'attempts':0}}]}");
    /* The group's restart where the task has none; the task's own wins. */
    _cleanup_json_ json_t *grestart =
        load("{'attempts':1,'interval':'1m','delay':'10s','mode':'delay'}");
    assert_true(json_equal(json_object_get(g->tasks[0], "restart"), grestart));
    _cleanup_json_ json_t *own_restart = load("{'attempts':0}");
    assert_true(json_equal(json_object_get(g->tasks[1], "restart"), own_restart));
    /* Meta: the group's, overlaid by the task's. */
    _cleanup_json_ json_t *m0 = load("{'team':'a','tier':'1'}");
    _cleanup_json_ json_t *m1 = load("{'team':'a','tier':'2','own':'x'}");
    assert_true(json_equal(json_object_get(g->tasks[0], "meta"), m0));
    assert_true(json_equal(json_object_get(g->tasks[1], "meta"), m1));
    /* And the tasks are what the runtime parses. */
    dv_task_spec *spec = NULL;
    assert_int_equal(dv_spec_parse(g->tasks[0], &spec, NULL), 0);
    assert_int_equal(spec->restart.attempts, 1);
    assert_int_equal(spec->restart.mode, DV_RESTART_MODE_DELAY);
    assert_string_equal(dv_kv_get(&spec->meta, "team"), "a");
    dv_task_spec_free(spec);
    assert_int_equal(dv_spec_parse(g->tasks[1], &spec, NULL), 0);
    assert_int_equal(spec->restart.attempts, 0);
    assert_string_equal(dv_kv_get(&spec->meta, "tier"), "2");
    dv_task_spec_free(spec);
    dv_group_spec_free(g);
}

static void check_error(const char *text, const char *field, const char *message);

static void test_modes(void **state)
{
    (void)state;
    static const char *const modes[] = {"bridge", "host", "none", "my-net.1", "backend_net"};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), GROUP(",'network':{'mode':'%s'}"), modes[i]);
        dv_group_spec *g = parse_ok(text);
        assert_string_equal(g->network_mode, modes[i]);
        dv_group_spec_free(g);
    }
    /* Outside bridge mode a task keeps its container's own network options. */
    dv_group_spec *g = parse_ok(
        "{'name':'g','network':{'mode':'backend'},'tasks':[{'name':'a','config':{"
        "'image':'busybox:1','hostname':'h','dns_servers':['8.8.8.8'],'extra_hosts':['x:1.2.3.4'],"
        "'network_aliases':['web'],'ipv4_address':'10.0.0.5'}}]}");
    dv_group_spec_free(g);
    g = parse_ok("{'name':'g','network':{'mode':'host'},'tasks':[{'name':'a','config':{"
                 "'image':'busybox:1','hostname':'h','dns_servers':['8.8.8.8']}}]}");
    dv_group_spec_free(g);
    /* Outside bridge mode a task is checked on the group's network. */
    check_error("{'name':'g','network':{'mode':'host'},'tasks':[{'name':'a','config':{"
                "'image':'busybox:1','network_aliases':['web']}}]}",
                "tasks[0].config.network_aliases", "needs a user-defined network");
    check_error("{'name':'g','network':{'mode':'host'},'tasks':[{'name':'a','config':{"
                "'image':'busybox:1','mac_address':'02:42:ac:11:00:02'}}]}",
                "tasks[0].config.mac_address", "cannot be set with network mode \"host\"");
    /* Empty values are "not set": what a generated JSON writes for nothing. */
    g = parse_ok("{'name':'g','tasks':[{'name':'a','network':{},'config':{'image':'busybox:1',"
                 "'ports':[],'hostname':'','network_mode':null}}]}");
    dv_group_spec_free(g);
}

static void test_is_group(void **state)
{
    (void)state;
    _cleanup_json_ json_t *group = load(GROUP(""));
    _cleanup_json_ json_t *task = load(TASK("a"));
    _cleanup_json_ json_t *array = load("[]");
    assert_true(dv_group_spec_is_group(group));
    assert_false(dv_group_spec_is_group(task));
    assert_false(dv_group_spec_is_group(array));
    assert_false(dv_group_spec_is_group(NULL));
}

#define LONG_10 "aaaaaaaaaa"
#define LONG_100 LONG_10 LONG_10 LONG_10 LONG_10 LONG_10 LONG_10 LONG_10 LONG_10 LONG_10 LONG_10
/* The longest group name: DV_TASK_NAME_MAX - 16 = 112 characters. */
#define NAME_112 LONG_100 LONG_10 "aa"

static const struct {
    const char *json;
    const char *field;
    const char *message; /* a distinctive part of it */
} cases[] = {
    /* shape and names */
    {"[]", "", "the group spec must be a JSON object, got an array"},
    {"{'tasks':[" TASK("a") "]}", "name", "name: group name required"},
    {"{'name':'-g','tasks':[" TASK("a") "]}", "name", "invalid group name \"-g\""},
    {"{'name':'a/b','tasks':[" TASK("a") "]}", "name", "invalid group name"},
    {"{'name':'" NAME_112 "a','tasks':[" TASK("a") "]}", "name", "at most 112 characters"},
    {"{'name':5,'tasks':[" TASK("a") "]}", "name", "name: expected a string, got an integer"},
    {GROUP(",'job':'x y'"), "job", "job: invalid job name \"x y\""},
    {GROUP(",'job':''"), "job", "invalid job name"},
    {GROUP(",'jobs':'x'"), "jobs", "jobs: unknown option (did you mean \"job\"?)"},
    {GROUP(",'bogus':1"), "bogus", "bogus: unknown option"},
    /* count */
    {GROUP(",'count':0"), "count", "count: 0 is outside 1..100"},
    {GROUP(",'count':101"), "count", "101 is outside 1..100"},
    {GROUP(",'count':'2'"), "count", "expected an integer, got a string"},
    /* network */
    {GROUP(",'network':[]"), "network", "network: expected an object, got an array"},
    {GROUP(",'network':{'mdoe':'host'}"), "network.mdoe",
     "unknown option (did you mean \"mode\"?)"},
    {GROUP(",'network':{'mode':'container:x'}"), "network.mode",
     "invalid mode \"container:x\" (expected bridge, host, none or the name of a Docker network)"},
    {GROUP(",'network':{'mode':''}"), "network.mode", "invalid mode \"\""},
    {GROUP(",'network':{'ports':{'a-b':{}}}"), "network.ports.a-b", "invalid port label"},
    {GROUP(",'network':{'ports':{'http':1}}"), "network.ports.http",
     "expected an object, got an integer"},
    {GROUP(",'network':{'ports':{'http':{'static':70000}}}"), "network.ports.http.static",
     "outside 0..65535"},
    {GROUP(",'network':{'ports':{'http':{'too':1}}}"), "network.ports.http.too",
     "unknown option (did you mean \"to\"?)"},
    {GROUP(",'network':{'ports':{'a':{'static':80},'b':{'static':80}}}"), "network.ports.b.static",
     "port 80 is already used by \"a\""},
    {GROUP(",'network':{'ports':{'http':{'host_network':'public'}}}"),
     "network.ports.http.host_network", "host network \"public\" is not supported"},
    {GROUP(",'network':{'ports':{'http':{'host_network':1}}}"), "network.ports.http.host_network",
     "expected a string, got an integer"},
    {GROUP(",'network':{'mode':'host','ports':{'http':{'static':80,'to':8080}}}"),
     "network.ports.http.to", "cannot map to another port in host network mode"},
    {GROUP(",'network':{'dns':{'servers':['nope']}}"), "network.dns.servers[0]",
     "invalid IP address \"nope\""},
    {GROUP(",'network':{'dns':{'servers':'1.1.1.1'}}"), "network.dns.servers",
     "expected an array of strings, got a string"},
    {GROUP(",'network':{'dns':{'search':[]}}"), "network.dns.search",
     "unknown option (did you mean \"searches\"?)"},
    /* meta and restart, by the task spec's rules */
    {GROUP(",'meta':{'a b':'x'}"), "meta.a b", "invalid key"},
    {GROUP(",'meta':{'a':[1]}"), "meta.a", "expected a string, got an array"},
    {GROUP(",'meta':[]"), "meta", "expected an object, got an array"},
    {GROUP(",'restart':{'mode':'never'}"), "restart.mode", "invalid mode \"never\""},
    {GROUP(",'restart':{'interval':'1s'}"), "restart.interval", "below the minimum 5s"},
    {GROUP(",'restart':{'attempts':10,'interval':'1m','delay':'10s'}"), "restart.attempts",
     "cannot restart 10 times"},
    {GROUP(",'restart':{'atempts':1}"), "restart.atempts", "unknown option"},
    {GROUP(",'restart':5"), "restart", "expected an object, got an integer"},
    /* tasks */
    {"{'name':'g'}", "tasks", "tasks: at least one task required"},
    {"{'name':'g','tasks':[]}", "tasks", "tasks: at least one task required"},
    {"{'name':'g','tasks':{}}", "tasks", "expected an array of task specs, got an object"},
    {"{'name':'g','tasks':[5]}", "tasks[0]", "tasks[0]: expected a task spec object"},
    {"{'name':'g','tasks':[" TASK("a") ",{'name':'b','config':{}}]}", "tasks[1].config.image",
     "tasks[1].config.image: image name required"},
    {"{'name':'g','tasks':[" TASK("a") ",{'name':'b'}]}", "tasks[1].config.image",
     "image name required"},
    {"{'name':'g','tasks':[{'config':{'image':'busybox:1'}}]}", "tasks[0].name",
     "tasks[0].name: task name required"},
    {"{'name':'g','tasks':[{'name':'a','config':{'image':'busybox:1','bogus':1}}]}",
     "tasks[0].config.bogus", "tasks[0].config.bogus: unknown option"},
    {"{'name':'g','tasks':[{'name':'a','config':{'image':'busybox:1'},'meta':5}]}", "tasks[0].meta",
     "expected an object, got an integer"},
    {"{'name':'g','tasks':[" TASK("a") "," TASK("b") "," TASK("a") "]}", "tasks[2].name",
     "tasks[2].name: duplicate task name \"a\" (also tasks[0])"},
    /* a task's network belongs to the group */
    {"{'name':'g','tasks':[{'name':'a','config':{'image':'busybox:1'},"
     "'network':{'mode':'host'}}]}",
     "tasks[0].network", "set on the group's network (ports and the network mode"},
    {"{'name':'g','network':{'mode':'host'},'tasks':[{'name':'a','config':{'image':'busybox:1'},"
     "'network':{'ports':{'x':{}}}}]}",
     "tasks[0].network", "set on the group's network"},
    {"{'name':'g','network':{'mode':'host'},'tasks':[{'name':'a','config':{'image':'busybox:1',"
     "'network_mode':'host'}}]}",
     "tasks[0].config.network_mode", "set on the group's network (network.mode \"host\")"},
    {"{'name':'g','network':{'mode':'none'},'tasks':[{'name':'a','config':{'image':'busybox:1',"
     "'ports':['x']}}]}",
     "tasks[0].config.ports", "network.mode \"none\""},
    {"{'name':'g','network':{'mode':'net1'},'tasks':[{'name':'a','config':{'image':'busybox:1',"
     "'port_map':{'x':80}}}]}",
     "tasks[0].config.port_map", "network.mode \"net1\""},
};

/* In bridge mode, every option Docker refuses with a container: network mode. */
static const struct {
    const char *key, *value;
} bridge_refused[] = {
    {"network_mode", "'host'"},
    {"ports", "['http']"},
    {"port_map", "{'http':80}"},
    {"hostname", "'h'"},
    {"dns_servers", "['1.1.1.1']"},
    {"dns_search_domains", "['x']"},
    {"dns_options", "['ndots:1']"},
    {"extra_hosts", "['h:1.2.3.4']"},
    {"mac_address", "'02:42:ac:11:00:02'"},
    {"ipv4_address", "'10.0.0.2'"},
    {"ipv6_address", "'fd00::2'"},
    {"network_aliases", "['web']"},
};

static void check_error(const char *text, const char *field, const char *message)
{
    _cleanup_json_ json_t *j = load(text);
    dv_group_spec *g = (dv_group_spec *)0x1;
    dv_spec_error err;
    dv_spec_error_clear(&err);
    int r = dv_group_spec_parse(j, &g, &err);
    if (r >= 0)
        fail_msg("accepted: %s", text);
    assert_ptr_equal(g, (dv_group_spec *)0x1); /* untouched on failure */
    if (strcmp(err.field, field) != 0 || !strstr(err.err.msg, message))
        fail_msg("%s\n  got field \"%s\", message \"%s\"\n  want field \"%s\", message ~ \"%s\"",
                 text, err.field, err.err.msg, field, message);
    assert_null(strchr(err.err.msg, '\n'));
}

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_error(cases[i].json, cases[i].field, cases[i].message);
}

static void test_bridge_refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bridge_refused) / sizeof(bridge_refused[0]); i++) {
        char text[512], field[128];
        /* Default mode and explicit bridge alike. */
        snprintf(text, sizeof(text),
                 "{'name':'g','network':{'ports':{'http':{}}},'tasks':[" TASK(
                     "a") ","
                          "{'name':'b','config':{'image':'busybox:1','%s':%s}}]}",
                 bridge_refused[i].key, bridge_refused[i].value);
        snprintf(field, sizeof(field), "tasks[1].config.%s", bridge_refused[i].key);
        check_error(text, field, "set on the group's network in a group with bridge networking");
        snprintf(text, sizeof(text),
                 "{'name':'g','network':{'mode':'bridge'},'tasks':[{'name':'b','config':{"
                 "'image':'busybox:1','%s':%s}}]}",
                 bridge_refused[i].key, bridge_refused[i].value);
        snprintf(field, sizeof(field), "tasks[0].config.%s", bridge_refused[i].key);
        check_error(text, field, "bridge networking");
    }
}

static void test_counts_and_limits(void **state)
{
    (void)state;
    dv_group_spec *g = parse_ok(GROUP(",'count':100"));
    assert_int_equal(g->count, 100);
    dv_group_spec_free(g);
    g = parse_ok("{'name':'" NAME_112 "','tasks':[" TASK("a") "]}");
    assert_int_equal(strlen(g->name), DV_TASK_NAME_MAX - 16);
    dv_group_spec_free(g);
    /* 32 tasks fit, 33 do not. */
    char text[8192] = "{'name':'g','tasks':[";
    for (int i = 0; i < 33; i++) {
        char task[96];
        snprintf(task, sizeof(task), "%s{'name':'t%d','config':{'image':'busybox:1'}}",
                 i ? "," : "", i);
        strcat(text, task);
        if (i == 31) {
            char ok[8192];
            snprintf(ok, sizeof(ok), "%s]}", text);
            g = parse_ok(ok);
            assert_int_equal(g->n_tasks, 32);
            dv_group_spec_free(g);
        }
    }
    strcat(text, "]}");
    check_error(text, "tasks", "33 tasks, at most 32 in a group");
}

static void test_null_error(void **state)
{
    (void)state;
    _cleanup_json_ json_t *j = load("{'name':'g','tasks':[{'name':'a'}]}");
    dv_group_spec *g = NULL;
    assert_int_equal(dv_group_spec_parse(j, &g, NULL), -EINVAL);
    assert_null(g);
    assert_int_equal(dv_group_spec_parse(NULL, &g, NULL), -EINVAL);
    dv_group_spec_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),         cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults_applied), cmocka_unit_test(test_modes),
        cmocka_unit_test(test_is_group),         cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bridge_refusals),  cmocka_unit_test(test_counts_and_limits),
        cmocka_unit_test(test_null_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
