/* Running a docker credential helper: `docker-credential-<name> get`, the
 * server on stdin, {"ServerURL","Username","Secret"} on stdout.
 *
 * Process care: no shell (posix_spawnp does the PATH lookup), our pipes are
 * O_CLOEXEC and every fd above stdio is closed in the child (only the dup2'ed
 * copies reach the helper), the helper gets an
 * empty signal mask and default dispositions (the agent blocks signals for
 * its signalfd), its own process group (so a timeout kills whatever it
 * started), and it is always reaped. This blocks: the agent calls it from a
 * worker thread. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "registry_auth.h"
#include "xalloc.h"

extern char **environ;

#define OUTPUT_MAX (1024 * 1024)

static bool valid_helper(const char *name)
{
    if (!name || !*name || strlen(name) > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

/* Write to a pipe whose reader may be gone without dying of SIGPIPE,
 * whatever the process's SIGPIPE disposition is. */
static ssize_t write_nosigpipe(int fd, const void *data, size_t len)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t n = write(fd, data, len);
    int saved = errno;
    if (n < 0 && errno == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero); /* consume the one we caused */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return n;
}

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    p[0] = p[1] = -1;
}

static int spawn(const char *program, int in[2], int out[2], int errp[2], pid_t *ret_pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    /* Only stdio, whatever the agent holds: a library's descriptor without
     * close-on-exec (curl's wakeup socketpair) must not reach the helper. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    char *argv[] = {(char *)program, (char *)"get", NULL};
    int r = posix_spawnp(ret_pid, program, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return -r;
}

/* Read stdout and stderr until both close or the deadline passes. */
static int collect(int out_fd, int err_fd, int64_t deadline, dv_buf *out, dv_buf *errbuf)
{
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    dv_buf *bufs[2] = {out, errbuf};
    int open_fds = 2;
    while (open_fds > 0) {
        int64_t left = deadline - dv_monotonic_ns();
        if (left <= 0)
            return -ETIMEDOUT;
        int n = poll(fds, 2, (int)(left / 1000000) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            char chunk[4096];
            ssize_t got = read(fds[i].fd, chunk, sizeof(chunk));
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (bufs[i]->len + (size_t)got > OUTPUT_MAX)
                return -EMSGSIZE;
            if (dv_buf_append(bufs[i], chunk, (size_t)got) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* Reap PID, killing its process group first when it overstayed. */
static int reap(pid_t pid, bool kill_first, int64_t deadline, int *ret_status)
{
    if (kill_first)
        kill(-pid, SIGKILL);
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, kill_first ? 0 : WNOHANG);
        if (r == pid) {
            *ret_status = status;
            return 0;
        }
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r == 0) {
            /* Output closed but still running: give it until the deadline. */
            if (dv_monotonic_ns() >= deadline) {
                kill_first = true;
                kill(-pid, SIGKILL);
                continue;
            }
            struct timespec ts = {0, 10 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
}

static void first_line(const char *text, char *out, size_t size)
{
    snprintf(out, size, "%.*s", (int)strcspn(text, "\n"), text);
}

int dv_cred_helper_get(const char *helper, const char *server, int64_t timeout_ns,
                       dv_registry_creds *ret, dv_spec_error *err)
{
    static const char *const field = "docker.auth.helper";
    if (!valid_helper(helper))
        return dv_spec_fail(err, field, -EINVAL, "invalid credential helper name \"%s\"",
                            helper ? helper : "");
    char program[96];
    snprintf(program, sizeof(program), "docker-credential-%s", helper);
    if (timeout_ns <= 0)
        timeout_ns = DV_CRED_HELPER_TIMEOUT_NS;
    int64_t deadline = dv_monotonic_ns() + timeout_ns;

    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        int e = errno;
        close_pair(in);
        close_pair(out);
        close_pair(errp);
        return dv_spec_fail(err, field, -e, "%s: pipe: %s", program, strerror(e));
    }
    pid_t pid;
    int r = spawn(program, in, out, errp, &pid);
    close(in[0]);
    close(out[1]);
    close(errp[1]);
    in[0] = out[1] = errp[1] = -1;
    if (r < 0) {
        close_pair(in);
        close_pair(out);
        close_pair(errp);
        if (r == -ENOENT)
            return dv_spec_fail(err, field, r, "%s not found on PATH", program);
        return dv_spec_fail(err, field, r, "cannot run %s: %s", program, strerror(-r));
    }

    /* A helper that exits without reading is reported by its exit status. */
    (void)write_nosigpipe(in[1], server, strlen(server));
    close(in[1]);
    in[1] = -1;
    _cleanup_buf_ dv_buf stdout_buf = DV_BUF_INIT;
    _cleanup_buf_ dv_buf stderr_buf = DV_BUF_INIT;
    int cr = collect(out[0], errp[0], deadline, &stdout_buf, &stderr_buf);
    close_pair(out);
    close_pair(errp);
    int status = 0;
    if (reap(pid, cr < 0, deadline, &status) < 0)
        return dv_spec_fail(err, field, -ECHILD, "%s: cannot reap the helper", program);
    if (cr == -ETIMEDOUT)
        return dv_spec_fail(err, field, cr, "%s timed out after %lld s", program,
                            (long long)(timeout_ns / 1000000000));
    if (cr < 0)
        return dv_spec_fail(err, field, cr, "%s: reading its output: %s", program, strerror(-cr));

    const char *out_text = stdout_buf.data ? stdout_buf.data : "";
    const char *err_text = stderr_buf.data ? stderr_buf.data : "";
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* The protocol's answer for "nothing stored for this server". */
        if (strstr(out_text, "credentials not found") || strstr(err_text, "credentials not found"))
            return 0;
        char line[256];
        first_line(*err_text ? err_text : out_text, line, sizeof(line));
        if (WIFSIGNALED(status))
            return dv_spec_fail(err, field, -EIO, "%s get for %s killed by signal %d", program,
                                server, WTERMSIG(status));
        return dv_spec_fail(err, field, -EIO, "%s get for %s failed (exit status %d)%s%s", program,
                            server, WEXITSTATUS(status), *line ? ": " : "", line);
    }
    json_error_t jerr;
    _cleanup_json_ json_t *answer = json_loads(out_text, 0, &jerr);
    explicit_bzero(stdout_buf.data ? stdout_buf.data : (char *)"", stdout_buf.len);
    if (!json_is_object(answer))
        return dv_spec_fail(err, field, -EINVAL, "%s returned invalid JSON", program);
    const char *user = json_string_value(json_object_get(answer, "Username"));
    const char *secret = json_string_value(json_object_get(answer, "Secret"));
    if ((!user || !*user) && (!secret || !*secret))
        return 0;
    dv_registry_creds n = {.found = true, .source = DV_AUTH_HELPER};
    bool token = user && strcmp(user, "<token>") == 0;
    n.username = token || !user ? NULL : dv_xstrdup(user);
    if (token)
        n.identity_token = secret ? dv_xstrdup(secret) : NULL;
    else
        n.password = secret ? dv_xstrdup(secret) : NULL;
    n.server_address = dv_xstrdup(server);
    n.auth = (dv_registry_auth){n.username, n.password, NULL, n.server_address, n.identity_token};
    dv_registry_creds_clear(ret);
    *ret = n;
    return 0;
}
