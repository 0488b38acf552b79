/* The image GC's removal decision against the fake Engine (fault injection: a
 * 500 or a conflict on demand): removal is by image id, as Nomad's; a tag no
 * task used keeps the image with all its names; a conflict keeps it; other
 * failures are retried; nothing is ever forced. */
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

static enum dv_image_removal run(struct env *e, const char *const *names, size_t n, char *detail)
{
    return dv_image_remove_unused(e->dk, ID, names, n, detail, 512);
}

static void test_single_tag_is_deleted_by_id(void **state)
{
    struct env *e = *state;
    const char *names[] = {"app:1"};
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200,
                  "{\"Id\":\"" ID "\",\"RepoTags\":[\"app:1\"]}");
    dv_fake_reply(e->fake, "DELETE", "/images/" ID, 1, 200,
                  "[{\"Untagged\":\"app:1\"},{\"Deleted\":\"" ID "\"}]");
    char detail[512];
    assert_int_equal(run(e, names, 1, detail), DV_IMAGE_REMOVED);
    /* never by name, never forced */
    assert_string_equal(calls(e->fake),
                        "GET /images/" ID "/json,DELETE /images/" ID "?force=0&noprune=0");
}

static void test_foreign_tag_keeps_every_name(void **state)
{
    struct env *e = *state;
    /* the user's second tag in our repository, and one in another repository */
    const char *names[] = {"app:1"};
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200,
                  "{\"Id\":\"" ID "\",\"RepoTags\":[\"app:1\",\"app:mine\",\"theirs/app:2\"]}");
    char detail[512];
    assert_int_equal(run(e, names, 1, detail), DV_IMAGE_KEPT);
    assert_string_equal(detail, "also tagged as app:mine, theirs/app:2, which no task used (the "
                                "image GC never untags those)");
    assert_null(dv_fake_find(e->fake, "DELETE", "/"));
}

static void test_only_foreign_tags_is_kept(void **state)
{
    struct env *e = *state;
    /* a name re-pulled since names another image: ours is tagged by others only */
    const char *names[] = {"moved:1"};
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200,
                  "{\"Id\":\"" ID "\",\"RepoTags\":[\"theirs:1\"]}");
    char detail[512];
    assert_int_equal(run(e, names, 1, detail), DV_IMAGE_KEPT);
    assert_non_null(strstr(detail, "also tagged as theirs:1,"));
    assert_null(dv_fake_find(e->fake, "DELETE", "/"));
}

static void test_hub_names_are_ours_as_docker_lists_them(void **state)
{
    struct env *e = *state;
    /* tasks wrote the long forms; Docker lists the familiar ones. Ours in three
     * repositories: two are untagged by name (Docker refuses an image several
     * repositories name), then the image goes by id. */
    const char *names[] = {"docker.io/library/redis:7", "index.docker.io/x/y:1",
                           "library/busybox:1"};
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200,
                  "{\"Id\":\"" ID "\",\"RepoTags\":[\"redis:7\",\"x/y:1\",\"busybox:1\"]}");
    dv_fake_reply(e->fake, "DELETE", "/images/x/y:1", 1, 200, "[{\"Untagged\":\"x/y:1\"}]");
    dv_fake_reply(e->fake, "DELETE", "/images/busybox:1", 1, 404,
                  "{\"message\":\"No such image\"}");
    dv_fake_reply(e->fake, "DELETE", "/images/" ID, 1, 200, "[{\"Deleted\":\"" ID "\"}]");
    char detail[512];
    assert_int_equal(run(e, names, 3, detail), DV_IMAGE_REMOVED);
    assert_string_equal(calls(e->fake), "GET /images/" ID "/json,"
                                        "DELETE /images/x/y:1?force=0&noprune=0,"
                                        "DELETE /images/busybox:1?force=0&noprune=0,"
                                        "DELETE /images/" ID "?force=0&noprune=0");
}

