/* From the bytes of GET /containers/{id}/logs?timestamps=1 to log entries:
 * "<RFC3339Nano timestamp> <message>", the message keeping its trailing '\n' when it
 * is a whole line (a partial line, Docker's 16 KiB split or an unterminated last
 * line, has none).
 *
 * Multiplexed stream (no TTY): common/stream.h's dv_demux yields one frame per
 * entry; the entry is parsed in place (no copy).
 * Raw stream (TTY): entries are back to back without framing, so one ends at its
 * '\n', or after DL_ENTRY_MSG_MAX message bytes without one (Docker's log copier
 * cuts partial messages at exactly 16 KiB), or where the response ends cleanly
 * (dl_entries_finish: a container's unterminated last line). They are assembled in
 * a fixed buffer. Known limit: a TTY container's unterminated line shorter than
 * 16 KiB that is followed by another entry in the same response (only possible
 * across a restart of the container by Docker) is read as one line including the
 * next timestamp.
 *
 * A frame of type "system" (Docker reporting an error inside the stream) fails the
 * feed with -EIO and Docker's text; stdin frames are ignored. */
#ifndef DL_ENTRIES_H
#define DL_ENTRIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "file_sink.h"
#include "stream.h"

#define DL_ENTRY_MSG_MAX (16 * 1024)
/* "2262-04-11T23:47:16.854775807+00:00" is 35; anything longer is not a timestamp. */
#define DL_TS_TEXT_MAX 40

typedef struct dl_entry {
    enum dl_stream stream;
    int64_t ts;
    const char *msg;
    size_t len;
} dl_entry;

/* Return 0 to continue, non-zero to stop the feed (it then returns 1), or a negative
 * error (stored with ERR and returned by the feed). */
typedef int (*dl_entry_cb)(const dl_entry *e, void *userdata, dv_error *err);

typedef struct dl_entries {
    bool raw;
    dv_demux demux;
    dl_entry_cb on_entry;
    void *userdata;
    dv_error *err; /* during a feed */
    int result;    /* callback result during a feed */
    /* raw mode */
    char *buf; /* DL_TS_TEXT_MAX + 1 + DL_ENTRY_MSG_MAX */
    size_t len;
    size_t ts_end; /* index of the space after the timestamp; 0: not seen yet */
} dl_entries;

/* Always 0 (the int and ERR are kept for the callers). */
int dl_entries_init(dl_entries *e, bool raw, dl_entry_cb on_entry, void *userdata, dv_error *err);
void dl_entries_free(dl_entries *e);
/* Forget a partial entry (a new connection starts at an entry boundary). */
void dl_entries_reset(dl_entries *e);
/* Returns 0, 1 if the callback stopped, or a negative error (-EPROTO for a frame
 * without a valid timestamp). */
int dl_entries_feed(dl_entries *e, const char *data, size_t len, dv_error *err);

/* The response ended cleanly (Docker wrote everything): deliver a raw entry still
 * being assembled, which can only be an unterminated last line. A multiplexed stream
 * that ends inside a frame is garbled: -EPROTO. Returns like dl_entries_feed. */
int dl_entries_finish(dl_entries *e, dv_error *err);

/* Parse "TS msg" in place (exposed for tests). */
int dl_entry_parse(enum dl_stream stream, const char *data, size_t len, dl_entry *ret,
                   dv_error *err);

#endif
