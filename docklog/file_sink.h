/* The file sink: a container's stdout and stderr into DIR/<base>.stdout.N and
 * DIR/<base>.stderr.N (Nomad's names, common/log_names.h), rotated at max_file_size, the newest
 * max_files kept per stream, N increasing forever.
 *
 * Lines and rotation: a line is never split across files unless it alone is longer
 * than max_file_size. An entry without a trailing '\n' (a partial line: Docker
 * splits lines longer than 16 KiB, and a last line may lack its newline) leaves the
 * stream "mid line"; when the rest of such a line does not fit, the part already
 * written is moved to the next file (copied, then the old file is cut back to the
 * line's start once a checkpoint naming the new file is on disk; see the truncate
 * field of dl_file_pos). Only a line that started at offset 0 of a file and is still
 * too long is split, at exactly max_file_size.
 *
 * Writes are buffered (32 KiB per stream) and reach the kernel at
 * dl_file_sink_flush(), which the caller runs before every checkpoint, so the
 * files are always at or ahead of the checkpoint, never behind.
 *
 * Positions (dl_file_pos) count buffered bytes too: they are what the files will
 * hold after the next flush. */
#ifndef DL_FILE_SINK_H
#define DL_FILE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "error.h"

#define DL_FILE_BUF_SIZE (32 * 1024)
#define DL_MB (INT64_C(1024) * 1024)

enum dl_stream { DL_STDOUT = 0, DL_STDERR = 1 };

typedef struct dl_file_stream {
    const char *name; /* "stdout" / "stderr" */
    int fd;
    dl_file_pos pos;
    bool truncate_applied;
    int64_t expire_from; /* lowest index that may still exist */
    char *buf;
    size_t buf_len;
} dl_file_stream;

/* Called before a second partial-line move while the first one's truncation is still
 * pending: the caller must save its checkpoint (committed position) and then call
 * dl_file_sink_checkpointed(). Rare: needs two moves within one batch. */
typedef int (*dl_checkpoint_hook)(void *userdata, dv_error *err);

typedef struct dl_file_sink {
    char *dir;  /* for messages: files are reached through dir_fd */
    int dir_fd; /* the directory, opened once without following a symlink */
    char *base;
    int max_files;
    int64_t max_size;
    dl_file_stream s[2];
    dl_checkpoint_hook checkpoint_hook;
    void *hook_userdata;
} dl_file_sink;

typedef struct dl_file_sink_options {
    const char *dir;
    const char *base;
    int max_files;
    int64_t max_size; /* bytes */
} dl_file_sink_options;

/* True if the files agree with POS (each stream's file exists and holds at least
 * POS's offset): a checkpoint written before a power loss may be ahead of the data. */
bool dl_file_sink_matches(const dl_file_sink_options *opts, const dl_position *pos);

/* True if any log file of either stream exists. */
bool dl_file_sink_has_files(const dl_file_sink_options *opts);

/* Open both streams. START NULL: a fresh start (the next unused index of each
 * stream, so existing files are never overwritten). Otherwise resume at START:
 * re-apply its pending truncation, remove files with a higher index, cut the current
 * file back to its offset. The directory is created if missing and refused if it is a
 * symlink (the task could point it anywhere on the host). Also removes files
 * older than max_files (the limit may have been lowered). */
int dl_file_sink_open(dl_file_sink *sink, const dl_file_sink_options *opts,
                      const dl_position *start, dv_error *err);

/* Append one log entry (message without timestamp) to STREAM. */
int dl_file_sink_write(dl_file_sink *sink, enum dl_stream stream, const char *data, size_t len,
                       dv_error *err);

/* Hand buffered bytes to the kernel. */
int dl_file_sink_flush(dl_file_sink *sink, dv_error *err);
/* Flush and fdatasync both files (sync points). */
int dl_file_sink_sync(dl_file_sink *sink, dv_error *err);
/* After a checkpoint was saved: cut back files whose partial line was moved on, and
 * remove files beyond max_files. Both wait for the checkpoint because until it is
 * on disk a restart resumes from the older file. */
int dl_file_sink_checkpointed(dl_file_sink *sink, dv_error *err);

void dl_file_sink_positions(const dl_file_sink *sink, dl_file_pos *ret_out, dl_file_pos *ret_err);

/* Flushes (best effort) and closes. */
void dl_file_sink_close(dl_file_sink *sink);

#endif
