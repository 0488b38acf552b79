/* Registry credentials for an image pull, as the docker driver resolves them
 * (first match wins):
 *   1. the task's config.auth block (username/password/email/server_address);
 *   2. the agent's docker.auth.config file (a docker config.json): "auths"
 *      (base64 "auth" = "user:password", or "username"/"password", or
 *      "identitytoken"), then "credHelpers"[registry], then "credsStore";
 *   3. the agent's docker.auth.helper: docker-credential-<helper> get.
 * Nothing found = anonymous (ret->found false), not an error.
 *
 * A helper is run without a shell (looked up on PATH), with the server on its
 * stdin and a timeout, every fd CLOEXEC, always reaped; it answers
 * {"ServerURL", "Username", "Secret"} ("<token>" as Username means Secret is
 * an identity token). "credentials not found" from a helper means "nothing
 * found". A failing helper, an unreadable or malformed config file: an error,
 * unless auth_soft_fail is set, in which case the pull goes on anonymously
 * and ret->warning says why (the agent emits it as a task event).
 *
 * Secrets: the result holds the password; never print it. */
#ifndef DV_REGISTRY_AUTH_H
#define DV_REGISTRY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "docker.h"
#include "spec.h"
#include "spec_types.h"

#define DV_CRED_HELPER_TIMEOUT_NS (INT64_C(60) * 1000000000)

enum dv_auth_source {
    DV_AUTH_NONE,          /* anonymous */
    DV_AUTH_TASK,          /* config.auth */
    DV_AUTH_CONFIG_FILE,   /* docker.auth.config "auths" */
    DV_AUTH_CONFIG_HELPER, /* docker.auth.config credHelpers / credsStore */
    DV_AUTH_HELPER,        /* docker.auth.helper */
};

typedef struct dv_registry_creds {
    bool found;
    enum dv_auth_source source;
    /* auth.* point into the owned strings below; pass &creds.auth to
     * dv_pull_options.auth when found. */
    dv_registry_auth auth;
    char *username, *password, *email, *server_address, *identity_token;
    char warning[512]; /* set when auth_soft_fail swallowed an error */
} dv_registry_creds;

void dv_registry_creds_clear(dv_registry_creds *creds);

typedef struct dv_auth_sources {
    const char *config_path;   /* docker.auth.config, NULL = none */
    const char *helper;        /* docker.auth.helper, NULL = none */
    int64_t helper_timeout_ns; /* 0 = DV_CRED_HELPER_TIMEOUT_NS */
} dv_auth_sources;

/* Resolve the credentials for pulling SPEC's image (SERVER:
 * dv_image_auth_server() of it). RET is always initialized (found false when
 * nothing applies); on error it holds nothing. */
int dv_registry_auth_resolve(const dv_task_spec *spec, const char *server,
                             const dv_auth_sources *sources, dv_registry_creds *ret,
                             dv_spec_error *err);

/* ---- building blocks (pure, tested on their own) ---- */

/* Look SERVER up in a parsed docker config.json. Matching ignores a scheme
 * and a path in the keys ("https://r.example/v1/" matches "r.example"); Docker
 * Hub matches its usual keys. On an "auths" hit fills RET (found true). On a
 * credHelpers / credsStore hit sets *ret_helper to the helper's suffix (points
 * into CONFIG) and leaves RET not found. */
int dv_docker_config_lookup(const json_t *config, const char *server, dv_registry_creds *ret,
                            const char **ret_helper, dv_spec_error *err);

/* Run docker-credential-HELPER get for SERVER (PATH lookup, no shell). */
int dv_cred_helper_get(const char *helper, const char *server, int64_t timeout_ns,
                       dv_registry_creds *ret, dv_spec_error *err);

#endif
