/* Image references: https:// prefix, registry/repository/tag/digest, the pull
 * decision and the registry credentials are looked up for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "image_name.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *image, *registry, *repository, *tag, *digest, *ref, *auth_server;
    } cases[] = {
        {"redis", "docker.io", "library/redis", NULL, NULL, "redis:latest", DV_DOCKER_HUB_AUTH_KEY},
        {"redis:7", "docker.io", "library/redis", "7", NULL, "redis:7", DV_DOCKER_HUB_AUTH_KEY},
        {"bitnami/redis:7.0", "docker.io", "bitnami/redis", "7.0", NULL, "bitnami/redis:7.0",
         DV_DOCKER_HUB_AUTH_KEY},
        {"https://hub.docker.internal/redis:7", "hub.docker.internal", "redis", "7", NULL,
         "hub.docker.internal/redis:7", "hub.docker.internal"},
        {"127.0.0.1:5000/dockvisor-test/busybox:1", "127.0.0.1:5000", "dockvisor-test/busybox", "1",
         NULL, "127.0.0.1:5000/dockvisor-test/busybox:1", "127.0.0.1:5000"},
        {"localhost/app", "localhost", "app", NULL, NULL, "localhost/app:latest", "localhost"},
        {"registry:5000/app", "registry:5000", "app", NULL, NULL, "registry:5000/app:latest",
         "registry:5000"},
        {"alpine@" DIGEST, "docker.io", "library/alpine", NULL, DIGEST, "alpine@" DIGEST,
         DV_DOCKER_HUB_AUTH_KEY},
        {"alpine:3.18@" DIGEST, "docker.io", "library/alpine", "3.18", DIGEST,
         "alpine:3.18@" DIGEST, DV_DOCKER_HUB_AUTH_KEY},
        {"docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", NULL,
         "docker.io/library/busybox:latest", DV_DOCKER_HUB_AUTH_KEY},
        {"a/b/c__d.e-f:T_a.g-1", "docker.io", "a/b/c__d.e-f", "T_a.g-1", NULL,
         "a/b/c__d.e-f:T_a.g-1", DV_DOCKER_HUB_AUTH_KEY},
        {"[::1]:5000/app:2", "[::1]:5000", "app", "2", NULL, "[::1]:5000/app:2", "[::1]:5000"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dv_image_name n;
        dv_spec_error err;
        if (dv_image_name_parse(cases[i].image, &n, &err) < 0)
            fail_msg("%s: %s", cases[i].image, err.err.msg);
        assert_string_equal(n.registry, cases[i].registry);
        assert_string_equal(n.repository, cases[i].repository);
        if (cases[i].tag)
            assert_string_equal(n.tag, cases[i].tag);
        else
            assert_null(n.tag);
        if (cases[i].digest)
            assert_string_equal(n.digest, cases[i].digest);
        else
            assert_null(n.digest);
        assert_string_equal(n.ref, cases[i].ref);
        assert_string_equal(dv_image_auth_server(&n), cases[i].auth_server);
        dv_image_name_clear(&n);
    }
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *image, *message;
    } cases[] = {
        {"", "config.image: image name required"},
        {"https://", "invalid image reference"},
        {"Redis", "repository name must be lowercase"},
        {"redis:", "invalid tag \"\""},
        {"redis:a b", "invalid tag"},
        {"redis:-x", "invalid tag"},
        {"redis@sha256:abc", "invalid digest"},
        {"redis@", "invalid digest"},
        {"a//b", "invalid image reference"},
        {"a/-b", "invalid image reference"},
        {"a/b_", "invalid image reference"},
        {"a/b...c", "invalid image reference"},
        {"a/b___c", "invalid image reference"},
        {"my_registry.example.com/app", "invalid registry"},
        {"/app", "invalid image reference"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dv_image_name n = {0};
        dv_spec_error err;
        dv_spec_error_clear(&err);
        if (dv_image_name_parse(cases[i].image, &n, &err) >= 0)
            fail_msg("\"%s\" accepted", cases[i].image);
        if (!strstr(err.err.msg, cases[i].message))
            fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].image, err.err.msg,
                     cases[i].message);
        assert_string_equal(err.field, "config.image");
        assert_null(n.ref); /* untouched */
    }
    assert_int_equal(dv_image_name_parse(NULL, NULL, NULL), -EINVAL);
}

static void test_needs_pull(void **state)
{
    (void)state;
    static const struct {
        const char *image;
        bool force, present, pull;
    } cases[] = {
        {"redis:7", false, true, false},
        {"redis:7", false, false, true},
        {"redis:7", true, true, true},
        {"redis", false, true, true},
        {"redis:latest", false, true, true},
        {"redis@" DIGEST, false, true, false},
        {"redis@" DIGEST, false, false, true},
        {"redis@" DIGEST, true, true, true},
        {"redis:latest@" DIGEST, false, true, true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dv_image_name n;
        assert_int_equal(dv_image_name_parse(cases[i].image, &n, NULL), 0);
        if (dv_image_needs_pull(&n, cases[i].force, cases[i].present) != cases[i].pull)
            fail_msg("%s force=%d present=%d: want pull=%d", cases[i].image, cases[i].force,
                     cases[i].present, cases[i].pull);
        dv_image_name_clear(&n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_needs_pull),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
