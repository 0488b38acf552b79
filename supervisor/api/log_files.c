#include "log_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "docklog_launch.h"
#include "log_names.h"
#include "xalloc.h"

struct dv_log_reader {
    char *dir;
    char *base;
    char *type;
    char *checkpoint;
    bool follow;
    int64_t index; /* current file; -1: none yet */
    int64_t pos;
    int fd;
    dev_t dev;
    ino_t ino;
    int inotify_fd;
    bool watching;
    int timer_fd; /* while not watching: wakes the caller to look again */
    bool ended;
};

/* Files are reached through the directory, opened without following a symlink,
 * and never through a symlink of their own (dv_log_dir_open: the task could swap
 * the directory, and with it the names in it, for anything on the host; what is
 * read here is served to API clients). dv_log_reader_open() checked that every
 * name fits. */
static void name_of(const dv_log_reader *r, int64_t index, char buf[PATH_MAX])
{
    dv_log_file_name(buf, PATH_MAX, r->base, r->type, index);
}

/* File INDEX, opened for reading: fd or -errno (-ENOENT: not there). */
static int open_index(const dv_log_reader *r, int64_t index)
{
    _cleanup_close_ int dir_fd = dv_log_dir_open(r->dir);
    if (dir_fd < 0)
        return dir_fd;
    char name[PATH_MAX];
    name_of(r, index, name);
    int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int e = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
    if (e < 0) {
        close(fd);
        return e;
    }
    return fd;
}

