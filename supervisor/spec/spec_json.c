#include "spec_json.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "duration.h"
#include "json_strict.h"
#include "xalloc.h"

void dv_sj_join(char out[DV_SPEC_FIELD_MAX], const char *path, const char *key)
{
    if (path && *path)
        snprintf(out, DV_SPEC_FIELD_MAX, "%s.%s", path, key);
    else
        snprintf(out, DV_SPEC_FIELD_MAX, "%s", key);
}

void dv_sj_index(char out[DV_SPEC_FIELD_MAX], const char *path, size_t i)
{
    snprintf(out, DV_SPEC_FIELD_MAX, "%s[%zu]", path ? path : "", i);
}

const char *dv_sj_type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

/* Edit distance, bounded: good enough to suggest "port_map" for "port_mapp". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int dv_sj_check_keys(const json_t *obj, const char *path, const char *const *allowed,
                     dv_spec_error *err)
{
    const char *key = dv_json_unknown_key(obj, allowed);
    if (!key)
        return 0;
    /* Not known: the nearest known key, if one is near enough, is the suggestion. */
    const char *near = NULL;
    size_t best = 3;
    for (const char *const *a = allowed; *a; a++) {
        size_t d = distance(*a, key);
        /* "selinux" for "selinuxlabel": a long common prefix is a near miss too */
        size_t klen = strlen(key), alen = strlen(*a);
        if (d >= best && klen >= 5 && alen >= 5 && strncmp(*a, key, klen < alen ? klen : alen) == 0)
            d = best - 1;
        if (d < best) {
            best = d;
            near = *a;
        }
    }
    char field[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, key);
    if (near)
        return dv_spec_fail(err, field, -EINVAL, "unknown option (did you mean \"%s\"?)", near);
    return dv_spec_fail(err, field, -EINVAL, "unknown option");
}

static const json_t *get(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

static int wrong_type(dv_spec_error *err, const char *path, const char *key, const char *want,
                      const json_t *got)
{
    char field[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, key);
    return dv_spec_fail(err, field, -EINVAL, "expected %s, got %s", want, dv_sj_type_name(got));
}

int dv_sj_object(const json_t *obj, const char *path, const char *key, const json_t **ret,
                 dv_spec_error *err)
{
    const json_t *v = get(obj, key);
    if (v && !json_is_object(v))
        return wrong_type(err, path, key, "an object", v);
    *ret = v;
    return 0;
}

/* A copy of a JSON string, refusing embedded NULs (they would silently cut the value). */
static int copy_string(const json_t *v, const char *field, char **ret, dv_spec_error *err)
{
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (strlen(s) != len)
        return dv_spec_fail(err, field, -EINVAL, "contains a NUL character");
    *ret = dv_xstrdup(s);
    return 0;
}

int dv_sj_string_ref(const json_t *obj, const char *path, const char *key, const char **ret,
                     dv_spec_error *err)
{
    const json_t *v = get(obj, key);
    *ret = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return wrong_type(err, path, key, "a string", v);
    *ret = json_string_value(v);
    return 0;
}

int dv_sj_string(const json_t *obj, const char *path, const char *key, char **ret,
                 dv_spec_error *err)
{
    const char *s = NULL;
    int r = dv_sj_string_ref(obj, path, key, &s, err);
    if (r < 0 || !s)
        return r;
    char field[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, key);
    char *copy = NULL;
    r = copy_string(get(obj, key), field, &copy, err);
    if (r < 0)
        return r;
    free(*ret);
    *ret = copy;
    return 0;
}

int dv_sj_bool(const json_t *obj, const char *path, const char *key, bool *ret, dv_spec_error *err)
{
    const json_t *v = get(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return wrong_type(err, path, key, "a boolean (true or false)", v);
    *ret = json_is_true(v);
    return 0;
}

int dv_sj_int(const json_t *obj, const char *path, const char *key, int64_t min, int64_t max,
              int64_t *ret, dv_spec_error *err)
{
    const json_t *v = get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return wrong_type(err, path, key, "an integer", v);
    json_int_t n = json_integer_value(v);
    if (n < min || n > max) {
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_join(field, path, key);
        if (max == INT64_MAX)
            return dv_spec_fail(err, field, -ERANGE, "%" PRId64 " is below the minimum %" PRId64,
                                (int64_t)n, min);
        return dv_spec_fail(err, field, -ERANGE, "%" PRId64 " is outside %" PRId64 "..%" PRId64,
                            (int64_t)n, min, max);
    }
    *ret = n;
    return 0;
}

int dv_sj_duration(const json_t *obj, const char *path, const char *key, int64_t min_ns,
                   int64_t *ret_ns, dv_spec_error *err)
{
    const json_t *v = get(obj, key);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return wrong_type(err, path, key, "a duration string (e.g. \"30s\", \"5m\")", v);
    char field[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, key);
    dv_error e;
    int64_t ns = 0;
    if (dv_duration_parse(json_string_value(v), &ns, &e) < 0)
        return dv_spec_fail_from(err, field, &e);
    if (ns < min_ns) {
        char min[32];
        dv_duration_format(min_ns, min, sizeof(min));
        return dv_spec_fail(err, field, -ERANGE, "\"%s\" is below the minimum %s",
                            json_string_value(v), min);
    }
    *ret_ns = ns;
    return 0;
}

int dv_sj_strv(const json_t *obj, const char *path, const char *key, dv_strv *ret, bool *ret_set,
               dv_spec_error *err)
{
    const json_t *v = get(obj, key);
    if (!v)
        return 0;
    if (!json_is_array(v))
        return wrong_type(err, path, key, "an array of strings", v);
    char field[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, key);
    dv_strv list = {0};
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item)
    {
        char ifield[DV_SPEC_FIELD_MAX];
        dv_sj_index(ifield, field, i);
        if (!json_is_string(item)) {
            dv_strv_free(&list);
            return dv_spec_fail(err, ifield, -EINVAL, "expected a string, got %s",
                                dv_sj_type_name(item));
        }
        _cleanup_free_ char *s = NULL;
        int r = copy_string(item, ifield, &s, err);
        if (r < 0) {
            dv_strv_free(&list);
            return r;
        }
        dv_strv_push(&list, s);
    }
    dv_strv_free(ret);
    *ret = list;
    if (ret_set)
        *ret_set = true;
    return 0;
}

int dv_sj_kv(const json_t *obj, const char *path, const char *key, dv_kv *ret, dv_spec_error *err)
{
    const json_t *v = get(obj, key);
    if (!v)
        return 0;
    if (!json_is_object(v))
        return wrong_type(err, path, key, "an object", v);
    char field[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, key);
    dv_kv map = {0};
    const char *k;
    const json_t *item;
    json_object_foreach((json_t *)v, k, item)
    {
        char ifield[DV_SPEC_FIELD_MAX];
        dv_sj_join(ifield, field, k);
        char num[32];
        _cleanup_free_ char *s = NULL;
        const char *text = NULL;
        int r = 0;
        if (json_is_string(item)) {
            r = copy_string(item, ifield, &s, err);
            text = s;
        } else if (json_is_integer(item)) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(item));
            text = num;
        } else if (json_is_boolean(item)) {
            text = json_is_true(item) ? "true" : "false";
        } else {
            r = dv_spec_fail(err, ifield, -EINVAL, "expected a string, got %s",
                             dv_sj_type_name(item));
        }
        if (r >= 0 && !*k)
            r = dv_spec_fail(err, field, -EINVAL, "empty key");
        if (r < 0) {
            dv_kv_free(&map);
            return r;
        }
        dv_kv_set(&map, k, text);
    }
    dv_kv_free(ret);
    *ret = map;
    return 0;
}