static void test_untagged_image_is_deleted_by_id(void **state)
{
    struct env *e = *state;
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200,
                  "{\"Id\":\"" ID "\",\"RepoTags\":[\"<none>:<none>\"]}");
    dv_fake_reply(e->fake, "DELETE", "/images/" ID, 1, 200, "[{\"Deleted\":\"" ID "\"}]");
    char detail[512];
    assert_int_equal(run(e, NULL, 0, detail), DV_IMAGE_REMOVED);
    const dv_fake_request *del = dv_fake_find(e->fake, "DELETE", "/images/" ID);
    assert_non_null(del);
    assert_non_null(strstr(del->query, "force=0"));
}

static void test_gone_is_removed(void **state)
{
    struct env *e = *state;
    const char *names[] = {"app:1"};
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 404, "{\"message\":\"No such image\"}");
    char detail[512];
    assert_int_equal(run(e, names, 1, detail), DV_IMAGE_REMOVED);
    assert_null(dv_fake_find(e->fake, "DELETE", "/"));
}

static void test_conflict_keeps_the_image(void **state)
{
    struct env *e = *state;
    const char *names[] = {"app:1"};
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200,
                  "{\"Id\":\"" ID "\",\"RepoTags\":[\"app:1\"]}");
    dv_fake_reply(e->fake, "DELETE", "/images/" ID, 1, 409,
                  "{\"message\":\"conflict: unable to delete 111111111111 (must be forced) - "
                  "image is being used by stopped container 0123456789ab\"}");
    char detail[512];
    assert_int_equal(run(e, names, 1, detail), DV_IMAGE_KEPT);
    assert_non_null(strstr(detail, "stopped container 0123456789ab"));

    /* tagged in another repository between our look and the delete */
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200, "{\"Id\":\"" ID "\"}");
    dv_fake_reply(e->fake, "DELETE", "/images/" ID, 1, 409,
                  "{\"message\":\"conflict: unable to delete 111111111111 (must be forced) - "
                  "image is referenced in multiple repositories\"}");
    assert_int_equal(run(e, names, 1, detail), DV_IMAGE_KEPT);
    assert_non_null(strstr(detail, "referenced in multiple repositories"));
    assert_int_equal(dv_fake_count(e->fake, "DELETE", "/images/app"), 0);
}

static void test_engine_failures_are_retried(void **state)
{
    struct env *e = *state;
    const char *names[] = {"app:1", "mirror/app:1"};
    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 503, "{\"message\":\"busy\"}");
    char detail[512];
    assert_int_equal(run(e, names, 2, detail), DV_IMAGE_REMOVAL_FAILED);
    assert_non_null(strstr(detail, "busy"));

    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200,
                  "{\"Id\":\"" ID "\",\"RepoTags\":[\"app:1\"]}");
    dv_fake_reply(e->fake, "DELETE", "/images/" ID, 1, 500, "{\"message\":\"driver failed\"}");
    assert_int_equal(run(e, names, 2, detail), DV_IMAGE_REMOVAL_FAILED);
    assert_non_null(strstr(detail, "driver failed"));

    dv_fake_reply(e->fake, "GET", "/images/" ID "/json", 1, 200,
                  "{\"Id\":\"" ID "\",\"RepoTags\":[\"app:1\",\"mirror/app:1\"]}");
    dv_fake_reply(e->fake, "DELETE", "/images/mirror/app:1", 1, 500,
                  "{\"message\":\"disk error\"}");
    assert_int_equal(run(e, names, 2, detail), DV_IMAGE_REMOVAL_FAILED);
    assert_non_null(strstr(detail, "untag mirror/app:1: "));
    assert_non_null(strstr(detail, "disk error"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_tag_is_deleted_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_tag_keeps_every_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_foreign_tags_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_names_are_ours_as_docker_lists_them, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_untagged_image_is_deleted_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_is_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_keeps_the_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_failures_are_retried, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
