#include "spec_types.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

void dv_spec_error_clear(dv_spec_error *err)
{
    if (!err)
        return;
    dv_error_clear(&err->err);
    err->field[0] = '\0';
}

int dv_spec_fail(dv_spec_error *err, const char *field, int code, const char *fmt, ...)
{
    code = code > 0 ? -code : (code == 0 ? -EINVAL : code);
    if (!err)
        return code;
    char reason[DV_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    if (field && *field)
        return dv_error_set(&err->err, code, "%s: %s", field, reason);
    return dv_error_set(&err->err, code, "%s", reason);
}

int dv_spec_fail_from(dv_spec_error *err, const char *field, const dv_error *cause)
{
    int code = cause && cause->code ? cause->code : -EINVAL;
    return dv_spec_fail(err, field, code, "%s", cause ? cause->msg : "invalid");
}

void dv_strv_free(dv_strv *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

void dv_strv_push(dv_strv *s, const char *value)
{
    char *copy = dv_xstrdup(value);
    s->v = dv_xreallocarray(s->v, s->n + 1, sizeof(*s->v));
    s->v[s->n++] = copy;
}

bool dv_strv_contains(const dv_strv *s, const char *value)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->v[i], value) == 0)
            return true;
    return false;
}

bool dv_strv_contains_case(const dv_strv *s, const char *value)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcasecmp(s->v[i], value) == 0)
            return true;
    return false;
}

void dv_kv_free(dv_kv *kv)
{
    if (!kv)
        return;
    for (size_t i = 0; i < kv->n; i++) {
        free(kv->v[i].key);
        free(kv->v[i].value);
    }
    free(kv->v);
    kv->v = NULL;
    kv->n = 0;
}

void dv_kv_set(dv_kv *kv, const char *key, const char *value)
{
    char *v = dv_xstrdup(value);
    for (size_t i = 0; i < kv->n; i++)
        if (strcmp(kv->v[i].key, key) == 0) {
            free(kv->v[i].value);
            kv->v[i].value = v;
            return;
        }
    kv->v = dv_xreallocarray(kv->v, kv->n + 1, sizeof(*kv->v));
    kv->v[kv->n++] = (dv_kv_pair){dv_xstrdup(key), v};
}

const char *dv_kv_get(const dv_kv *kv, const char *key)
{
    for (size_t i = 0; kv && i < kv->n; i++)
        if (strcmp(kv->v[i].key, key) == 0)
            return kv->v[i].value;
    return NULL;
}

void dv_spec_error_prefix(dv_spec_error *err, const char *prefix)
{
    if (!err)
        return;
    char field[DV_SPEC_FIELD_MAX], msg[DV_ERROR_MSG_MAX];
    snprintf(field, sizeof(field), "%s%s%s", prefix, err->field[0] ? "." : "", err->field);
    snprintf(msg, sizeof(msg), "%s%s%s", prefix, err->field[0] ? "." : ": ", err->err.msg);
    snprintf(err->field, sizeof(err->field), "%s", field);
    snprintf(err->err.msg, sizeof(err->err.msg), "%s", msg);
}
