/* Incremental parsers for Engine API streams. Pure: bytes in, callbacks out.
 * Both accept input split at any byte boundary and many units per feed. */
#ifndef DV_STREAM_H
#define DV_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docker.h"

/* Demultiplexer for the 8-byte-header stream ([type,0,0,0,size BE32] payload).
 * In raw mode (TTY containers) every chunk is passed on as DV_STREAM_STDOUT. */
typedef struct dv_demux {
    bool raw;
    dv_frame_cb on_frame;
    void *userdata;
    uint8_t header[8];
    size_t header_len;
    char *frame;      /* heap buffer for the current frame */
    size_t frame_len; /* bytes of the current frame received so far */
    size_t frame_size;
    size_t frame_cap;
    uint8_t frame_type;
} dv_demux;

void dv_demux_init(dv_demux *d, bool raw, dv_frame_cb on_frame, void *userdata);
void dv_demux_free(dv_demux *d);
/* Feed bytes. Returns 0, 1 if the callback asked to stop (the rest is dropped), or
 * -EPROTO for a malformed header / -ENOMEM. */
int dv_demux_feed(dv_demux *d, const char *data, size_t len, dv_error *err);
/* True if the stream ended in the middle of a frame (truncated). */
bool dv_demux_partial(const dv_demux *d);

/* Newline-delimited reader (NDJSON for pull progress and /events). Lines longer
 * than max_line are an error. The callback gets the line without '\n'. */
typedef int (*dv_line_cb)(const char *line, size_t len, void *userdata);
typedef struct dv_line_reader {
    dv_line_cb on_line;
    void *userdata;
    size_t max_line;
    char *buf;
    size_t len;
    size_t cap;
} dv_line_reader;

void dv_line_reader_init(dv_line_reader *r, size_t max_line, dv_line_cb on_line, void *userdata);
void dv_line_reader_free(dv_line_reader *r);
/* Returns 0, 1 if the callback asked to stop, or a negative error. */
int dv_line_reader_feed(dv_line_reader *r, const char *data, size_t len, dv_error *err);
/* Deliver a final unterminated line, if any. */
int dv_line_reader_finish(dv_line_reader *r, dv_error *err);

#endif
