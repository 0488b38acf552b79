#include "json_file.h"

#include <errno.h>

#include "atomic_file.h"
#include "cleanup.h"

int dv_json_read_file(const char *path, size_t flags, json_t **ret, dv_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = dv_read_file(path, &text, &len, err);
    if (r < 0)
        return r;
    json_error_t jerr;
    json_t *json = json_loadb(text, len, flags, &jerr);
    if (!json)
        return dv_error_set(err, -EINVAL, "%s: line %d: %s", path, jerr.line, jerr.text);
    *ret = json;
    return 0;
}
