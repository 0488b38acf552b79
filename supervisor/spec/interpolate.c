/* ${...} interpolation: the grammar and the lookup (interpolate.h). */
#include "interpolate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "spec_json.h"
#include "xalloc.h"

/* NAME of env["NAME"] / env['NAME'], or NULL when EXPR is not of that form. */
static char *env_index(const char *expr)
{
    size_t n = strlen(expr);
    if (n < 7 || strncmp(expr, "env[", 4) != 0 || expr[n - 1] != ']')
        return NULL;
    char q = expr[4];
    if ((q != '"' && q != '\'') || expr[n - 2] != q)
        return NULL;
    return dv_xstrndup(expr + 5, n - 7);
}

static const char *lookup(const char *expr, const dv_interp_vars *v)
{
    const char *value = v->env ? dv_kv_get(v->env, expr) : NULL;
    if (value)
        return value;
    const struct {
        const char *name, *value;
    } node[] = {
        {"node.unique.id", v->node_id},
        {"node.unique.name", v->node_name},
        {"node.datacenter", v->node_datacenter},
        {"node.region", v->node_region},
        {"node.class", v->node_class ? v->node_class : ""},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(node); i++)
        if (strcmp(expr, node[i].name) == 0)
            return node[i].value;
    if (strncmp(expr, "meta.", 5) == 0 && v->meta)
        return dv_kv_get(v->meta, expr + 5);
    if (strncmp(expr, "attr.", 5) == 0 && v->attrs)
        return dv_kv_get(v->attrs, expr + 5);
    _cleanup_free_ char *name = env_index(expr);
    if (name && v->env)
        return dv_kv_get(v->env, name);
    return NULL;
}

int dv_interpolate(const char *in, const dv_interp_vars *vars, const char *field, char **ret,
                   dv_spec_error *err)
{
    _cleanup_buf_ dv_buf out = DV_BUF_INIT;
    const char *p = in;
    int r = 0;
    while (r >= 0 && *p) {
        const char *dollar = strstr(p, "${");
        if (!dollar) {
            r = dv_buf_appends(&out, p);
            break;
        }
        if (dollar > p && dollar[-1] == '$') {
            /* "$${": the escape, one "$" dropped and the rest kept as text */
            r = dv_buf_append(&out, p, (size_t)(dollar - 1 - p));
            r = r < 0 ? r : dv_buf_appends(&out, "${");
            p = dollar + 2;
            continue;
        }
        const char *end = strchr(dollar + 2, '}');
        if (!end)
            return dv_spec_fail(err, field, -EINVAL,
                                "\"${\" is never closed (write \"$${\" for a literal \"${\")");
        _cleanup_free_ char *expr = dv_xstrndup(dollar + 2, (size_t)(end - dollar - 2));
        const char *value = lookup(expr, vars);
        if (!value)
            return dv_spec_fail(err, field, -EINVAL,
                                "unknown variable ${%s} (write \"$${\" for a literal \"${\")",
                                expr);
        r = dv_buf_append(&out, p, (size_t)(dollar - p));
        r = r < 0 ? r : dv_buf_appends(&out, value);
        p = end + 1;
    }
    /* dv_buf (common/) reports exhaustion rather than aborting; the policy here is abort. */
    char *s = r < 0 ? NULL : dv_buf_steal(&out);
    if (!s)
        dv_oom("interpolate");
    *ret = s;
    return 0;
}

static int interpolate_string(json_t *parent, const char *key, size_t index, json_t *value,
                              const dv_interp_vars *vars, const char *field, dv_spec_error *err)
{
    const char *s = json_string_value(value);
    if (!strstr(s, "${"))
        return 0;
    _cleanup_free_ char *out = NULL;
    int r = dv_interpolate(s, vars, field, &out, err);
    if (r < 0)
        return r;
    json_t *v = json_string(out);
    if (!v) /* a variable's value that is not UTF-8: Jansson refuses it */
        return dv_spec_fail(err, field, -EINVAL, "the interpolated value is not valid UTF-8");
    return key ? json_object_set_new(parent, key, v) : json_array_set_new(parent, index, v);
}

int dv_interpolate_json(json_t *value, const dv_interp_vars *vars, const char *path,
                        dv_spec_error *err)
{
    char field[DV_SPEC_FIELD_MAX];
    int r = 0;
    if (json_is_object(value)) {
        const char *key;
        json_t *item;
        json_object_foreach(value, key, item)
        {
            dv_sj_join(field, path, key);
            r = json_is_string(item) ? interpolate_string(value, key, 0, item, vars, field, err)
                                     : dv_interpolate_json(item, vars, field, err);
            if (r < 0)
                return r;
        }
    } else if (json_is_array(value)) {
        for (size_t i = 0; i < json_array_size(value); i++) {
            json_t *item = json_array_get(value, i);
            dv_sj_index(field, path, i);
            r = json_is_string(item) ? interpolate_string(value, NULL, i, item, vars, field, err)
                                     : dv_interpolate_json(item, vars, field, err);
            if (r < 0)
                return r;
        }
    }
    return 0;
}
