#include "jsonfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "cleanup.h"
#include "timestamp.h"
#include "xalloc.h"

#define READ_CHUNK (64 * 1024)

int dl_jsonfile_parse_line(const char *line, size_t len, json_t **ret_json, dl_entry *ret,
                           dv_error *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
    if (!j)
        return dv_error_set(err, -EPROTO, "not a json-file entry: %s", jerr.text);
    json_t *log = json_object_get(j, "log");
    const char *stream = json_string_value(json_object_get(j, "stream"));
    const char *time = json_string_value(json_object_get(j, "time"));
    int64_t ts;
    if (!json_is_string(log) || !stream || !time ||
        (strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0) ||
        dv_timestamp_parse(time, strlen(time), &ts, NULL) < 0) {
        json_decref(j);
        return dv_error_set(err, -EPROTO, "not a json-file entry: missing log, stream or time");
    }
    dl_entry e = {.stream = strcmp(stream, "stderr") == 0 ? DL_STDERR : DL_STDOUT,
                  .ts = ts,
                  .msg = json_string_value(log),
                  .len = json_string_length(log)};
    *ret_json = j;
    *ret = e;
    return 0;
}

static int hex4(const char *p, unsigned *ret)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return -1;
        v = v << 4 | d;
    }
    *ret = v;
    return 0;
}

/* Code point CP as UTF-8 into OUT; its length. */
static size_t utf8(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The length of the UTF-8 sequence at P (AVAIL bytes), 0 if it is not one: overlong
 * forms, surrogates and code points past U+10FFFF are not, as Jansson has it. */
static size_t utf8_valid(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    size_t k;
    unsigned cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        k = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

/* The JSON string starting at *P (after its opening quote) up to END, decoded into OUT:
 * its length, *P after the closing quote; -1 for a control character, a byte that is not
 * UTF-8 or an escape JSON does not have (a surrogate must come in a pair, as Jansson
 * wants it): the caller then leaves the line to Jansson. */
static ssize_t json_string_ascii(const char **p, const char *end, char *out)
{
    const char *s = *p;
    size_t n = 0;
    while (s < end) {
        unsigned char c = (unsigned char)*s;
        if (c == '"') {
            *p = s + 1;
            return (ssize_t)n;
        }
        if (c < 0x20)
            return -1;
        if (c >= 0x80) {
            size_t k = utf8_valid((const unsigned char *)s, (size_t)(end - s));
            if (k == 0)
                return -1;
            memcpy(out + n, s, k);
            n += k;
            s += k;
            continue;
        }
        if (c != '\\') {
            out[n++] = (char)c;
            s++;
            continue;
        }
        if (end - s < 2)
            return -1;
        char esc = s[1];
        s += 2;
        switch (esc) {
        case '"':
            out[n++] = '"';
            break;
        case '\\':
            out[n++] = '\\';
            break;
        case '/':
            out[n++] = '/';
            break;
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (end - s < 4 || hex4(s, &cp) < 0)
                return -1;
            s += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return -1;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) < 0 ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return -1;
                s += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            n += utf8(cp, out + n);
            break;
        }
        default:
            return -1;
        }
    }
    return -1;
}

static bool take(const char **p, const char *end, const char *lit, size_t n)
{
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}
#define TAKE(p, end, lit) take(p, end, lit, sizeof(lit) - 1)

int dl_jsonfile_parse_fast(const char *line, size_t len, char *msg, dl_entry *ret)
{
    const char *p = line, *end = line + len;
    if (!TAKE(&p, end, "{\"log\":\""))
        return 0;
    ssize_t n = json_string_ascii(&p, end, msg);
    enum dl_stream stream;
    if (n < 0)
        return 0;
    if (TAKE(&p, end, ",\"stream\":\"stdout\",\"time\":\""))
        stream = DL_STDOUT;
    else if (TAKE(&p, end, ",\"stream\":\"stderr\",\"time\":\""))
        stream = DL_STDERR;
    else
        return 0;
    const char *time = p;
    const char *q = memchr(p, '"', (size_t)(end - p));
    int64_t ts;
    /* The stamp is the text up to the quote, which must end the object and the line. */
    if (!q || end - q != 2 || q[1] != '}' ||
        dv_timestamp_parse(time, (size_t)(q - time), &ts, NULL) < 0)
        return 0;
    for (const char *c = time; c < q; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x80 || *c == '\\')
            return 0;
    *ret = (dl_entry){.stream = stream, .ts = ts, .msg = msg, .len = (size_t)n};
    return 1;
}

