#include "task_dirs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "passwd.h"
#include "xalloc.h"

/* An image's /etc/passwd of a few thousand users is ~100 KiB. */
#define ACCOUNT_FILE_MAX (1024 * 1024)

/* mkdir's mode went through the umask, and an existing directory kept its own.
 * Opened without following a symlink, then changed through the fd. */
static int set_dir(const char *path, mode_t mode, uid_t uid, gid_t gid, bool chown_it,
                   dv_error *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return dv_error_errno(err, -errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return dv_error_errno(err, -errno, "stat %s", path);
    /* Unchanged owners are left alone: an agent that is not root may still run
     * tasks as itself. */
    if (chown_it && (st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0)
        return dv_error_errno(err, -errno, "chown %s to %u:%u", path, (unsigned)uid, (unsigned)gid);
    if (fchmod(fd, mode) < 0)
        return dv_error_errno(err, -errno, "chmod %s", path);
    return 0;
}

int dv_task_dirs_make(const dv_task_paths *p, dv_error *err)
{
    const struct {
        const char *path;
        mode_t mode;
    } dirs[] = {
        {p->task_root, 0700},
        {p->alloc_dir, p->alloc_shared ? 0777 : 0700}, /* dv_task_dirs_own() says why */
        {p->logs_dir, p->alloc_shared ? 0755 : 0750},
        {p->task_dir, 0700},
        {p->local_dir, 0700},
        {p->secrets_dir, 0700},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(dirs); i++) {
        int r = dv_mkdir_p(dirs[i].path, dirs[i].mode, err);
        if (r < 0 || (r = set_dir(dirs[i].path, dirs[i].mode, 0, 0, false, err)) < 0)
            return r;
    }
    return 0;
}

int dv_task_paths_copy(const dv_task_paths *p, dv_task_paths *ret)
{
    dv_task_paths c = {
        .task_root = p->task_root ? dv_xstrdup(p->task_root) : NULL,
        .alloc_dir = p->alloc_dir ? dv_xstrdup(p->alloc_dir) : NULL,
        .logs_dir = p->logs_dir ? dv_xstrdup(p->logs_dir) : NULL,
        .task_dir = p->task_dir ? dv_xstrdup(p->task_dir) : NULL,
        .local_dir = p->local_dir ? dv_xstrdup(p->local_dir) : NULL,
        .secrets_dir = p->secrets_dir ? dv_xstrdup(p->secrets_dir) : NULL,
        .alloc_shared = p->alloc_shared,
    };
    *ret = c;
    return 0;
}

static int read_account_file(dv_docker *dk, const char *id, const char *path, const char *field,
                             const char *name, char **ret, size_t *ret_len, dv_error *err)
{
    int r = dv_docker_container_read_file(dk, id, path, ACCOUNT_FILE_MAX, ret, ret_len, err);
    if (r < 0 && dv_docker_is_not_found(err))
        return dv_error_set(err, -ENOENT, "%s: \"%s\" is a name, and the image has no %s", field,
                            name, path);
    if (r < 0)
        return dv_error_wrap(err, "%s: reading the image's %s to resolve \"%s\"", field, path,
                             name);
    return 0;
}

int dv_task_owner_resolve(dv_docker *dk, const char *id, const char *user, const char *field,
                          uid_t *ret_uid, gid_t *ret_gid, dv_error *err)
{
    dv_user_spec u;
    int r = dv_user_spec_parse(user, &u, err);
    if (r < 0)
        return dv_error_wrap(err, "%s \"%s\"", field, user);
    uint32_t uid = u.uid, gid = u.has_group ? u.gid : 0;
    if (!u.user_numeric) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if ((r = read_account_file(dk, id, "/etc/passwd", field, u.user, &text, &len, err)) < 0)
            return r;
        if (dv_passwd_find(text, len, u.user, &uid, &gid) < 0)
            return dv_error_set(err, -ENOENT, "%s: no user \"%s\" in the image's /etc/passwd",
                                field, u.user);
    }
    if (u.has_group && !u.group_numeric) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if ((r = read_account_file(dk, id, "/etc/group", field, u.group, &text, &len, err)) < 0)
            return r;
        if (dv_group_find(text, len, u.group, &gid) < 0)
            return dv_error_set(err, -ENOENT, "%s: no group \"%s\" in the image's /etc/group",
                                field, u.group);
    } else if (u.has_group) {
        gid = u.gid;
    }
    *ret_uid = (uid_t)uid;
    *ret_gid = (gid_t)gid;
    return 0;
}

int dv_task_dirs_own(const dv_task_paths *p, uid_t uid, gid_t gid, dv_error *err)
{
    /* An allocation's alloc dir is shared by tasks that may run as different
     * users: world-writable as Nomad's (only its own containers mount it). */
    if (p->alloc_shared) {
        int r = set_dir(p->alloc_dir, 0777, 0, 0, false, err);
        if (r < 0 || (r = set_dir(p->logs_dir, 0755, 0, 0, false, err)) < 0)
            return r;
    }
    const char *mine[] = {p->alloc_shared ? NULL : p->alloc_dir, p->local_dir, p->secrets_dir};
    for (size_t i = 0; i < DV_ARRAY_SIZE(mine); i++) {
        int r = mine[i] ? set_dir(mine[i], 0700, uid, gid, true, err) : 0;
        if (r < 0)
            return r;
    }
    return p->alloc_shared ? 0 : set_dir(p->logs_dir, 0750, 0, gid, true, err);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = flag == FTW_DP ? rmdir(path) : unlink(path);
    return r < 0 && errno != ENOENT ? errno : 0;
}

int dv_remove_tree(const char *path, dv_error *err)
{
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return 0;
    int r = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    if (r != 0)
        return dv_error_errno(err, -(r > 0 ? r : errno ? errno : EIO), "remove %s", path);
    return 0;
}
