#include "docklog_launch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "endpoint.h"
#include "json_strict.h"
#include "xalloc.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

static int need(const char *value, const char *name, dv_error *err)
{
    if (!value || !*value)
        return dv_error_set(err, -EINVAL, "docklog config: %s is required", name);
    return 0;
}

/* docklog connects to numeric addresses only (its static binary has no working
 * getaddrinfo, and a log helper should not carry a resolver of its own): resolve a
 * tcp endpoint's host here, with glibc, into the "addresses" docklog tries in order.
 * NULL for a unix socket. */
static int resolve_endpoint(const char *endpoint, bool tls, json_t **ret, dv_error *err)
{
    dv_endpoint ep;
    int r = dv_endpoint_parse(endpoint, tls, &ep, err);
    if (r < 0)
        return dv_error_wrap(err, "docklog config");
    if (ep.unix_socket) {
        *ret = NULL;
        return 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    int g = getaddrinfo(ep.host, NULL, &hints, &list);
    if (g != 0) {
        r = dv_error_set(err, -EHOSTUNREACH, "docklog config: resolve %s: %s", ep.host,
                         g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
        if (err)
            err->recoverable = g == EAI_AGAIN || g == EAI_SYSTEM;
        return r;
    }
    _cleanup_json_ json_t *addrs = json_array();
    for (struct addrinfo *ai = list;
         ai && addrs && json_array_size(addrs) < DV_DOCKLOG_ADDRESSES_MAX; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *in = ai->ai_family == AF_INET
                             ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                             : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            !inet_ntop(ai->ai_family, in, text, sizeof(text)))
            continue;
        bool seen = false;
        for (size_t i = 0; i < json_array_size(addrs); i++)
            seen = seen || strcmp(json_string_value(json_array_get(addrs, i)), text) == 0;
        if (!seen)
            json_array_append_new(addrs, json_string(text));
    }
    freeaddrinfo(list);
    if (json_array_size(addrs) == 0)
        return dv_error_set(err, -EHOSTUNREACH, "docklog config: %s has no IPv4/IPv6 address",
                            ep.host);
    *ret = TAKE_PTR(addrs);
    return 0;
}

int dv_docklog_config_write(const char *path, const dv_docklog_config *c, dv_error *err)
{
    int r;
    if ((r = need(c->endpoint, "endpoint", err)) < 0 ||
        (r = need(c->container_id, "container_id", err)) < 0 ||
        (r = need(c->container_name, "container_name", err)) < 0 ||
        (r = need(c->task_name, "task_name", err)) < 0 ||
        (r = need(c->task_id, "task_id", err)) < 0 || (r = need(c->image, "image", err)) < 0 ||
        (r = need(c->checkpoint_path, "checkpoint_path", err)) < 0)
        return r;
    if (!c->files_enabled && !c->journald_enabled)
        return dv_error_set(err, -EINVAL, "docklog config: neither files nor journald enabled");
    if (c->files_enabled && ((r = need(c->files_dir, "files_dir", err)) < 0 ||
                             (r = need(c->files_base, "files_base", err)) < 0))
        return r;
    if (c->files_enabled && (c->max_files < 1 || c->max_file_size_mb < 1))
        return dv_error_set(err, -EINVAL,
                            "docklog config: max_files and max_file_size must be "
                            ">= 1");
    bool tls = c->tls_cert || c->tls_key || c->tls_ca;
    if (tls && !(c->tls_cert && c->tls_key && c->tls_ca))
        return dv_error_set(err, -EINVAL, "docklog config: tls needs cert, key and ca");

    _cleanup_json_ json_t *addresses = NULL;
    if ((r = resolve_endpoint(c->endpoint, tls, &addresses, err)) < 0)
        return r;

    _cleanup_json_ json_t *j = json_pack(
        "{si ss s{ss ss sb ss} s{ss ss} s{sb} s{sb} ss}", "version", DV_DOCKLOG_CONFIG_VERSION,
        "endpoint", c->endpoint, "container", "id", c->container_id, "name", c->container_name,
        "tty", c->tty, "image", c->image, "task", "id", c->task_id, "name", c->task_name, "files",
        "enabled", c->files_enabled, "journald", "enabled", c->journald_enabled, "checkpoint",
        c->checkpoint_path);
    if (!j) /* a value missing, or not valid UTF-8 */
        return dv_error_set(err, -EINVAL, "docklog config: a value is missing or not UTF-8");
    if (addresses)
        json_object_set(j, "addresses", addresses);
    if (tls)
        json_object_set_new(
            j, "tls",
            json_pack("{ssssss}", "cert", c->tls_cert, "key", c->tls_key, "ca", c->tls_ca));
    json_t *files = json_object_get(j, "files");
    if (c->files_enabled) {
        json_object_set_new(files, "dir", json_string(c->files_dir));
        json_object_set_new(files, "base", json_string(c->files_base));
        json_object_set_new(files, "max_files", json_integer(c->max_files));
        json_object_set_new(files, "max_file_size", json_integer(c->max_file_size_mb));
    }
    if (c->gaps_path)
        json_object_set_new(j, "gaps", json_string(c->gaps_path));
    if (c->source)
        json_object_set_new(j, "source", json_string(c->source));
    if (c->journald_identifier)
        json_object_set_new(json_object_get(j, "journald"), "identifier",
                            json_string(c->journald_identifier));
    r = dv_atomic_write_json(path, j, 0600, err);
    if (r < 0)
        return dv_error_wrap(err, "write docklog config");
    return 0;
}

int dv_docklog_find_binary(bool tls, char **ret_path, dv_error *err)
{
    const char *name = tls ? "docklog-tls" : "docklog";
    const char *env = getenv(tls ? DV_DOCKLOG_ENV "_TLS" : DV_DOCKLOG_ENV);
    char *path = NULL;
    if (env && *env) {
        path = dv_xstrdup(env);
    } else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0)
            return dv_error_errno(err, -errno, "readlink /proc/self/exe");
        self[n] = '\0';
        path = dv_xasprintf("%s/%s", dirname(self), name);
    }
    if (access(path, X_OK) < 0) {
        int r = dv_error_errno(err, -errno, "%s binary %s (set %s%s to override)", name, path,
                               DV_DOCKLOG_ENV, tls ? "_TLS" : "");
        free(path);
        return r;
    }
    *ret_path = path;
    return 0;
}

