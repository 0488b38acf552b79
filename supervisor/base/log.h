/* The agent's own log (not task logs): one line per message on stderr.
 *
 * Under systemd (JOURNAL_STREAM names our stderr) each line starts with the
 * sd-daemon priority prefix "<N>" so journald records the right priority;
 * elsewhere it is "2024-05-01T10:00:00.123Z level message". Thread-safe (one
 * write(2) per line). Only supervisor code that is the agent's top level
 * (agent, runner, API) logs; modules return errors (STYLE.md 1). */
#ifndef DV_LOG_H
#define DV_LOG_H

#include <stdbool.h>
#include <stdarg.h>

enum dv_log_level { DV_LOG_ERR = 3, DV_LOG_WARNING = 4, DV_LOG_INFO = 6, DV_LOG_DEBUG = 7 };

/* Messages above LEVEL are dropped (default info; DOCKVISOR_LOG_LEVEL=debug). */
void dv_log_set_level(enum dv_log_level level);
bool dv_log_enabled(enum dv_log_level level);

void dv_log(enum dv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dv_logv(enum dv_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define dv_log_error(...) dv_log(DV_LOG_ERR, __VA_ARGS__)
#define dv_log_warning(...) dv_log(DV_LOG_WARNING, __VA_ARGS__)
#define dv_log_info(...) dv_log(DV_LOG_INFO, __VA_ARGS__)
#define dv_log_debug(...) dv_log(DV_LOG_DEBUG, __VA_ARGS__)

#endif
