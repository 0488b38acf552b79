/* The image GC's removal decision against the fake Engine (fault injection: a
 * 500 or a conflict on demand): our names are untagged only while they still
 * name the image, a foreign tag keeps the image, a conflict keeps it, other
 * failures are retried, nothing is ever forced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "fake_engine.h"
#include "image_gc.h"

#define ID "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define OTHER "sha256:2222222222222222222222222222222222222222222222222222222222222222"

struct env {
    dv_fake *fake;
    dv_docker *dk;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    e->fake = dv_fake_start(NULL, NULL);
    dv_docker_config c = {.endpoint = dv_fake_endpoint(e->fake)};
    if (dv_docker_new(&c, &e->dk, NULL) < 0)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    dv_docker_free(e->dk);
    dv_fake_stop(e->fake);
    free(e);
    return 0;
}

/* "METHOD path?query" of every call but the version negotiation, comma separated. */
static const char *calls(dv_fake *f)
{
    static char buf[4096];
    buf[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < dv_fake_request_count(f); i++) {
        const dv_fake_request *r = dv_fake_request_at(f, i);
        if (strcmp(r->path, "/version") == 0 || strcmp(r->path, "/_ping") == 0)
            continue;
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s %s%s%s", len ? "," : "",
                                r->method, r->path, r->query[0] ? "?" : "", r->query);
    }
    return buf;
}

static enum dv_image_removal run(struct env *e, const char *const *names, size_t n,
                                 size_t *untagged, char *detail)
{
    return dv_image_remove_unused(e->dk, ID, names, n, untagged, detail, 512);
}

static void test_last_tag_removes_the_image(void **state)
{
    struct env *e = *state;
    const char *names[] = {"app:1"};
    dv_fake_reply(e->fake, "GET", "/images/app:1/json", 1, 200, "{\"Id\":\"" ID "\"}");
    dv_fake_reply(e->fake, "DELETE", "/images/app:1", 1, 200, "[{\"Untagged\":\"app:1\"}]");
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 404, "{\"message\":\"No such image\"}");
    size_t untagged = 9;
    char detail[512];
    assert_int_equal(run(e, names, 1, &untagged, detail), DV_IMAGE_REMOVED);
    assert_int_equal(untagged, 1);
    assert_string_equal(calls(e->fake),
                        "GET /images/app:1/json,DELETE /images/app:1?force=0&noprune=0,"
                        "GET /images/" ID "/json");
}

static void test_foreign_tag_keeps_the_image(void **state)
{
    struct env *e = *state;
    const char *names[] = {"copy:1", "moved:1", "gone:1"};
    dv_fake_reply(e->fake, "GET", "/images/copy:1/json", 1, 200, "{\"Id\":\"" ID "\"}");
    dv_fake_reply(e->fake, "DELETE", "/images/copy:1", 1, 200, "[]");
    /* re-pulled since: names another image, which is left alone */
    dv_fake_reply(e->fake, "GET", "/images/moved:1/json", 1, 200, "{\"Id\":\"" OTHER "\"}");
    dv_fake_reply(e->fake, "GET", "/images/gone:1/json", 1, 404, "{\"message\":\"No such image\"}");
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200,
                  "{\"Id\":\"" ID "\",\"RepoTags\":[\"shared:1\",\"also:2\"]}");
    size_t untagged = 0;
    char detail[512];
    assert_int_equal(run(e, names, 3, &untagged, detail), DV_IMAGE_UNTAGGED);
    assert_int_equal(untagged, 1);
    assert_string_equal(detail, "still tagged as shared:1, also:2");
    assert_null(dv_fake_find(e->fake, "DELETE", "/images/moved"));
    assert_null(dv_fake_find(e->fake, "DELETE", "/images/sha256"));
}

static void test_only_foreign_tags_is_kept(void **state)
{
    struct env *e = *state;
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200,
                  "{\"Id\":\"" ID "\",\"RepoTags\":[\"theirs:1\"]}");
    size_t untagged = 0;
    char detail[512];
    assert_int_equal(run(e, NULL, 0, &untagged, detail), DV_IMAGE_KEPT);
    assert_string_equal(detail, "still tagged as theirs:1");
    assert_null(dv_fake_find(e->fake, "DELETE", "/"));
}

static void test_untagged_image_is_deleted_by_id(void **state)
{
    struct env *e = *state;
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200,
                  "{\"Id\":\"" ID "\",\"RepoTags\":[\"<none>:<none>\"]}");
    dv_fake_reply(e->fake, "DELETE", "/images/" ID, 1, 200, "[{\"Deleted\":\"" ID "\"}]");
    size_t untagged = 0;
    char detail[512];
    assert_int_equal(run(e, NULL, 0, &untagged, detail), DV_IMAGE_REMOVED);
    const dv_fake_request *del = dv_fake_find(e->fake, "DELETE", "/images/" ID);
    assert_non_null(del);
    assert_non_null(strstr(del->query, "force=0"));
}

static void test_conflict_keeps_the_image(void **state)
{
    struct env *e = *state;
    const char *names[] = {"app:1"};
    dv_fake_reply(e->fake, "GET", "/images/app:1/json", 1, 200, "{\"Id\":\"" ID "\"}");
    dv_fake_reply(e->fake, "DELETE", "/images/app:1", 1, 409,
                  "{\"message\":\"conflict: unable to remove repository reference \\\"app:1\\\" "
                  "(must force) - container 0123456789ab is using its referenced image\"}");
    size_t untagged = 0;
    char detail[512];
    assert_int_equal(run(e, names, 1, &untagged, detail), DV_IMAGE_KEPT);
    assert_int_equal(untagged, 0);
    assert_non_null(strstr(detail, "is using its referenced image"));

    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200, "{\"Id\":\"" ID "\"}");
    dv_fake_reply(e->fake, "DELETE", "/images/" ID, 1, 409,
                  "{\"message\":\"conflict: unable to delete (image has dependent child "
                  "images)\"}");
    assert_int_equal(run(e, NULL, 0, &untagged, detail), DV_IMAGE_KEPT);
}

static void test_engine_failures_are_retried(void **state)
{
    struct env *e = *state;
    const char *names[] = {"app:1"};
    dv_fake_reply(e->fake, "GET", "/images/app:1/json", 1, 500, "{\"message\":\"boom\"}");
    size_t untagged = 0;
    char detail[512];
    assert_int_equal(run(e, names, 1, &untagged, detail), DV_IMAGE_REMOVAL_FAILED);
    assert_non_null(strstr(detail, "boom"));

    dv_fake_reply(e->fake, "GET", "/images/app:1/json", 1, 200, "{\"Id\":\"" ID "\"}");
    dv_fake_reply(e->fake, "DELETE", "/images/app:1", 1, 500, "{\"message\":\"driver failed\"}");
    assert_int_equal(run(e, names, 1, &untagged, detail), DV_IMAGE_REMOVAL_FAILED);
    assert_non_null(strstr(detail, "driver failed"));

    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 503, "{\"message\":\"busy\"}");
    assert_int_equal(run(e, NULL, 0, &untagged, detail), DV_IMAGE_REMOVAL_FAILED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_last_tag_removes_the_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_tag_keeps_the_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_foreign_tags_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untagged_image_is_deleted_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_keeps_the_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_failures_are_retried, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