static int name_path(const dl_jsonfile *f, int index, char *buf, size_t size)
{
    int n = index == 0 ? snprintf(buf, size, "%s", f->path)
                       : snprintf(buf, size, "%s.%d", f->path, index);
    return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

static void file_close(dl_jsonfile_file *x)
{
    if (x->gz)
        gzclose_r(x->gz);
    close(x->fd);
}

/* A partial line or frame of the file left behind is dropped: true if there was one. */
static bool forget_partial(dl_jsonfile *f)
{
    if (f->format == DL_LOGFILE_LOCAL)
        return dl_local_stream_next_file(&f->local);
    bool had = f->line_len > 0;
    f->line_len = 0;
    return had;
}

static dl_jsonfile_file *find(dl_jsonfile *f, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->files[i].dev == dev && f->files[i].ino == ino)
            return &f->files[i];
    return NULL;
}

/* Close files read to their end that Docker has deleted (their inode may be reused
 * only once nobody holds it, so a finished file is held while it has a name). */
static void forget_finished(dl_jsonfile *f)
{
    size_t keep = 0;
    for (size_t i = 0; i < f->n; i++) {
        dl_jsonfile_file *x = &f->files[i];
        if (i < f->cur && x->done && (x->index < 0 || f->n > DL_JSONFILE_MAX_FILES / 2)) {
            file_close(x);
            continue;
        }
        f->files[keep++] = *x;
    }
    f->cur -= f->n - keep;
    f->n = keep;
}

/* The reader is DL_JSONFILE_MAX_FILES files behind: give up the oldest file Docker has
 * deleted that is not read to its end (its disk space is held for nothing but this
 * reader), and count it, so the caller reports the gap. */
static bool drop_oldest_unread(dl_jsonfile *f)
{
    for (size_t i = f->cur; i < f->n; i++) {
        if (f->files[i].index >= 0)
            break;
        file_close(&f->files[i]);
        memmove(&f->files[i], &f->files[i + 1], (f->n - i - 1) * sizeof(f->files[0]));
        f->n--;
        if (i == f->cur)
            forget_partial(f); /* its partial line goes with it */
        f->dropped++;
        return true;
    }
    return false;
}

/* A local log's rotated file that exists only compressed: at the first scan, as
 * <name>.N.gz, opened through zlib (on a descriptor of its own, so the held fd stays
 * the file's identity). Returns the fd, -1 with errno. */
