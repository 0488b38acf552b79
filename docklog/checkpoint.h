/* docklog's checkpoint: how far the log stream has been delivered, so a restarted
 * docklog neither loses nor duplicates a line in the files (DESIGN.md, Logs:
 * exactly once), and the terminal outcome the agent reads after its own restart.
 *
 * File tasks/<id>/docklog.checkpoint, JSON, format version 1 (DV_DOCKLOG_CHECKPOINT_VERSION;
 * the outcome names and exit codes: common/docklog_protocol.h):
 * {
 *   "version": 1,
 *   "container_id": "<id>",            the container the position belongs to
 *   "outcome": "running"|"done"|"failed",
 *   "error": "...",                     with "failed": the permanent error
 *   "position": {
 *     "stdout": {
 *       "ts": <int64 ns>,               last delivered stdout entry's timestamp (absent: none)
 *       "time": "<RFC3339Nano>",        the same, for people (ignored on read)
 *       "count": <n>,                   delivered stdout entries with exactly that timestamp
 *       "index": N, "offset": B,        file sink: <base>.stdout.N holds B delivered bytes
 *       "line_start": L, "mid_line": false,
 *       "truncate": {"index": M, "offset": O}          optional (file_sink.h)
 *     },
 *     "stderr": {...},
 *     "source": {"dev": D, "ino": I, "born": B,          optional: the file source's
 *                "offset": O, "boot_id": "<id>"}         place in Docker's log (below)
 *   },
 *   "synced": {...like position...},    optional: the last position whose file data
 *                                       was fsynced (fallback after a power loss)
 *   "progress": {"entries": N, "bytes": B, "starts": S, "lag_ns": L, "at": <ns>}
 * }                                     optional: what was delivered, for the agent's
 *                                       metrics (common/docklog_protocol.h)
 *
 * Why per stream: Docker stamps each stream's lines in its own copier goroutine and
 * writes them to the json-file as they come, so in the log the two streams are each
 * in timestamp order but interleaved out of order with each other (observed: 18 ms
 * inversions under load). One (timestamp, count) for both would make since= skip
 * the other stream's older, undelivered lines. Per stream it is exact: every
 * undelivered entry of a stream is at or after that stream's checkpointed time.
 * Entries with the same timestamp are common: Docker gives every 16 KiB piece of a
 * long line the timestamp of its first piece. The count makes resuming among them
 * exact (Docker returns them in log order, each time the same).
 *
 * A stream with nothing delivered yet has no time to resume from; the request then
 * reaches back DL_SINCE_MARGIN before the other stream's. Why that is enough: a batch
 * is a prefix of the response, so every entry before the last delivered one was
 * delivered too; a stream with none delivered has no entry before the other
 * stream's last delivered one in Docker's log, and its first entry was written after
 * that one. Docker stamps an entry (time.Now in its copier) just before the log
 * driver writes it under a lock, so an entry written later carries a stamp at most
 * that stamp-to-write delay earlier: microseconds, at worst one stalled write. It
 * can lose an entry only if that delay exceeded the margin, or if the wall clock
 * stepped back by more than it (a step back loses entries for every since= reader,
 * per stream too: since filters by stamp). It cannot duplicate: the other stream's
 * entries it brings again are skipped by that stream's (ts, count). Exact without a
 * margin would mean asking from the beginning while a stream has nothing delivered:
 * all of Docker's log again at every reconnect of a container that never writes to
 * stderr.
 *
 * Write policy (the cost/guarantee trade-off):
 * - after every delivered batch (up to 20 ms / 256 KiB of stream, http1.h): the sink data is
 *   written (write(2)) first, then the checkpoint is replaced by rename(2) WITHOUT
 *   fsync. Against process death (kill -9 of docklog or the agent, dockerd restart)
 *   this is exact: the page cache keeps both, in that order. An fsync per batch
 *   would cap throughput at the disk's sync rate.
 * - every DL_CHECKPOINT_SYNC_INTERVAL and at exit: fdatasync the log files, record
 *   the position as "synced", write the checkpoint durably (fsync + dir fsync).
 *   After a power loss, if a file is shorter than "position" says, docklog falls
 *   back to "synced", which is never ahead of data on disk.
 *
 * Every save first writes the same JSON into a slot of the checkpoint's copy
 * (checkpoint_copy.h), from which a start resumes when this file is damaged or
 * missing (resume.h).
 *
 * Restart: (1) files are truncated back to their offset (bytes past it are
 * rewritten identically), files with a higher index are removed, a pending
 * "truncate" is re-applied; (2) logs are requested since=dl_position_since()
 * (inclusive) and, per stream, entries before its ts and the first `count` at
 * exactly its ts are skipped.
 *
 * The file source (jsonfile.h) also keeps its place in Docker's log as a file
 * identity and a byte offset ("source"): every entry of that file before the offset,
 * and of every older file, was delivered or was not an entry. A restart that finds
 * that file still held by Docker (same device, inode and birth time: inode numbers
 * are reused once a file is deleted; same boot: after a power loss Docker's
 * unsynced log may be shorter) reads from that byte on and delivers everything after
 * it, with no timestamp filter: nothing delivered is read again, and an entry
 * stamped before the last one (the wall clock stepped back) is not taken for a
 * replay. Otherwise (the file rotated away, compressed by the local driver, another
 * boot, the API) the timestamps above decide, as they always did. The place is
 * true only while no entry was delivered after it was taken: delivering an entry
 * clears it (deliver.c), and the file source sets it again after each read that
 * handed on every entry it read. */
