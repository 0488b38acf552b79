#include "deliver.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "clock.h"
#include "timestamp.h"

/* The committed checkpoint, saved; then what had to wait for it. */
static int save(dl_deliver *d, bool durable, dv_error *err)
{
    int r;
    if (d->files && (r = dl_file_sink_flush(d->files, err)) < 0)
        return r;
    if (d->batch_last_ts != DL_TS_NONE) {
        /* Once per batch, not per entry: a clock read per line is measurable at 1M/s. */
        int64_t now = dv_realtime_ns();
        d->cp.progress.lag_ns = now - d->batch_last_ts;
        d->cp.progress.at_ns = now;
        d->batch_last_ts = DL_TS_NONE;
    }
    size_t len;
    _cleanup_free_ char *text = dl_checkpoint_dumps(&d->cp, &len);
    if (!text)
        return dv_error_set(err, -ENOMEM, "checkpoint: out of memory");
    /* The copy first: it is then never behind the checkpoint (checkpoint_copy.h). */
    if (d->copy && (r = dl_copy_write(d->copy, &d->cp, text, len, durable, err)) < 0)
        return r;
    if ((r = dl_checkpoint_save_text(d->checkpoint_path, text, len, durable, err)) < 0)
        return r;
    d->dirty = false;
    if (d->files && (r = dl_file_sink_checkpointed(d->files, err)) < 0)
        return r;
    return 0;
}

static int file_sink_hook(void *userdata, dv_error *err)
{
    return save(userdata, false, err);
}

void dl_deliver_init(dl_deliver *d, const char *checkpoint_path, const dl_checkpoint *cp,
                     dl_file_sink *files, dl_journal_sink *journal, const dl_retry *retry)
{
    memset(d, 0, sizeof(*d));
    d->checkpoint_path = checkpoint_path;
    d->cp = *cp;
    d->files = files;
    d->journal = journal;
    if (retry)
        d->retry = *retry;
    d->last_sync_ns = dv_monotonic_ns();
    d->batch_last_ts = DL_TS_NONE;
    d->gap_from = DL_TS_NONE;
    if (files) {
        files->checkpoint_hook = file_sink_hook;
        files->hook_userdata = d;
        dl_file_sink_positions(files, &d->cp.pos.out, &d->cp.pos.err);
    }
    d->dirty = true; /* the first batch end records the files actually opened */
}

void dl_deliver_begin_stream(dl_deliver *d, bool replays)
{
    d->pass_replays = replays;
    for (int s = 0; s < 2; s++) {
        d->pass_past[s] = false;
        d->pass_ts[s] = DL_TS_NONE;
        d->pass_run[s] = 0;
        d->pass_first[s] = true;
    }
}

void dl_deliver_begin_at_source(dl_deliver *d)
{
    dl_deliver_begin_stream(d, false);
    for (int s = 0; s < 2; s++) {
        d->pass_first[s] = false;
        d->pass_past[s] = true;
    }
}

void dl_deliver_set_source(dl_deliver *d, const dl_source_pos *pos)
{
    dl_source_pos *cur = &d->cp.pos.source;
    if (!pos) {
        d->dirty |= cur->set;
        cur->set = false;
        return;
    }
    if (dl_source_pos_equal(cur, pos))
        return;
    *cur = *pos;
    d->dirty = true;
}

void dl_deliver_expect_gap(dl_deliver *d)
{
    d->pass_first[0] = d->pass_first[1] = true;
}

void dl_deliver_expect_gap_from(dl_deliver *d, int64_t from_ns)
{
    d->gap_from = from_ns;
    dl_deliver_expect_gap(d);
}

/* FNV-1a over the first and last 64 bytes: cheap on the hot path, and only ever
 * compared with the last entry of the same stream with the same time and length. */
