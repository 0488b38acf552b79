/* Docker's json-file log read straight from disk, when the Engine runs on this host
 * (DESIGN.md, Logs: two sources). Why: Docker 20.10's follow reader skips whole files
 * when it falls two rotations behind a fast writer and replays files after a
 * rotation, so with Docker's default cap (2 x 2m) lines are lost through the API that
 * are still on disk when they are written; reading the files costs dockerd nothing.
 *
 * The log is <dir>/<id>-json.log (LogPath), rotated by Docker to .1, .2, ... up to
 * max-file: rename the older files up by one (the oldest is deleted), rename the
 * current one to .1, create a new one. One JSON object per line:
 *   {"log":"<the bytes, a whole line ends in \n>","stream":"stdout|stderr",
 *    "time":"<RFC3339Nano>"[,"attrs":{...}]}
 * Docker writes each entry with one write(2) under its lock, and closes a file before
 * it renames it away, so a file with a newer one beside it is complete.
 *
 * Following by inode, never by name: every file is opened as soon as it is seen
 * (inotify on the directory, one instance; a rescan of the names on every event; a
 * poll every DL_JSONFILE_POLL when no inotify instance can be had) and read from the
 * held descriptor, so a file Docker deletes while it is still unread stays readable.
 * The directory is looked at after every read as well, so a file is held within a
 * read of its creation, long before Docker deletes it max-file rotations later; and
 * while the caller cannot read (dl_jsonfile_hold).
 * Nothing is lost while docklog runs, unless it falls DL_JSONFILE_MAX_FILES files
 * behind (then the oldest deleted file is given up, counted in `dropped`, and the
 * caller reports the gap), or it gets no CPU while Docker creates and deletes a whole
 * file between two of its looks (a writer faster than the disk's share docklog gets:
 * max-file rotations in one stall). That is told by the birth times (counted in
 * `dropped` too, count_unseen_json in jsonfile.c); otherwise the files it did not see
 * are only those rotated away while no docklog ran (gap report, gaps.h).
 *
 * The same follower reads Docker's `local` driver (DL_LOGFILE_LOCAL: frames decoded by
 * localfile.h instead of lines); its rotated files may be gzipped (.N.gz): the follower
 * takes a .gz only when the directory is first scanned and no uncompressed file of that
 * number exists (a file rotated while no docklog ran), and reads it through zlib.
 * Afterwards every file was held since it was the current one, so the .gz copies Docker
 * makes later are never needed. */
#ifndef DL_JSONFILE_H
#define DL_JSONFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "checkpoint.h"
#include "clock.h"
#include "entries.h"
#include "error.h"
#include "localfile.h"

#define DL_JSONFILE_MAX_FILES 64
#define DL_JSONFILE_POLL (250 * DV_NSEC_PER_MSEC)
/* A line longer than this is not one of Docker's entries (they hold at most 16 KiB
 * of log, escaped at most 6x): the file is not what it should be. */
#define DL_JSONFILE_LINE_MAX (128 * 1024)

enum dl_logfile_format { DL_LOGFILE_JSON, DL_LOGFILE_LOCAL };

typedef struct dl_jsonfile_file {
    int fd;
    void *gz; /* a gzFile reading a duplicate of fd (a compressed rotated file), or NULL */
    dev_t dev;
    ino_t ino;
    int index;    /* name suffix at the last scan (0 = the current file); -1: gone */
    bool started; /* reading it began */
    bool done;    /* read to its end after a newer file appeared */
    bool rotated; /* local: left the current name (Docker will make a .gz of it) */
    bool named;   /* json-file: had a name at the end of the last scan */
    int64_t off;  /* bytes read from fd */
    bool has_born;
    int64_t born_ns; /* statx birth time, when the filesystem keeps one */
} dl_jsonfile_file;

#define DL_LOCAL_GZ_SEEN 64
struct dl_gz_seen {
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
};

typedef struct dl_jsonfile {
    enum dl_logfile_format format;
    char *path; /* LogPath: <dir>/<name> */
    char *dir;
    const char *name;
    int inotify_fd;                                /* -1: polling */
    dl_jsonfile_file files[DL_JSONFILE_MAX_FILES]; /* oldest first */
    size_t n;
    size_t cur; /* the file being read */
    char *line; /* a partial line carried over between reads (json-file) */
    char *msg;  /* a decoded message (dl_jsonfile_parse_fast) */
    size_t line_len;
    dl_local_stream local; /* a partial frame carried over (local) */
    uint64_t chunks;       /* reads done: how often to look for new files */
    uint64_t dropped;      /* files given up unread (drop_oldest_unread), or never seen: gaps */
    /* local: the .gz files seen after the first scan, against the held files that were
     * rotated away (count_unseen_gz in jsonfile.c) */
    struct dl_gz_seen gz_seen[DL_LOCAL_GZ_SEEN];
    size_t gz_next;
    uint64_t gz_new, gz_new_now, rotated_out;
    bool rescan;     /* look at the names again at the next chance, event or not */
    int64_t held_ns; /* monotonic: dl_jsonfile_hold's last look when polling */
} dl_jsonfile;

