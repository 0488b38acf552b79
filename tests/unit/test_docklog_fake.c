/* The docklog binaries against the fake Engine API, for what the real daemon cannot be
 * made to do on demand: a log stream cut in the middle (reconnect from the checkpoint,
 * with since= per the stream times and the skip), 5xx answers (retried), Docker's
 * "configured logging driver does not support reading" and a vanished container
 * (exit 100, failed checkpoint), and TLS endpoints (docklog-tls with the driver's tls
 * block: CA-verified server, client certificate; a wrong CA is refused; the plain
 * docklog refuses TLS endpoints). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "atomic_file.h"
#include "buf.h"
#include "checkpoint.h"
#include "cleanup.h"
#include "docklog_protocol.h"
#include "fake_engine.h"
#include "test_support.h"

#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *inspect_exited =
    "{\"State\":{\"Running\":false,\"Restarting\":false,\"Status\":\"exited\","
    "\"StartedAt\":\"2024-01-01T00:00:00Z\"},\"HostConfig\":{\"LogConfig\":{\"Type\":"
    "\"json-file\"}}}";
static const char *inspect_running =
    "{\"State\":{\"Running\":true,\"Restarting\":false,\"Status\":\"running\","
    "\"StartedAt\":\"2024-01-01T00:00:00Z\"},\"HostConfig\":{\"LogConfig\":{\"Type\":"
    "\"json-file\"}}}";

static void frame(dv_buf *b, int type, const char *payload)
{
    dv_test_frame(b, type, payload, strlen(payload));
}

/* GET /containers/CID/logs answers TIMES times (0: always) with STREAM, sent in
 * chunks of PIECE bytes (0: one), ending as END says. */
static void add_logs(dv_fake *f, const dv_buf *stream, int times, size_t piece,
                     enum dv_fake_end end)
{
    dv_fake_rule rule = {.method = "GET",
                         .path = "/containers/" CID "/logs",
                         .times = times,
                         .content_type = "application/vnd.docker.raw-stream",
                         .stream = stream->data,
                         .stream_len = stream->len,
                         .piece = piece,
                         .end = end};
    dv_fake_add(f, &rule);
}

struct env {
    char *dir;
    char config[4096], checkpoint[4096], logs[4096], diag[4096];
    const char *source; /* the config's "source"; NULL: absent (auto) */
};

static void env_init(struct env *e)
{
    e->dir = dv_test_tmpdir("dl-fake");
    snprintf(e->config, sizeof(e->config), "%s/docklog.json", e->dir);
    snprintf(e->checkpoint, sizeof(e->checkpoint), "%s/docklog.checkpoint", e->dir);
    snprintf(e->logs, sizeof(e->logs), "%s/logs", e->dir);
    snprintf(e->diag, sizeof(e->diag), "%s/docklog.log", e->dir);
    e->source = NULL;
}

static void env_free(struct env *e)
{
    dv_test_rm_rf(e->dir);
    free(e->dir);
}

/* ADDRESSES: the JSON array the agent would write for a host name, or NULL. */
static void write_config_addresses(struct env *e, const char *endpoint, const char *addresses,
                                   const char *tls_dir)
{
    char tls[2048] = "";
    if (tls_dir)
        snprintf(tls, sizeof(tls),
                 "\"tls\":{\"cert\":\"%s/client.pem\",\"key\":\"%s/client.key\",\"ca\":\"%s/%s\"},",
                 tls_dir, tls_dir, tls_dir, getenv("DL_TEST_CA") ? getenv("DL_TEST_CA") : "ca.pem");
    char addrs[512] = "";
    if (addresses)
        snprintf(addrs, sizeof(addrs), "\"addresses\":%s,", addresses);
    if (e->source)
        snprintf(addrs + strlen(addrs), sizeof(addrs) - strlen(addrs), "\"source\":\"%s\",",
                 e->source);
    char text[8192];
    snprintf(text, sizeof(text),
             "{\"version\":1,\"endpoint\":\"%s\",%s%s\"container\":{\"id\":\"" CID "\",\"name\":"
             "\"fake\",\"tty\":false,\"image\":\"i\"},\"task\":{\"id\":\"t\",\"name\":\"t\"},"
             "\"files\":{\"enabled\":true,\"dir\":\"%s\",\"base\":\"t\",\"max_files\":3,"
             "\"max_file_size\":1},\"journald\":{\"enabled\":false},\"checkpoint\":\"%s\"}",
             endpoint, addrs, tls, e->logs, e->checkpoint);
    dv_test_write_file(e->config, text);
}

