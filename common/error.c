#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void dv_error_clear(dv_error *err)
{
    if (!err)
        return;
    err->code = 0;
    err->http_status = 0;
    err->recoverable = false;
    err->unreachable = false;
    err->msg[0] = '\0';
}

static int normalize(int code)
{
    return code > 0 ? -code : (code == 0 ? -1 : code);
}

int dv_error_set(dv_error *err, int code, const char *fmt, ...)
{
    code = normalize(code);
    if (!err)
        return code;
    err->code = code;
    err->http_status = 0;
    err->recoverable = false;
    err->unreachable = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int dv_error_errno(dv_error *err, int code, const char *fmt, ...)
{
    code = normalize(code);
    if (!err)
        return code;
    char head[DV_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    return dv_error_set(err, code, "%s: %s", head, strerror(-code));
}

int dv_error_wrap(dv_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    if (err->code == 0)
        err->code = -5; /* -EIO: wrapping without a cause still reports failure */
    char ctx[DV_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    char old[DV_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof(old));
    if (old[0])
        snprintf(err->msg, sizeof(err->msg), "%s: %s", ctx, old);
    else
        snprintf(err->msg, sizeof(err->msg), "%s", ctx);
    return err->code;
}
