#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json_strict.h"
#include "xalloc.h"

/* Strict reading of one object: every key must be known, so a typo in what the
 * agent writes fails loudly instead of silently using a default. */
static int check_keys(const json_t *obj, const char *where, const char *const *known, dv_error *err)
{
    const char *key = dv_json_unknown_key(obj, known);
    if (key)
        return dv_error_set(err, -EINVAL, "%s%s%s: unknown key", where, *where ? "." : "", key);
    return 0;
}

static int get_string(const json_t *obj, const char *where, const char *key, bool required,
                      char **ret, dv_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return dv_error_set(err, -EINVAL, "%s%s%s: missing", where, *where ? "." : "", key);
        return 0;
    }
    if (!json_is_string(v) || (required && json_string_length(v) == 0))
        return dv_error_set(err, -EINVAL, "%s%s%s: must be a non-empty string", where,
                            *where ? "." : "", key);
    *ret = dv_xstrdup(json_string_value(v));
    return 0;
}

static int get_bool(const json_t *obj, const char *where, const char *key, bool *ret, dv_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return dv_error_set(err, -EINVAL, "%s.%s: missing", where, key);
    if (!json_is_boolean(v))
        return dv_error_set(err, -EINVAL, "%s.%s: must be true or false", where, key);
    *ret = json_is_true(v);
    return 0;
}

static int get_int(const json_t *obj, const char *where, const char *key, int min, int *ret,
                   dv_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return dv_error_set(err, -EINVAL, "%s.%s: missing", where, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > 1000000)
        return dv_error_set(err, -EINVAL, "%s.%s: must be an integer >= %d", where, key, min);
    *ret = (int)json_integer_value(v);
    return 0;
}

static int get_object(const json_t *obj, const char *key, bool required, json_t **ret,
                      dv_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return dv_error_set(err, -EINVAL, "%s: missing", key);
        *ret = NULL;
        return 0;
    }
    if (!json_is_object(v))
        return dv_error_set(err, -EINVAL, "%s: must be an object", key);
    *ret = v;
    return 0;
}

/* The id goes into request paths unescaped. */
static bool path_safe(const char *s)
{
    for (; *s; s++)
        if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') || ('0' <= *s && *s <= '9') ||
              *s == '_' || *s == '.' || *s == '-'))
            return false;
    return true;
}