static int open_gz(const char *path, void **ret_gz)
{
    char gzpath[PATH_MAX + 3];
    snprintf(gzpath, sizeof(gzpath), "%s.gz", path);
    int fd = open(gzpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return -1;
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    gzFile gz = dup < 0 ? NULL : gzdopen(dup, "rb");
    if (!gz) {
        int e = errno ? errno : ENOMEM;
        if (dup >= 0)
            close(dup);
        close(fd);
        errno = e;
        return -1;
    }
    *ret_gz = gz;
    return fd;
}

/* True if the .gz was not seen before. Its inode may be one of a .gz Docker deleted
 * (nobody held it): the modification time tells them apart, and is final by the time
 * it is looked at (Docker removes the plain file after closing the .gz, and only
 * then is the .gz looked at). */
static bool remember_gz(dl_jsonfile *f, const struct stat *st)
{
    for (size_t i = 0; i < DL_LOCAL_GZ_SEEN; i++) {
        const struct dl_gz_seen *g = &f->gz_seen[i];
        if (g->dev == st->st_dev && g->ino == st->st_ino && g->mtime.tv_sec == st->st_mtim.tv_sec &&
            g->mtime.tv_nsec == st->st_mtim.tv_nsec)
            return false;
    }
    f->gz_seen[f->gz_next++ % DL_LOCAL_GZ_SEEN] =
        (struct dl_gz_seen){st->st_dev, st->st_ino, st->st_mtim};
    return true;
}

/* A .gz seen after the first scan: remember its inode (renames keep it) and count it
 * if new. True if it exists. */
static bool note_gz(dl_jsonfile *f, const char *path)
{
    char gzpath[PATH_MAX + 3];
    snprintf(gzpath, sizeof(gzpath), "%s.gz", path);
    struct stat st;
    if (stat(gzpath, &st) < 0)
        return false;
    if (find(f, st.st_dev, st.st_ino))
        return true;
    if (remember_gz(f, &st)) {
        f->gz_new++;
        f->gz_new_now++;
    }
    return true;
}

/* Every .gz Docker makes is the copy of a file that left the current name: one this
 * reader held (then the .gz is nothing new) or one created, rotated and compressed
 * between two of its scans, which it never saw. More new .gz files than held files
 * rotated away means the latter: counted in `dropped`, so the caller reports the gap
 * (loss is never silent). The .gz files of this scan are compared at the next one:
 * a rotation under a scan can show the .gz before the rename of the held file. */
static void count_unseen_gz(dl_jsonfile *f, bool first)
{
    for (size_t i = 0; i < f->n; i++) {
        dl_jsonfile_file *x = &f->files[i];
        struct stat st;
        if (x->gz && first && fstat(x->fd, &st) == 0)
            remember_gz(f, &st); /* held now, closed once read */
        if (!x->gz && !x->rotated && x->index != 0) {
            x->rotated = true;
            f->rotated_out++;
        }
    }
    uint64_t settled = f->gz_new - f->gz_new_now;
    if (settled > f->rotated_out) {
        f->dropped += settled - f->rotated_out;
        f->rotated_out = settled;
    }
    /* Those of this scan are settled at the next one, which must come. */
    f->rescan = f->gz_new_now > 0;
    f->gz_new_now = 0;
    /* A held file whose name is gone has its .gz made (Docker removes the plain file
     * after): seen, or deleted unseen when max-file rotations passed between two looks.
     * Only those still named are owed a .gz; a larger count would hide a missed file. */
    uint64_t named = 0;
    for (size_t i = 0; i < f->n; i++)
        named += f->files[i].rotated && f->files[i].index > 0;
    if (f->rotated_out > f->gz_new + named)
        f->rotated_out = f->gz_new + named;
}

/* The birth time tells a file from a later one that got its inode number. */
static void birth_time(dl_jsonfile_file *x)
{
    struct statx stx;
    if (statx(x->fd, "", AT_EMPTY_PATH, STATX_BTIME, &stx) == 0 && (stx.stx_mask & STATX_BTIME)) {
        x->born_ns = (int64_t)stx.stx_btime.tv_sec * DV_NSEC_PER_SEC + stx.stx_btime.tv_nsec;
        x->has_born = true;
    }
}

/* json-file deletes a file only at a rotation, which then creates a new one; the file
 * rotated out just before it, its direct successor, was created at its own rotation out,
 * while it still had a name, so before its deletion. So when a held file's name is gone
 * (its link count 0: deleted, ctime its deletion) and the next file held was born at or
 * after that deletion, that successor was created and deleted between two looks, unread:
 * counted in `dropped`, for the caller's gap report. Equal times count as a miss: with
 * the coarse clock of inode times, a successor born in the same tick as the deletion
 * means a whole file written in one tick, which Docker's smallest caps do not allow a
 * writer. Only json-file: `local` deletes a file after compressing it, not at a
 * rotation. */
static void count_unseen_json(dl_jsonfile *f)
{
    for (size_t i = 0; i < f->n; i++) {
        dl_jsonfile_file *x = &f->files[i];
        bool gone = x->named && x->index < 0;
        x->named = x->index >= 0;
        struct stat st;
        if (!gone || i + 1 >= f->n || !f->files[i + 1].has_born || fstat(x->fd, &st) < 0 ||
            st.st_nlink > 0)
            continue;
        int64_t deleted = (int64_t)st.st_ctim.tv_sec * DV_NSEC_PER_SEC + st.st_ctim.tv_nsec;
        if (f->files[i + 1].born_ns >= deleted)
            f->dropped++;
    }
}

/* Look at every name (the current file and .1 ... up to the first gap after the
 * last one found, allowing the hole a rotation in progress leaves) and hold every
 * file not seen before, in age order. FIRST: the scan at open, the only one that
 * takes a local log's .gz files (later every file was held before Docker compressed
 * it, and a .gz is a copy). */
static int scan_names(dl_jsonfile *f, bool first, dv_error *err)
{
    for (size_t i = 0; i < f->n; i++)
        f->files[i].index = -1;
    int misses = 0;
    for (int index = 0; misses < 2 && index < DL_JSONFILE_MAX_FILES; index++) {
        char path[PATH_MAX];
        if (name_path(f, index, path, sizeof(path)) < 0)
            return dv_error_set(err, -ENAMETOOLONG, "log path too long: %s", f->path);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        void *gz = NULL;
        if (fd < 0 && errno == ENOENT && index > 0 && f->format == DL_LOGFILE_LOCAL) {
            if (first) {
                fd = open_gz(path, &gz);
            } else if (note_gz(f, path)) {
                misses = 0;
                continue;
            }
        }
        if (fd < 0) {
            if (errno != ENOENT)
                return dv_error_errno(err, -errno, "open %s", path);
            misses++;
            continue;
        }
        misses = 0;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            int r = errno ? -errno : -EINVAL;
            if (gz)
                gzclose_r(gz);
            close(fd);
            return dv_error_errno(err, r, "%s: not a regular file", path);
        }
        dl_jsonfile_file *known = find(f, st.st_dev, st.st_ino);
        if (known) {
            known->index = index;
            close(fd);
            continue;
        }
        if (f->n == DL_JSONFILE_MAX_FILES && !drop_oldest_unread(f)) {
            if (gz)
                gzclose_r(gz);
            close(fd);
            return dv_error_set(err, -EMFILE, "more than %d log files to hold for %s",
                                DL_JSONFILE_MAX_FILES, f->path);
        }
        /* Newer files have smaller indexes: it goes before the first held file that
         * is newer, and never before the one being read (a file older than that
         * one cannot appear). */
        size_t at = f->n;
        for (size_t i = f->cur; i < f->n; i++)
            if (f->files[i].index >= 0 && f->files[i].index < index && !f->files[i].started) {
                at = i;
                break;
            }
        memmove(&f->files[at + 1], &f->files[at], (f->n - at) * sizeof(f->files[0]));
        f->files[at] = (dl_jsonfile_file){
            .fd = fd, .gz = gz, .dev = st.st_dev, .ino = st.st_ino, .index = index};
        birth_time(&f->files[at]);
        f->n++;
    }
    if (f->format == DL_LOGFILE_LOCAL)
        count_unseen_gz(f, first);
    else
        count_unseen_json(f);
    forget_finished(f);
    return 0;
}

