/* Port requests from the network block and config.ports / port_map, and the
 * placeholder allocation of `validate`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "cleanup.h"
#include "spec.h"
#include "spec_ports.h"

static dv_task_spec *parse_ok(const char *text)
{
    _cleanup_json_ json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    dv_task_spec *spec = NULL;
    dv_spec_error err;
    if (dv_spec_parse(j, &spec, &err) < 0)
        fail_msg("parse failed: %s", err.err.msg);
    return spec;
}

typedef struct want {
    const char *label;
    int static_port, container_port;
    bool publish;
} want;

static void check(const char *text, const want *w, size_t n)
{
    dv_task_spec *spec = parse_ok(text);
    dv_port_request *reqs = NULL;
    size_t got = 99;
    assert_int_equal(dv_spec_port_requests(spec, &reqs, &got, NULL), 0);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(reqs[i].label, w[i].label);
        assert_int_equal(reqs[i].static_port, w[i].static_port);
        assert_int_equal(reqs[i].container_port, w[i].container_port);
        assert_int_equal(reqs[i].publish, w[i].publish);
    }
    free(reqs);
    dv_task_spec_free(spec);
}

static void test_ports_form(void **state)
{
    (void)state;
    /* Only the labels listed in config.ports are published; all are allocated. */
    const want w[] = {{"http", 0, 8080, true}, {"admin", 9000, 0, false}, {"dns", 53, 0, true}};
    check("{\"name\":\"t\",\"config\":{\"image\":\"b:1\",\"ports\":[\"http\",\"dns\"]},"
          "\"network\":{\"ports\":{\"http\":{\"to\":8080},\"admin\":{\"static\":9000},"
          "\"dns\":{\"static\":53}}}}",
          w, 3);
}

static void test_port_map_form(void **state)
{
    (void)state;
    /* Deprecated form: every declared port published, port_map gives the container side. */
    const want w[] = {{"db", 0, 6379, true}, {"web", 8000, 0, true}};
    check("{\"name\":\"t\",\"config\":{\"image\":\"b:1\",\"port_map\":{\"db\":6379}},"
          "\"network\":{\"ports\":{\"db\":{},\"web\":{\"static\":8000}}}}",
          w, 2);
}

static void test_no_publishing_modes(void **state)
{
    (void)state;
    const want host[] = {{"http", 8080, 0, false}, {"dyn", 0, 0, false}};
    check("{\"name\":\"t\",\"config\":{\"image\":\"b:1\",\"ports\":[\"http\",\"dyn\"]},"
          "\"network\":{\"mode\":\"host\",\"ports\":{\"http\":{\"static\":8080,\"to\":8080},"
          "\"dyn\":{}}}}",
          host, 2);
    const want none[] = {{"http", 0, 80, false}};
    check("{\"name\":\"t\",\"config\":{\"image\":\"b:1\",\"ports\":[\"http\"]},"
          "\"network\":{\"mode\":\"none\",\"ports\":{\"http\":{\"to\":80}}}}",
          none, 1);
    check("{\"name\":\"t\",\"config\":{\"image\":\"b:1\",\"ports\":[\"http\"],"
          "\"network_mode\":\"container:x\"},\"network\":{\"ports\":{\"http\":{\"to\":80}}}}",
          none, 1);
    /* a user-defined network is published like bridge */
    const want user[] = {{"http", 0, 80, true}};
    check("{\"name\":\"t\",\"config\":{\"image\":\"b:1\",\"ports\":[\"http\"],"
          "\"network_mode\":\"mynet\"},\"network\":{\"ports\":{\"http\":{\"to\":80}}}}",
          user, 1);
    check("{\"name\":\"t\",\"config\":{\"image\":\"b:1\"}}", NULL, 0);
}

static void test_placeholder(void **state)
{
    (void)state;
    const dv_port_request reqs[] = {
        {"a", 0, 80, true}, {"b", 20001, 0, true}, {"c", 0, 0, false}, {"d", 0, 0, true}};
    dv_port_alloc *allocs = NULL;
    assert_int_equal(dv_ports_placeholder(reqs, 4, 20000, 20010, &allocs, NULL), 0);
    assert_int_equal(allocs[0].host_port, 20000);
    assert_int_equal(allocs[0].container_port, 80);
    assert_true(allocs[0].publish);
    assert_int_equal(allocs[1].host_port, 20001);
    assert_int_equal(allocs[2].host_port, 20002); /* skips the static 20001 */
    assert_false(allocs[2].publish);
    assert_int_equal(allocs[3].host_port, 20003);
    assert_string_equal(allocs[3].label, "d");
    free(allocs);

    dv_spec_error err;
    allocs = NULL;
    assert_int_equal(dv_ports_placeholder(reqs, 4, 20000, 20002, &allocs, &err), -ENOSPC);
    assert_null(allocs);
    assert_string_equal(err.field, "network.ports.d");
    assert_string_equal(err.err.msg, "network.ports.d: no free port in the range 20000-20002");
    assert_int_equal(dv_ports_placeholder(NULL, 0, 1, 1, &allocs, NULL), 0);
    assert_null(allocs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ports_form),
        cmocka_unit_test(test_port_map_form),
        cmocka_unit_test(test_no_publishing_modes),
        cmocka_unit_test(test_placeholder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