static void write_config(struct env *e, const char *endpoint, const char *tls_dir)
{
    write_config_addresses(e, endpoint, NULL, tls_dir);
}

/* Run BINARY (docklog or docklog-tls next to DOCKLOG_BIN) to its end; the exit code. */
static int run(struct env *e, bool tls)
{
    const char *bin = dv_test_env("DOCKLOG_BIN", "docklog");
    char path[4096];
    snprintf(path, sizeof(path), "%s%s", bin, tls ? "-tls" : "");
    pid_t pid = fork();
    if (pid == 0) {
        freopen(e->diag, "a", stderr);
        freopen("/dev/null", "r", stdin);
        execl(path, path, e->config, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 600; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static char *slurp(const char *path)
{
    char *data = NULL;
    if (dv_read_file(path, &data, NULL, NULL) < 0)
        return strdup("<missing>");
    return data;
}

static void expect_code(struct env *e, int got, int want)
{
    if (got != want) {
        _cleanup_free_ char *diag = slurp(e->diag);
        fail_msg("docklog exited %d, want %d; its log:\n%s", got, want, diag);
    }
}

/* A fake Engine whose container is running for the first RUNNING inspects, then
 * exited. */
static dv_fake *fake_running_then_exited(int running)
{
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_reply(f, "GET", "/containers/" CID "/json", running, 200, inspect_running);
    dv_fake_reply(f, "GET", "/containers/" CID "/json", 0, 200, inspect_exited);
    return f;
}

/* The first file of stream TYPE holds exactly WANT. */
static void expect_file(const struct env *e, const char *type, const char *want)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/t.%s.0", e->logs, type);
    _cleanup_free_ char *got = slurp(path);
    assert_string_equal(got, want);
}

static void test_stream_cut_reconnects_exactly(void **state)
{
    (void)state;
    struct env e;
    env_init(&e);
    dv_fake *f = dv_fake_start(NULL, NULL);
    /* First pass: running; the stream dies inside a frame after three entries. */
    dv_fake_reply(f, "GET", "/containers/" CID "/json", 1, 200, inspect_running);
    _cleanup_buf_ dv_buf s1 = DV_BUF_INIT;
    frame(&s1, 1, "2024-01-01T00:00:01.000000000Z one\n");
    frame(&s1, 2, "2024-01-01T00:00:00.500000000Z err one\n"); /* stderr lags stdout */
    frame(&s1, 1, "2024-01-01T00:00:02.000000000Z two\n");
    dv_buf_append(&s1,
                  "\x01\0\0\0\0\0\0\x30"
                  "2024-01-01T00:00:0",
                  26); /* cut */
    add_logs(f, &s1, 1, 9, DV_FAKE_END_CLOSE);
    /* Second pass: exited; Docker answers since=0.5 s (the stderr time) with what is at
     * or after it, in log order: the delivered entries come again and are skipped. */
    dv_fake_reply(f, "GET", "/containers/" CID "/json", 0, 200, inspect_exited);
    _cleanup_buf_ dv_buf s2 = DV_BUF_INIT;
    frame(&s2, 1, "2024-01-01T00:00:01.000000000Z one\n");
    frame(&s2, 2, "2024-01-01T00:00:00.500000000Z err one\n");
    frame(&s2, 1, "2024-01-01T00:00:02.000000000Z two\n");
    frame(&s2, 2, "2024-01-01T00:00:01.500000000Z err two\n"); /* older than "two" */
    frame(&s2, 1, "2024-01-01T00:00:03.000000000Z three\n");
    add_logs(f, &s2, 0, 5, DV_FAKE_END_OK);

    write_config(&e, dv_fake_endpoint(f), NULL);
    expect_code(&e, run(&e, false), DV_DOCKLOG_EXIT_DRAINED);
    expect_file(&e, "stdout", "one\ntwo\nthree\n");
    expect_file(&e, "stderr", "err one\nerr two\n");
    /* The first request asked from the start, the next from the older stream time. */
    size_t logs_requests = 0;
    for (size_t i = 0; i < dv_fake_request_count(f); i++) {
        const dv_fake_request *r = dv_fake_request_at(f, i);
        if (!strstr(r->path, "/logs"))
            continue;
        assert_non_null(strstr(r->query, "follow=1"));
        assert_non_null(strstr(r->query, "timestamps=1"));
        if (logs_requests++ == 0)
            assert_null(strstr(r->query, "since="));
        else
            assert_non_null(strstr(r->query, "since=1704067200.500000000"));
    }
    assert_int_equal(logs_requests, 2);
    dl_checkpoint cp;
    dv_error derr;
    assert_int_equal(dl_checkpoint_load(e.checkpoint, &cp, &derr), 0);
    assert_int_equal(cp.outcome, DL_OUTCOME_DONE);
    dv_fake_stop(f);
    env_free(&e);
}

static void test_stream_ends_while_running(void **state)
{
    (void)state;
    /* Docker ends a follow stream early at times (a restart, its reader racing the
     * container's exit): only a stream requested after the container had exited
     * proves the logs drained. */
    struct env e;
    env_init(&e);
    dv_fake *f = fake_running_then_exited(2);
    _cleanup_buf_ dv_buf s1 = DV_BUF_INIT, s2 = DV_BUF_INIT;
    frame(&s1, 1, "2024-01-01T00:00:01.000000000Z one\n");
    frame(&s1, 1, "2024-01-01T00:00:01.000000000Z same time\n");
    add_logs(f, &s1, 2, 7, DV_FAKE_END_OK); /* twice: the same again, nothing new */
    dv_buf_append(&s2, s1.data, s1.len);
    frame(&s2, 1, "2024-01-01T00:00:01.000000000Z third at that time\n");
    frame(&s2, 2, "2024-01-01T00:00:02.000000000Z last\n");
    add_logs(f, &s2, 0, 7, DV_FAKE_END_OK);
    write_config(&e, dv_fake_endpoint(f), NULL);
    expect_code(&e, run(&e, false), DV_DOCKLOG_EXIT_DRAINED);
    expect_file(&e, "stdout", "one\nsame time\nthird at that time\n");
    expect_file(&e, "stderr", "last\n");
    size_t logs = 0;
    for (size_t i = 0; i < dv_fake_request_count(f); i++)
        logs += strstr(dv_fake_request_at(f, i)->path, "/logs") != NULL;
    assert_int_equal(logs, 3);
    dv_fake_stop(f);
    env_free(&e);
}

/* Docker 20.10's follow reader replays entries around a rotation with the stamps they
 * had, a whole file or a single line, in the middle of a response; and a since=
 * answer may reach back before since. Here the fake replays inside the first
 * response, repeats the last line right after itself, and then ignores since= and
 * sends everything again: each entry reaches the files once. */
static void test_replays_and_ignored_since_deliver_once(void **state)
{
    (void)state;
    struct env e;
    env_init(&e);
    dv_fake *f = fake_running_then_exited(1);
    static const char *out[] = {
        "2024-01-01T00:00:01.000000001Z o1\n", "2024-01-01T00:00:01.000000002Z o2\n",
        "2024-01-01T00:00:01.000000003Z o3\n", "2024-01-01T00:00:01.000000004Z o4\n"};
    static const char *err[] = {"2024-01-01T00:00:01.000000001Z e1\n",
                                "2024-01-01T00:00:01.000000003Z e2\n"};
    _cleanup_buf_ dv_buf s1 = DV_BUF_INIT, all = DV_BUF_INIT;
    frame(&s1, 1, out[0]);
    frame(&s1, 2, err[0]);
    frame(&s1, 1, out[1]);
    frame(&s1, 1, out[0]); /* a replay from the rotated file */
    frame(&s1, 2, err[0]);
    frame(&s1, 1, out[1]);
    frame(&s1, 1, out[2]);
    frame(&s1, 1, out[2]); /* the last line again, right after itself */
    frame(&s1, 2, err[1]);
    add_logs(f, &s1, 1, 5, DV_FAKE_END_OK);
    for (size_t i = 0; i < 4; i++)
        frame(&all, 1, out[i]);
    for (size_t i = 0; i < 2; i++)
        frame(&all, 2, err[i]);
    add_logs(f, &all, 0, 0, DV_FAKE_END_OK); /* since= ignored: everything again */
    write_config(&e, dv_fake_endpoint(f), NULL);
    expect_code(&e, run(&e, false), DV_DOCKLOG_EXIT_DRAINED);
    expect_file(&e, "stdout", "o1\no2\no3\no4\n");
    expect_file(&e, "stderr", "e1\ne2\n");
    _cleanup_free_ char *diag = slurp(e.diag);
    assert_null(strstr(diag, "lost")); /* the committed entries came again: no gap */
    dv_fake_stop(f);
    env_free(&e);
}

/* The checkpointed entry is no longer in Docker's log when docklog starts again: it
 * reports the window, once per stream. */
static void test_gap_is_reported(void **state)
{
    (void)state;
    struct env e;
    env_init(&e);
    dv_fake *f = fake_running_then_exited(1);
    _cleanup_buf_ dv_buf s1 = DV_BUF_INIT, s2 = DV_BUF_INIT;
    frame(&s1, 1, "2024-01-01T00:00:01Z first\n");
    add_logs(f, &s1, 1, 0, DV_FAKE_END_OK);
    frame(&s2, 1, "2024-01-01T00:00:09Z after the gap\n"); /* 00:00:01 rotated away */
    add_logs(f, &s2, 0, 0, DV_FAKE_END_OK);
    write_config(&e, dv_fake_endpoint(f), NULL);
    expect_code(&e, run(&e, false), DV_DOCKLOG_EXIT_DRAINED);
    _cleanup_free_ char *diag = slurp(e.diag);
    const char *lost = strstr(diag, "log entries lost");
    assert_non_null(lost);
    assert_non_null(strstr(lost, "stdout entries stamped after 2024-01-01T00:00:01Z"));
    assert_null(strstr(lost + 1, "log entries lost")); /* once */
    expect_file(&e, "stdout", "first\nafter the gap\n");
    dv_fake_stop(f);
    env_free(&e);
}

static void test_new_container_appends(void **state)
{
    (void)state;
    /* The task was restarted with a new container: the checkpoint names the old one.
     * The new container's log is read from its start and appended to the same files. */
    struct env e;
    env_init(&e);
    char path[4200];
    assert_int_equal(dv_mkdir_p(e.logs, 0755, NULL), 0);
    snprintf(path, sizeof(path), "%s/t.stdout.0", e.logs);
    dv_test_write_file(path, "old out\n");
    snprintf(path, sizeof(path), "%s/t.stderr.0", e.logs);
    dv_test_write_file(path, "old err\n");
    dl_checkpoint cp;
    dl_checkpoint_init(&cp, "feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface");
    cp.outcome = DL_OUTCOME_DONE;
    cp.pos.ts[0] = cp.pos.ts[1] = INT64_C(1893456000000000000); /* 2030: after the new lines */
    cp.pos.count[0] = cp.pos.count[1] = 1;
    cp.pos.out = (dl_file_pos){.index = 0, .offset = 8, .line_start = 8, .truncate_index = -1};
    cp.pos.err = cp.pos.out;
    dv_error derr;
    assert_int_equal(dl_checkpoint_save(e.checkpoint, &cp, true, &derr), 0);

    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_reply(f, "GET", "/containers/" CID "/json", 0, 200, inspect_exited);
    _cleanup_buf_ dv_buf s = DV_BUF_INIT;
    frame(&s, 1, "2024-01-01T00:00:01.000000000Z new out\n");
    frame(&s, 2, "2024-01-01T00:00:01.000000000Z new err\n");
    add_logs(f, &s, 0, 0, DV_FAKE_END_OK);
    write_config(&e, dv_fake_endpoint(f), NULL);
    expect_code(&e, run(&e, false), DV_DOCKLOG_EXIT_DRAINED);
    expect_file(&e, "stdout", "old out\nnew out\n");
    expect_file(&e, "stderr", "old err\nnew err\n");
    const dv_fake_request *r = dv_fake_find(f, "GET", "/containers/" CID "/logs");
    assert_non_null(r);
    assert_null(strstr(r->query, "since=")); /* from the new container's start */
    assert_int_equal(dl_checkpoint_load(e.checkpoint, &cp, &derr), 0);
    assert_string_equal(cp.container_id, CID);
    assert_int_equal(cp.outcome, DL_OUTCOME_DONE);
    dv_fake_stop(f);
    env_free(&e);
}

/* A fake Engine whose container has exited, logging with json-file (its LogConfig.Config:
 * LOG_CONFIG) to LOG; INSPECT holds the answer while the fake serves it. */
static dv_fake *fake_exited_with_log(const char *log, const char *log_config, char *inspect,
                                     size_t size)
{
    snprintf(inspect, size,
             "{\"State\":{\"Running\":false,\"Restarting\":false,\"Status\":\"exited\","
             "\"StartedAt\":\"2024-01-01T00:00:00Z\"},\"LogPath\":\"%s\",\"HostConfig\":{"
             "\"LogConfig\":{\"Type\":\"json-file\",\"Config\":%s}}}",
             log, log_config);
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_reply(f, "GET", "/containers/" CID "/json", 0, 200, inspect);
    return f;
}

/* The checkpoint as a docklog killed mid-stream leaves it (outcome running), its place's
 * birth time moved by BORN_DELTA. */
static void reopen_checkpoint(const struct env *e, int64_t born_delta)
{
    dl_checkpoint cp;
    dv_error err;
    assert_int_equal(dl_checkpoint_load(e->checkpoint, &cp, &err), 0);
    cp.outcome = DL_OUTCOME_RUNNING;
    cp.pos.source.born_ns += born_delta;
    assert_int_equal(dl_checkpoint_save(e->checkpoint, &cp, true, &err), 0);
}

/* The file source resumes at its place in Docker's log (checkpoint.h, "source"): an
 * entry after it is delivered even when stamped before the last delivered one (the wall
 * clock stepped back), where the timestamp filter would take it for a replay and drop
 * it. A place that no longer names its file falls back to the timestamps, exactly. */
static void test_file_source_resumes_at_its_place(void **state)
{
    (void)state;
    struct env e;
    env_init(&e);
    e.source = "file";
    char log[4200], inspect[8192];
    snprintf(log, sizeof(log), "%s/c-json.log", e.dir);
    dv_test_jsonfile_line(log, "stdout", "2024-01-01T00:00:10Z", "a");
    dv_test_jsonfile_line(log, "stdout", "2024-01-01T00:00:20Z", "b");
    dv_fake *f = fake_exited_with_log(log, "{}", inspect, sizeof(inspect));
    write_config(&e, dv_fake_endpoint(f), NULL);
    expect_code(&e, run(&e, false), DV_DOCKLOG_EXIT_DRAINED);
    expect_file(&e, "stdout", "a\nb\n");
    dl_checkpoint cp;
    dv_error err;
    struct stat st;
    assert_int_equal(dl_checkpoint_load(e.checkpoint, &cp, &err), 0);
    assert_int_equal(stat(log, &st), 0);
    assert_true(cp.pos.source.set);
    assert_int_equal(cp.pos.source.ino, st.st_ino);
    assert_int_equal(cp.pos.source.offset, st.st_size);

    reopen_checkpoint(&e, 0);
    dv_test_jsonfile_line(log, "stdout", "2024-01-01T00:00:15Z", "c (the clock stepped back)");
    dv_test_jsonfile_line(log, "stdout", "2024-01-01T00:00:30Z", "d");
    expect_code(&e, run(&e, false), DV_DOCKLOG_EXIT_DRAINED);
    expect_file(&e, "stdout", "a\nb\nc (the clock stepped back)\nd\n");
    _cleanup_free_ char *diag = slurp(e.diag);
    assert_non_null(strstr(diag, "resuming Docker's log at byte"));

    /* Another file got the inode: from the oldest file, by timestamp. */
    reopen_checkpoint(&e, 1);
    dv_test_jsonfile_line(log, "stdout", "2024-01-01T00:00:40Z", "e");
    expect_code(&e, run(&e, false), DV_DOCKLOG_EXIT_DRAINED);
    expect_file(&e, "stdout", "a\nb\nc (the clock stepped back)\nd\ne\n");
    _cleanup_free_ char *diag2 = slurp(e.diag);
    assert_non_null(strstr(diag2, "is no longer there as it was: resuming by timestamp"));
    dv_fake_stop(f);
    env_free(&e);
}

/* json-file with max-size and max-file 1 (Docker's default max-file) rotates by
 * truncating its only file in place: a reader holding it cannot tell, so auto reads
 * through the API and a config that asks for the files fails, saying why. */
static void test_truncating_json_file_is_read_through_the_api(void **state)
{
    (void)state;
    const char *sources[] = {NULL, "file"};
    for (size_t i = 0; i < 2; i++) {
        struct env e;
        env_init(&e);
        e.source = sources[i];
        char log[4200], inspect[8192];
        snprintf(log, sizeof(log), "%s/c-json.log", e.dir);
        dv_test_jsonfile_line(log, "stdout", "2024-01-01T00:00:10Z", "a");
        dv_fake *f = fake_exited_with_log(log, "{\"max-size\":\"1m\"}", inspect, sizeof(inspect));
        _cleanup_buf_ dv_buf s1 = DV_BUF_INIT;
        frame(&s1, 1, "2024-01-01T00:00:10Z a\n");
        add_logs(f, &s1, 0, 0, DV_FAKE_END_OK);
        write_config(&e, dv_fake_endpoint(f), NULL);
        int code = run(&e, false);
        _cleanup_free_ char *diag = slurp(e.diag);
        assert_non_null(strstr(diag, "with max-file 1 Docker rotates by truncating"));
        if (!sources[i]) {
            expect_code(&e, code, DV_DOCKLOG_EXIT_DRAINED);
            expect_file(&e, "stdout", "a\n");
            assert_non_null(dv_fake_find(f, "GET", "/containers/" CID "/logs"));
        } else {
            expect_code(&e, code, DV_DOCKLOG_EXIT_PERMANENT);
        }
        dv_fake_stop(f);
        env_free(&e);
    }
}

static void test_errors(void **state)
{
    (void)state;
    struct {
        const char *what;
        int inspect_status, logs_status, errors_first;
        int want;
        const char *message;
    } cases[] = {
        {"unreadable driver", 200, 501, 0, DV_DOCKLOG_EXIT_PERMANENT,
         "configured logging driver does not support reading"},
        {"container gone", 404, 200, 0, DV_DOCKLOG_EXIT_PERMANENT, "no longer exists"},
        {"daemon errors are retried", 200, 200, 2, DV_DOCKLOG_EXIT_DRAINED, NULL},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(cases); i++) {
        struct env e;
        env_init(&e);
        dv_fake *f = dv_fake_start(NULL, NULL);
        if (cases[i].errors_first)
            dv_fake_reply(f, "GET", "/containers/" CID "/json", cases[i].errors_first, 500,
                          "{\"message\":\"the daemon is busy\"}");
        dv_fake_reply(f, "GET", "/containers/" CID "/json", 0, cases[i].inspect_status,
                      cases[i].inspect_status == 200 ? inspect_exited
                                                     : "{\"message\":\"No such container: " CID
                                                       "\"}");
        dv_fake_reply(f, "GET", "/containers/" CID "/logs", 0, cases[i].logs_status,
                      cases[i].logs_status == 200
                          ? ""
                          : "{\"message\":\"configured logging driver does not support "
                            "reading\"}");
        write_config(&e, dv_fake_endpoint(f), NULL);
        expect_code(&e, run(&e, false), cases[i].want);
        dl_checkpoint cp;
        dv_error err;
        assert_int_equal(dl_checkpoint_load(e.checkpoint, &cp, &err), 0);
        if (cases[i].message) {
            assert_int_equal(cp.outcome, DL_OUTCOME_FAILED);
            if (!strstr(cp.error, cases[i].message))
                fail_msg("%s: message \"%s\"", cases[i].what, cp.error);
        } else {
            assert_int_equal(cp.outcome, DL_OUTCOME_DONE);
            _cleanup_free_ char *diag = slurp(e.diag);
            assert_non_null(strstr(diag, "the daemon is busy")); /* reported, not silent */
        }
        dv_fake_stop(f);
        env_free(&e);
    }
}

static char *cert_dir(void)
{
    char *dir = dv_test_tmpdir("dl-fake-tls");
    const char *script =
        "set -e;"
        "gen() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "  -keyout $1.key -out $1.pem -days 2 -subj /CN=$1 2>/dev/null; };"
        "gen ca; gen ca2;"
        "sign() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "  -keyout $1.key -out $1.csr -subj /CN=$1 2>/dev/null;"
        "  printf '%s\\n' \"$2\" > $1.ext;"
        "  openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "  -extfile $1.ext -out $1.pem 2>/dev/null; };"
        "sign server 'subjectAltName=IP:127.0.0.1,DNS:docker.test';"
        "sign client 'extendedKeyUsage=clientAuth'";
    if (dv_test_sh(NULL, "cd '%s' && %s", dir, script) != 0)
        fail_msg("openssl certificate generation failed");
    return dir;
}