static int scan(dl_jsonfile *f, dv_error *err)
{
    return scan_names(f, false, err);
}

int dl_jsonfile_open(dl_jsonfile *f, const char *log_path, dv_error *err)
{
    return dl_logfile_open(f, log_path, DL_LOGFILE_JSON, err);
}

int dl_logfile_open(dl_jsonfile *f, const char *log_path, enum dl_logfile_format format,
                    dv_error *err)
{
    memset(f, 0, sizeof(*f));
    f->format = format;
    dl_local_stream_init(&f->local);
    f->inotify_fd = -1;
    const char *slash = strrchr(log_path, '/');
    if (!slash || !slash[1])
        return dv_error_set(err, -EINVAL, "log path %s is not a file path", log_path);
    f->path = dv_xstrdup(log_path);
    f->dir = dv_xstrndup(log_path, (size_t)(slash - log_path) + (slash == log_path));
    f->line = dv_xmalloc(DL_JSONFILE_LINE_MAX);
    f->msg = dv_xmalloc(DL_JSONFILE_LINE_MAX);
    f->name = f->path + (slash - log_path) + 1;
    /* One instance per docklog; without one (fs.inotify.max_user_instances reached)
     * the directory is polled instead. */
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (in >= 0 && inotify_add_watch(in, f->dir,
                                     IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
                                         IN_DELETE | IN_DELETE_SELF | IN_ONLYDIR) < 0) {
        close(in);
        in = -1;
    }
    f->inotify_fd = in;
    int r = scan_names(f, true, err);
    if (r < 0) {
        dl_jsonfile_close(f);
        return r;
    }
    if (f->n == 0) {
        dl_jsonfile_close(f);
        return dv_error_set(err, -ENOENT, "no log file at %s", log_path);
    }
    return 0;
}

