/* Registry credentials: the task's auth block, the agent's docker config
 * file, the agent's credential helper (registry_auth_helper.c), in that order. */
#include "registry_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "base64.h"
#include "cleanup.h"
#include "image_name.h"
#include "xalloc.h"

static void free_secret(char *s)
{
    if (s) {
        /* Credentials should not outlive their use in freed heap memory. */
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void dv_registry_creds_clear(dv_registry_creds *c)
{
    if (!c)
        return;
    free(c->username);
    free_secret(c->password);
    free(c->email);
    free(c->server_address);
    free_secret(c->identity_token);
    memset(c, 0, sizeof(*c));
}

static char *dup_or_null(const char *s)
{
    return s && *s ? dv_xstrdup(s) : NULL;
}

/* Fill C (cleared) from the given strings; NULL or "" = absent. */
static void creds_set(dv_registry_creds *c, enum dv_auth_source source, const char *username,
                      const char *password, const char *email, const char *server,
                      const char *token)
{
    dv_registry_creds n = {.found = true, .source = source};
    n.username = dup_or_null(username);
    n.password = dup_or_null(password);
    n.email = dup_or_null(email);
    n.server_address = dup_or_null(server);
    n.identity_token = dup_or_null(token);
    n.auth =
        (dv_registry_auth){n.username, n.password, n.email, n.server_address, n.identity_token};
    dv_registry_creds_clear(c);
    *c = n;
}

/* Registry host of a config.json key or server: without scheme and path. */
static void host_of(const char *s, char *out, size_t size)
{
    if (strncmp(s, "https://", 8) == 0)
        s += 8;
    else if (strncmp(s, "http://", 7) == 0)
        s += 7;
    snprintf(out, size, "%.*s", (int)strcspn(s, "/"), s);
}

static bool is_hub(const char *host)
{
    return strcmp(host, "docker.io") == 0 || strcmp(host, "index.docker.io") == 0 ||
           strcmp(host, "registry-1.docker.io") == 0;
}

static bool same_registry(const char *key, const char *server)
{
    char a[256], b[256];
    host_of(key, a, sizeof(a));
    host_of(server, b, sizeof(b));
    return strcmp(a, b) == 0 || (is_hub(a) && is_hub(b));
}

/* Standard or URL-safe base64 of "user:password", padding optional; NULL unless it
 * decodes to text. */
static char *b64_decode(const char *in)
{
    void *out = NULL;
    size_t len = 0;
    if (dv_base64_decode(in, strlen(in), &out, &len) < 0)
        return NULL;
    if (strlen(out) != len) { /* NUL inside: not text */
        free_secret(out);
        return NULL;
    }
    return out;
}

static const char *jstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? s : NULL;
}

static int lookup_auths(const json_t *auths, const char *server, dv_registry_creds *ret,
                        dv_spec_error *err)
{
    const char *key;
    const json_t *entry;
    json_object_foreach((json_t *)auths, key, entry)
    {
        if (!same_registry(key, server) || !json_is_object(entry))
            continue;
        const char *encoded = jstr(entry, "auth");
        const char *user = jstr(entry, "username"), *pass = jstr(entry, "password");
        const char *token = jstr(entry, "identitytoken"), *email = jstr(entry, "email");
        char *decoded = NULL;
        if (encoded) {
            decoded = b64_decode(encoded);
            char *colon = decoded ? strchr(decoded, ':') : NULL;
            if (!colon) {
                free_secret(decoded);
                return dv_spec_fail(err, "docker.auth.config", -EINVAL,
                                    "auths.%s.auth is not base64 of \"user:password\"", key);
            }
            *colon = '\0';
            user = decoded;
            pass = colon + 1;
        }
        if (!user && !pass && !token) {
            free_secret(decoded);
            continue; /* an empty entry: the credentials are in a store */
        }
        creds_set(ret, DV_AUTH_CONFIG_FILE, user, pass, email, server, token);
        free_secret(decoded);
        return 0;
    }
    return 0;
}

int dv_docker_config_lookup(const json_t *config, const char *server, dv_registry_creds *ret,
                            const char **ret_helper, dv_spec_error *err)
{
    if (!json_is_object(config))
        return dv_spec_fail(err, "docker.auth.config", -EINVAL, "not a JSON object");
    const json_t *auths = json_object_get(config, "auths");
    if (json_is_object(auths)) {
        int r = lookup_auths(auths, server, ret, err);
        if (r < 0 || ret->found)
            return r;
    }
    const json_t *helpers = json_object_get(config, "credHelpers");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)helpers, key, value)
    {
        if (json_is_string(value) && *json_string_value(value) && same_registry(key, server)) {
            *ret_helper = json_string_value(value);
            return 0;
        }
    }
    const char *store = jstr(config, "credsStore");
    if (store)
        *ret_helper = store;
    return 0;
}

static int from_config_file(const char *path, const char *server, int64_t timeout_ns,
                            dv_registry_creds *ret, dv_spec_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    dv_error e;
    if (dv_read_file(path, &text, &len, &e) < 0)
        return dv_spec_fail(err, "docker.auth.config", e.code, "%s", e.msg);
    json_error_t jerr;
    _cleanup_json_ json_t *config = json_loadb(text, len, 0, &jerr);
    explicit_bzero(text, len);
    if (!config)
        return dv_spec_fail(err, "docker.auth.config", -EINVAL, "%s:%d: invalid JSON: %s", path,
                            jerr.line, jerr.text);
    const char *helper = NULL;
    int r = dv_docker_config_lookup(config, server, ret, &helper, err);
    if (r < 0 || ret->found || !helper)
        return r;
    r = dv_cred_helper_get(helper, server, timeout_ns, ret, err);
    if (r >= 0 && ret->found)
        ret->source = DV_AUTH_CONFIG_HELPER;
    return r;
}

int dv_registry_auth_resolve(const dv_task_spec *spec, const char *server,
                             const dv_auth_sources *sources, dv_registry_creds *ret,
                             dv_spec_error *err)
{
    memset(ret, 0, sizeof(*ret));
    dv_spec_error local;
    if (!err)
        err = &local; /* the soft-fail warning needs the message */
    const dv_task_config *c = &spec->config;
    if (c->auth.set) {
        /* Docker Hub when the task names no server, as the docs say. */
        const char *addr = c->auth.server_address ? c->auth.server_address : server;
        creds_set(ret, DV_AUTH_TASK, c->auth.username, c->auth.password, c->auth.email, addr, NULL);
        return 0;
    }
    int64_t timeout = sources && sources->helper_timeout_ns ? sources->helper_timeout_ns
                                                            : DV_CRED_HELPER_TIMEOUT_NS;
    int r = 0;
    if (sources && sources->config_path && *sources->config_path)
        r = from_config_file(sources->config_path, server, timeout, ret, err);
    if (r >= 0 && !ret->found && sources && sources->helper && *sources->helper) {
        r = dv_cred_helper_get(sources->helper, server, timeout, ret, err);
        if (r >= 0 && ret->found)
            ret->source = DV_AUTH_HELPER;
    }
    if (r < 0) {
        dv_registry_creds_clear(ret);
        if (c->auth_soft_fail) {
            /* auth_soft_fail: carry on anonymously, but say why. */
            snprintf(ret->warning, sizeof(ret->warning),
                     "registry auth failed, pulling without credentials: %s", err->err.msg);
            dv_spec_error_clear(err);
            return 0;
        }
        return r;
    }
    return 0;
}