static void test_tls(void **state)
{
    (void)state;
    _cleanup_free_ char *certs = cert_dir();
    char path[4200];
    snprintf(path, sizeof(path), "%s/server.pem", certs);
    _cleanup_free_ char *cert = slurp(path);
    snprintf(path, sizeof(path), "%s/server.key", certs);
    _cleanup_free_ char *key = slurp(path);
    dv_fake *f = dv_fake_start(cert, key);
    dv_fake_reply(f, "GET", "/containers/" CID "/json", 0, 200, inspect_exited);
    _cleanup_buf_ dv_buf s = DV_BUF_INIT;
    frame(&s, 1, "2024-01-01T00:00:01.000000000Z over tls\n");
    frame(&s, 2, "2024-01-01T00:00:01.000000001Z and its stderr\n");
    add_logs(f, &s, 0, 11, DV_FAKE_END_OK);
    const char *endpoint = dv_fake_endpoint(f); /* tcp://127.0.0.1:PORT + tls block */

    struct env e;
    env_init(&e);
    write_config(&e, endpoint, certs);
    expect_code(&e, run(&e, true), DV_DOCKLOG_EXIT_DRAINED);
    snprintf(path, sizeof(path), "%s/t.stdout.0", e.logs);
    _cleanup_free_ char *out = slurp(path);
    assert_string_equal(out, "over tls\n");
    env_free(&e);

    /* By host name: docklog connects to the address the agent resolved and verifies
     * the server's certificate for the name. */
    const char *port = strrchr(endpoint, ':') + 1;
    char named[256];
    snprintf(named, sizeof(named), "tcp://docker.test:%s", port);
    env_init(&e);
    write_config_addresses(&e, named, "[\"127.0.0.1\"]", certs);
    expect_code(&e, run(&e, true), DV_DOCKLOG_EXIT_DRAINED);
    snprintf(path, sizeof(path), "%s/t.stdout.0", e.logs);
    _cleanup_free_ char *out2 = slurp(path);
    assert_string_equal(out2, "over tls\n");
    env_free(&e);
    /* A name the certificate does not carry is refused even at the right address. */
    snprintf(named, sizeof(named), "tcp://other.test:%s", port);
    env_init(&e);
    write_config_addresses(&e, named, "[\"127.0.0.1\"]", certs);
    expect_code(&e, run(&e, true), DV_DOCKLOG_EXIT_PERMANENT);
    dl_checkpoint cp;
    dv_error err;
    assert_int_equal(dl_checkpoint_load(e.checkpoint, &cp, &err), 0);
    if (!strstr(cp.error, "certificate"))
        fail_msg("unclear TLS failure: %s", cp.error);
    env_free(&e);
    /* A name without addresses: docklog resolves nothing, and says so (exit 100). */
    env_init(&e);
    write_config(&e, named, certs);
    expect_code(&e, run(&e, true), DV_DOCKLOG_EXIT_PERMANENT);
    assert_int_equal(dl_checkpoint_load(e.checkpoint, &cp, &err), 0);
    if (!strstr(cp.error, "\"other.test\" is not a numeric address"))
        fail_msg("unclear: %s", cp.error);
    env_free(&e);

    /* The plain docklog refuses a TLS endpoint, permanently and clearly. */
    env_init(&e);
    write_config(&e, endpoint, certs);
    expect_code(&e, run(&e, false), DV_DOCKLOG_EXIT_PERMANENT);
    assert_int_equal(dl_checkpoint_load(e.checkpoint, &cp, &err), 0);
    assert_non_null(strstr(cp.error, "docklog-tls"));
    env_free(&e);

    /* A server not signed by the configured CA is refused (not retried forever). */
    env_init(&e);
    setenv("DL_TEST_CA", "ca2.pem", 1);
    write_config(&e, endpoint, certs);
    unsetenv("DL_TEST_CA");
    expect_code(&e, run(&e, true), DV_DOCKLOG_EXIT_PERMANENT);
    assert_int_equal(dl_checkpoint_load(e.checkpoint, &cp, &err), 0);
    if (!strstr(cp.error, "certificate"))
        fail_msg("unclear TLS failure: %s", cp.error);
    env_free(&e);

    dv_fake_stop(f);
    dv_test_rm_rf(certs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_cut_reconnects_exactly),
        cmocka_unit_test(test_stream_ends_while_running),
        cmocka_unit_test(test_replays_and_ignored_since_deliver_once),
        cmocka_unit_test(test_gap_is_reported),
        cmocka_unit_test(test_new_container_appends),
        cmocka_unit_test(test_file_source_resumes_at_its_place),
        cmocka_unit_test(test_truncating_json_file_is_read_through_the_api),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
