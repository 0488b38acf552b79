#include "entries.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"
#include "xalloc.h"

#define RAW_BUF (DL_TS_TEXT_MAX + 1 + DL_ENTRY_MSG_MAX)

int dl_entry_parse(enum dl_stream stream, const char *data, size_t len, dl_entry *ret,
                   dv_error *err)
{
    size_t scan = len < DL_TS_TEXT_MAX + 1 ? len : DL_TS_TEXT_MAX + 1;
    const char *sp = memchr(data, ' ', scan);
    if (!sp)
        return dv_error_set(err, -EPROTO, "log entry without a valid timestamp: \"%.*s\"",
                            (int)(len < 60 ? len : 60), data);
    size_t tl = (size_t)(sp - data);
    int64_t ts;
    if (dv_timestamp_parse(data, tl, &ts, NULL) < 0)
        return dv_error_set(err, -EPROTO, "log entry without a valid timestamp: \"%.*s\"",
                            (int)(len < 60 ? len : 60), data);
    ret->stream = stream;
    ret->ts = ts;
    ret->msg = sp + 1;
    ret->len = len - tl - 1;
    return 0;
}

static int deliver(dl_entries *e, enum dl_stream stream, const char *data, size_t len)
{
    dl_entry entry;
    int r = dl_entry_parse(stream, data, len, &entry, e->err);
    if (r == 0)
        r = e->on_entry(&entry, e->userdata, e->err);
    if (r != 0)
        e->result = r < 0 ? r : 1;
    return r != 0;
}

static int on_frame(enum dv_stream_type type, const char *data, size_t len, void *userdata)
{
    dl_entries *e = userdata;
    switch (type) {
    case DV_STREAM_STDOUT:
        return deliver(e, DL_STDOUT, data, len);
    case DV_STREAM_STDERR:
        return deliver(e, DL_STDERR, data, len);
    case DV_STREAM_SYSTEM:
        e->result = dv_error_set(e->err, -EIO, "the daemon reported an error in the stream: %.*s",
                                 (int)(len < 512 ? len : 512), data);
        if (e->err)
            e->err->recoverable = true;
        return 1;
    default:
        return 0;
    }
}

int dl_entries_init(dl_entries *e, bool raw, dl_entry_cb on_entry, void *userdata, dv_error *err)
{
    memset(e, 0, sizeof(*e));
    e->raw = raw;
    e->on_entry = on_entry;
    e->userdata = userdata;
    dv_demux_init(&e->demux, raw, on_frame, e);
    (void)err;
    if (raw)
        e->buf = dv_xmalloc(RAW_BUF);
    return 0;
}

void dl_entries_free(dl_entries *e)
{
    dv_demux_free(&e->demux);
    free(e->buf);
    e->buf = NULL;
}

void dl_entries_reset(dl_entries *e)
{
    dv_demux_free(&e->demux);
    dv_demux_init(&e->demux, e->raw, on_frame, e);
    e->len = 0;
    e->ts_end = 0;
}

/* Raw (TTY) stream: assemble "TS msg" entries in e->buf. */
static int raw_feed(dl_entries *e, const char *data, size_t len)
{
    while (len > 0) {
        size_t n;
        if (e->ts_end == 0) {
            /* Still in the timestamp: copy up to and including the space. */
            size_t room = DL_TS_TEXT_MAX + 1 - e->len;
            size_t scan = len < room ? len : room;
            const char *sp = memchr(data, ' ', scan);
            n = sp ? (size_t)(sp - data) + 1 : scan;
            memcpy(e->buf + e->len, data, n);
            e->len += n;
            if (sp) {
                e->ts_end = e->len - 1;
            } else if (e->len > DL_TS_TEXT_MAX) {
                return dv_error_set(e->err, -EPROTO,
                                    "log entry without a valid timestamp: \"%.*s\"", (int)e->len,
                                    e->buf);
            }
        } else {
            size_t room = e->ts_end + 1 + DL_ENTRY_MSG_MAX - e->len;
            size_t scan = len < room ? len : room;
            const char *nl = memchr(data, '\n', scan);
            n = nl ? (size_t)(nl - data) + 1 : scan;
            memcpy(e->buf + e->len, data, n);
            e->len += n;
            if (nl || n == room) {
                size_t entry_len = e->len;
                e->len = 0;
                e->ts_end = 0;
                if (deliver(e, DL_STDOUT, e->buf, entry_len))
                    return e->result;
            }
        }
        data += n;
        len -= n;
    }
    return 0;
}

int dl_entries_feed(dl_entries *e, const char *data, size_t len, dv_error *err)
{
    e->err = err;
    e->result = 0;
    if (e->raw) {
        int r = raw_feed(e, data, len);
        e->err = NULL;
        return r;
    }
    int r = dv_demux_feed(&e->demux, data, len, err);
    e->err = NULL;
    if (r == 1)
        return e->result;
    return r;
}

int dl_entries_finish(dl_entries *e, dv_error *err)
{
    if (!e->raw) {
        if (dv_demux_partial(&e->demux))
            return dv_error_set(err, -EPROTO, "the log stream ended inside a frame");
        return 0;
    }
    if (e->ts_end == 0) {
        e->len = 0; /* not even a timestamp: nothing Docker sent as an entry */
        return 0;
    }
    size_t len = e->len;
    e->len = 0;
    e->ts_end = 0;
    e->err = err;
    e->result = 0;
    deliver(e, DL_STDOUT, e->buf, len);
    e->err = NULL;
    return e->result;
}
