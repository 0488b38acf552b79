/* Delivery of log entries to the sinks with exactly-once bookkeeping.
 *
 * Per entry: skip it if the checkpoint says it was delivered before, else write it
 * to the file sink, send it to journald (retrying), and only then count it in the
 * committed position (checkpoint.h). Per batch (up to 20 ms of stream): flush the files,
 * save the checkpoint (rename), then let the file sink do what had to wait for the
 * checkpoint. Every DL_CHECKPOINT_SYNC_INTERVAL and at the end: fdatasync the files
 * and save the checkpoint durably, recording the position as synced.
 *
 * A stop request while journald is being retried abandons the entry in flight: it
 * is not counted, so the next start truncates its bytes from the files and
 * delivers it again. */
#ifndef DL_DELIVER_H
#define DL_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "checkpoint.h"
#include "entries.h"
#include "error.h"
#include "file_sink.h"
#include "journal_sink.h"

typedef struct dl_deliver {
    const char *checkpoint_path;
    dl_checkpoint cp;         /* cp.pos: the committed position */
    dl_file_sink *files;      /* NULL: disabled */
    dl_journal_sink *journal; /* NULL: disabled */
    dl_retry retry;           /* for journald */
    /* Skipping after a (re)connect, per stream: entries up to the committed position
     * come again. */
    bool skipping[2];
    int64_t skip_ts[2];
    uint64_t skip_left[2];
    bool dirty;           /* cp.pos changed since the last save */
    int64_t last_sync_ns; /* monotonic */
    uint64_t entries;     /* delivered by this process */
    uint64_t bytes;
    uint64_t skipped;
} dl_deliver;

/* CP is the starting checkpoint (loaded or fresh); FILES/JOURNAL may be NULL. */
void dl_deliver_init(dl_deliver *d, const char *checkpoint_path, const dl_checkpoint *cp,
                     dl_file_sink *files, dl_journal_sink *journal, const dl_retry *retry);

/* A new logs request starts (since = dl_position_since(&cp.pos)): arm, per stream, the
 * skip of entries before its timestamp and of the first `count` at exactly it. */
void dl_deliver_begin_stream(dl_deliver *d);

/* One entry: 0 delivered or skipped, -EINTR a stop was requested during a journald
 * retry (the entry is not counted), other negative: a sink failed. */
int dl_deliver_entry(dl_deliver *d, const dl_entry *e, dv_error *err);

/* Batch end: flush, save the checkpoint if anything changed, sync if due. */
int dl_deliver_batch_end(dl_deliver *d, dv_error *err);

/* Sync point: fdatasync files, record synced, save durably. */
int dl_deliver_sync(dl_deliver *d, dv_error *err);

/* Terminal outcome (done / failed with MESSAGE): synced and saved durably. */
int dl_deliver_finish(dl_deliver *d, enum dl_outcome outcome, const char *message, dv_error *err);

#endif
