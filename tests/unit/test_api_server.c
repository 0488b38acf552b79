/* The API server and client over a real Unix socket (no daemon needed):
 * answers from the loop thread, late answers, streams fed by the loop, client
 * hangup, socket mode, a second server refused, a stale socket replaced, and
 * 503 for requests still waiting when the server stops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api_client.h"
#include "api_server.h"
#include "cleanup.h"
#include "duration.h"
#include "loop.h"
#include "test_support.h"

struct ticker {
    pthread_mutex_t lock;
    int produced; /* lines made available by the loop */
    int consumed;
    int limit;
    int efd;
    atomic_bool freed;
};

static struct ticker ticker;
static dv_timer *tick_timer;
static dv_api_request *held; /* answered later by a timer */
static dv_timer *later_timer;

static ssize_t ticker_read(void *obj, char *buf, size_t size)
{
    struct ticker *t = obj;
    pthread_mutex_lock(&t->lock);
    ssize_t n = 0;
    if (t->consumed < t->produced) {
        t->consumed++;
        n = snprintf(buf, size, "{\"n\":%d}\n", t->consumed);
    } else if (t->consumed >= t->limit) {
        n = DV_API_STREAM_END;
    } else {
        uint64_t v;
        if (read(t->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            n = -EIO;
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

static int ticker_fd(void *obj)
{
    return ((struct ticker *)obj)->efd;
}

static void ticker_free(void *obj)
{
    atomic_store(&((struct ticker *)obj)->freed, true);
}

static const dv_api_stream_ops ticker_ops = {ticker_read, ticker_fd, ticker_free};

static void tick(dv_loop *loop, void *u)
{
    (void)loop;
    (void)u;
    pthread_mutex_lock(&ticker.lock);
    ticker.produced++;
    uint64_t one = 1;
    if (write(ticker.efd, &one, sizeof(one)) < 0)
        abort();
    bool more = ticker.produced < ticker.limit;
    pthread_mutex_unlock(&ticker.lock);
    if (more)
        dv_timer_arm(tick_timer, 20 * DV_NSEC_PER_MSEC);
}

static void answer_later(dv_loop *loop, void *u)
{
    (void)loop;
    (void)u;
    dv_api_respond_json(held, 202, json_pack("{s:s}", "late", "yes"));
    dv_api_request_unref(held);
    held = NULL;
}

static dv_api_request *hung;

static void handler(void *userdata, dv_api_request *req)
{
    (void)userdata;
    const char *path = dv_api_request_path(req);
    if (strcmp(path, "/echo") == 0) {
        const json_t *body = dv_api_request_body(req);
        const char *x = dv_api_request_query(req, "x");
        dv_api_respond_json(req, 200,
                            json_pack("{s:s,s:s?,s:O?}", "method", dv_api_request_method(req), "x",
                                      x, "body", body));
    } else if (strcmp(path, "/later") == 0) {
        held = dv_api_request_ref(req);
        dv_timer_arm(later_timer, 50 * DV_NSEC_PER_MSEC);
    } else if (strcmp(path, "/stream") == 0) {
        ticker.produced = ticker.consumed = 0;
        ticker.limit = atoi(dv_api_request_query(req, "n") ? dv_api_request_query(req, "n") : "3");
        atomic_store(&ticker.freed, false);
        dv_api_respond_stream(req, 200, "application/x-ndjson", &ticker_ops, &ticker);
        dv_timer_arm(tick_timer, 20 * DV_NSEC_PER_MSEC);
    } else if (strcmp(path, "/hang") == 0) {
        hung = dv_api_request_ref(req); /* never answered by us */
    } else {
        dv_api_respond_error(req, 404, "path", "no route for %s", path);
    }
}

struct client_run {
    const char *socket;
    dv_loop *loop;
    int lines;
    int stop_after;
};

static int count_lines(const char *data, size_t len, void *u)
{
    struct client_run *r = u;
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\n')
            r->lines++;
    return r->stop_after && r->lines >= r->stop_after;
}

static void *client_main(void *arg)
{
    struct client_run *run = arg;
    dv_api_client *c;
    dv_error err;
    assert_int_equal(dv_api_client_new(run->socket, &c, &err), 0);

    long status;
    json_t *body = NULL;
    json_t *payload = json_pack("{s:i}", "a", 1);
    assert_int_equal(dv_api_call(c, "POST", "/echo?x=hello%20world", payload, &status, &body, &err),
                     0);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(body, "x")), "hello world");
    assert_string_equal(json_string_value(json_object_get(body, "method")), "POST");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "body"), "a")), 1);
    json_decref(body);
    json_decref(payload);

    /* an error answer carries the message and the field */
    assert_int_equal(dv_api_call(c, "GET", "/nope", NULL, &status, &body, &err), 0);
    assert_int_equal(status, 404);
    assert_string_equal(json_string_value(json_object_get(body, "field")), "path");
    json_decref(body);
    assert_int_equal(dv_api_call_ok(c, "GET", "/nope", NULL, NULL, &err), -ENOENT);
    assert_string_equal(err.msg, "no route for /nope");
    assert_int_equal(err.http_status, 404);

    /* a body that is not JSON is refused before it reaches the loop */
    char *out = NULL;
    int rc = dv_test_sh(&out,
                        "curl -s -o /dev/null -w '%%{http_code}' --unix-socket '%s' "
                        "-d 'not json' http://localhost/echo",
                        run->socket);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "400");
    free(out);

    /* B11: a duplicate key is refused as `validate` refuses it, not "last one wins" */
    out = NULL;
    rc = dv_test_sh(&out,
                    "curl -s --unix-socket '%s' -d '{\"name\":\"a\",\"name\":\"b\"}' "
                    "-w ' %%{http_code}' http://localhost/echo",
                    run->socket);
    assert_int_equal(rc, 0);
    if (!strstr(out, " 400") || !strstr(out, "duplicate"))
        fail_msg("duplicate keys: %s", out);
    free(out);

    /* answered later by the loop */
    assert_int_equal(dv_api_call(c, "GET", "/later", NULL, &status, &body, &err), 0);
    assert_int_equal(status, 202);
    json_decref(body);

    /* a stream fed by the loop, read to its end */
    run->lines = 0;
    assert_int_equal(dv_api_stream(c, "GET", "/stream?n=3", NULL, count_lines, run, &err), 0);
    assert_int_equal(run->lines, 3);

    /* the client stops reading early: the server notices the hangup even though the
     * stream has nothing to say for a long time */
    run->lines = 0;
    run->stop_after = 1;
    assert_int_equal(dv_api_stream(c, "GET", "/stream?n=1000000", NULL, count_lines, run, &err), 0);
    run->stop_after = 0;
    for (int i = 0; i < 200 && !atomic_load(&ticker.freed); i++)
        usleep(10 * 1000);
    assert_true(atomic_load(&ticker.freed));

    dv_api_client_free(c);
    dv_loop_quit(run->loop);
    return NULL;
}

