#include "image_name.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

#define FIELD "config.image"

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component of Docker's reference grammar:
 * [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool valid_component(const char *s, size_t n)
{
    if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (lower_alnum(s[i]))
            continue;
        if (s[i] == '.' || s[i] == '_') {
            size_t run = 1;
            while (i + run < n && s[i + run] == s[i])
                run++;
            if (run > (s[i] == '_' ? 2u : 1u))
                return false;
            i += run - 1;
        } else if (s[i] != '-') {
            return false;
        }
    }
    return true;
}

static bool valid_tag(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128 || t[0] == '.' || t[0] == '-')
        return false;
    for (const char *p = t; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            return false;
    return true;
}

static bool valid_digest(const char *d)
{
    const char *colon = strchr(d, ':');
    if (!colon || colon == d || !colon[1])
        return false;
    for (const char *p = d; p < colon; p++)
        if (!lower_alnum(*p) && *p != '+' && *p != '.' && *p != '_' && *p != '-')
            return false;
    size_t hex = 0;
    for (const char *p = colon + 1; *p; p++, hex++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return strncmp(d, "sha256:", 7) != 0 || hex == 64;
}

static bool valid_registry(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || strchr(".-:[]", s[i])))
            return false;
    return n > 0;
}

void dv_image_name_clear(dv_image_name *name)
{
    if (!name)
        return;
    free(name->registry);
    free(name->repository);
    free(name->tag);
    free(name->digest);
    free(name->ref);
    memset(name, 0, sizeof(*name));
}

static void image_name_clearp(dv_image_name *name)
{
    dv_image_name_clear(name);
}

int dv_image_name_parse(const char *image, dv_image_name *ret, dv_spec_error *err)
{
    if (!image || !*image)
        return dv_spec_fail(err, FIELD, -EINVAL, "image name required");
    const char *s = image;
    if (strncmp(s, "https://", 8) == 0)
        s += 8;
    _cleanup_free_ char *rest = dv_xstrdup(s);
    __attribute__((cleanup(image_name_clearp))) dv_image_name n = {0};

    char *at = strchr(rest, '@');
    if (at) {
        *at = '\0';
        if (!valid_digest(at + 1))
            return dv_spec_fail(err, FIELD, -EINVAL, "invalid digest in image \"%s\"", image);
        n.digest = dv_xstrdup(at + 1);
    }
    char *slash = strrchr(rest, '/');
    char *colon = strrchr(slash ? slash : rest, ':');
    if (colon) {
        *colon = '\0';
        if (!valid_tag(colon + 1))
            return dv_spec_fail(err, FIELD, -EINVAL, "invalid tag \"%s\" in image \"%s\"",
                                colon + 1, image);
        n.tag = dv_xstrdup(colon + 1);
    }

    const char *path = rest;
    char *first = strchr(rest, '/');
    if (first &&
        (memchr(rest, '.', (size_t)(first - rest)) || memchr(rest, ':', (size_t)(first - rest)) ||
         (first - rest == 9 && strncmp(rest, "localhost", 9) == 0))) {
        if (!valid_registry(rest, (size_t)(first - rest)))
            return dv_spec_fail(err, FIELD, -EINVAL, "invalid registry in image \"%s\"", image);
        n.registry = dv_xstrndup(rest, (size_t)(first - rest));
        path = first + 1;
    } else {
        n.registry = dv_xstrdup(DV_DOCKER_HUB_REGISTRY);
    }

    for (const char *c = path;;) {
        const char *end = strchr(c, '/');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        if (!valid_component(c, len)) {
            for (size_t i = 0; i < len; i++)
                if (c[i] >= 'A' && c[i] <= 'Z')
                    return dv_spec_fail(err, FIELD, -EINVAL,
                                        "invalid image \"%s\": repository name must be lowercase",
                                        image);
            return dv_spec_fail(err, FIELD, -EINVAL, "invalid image reference \"%s\"", image);
        }
        if (!end)
            break;
        c = end + 1;
    }
    bool hub = strcmp(n.registry, DV_DOCKER_HUB_REGISTRY) == 0;
    n.repository = hub && !strchr(path, '/') ? dv_xasprintf("library/%s", path) : dv_xstrdup(path);

    /* The reference keeps the user's spelling (minus https://) so the local
     * image store finds what `docker pull` of the same string stored. */
    size_t name_len = strcspn(s, "@");
    n.ref = n.tag || n.digest ? dv_xstrdup(s) : dv_xasprintf("%.*s:latest", (int)name_len, s);
    *ret = n;
    memset(&n, 0, sizeof(n));
    return 0;
}

bool dv_image_needs_pull(const dv_image_name *name, bool force_pull, bool present_locally)
{
    if (force_pull || !present_locally)
        return true;
    if (name->digest && !name->tag)
        return false; /* a digest names immutable content */
    return !name->tag || strcmp(name->tag, "latest") == 0;
}

const char *dv_image_auth_server(const dv_image_name *name)
{
    if (strcmp(name->registry, DV_DOCKER_HUB_REGISTRY) == 0 ||
        strcmp(name->registry, "index.docker.io") == 0 ||
        strcmp(name->registry, "registry-1.docker.io") == 0)
        return DV_DOCKER_HUB_AUTH_KEY;
    return name->registry;
}
