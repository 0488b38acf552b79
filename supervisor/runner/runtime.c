#include "runtime.h"

#include <stdarg.h>
#include <stdio.h>

void dv_runtime_busy(dv_runtime *run, const char *fmt, ...)
{
    if (!run->observers.busy)
        return;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    run->observers.busy(run->observers.ctx, what);
}
