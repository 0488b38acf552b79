#include "file_sink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "log_names.h"
#include "xalloc.h"

static const char *const stream_names[] = {"stdout", "stderr"};

/* Every file is reached through the directory's fd (dv_log_dir_open: the task may
 * swap the directory for a symlink) and opened with O_NOFOLLOW; paths are only for
 * messages. dl_file_sink_open() checked that every name fits. */
static void file_name(char buf[PATH_MAX], const char *base, const char *type, int64_t index)
{
    dv_log_file_name(buf, PATH_MAX, base, type, index);
}

static int open_dir(const char *dir, dv_error *err)
{
    int fd = dv_log_dir_open(dir);
    if (fd == -ELOOP || fd == -ENOTDIR)
        return dv_error_set(err, fd,
                            "log directory %s is not a directory (a symlink?): not writing "
                            "through it",
                            dir);
    if (fd < 0)
        return dv_error_errno(err, fd, "open log directory %s", dir);
    return fd;
}

/* Highest existing index of TYPE in the directory DIR_FD (or -1), and optionally
 * removes files outside [keep_from, keep_to]. */
static int scan(int dir_fd, const char *dir, const char *base, const char *type, int64_t keep_from,
                int64_t keep_to, bool remove, int64_t *ret_max, dv_error *err)
{
    int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        int e = -errno;
        if (fd >= 0)
            close(fd);
        return dv_error_errno(err, e, "read directory %s", dir);
    }
    int64_t max = -1;
    int r = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        int64_t i = dv_log_file_index(de->d_name, base, type);
        if (i < 0)
            continue;
        if (remove && (i < keep_from || i > keep_to)) {
            if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
                r = dv_error_errno(err, -errno, "remove %s/%s", dir, de->d_name);
                break;
            }
            continue;
        }
        if (i > max)
            max = i;
    }
    closedir(d);
    if (r == 0)
        *ret_max = max;
    return r;
}

/* Positioned writes: a write that failed half way (disk full, file size limit) and is
 * retried puts the same bytes at the same place again, never after the part that
 * made it. */
static int pwrite_all(int fd, const char *data, size_t len, int64_t offset)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, data, len, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        data += n;
        len -= (size_t)n;
        offset += n;
    }
    return 0;
}

/* The buffer holds the last buf_len bytes of what pos.offset counts. */
static int flush_stream(dl_file_sink *sink, dl_file_stream *s, dv_error *err)
{
    if (s->buf_len == 0)
        return 0;
    int r = pwrite_all(s->fd, s->buf, s->buf_len, s->pos.offset - (int64_t)s->buf_len);
    if (r < 0)
        return dv_error_errno(err, r, "write %s/%s.%s.%lld", sink->dir, sink->base, s->name,
                              (long long)s->pos.index);
    s->buf_len = 0;
    return 0;
}

static int open_file(dl_file_sink *sink, dl_file_stream *s, bool truncate, dv_error *err)
{
    char name[PATH_MAX];
    file_name(name, sink->base, s->name, s->pos.index);
    int fd = openat(sink->dir_fd, name,
                    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (truncate ? O_TRUNC : 0), 0644);
    if (fd < 0)
        return dv_error_errno(err, -errno, "open %s/%s", sink->dir, name);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = fd;
    return 0;
}

static int rotate(dl_file_sink *sink, dl_file_stream *s, dv_error *err)
{
    int r = flush_stream(sink, s, err);
    if (r < 0)
        return r;
    s->pos.index++;
    s->pos.offset = 0;
    s->pos.line_start = 0;
    return open_file(sink, s, true, err);
}

/* The partial line [line_start, offset) of the current file moves to the start of a
 * new file; the old file is cut back later (after a checkpoint names the new one). */