static void test_server_and_client(void **state)
{
    (void)state;
    char *dir = dv_test_tmpdir("dvtest-api");
    char sock[512];
    snprintf(sock, sizeof(sock), "%s/sub/agent.sock", dir);

    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    pthread_mutex_init(&ticker.lock, NULL);
    ticker.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    tick_timer = dv_timer_new(loop, tick, NULL);
    later_timer = dv_timer_new(loop, answer_later, NULL);

    dv_api_server *srv;
    dv_error err;
    assert_int_equal(dv_api_server_start(sock, loop, handler, NULL, &srv, &err), 0);
    struct stat st;
    assert_int_equal(stat(sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);

    /* a second agent on the same socket is refused */
    dv_api_server *second;
    assert_int_equal(dv_api_server_start(sock, loop, handler, NULL, &second, &err), -EADDRINUSE);
    assert_non_null(strstr(err.msg, "another agent"));

    struct client_run run = {.socket = sock, .loop = loop};
    pthread_t th;
    pthread_create(&th, NULL, client_main, &run);
    assert_int_equal(dv_loop_run(loop, &err), 0);
    pthread_join(th, NULL);

    dv_api_server_stop(srv);
    assert_int_equal(access(sock, F_OK), -1); /* removed on stop */
    dv_timer_free(tick_timer);
    dv_timer_free(later_timer);
    close(ticker.efd);
    dv_loop_free(loop);
    dv_test_rm_rf(dir);
    free(dir);
}

struct hang_run {
    const char *socket;
    long status;
    dv_loop *loop;
};

static void *hang_client(void *arg)
{
    struct hang_run *h = arg;
    dv_api_client *c;
    assert_int_equal(dv_api_client_new(h->socket, &c, NULL), 0);
    json_t *body = NULL;
    dv_error e;
    int rr = dv_api_call(c, "GET", "/hang", NULL, &h->status, &body, &e);
    if (rr < 0)
        fprintf(stderr, "hang call: %s\n", e.msg);
    assert_int_equal(rr, 0);
    json_decref(body);
    dv_api_client_free(c);
    return NULL;
}

static dv_timer *hang_timer;

static void quit_when_hung(dv_loop *loop, void *u)
{
    (void)u;
    if (hung)
        dv_loop_quit(loop);
    else
        dv_timer_arm(hang_timer, 10 * DV_NSEC_PER_MSEC);
}

static void test_stale_socket_and_stop_answers_503(void **state)
{
    (void)state;
    char *dir = dv_test_tmpdir("dvtest-api");
    char sock[512];
    snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
    /* leave a stale socket behind: bound, never listening, closed */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, sock);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);

    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    dv_api_server *srv;
    dv_error err;
    assert_int_equal(dv_api_server_start(sock, loop, handler, NULL, &srv, &err), 0);

    hung = NULL;
    struct hang_run h = {.socket = sock, .loop = loop};
    pthread_t th;
    pthread_create(&th, NULL, hang_client, &h);
    hang_timer = dv_timer_new(loop, quit_when_hung, NULL);
    dv_timer_arm(hang_timer, 0);
    assert_int_equal(dv_loop_run(loop, NULL), 0);
    assert_non_null(hung);
    dv_api_server_stop(srv); /* must not wait forever for the unanswered request */
    pthread_join(th, NULL);
    assert_int_equal(h.status, 503);
    dv_api_respond_json(hung, 200, NULL); /* too late: ignored */
    dv_api_request_unref(hung);
    hung = NULL;
    dv_timer_free(hang_timer);
    dv_loop_free(loop);
    dv_test_rm_rf(dir);
    free(dir);
}

