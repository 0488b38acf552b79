/* The names of a task's log files, as Nomad names them: DIR/<base>.<type>.<N>
 * (type "stdout" or "stderr", N = 0, 1, ... growing forever as files rotate).
 * docklog writes them (docklog/file_sink.h), the agent reads them
 * (supervisor/api/log_files.h): one definition, so both always agree. Pure. */
#ifndef DV_LOG_NAMES_H
#define DV_LOG_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "<base>.<type>.<N>" → N; anything else (other base or type, no digits, a leading
 * zero, overflow) → -1. */
int64_t dv_log_file_index(const char *name, const char *base, const char *type);

/* <base>.<type>.<index> into BUF; false if it does not fit in SIZE. */
bool dv_log_file_name(char *buf, size_t size, const char *base, const char *type, int64_t index);

/* DIR/<base>.<type>.<index> into BUF; false if it does not fit in SIZE. */
bool dv_log_file_path(char *buf, size_t size, const char *dir, const char *base, const char *type,
                      int64_t index);

/* Open the log directory DIR (O_RDONLY | O_DIRECTORY | O_CLOEXEC) without
 * following a symlink at its last component: the directory sits in the task's
 * alloc/, which the task may write to (through a volume of its own alloc dir),
 * so it can swap the directory for a symlink to anywhere on the host. Files are
 * then opened relative to the fd, with O_NOFOLLOW, so neither the writer nor
 * the reader ever goes outside it. The components above alloc/ are root's and
 * not the task's to change. Returns the fd or -errno (-ELOOP or -ENOTDIR for a
 * symlink, -ENOENT when it does not exist). */
int dv_log_dir_open(const char *dir);

#endif
