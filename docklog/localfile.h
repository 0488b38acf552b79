/* Docker's `local` log driver read straight from disk (DESIGN.md, Logs: two sources;
 * moby daemon/logger/local). The files are followed exactly as json-file's are, by the
 * same follower (jsonfile.h, DL_LOGFILE_LOCAL): by inode, every file held from the
 * moment it appears, one inotify instance on the directory or polling. This module is
 * what differs: the format, and the compressed rotated files.
 *
 * The log is <docker root>/containers/<id>/local-logs/container.log (inspect gives no
 * LogPath for local: dl_localfile_path derives it), rotated to container.log.1, .2, ...
 * (max-file, default 5; max-size default 20m). With `compress` (the local driver's
 * default) Docker gzips a rotated file in the background to container.log.N.gz and then
 * removes container.log.N. docklog held that file's descriptor since it was the current
 * file, so compression costs nothing while docklog runs; only at a start (a resume from
 * a checkpoint) can a needed file exist only as .gz: it is read through zlib (linked
 * statically), and one that cannot be read is not seen, which the replay filter reports
 * as a gap like any file rotated away while no docklog ran (gaps.h).
 *
 * Each entry is a frame: a 4-byte big-endian length L, L bytes of a protobuf LogEntry
 *   {1: source string "stdout"|"stderr", 2: time_nano int64, 3: line bytes,
 *    4: partial bool, 5: PartialLogEntryMetadata {1: last bool, 2: id, 3: ordinal}}
 * and L again. The line carries no '\n': as Docker's own reader does, docklog adds one
 * unless the entry is a partial piece that is not the last (Docker's 16 KiB pieces of
 * one long line, as the API sends them: entries.h). Docker writes each frame with one
 * write(2) and closes a file before renaming it away, so a file with a newer one beside
 * it is complete. A frame whose lengths disagree, or longer than DL_LOCAL_FRAME_MAX,
 * means the file is not what it should be: the rest of that file cannot be framed again
 * and is skipped (counted once, reported by the caller); a well-framed entry whose
 * protobuf does not decode costs only itself (counted). */
#ifndef DL_LOCALFILE_H
#define DL_LOCALFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entries.h"
#include "error.h"

/* Docker refuses messages above 1e6 bytes (local's maxMsgLen); with the other fields
 * a frame stays well below 1 MiB. A longer length is corruption, not an entry. */
#define DL_LOCAL_FRAME_MAX (1024 * 1024)
#define DL_LOCAL_LOG_SUBPATH "local-logs/container.log"

typedef struct dl_local_entry {
    enum dl_stream stream;
    int64_t ts;
    const uint8_t *line; /* points into the decoded buffer */
    size_t len;
    bool partial; /* a piece of a longer line */
    bool last;    /* the last piece (PartialLogEntryMetadata.last) */
} dl_local_entry;

/* Decode one LogEntry protobuf (the L bytes of a frame). Unknown fields are skipped by
 * their wire type; -EPROTO for anything that does not decode within LEN, a known field
 * with another wire type, a missing or unknown source, and a negative time (a missing
 * one is 0, as protobuf 3 omits zero values). */
int dl_local_decode_entry(const uint8_t *p, size_t len, dl_local_entry *ret, dv_error *err);

/* The frame at the start of P (AVAIL bytes): 0 with *RET_SIZE the whole frame's size
 * (8 + L) when it is complete, 1 when more bytes are needed, -EPROTO when it cannot be
 * a frame (length over DL_LOCAL_FRAME_MAX, or the trailing length differs). */
int dl_local_frame(const uint8_t *p, size_t avail, size_t *ret_size, dv_error *err);

/* A stream of frames cut at arbitrary read boundaries. */
typedef struct dl_local_stream {
    uint8_t *buf; /* a frame carried over between feeds */
    size_t buf_cap;
    size_t len;
    size_t need;   /* size of the frame being assembled; 0: its header not complete */
    bool corrupt;  /* the rest of this file is skipped */
    uint8_t *line; /* the message handed on, with its '\n' */
    size_t line_cap;
} dl_local_stream;

void dl_local_stream_init(dl_local_stream *s);
void dl_local_stream_free(dl_local_stream *s);
/* A new file starts: forget a partial frame (a torn last write; returns true if there
 * was one, for the caller's count) and the corruption of the previous file. */
bool dl_local_stream_next_file(dl_local_stream *s);
/* Hand every complete frame of DATA to ON_ENTRY (dl_entry.msg valid during the call).
 * A corrupt frame increments *SKIPPED once and makes the stream drop the rest of the
 * file. Returns 0, or the callback's non-zero result. */
int dl_local_stream_feed(dl_local_stream *s, const uint8_t *data, size_t len, dl_entry_cb on_entry,
                         void *userdata, size_t *skipped, dv_error *err);

/* The local driver's log path of container ID, from HostnamePath or ResolvConfPath
 * (<root>/containers/<some id>/<name>: with --network container:X they name X's
 * directory, so only the <root>/containers part is used). -EINVAL if neither has that
 * shape. */
int dl_local_log_path(const char *id, const char *hostname_path, const char *resolv_path, char *buf,
                      size_t size, dv_error *err);

#endif
