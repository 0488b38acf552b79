#include "atomic_file.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int atomic_write(const char *path, const void *data, size_t len, mode_t mode,
                        dv_sync_fn sync, dv_error *err);

static int sync_fd(int fd)
{
    return fsync(fd);
}

int dv_fsync_parent(const char *path, dv_error *err)
{
    return dv_fsync_parent_with(path, NULL, err);
}

int dv_fsync_parent_with(const char *path, dv_sync_fn sync, dv_error *err)
{
    _cleanup_free_ char *copy = dv_xstrdup(path);
    const char *dir = dirname(copy);
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return dv_error_errno(err, -errno, "open directory %s", dir);
    if ((sync ? sync : sync_fd)(dfd) < 0)
        return dv_error_errno(err, -errno, "fsync directory %s", dir);
    return 0;
}

int dv_atomic_write_flags(const char *path, const void *data, size_t len, mode_t mode,
                          unsigned flags, dv_error *err)
{
    if (flags & DV_ATOMIC_NO_SYNC)
        return atomic_write(path, data, len, mode, NULL, err);
    return atomic_write(path, data, len, mode, sync_fd, err);
}

int dv_atomic_write_synced(const char *path, const void *data, size_t len, mode_t mode,
                           dv_sync_fn sync, dv_error *err)
{
    return atomic_write(path, data, len, mode, sync ? sync : sync_fd, err);
}

/* SYNC NULL: no sync at all (DV_ATOMIC_NO_SYNC). */
static int atomic_write(const char *path, const void *data, size_t len, mode_t mode,
                        dv_sync_fn sync, dv_error *err)
{
    _cleanup_free_ char *tmp = dv_xasprintf("%s.tmp", path);

    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return dv_error_errno(err, -errno, "create %s", tmp);
    /* open() honours the umask and keeps the mode of a stale tmp file; be exact. */
    if (fchmod(fd, mode) < 0)
        return dv_error_errno(err, -errno, "chmod %s", tmp);
    int r = write_all(fd, data, len);
    if (r < 0) {
        unlink(tmp);
        return dv_error_errno(err, r, "write %s", tmp);
    }
    if (sync && sync(fd) < 0) {
        r = -errno;
        unlink(tmp);
        return dv_error_errno(err, r, "fsync %s", tmp);
    }
    if (close(TAKE_FD(fd)) < 0) {
        r = -errno;
        unlink(tmp);
        return dv_error_errno(err, r, "close %s", tmp);
    }
    if (rename(tmp, path) < 0) {
        r = -errno;
        unlink(tmp);
        return dv_error_errno(err, r, "rename %s to %s", tmp, path);
    }
    return sync ? dv_fsync_parent_with(path, sync, err) : 0;
}

int dv_atomic_write(const char *path, const void *data, size_t len, mode_t mode, dv_error *err)
{
    return dv_atomic_write_flags(path, data, len, mode, 0, err);
}

int dv_atomic_write_json(const char *path, const json_t *json, mode_t mode, dv_error *err)
{
    return dv_atomic_write_json_flags(path, json, mode, 0, err);
}

int dv_atomic_write_json_flags(const char *path, const json_t *json, mode_t mode, unsigned flags,
                               dv_error *err)
{
    _cleanup_free_ char *text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) /* an argument that is not JSON: a caller's bug */
        return dv_error_set(err, -EINVAL, "serialize %s", path);
    size_t len = strlen(text);
    _cleanup_free_ char *line = dv_xmalloc(len + 2);
    memcpy(line, text, len);
    line[len] = '\n';
    line[len + 1] = '\0';
    return dv_atomic_write_flags(path, line, len + 1, mode, flags, err);
}

int dv_read_file(const char *path, char **ret_data, size_t *ret_len, dv_error *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dv_error_errno(err, -errno, "open %s", path);
    /* Sized from the file so that it comes in one read(2) and the EOF in a second; the
     * size is someone else's (xalloc.h), so a large one only starts the growth. */
    struct stat st;
    size_t cap = 4096, len = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        st.st_size < 16 * 1024 * 1024)
        cap = (size_t)st.st_size + 2;
    _cleanup_free_ char *buf = dv_xmalloc(cap);
    for (;;) {
        /* Growth follows the file's size, someone else's: checked (xalloc.h). */
        if (len + 1 >= cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown)
                return dv_error_set(err, -ENOMEM, "out of memory");
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return dv_error_errno(err, -errno, "read %s", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    *ret_data = TAKE_PTR(buf);
    return 0;
}

int dv_mkdir_p(const char *path, mode_t mode, dv_error *err)
{
    _cleanup_free_ char *copy = dv_xstrdup(path);
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
            return dv_error_errno(err, -errno, "mkdir %s", copy);
        if (saved == '\0')
            break;
        *p = saved;
    }
    struct stat st;
    if (stat(path, &st) < 0)
        return dv_error_errno(err, -errno, "stat %s", path);
    if (!S_ISDIR(st.st_mode))
        return dv_error_set(err, -ENOTDIR, "%s exists and is not a directory", path);
    return 0;
}

int dv_dir_secure(const char *path, mode_t mode, mode_t *ret_old_mode, dv_error *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno == ELOOP)
        return dv_error_set(err, -ELOOP, "%s is a symlink (give its target instead)", path);
    if (fd < 0)
        return dv_error_errno(err, -errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return dv_error_errno(err, -errno, "stat %s", path);
    if (!S_ISDIR(st.st_mode))
        return dv_error_set(err, -ENOTDIR, "%s exists and is not a directory", path);
    if (st.st_uid != geteuid())
        return dv_error_set(err, -EPERM, "%s is owned by uid %u, not by this process's uid %u",
                            path, (unsigned)st.st_uid, (unsigned)geteuid());
    if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
        return dv_error_errno(err, -errno, "chmod %s", path);
    if (ret_old_mode)
        *ret_old_mode = st.st_mode & 07777;
    return 0;
}
