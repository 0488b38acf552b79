#include "json_strict.h"

#include <errno.h>
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