void dl_jsonfile_close(dl_jsonfile *f)
{
    for (size_t i = 0; i < f->n; i++)
        file_close(&f->files[i]);
    f->n = 0;
    dl_local_stream_free(&f->local);
    if (f->inotify_fd >= 0)
        close(f->inotify_fd);
    f->inotify_fd = -1;
    free(f->path);
    free(f->dir);
    free(f->line);
    free(f->msg);
    f->path = f->dir = f->line = f->msg = NULL;
}

bool dl_jsonfile_notified(const dl_jsonfile *f)
{
    return f->inotify_fd >= 0;
}

/* Read the queued events: true if a name changed (a rotation) or events were lost,
 * false if files were only written to. */
static bool names_changed(int fd)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool changed = false;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & ~(uint32_t)IN_MODIFY)
                changed = true;
            p += sizeof(*ev) + ev->len;
        }
    }
    return changed;
}

static int entry_of(dl_jsonfile *f, const char *line, size_t len, dl_entry_cb on_entry,
                    void *userdata, size_t *skipped, dv_error *err)
{
    json_t *j = NULL;
    dl_entry e;
    if (dl_jsonfile_parse_fast(line, len, f->msg, &e))
        return on_entry(&e, userdata, err);
    if (dl_jsonfile_parse_line(line, len, &j, &e, NULL) < 0) {
        (*skipped)++;
        return 0;
    }
    int r = on_entry(&e, userdata, err);
    json_decref(j);
    return r;
}

/* Hand every whole line of DATA (with the carried-over partial line) to entry_of;
 * keep the unfinished rest. */
static int lines(dl_jsonfile *f, const char *data, size_t len, dl_entry_cb on_entry, void *userdata,
                 size_t *skipped, dv_error *err)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        if (f->line_len + n > DL_JSONFILE_LINE_MAX) {
            /* Not Docker's: drop it up to its end. */
            f->line_len = 0;
            (*skipped)++;
        } else if (nl && f->line_len == 0) {
            int r = entry_of(f, data, n, on_entry, userdata, skipped, err);
            if (r != 0)
                return r;
        } else {
            memcpy(f->line + f->line_len, data, n);
            f->line_len += n;
            if (nl) {
                size_t l = f->line_len;
                f->line_len = 0;
                int r = entry_of(f, f->line, l, on_entry, userdata, skipped, err);
                if (r != 0)
                    return r;
            }
        }
        if (!nl)
            break;
        data += n + 1;
        len -= n + 1;
    }
    return 0;
}

void dl_jsonfile_hold(dl_jsonfile *f)
{
    if (f->inotify_fd >= 0) {
        if (!names_changed(f->inotify_fd) && !f->rescan)
            return;
    } else {
        int64_t now = dv_monotonic_ns();
        if (now - f->held_ns < DL_JSONFILE_HOLD_POLL)
            return;
        f->held_ns = now;
    }
    /* The events are read: when this does not look, the next read must. */
    if (f->n >= DL_JSONFILE_MAX_FILES) {
        f->rescan = true;
        return;
    }
    f->rescan = false; /* (a local log's scan may ask for the next one itself) */
    dv_error err;
    if (scan(f, &err) < 0)
        f->rescan = true;
}

