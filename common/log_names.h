/* The names of a task's log files, as Nomad names them: DIR/<base>.<type>.<N>
 * (type "stdout" or "stderr", N = 0, 1, ... growing forever as files rotate).
 * docklog writes them (docklog/file_sink.h), the agent reads them
 * (supervisor/log_files.h): one definition, so both always agree. Pure. */
#ifndef DV_LOG_NAMES_H
#define DV_LOG_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "<base>.<type>.<N>" → N; anything else (other base or type, no digits, a leading
 * zero, overflow) → -1. */
int64_t dv_log_file_index(const char *name, const char *base, const char *type);

/* DIR/<base>.<type>.<index> into BUF; false if it does not fit in SIZE. */
bool dv_log_file_path(char *buf, size_t size, const char *dir, const char *base, const char *type,
                      int64_t index);

#endif