/* Open LOG_PATH's directory for following (inotify if it can be had) and scan it.
 * The files already there are read from their start, oldest first. */
int dl_jsonfile_open(dl_jsonfile *f, const char *log_path, dv_error *err);
/* The same for a log in FORMAT (dl_jsonfile_open is DL_LOGFILE_JSON). */
int dl_logfile_open(dl_jsonfile *f, const char *log_path, enum dl_logfile_format format,
                    dv_error *err);
void dl_jsonfile_close(dl_jsonfile *f);

/* Whether inotify is used (false: polling). */
bool dl_jsonfile_notified(const dl_jsonfile *f);

/* Read what is there, at most about MAX_BYTES, and hand every entry to ON_ENTRY
 * (entries.h; its message points into a buffer valid during the call). Returns 1 if
 * more is readable now, 0 at the end of the newest file, a callback's negative
 * result, or an error of reading (-errno). A line that is not an entry
 * (a torn write after a crash) is skipped; *ret_skipped counts them (for local: each
 * undecodable entry, each file whose framing broke, each unreadable .gz). */
int dl_jsonfile_read(dl_jsonfile *f, size_t max_bytes, dl_entry_cb on_entry, void *userdata,
                     size_t *ret_skipped, dv_error *err);

/* Take hold of the files Docker created since the last look, without reading them,
 * for a caller kept from reading for a while: docklog waiting for room in journald's
 * queue, while a writer faster than journald has Docker create and delete whole files
 * (2 x 2m: a 20 MB/s writer deletes a file every 0.1 s). Safe from within
 * dl_jsonfile_read's callback. Looks only when inotify says a name changed, or when
 * polling at most every DL_JSONFILE_HOLD_POLL; leaves the look to the next read when
 * DL_JSONFILE_MAX_FILES are held (giving one up is the read's decision) or when it
 * fails (the read then fails as it would have). */
void dl_jsonfile_hold(dl_jsonfile *f);
#define DL_JSONFILE_HOLD_POLL (10 * DV_NSEC_PER_MSEC)

/* Where the reader stands (checkpoint.h, "source"; boot_id is the caller's): the file
 * being read and how many of its bytes were handed on as whole entries (a partial line
 * or frame carried over is not). False when no place can be told: a compressed file, a
 * file without a birth time, the rest of a damaged local file being skipped. */
bool dl_jsonfile_tell(const dl_jsonfile *f, dl_source_pos *ret);

/* Read from POS on instead of from the oldest file; only right after open. True if
 * POS's file is held (device, inode and birth time) and not shorter than its offset:
 * the files before it count as read. False: nothing changed. */
bool dl_jsonfile_seek(dl_jsonfile *f, const dl_source_pos *pos);

/* Wait until something may have changed (a directory event, or DL_JSONFILE_POLL when
 * polling), WAKE_FD or PID_FD (may be -1) is readable, or TIMEOUT_NS (-1: none)
 * passed. Rescans the directory on an event. Returns 0. */
int dl_jsonfile_wait(dl_jsonfile *f, int wake_fd, int pid_fd, int64_t timeout_ns, dv_error *err);

/* Docker's own encoding of an entry (moby's jsonlog MarshalJSONBuf), decoded without a
 * JSON library, which costs most of a reader's CPU:
 *   {"log":"<UTF-8 with Docker's escapes>","stream":"stdout|stderr","time":"<RFC3339Nano>"}
 * MSG receives the decoded message (at most LEN bytes). 1 with *RET filled (its msg in
 * MSG); 0 when the line has any other shape (attrs, another key order, whitespace,
 * invalid UTF-8, an escape JSON does not have...), for dl_jsonfile_parse_line, whose reading of
 * every line this accepts is the same (fuzzed side by side: fuzz_jsonfile). */
int dl_jsonfile_parse_fast(const char *line, size_t len, char *msg, dl_entry *ret);

/* Parse one json-file line into *RET (message and timestamp text point into
 * storage the caller's JSON object owns: see dl_jsonfile_read). Exposed for tests. */
int dl_jsonfile_parse_line(const char *line, size_t len, json_t **ret_json, dl_entry *ret,
                           dv_error *err);

#endif
