#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int max_level = DV_LOG_INFO;
static atomic_int journal = -1; /* -1 unknown, 0 no, 1 stderr is the journal */

void dv_log_set_level(enum dv_log_level level)
{
    atomic_store(&max_level, (int)level);
}

bool dv_log_enabled(enum dv_log_level level)
{
    return (int)level <= atomic_load(&max_level);
}

/* JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected; it only counts if
 * it is still our stderr (a child of the agent may have redirected it). */
static bool stderr_is_journal(void)
{
    int j = atomic_load(&journal);
    if (j >= 0)
        return j;
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    j = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
        (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
    atomic_store(&journal, j);
    return j;
}

void dv_logv(enum dv_log_level level, const char *fmt, va_list ap)
{
    if (!dv_log_enabled(level))
        return;
    static const char *const names[8] = {"emerg",   "alert",  "crit", "error",
                                         "warning", "notice", "info", "debug"};
    char line[4096];
    int n;
    if (stderr_is_journal()) {
        n = snprintf(line, sizeof(line), "<%d>", (int)level);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        char when[32];
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        n = snprintf(line, sizeof(line), "%s.%03ldZ %s ", when, ts.tv_nsec / 1000000,
                     names[level & 7]);
    }
    if (n < 0)
        return;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    /* One write per line so concurrent threads never interleave within a line. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void dv_log(enum dv_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dv_logv(level, fmt, ap);
    va_end(ap);
}
