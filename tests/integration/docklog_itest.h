/* Helpers for the docklog integration tests: real payload containers on the shared
 * dockerd (named dvtest-docklog-<pid>-..., labelled, removed by the test that made
 * them), the real docklog binary (DOCKLOG_BIN), the real journald. Header-only so
 * each test program stays one file. */
#ifndef DV_DOCKLOG_ITEST_H
#define DV_DOCKLOG_ITEST_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "atomic_file.h"
#include "buf.h"
#include "cleanup.h"
#include "test_support.h"

#define IT_LABEL "io.dockvisor.test=docklog"

typedef struct it_task {
    char *dir;
    char name[128]; /* container name */
    char id[80];    /* container id */
    char config[4200];
    char checkpoint[4200];
    char logs[4200];
    char diag[4200];
    char gaps[4200];
} it_task;

static inline void it_die(const char *what)
{
    fprintf(stderr, "integration test setup failed: %s\n", what);
    abort();
}

/* A failed assertion leaves its test early, before it_task_cleanup(): at exit, remove
 * whatever this process created (its names carry the pid). */
static inline void it_remove_leftovers(void)
{
    dv_test_sh(NULL,
               "docker ps -aq --filter name=dvtest-docklog-%d- --filter label=%s | "
               "xargs -r docker rm -f >/dev/null 2>&1",
               (int)getpid(), IT_LABEL);
}

/* Create and start a container of IMAGE; DOCKER_OPTS e.g. "-t", "--log-driver none". */
static inline void it_task_start_image(it_task *t, const char *tag, const char *docker_opts,
                                       const char *image, const char *args)
{
    static bool registered;
    if (!registered) {
        dv_test_sweep_dead_tests();
        registered = atexit(it_remove_leftovers) == 0;
    }
    memset(t, 0, sizeof(*t));
    t->dir = dv_test_tmpdir("dv-docklog-it");
    snprintf(t->name, sizeof(t->name), "dvtest-docklog-%d-%s-%ld", (int)getpid(), tag,
             (long)(time(NULL) % 100000));
    snprintf(t->config, sizeof(t->config), "%s/docklog.json", t->dir);
    snprintf(t->checkpoint, sizeof(t->checkpoint), "%s/docklog.checkpoint", t->dir);
    snprintf(t->logs, sizeof(t->logs), "%s/alloc/logs", t->dir);
    snprintf(t->diag, sizeof(t->diag), "%s/docklog.log", t->dir);
    snprintf(t->gaps, sizeof(t->gaps), "%s/docklog.gaps", t->dir);
    char *out = NULL;
    int rc = dv_test_sh(&out, "docker run -d --name %s --label %s %s %s %s 2>&1", t->name, IT_LABEL,
                        docker_opts ? docker_opts : "", image, args);
    if (rc != 0) {
        fprintf(stderr, "docker run: %s\n", out);
        it_die("docker run");
    }
    snprintf(t->id, sizeof(t->id), "%.64s", out);
    free(out);
}

/* A payload container (tests/payload/payload.c for PAYLOAD_ARGS). */
static inline void it_task_start(it_task *t, const char *tag, const char *docker_opts,
                                 const char *payload_args)
{
    it_task_start_image(t, tag, docker_opts,
                        dv_test_env("DV_TEST_IMAGE_PAYLOAD", "dockvisor-test/payload:1"),
                        payload_args);
}

static inline void it_task_cleanup(it_task *t)
{
    if (t->id[0])
        dv_test_sh(NULL, "docker rm -f %s >/dev/null 2>&1", t->id);
    if (t->dir) {
        if (getenv("DV_KEEP_TEST_DIRS"))
            fprintf(stderr, "kept %s\n", t->dir);
        else
            dv_test_rm_rf(t->dir);
    }
    free(t->dir);
    t->dir = NULL;
}

/* Wait until the container is no longer running (or up to SECONDS). */
static inline void it_wait_exited(const it_task *t, int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        char *out = NULL;
        dv_test_sh(&out, "docker inspect -f '{{.State.Running}}' %s", t->id);
        bool running = strncmp(out, "true", 4) == 0;
        free(out);
        if (!running)
            return;
        usleep(100000);
    }
    it_die("container did not exit in time");
}

/* Where docklog reads from: every docklog integration test runs twice (tests/
 * CMakeLists.txt), once with Docker's json-file read from disk ("file") and once
 * through the Engine API ("api"), from DV_DOCKLOG_SOURCE. */
/* A test whose container's driver the files cannot serve sets "auto" here: "file"
 * would refuse it (a permanent failure), where the file mode means "the files where
 * they can be read". */
static const char *it_source_override;

static inline const char *it_source(void)
{
    if (it_source_override)
        return it_source_override;
    const char *s = getenv("DV_DOCKLOG_SOURCE");
    return s && *s ? s : "auto";
}

static inline bool it_source_is_file(void)
{
    return strcmp(it_source(), "api") != 0;
}

