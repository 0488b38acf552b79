/* Nomad's ${...} interpolation: the grammar, every kind of variable, the
 * errors that name the field, and the walk over a JSON config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "cleanup.h"
#include "interpolate.h"

typedef struct fixture {
    dv_kv env, meta, attrs;
    dv_interp_vars vars;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    dv_kv_set(&f->env, "NOMAD_TASK_NAME", "web");
    dv_kv_set(&f->env, "NOMAD_PORT_http", "8080");
    dv_kv_set(&f->env, "EMPTY", "");
    dv_kv_set(&f->meta, "rack", "r7");
    dv_kv_set(&f->attrs, "kernel.name", "linux");
    f->vars = (dv_interp_vars){.env = &f->env,
                               .node_id = "node-uuid",
                               .node_name = "n1",
                               .node_datacenter = "dc1",
                               .node_region = "global",
                               .node_class = NULL,
                               .meta = &f->meta,
                               .attrs = &f->attrs};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dv_kv_free(&f->env);
    dv_kv_free(&f->meta);
    dv_kv_free(&f->attrs);
    free(f);
    return 0;
}

static void test_values(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"plain", "plain"},
        {"", ""},
        {"${NOMAD_TASK_NAME}", "web"},
        {"a${NOMAD_TASK_NAME}b${NOMAD_PORT_http}c", "awebb8080c"},
        {"${EMPTY}x", "x"},
        {"${node.unique.id}/${node.unique.name}/${node.datacenter}/${node.region}",
         "node-uuid/n1/dc1/global"},
        {"[${node.class}]", "[]"},
        {"${meta.rack}", "r7"},
        {"${attr.kernel.name}", "linux"},
        {"${env[\"NOMAD_PORT_http\"]}", "8080"},
        {"${env['NOMAD_TASK_NAME']}", "web"},
        /* Nomad's escape: a shell's own variable reaches the container as written */
        {"echo $${HOME} ${NOMAD_TASK_NAME}", "echo ${HOME} web"},
        {"$$${NOMAD_TASK_NAME}", "$${NOMAD_TASK_NAME}"},
        {"$ $5 {x} }", "$ $5 {x} }"},
        /* one pass: a value is never interpolated again */
        {"${NOMAD_TASK_NAME}${NOMAD_TASK_NAME}", "webweb"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = NULL;
        dv_spec_error err;
        if (dv_interpolate(cases[i].in, &f->vars, "config.x", &out, &err) < 0)
            fail_msg("%s: %s", cases[i].in, err.err.msg);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].in, out, cases[i].want);
        free(out);
    }
}

static void test_errors(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *in, *message;
    } cases[] = {
        {"${NOMAD_ALOC_ID}", "config.x: unknown variable ${NOMAD_ALOC_ID}"},
        {"${meta.nope}", "unknown variable ${meta.nope}"},
        {"${attr.nope}", "unknown variable ${attr.nope}"},
        {"${env[\"NOPE\"]}", "unknown variable ${env[\"NOPE\"]}"},
        {"${env[NOMAD_TASK_NAME]}", "unknown variable"},
        {"${node.unique}", "unknown variable"},
        {"${}", "unknown variable ${}"},
        {"ok ${NOMAD_TASK_NAME", "\"${\" is never closed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = NULL;
        dv_spec_error err;
        dv_spec_error_clear(&err);
        assert_int_equal(dv_interpolate(cases[i].in, &f->vars, "config.x", &out, &err), -EINVAL);
        assert_null(out);
        assert_string_equal(err.field, "config.x");
        if (!strstr(err.err.msg, cases[i].message))
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].in, err.err.msg, cases[i].message);
    }
}

static void test_json_walk(void **state)
{
    fixture *f = *state;
    _cleanup_json_ json_t *config =
        json_loads("{\"image\":\"reg/${NOMAD_TASK_NAME}:1\",\"n\":5,\"b\":true,"
                   "\"volumes\":[\"/srv/${meta.rack}:/data\"],"
                   "\"mount\":[{\"source\":\"${NOMAD_TASK_NAME}-vol\",\"target\":\"/m\"}],"
                   "\"labels\":{\"${NOMAD_TASK_NAME}\":\"${node.unique.name}\"}}",
                   0, NULL);
    dv_spec_error err;
    if (dv_interpolate_json(config, &f->vars, "config", &err) < 0)
        fail_msg("%s", err.err.msg);
    _cleanup_free_ char *got = json_dumps(config, JSON_SORT_KEYS | JSON_COMPACT);
    /* keys are never interpolated, as in Nomad's maps */
    assert_string_equal(got,
                        "{\"b\":true,\"image\":\"reg/web:1\",\"labels\":{\"${NOMAD_TASK_NAME}\":"
                        "\"n1\"},\"mount\":[{\"source\":\"web-vol\",\"target\":\"/m\"}],"
                        "\"n\":5,\"volumes\":[\"/srv/r7:/data\"]}");

    /* an error names the string's own path */
    _cleanup_json_ json_t *bad =
        json_loads("{\"mount\":[{\"target\":\"/m\"},{\"source\":\"${nope}\"}]}", 0, NULL);
    dv_spec_error_clear(&err);
    assert_int_equal(dv_interpolate_json(bad, &f->vars, "config", &err), -EINVAL);
    assert_string_equal(err.field, "config.mount[1].source");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_walk, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
