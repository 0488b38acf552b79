/* The CLI's agent client against sockets that misbehave in ways a running agent
 * cannot be made to (no daemon needed):
 * - R1: connect errors name the path and what to do: no socket, a socket nobody
 *   listens on, a file that is not a socket, permission denied (run as nobody);
 * - R7: a stream cut off after its 200 header (an agent that cannot watch the log
 *   files of one more follower) and a 503 refusal give clear messages in `logs`;
 * - the idle callback of a follower that waits for nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api_client.h"
#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "commands.h"
#include "duration.h"
#include "test_support.h"

static int unix_socket(const char *path, bool listening)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    if (listening)
        assert_int_equal(listen(fd, 8), 0);
    return fd;
}

static int call(const char *path, dv_error *err)
{
    dv_api_client *c = NULL;
    int r = dv_api_client_new(path, &c, err);
    if (r < 0)
        return r;
    r = dv_api_call(c, "GET", "/v1/node", NULL, NULL, NULL, err);
    dv_api_client_free(c);
    return r;
}

static void test_connect_errors(void **state)
{
    (void)state;
    char *dir = dv_test_tmpdir("dvtest-cli-client");
    char path[256], want[512];
    dv_error err;

    snprintf(path, sizeof(path), "%s/none.sock", dir);
    assert_int_equal(call(path, &err), -ECONNREFUSED);
    snprintf(want, sizeof(want), "no agent socket at %s: is `dockvisor agent` running?", path);
    assert_non_null(strstr(err.msg, want));

    /* what an agent killed with -9 leaves behind */
    snprintf(path, sizeof(path), "%s/stale.sock", dir);
    close(unix_socket(path, false));
    assert_int_equal(call(path, &err), -ECONNREFUSED);
    snprintf(want, sizeof(want), "nothing listens on %s: the agent is not running", path);
    assert_non_null(strstr(err.msg, want));

    snprintf(path, sizeof(path), "%s/file", dir);
    dv_test_write_file(path, "x");
    assert_int_equal(call(path, &err), -ECONNREFUSED);
    snprintf(want, sizeof(want), "%s is not a socket", path);
    assert_non_null(strstr(err.msg, want));

    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(call(longpath, &err), -ENAMETOOLONG);

    if (geteuid() == 0) {
        /* As the agent creates it, but stricter (0600), and a user who is not root. */
        snprintf(path, sizeof(path), "%s/agent.sock", dir);
        int fd = unix_socket(path, true);
        assert_int_equal(chmod(path, 0600), 0);
        assert_int_equal(chmod(dir, 0755), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                _exit(3);
            int r = call(path, &err);
            snprintf(want, sizeof(want), "permission denied on %s (owner root:root, mode 0600)",
                     path);
            _exit(r == -EACCES && strstr(err.msg, want) && strstr(err.msg, "run as root") ? 0 : 1);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        close(fd);
    } else {
        fprintf(stderr, "not root: the permission-denied case is not checked\n");
    }
    dv_test_rm_rf(dir);
    free(dir);
}

/* A fake agent: answers each connection with RESPONSE (connections after the first
 * with LATER, if set), then hangs up, or (HOLD) keeps the connection open until the
 * client goes. */
struct fake {
    int fd;
    const char *response;
    const char *later;
    bool hold;
    int served;
    pthread_t thread;
};

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        int c = accept4(f->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            return NULL;
        char buf[4096];
        size_t have = 0;
        while (have < sizeof(buf) - 1) {
            ssize_t n = read(c, buf + have, sizeof(buf) - 1 - have);
            if (n <= 0)
                break;
            have += (size_t)n;
            buf[have] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        const char *answer = f->served > 0 && f->later ? f->later : f->response;
        if (write(c, answer, strlen(answer)) < 0) {
        }
        if (f->hold)
            while (read(c, buf, sizeof(buf)) > 0) {
            }
        close(c);
        f->served++;
    }
}

static void fake_start(struct fake *f, const char *path)
{
    f->fd = unix_socket(path, true);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
    shutdown(f->fd, SHUT_RDWR);
    pthread_join(f->thread, NULL);
    close(f->fd);
}

