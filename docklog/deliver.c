#include "deliver.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"

/* The committed checkpoint, saved; then what had to wait for it. */
static int save(dl_deliver *d, bool durable, dv_error *err)
{
    int r;
    if (d->files && (r = dl_file_sink_flush(d->files, err)) < 0)
        return r;
    if ((r = dl_checkpoint_save(d->checkpoint_path, &d->cp, durable, err)) < 0)
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
    if (files) {
        files->checkpoint_hook = file_sink_hook;
        files->hook_userdata = d;
        dl_file_sink_positions(files, &d->cp.pos.out, &d->cp.pos.err);
    }
    d->dirty = true; /* the first batch end records the files actually opened */
}

void dl_deliver_begin_stream(dl_deliver *d)
{
    for (int s = 0; s < 2; s++) {
        d->skipping[s] = d->cp.pos.ts[s] != DL_TS_NONE;
        d->skip_ts[s] = d->cp.pos.ts[s];
        d->skip_left[s] = d->cp.pos.count[s];
    }
}

int dl_deliver_entry(dl_deliver *d, const dl_entry *e, dv_error *err)
{
    int s = e->stream;
    if (d->skipping[s]) {
        /* Each stream is in timestamp order: its entries before the checkpointed time
         * were delivered, and so were the first `count` at exactly that time (since=
         * is inclusive, so they come again). */
        if (e->ts < d->skip_ts[s] || (e->ts == d->skip_ts[s] && d->skip_left[s] > 0)) {
            if (e->ts == d->skip_ts[s])
                d->skip_left[s]--;
            d->skipped++;
            return 0;
        }
        d->skipping[s] = false;
    }
    int r;
    if (d->files && (r = dl_file_sink_write(d->files, e->stream, e->msg, e->len, err)) < 0)
        return r;
    if (d->journal && (r = dl_journal_sink_write(d->journal, e->stream, e->ts_text, e->msg, e->len,
                                                 &d->retry, err)) < 0)
        return r;
    dl_position_advance(&d->cp.pos, s, e->ts);
    if (d->files)
        dl_file_sink_positions(d->files, &d->cp.pos.out, &d->cp.pos.err);
    d->dirty = true;
    d->entries++;
    d->bytes += e->len;
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
