/* A task's directories on the host (spec_paths.h) and who may use them.
 *
 * The data dir is the agent's alone (0700, agent.c), so no other host user
 * reaches anything below it; the modes here are the second wall, and keep one
 * task's user out of another's files should the data dir ever be opened up:
 *   tasks/<id>/, tasks/<id>/<name>/        0700 root (only dockerd, as root,
 *                                           goes through them to bind-mount)
 *   alloc/, local/, secrets/               0700, the task's effective user
 *   alloc/logs/                            0750 root, the task's group: the
 *                                           task may read its logs, only
 *                                           docklog (root) writes them
 * Nothing is ever world-writable. The owner is given at every container create,
 * before the container starts (the image, and with it the user, may change). */
#ifndef DV_TASK_DIRS_H
#define DV_TASK_DIRS_H

#include <stdbool.h>
#include <sys/types.h>

#include "docker.h"
#include "error.h"
#include "spec_paths.h"

/* Create every directory (root's, modes as above; the owner comes at create),
 * and set those modes on directories that exist already. */
int dv_task_dirs_make(const dv_task_paths *p, dv_error *err);

/* A copy of P's strings into RET. Always 0 (the int is kept for its caller). */
int dv_task_paths_copy(const dv_task_paths *p, dv_task_paths *ret);

/* The uid and gid that container ID (created, not started) runs as: USER is the
 * user it was created with, the spec's `user` or else the image's ("" = root).
 * Numeric parts are taken as they are (a uid without a group gets gid 0, which
 * 0700 makes irrelevant); a name is looked up in the container's own
 * /etc/passwd (and /etc/group for a group name), read through the Engine, at
 * most 1 MiB each. A name the image does not know fails with -ENOENT, not
 * recoverable, saying which: FIELD names the source ("user" for the spec's,
 * "image user" for the image's), e.g.
 *   user: no user "x" in the image's /etc/passwd
 * Engine failures keep their recoverable flag. */
int dv_task_owner_resolve(dv_docker *dk, const char *id, const char *user, const char *field,
                          uid_t *ret_uid, gid_t *ret_gid, dv_error *err);

/* Give alloc/, local/ and secrets/ to UID:GID (0700) and alloc/logs/ to root:GID
 * (0750). Symlinks are never followed (the task can write in alloc/ and local/,
 * not in the root-owned directories that hold them). */
int dv_task_dirs_own(const dv_task_paths *p, uid_t uid, gid_t gid, dv_error *err);

/* rm -rf PATH without crossing mount points; a missing PATH is not an error. */
int dv_remove_tree(const char *path, dv_error *err);

#endif