#ifndef DL_CHECKPOINT_H
#define DL_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "clock.h"
#include "docklog_protocol.h"
#include "duration.h"
#include "error.h"
#include "proc.h"

#define DL_CHECKPOINT_SYNC_INTERVAL (5 * DV_NSEC_PER_SEC)
/* A stream's ts when nothing of it has been delivered yet. */
#define DL_TS_NONE INT64_MIN
/* How far before the other stream's time to ask when one stream has no time yet. */
#define DL_SINCE_MARGIN (60 * DV_NSEC_PER_SEC)

/* One file sink stream's place: bytes [0, offset) of <base>.<stream>.<index> are
 * delivered. mid_line: the last delivered entry was a partial line (no '\n'), which
 * started at line_start in this file. truncate (index >= 0): file `index` must be cut
 * back to `offset` (a partial line moved from it into this file on rotation; see
 * file_sink.h); applied after the checkpoint naming the new file is written. */
typedef struct dl_file_pos {
    int64_t index; /* -1: no file yet */
    int64_t offset;
    int64_t line_start;
    bool mid_line;
    int64_t truncate_index; /* -1: none */
    int64_t truncate_offset;
} dl_file_pos;

#define DL_FILE_POS_NONE                                                                           \
    (dl_file_pos)                                                                                  \
    {                                                                                              \
        .index = -1, .truncate_index = -1                                                          \
    }

/* The file source's place in Docker's log (see above); set false: none. */
typedef struct dl_source_pos {
    bool set;
    uint64_t dev, ino;
    int64_t born_ns; /* statx birth time of the file */
    int64_t offset;  /* bytes of it handed on, up to the end of a whole entry */
    char boot_id[DV_BOOT_ID_STRLEN + 1];
} dl_source_pos;

/* True if A and B are the same place: both unset, or the same file, byte and boot. */
bool dl_source_pos_equal(const dl_source_pos *a, const dl_source_pos *b);

/* Streams are indexed DL_STDOUT = 0, DL_STDERR = 1 (file_sink.h). */
typedef struct dl_position {
    int64_t ts[2]; /* per stream; DL_TS_NONE: nothing delivered yet */
    uint64_t count[2];
    dl_file_pos out;      /* stdout file */
    dl_file_pos err;      /* stderr file */
    dl_source_pos source; /* the file source's place */
} dl_position;

/* The checkpoint's "outcome" (DV_DOCKLOG_OUTCOME_*_NAME). */
enum dl_outcome { DL_OUTCOME_RUNNING, DL_OUTCOME_DONE, DL_OUTCOME_FAILED };

/* What this container's helpers delivered (DV_DOCKLOG_PROGRESS_KEY): counters for
 * the agent's metrics, nothing docklog decides by. */
typedef struct dl_progress {
    uint64_t entries, bytes;
    uint64_t starts; /* docklog processes that worked on this container */
    int64_t lag_ns;  /* the last batch's delivery time minus its last entry's stamp */
    int64_t at_ns;   /* CLOCK_REALTIME of that batch; 0: none yet */
} dl_progress;

typedef struct dl_checkpoint {
    char container_id[128];
    enum dl_outcome outcome;
    char error[512];
    dl_position pos;
    bool has_synced;
    dl_position synced;
    dl_progress progress;
} dl_checkpoint;

/* A fresh checkpoint for CONTAINER_ID: nothing delivered, no files. */
void dl_checkpoint_init(dl_checkpoint *cp, const char *container_id);

/* Advance STREAM's position past one delivered entry with timestamp TS. A timestamp
 * older than the stream's (the daemon's clock stepped back) leaves it unchanged:
 * Docker's since= would not return that entry again anyway. */
void dl_position_advance(dl_position *pos, int stream, int64_t ts);

/* The since= to resume from (DL_TS_NONE: from the beginning). */
int64_t dl_position_since(const dl_position *pos);

/* Load PATH. -ENOENT (err filled) when there is none; -EINVAL for a corrupt or
 * foreign-version file. */
int dl_checkpoint_load(const char *path, dl_checkpoint *ret, dv_error *err);
/* DURABLE: fsync the file and its directory (sync points, exit); otherwise only
 * temp + rename (every batch). */
int dl_checkpoint_save(const char *path, const dl_checkpoint *cp, bool durable, dv_error *err);

/* The checkpoint's JSON as it is saved (compact, sorted keys, no newline; NULL: out
 * of memory), and the save of that text: deliver.c writes the same bytes to the file
 * and to its copy (checkpoint_copy.h). */
char *dl_checkpoint_dumps(const dl_checkpoint *cp, size_t *ret_len);
int dl_checkpoint_save_text(const char *path, const char *text, size_t len, bool durable,
                            dv_error *err);

/* JSON conversion (exposed for tests). */
json_t *dl_checkpoint_to_json(const dl_checkpoint *cp);
int dl_checkpoint_from_json(const json_t *json, dl_checkpoint *ret, dv_error *err);

const char *dl_outcome_name(enum dl_outcome o);

#endif
