/* Image references as the docker driver writes them: an optional "https://"
 * prefix (stripped), an optional registry host, the repository path, and a
 * tag and/or digest.
 *
 *   "redis"                            docker.io / library/redis, no tag
 *   "https://hub.docker.internal/redis:7"  hub.docker.internal / redis : 7
 *   "127.0.0.1:5000/dockvisor-test/busybox:1"
 *   "alpine@sha256:<64 hex>"
 *
 * The first path component is a registry when it contains '.' or ':' or is
 * "localhost" (Docker's rule). */
#ifndef DV_IMAGE_NAME_H
#define DV_IMAGE_NAME_H

#include <stdbool.h>

#include "spec_types.h"

#define DV_DOCKER_HUB_REGISTRY "docker.io"
/* The key of Docker Hub in a docker config.json ("auths") and the server URL
 * credential helpers are asked for. */
#define DV_DOCKER_HUB_AUTH_KEY "https://index.docker.io/v1/"

typedef struct dv_image_name {
    char *registry;   /* "docker.io" when none is written */
    char *repository; /* path in the registry; "library/x" for official Hub images */
    char *tag;        /* NULL when none is written */
    char *digest;     /* "sha256:..." or NULL */
    /* What to pull and inspect: the image without https://, with ":latest"
     * added when it has neither tag nor digest (a pull without a tag would
     * fetch every tag). */
    char *ref;
} dv_image_name;

/* Parse IMAGE. Errors: empty ("image name required"), bad characters,
 * uppercase repository, malformed tag or digest. RET untouched on failure. */
int dv_image_name_parse(const char *image, dv_image_name *ret, dv_spec_error *err);
void dv_image_name_clear(dv_image_name *name);

/* Nomad's rule: pull when force_pull, when the tag is "latest" or absent
 * (without a digest), or when the image is not present locally (the agent
 * inspects). */
bool dv_image_needs_pull(const dv_image_name *name, bool force_pull, bool present_locally);

/* The registry host credentials are looked up for: name->registry, or
 * DV_DOCKER_HUB_AUTH_KEY for Docker Hub. Points into NAME or is static. */
const char *dv_image_auth_server(const dv_image_name *name);

#endif