static uint64_t hash(const char *p, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    size_t head = len < 64 ? len : 64;
    for (size_t i = 0; i < head; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    for (size_t i = len > 128 ? len - 64 : head; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

/* Was E delivered before? Each stream is in timestamp order in Docker's log, so an
 * entry before the committed timestamp was, and of the entries at exactly it, the
 * first `count` of a run were (Docker returns a run in log order, each time the same,
 * whether it is the start of a since= answer or a replay from a rotated file). */
static bool delivered_before(dl_deliver *d, const dl_entry *e)
{
    int s = e->stream;
    if (e->ts != d->pass_ts[s]) {
        d->pass_ts[s] = e->ts;
        d->pass_run[s] = 0;
    }
    d->pass_run[s]++;
    int64_t committed = d->cp.pos.ts[s];
    if (d->pass_first[s]) {
        d->pass_first[s] = false;
        int64_t from = committed != DL_TS_NONE ? committed : d->gap_from;
        if (from != DL_TS_NONE && e->ts > from && d->on_gap)
            d->on_gap(d->gap_userdata, s, from, e->ts);
    }
    if (d->pass_past[s])
        return false;
    if (committed == DL_TS_NONE || e->ts > committed) {
        d->pass_past[s] = !d->pass_replays;
        return false;
    }
    if (e->ts < committed || d->pass_run[s] <= d->cp.pos.count[s])
        return true;
    /* A new entry at the committed time, or a replay that began exactly at the last
     * delivered one (Docker re-reads a file from where its reader stood)? Docker gives
     * every whole line its own time.Now(); only the 16 KiB pieces of one long line
     * share a stamp, and the piece that ends the line ends the run. So after a whole
     * line, the same bytes at the same time are that line again. (A replay starting
     * exactly at a piece in the middle of a long line is the one case this cannot
     * tell from the next, identical, piece: it is delivered.) */
    return d->last_whole[s] && e->len == d->last_len[s] && hash(e->msg, e->len) == d->last_hash[s];
}

int dl_deliver_entry(dl_deliver *d, const dl_entry *e, dv_error *err)
{
    int s = e->stream;
    if (delivered_before(d, e)) {
        d->skipped++;
        return 0;
    }
    int r;
    if (d->files && (r = dl_file_sink_write(d->files, e->stream, e->msg, e->len, err)) < 0)
        return r;
    if (d->journal) {
        const char *late = NULL;
        char text[DV_TIMESTAMP_MAX];
        if (dv_realtime_ns() - e->ts > DL_JOURNAL_LATE_NS) {
            dl_journal_late_stamp(e->ts, text);
            late = text;
        }
        if ((r = dl_journal_sink_write(d->journal, e->stream, late, e->msg, e->len, &d->retry,
                                       err)) < 0)
            return r;
    }
    dl_position_advance(&d->cp.pos, s, e->ts);
    d->cp.pos.source.set = false; /* the source tells its place again after this read */
    d->last_whole[s] = e->len > 0 && e->msg[e->len - 1] == '\n';
    d->last_len[s] = e->len;
    d->last_hash[s] = d->last_whole[s] ? hash(e->msg, e->len) : 0;
    if (d->files)
        dl_file_sink_positions(d->files, &d->cp.pos.out, &d->cp.pos.err);
    d->dirty = true;
    d->entries++;
    d->bytes += e->len;
    d->cp.progress.entries++;
    d->cp.progress.bytes += e->len;
    d->batch_last_ts = e->ts;
    return 0;
}

int dl_deliver_sync(dl_deliver *d, dv_error *err)
{
    int r;
    if (d->files && (r = dl_file_sink_sync(d->files, err)) < 0)
        return r;
    /* The files now hold the committed position on disk: it may serve as the
     * fallback after a power loss. */
    d->cp.synced = d->cp.pos;
    d->cp.has_synced = true;
    d->last_sync_ns = dv_monotonic_ns();
    return save(d, true, err);
}

int dl_deliver_batch_end(dl_deliver *d, dv_error *err)
{
    if (dv_monotonic_ns() - d->last_sync_ns >= DL_CHECKPOINT_SYNC_INTERVAL)
        return dl_deliver_sync(d, err);
    if (!d->dirty)
        return d->files ? dl_file_sink_flush(d->files, err) : 0;
    return save(d, false, err);
}

int dl_deliver_finish(dl_deliver *d, enum dl_outcome outcome, const char *message, dv_error *err)
{
    d->cp.outcome = outcome;
    snprintf(d->cp.error, sizeof(d->cp.error), "%s", message ? message : "");
    return dl_deliver_sync(d, err);
}
