/* A task's user as Docker takes it ("user", "user:group", "uid", "uid:gid"; the
 * spec's `user` or the image's Config.User) and its lookup in the image's own
 * /etc/passwd and /etc/group, which the agent reads out of the created container
 * (task_dirs.h): a name means what the image says, never what the host says.
 *
 * Pure functions over bytes the image's author wrote: every line is bounded by
 * the text's length (NUL bytes included, a line holding one never matches), a
 * line with missing fields or an id that is not a decimal below 2^32-1 is
 * skipped, and the first line naming the user wins, as getpwnam(3) and runc
 * decide. */
#ifndef DV_PASSWD_H
#define DV_PASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define DV_USER_NAME_MAX 256

typedef struct dv_user_spec {
    char user[DV_USER_NAME_MAX];  /* the name, when !user_numeric */
    char group[DV_USER_NAME_MAX]; /* the name, when has_group && !group_numeric */
    bool user_numeric, has_group, group_numeric;
    uint32_t uid, gid; /* when numeric */
} dv_user_spec;

/* Split S ("" = root). -EINVAL for an empty user or group part or a name longer
 * than DV_USER_NAME_MAX - 1. A decimal part is numeric (up to 4294967294, as
 * 4294967295 is (uid_t)-1); RET untouched on failure. */
int dv_user_spec_parse(const char *s, dv_user_spec *ret, dv_error *err);

/* The first passwd(5) line of TEXT (LEN bytes) for NAME: its uid and primary gid.
 * -ENOENT when none. */
int dv_passwd_find(const char *text, size_t len, const char *name, uint32_t *ret_uid,
                   uint32_t *ret_gid);

/* The first group(5) line of TEXT for NAME: its gid. -ENOENT when none. */
int dv_group_find(const char *text, size_t len, const char *name, uint32_t *ret_gid);

#endif