bool dv_docklog_needs_tls(const char *endpoint, bool tls_block)
{
    if (!endpoint)
        return false;
    return strncmp(endpoint, "https://", 8) == 0 ||
           (tls_block && strncmp(endpoint, "tcp://", 6) == 0);
}

const char *dv_docklog_endpoint(const char *endpoint, bool tls, char *buf, size_t size)
{
    int n = tls && strncmp(endpoint, "tcp://", 6) == 0
                ? snprintf(buf, size, "https://%s", endpoint + 6)
                : snprintf(buf, size, "%s", endpoint);
    return n >= 0 && (size_t)n < size ? buf : NULL;
}

int dv_docklog_diag_open(const char *path, dv_error *err)
{
    /* Bound the helper's own diagnostics: keep one previous generation. */
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size > DV_DOCKLOG_DIAG_MAX) {
        char old[PATH_MAX];
        snprintf(old, sizeof(old), "%s.1", path);
        rename(path, old);
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return dv_error_errno(err, -errno, "open %s", path);
    return fd;
}

/* FD moved above stdin/stdout/stderr. An agent started with any of 0-2 closed gets
 * them back from open(); the spawn's dup2 of one onto 0-2 would then overwrite another
 * before it is dup2'ed itself (/dev/null as 1 and the log as 0: stdin would become the
 * log, stdout /dev/null). */
static int above_stdio(int fd)
{
    if (fd < 0 || fd > STDERR_FILENO)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    int e = errno;
    close(fd);
    errno = e;
    return moved;
}

