#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "timestamp.h"

static char who[128] = "docklog";

void dl_diag_init(const char *name)
{
    snprintf(who, sizeof(who), "%s", name);
}

void dl_diag(const char *fmt, ...)
{
    char line[2048], ts[DV_TIMESTAMP_MAX];
    dv_timestamp_format_fixed(dv_realtime_ns(), ts);
    int n = snprintf(line, sizeof(line), "%.23sZ docklog[%s] %d: ", ts, who, (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(line))
        n = (int)sizeof(line) - 1;
    line[n++] = '\n';
    /* One write per message: lines from concurrent writers never interleave. */
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* nowhere left to report to */
    }
}
