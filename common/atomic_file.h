/* Crash-safe file replacement: write PATH.tmp, fsync it, rename over PATH,
 * fsync the directory. After a crash at any point PATH holds either the old or
 * the new content in full, never a mix; a stale PATH.tmp may remain and is
 * overwritten by the next write. */
#ifndef DV_ATOMIC_FILE_H
#define DV_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "error.h"

/* Replace PATH with LEN bytes of DATA, created with MODE (e.g. 0600 for files
 * holding credentials; the mode is applied even if PATH existed with another). */
int dv_atomic_write(const char *path, const void *data, size_t len, mode_t mode, dv_error *err);

/* Serialize JSON (compact, sorted keys, trailing newline) and write it atomically. */
int dv_atomic_write_json(const char *path, const json_t *json, mode_t mode, dv_error *err);

/* DV_ATOMIC_NO_SYNC: temp + rename without any fsync. The replacement is still
 * atomic against the death of any process (the page cache holds both files in
 * order), but not durable across a power loss; for state rewritten many times a
 * second whose durability is taken care of at coarser sync points (docklog's
 * checkpoint after every batch). */
enum { DV_ATOMIC_NO_SYNC = 1u << 0 };
int dv_atomic_write_flags(const char *path, const void *data, size_t len, mode_t mode,
                          unsigned flags, dv_error *err);
int dv_atomic_write_json_flags(const char *path, const json_t *json, mode_t mode, unsigned flags,
                               dv_error *err);

/* The sync step of a durable write: fsync(2) unless a test replaces it (to hold
 * a write before it is durable, or make it fail). Returns 0, or -1 with errno. */
typedef int (*dv_sync_fn)(int fd);
/* dv_atomic_write() with SYNC in place of fsync for the file and its directory
 * (NULL: fsync). */
int dv_atomic_write_synced(const char *path, const void *data, size_t len, mode_t mode,
                           dv_sync_fn sync, dv_error *err);

/* Read a whole file into a NUL-terminated heap buffer. *ret_len (optional) gets
 * the length without the NUL. Fails with -ENOENT etc. */
int dv_read_file(const char *path, char **ret_data, size_t *ret_len, dv_error *err);

/* mkdir -p with MODE for every directory created (existing ones are untouched). */
int dv_mkdir_p(const char *path, mode_t mode, dv_error *err);

/* Make the existing directory PATH exactly MODE (the caller's umask plays no part),
 * refusing what the caller should not take over: a symlink at PATH itself
 * (-ELOOP), anything not a directory (-ENOTDIR), a directory owned by a user other
 * than the caller's effective one (-EPERM). Checked and changed through one fd
 * opened with O_NOFOLLOW, so a swap cannot redirect the chmod. *ret_old_mode
 * (optional) gets the permission bits it had. */
int dv_dir_secure(const char *path, mode_t mode, mode_t *ret_old_mode, dv_error *err);

/* fsync the directory holding PATH (after creating, renaming or unlinking PATH). */
int dv_fsync_parent(const char *path, dv_error *err);
/* The same with SYNC in place of fsync (NULL: fsync). */
int dv_fsync_parent_with(const char *path, dv_sync_fn sync, dv_error *err);

#endif
