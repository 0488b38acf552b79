/* Reading a task's log files for `dockvisor logs` and GET /v1/tasks/{id}/logs.
 *
 * docklog writes DIR/<base>.stdout.N and DIR/<base>.stderr.N (Nomad's names,
 * common/log_names.h; N grows forever, the oldest are deleted beyond max_files). A dv_log_reader
 * returns one stream's bytes in order: optionally only the last TAIL lines (counted backwards
 * across rotated files), then, when following, new data as it is written, moving to
 * the next index when docklog rotates.
 *
 * Non-blocking and pull-based, for libmicrohttpd content-reader callbacks:
 *   n = dv_log_reader_read(r, buf, size, &err)
 *     n > 0           bytes copied into buf
 *     n == 0          following and nothing new yet: call again later (wait on
 *                     dv_log_reader_fd(), or a timer)
 *     DV_LOG_READER_END   end of stream: everything was returned, and (when following)
 *                     docklog's checkpoint says it drained the container, or it failed
 *     n < 0 otherwise -errno, err filled
 *
 * Consistency with docklog (docklog/file_sink.h): a kill -9 of docklog can leave bytes
 * past its checkpoint which it truncates and rewrites identically on restart; a
 * reader positioned past the truncation point simply waits until the file has grown
 * back (same bytes), so a follower sees every byte exactly once. The beginning of a
 * line that docklog moved to the next file on rotation (file_sink.h), which a
 * follower may already have read from the older file, is skipped there. A reader too
 * slow to keep up with rotation (its file deleted beyond max_files) skips to the
 * oldest file still present.
 *
 * Memory: no buffering beyond a stack block while counting tail lines. */
#ifndef DV_LOG_FILES_H
#define DV_LOG_FILES_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "log_names.h" /* dv_log_file_index(): the names docklog writes */

#define DV_LOG_READER_END (-ENODATA)

typedef struct dv_log_reader dv_log_reader;

typedef struct dv_log_reader_options {
    const char *dir;  /* the task's log directory (tasks/<id>/alloc/logs) */
    const char *base; /* file base name (the task name) */
    const char *type; /* "stdout" or "stderr" */
    int64_t tail;     /* last N lines only; < 0 = everything; 0 = nothing old */
    bool follow;
    /* When following: docklog's checkpoint; the stream ends once it records a terminal
     * outcome and all data was returned. NULL: follow until the caller stops. */
    const char *checkpoint_path;
} dv_log_reader_options;

/* A missing directory or no files yet is not an error: a follower waits for them. */
int dv_log_reader_open(const dv_log_reader_options *opts, dv_log_reader **ret, dv_error *err);

ssize_t dv_log_reader_read(dv_log_reader *r, char *buf, size_t size, dv_error *err);

/* An fd (CLOEXEC, non-blocking) that becomes readable when the files may have
 * changed: inotify on the directory, or, while that cannot be had (the directory
 * does not exist yet, no inotify instance or watch left), a 250 ms timer. It may
 * change from one read to the next: fetch it before each wait. -1 if not following.
 * Owned by the reader; its pending events are drained by dv_log_reader_read(). */
int dv_log_reader_fd(const dv_log_reader *r);

void dv_log_reader_free(dv_log_reader *r);

static inline void dv_log_reader_freep(dv_log_reader **r)
{
    if (*r)
        dv_log_reader_free(*r);
}
#define _cleanup_log_reader_ __attribute__((cleanup(dv_log_reader_freep)))

#endif
