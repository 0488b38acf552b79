#include "test_support.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

char *dv_test_tmpdir(const char *prefix)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;
    if (asprintf(&path, "%s/%s.XXXXXX", base && *base ? base : "/tmp", prefix) < 0)
        abort();
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

void dv_test_rm_rf(const char *path)
{
    if (!path || !*path || strcmp(path, "/") == 0)
        return;
    dv_test_sh(NULL, "rm -rf -- '%s'", path);
}

int dv_test_sh(char **out, const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&cmd, fmt, ap) < 0)
        abort();
    va_end(ap);
    FILE *p = popen(cmd, "re");
    free(cmd);
    if (!p)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
    }
    buf[len] = '\0';
    int status = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const char *dv_test_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

void dv_test_sweep_dead_tests(void)
{
    /* The shell expands the path (any character in it is safe); nothing of the sweep
     * goes to the pipe dv_test_sh reads, which something it started could hold open. */
    const char *src = getenv("DV_SOURCE_DIR");
    if (src && *src)
        dv_test_sh(NULL, "bash \"$DV_SOURCE_DIR/tests/integration/sweep_dead_tests.sh\" >&2");
}

long dv_test_waiting_in(pid_t pid, pid_t tid)
{
    char path[96], text[256] = "";
    snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long nr = -1;
    if (fgets(text, sizeof(text), f) && strncmp(text, "running", 7) != 0)
        nr = strtol(text, NULL, 10);
    fclose(f);
    return nr;
}

void dv_test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    if (!f) {
        perror(path);
        abort();
    }
    fputs(text, f);
    fclose(f);
}

void dv_test_append_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        perror(path);
        abort();
    }
    close(fd);
}

void dv_test_jsonfile_line(const char *path, const char *stream, const char *time, const char *msg)
{
    char *line = NULL;
    if (asprintf(&line, "{\"log\":\"%s\\n\",\"stream\":\"%s\",\"time\":\"%s\"}\n", msg, stream,
                 time) < 0)
        abort();
    dv_test_append_file(path, line);
    free(line);
}

void dv_test_frame(dv_buf *b, int type, const void *payload, size_t len)
{
    unsigned char h[8] = {(unsigned char)type,
                          0,
                          0,
                          0,
                          (unsigned char)(len >> 24),
                          (unsigned char)(len >> 16),
                          (unsigned char)(len >> 8),
                          (unsigned char)len};
    if (dv_buf_append(b, h, sizeof(h)) < 0 || dv_buf_append(b, payload, len) < 0)
        abort(); /* out of memory in a test */
}

json_t *dv_test_json(const char *text)
{
    char *s = strdup(text);
    if (!s)
        abort();
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t jerr;
    json_t *j = json_loads(s, 0, &jerr);
    if (!j) {
        fprintf(stderr, "bad test JSON: %s: %s\n", jerr.text, s);
        abort();
    }
    free(s);
    return j;
}

int dv_test_bind_dgram(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
        abort();
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        abort();
    int size = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    return fd;
}