static int parse(const json_t *json, dl_config *c, dv_error *err)
{
    static const char *const top[] = {"version",    "endpoint", "addresses", "tls",
                                      "container",  "task",     "files",     "journald",
                                      "checkpoint", "gaps",     "source",    NULL};
    static const char *const tls[] = {"cert", "key", "ca", NULL};
    static const char *const container[] = {"id", "name", "tty", "image", NULL};
    static const char *const task[] = {"id", "name", NULL};
    static const char *const files[] = {"enabled",   "dir",           "base",
                                        "max_files", "max_file_size", NULL};
    static const char *const journald[] = {"enabled", "identifier", "socket", NULL};
    int r;

    if (!json_is_object(json))
        return dv_error_set(err, -EINVAL, "not a JSON object");
    if ((r = check_keys(json, "", top, err)) < 0)
        return r;
    json_t *v = json_object_get(json, "version");
    if (!json_is_integer(v) || json_integer_value(v) != DV_DOCKLOG_CONFIG_VERSION)
        return dv_error_set(err, -EINVAL, "version: must be %d (this docklog's format)",
                            DV_DOCKLOG_CONFIG_VERSION);
    if ((r = get_string(json, "", "endpoint", true, &c->endpoint, err)) < 0 ||
        (r = get_string(json, "", "checkpoint", true, &c->checkpoint, err)) < 0 ||
        (r = get_string(json, "", "gaps", false, &c->gaps, err)) < 0)
        return r;
    json_t *src = json_object_get(json, "source");
    const char *source = json_string_value(src);
    if (src && (!source || (strcmp(source, "auto") != 0 && strcmp(source, "api") != 0 &&
                            strcmp(source, "file") != 0)))
        return dv_error_set(err, -EINVAL, "source: must be \"auto\", \"api\" or \"file\"");
    c->source = !source || strcmp(source, "auto") == 0 ? DL_SOURCE_AUTO
                : strcmp(source, "api") == 0           ? DL_SOURCE_API
                                                       : DL_SOURCE_FILE;

    json_t *a = json_object_get(json, "addresses");
    if (a && (!json_is_array(a) || json_array_size(a) > DV_DOCKLOG_ADDRESSES_MAX))
        return dv_error_set(err, -EINVAL, "addresses: must be an array of at most %d strings",
                            DV_DOCKLOG_ADDRESSES_MAX);
    for (size_t i = 0; a && i < json_array_size(a); i++) {
        const char *text = json_string_value(json_array_get(a, i));
        if (!text)
            return dv_error_set(err, -EINVAL, "addresses[%zu]: must be a string", i);
        c->addresses[c->n_addresses++] = dv_xstrdup(text);
    }

    json_t *o;
    if ((r = get_object(json, "tls", false, &o, err)) < 0)
        return r;
    if (o && ((r = check_keys(o, "tls", tls, err)) < 0 ||
              (r = get_string(o, "tls", "cert", true, &c->tls_cert, err)) < 0 ||
              (r = get_string(o, "tls", "key", true, &c->tls_key, err)) < 0 ||
              (r = get_string(o, "tls", "ca", true, &c->tls_ca, err)) < 0))
        return r;

    if ((r = get_object(json, "container", true, &o, err)) < 0 ||
        (r = check_keys(o, "container", container, err)) < 0 ||
        (r = get_string(o, "container", "id", true, &c->container_id, err)) < 0 ||
        (r = get_string(o, "container", "name", true, &c->container_name, err)) < 0 ||
        (r = get_string(o, "container", "image", true, &c->image, err)) < 0 ||
        (r = get_bool(o, "container", "tty", &c->tty, err)) < 0)
        return r;
    if (!path_safe(c->container_id))
        return dv_error_set(err, -EINVAL, "container.id: \"%s\" is not a container id",
                            c->container_id);

    if ((r = get_object(json, "task", true, &o, err)) < 0 ||
        (r = check_keys(o, "task", task, err)) < 0 ||
        (r = get_string(o, "task", "id", true, &c->task_id, err)) < 0 ||
        (r = get_string(o, "task", "name", true, &c->task_name, err)) < 0)
        return r;

    if ((r = get_object(json, "files", true, &o, err)) < 0 ||
        (r = check_keys(o, "files", files, err)) < 0 ||
        (r = get_bool(o, "files", "enabled", &c->files.enabled, err)) < 0)
        return r;
    if (c->files.enabled) {
        if ((r = get_string(o, "files", "dir", true, &c->files.dir, err)) < 0 ||
            (r = get_string(o, "files", "base", true, &c->files.base, err)) < 0 ||
            (r = get_int(o, "files", "max_files", 1, &c->files.max_files, err)) < 0 ||
            (r = get_int(o, "files", "max_file_size", 1, &c->files.max_file_size_mb, err)) < 0)
            return r;
        if (strchr(c->files.base, '/'))
            return dv_error_set(err, -EINVAL, "files.base: must be a file name, not a path");
    }

    if ((r = get_object(json, "journald", true, &o, err)) < 0 ||
        (r = check_keys(o, "journald", journald, err)) < 0 ||
        (r = get_bool(o, "journald", "enabled", &c->journald.enabled, err)) < 0 ||
        (r = get_string(o, "journald", "identifier", false, &c->journald.identifier, err)) < 0 ||
        (r = get_string(o, "journald", "socket", false, &c->journald.socket, err)) < 0)
        return r;
    if (!c->journald.identifier)
        c->journald.identifier = dv_xstrdup(c->task_name);
    if (!c->journald.socket)
        c->journald.socket = dv_xstrdup(DL_JOURNALD_SOCKET_DEFAULT);

    if (!c->files.enabled && !c->journald.enabled)
        return dv_error_set(err, -EINVAL, "neither files nor journald is enabled");
    return 0;
}

int dl_config_parse(const json_t *json, dl_config *ret, dv_error *err)
{
    dl_config c = {0};
    int r = parse(json, &c, err);
    if (r < 0) {
        dl_config_free(&c);
        return r;
    }
    *ret = c;
    return 0;
}

int dl_config_load(const char *path, dl_config *ret, dv_error *err)
{
    _cleanup_json_ json_t *json = NULL;
    int r = dv_json_read_strict(path, &json, err);
    if (r < 0)
        return r;
    r = dl_config_parse(json, ret, err);
    if (r < 0)
        return dv_error_wrap(err, "%s", path);
    return 0;
}

void dl_config_free(dl_config *c)
{
    char **fields[] = {&c->endpoint,        &c->tls_cert,     &c->tls_key,
                       &c->tls_ca,          &c->container_id, &c->container_name,
                       &c->image,           &c->task_id,      &c->task_name,
                       &c->files.dir,       &c->files.base,   &c->journald.identifier,
                       &c->journald.socket, &c->checkpoint,   &c->gaps};
    for (size_t i = 0; i < DV_ARRAY_SIZE(fields); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
    for (size_t i = 0; i < c->n_addresses; i++) {
        free(c->addresses[i]);
        c->addresses[i] = NULL;
    }
    c->n_addresses = 0;
}