/* stat of file INDEX without following a symlink; false if it is not there. */
static bool stat_index(const dv_log_reader *r, int64_t index, struct stat *st)
{
    _cleanup_close_ int dir_fd = dv_log_dir_open(r->dir);
    char name[PATH_MAX];
    name_of(r, index, name);
    return dir_fd >= 0 && fstatat(dir_fd, name, st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The smallest existing index > AFTER (AFTER = -1: the oldest), and the largest. */
static void scan(const dv_log_reader *r, int64_t after, int64_t *ret_next, int64_t *ret_max)
{
    *ret_next = -1;
    if (ret_max)
        *ret_max = -1;
    int dir_fd = dv_log_dir_open(r->dir);
    DIR *d = dir_fd < 0 ? NULL : fdopendir(dir_fd);
    if (!d) {
        if (dir_fd >= 0)
            close(dir_fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        int64_t i = dv_log_file_index(de->d_name, r->base, r->type);
        if (i < 0)
            continue;
        if (i > after && (*ret_next < 0 || i < *ret_next))
            *ret_next = i;
        if (ret_max && i > *ret_max)
            *ret_max = i;
    }
    closedir(d);
}

static void close_file(dv_log_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

/* Open file INDEX at POS. -ENOENT if it does not exist. */
static int open_file(dv_log_reader *r, int64_t index, int64_t pos)
{
    int fd = open_index(r, index);
    if (fd < 0)
        return fd;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    close_file(r);
    r->fd = fd;
    r->index = index;
    r->pos = pos;
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    return 0;
}

/* Where the last TAIL lines start: walking back from the end of the newest file
 * (a final newline ends the last line, it does not start an empty one), the
 * position after the TAIL-th newline; or the start of the oldest file. */
static int find_tail(dv_log_reader *r, int64_t tail, int64_t newest, int64_t *ret_index,
                     int64_t *ret_pos)
{
    int64_t found = 0;
    bool first = true;
    for (int64_t i = newest; i >= 0; i--) {
        _cleanup_close_ int fd = open_index(r, i);
        if (fd < 0) {
            if (fd == -ENOENT)
                break; /* older files were rotated away */
            return fd;
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
            return -errno;
        int64_t end = st.st_size;
        char block[8192];
        while (end > 0) {
            int64_t start = end > (int64_t)sizeof(block) ? end - (int64_t)sizeof(block) : 0;
            ssize_t n = pread(fd, block, (size_t)(end - start), start);
            if (n < 0)
                return -errno;
            if (n == 0)
                break;
            for (ssize_t k = n - 1; k >= 0; k--) {
                if (block[k] != '\n')
                    continue;
                if (first && start + k == st.st_size - 1)
                    continue; /* the newest file's final newline */
                if (++found == tail) {
                    *ret_index = i;
                    *ret_pos = start + k + 1;
                    return 0;
                }
            }
            first = false;
            end = start;
        }
        first = false;
        *ret_index = i; /* not enough lines yet: at least from here */
        *ret_pos = 0;
    }
    return 0;
}

#define FALLBACK_INTERVAL_NS (250 * 1000 * 1000)

/* Watch the directory if possible; the timer stands in while it is not. */
static void watch_dir(dv_log_reader *r)
{
    if (!r->follow)
        return;
    if (!r->watching && r->inotify_fd >= 0)
        r->watching = inotify_add_watch(r->inotify_fd, r->dir,
                                        IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_TO |
                                            IN_CLOSE_WRITE) >= 0;
    if (r->watching && r->timer_fd >= 0) {
        close(r->timer_fd);
        r->timer_fd = -1;
    } else if (!r->watching && r->timer_fd < 0) {
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct itimerspec every = {.it_interval = {0, FALLBACK_INTERVAL_NS},
                                   .it_value = {0, FALLBACK_INTERVAL_NS}};
        if (fd >= 0 && timerfd_settime(fd, 0, &every, NULL) < 0) {
            close(fd);
            fd = -1;
        }
        r->timer_fd = fd;
    }
}

int dv_log_reader_open(const dv_log_reader_options *o, dv_log_reader **ret, dv_error *err)
{
    if (!o->dir || !o->base || !o->type ||
        (strcmp(o->type, "stdout") != 0 && strcmp(o->type, "stderr") != 0))
        return dv_error_set(err, -EINVAL, "log type must be stdout or stderr");
    char longest[PATH_MAX];
    if (!dv_log_file_path(longest, sizeof(longest), o->dir, o->base, o->type, INT64_MAX))
        return dv_error_set(err, -ENAMETOOLONG, "log file names in %s too long", o->dir);
    dv_log_reader *r = dv_xcalloc(1, sizeof(*r));
    r->fd = -1;
    r->inotify_fd = -1;
    r->timer_fd = -1;
    r->index = -1;
    r->follow = o->follow;
    r->dir = dv_xstrdup(o->dir);
    r->base = dv_xstrdup(o->base);
    r->type = dv_xstrdup(o->type);
    r->checkpoint = o->checkpoint_path ? dv_xstrdup(o->checkpoint_path) : NULL;
    if (r->follow) {
        /* Without inotify (no instance left, the directory not there yet) the
         * follower still works: on a timer. */
        r->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        watch_dir(r);
        if (!r->watching && r->timer_fd < 0) {
            int e = -errno;
            dv_log_reader_free(r);
            return dv_error_errno(err, e, "follow %s", o->dir);
        }
    }

    int64_t oldest, newest;
    scan(r, -1, &oldest, &newest);
    if (newest >= 0) {
        int64_t index = oldest, pos = 0;
        int e = 0;
        if (o->tail == 0) {
            struct stat st;
            index = newest;
            pos = stat_index(r, newest, &st) ? st.st_size : 0;
        } else if (o->tail > 0) {
            e = find_tail(r, o->tail, newest, &index, &pos);
        }
        if (e == 0)
            e = open_file(r, index, pos);
        if (e < 0 && e != -ENOENT) {
            dv_log_reader_free(r);
            return dv_error_errno(err, e, "open %s logs in %s", o->type, o->dir);
        }
    } else if (o->tail == 0) {
        r->index = -1; /* everything that comes is new */
    }
    *ret = r;
    return 0;
}

int dv_log_reader_fd(const dv_log_reader *r)
{
    return r->watching ? r->inotify_fd : r->timer_fd;
}

static void drain_events(dv_log_reader *r)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while (r->inotify_fd >= 0 && (n = read(r->inotify_fd, buf, sizeof(buf))) > 0)
        for (ssize_t at = 0; at + (ssize_t)sizeof(struct inotify_event) <= n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(buf + at);
            if (ev->mask & IN_IGNORED)
                r->watching = false; /* the directory went away: watch it when it is back */
            at += (ssize_t)(sizeof(*ev) + ev->len);
        }
    if (r->timer_fd >= 0)
        while (read(r->timer_fd, buf, sizeof(uint64_t)) > 0)
            ;
    watch_dir(r);
}

/* How much of the next file we already returned from this one. docklog keeps lines
 * whole across files: a line begun in file N that does not fit is copied to the start
 * of N+1 and N is cut back to where it began (docklog/file_sink.h). A follower may
 * have returned that beginning from N already: it is the unterminated tail before
 * r->pos that follows a newline in N (a tail with no newline before it began at
 * offset 0, and a line that long is split, not moved). */
static int64_t moved_line(const dv_log_reader *r)
{
    struct stat st;
    if (fstat(r->fd, &st) < 0)
        return 0;
    char block[8192];
    for (int64_t end = r->pos < st.st_size ? r->pos : st.st_size; end > 0;) {
        int64_t start = end > (int64_t)sizeof(block) ? end - (int64_t)sizeof(block) : 0;
        ssize_t n = pread(r->fd, block, (size_t)(end - start), start);
        if (n <= 0)
            return 0;
        for (ssize_t k = n - 1; k >= 0; k--)
            if (block[k] == '\n')
                return r->pos - (start + k + 1);
        end = start;
    }
    return 0;
}

static bool docklog_finished(const dv_log_reader *r)
{
    if (!r->checkpoint)
        return false;
    enum dv_docklog_outcome o;
    if (dv_docklog_read_outcome(r->checkpoint, &o, NULL, 0, NULL) < 0)
        return false;
    return o != DV_DOCKLOG_OUTCOME_NONE;
}

ssize_t dv_log_reader_read(dv_log_reader *r, char *buf, size_t size, dv_error *err)
{
    if (r->ended)
        return DV_LOG_READER_END;
    drain_events(r);
    /* Judged before looking at the files: whatever docklog wrote before it recorded
     * its outcome is then guaranteed to be seen below. */
    bool finished = r->follow && docklog_finished(r);
    for (int guard = 0; guard < 1000; guard++) {
        if (r->fd < 0 && (r->index < 0 || open_file(r, r->index, r->pos) < 0)) {
            /* No current file, or it was removed: the next one present. */
            int64_t next;
            scan(r, r->index, &next, NULL);
            if (next < 0 || open_file(r, next, 0) < 0)
                break; /* nothing (yet) */
        }
        ssize_t n = pread(r->fd, buf, size, r->pos);
        if (n < 0)
            return dv_error_errno(err, -errno, "read %s.%s.%lld", r->base, r->type,
                                  (long long)r->index);
        if (n > 0) {
            r->pos += n;
            return n;
        }
        /* At the end of the current file. Replaced (docklog restarted and recreated
         * it)? Reopen by name at the same position: the content is the same. */
        struct stat st;
        bool exists = stat_index(r, r->index, &st);
        if (exists && (st.st_dev != r->dev || st.st_ino != r->ino)) {
            if (open_file(r, r->index, r->pos) < 0)
                break;
            continue;
        }
        int64_t next;
        scan(r, r->index, &next, NULL);
        if (next < 0) {
            if (!exists)
                close_file(r); /* removed, nothing newer: reopened at r->pos if it returns */
            break;
        }
        /* docklog moved on to a newer file: this one is complete, but bytes may have
         * landed between our read and the rotation. */
        n = exists ? pread(r->fd, buf, size, r->pos) : 0;
        if (n > 0) {
            r->pos += n;
            return n;
        }
        if (open_file(r, next, next == r->index + 1 ? moved_line(r) : 0) < 0)
            close_file(r);
    }
    if (!r->follow || finished) {
        r->ended = true;
        return DV_LOG_READER_END;
    }
    return 0;
}

void dv_log_reader_free(dv_log_reader *r)
{
    if (!r)
        return;
    close_file(r);
    if (r->inotify_fd >= 0)
        close(r->inotify_fd);
    if (r->timer_fd >= 0)
        close(r->timer_fd);
    free(r->dir);
    free(r->base);
    free(r->type);
    free(r->checkpoint);
    free(r);
}