/* Run a command in this process, stdout discarded and stderr captured: its exit
 * code, *RET_ERR its text. */
static int run_cmd(int (*cmd)(int, char **), int argc, char **argv, char **ret_err)
{
    char path[] = "/tmp/dvtest-cli-stderr-XXXXXX";
    int fd = mkostemp(path, O_CLOEXEC);
    assert_true(fd >= 0);
    fflush(stderr);
    fflush(stdout);
    int saved = dup(STDERR_FILENO), saved_out = dup(STDOUT_FILENO);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    dup2(fd, STDERR_FILENO);
    dup2(null, STDOUT_FILENO);
    int code = cmd(argc, argv);
    fflush(stderr);
    fflush(stdout);
    dup2(saved, STDERR_FILENO);
    dup2(saved_out, STDOUT_FILENO);
    close(saved);
    close(saved_out);
    close(null);
    char *text = calloc(1, 8192);
    assert_true(pread(fd, text, 8191, 0) >= 0);
    close(fd);
    unlink(path);
    *ret_err = text;
    return code;
}

static int collect(const char *data, size_t len, void *userdata)
{
    dv_buf_append(userdata, data, len);
    return 0;
}

static void test_stream_cut_off(void **state)
{
    (void)state;
    char *dir = dv_test_tmpdir("dvtest-cli-client");
    char path[256];
    snprintf(path, sizeof(path), "%s/agent.sock", dir);
    struct fake f = {.response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n6\r\nhello\n\r\n"};
    fake_start(&f, path);

    dv_api_client *c;
    dv_error err;
    assert_int_equal(dv_api_client_new(path, &c, &err), 0);
    _cleanup_buf_ dv_buf got = DV_BUF_INIT;
    assert_int_equal(
        dv_api_stream(c, "GET", "/v1/tasks/x/logs?follow=1", NULL, collect, &got, &err), -EPIPE);
    assert_string_equal(got.data, "hello\n");
    assert_non_null(strstr(err.msg, "closed the connection before the end of its answer"));
    dv_api_client_free(c);

    char *argv[] = {"logs", "-address", path, "abc"};
    char *text = NULL;
    assert_int_equal(run_cmd(dv_cmd_logs, 4, argv, &text), DV_EXIT_ERROR);
    assert_non_null(strstr(text, "dockvisor logs: the agent cut the log stream off"));
    assert_non_null(strstr(text, "inotify"));
    free(text);
    fake_stop(&f);
    dv_test_rm_rf(dir);
    free(dir);
}

/* R2: a question to an agent that accepts but does not answer ends after the bound. */
static void test_call_timeout(void **state)
{
    (void)state;
    char *dir = dv_test_tmpdir("dvtest-cli-client");
    char path[256];
    snprintf(path, sizeof(path), "%s/agent.sock", dir);
    struct fake f = {.response = "", .hold = true};
    fake_start(&f, path);
    dv_api_client *c = NULL;
    dv_error err;
    assert_int_equal(dv_api_client_new(path, &c, &err), 0);
    dv_api_client_set_call_timeout(c, DV_NSEC_PER_SEC);
    json_t *answer = NULL;
    assert_int_equal(dv_api_call_ok(c, "GET", "/v1/node", NULL, &answer, &err), -ETIMEDOUT);
    assert_null(answer);
    assert_non_null(strstr(err.msg, "did not answer within 1s"));
    assert_non_null(strstr(err.msg, path));
    dv_api_client_free(c);
    fake_stop(&f);
    dv_test_rm_rf(dir);
    free(dir);
}

/* An agent's JSON answer with STATUS ("202 Accepted") and BODY. */
static void json_response(char *buf, size_t size, const char *status, const char *body)
{
    snprintf(buf, size,
             "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             status, strlen(body), body);
}

static void test_follower_refused(void **state)
{
    (void)state;
    char *dir = dv_test_tmpdir("dvtest-cli-client");
    char path[256];
    snprintf(path, sizeof(path), "%s/agent.sock", dir);
    static const char body[] = "{\"error\":\"too many log followers (at most 100)\"}";
    char response[512];
    json_response(response, sizeof(response), "503 Service Unavailable", body);
    struct fake f = {.response = response};
    fake_start(&f, path);
    char *argv[] = {"logs", "-address", path, "abc"};
    char *text = NULL;
    assert_int_equal(run_cmd(dv_cmd_logs, 4, argv, &text), DV_EXIT_ERROR);
    assert_string_equal(text, "dockvisor logs: too many log followers (at most 100)\n");
    free(text);
    fake_stop(&f);
    dv_test_rm_rf(dir);
    free(dir);
}

/* A stop that fails leaves the task running: `stop` and `restart` say so and end,
 * instead of waiting for ever (stop) or reporting success (restart). */
static void test_stop_that_did_not_take(void **state)
{
    (void)state;
    char *dir = dv_test_tmpdir("dvtest-cli-client");
    char path[256];
    snprintf(path, sizeof(path), "%s/agent.sock", dir);
    static const char accepted[] = "{\"id\":\"abc\",\"state\":\"stopping\"}";
    char response[256];
    json_response(response, sizeof(response), "202 Accepted", accepted);
    static const char lines[] =
        "{\"type\":\"state\",\"task_id\":\"abc\",\"state\":\"stopping\"}\n"
        "{\"type\":\"event\",\"task_id\":\"abc\",\"event\":\"Killing\",\"message\":"
        "\"the container is still running after the stop: stop it again to retry\"}\n"
        "{\"type\":\"state\",\"task_id\":\"abc\",\"state\":\"running\"}\n";
    char stream[1024];
    snprintf(stream, sizeof(stream),
             "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
             "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n",
             strlen(lines), lines);
    struct fake f = {.response = response, .later = stream};
    const struct {
        int (*cmd)(int, char **);
        char *name;
    } cmds[] = {{dv_cmd_stop, "stop"}, {dv_cmd_restart, "restart"}};
    for (size_t i = 0; i < DV_ARRAY_SIZE(cmds); i++) {
        f.served = 0;
        fake_start(&f, path);
        char *argv[] = {cmds[i].name, "-address", path, "abc"};
        char *text = NULL;
        assert_int_equal(run_cmd(cmds[i].cmd, 4, argv, &text), DV_EXIT_ERROR);
        assert_non_null(strstr(text, "task abc is still running: the stop failed"));
        free(text);
        fake_stop(&f);
        unlink(path);
    }
    dv_test_rm_rf(dir);
    free(dir);
}

static int idle_calls;
static int stop_when_idle(void *userdata)
{
    (void)userdata;
    return ++idle_calls >= 2;
}

static void test_idle_follower(void **state)
{
    (void)state;
    char *dir = dv_test_tmpdir("dvtest-cli-client");
    char path[256];
    snprintf(path, sizeof(path), "%s/agent.sock", dir);
    struct fake f = {.response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n3\r\nab\n\r\n",
                     .hold = true};
    fake_start(&f, path);
    dv_api_client *c;
    dv_error err;
    assert_int_equal(dv_api_client_new(path, &c, &err), 0);
    _cleanup_buf_ dv_buf got = DV_BUF_INIT;
    int64_t t0 = dv_monotonic_ns();
    assert_int_equal(dv_api_stream_idle(c, "GET", "/s", NULL, collect, stop_when_idle, &got, &err),
                     0);
    assert_int_equal(idle_calls, 2); /* about once a second, and stopping it ends the call */
    assert_true(dv_monotonic_ns() - t0 >= DV_NSEC_PER_SEC);
    assert_string_equal(got.data, "ab\n");
    dv_api_client_free(c);
    fake_stop(&f);
    dv_test_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_errors),   cmocka_unit_test(test_stream_cut_off),
        cmocka_unit_test(test_follower_refused), cmocka_unit_test(test_call_timeout),
        cmocka_unit_test(test_idle_follower),    cmocka_unit_test(test_stop_that_did_not_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
