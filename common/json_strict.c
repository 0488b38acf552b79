#include "json_strict.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "atomic_file.h"
#include "cleanup.h"

int dv_json_parse_strict(const char *text, size_t len, json_t **ret, dv_error *err)
{
    json_error_t jerr;
    /* Jansson refuses by default what follows the value (no JSON_DISABLE_EOF_CHECK)
     * and "\u0000" (no JSON_ALLOW_NUL); duplicates only when asked. */
    _cleanup_json_ json_t *json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json)
        return dv_error_set(err, -EINVAL, "line %d column %d: %s", jerr.line, jerr.column,
                            jerr.text);
    if (!json_is_object(json))
        return dv_error_set(err, -EINVAL, "not a JSON object");
    *ret = TAKE_PTR(json);
    return 0;
}

int dv_json_read_strict(const char *path, json_t **ret, dv_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = dv_read_file(path, &text, &len, err);
    if (r < 0)
        return r;
    if ((r = dv_json_parse_strict(text, len, ret, err)) < 0)
        return dv_error_wrap(err, "%s", path);
    return 0;
}

/* PATH (LEN bytes used, of SIZE) names JSON; true with PATH naming the string found
 * (a path too long for PATH is named as far as it fits). */
static bool find_nul(const json_t *json, char *path, size_t len, size_t size)
{
    if (json_is_string(json))
        return memchr(json_string_value(json), '\0', json_string_length(json)) != NULL;
    int n;
    if (json_is_array(json)) {
        size_t i;
        json_t *v;
        json_array_foreach((json_t *)json, i, v)
        {
            n = snprintf(path + len, size - len, "[%zu]", i);
            if (find_nul(v, path, n > 0 && len + (size_t)n < size ? len + (size_t)n : len, size))
                return true;
        }
    } else if (json_is_object(json)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)json, key, v)
        {
            n = snprintf(path + len, size - len, "%s%s", len ? "." : "", key);
            if (find_nul(v, path, n > 0 && len + (size_t)n < size ? len + (size_t)n : len, size))
                return true;
        }
    }
    path[len] = '\0';
    return false;
}

int dv_json_refuse_nul(const json_t *json, dv_error *err)
{
    char path[512] = "";
    if (!find_nul(json, path, 0, sizeof(path)))
        return 0;
    return dv_error_set(err, -EINVAL, "%s: holds a NUL character (\\u0000), which no field takes",
                        path[0] ? path : "the text");
}

const char *dv_json_unknown_key(const json_t *obj, const char *const *known)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        const char *const *k = known;
        while (*k && strcmp(*k, key) != 0)
            k++;
        if (!*k)
            return key;
    }
    return NULL;
}
