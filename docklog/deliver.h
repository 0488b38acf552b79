/* Delivery of log entries to the sinks with exactly-once bookkeeping.
 *
 * Per entry: drop it if it is at or before its stream's committed (timestamp, count),
 * else write it to the file sink, send it to journald (retrying), and only then count
 * it in the committed position (checkpoint.h). The filter holds for every entry of
 * every pass, not only after a (re)connect: Docker replays entries around a json-file
 * rotation in the middle of a follow, with the timestamps they had (the replay
 * filter, checkpoint.h). Per batch (up to 20 ms of stream): flush the files,
 * write the checkpoint's copy (in place, checkpoint_copy.h), save the checkpoint
 * (rename), then let the file sink do what had to wait for the
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
#include "checkpoint_copy.h"
#include "entries.h"
#include "error.h"
#include "file_sink.h"
#include "journal_sink.h"

typedef struct dl_deliver {
    const char *checkpoint_path;
    dl_copy *copy;            /* the checkpoint's second copy; NULL: none */
    dl_checkpoint cp;         /* cp.pos: the committed position */
    dl_file_sink *files;      /* NULL: disabled */
    dl_journal_sink *journal; /* NULL: disabled */
    dl_retry retry;           /* for journald */
    /* The replay filter, per stream: the timestamp of the entry seen last in this
     * pass (delivered or dropped) and how many in a row carried it, to tell the n-th
     * entry at the committed timestamp from its replay. */
    int64_t pass_ts[2];
    uint64_t pass_run[2];
    bool pass_first[2]; /* no entry of the stream seen yet in this pass */
    bool pass_replays;  /* the source may replay (the API): filter every entry */
    bool pass_past[2];  /* no replays: the stream went past its checkpoint */
    /* The last entry delivered per stream (this process): whether it completed a
     * line, and a hash of its bytes, to know a replay that starts exactly at it. */
    bool last_whole[2];
    uint64_t last_hash[2];
    size_t last_len[2];
    /* Called once per pass and stream whose first entry is later than the committed
     * timestamp: since= is inclusive, so the committed entry should have come first;
     * Docker no longer has it, and whatever followed it up to FIRST may be gone. */
    void (*on_gap)(void *userdata, int stream, int64_t committed_ts, int64_t first_ts);
    void *gap_userdata;
    /* For a stream with nothing committed: where a gap starts (dl_deliver_expect_gap_from);
     * DL_TS_NONE: no gap can be told. */
    int64_t gap_from;
    bool dirty;            /* cp.pos changed since the last save */
    int64_t last_sync_ns;  /* monotonic */
    int64_t batch_last_ts; /* stamp of the last entry delivered since the last save */
    uint64_t entries;      /* delivered by this process */
    uint64_t bytes;
    uint64_t skipped;
} dl_deliver;

/* CP is the starting checkpoint (loaded or fresh); FILES/JOURNAL may be NULL. */
void dl_deliver_init(dl_deliver *d, const char *checkpoint_path, const dl_checkpoint *cp,
                     dl_file_sink *files, dl_journal_sink *journal, const dl_retry *retry);

/* A new pass over the log starts: a logs request (since = dl_position_since(&cp.pos)),
 * REPLAYS true, or the files read from disk, REPLAYS false. The replay filter forgets
 * what it saw in the previous pass, and the gap check is armed. A source that never
 * replays is filtered only up to the checkpoint: after it, an entry stamped earlier
 * than the one before (the wall clock stepped back) is still new, and delivered. */
void dl_deliver_begin_stream(dl_deliver *d, bool replays);

/* A pass of the file source that starts at the checkpoint's "source" place
 * (checkpoint.h): everything read is new, so nothing is filtered and no gap is looked
 * for at its start. */
void dl_deliver_begin_at_source(dl_deliver *d);

/* The file source's place after a read that handed on every entry it read (NULL: it
 * cannot tell one). Delivering an entry clears it until the next call. */
void dl_deliver_set_source(dl_deliver *d, const dl_source_pos *pos);

/* Entries were lost in the middle of a pass (the source knows it): the next entry of
 * each stream reports the gap from the committed position to it. */
void dl_deliver_expect_gap(dl_deliver *d);

/* Nothing was delivered yet and entries from FROM_NS on are known to be gone (Docker
 * rotated the container's first log file away before docklog started): the next entry
 * of each stream that has nothing committed reports the gap from FROM_NS to it. */
void dl_deliver_expect_gap_from(dl_deliver *d, int64_t from_ns);

/* One entry: 0 delivered or dropped as already delivered, -EINTR a stop was requested during a
 * journald retry (the entry is not counted), other negative: a sink failed. */
int dl_deliver_entry(dl_deliver *d, const dl_entry *e, dv_error *err);

/* Batch end: flush, save the checkpoint if anything changed, sync if due. */
int dl_deliver_batch_end(dl_deliver *d, dv_error *err);

/* Sync point: fdatasync files, record synced, save durably. */
int dl_deliver_sync(dl_deliver *d, dv_error *err);

/* Terminal outcome (done / failed with MESSAGE): synced and saved durably. */
int dl_deliver_finish(dl_deliver *d, enum dl_outcome outcome, const char *message, dv_error *err);

#endif
