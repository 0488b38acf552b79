#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cleanup.h"

/* Parses the fields after "comm": the comm may contain spaces and parens, so
 * scan from the last ')'. STATE gets field 3, START field 22. */
static int read_stat(pid_t pid, char *ret_state, uint64_t *ret_start, dv_error *err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_free_ char *text = NULL;
    dv_error local;
    if (dv_read_file(path, &text, NULL, &local) < 0) {
        if (local.code == -ENOENT)
            return dv_error_set(err, -ESRCH, "no process %d", (int)pid);
        return dv_error_set(err, local.code, "%s", local.msg);
    }
    char *p = strrchr(text, ')');
    if (!p)
        return dv_error_set(err, -EINVAL, "%s: malformed", path);
    p++;
    /* after ')' : " S ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
     * stime cutime cstime priority nice threads itrealvalue starttime" -> starttime is the
     * 20th token after ')' */
    char *save = NULL;
    char *tok = strtok_r(p, " ", &save);
    for (int field = 3; tok; field++, tok = strtok_r(NULL, " ", &save)) {
        if (field == 3)
            *ret_state = tok[0];
        if (field == 22) {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(tok, &end, 10);
            if (errno || end == tok)
                return dv_error_set(err, -EINVAL, "%s: bad start time", path);
            *ret_start = v;
            return 0;
        }
    }
    return dv_error_set(err, -EINVAL, "%s: too few fields", path);
}

int dv_proc_starttime(pid_t pid, uint64_t *ret_ticks, dv_error *err)
{
    char state;
    uint64_t start;
    int r = read_stat(pid, &state, &start, err);
    if (r < 0)
        return r;
    *ret_ticks = start;
    return 0;
}

int dv_boot_id(char ret[DV_BOOT_ID_STRLEN + 1], dv_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = dv_read_file("/proc/sys/kernel/random/boot_id", &text, &len, err);
    if (r < 0)
        return r;
    if (len < DV_BOOT_ID_STRLEN)
        return dv_error_set(err, -EINVAL, "boot_id: unexpected content");
    memcpy(ret, text, DV_BOOT_ID_STRLEN);
    ret[DV_BOOT_ID_STRLEN] = '\0';
    return 0;
}

bool dv_proc_is_same(pid_t pid, uint64_t start_ticks, const char *boot_id)
{
    if (pid <= 0)
        return false;
    char state;
    uint64_t start;
    if (read_stat(pid, &state, &start, NULL) < 0)
        return false;
    if (state == 'Z' || state == 'X' || start != start_ticks)
        return false;
    char now[DV_BOOT_ID_STRLEN + 1];
    if (dv_boot_id(now, NULL) < 0)
        return false;
    return boot_id && strcmp(now, boot_id) == 0;
}

int dv_pidfd_open(pid_t pid, dv_error *err)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return dv_error_errno(err, -errno, "pidfd_open %d", (int)pid);
    return fd;
}