/* A symlink at the socket path (to anything, even a live socket) is neither taken
 * over nor reported as "Address already in use": the error says what it is. */
static void test_symlink_at_socket_path(void **state)
{
    (void)state;
    char *dir = dv_test_tmpdir("dvtest-api");
    char sock[512];
    snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
    assert_int_equal(symlink("/etc/passwd", sock), 0);
    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    dv_api_server *srv = NULL;
    dv_error err;
    assert_int_equal(dv_api_server_start(sock, loop, handler, NULL, &srv, &err), -EEXIST);
    assert_non_null(strstr(err.msg, "is a symlink (to \"/etc/passwd\")"));
    char target[64] = "";
    assert_true(readlink(sock, target, sizeof(target) - 1) > 0);
    assert_string_equal(target, "/etc/passwd"); /* left alone */
    dv_loop_free(loop);
    dv_test_rm_rf(dir);
    free(dir);
}

static void test_client_without_agent(void **state)
{
    (void)state;
    dv_api_client *c;
    dv_error err;
    assert_int_equal(dv_api_client_new("unix:///nonexistent/dockvisor.sock", &c, &err), 0);
    assert_string_equal(dv_api_client_socket(c), "/nonexistent/dockvisor.sock");
    assert_int_equal(dv_api_call(c, "GET", "/v1/node", NULL, NULL, NULL, &err), -ECONNREFUSED);
    assert_non_null(strstr(err.msg, "is `dockvisor agent` running?"));
    dv_api_client_free(c);
    assert_int_equal(dv_api_client_new("tcp://1.2.3.4:5", &c, &err), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_and_client),
        cmocka_unit_test(test_stale_socket_and_stop_answers_503),
        cmocka_unit_test(test_symlink_at_socket_path),
        cmocka_unit_test(test_client_without_agent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