int dv_docklog_spawn(const char *binary, const char *config_path, const char *diag_log,
                     dv_docklog_proc *ret, dv_error *err)
{
    _cleanup_close_ int devnull = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (devnull < 0)
        return dv_error_errno(err, -errno, "open /dev/null");
    int opened = dv_docklog_diag_open(diag_log, err);
    if (opened < 0)
        return opened;
    _cleanup_close_ int log = above_stdio(opened);
    if (log < 0)
        return dv_error_errno(err, -errno, "open %s", diag_log);
    char *argv[] = {(char *)binary, (char *)config_path, NULL};

    /* posix_spawn, not fork: glibc's clones with CLONE_VM|CLONE_VFORK, so its cost
     * does not grow with the agent's memory (a fork copies the page tables of every
     * task's state, per helper launched), and it reports a failed exec as its return
     * value. The helper gets: its own session; an empty signal mask and default
     * dispositions (the agent blocks signals for its signalfd and ignores some, and
     * both survive exec); /dev/null and the log as 0-2 (a dup2 onto the same number
     * clears close-on-exec); and nothing else, whatever the agent holds, closefrom(3)
     * included what a library left inheritable (curl's wakeup socketpair). */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, devnull, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, log, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, log, STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    int e = posix_spawn(&pid, binary, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (e != 0) /* glibc has reaped the child that could not exec */
        return dv_error_errno(err, -e, "exec %s", binary);
    /* The child cannot be reaped by anyone but us, so its pid is stable here. */
    int pidfd = dv_pidfd_open(pid, err);
    if (pidfd < 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return dv_error_wrap(err, "spawn %s", binary);
    }
    dv_docklog_proc p = DV_DOCKLOG_PROC_INIT;
    p.pid = pid;
    p.pidfd = pidfd;
    p.is_child = true;
    if (dv_proc_starttime(pid, &p.starttime, err) < 0 || dv_boot_id(p.boot_id, err) < 0) {
        /* cannot identify it later: do not leave an unaccountable helper */
        dv_docklog_kill(&p);
        return dv_error_wrap(err, "identify docklog %d", (int)pid);
    }
    *ret = p;
    return 0;
}

int dv_docklog_adopt(pid_t pid, uint64_t starttime, const char *boot_id, dv_docklog_proc *ret,
                     dv_error *err)
{
    if (!dv_proc_is_same(pid, starttime, boot_id))
        return dv_error_set(err, -ESRCH, "docklog %d is gone", (int)pid);
    int pidfd = dv_pidfd_open(pid, err);
    if (pidfd < 0)
        return pidfd == -ESRCH ? dv_error_set(err, -ESRCH, "docklog %d is gone", (int)pid) : pidfd;
    /* The pid could have been reused between the check and pidfd_open. */
    if (!dv_proc_is_same(pid, starttime, boot_id)) {
        close(pidfd);
        return dv_error_set(err, -ESRCH, "docklog %d is gone", (int)pid);
    }
    dv_docklog_proc p = DV_DOCKLOG_PROC_INIT;
    p.pid = pid;
    p.starttime = starttime;
    snprintf(p.boot_id, sizeof(p.boot_id), "%s", boot_id);
    p.pidfd = pidfd;
    p.is_child = false;
    *ret = p;
    return 0;
}

int dv_docklog_read_outcome(const char *checkpoint_path, enum dv_docklog_outcome *ret_outcome,
                            char *ret_message, size_t message_size, dv_error *err)
{
    _cleanup_json_ json_t *j = NULL;
    int r = dv_json_read_strict(checkpoint_path, &j, err);
    if (r == -ENOENT) {
        *ret_outcome = DV_DOCKLOG_OUTCOME_NONE;
        if (message_size)
            ret_message[0] = '\0';
        return 0;
    }
    if (r < 0 && r != -EINVAL)
        return r;
    json_t *version = json_object_get(j, "version");
    const char *outcome = json_string_value(json_object_get(j, "outcome"));
    if (!j || !json_is_integer(version) ||
        json_integer_value(version) != DV_DOCKLOG_CHECKPOINT_VERSION || !outcome)
        return dv_error_set(err, -EINVAL, "%s: not a docklog checkpoint (version %d)",
                            checkpoint_path, DV_DOCKLOG_CHECKPOINT_VERSION);
    enum dv_docklog_outcome o = DV_DOCKLOG_OUTCOME_NONE;
    if (strcmp(outcome, DV_DOCKLOG_OUTCOME_DONE_NAME) == 0)
        o = DV_DOCKLOG_OUTCOME_DONE;
    else if (strcmp(outcome, DV_DOCKLOG_OUTCOME_FAILED_NAME) == 0)
        o = DV_DOCKLOG_OUTCOME_FAILED;
    const char *msg = json_string_value(json_object_get(j, "error"));
    *ret_outcome = o;
    if (message_size)
        snprintf(ret_message, message_size, "%s", o == DV_DOCKLOG_OUTCOME_FAILED && msg ? msg : "");
    return 0;
}

static bool pidfd_exited(int pidfd)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

int dv_docklog_collect(dv_docklog_proc *p, const char *checkpoint_path, dv_docklog_result *ret,
                       dv_error *err)
{
    dv_docklog_result res;
    memset(&res, 0, sizeof(res));
    res.end = DV_DOCKLOG_END_UNKNOWN;
    if (p->pidfd >= 0 && p->is_child) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        if (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) < 0)
            return dv_error_errno(err, -errno, "wait for docklog %d", (int)p->pid);
        if (si.si_pid == 0)
            return dv_error_set(err, -EAGAIN, "docklog %d is still running", (int)p->pid);
        res.end = si.si_code == CLD_EXITED ? DV_DOCKLOG_END_EXITED : DV_DOCKLOG_END_SIGNALED;
        res.status = si.si_status;
    } else if (p->pidfd >= 0 && !pidfd_exited(p->pidfd)) {
        return dv_error_set(err, -EAGAIN, "docklog %d is still running", (int)p->pid);
    }
    dv_error ignored;
    if (checkpoint_path && dv_docklog_read_outcome(checkpoint_path, &res.outcome, res.message,
                                                   sizeof(res.message), &ignored) < 0) {
        /* An unreadable checkpoint: the exit status still decides for a child; an
         * adopted helper is respawned and will report what is wrong. */
        res.outcome = DV_DOCKLOG_OUTCOME_NONE;
        snprintf(res.message, sizeof(res.message), "%s", ignored.msg);
    }
    *ret = res;
    return 0;
}