static int relocate(dl_file_sink *sink, dl_file_stream *s, dv_error *err)
{
    int r;
    if (s->pos.truncate_index >= 0 && !s->truncate_applied) {
        if (!sink->checkpoint_hook)
            return dv_error_set(err, -EINVAL, "file sink: second line move without checkpoint");
        if ((r = sink->checkpoint_hook(sink->hook_userdata, err)) < 0)
            return r;
    }
    if ((r = flush_stream(sink, s, err)) < 0)
        return r;
    int64_t from = s->pos.line_start, len = s->pos.offset - s->pos.line_start;
    _cleanup_close_ int old = TAKE_FD(s->fd);
    int64_t old_index = s->pos.index;
    s->pos.index++;
    if ((r = open_file(sink, s, true, err)) < 0)
        return r;
    char block[8192];
    for (int64_t done = 0; done < len;) {
        size_t want = (size_t)(len - done) < sizeof(block) ? (size_t)(len - done) : sizeof(block);
        ssize_t n = pread(old, block, want, from + done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return dv_error_errno(err, n < 0 ? -errno : -EIO,
                                  "read back partial line of %s.%s.%lld", sink->base, s->name,
                                  (long long)old_index);
        if ((r = pwrite_all(s->fd, block, (size_t)n, done)) < 0)
            return dv_error_errno(err, r, "move partial line to %s.%s.%lld", sink->base, s->name,
                                  (long long)s->pos.index);
        done += n;
    }
    s->pos.offset = len;
    s->pos.line_start = 0;
    s->pos.truncate_index = old_index;
    s->pos.truncate_offset = from;
    s->truncate_applied = false;
    return 0;
}

static int append(dl_file_sink *sink, dl_file_stream *s, const char *data, size_t len,
                  dv_error *err)
{
    if (s->buf_len + len > DL_FILE_BUF_SIZE) {
        int r = flush_stream(sink, s, err);
        if (r < 0)
            return r;
        if (len >= DL_FILE_BUF_SIZE) {
            r = pwrite_all(s->fd, data, len, s->pos.offset);
            if (r < 0)
                return dv_error_errno(err, r, "write %s.%s.%lld", sink->base, s->name,
                                      (long long)s->pos.index);
            s->pos.offset += (int64_t)len;
            return 0;
        }
    }
    memcpy(s->buf + s->buf_len, data, len);
    s->buf_len += len;
    s->pos.offset += (int64_t)len;
    return 0;
}

int dl_file_sink_write(dl_file_sink *sink, enum dl_stream stream, const char *data, size_t len,
                       dv_error *err)
{
    dl_file_stream *s = &sink->s[stream];
    if (len == 0)
        return 0;
    bool complete = data[len - 1] == '\n';
    int r;
    while (len > 0) {
        int64_t room = sink->max_size - s->pos.offset;
        size_t chunk = len;
        if ((int64_t)len > room) {
            if (!s->pos.mid_line && s->pos.offset > 0) {
                if ((r = rotate(sink, s, err)) < 0) /* a new line goes to a new file */
                    return r;
                continue;
            }
            if (s->pos.mid_line && s->pos.line_start > 0) {
                if ((r = relocate(sink, s, err)) < 0) /* keep the line whole */
                    return r;
                continue;
            }
            /* The line began at offset 0 and alone exceeds the limit: split it. */
            if (room <= 0) {
                if ((r = rotate(sink, s, err)) < 0)
                    return r;
                s->pos.mid_line = true;
                continue;
            }
            chunk = (size_t)room;
        }
        if (!s->pos.mid_line) {
            s->pos.line_start = s->pos.offset;
            s->pos.mid_line = true;
        }
        if ((r = append(sink, s, data, chunk, err)) < 0)
            return r;
        data += chunk;
        len -= chunk;
    }
    if (complete) {
        s->pos.mid_line = false;
        s->pos.line_start = s->pos.offset;
    }
    return 0;
}

int dl_file_sink_flush(dl_file_sink *sink, dv_error *err)
{
    for (int i = 0; i < 2; i++) {
        int r = flush_stream(sink, &sink->s[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

int dl_file_sink_sync(dl_file_sink *sink, dv_error *err)
{
    int r = dl_file_sink_flush(sink, err);
    if (r < 0)
        return r;
    for (int i = 0; i < 2; i++)
        if (fdatasync(sink->s[i].fd) < 0)
            return dv_error_errno(err, -errno, "fdatasync %s.%s", sink->base, sink->s[i].name);
    return 0;
}

static int apply_truncation(dl_file_sink *sink, dl_file_stream *s, dv_error *err)
{
    if (s->pos.truncate_index < 0 || s->truncate_applied)
        return 0;
    char name[PATH_MAX];
    file_name(name, sink->base, s->name, s->pos.truncate_index);
    _cleanup_close_ int fd = openat(sink->dir_fd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 && errno != ENOENT)
        return dv_error_errno(err, -errno, "open %s/%s", sink->dir, name);
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > s->pos.truncate_offset &&
        ftruncate(fd, s->pos.truncate_offset) < 0)
        return dv_error_errno(err, -errno, "truncate %s/%s", sink->dir, name);
    s->truncate_applied = true;
    return 0;
}

/* Files that fell out of the max_files window are removed only once a checkpoint
 * naming a newer file is on disk: until then a restart still resumes in them. */
static void remove_expired(dl_file_sink *sink, dl_file_stream *s)
{
    int64_t keep_from = s->pos.index - sink->max_files + 1;
    for (; s->expire_from < keep_from; s->expire_from++) {
        char name[PATH_MAX];
        file_name(name, sink->base, s->name, s->expire_from);
        unlinkat(sink->dir_fd, name, 0); /* already gone is fine; a failure costs disk space */
    }
}

int dl_file_sink_checkpointed(dl_file_sink *sink, dv_error *err)
{
    for (int i = 0; i < 2; i++) {
        int r = apply_truncation(sink, &sink->s[i], err);
        if (r < 0)
            return r;
        remove_expired(sink, &sink->s[i]);
    }
    return 0;
}

void dl_file_sink_positions(const dl_file_sink *sink, dl_file_pos *ret_out, dl_file_pos *ret_err)
{
    *ret_out = sink->s[DL_STDOUT].pos;
    *ret_err = sink->s[DL_STDERR].pos;
}

static bool stream_matches(int dir_fd, const dl_file_sink_options *o, const char *type,
                           const dl_file_pos *p)
{
    if (p->index < 0)
        return true;
    char name[PATH_MAX];
    file_name(name, o->base, type, p->index);
    struct stat st;
    if (dir_fd < 0 || fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return p->offset == 0;
    return S_ISREG(st.st_mode) && st.st_size >= p->offset;
}

bool dl_file_sink_has_files(const dl_file_sink_options *opts)
{
    _cleanup_close_ int dir_fd = dv_log_dir_open(opts->dir);
    if (dir_fd < 0)
        return false;
    int64_t out = -1, err = -1;
    scan(dir_fd, opts->dir, opts->base, "stdout", 0, 0, false, &out, NULL);
    scan(dir_fd, opts->dir, opts->base, "stderr", 0, 0, false, &err, NULL);
    return out >= 0 || err >= 0;
}

bool dl_file_sink_matches(const dl_file_sink_options *opts, const dl_position *pos)
{
    _cleanup_close_ int dir_fd = dv_log_dir_open(opts->dir);
    return stream_matches(dir_fd, opts, "stdout", &pos->out) &&
           stream_matches(dir_fd, opts, "stderr", &pos->err);
}

static int open_stream(dl_file_sink *sink, dl_file_stream *s, const dl_file_pos *start,
                       dv_error *err)
{
    int r;
    int64_t max;
    if (!start || start->index < 0) {
        /* Fresh: never overwrite what is there; start after it. */
        if ((r = scan(sink->dir_fd, sink->dir, sink->base, s->name, 0, 0, false, &max, err)) < 0)
            return r;
        s->pos = DL_FILE_POS_NONE;
        s->pos.index = max + 1;
        if ((r = open_file(sink, s, true, err)) < 0)
            return r;
    } else {
        s->pos = *start;
        s->truncate_applied = false;
        if ((r = apply_truncation(sink, s, err)) < 0)
            return r;
        if ((r = open_file(sink, s, false, err)) < 0)
            return r;
        /* Bytes past the checkpoint were not acknowledged: they are requested again
         * and rewritten identically. */
        if (ftruncate(s->fd, s->pos.offset) < 0)
            return dv_error_errno(err, -errno, "truncate %s.%s.%lld", sink->base, s->name,
                                  (long long)s->pos.index);
    }
    /* Files past the current index are from after the checkpoint; files before the
     * window are over max_files. */
    s->expire_from = s->pos.index - sink->max_files + 1;
    if (s->expire_from < 0)
        s->expire_from = 0;
    return scan(sink->dir_fd, sink->dir, sink->base, s->name, s->expire_from, s->pos.index, true,
                &max, err);
}

int dl_file_sink_open(dl_file_sink *sink, const dl_file_sink_options *opts,
                      const dl_position *start, dv_error *err)
{
    memset(sink, 0, sizeof(*sink));
    sink->s[0].fd = sink->s[1].fd = sink->dir_fd = -1;
    char longest[PATH_MAX];
    if (!dv_log_file_path(longest, sizeof(longest), opts->dir, opts->base, "stdout", INT64_MAX))
        return dv_error_set(err, -ENAMETOOLONG, "log file names in %s too long", opts->dir);
    sink->max_files = opts->max_files > 0 ? opts->max_files : 1;
    sink->max_size = opts->max_size > 0 ? opts->max_size : DL_MB;
    sink->dir = dv_xstrdup(opts->dir);
    sink->base = dv_xstrdup(opts->base);
    int r = dv_mkdir_p(sink->dir, 0755, err);
    if (r >= 0 && (r = open_dir(sink->dir, err)) >= 0)
        sink->dir_fd = r;
    for (int i = 0; r >= 0 && i < 2; i++) {
        dl_file_stream *s = &sink->s[i];
        s->name = stream_names[i];
        s->buf = dv_xmalloc(DL_FILE_BUF_SIZE);
        r = open_stream(sink, s, start ? (i == 0 ? &start->out : &start->err) : NULL, err);
    }
    if (r < 0) {
        dl_file_sink_close(sink);
        return r;
    }
    return 0;
}

void dl_file_sink_close(dl_file_sink *sink)
{
    for (int i = 0; i < 2; i++) {
        dl_file_stream *s = &sink->s[i];
        if (s->fd >= 0) {
            if (s->buf)
                flush_stream(sink, s, NULL);
            close(s->fd);
            s->fd = -1;
        }
        free(s->buf);
        s->buf = NULL;
    }
    if (sink->dir_fd >= 0)
        close(sink->dir_fd);
    sink->dir_fd = -1;
    free(sink->dir);
    free(sink->base);
    sink->dir = sink->base = NULL;
}
