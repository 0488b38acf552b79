/* Finding and tidying what an agent start finds besides its records (recovery_scan.h). */
#include "recovery_scan.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "clock.h"
#include "docklog_launch.h"
#include "duration.h"
#include "proc.h"
#include "spec_paths.h"
#include "xalloc.h"

static void closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* argv of PID as NUL-separated words (LEN bytes, the last NUL included). */
static int read_cmdline(pid_t pid, char **ret, size_t *ret_len)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    return dv_read_file(path, ret, ret_len, NULL);
}

/* Is CMD (NUL-separated argv of LEN bytes) `.../docklog[-tls] PREFIX<uuid>/docklog.json`?
 * Copies the uuid into TASK_ID. */
static bool is_our_helper(const char *cmd, size_t len, const char *prefix, char *task_id)
{
    const char *argv0 = cmd;
    size_t n0 = strnlen(argv0, len);
    if (n0 + 1 >= len)
        return false;
    const char *argv1 = cmd + n0 + 1;
    size_t n1 = strnlen(argv1, len - n0 - 1);
    if (n0 + 1 + n1 + 1 != len) /* exactly two words */
        return false;
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    if (strcmp(base, "docklog") != 0 && strcmp(base, "docklog-tls") != 0)
        return false;
    size_t np = strlen(prefix);
    static const char suffix[] = "/docklog.json";
    if (n1 != np + DV_UUID_STRLEN + strlen(suffix) || strncmp(argv1, prefix, np) != 0 ||
        strcmp(argv1 + np + DV_UUID_STRLEN, suffix) != 0)
        return false;
    memcpy(task_id, argv1 + np, DV_UUID_STRLEN);
    task_id[DV_UUID_STRLEN] = '\0';
    return dv_uuid_is_valid(task_id);
}

static char *tasks_prefix(const char *data_dir)
{
    _cleanup_free_ char *clean = dv_path_clean(data_dir);
    return dv_xasprintf("%s/tasks/", strcmp(clean, "/") == 0 ? "" : clean);
}

int dv_scan_helpers(const char *data_dir, dv_found_helper **ret, size_t *ret_n, dv_error *err)
{
    _cleanup_free_ char *prefix = tasks_prefix(data_dir);
    _cleanup_(closedirp) DIR *proc = opendir("/proc");
    if (!proc)
        return dv_error_errno(err, -errno, "open /proc");
    dv_found_helper *found = NULL;
    size_t n = 0, cap = 0;
    pid_t self = getpid();
    struct dirent *de;
    while ((de = readdir(proc))) {
        if (!all_digits(de->d_name))
            continue;
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid == self)
            continue;
        _cleanup_free_ char *cmd = NULL;
        size_t len = 0;
        char task_id[DV_UUID_STRLEN + 1];
        if (read_cmdline(pid, &cmd, &len) < 0 || !is_our_helper(cmd, len, prefix, task_id))
            continue;
        uint64_t start;
        if (dv_proc_starttime(pid, &start, NULL) < 0)
            continue; /* ended meanwhile */
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            found = dv_xreallocarray(found, ncap, sizeof(*found));
            cap = ncap;
        }
        found[n] = (dv_found_helper){.pid = pid, .starttime = start};
        memcpy(found[n].task_id, task_id, sizeof(task_id));
        n++;
    }
    *ret = found;
    *ret_n = n;
    return 0;
}

/* Wait until every pidfd in FDS (-1 entries are done) is readable (the process
 * exited) or DEADLINE (monotonic ns) passed; returns how many are still alive. */
static size_t wait_exits(struct pollfd *fds, size_t n, int64_t deadline)
{
    for (;;) {
        size_t alive = 0;
        for (size_t i = 0; i < n; i++)
            alive += fds[i].fd >= 0;
        int64_t left = deadline - dv_monotonic_ns();
        if (alive == 0 || left <= 0)
            return alive;
        int ms = (int)(left / DV_NSEC_PER_MSEC) + 1;
        if (poll(fds, n, ms) < 0 && errno != EINTR)
            return alive;
        for (size_t i = 0; i < n; i++)
            if (fds[i].fd >= 0 && fds[i].revents) {
                close(fds[i].fd);
                fds[i].fd = -1;
                fds[i].revents = 0;
            }
    }
}

size_t dv_stop_helpers(const dv_found_helper *h, size_t n, const char *boot_id, int64_t grace_ns)
{
    if (n == 0)
        return 0;
    struct pollfd *fds = dv_xcalloc(n, sizeof(*fds));
    size_t stopped = 0;
    for (size_t i = 0; i < n; i++) {
        dv_docklog_proc p;
        fds[i] = (struct pollfd){.fd = -1, .events = POLLIN};
        if (dv_docklog_adopt(h[i].pid, h[i].starttime, boot_id, &p, NULL) < 0)
            continue; /* gone already */
        if (dv_docklog_signal(&p, SIGTERM, NULL) < 0) {
            dv_docklog_proc_close(&p);
            continue;
        }
        fds[i].fd = TAKE_FD(p.pidfd);
        stopped++;
    }
    if (wait_exits(fds, n, dv_monotonic_ns() + grace_ns) > 0) {
        for (size_t i = 0; i < n; i++)
            if (fds[i].fd >= 0)
                syscall(SYS_pidfd_send_signal, fds[i].fd, SIGKILL, NULL, 0);
        wait_exits(fds, n, dv_monotonic_ns() + grace_ns);
    }
    for (size_t i = 0; i < n; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    free(fds);
    return stopped;
}

int dv_scan_id_dirs(const char *data_dir, const char *kind, json_t **ret, dv_error *err)
{
    _cleanup_free_ char *clean = dv_path_clean(data_dir);
    _cleanup_free_ char *prefix =
        dv_xasprintf("%s/%s/", strcmp(clean, "/") == 0 ? "" : clean, kind);
    _cleanup_json_ json_t *ids = json_array();
    _cleanup_(closedirp) DIR *dir = opendir(prefix);
    if (!dir) {
        if (errno != ENOENT)
            return dv_error_errno(err, -errno, "open %s", prefix);
        *ret = TAKE_PTR(ids);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(dir)))
        if (dv_uuid_is_valid(de->d_name))
            json_array_append_new(ids, json_string(de->d_name));
    *ret = TAKE_PTR(ids);
    return 0;
}
