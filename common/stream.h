/* Incremental parsers for Engine API streams. Pure: bytes in, callbacks out; no curl,
 * no I/O (docklog links this without the client).
 *
 * Both parsers accept input split at any byte boundary and many units per feed.
 * Callbacks get (pointer, length) that is valid only during the call and NOT
 * NUL-terminated: when a unit is contiguous in the fed input it is passed in place
 * (no copy); only a unit split across feeds is assembled in an internal buffer.
 * Memory is bounded by max_frame / max_line; a buffer that grew beyond 64 KiB for
 * one large unit is released after it (hundreds of docklog processes run this).
 * After a callback asked to stop (feed returned 1) or an error, the parser is
 * positioned mid-input: do not feed it again (free it, or init a new one). */
#ifndef DV_STREAM_H
#define DV_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum dv_stream_type {
    DV_STREAM_STDIN = 0,
    DV_STREAM_STDOUT = 1,
    DV_STREAM_STDERR = 2,
    DV_STREAM_SYSTEM = 3, /* Docker's system error frame: payload is an error message */
};

/* One complete frame (multiplexed mode) or one chunk (raw/TTY mode, type STDOUT).
 * Empty frames are not delivered. Return non-zero to stop the stream. */
typedef int (*dv_frame_cb)(enum dv_stream_type type, const char *data, size_t len, void *userdata);

/* Frames larger than this are treated as a malformed stream (Docker's log frames are
 * at most 16 KiB of message plus a timestamp; attach/exec frames at most 32 KiB). */
#define DV_DEMUX_MAX_FRAME_DEFAULT ((size_t)1 << 20)

/* Demultiplexer for the 8-byte-header stream ([type,0,0,0,size BE32] payload).
 * In raw mode (TTY containers) every chunk is passed on as DV_STREAM_STDOUT. */
typedef struct dv_demux {
    bool raw;
    dv_frame_cb on_frame;
    void *userdata;
    size_t max_frame; /* 0 at init → DV_DEMUX_MAX_FRAME_DEFAULT; may be set after init */
    uint8_t header[8];
    size_t header_len;
    char *frame;      /* heap buffer for a frame split across feeds (reused) */
    size_t frame_len; /* bytes of the current frame received so far */
    size_t frame_size;
    size_t frame_cap;
    uint8_t frame_type;
} dv_demux;

void dv_demux_init(dv_demux *d, bool raw, dv_frame_cb on_frame, void *userdata);
void dv_demux_free(dv_demux *d);
/* Feed bytes. Returns 0, 1 if the callback asked to stop (the rest is dropped), or
 * -EPROTO for a malformed header (unknown type, non-zero padding, frame larger than
 * max_frame: typically a TTY stream read as multiplexed) / -ENOMEM. */
int dv_demux_feed(dv_demux *d, const char *data, size_t len, dv_error *err);
/* True if the stream ended in the middle of a frame (truncated). */
bool dv_demux_partial(const dv_demux *d);

/* Newline-delimited reader (NDJSON for pull progress and /events). The callback gets
 * the line without its "\n" (and without a "\r" before it); empty lines are skipped.
 * Lines longer than max_line (0 at init → DV_LINE_MAX_DEFAULT) are an error (-EMSGSIZE). */
#define DV_LINE_MAX_DEFAULT ((size_t)1 << 20)
typedef int (*dv_line_cb)(const char *line, size_t len, void *userdata);
typedef struct dv_line_reader {
    dv_line_cb on_line;
    void *userdata;
    size_t max_line;
    char *buf; /* holds only a line split across feeds */
    size_t len;
    size_t cap;
} dv_line_reader;

void dv_line_reader_init(dv_line_reader *r, size_t max_line, dv_line_cb on_line, void *userdata);
void dv_line_reader_free(dv_line_reader *r);
/* Returns 0, 1 if the callback asked to stop, or a negative error. */
int dv_line_reader_feed(dv_line_reader *r, const char *data, size_t len, dv_error *err);
/* Deliver a final unterminated line, if any. Returns like feed. */
int dv_line_reader_finish(dv_line_reader *r, dv_error *err);

#endif