int dl_jsonfile_read(dl_jsonfile *f, size_t max_bytes, dl_entry_cb on_entry, void *userdata,
                     size_t *ret_skipped, dv_error *err)
{
    char buf[READ_CHUNK];
    size_t total = 0, skipped = 0;
    int result = 0;
    while (f->cur < f->n) {
        if (total >= max_bytes) {
            result = 1;
            break;
        }
        dl_jsonfile_file *x = &f->files[f->cur];
        x->started = true;
        ssize_t n;
        if (x->gz) {
            /* A damaged .gz is given up as a whole, like a file Docker rotated away. */
            n = gzread(x->gz, buf, sizeof(buf));
            if (n < 0) {
                skipped++;
                n = 0;
            }
        } else {
            n = read(x->fd, buf, sizeof(buf));
            if (n > 0)
                x->off += n;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            result = dv_error_errno(err, -errno, "read %s", f->path);
            break;
        }
        if (n > 0) {
            total += (size_t)n;
            int r = f->format == DL_LOGFILE_LOCAL
                        ? dl_local_stream_feed(&f->local, (const uint8_t *)buf, (size_t)n, on_entry,
                                               userdata, &skipped, err)
                        : lines(f, buf, (size_t)n, on_entry, userdata, &skipped, err);
            if (r != 0) {
                result = r;
                break;
            }
            /* A writer faster than this reader rotates files while it reads: take
             * hold of each new file as soon as it appears, before Docker deletes it
             * two rotations later. */
            if (++f->chunks % (f->inotify_fd >= 0 ? 1 : 16) == 0 &&
                (f->inotify_fd < 0 || names_changed(f->inotify_fd) || f->rescan) &&
                (r = scan(f, err)) < 0) {
                result = r;
                break;
            }
            continue;
        }
        /* End of this file. It is complete once a newer one exists: Docker closes a
         * file before renaming it away and creating the next. That newer file was
         * seen before this read, so the read got everything. */
        if (f->cur + 1 >= f->n)
            break;
        if (forget_partial(f))
            skipped++; /* a torn last write (a crash of dockerd) */
        x->done = true;
        f->cur++;
    }
    if (ret_skipped)
        *ret_skipped += skipped;
    return result;
}

bool dl_jsonfile_tell(const dl_jsonfile *f, dl_source_pos *ret)
{
    if (f->cur >= f->n)
        return false;
    const dl_jsonfile_file *x = &f->files[f->cur];
    size_t pending = f->format == DL_LOGFILE_LOCAL ? f->local.len : f->line_len;
    /* Identities that do not fit the checkpoint's JSON integers are not kept. */
    if (x->gz || !x->has_born || (f->format == DL_LOGFILE_LOCAL && f->local.corrupt) ||
        (uint64_t)x->dev > INT64_MAX || (uint64_t)x->ino > INT64_MAX || (int64_t)pending > x->off)
        return false;
    ret->set = true;
    ret->dev = x->dev;
    ret->ino = x->ino;
    ret->born_ns = x->born_ns;
    ret->offset = x->off - (int64_t)pending;
    return true;
}

bool dl_jsonfile_seek(dl_jsonfile *f, const dl_source_pos *pos)
{
    if (!pos->set || f->cur != 0 || f->line_len > 0)
        return false;
    for (size_t i = 0; i < f->n; i++) {
        dl_jsonfile_file *x = &f->files[i];
        struct stat st;
        if ((uint64_t)x->dev != pos->dev || (uint64_t)x->ino != pos->ino)
            continue;
        if (x->gz || !x->has_born || x->born_ns != pos->born_ns || fstat(x->fd, &st) < 0 ||
            st.st_size < pos->offset || lseek(x->fd, pos->offset, SEEK_SET) != pos->offset)
            return false;
        x->off = pos->offset;
        for (size_t j = 0; j < i; j++)
            f->files[j].started = f->files[j].done = true;
        f->cur = i;
        return true;
    }
    return false;
}

int dl_jsonfile_wait(dl_jsonfile *f, int wake_fd, int pid_fd, int64_t timeout_ns, dv_error *err)
{
    struct pollfd p[3];
    nfds_t n = 0;
    if (f->inotify_fd >= 0)
        p[n++] = (struct pollfd){.fd = f->inotify_fd, .events = POLLIN};
    if (wake_fd >= 0)
        p[n++] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
    if (pid_fd >= 0)
        p[n++] = (struct pollfd){.fd = pid_fd, .events = POLLIN};
    int64_t wait = timeout_ns;
    if ((f->inotify_fd < 0 || f->rescan) && (wait < 0 || wait > DL_JSONFILE_POLL))
        wait = DL_JSONFILE_POLL;
    int ms = wait < 0 ? -1 : (int)((wait + DV_NSEC_PER_MSEC - 1) / DV_NSEC_PER_MSEC);
    int ready = poll(p, n, ms);
    if (ready < 0 && errno != EINTR)
        return dv_error_errno(err, -errno, "poll");
    /* Polling: every wake may hide a rotation. With inotify: only a name change. */
    if (f->inotify_fd < 0 || names_changed(f->inotify_fd) || f->rescan)
        return scan(f, err);
    return 0;
}