enum dv_docklog_verdict dv_docklog_classify(const dv_docklog_result *r)
{
    switch (r->end) {
    case DV_DOCKLOG_END_EXITED:
        /* Exit 0 is also docklog's answer to SIGTERM; only the checkpoint tells a
         * drained container from a stop that someone else asked for. */
        if (r->status == DV_DOCKLOG_EXIT_DRAINED)
            return r->outcome == DV_DOCKLOG_OUTCOME_DONE ? DV_DOCKLOG_DRAINED : DV_DOCKLOG_RESPAWN;
        if (r->status == DV_DOCKLOG_EXIT_PERMANENT)
            return DV_DOCKLOG_PERMANENT;
        return DV_DOCKLOG_RESPAWN; /* 111, exec failure (127), anything unexpected */
    case DV_DOCKLOG_END_SIGNALED:
        return DV_DOCKLOG_RESPAWN;
    default:
        if (r->outcome == DV_DOCKLOG_OUTCOME_DONE)
            return DV_DOCKLOG_DRAINED;
        if (r->outcome == DV_DOCKLOG_OUTCOME_FAILED)
            return DV_DOCKLOG_PERMANENT;
        return DV_DOCKLOG_RESPAWN;
    }
}

int64_t dv_docklog_respawn_delay(unsigned attempt)
{
    int64_t delay = DV_NSEC_PER_SEC;
    for (unsigned i = 1; i < attempt && delay < 60 * DV_NSEC_PER_SEC; i++)
        delay *= 2;
    return delay > 60 * DV_NSEC_PER_SEC ? 60 * DV_NSEC_PER_SEC : delay;
}

int dv_docklog_signal(dv_docklog_proc *p, int sig, dv_error *err)
{
    if (p->pidfd < 0)
        return dv_error_set(err, -ESRCH, "docklog %d: no pidfd", (int)p->pid);
    if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) < 0)
        return dv_error_errno(err, -errno, "signal docklog %d", (int)p->pid);
    return 0;
}

static bool wait_exit(int pidfd, int64_t timeout_ns)
{
    int64_t deadline = dv_monotonic_ns() + timeout_ns;
    for (;;) {
        int64_t left = deadline - dv_monotonic_ns();
        if (left < 0)
            left = 0;
        struct pollfd pf = {.fd = pidfd, .events = POLLIN};
        int n = poll(&pf, 1, (int)((left + 999999) / 1000000));
        if (n > 0)
            return true;
        if (n == 0 || (n < 0 && errno != EINTR))
            return false;
    }
}

int dv_docklog_stop(dv_docklog_proc *p, int64_t timeout_ns, const char *checkpoint_path,
                    dv_docklog_result *ret, dv_error *err)
{
    if (p->pidfd < 0)
        return dv_docklog_collect(p, checkpoint_path, ret, err);
    dv_error ignored;
    if (dv_docklog_signal(p, SIGTERM, &ignored) == 0 && !wait_exit(p->pidfd, timeout_ns)) {
        dv_docklog_signal(p, SIGKILL, &ignored);
        if (!wait_exit(p->pidfd, 10 * DV_NSEC_PER_SEC))
            return dv_error_set(err, -ETIMEDOUT, "docklog %d survives SIGKILL", (int)p->pid);
    }
    return dv_docklog_collect(p, checkpoint_path, ret, err);
}

void dv_docklog_proc_close(dv_docklog_proc *p)
{
    if (p->pidfd >= 0)
        close(p->pidfd);
    p->pidfd = -1;
}

void dv_docklog_kill(dv_docklog_proc *p)
{
    if (p->pidfd < 0)
        return;
    syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
    if (p->is_child) {
        siginfo_t si;
        while (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED) < 0 && errno == EINTR)
            ;
    }
    dv_docklog_proc_close(p);
}