bool dv_sj_valid_ip(const char *text)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return text && (inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1);
}

bool dv_sj_valid_docker_name(const char *text, size_t max)
{
    size_t n = text ? strlen(text) : 0;
    if (n == 0 || n > max || !isalnum((unsigned char)text[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)text[i]) && !strchr("_.-", text[i]))
            return false;
    return true;
}

bool dv_sj_valid_mac(const char *text)
{
    /* six two-digit hex octets separated by ':' (Docker's format) */
    if (!text || strlen(text) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        char c = text[i];
        if (i % 3 == 2) {
            if (c != ':')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

int dv_sj_logging_type(const json_t *logging, const char *path, char **ret, dv_spec_error *err)
{
    _cleanup_free_ char *type = NULL, *driver = NULL;
    int r;
    if ((r = dv_sj_string(logging, path, "type", &type, err)) < 0 ||
        (r = dv_sj_string(logging, path, "driver", &driver, err)) < 0)
        return r;
    if (type && *type && driver && *driver && strcmp(type, driver) != 0) {
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_join(field, path, "driver");
        return dv_spec_fail(err, field, -EINVAL,
                            "\"%s\" conflicts with type \"%s\" (driver is an older name of "
                            "type: give one)",
                            driver, type);
    }
    if (!type || !*type) {
        free(type);
        type = TAKE_PTR(driver);
    }
    if (type) {
        free(*ret);
        *ret = TAKE_PTR(type);
    }
    return 0;
}

int dv_sj_windows_only(const json_t *obj, const char *path, const char *key, dv_spec_error *err)
{
    if (!get(obj, key))
        return 0;
    char field[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, key);
    return dv_spec_fail(err, field, -EINVAL, "only meaningful on Windows; this is a Linux node");
}

bool dv_meta_key_valid(const char *key)
{
    if (!*key)
        return false;
    for (const char *c = key; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
            return false;
    return true;
}