static inline void it_write_config(it_task *t, bool tty, int max_files, int max_file_size_mb,
                                   bool journald)
{
    json_t *j = json_pack(
        "{si ss s{ss ss sb ss} s{ss ss} s{sb ss ss si si} s{sb ss} ss}", "version", 1, "endpoint",
        "unix:///var/run/docker.sock", "container", "id", t->id, "name", t->name, "tty", tty,
        "image", "dockvisor-test/payload:1", "task", "id", "11111111-2222-4333-8444-555555555555",
        "name", "ittask", "files", "enabled", true, "dir", t->logs, "base", "ittask", "max_files",
        max_files, "max_file_size", max_file_size_mb, "journald", "enabled", journald, "identifier",
        t->name, "checkpoint", t->checkpoint);
    if (!j || json_object_set_new(j, "source", json_string(it_source())) < 0 ||
        json_object_set_new(j, "gaps", json_string(t->gaps)) < 0 ||
        dv_atomic_write_json(t->config, j, 0600, NULL) < 0)
        it_die("write config");
    json_decref(j);
}

/* Start docklog (stdin /dev/null, diagnostics appended to t->diag). */
static inline pid_t it_docklog_spawn(const it_task *t)
{
    const char *bin = dv_test_env("DOCKLOG_BIN", "docklog");
    pid_t pid = fork();
    if (pid < 0)
        it_die("fork");
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int log = open(t->diag, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        dup2(in, 0);
        dup2(log, 1);
        dup2(log, 2);
        /* as the agent does: nothing of the test process reaches docklog */
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execl(bin, bin, t->config, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Wait for docklog to exit (up to SECONDS, then kill it and fail); returns the wait
 * status. */
static inline int it_docklog_wait(pid_t pid, int seconds)
{
    for (int i = 0; i < seconds * 20; i++) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fprintf(stderr, "docklog %d did not exit within %d s\n", (int)pid, seconds);
    return -1;
}

static inline void it_print_diag(const it_task *t)
{
    dv_test_sh(NULL, "tail -n 20 '%s' >&2", t->diag);
}

/* Concatenate the stream's files in index order; *ret_files (optional) counts them and
 * *ret_max_size gets the largest file size. */
static inline char *it_read_stream(const it_task *t, const char *type, int *ret_files,
                                   int64_t *ret_max_size)
{
    dv_buf all = DV_BUF_INIT;
    int files = 0;
    int64_t max = 0;
    char *list = NULL;
    dv_test_sh(&list, "ls '%s' 2>/dev/null | grep '^ittask\\.%s\\.[0-9]*$' | sort -t. -k3 -n",
               t->logs, type);
    for (char *save = NULL, *name = strtok_r(list, "\n", &save); name;
         name = strtok_r(NULL, "\n", &save)) {
        char path[8400];
        snprintf(path, sizeof(path), "%s/%s", t->logs, name);
        char *data = NULL;
        size_t len = 0;
        if (dv_read_file(path, &data, &len, NULL) < 0)
            it_die("read log file");
        dv_buf_append(&all, data, len);
        if ((int64_t)len > max)
            max = (int64_t)len;
        free(data);
        files++;
    }
    free(list);
    if (ret_files)
        *ret_files = files;
    if (ret_max_size)
        *ret_max_size = max;
    return dv_buf_steal(&all);
}

/* Check TEXT is exactly the payload's lines FIRST, FIRST+STEP, ... <= LAST ("<n> WORD..."),
 * in order, each once, terminated by EOL. Returns a message or NULL. */
static inline const char *it_check_numbered(const char *text, long first, long step, long last,
                                            const char *word, const char *eol)
{
    static char why[256];
    const char *p = text;
    size_t eol_len = strlen(eol);
    for (long n = first; n <= last; n += step) {
        char *end;
        long got = strtol(p, &end, 10);
        if (end == p || got != n || *end != ' ' || strncmp(end + 1, word, strlen(word)) != 0) {
            snprintf(why, sizeof(why), "expected line %ld, found \"%.40s\"", n, p);
            return why;
        }
        const char *nl = strstr(end, eol);
        if (!nl) {
            snprintf(why, sizeof(why), "line %ld not terminated", n);
            return why;
        }
        p = nl + eol_len;
    }
    if (*p) {
        snprintf(why, sizeof(why), "extra data after line %ld: \"%.40s\"", last, p);
        return why;
    }
    return NULL;
}

/* Every file of TYPE holds at most MAX bytes and whole numbered lines: it begins a
 * line ("<n> ...") and ends one. Returns a message or NULL. */
static inline const char *it_check_files(const it_task *t, const char *type, int64_t max)
{
    static char why[256];
    const char *result = NULL;
    char *list = NULL;
    dv_test_sh(&list, "ls '%s' | grep '^ittask\\.%s\\.'", t->logs, type);
    for (char *save = NULL, *name = strtok_r(list, "\n", &save); name && !result;
         name = strtok_r(NULL, "\n", &save)) {
        char path[8400];
        snprintf(path, sizeof(path), "%s/%s", t->logs, name);
        char *data = NULL;
        size_t len = 0;
        if (dv_read_file(path, &data, &len, NULL) < 0)
            it_die("read log file");
        if ((int64_t)len > max || len == 0 || data[0] < '1' || data[0] > '9' ||
            data[len - 1] != '\n') {
            snprintf(why, sizeof(why), "%s: %zu bytes, starts \"%.10s\", ends 0x%02x", name, len,
                     data, len ? (unsigned char)data[len - 1] : 0);
            result = why;
        }
        free(data);
    }
    free(list);
    return result;
}

/* journald entries matching MATCH (e.g. "CONTAINER_NAME=x"), with FIELDS
 * (journalctl --output-fields), waiting until at least MIN are visible (journald
 * writes asynchronously) or SECONDS passed. Returns a JSON array of entry objects. */
static inline json_t *it_journal_entries(const char *match, const char *fields, size_t min,
                                         int seconds)
{
    json_t *arr = NULL;
    for (int i = 0; i < seconds * 4; i++) {
        char *out = NULL;
        dv_test_sh(&out, "journalctl --no-pager -q -a %s -o json --output-fields=%s", match,
                   fields);
        json_decref(arr);
        arr = json_array();
        for (char *save = NULL, *line = strtok_r(out, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            json_t *e = json_loads(line, 0, NULL);
            if (e)
                json_array_append_new(arr, e);
        }
        free(out);
        if (json_array_size(arr) >= min)
            break;
        usleep(250000);
    }
    return arr;
}

/* journald: MESSAGE and PRIORITY of every entry with CONTAINER_NAME=name, waiting until
 * at least MIN entries are visible. Returns a JSON array of [message, priority]. */
static inline json_t *it_journal(const it_task *t, size_t min, int seconds)
{
    char match[200];
    snprintf(match, sizeof(match), "CONTAINER_NAME=%s", t->name);
    json_t *entries =
        it_journal_entries(match, "MESSAGE,PRIORITY,CONTAINER_PARTIAL_MESSAGE", min, seconds);
    json_t *arr = json_array();
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *e = json_array_get(entries, i);
        json_array_append_new(
            arr, json_pack("[OO]", json_object_get(e, "MESSAGE"), json_object_get(e, "PRIORITY")));
    }
    json_decref(entries);
    return arr;
}

/* kill -9 the helper PID KILLS times, at random moments (MIN_US plus up to SPREAD_US
 * apart), each time calling AFTER_KILL (optional: what to do to its files while it
 * is down) and starting it again, as the agent would. Returns the last helper's
 * pid, or -1 with *RET_WHY set when one ended before its kill. *RET_MID_STREAM
 * (optional) counts the kills that landed while the container still ran. */
static inline pid_t it_kill9_rounds(const it_task *t, pid_t pid, int kills, unsigned min_us,
                                    unsigned spread_us, void (*after_kill)(const it_task *t, int k),
                                    int *ret_mid_stream, const char **ret_why)
{
    static char why[128];
    int mid = 0;
    for (int k = 0; k < kills; k++) {
        usleep(min_us + (useconds_t)(random() % spread_us));
        char *out = NULL;
        dv_test_sh(&out, "docker inspect -f '{{.State.Running}}' %s", t->id);
        mid += out && strncmp(out, "true", 4) == 0;
        free(out);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (!WIFSIGNALED(status)) {
            snprintf(why, sizeof(why), "docklog ended before kill %d (status 0x%x)", k + 1, status);
            *ret_why = why;
            return -1;
        }
        if (after_kill)
            after_kill(t, k);
        pid = it_docklog_spawn(t);
    }
    if (ret_mid_stream)
        *ret_mid_stream = mid;
    return pid;
}

/* journald after helpers were killed: every numbered line 1..LINES of the task is
 * there at least once, and no more than MAX_DUPS repeat (the batches in flight at
 * the kills). NULL when so, else why; prints the counts. */
static inline const char *it_check_journal_numbered(const it_task *t, long lines, size_t max_dups)
{
    static char why[160];
    json_t *j = it_journal(t, (size_t)lines, 60);
    unsigned char *seen = calloc((size_t)lines + 1, 1);
    size_t dups = 0, missing = 0, foreign = 0;
    for (size_t i = 0; seen && i < json_array_size(j); i++) {
        const char *msg = json_string_value(json_array_get(json_array_get(j, i), 0));
        long n = msg ? strtol(msg, NULL, 10) : 0;
        if (n < 1 || n > lines)
            foreign++;
        else
            dups += seen[n]++ > 0;
    }
    for (long n = 1; seen && n <= lines; n++)
        missing += !seen[n];
    fprintf(stderr, "journald: %zu entries, %zu duplicates (bound %zu), %zu missing\n",
            json_array_size(j), dups, max_dups, missing);
    json_decref(j);
    const char *r = NULL;
    if (!seen)
        r = "out of memory";
    else if (foreign || missing || dups > max_dups) {
        snprintf(why, sizeof(why),
                 "journald: %zu missing, %zu duplicates (bound %zu), %zu not numbered", missing,
                 dups, max_dups, foreign);
        r = why;
    }
    free(seen);
    return r;
}

#endif
