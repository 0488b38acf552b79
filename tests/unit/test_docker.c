/* Unit tests for the Engine API client core against the fake engine: endpoint
 * resolution, version negotiation, every error class, deadlines, thread safety,
 * container calls and exec; that a helper spawned meanwhile gets only stdio. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "docker.h"
#include "docklog_launch.h"
#include "duration.h"
#include "fake_engine.h"
#include "test_support.h"
#include "xalloc.h"

static size_t count_path(dv_fake *f, const char *path)
{
    size_t n = 0;
    for (size_t i = 0; i < dv_fake_request_count(f); i++)
        if (strcmp(dv_fake_request_at(f, i)->path, path) == 0)
            n++;
    return n;
}

/* ---- endpoint resolution ---- */

static void expect_endpoint(const dv_docker_config *c, const char *want)
{
    dv_docker *dk = NULL;
    dv_error err;
    dv_error_clear(&err);
    if (dv_docker_new(c, &dk, &err) < 0)
        fail_msg("dv_docker_new(%s): %s", want, err.msg);
    assert_string_equal(dv_docker_endpoint(dk), want);
    assert_null(dv_docker_api_version(dk)); /* no I/O yet */
    dv_docker_free(dk);
}

static void expect_bad_config(const dv_docker_config *c, int code, const char *needle)
{
    dv_docker *dk = (dv_docker *)0x1;
    dv_error err;
    dv_error_clear(&err);
    assert_int_equal(dv_docker_new(c, &dk, &err), code);
    assert_ptr_equal(dk, (dv_docker *)0x1); /* untouched on failure */
    if (!strstr(err.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_endpoint_resolution(void **state)
{
    (void)state;
    unsetenv("DOCKER_HOST");
    unsetenv("DOCKER_TLS_VERIFY");
    unsetenv("DOCKER_CERT_PATH");
    expect_endpoint(NULL, "unix:///var/run/docker.sock");
    expect_endpoint(&(dv_docker_config){.endpoint = ""}, "unix:///var/run/docker.sock");
    setenv("DOCKER_HOST", "tcp://10.1.2.3:2375", 1);
    expect_endpoint(NULL, "tcp://10.1.2.3:2375");
    /* Explicit config wins over the environment. */
    expect_endpoint(&(dv_docker_config){.endpoint = "unix:///run/x.sock"}, "unix:///run/x.sock");
    expect_endpoint(&(dv_docker_config){.endpoint = "http://127.0.0.1"}, "http://127.0.0.1");
    expect_endpoint(&(dv_docker_config){.endpoint = "https://[::1]:2376/"}, "https://[::1]:2376/");

    /* DOCKER_TLS_VERIFY takes its files from DOCKER_CERT_PATH: missing ones are named. */
    setenv("DOCKER_TLS_VERIFY", "1", 1);
    setenv("DOCKER_CERT_PATH", "/nonexistent-dvtest", 1);
    expect_bad_config(NULL, -ENOENT, "/nonexistent-dvtest/cert.pem");
    unsetenv("DOCKER_TLS_VERIFY");
    unsetenv("DOCKER_CERT_PATH");
    unsetenv("DOCKER_HOST");

    expect_bad_config(&(dv_docker_config){.endpoint = "npipe:////./pipe/docker"}, -EINVAL,
                      "unsupported scheme");
    expect_bad_config(&(dv_docker_config){.endpoint = "unix://relative.sock"}, -EINVAL, "absolute");
    expect_bad_config(&(dv_docker_config){.endpoint = "tcp://host:1/path"}, -EINVAL, "host:port");
    expect_bad_config(&(dv_docker_config){.tls_ca = "/etc/hostname"}, -EINVAL,
                      "no endpoint is configured");
    expect_bad_config(&(dv_docker_config){.endpoint = "tcp://h:1", .tls_cert = "/etc/hostname"},
                      -EINVAL, "both a client cert and a key");
    expect_bad_config(&(dv_docker_config){.endpoint = "unix:///x.sock", .tls_ca = "/etc/hostname"},
                      -EINVAL, "TLS needs tcp:// or https://");
    expect_bad_config(&(dv_docker_config){.endpoint = "tcp://h:1", .tls_ca = "/nonexistent-ca.pem"},
                      -ENOENT, "tls ca /nonexistent-ca.pem");
}

/* ---- negotiation ---- */

static void test_negotiation_picks_the_lower_version(void **state)
{
    (void)state;
    static const struct {
        const char *server, *want;
    } cases[] = {{"1.40", "1.40"}, {"1.41", "1.41"}, {"1.43", "1.41"}, {"2.0", "1.41"}};
    for (size_t i = 0; i < DV_ARRAY_SIZE(cases); i++) {
        dv_fake *f = dv_fake_start(NULL, NULL);
        dv_fake_set_api_version(f, cases[i].server);
        dv_fake_reply(f, "GET", "/info", 0, 200, "{\"Name\":\"fake\"}");
        dv_docker *dk = dv_fake_client(f, 0);
        dv_error err;
        json_t *info = NULL;
        /* Lazily, on the first versioned call. */
        assert_int_equal(dv_docker_info(dk, &info, &err), 0);
        assert_string_equal(json_string_value(json_object_get(info, "Name")), "fake");
        json_decref(info);
        assert_string_equal(dv_docker_api_version(dk), cases[i].want);
        const dv_fake_request *rq = dv_fake_find(f, "GET", "/info");
        char want_url[64];
        snprintf(want_url, sizeof(want_url), "/v%s/info", cases[i].want);
        assert_string_equal(rq->url, want_url);
        /* /version itself is unversioned, and asked once. */
        assert_string_equal(dv_fake_find(f, "GET", "/version")->url, "/version");
        assert_int_equal(dv_docker_negotiate(dk, &err), 0);
        assert_int_equal(count_path(f, "/version"), 1);
        dv_docker_free(dk);
        dv_fake_stop(f);
    }
}

static void test_negotiation_failure_is_reported_and_retried(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_reply(f, "GET", "/version", 1, 200, "{\"Version\":\"no api version\"}");
    dv_fake_reply(f, "GET", "/version", 1, 200,
                  "{\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.99\"}");
    dv_docker *dk = dv_fake_client(f, 0);
    dv_error err;
    assert_int_equal(dv_docker_negotiate(dk, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "ApiVersion"));
    assert_int_equal(dv_docker_container_start(dk, "x", &err), -EPROTONOSUPPORT);
    assert_non_null(strstr(err.msg, "needs API >= 1.99"));
    assert_null(dv_docker_api_version(dk));
    /* The built-in /version answers now. */
    assert_int_equal(dv_docker_ping(dk, &err), 0);
    assert_int_equal(dv_docker_negotiate(dk, &err), 0);
    assert_string_equal(dv_docker_api_version(dk), "1.41");
    dv_docker_free(dk);
    dv_fake_stop(f);
}

/* B2: a daemon that accepts and never answers GET /version. The first calls of a
 * fresh client negotiate; they must stay cancellable and bounded (before, the
 * negotiation held a mutex across a 5-minute call, and a cancel did nothing). */
typedef struct negotiator {
    dv_docker *dk;
    dv_cancel cancel;
    bool use_cancel;
    int r;
    dv_error err;
} negotiator;

static void *first_call(void *arg)
{
    negotiator *n = arg;
    json_t *j = NULL;
    if (n->use_cancel) {
        int64_t status;
        n->r = dv_docker_container_wait(n->dk, "x", NULL, &status, &n->cancel, &n->err);
    } else {
        n->r = dv_docker_container_inspect(n->dk, "x", &j, &n->err);
    }
    json_decref(j);
    return NULL;
}

static bool joined_within(pthread_t th, int seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += seconds;
    return pthread_timedjoin_np(th, NULL, &ts) == 0;
}

static void test_negotiation_on_a_silent_daemon(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_add(f, &(dv_fake_rule){.method = "GET", .path = "/version", .hang = true});
    dv_docker *dk = dv_fake_client(f, 0); /* the default 5-minute deadline */
    negotiator cancellable = {.dk = dk, .use_cancel = true}, plain = {.dk = dk};
    pthread_t a, b;
    assert_int_equal(pthread_create(&a, NULL, first_call, &cancellable), 0);
    assert_int_equal(pthread_create(&b, NULL, first_call, &plain), 0);
    while (!dv_fake_find(f, "GET", "/version"))
        usleep(10000);
    usleep(200000);
    dv_cancel_request(&cancellable.cancel);
    if (!joined_within(a, 5))
        fail_msg("a cancelled first call is still waiting for the negotiation");
    assert_int_equal(cancellable.r, -ECANCELED);
    /* The other is bounded by the negotiation deadline, not the 5-minute one. */
    if (!joined_within(b, (int)(DV_DOCKER_NEGOTIATE_TIMEOUT_NS / DV_NSEC_PER_SEC) + 5))
        fail_msg("a first call waited past the negotiation deadline");
    assert_int_equal(plain.r, -ETIMEDOUT);
    assert_true(plain.err.recoverable);
    assert_null(dv_docker_api_version(dk));
    dv_docker_free(dk);
    dv_fake_stop(f);
}

/* ---- error classes ---- */

static void test_http_errors(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_reply(f, "GET", "/containers/gone/json", 0, 404,
                  "{\"message\":\"No such container: gone\"}");
    dv_fake_reply(
        f, "POST", "/containers/create", 0, 409,
        "{\"message\":\"Conflict. The container name \\\"/web-1\\\" is already in use\"}");
    dv_fake_reply(f, "POST", "/containers/up/start", 0, 304, NULL);
    dv_fake_reply(f, "POST", "/containers/bad/kill", 0, 400, "plain text, not json\n");
    dv_fake_reply(f, "DELETE", "/images/*", 0, 403, "{\"message\":\"forbidden\"}");
    dv_docker *dk = dv_fake_client(f, 0);
    dv_error err;

    json_t *j = (json_t *)0x1;
    assert_int_equal(dv_docker_container_inspect(dk, "gone", &j, &err), -ENOENT);
    assert_ptr_equal(j, (json_t *)0x1);
    assert_true(dv_docker_is_not_found(&err));
    assert_false(dv_docker_is_conflict(&err));
    assert_false(err.recoverable);
    assert_false(err.unreachable); /* an answer, however unwelcome */
    assert_int_equal(err.http_status, 404);
    assert_string_equal(
        err.msg, "docker: GET /containers/gone/json: 404 Not Found: No such container: gone");

    char *id = (char *)0x1;
    json_t *body = json_pack("{s:s}", "Image", "x");
    assert_int_equal(dv_docker_container_create(dk, "web-1", body, &id, &err), -EBUSY);
    json_decref(body);
    assert_ptr_equal(id, (char *)0x1);
    assert_true(dv_docker_is_conflict(&err));
    assert_false(dv_docker_is_not_found(&err));
    assert_string_equal(err.msg, "docker: POST /containers/create: 409 Conflict: Conflict. The "
                                 "container name \"/web-1\" is already in use");

    assert_int_equal(dv_docker_container_start(dk, "up", &err), -EALREADY);
    assert_true(dv_docker_is_not_modified(&err));
    assert_string_equal(err.msg, "docker: POST /containers/up/start: 304 Not Modified");

    assert_int_equal(dv_docker_container_kill(dk, "bad", "SIGTERM", &err), -EINVAL);
    assert_string_equal(err.msg,
                        "docker: POST /containers/bad/kill: 400 Bad Request: plain text, not json");

    assert_int_equal(dv_docker_image_remove(dk, "a/b:1", false, &err), -EACCES);
    assert_int_equal(err.http_status, 403);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

static void test_500_then_success(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_reply(f, "POST", "/containers/c1/start", 2, 500,
                  "{\"message\":\"driver failed programming external connectivity\"}");
    dv_fake_reply(f, "POST", "/containers/c1/start", 1, 204, NULL);
    dv_docker *dk = dv_fake_client(f, 0);
    dv_error err;
    int attempts = 0, r;
    /* What a caller's retry loop sees: recoverable 500s, then success. */
    while ((r = dv_docker_container_start(dk, "c1", &err)) < 0) {
        assert_int_equal(r, -EIO);
        assert_true(err.recoverable);
        assert_int_equal(err.http_status, 500);
        assert_non_null(strstr(err.msg, "500 Internal Server Error: driver failed"));
        assert_true(++attempts <= 2);
    }
    assert_int_equal(attempts, 2);
    assert_int_equal(count_path(f, "/containers/c1/start"), 3);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

static void test_deadline_on_a_hanging_daemon(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_add(f, &(dv_fake_rule){.method = "GET", .path = "/containers/slow/json", .hang = true});
    /* Headers sent, then the body stalls: the deadline covers the whole call. */
    dv_fake_chunk part[] = {{.data = "{\"Id\":"}};
    dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                   .path = "/containers/stall/json",
                                   .chunks = part,
                                   .n_chunks = 1,
                                   .end = DV_FAKE_END_HANG});
    dv_docker *dk = dv_fake_client(f, 300 * INT64_C(1000000));
    dv_error err;
    json_t *j = NULL;
    assert_int_equal(dv_docker_container_inspect(dk, "slow", &j, &err), -ETIMEDOUT);
    assert_true(err.recoverable);
    assert_int_equal(err.http_status, 0);
    assert_non_null(strstr(err.msg, "docker: GET /containers/slow/json: timed out after 300ms"));
    assert_int_equal(dv_docker_container_inspect(dk, "stall", &j, &err), -ETIMEDOUT);
    assert_true(err.recoverable);
    assert_null(j);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

static void test_eof_and_reset_are_recoverable(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_add(f,
                &(dv_fake_rule){.method = "GET", .path = "/containers/empty/json", .drop = true});
    dv_fake_chunk part[] = {{.data = "{\"Id\":\"abc"}};
    dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                   .path = "/containers/cut/json",
                                   .chunks = part,
                                   .n_chunks = 1,
                                   .end = DV_FAKE_END_CLOSE});
    dv_docker *dk = dv_fake_client(f, 0);
    dv_error err;
    json_t *j = NULL;
    const char *ids[] = {"empty", "cut"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(dv_docker_container_inspect(dk, ids[i], &j, &err), -ECONNRESET);
        assert_true(err.recoverable);
        assert_true(err.unreachable);
        assert_non_null(strstr(err.msg, "lost (EOF)"));
        assert_non_null(strstr(err.msg, dv_fake_endpoint(f)));
    }
    assert_null(j);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

static void test_cannot_connect(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dvtest-client-noconn");
    char ep[512];
    snprintf(ep, sizeof(ep), "unix://%s/missing.sock", dir);
    dv_docker *dk = NULL;
    dv_error err;
    assert_int_equal(dv_docker_new(&(dv_docker_config){.endpoint = ep}, &dk, &err), 0);
    assert_int_equal(dv_docker_ping(dk, &err), -ENOENT);
    assert_false(dv_docker_is_not_found(&err)); /* no HTTP answer at all */
    /* An Engine that is down is waited out, not a reason to fail a task. */
    assert_true(err.recoverable);
    assert_true(err.unreachable);
    char want[700];
    snprintf(want, sizeof(want),
             "docker: GET /_ping: cannot connect to %s: No such file or directory", ep);
    assert_string_equal(err.msg, want);
    dv_docker_free(dk);
    dv_test_rm_rf(dir);
}

static void test_bad_json_answer(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_reply(f, "GET", "/containers/x/json", 0, 200, "{not json");
    dv_fake_reply(f, "GET", "/containers/json", 0, 200, "{\"not\":\"an array\"}");
    dv_fake_reply(f, "POST", "/containers/create", 0, 201, "{\"Warnings\":[]}");
    dv_docker *dk = dv_fake_client(f, 0);
    dv_error err;
    json_t *j = NULL;
    assert_int_equal(dv_docker_container_inspect(dk, "x", &j, &err), -EBADMSG);
    assert_non_null(strstr(err.msg, "invalid JSON"));
    assert_int_equal(dv_docker_container_list(dk, true, NULL, &j, &err), -EBADMSG);
    char *id = NULL;
    json_t *body = json_object();
    assert_int_equal(dv_docker_container_create(dk, "n", body, &id, &err), -EBADMSG);
    json_decref(body);
    assert_null(id);
    assert_null(j);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

/* ---- container calls: what goes on the wire ---- */

static void test_container_calls(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_reply(f, "POST", "/containers/create", 0, 201, "{\"Id\":\"c0ffee\",\"Warnings\":[]}");
    dv_fake_reply(f, "GET", "/containers/json", 0, 200, "[{\"Id\":\"c0ffee\"}]");
    dv_fake_reply(f, "POST", "/containers/c0ffee/wait", 0, 200,
                  "{\"StatusCode\":137,\"Error\":null}");
    dv_fake_reply(f, "POST", "/containers/c0ffee/*", 0, 204, NULL);
    dv_fake_reply(f, "DELETE", "/containers/c0ffee", 0, 204, NULL);
    dv_fake_reply(f, "GET", "/containers/c0ffee/stats", 0, 200, "{\"memory_stats\":{}}");
    dv_fake_reply(f, "POST", "/networks/create", 0, 201, "{\"Id\":\"net1\"}");
    dv_fake_reply(f, "GET", "/networks", 0, 200, "[]");
    dv_fake_reply(f, "GET", "/networks/my net", 0, 200, "{\"Name\":\"my net\"}");
    dv_docker *dk = dv_fake_client(f, 0);
    dv_error err;

    _cleanup_json_ json_t *body = json_pack("{s:s, s:[s]}", "Image", "busybox", "Cmd", "true");
    _cleanup_free_ char *id = NULL;
    assert_int_equal(dv_docker_container_create(dk, "web-1 x", body, &id, &err), 0);
    assert_string_equal(id, "c0ffee");
    const dv_fake_request *rq = dv_fake_find(f, "POST", "/containers/create");
    assert_string_equal(rq->query, "name=web-1 x");
    assert_string_equal(rq->body, "{\"Image\":\"busybox\",\"Cmd\":[\"true\"]}");

    _cleanup_json_ json_t *filters = json_pack("{s:[s]}", "label", "io.dockvisor.node_id=n1");
    json_t *list = NULL;
    assert_int_equal(dv_docker_container_list(dk, true, filters, &list, &err), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    rq = dv_fake_find(f, "GET", "/containers/json");
    assert_string_equal(rq->query, "all=1&filters={\"label\":[\"io.dockvisor.node_id=n1\"]}");

    int64_t status = -1;
    assert_int_equal(dv_docker_container_wait(dk, "c0ffee", NULL, &status, NULL, &err), 0);
    assert_int_equal(status, 137);
    assert_string_equal(dv_fake_find(f, "POST", "/containers/c0ffee/wait")->query,
                        "condition=not-running");
    assert_int_equal(dv_docker_container_start(dk, "c0ffee", &err), 0);
    assert_int_equal(dv_docker_container_kill(dk, "c0ffee", "SIGUSR1", &err), 0);
    assert_string_equal(dv_fake_find(f, "POST", "/containers/c0ffee/kill")->query,
                        "signal=SIGUSR1");
    assert_int_equal(dv_docker_container_stop(dk, "c0ffee", 7, &err), 0);
    assert_string_equal(dv_fake_find(f, "POST", "/containers/c0ffee/stop")->query, "t=7");
    assert_int_equal(dv_docker_container_remove(dk, "c0ffee", true, true, &err), 0);
    assert_string_equal(dv_fake_find(f, "DELETE", "/containers/c0ffee")->query, "force=1&v=1");
    json_t *stats = NULL;
    assert_int_equal(dv_docker_container_stats(dk, "c0ffee", &stats, &err), 0);
    assert_non_null(json_object_get(stats, "memory_stats"));
    json_decref(stats);
    assert_string_equal(dv_fake_find(f, "GET", "/containers/c0ffee/stats")->query, "stream=false");

    _cleanup_free_ char *net = NULL;
    _cleanup_json_ json_t *nbody = json_pack("{s:s}", "Name", "dvnet");
    assert_int_equal(dv_docker_network_create(dk, nbody, &net, &err), 0);
    assert_string_equal(net, "net1");
    json_t *nets = NULL;
    assert_int_equal(dv_docker_network_list(dk, NULL, &nets, &err), 0);
    json_decref(nets);
    json_t *n = NULL;
    assert_int_equal(dv_docker_network_inspect(dk, "my net", &n, &err), 0);
    /* The space went escaped on the wire (a raw one would break the request line). */
    assert_string_equal(dv_fake_find(f, "GET", "/networks/my")->url, "/v1.41/networks/my net");
    json_decref(n);

    /* The generic call: a JSON answer or null for an empty one. */
    json_t *ans = NULL;
    assert_int_equal(dv_docker_call(dk, "POST", "/containers/c0ffee/pause", NULL, &ans, &err), 0);
    assert_true(json_is_null(ans));
    json_decref(ans);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

/* ---- exec ---- */

static void add_frame(dv_buf *b, uint8_t type, const char *payload)
{
    dv_test_frame(b, type, payload, strlen(payload));
}

static void test_exec_demultiplexed_with_exit_code(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf stream = DV_BUF_INIT;
    add_frame(&stream, 1, "out one\n");
    add_frame(&stream, 2, "err one\n");
    add_frame(&stream, 1, "out two\n");
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_reply(f, "POST", "/containers/c1/exec", 0, 201, "{\"Id\":\"e1\"}");
    /* Every byte in its own chunk: frames arrive split at every boundary. */
    dv_fake_add(f, &(dv_fake_rule){.method = "POST",
                                   .path = "/exec/e1/start",
                                   .content_type = "application/vnd.docker.raw-stream",
                                   .stream = stream.data,
                                   .stream_len = stream.len,
                                   .piece = 1});
    /* Docker may still report Running right after the stream ends. */
    dv_fake_reply(f, "GET", "/exec/e1/json", 1, 200, "{\"Running\":true,\"ExitCode\":null}");
    dv_fake_reply(f, "GET", "/exec/e1/json", 0, 200, "{\"Running\":false,\"ExitCode\":3}");
    dv_docker *dk = dv_fake_client(f, 0);
    dv_error err;
    const char *cmd[] = {"/bin/sh", "-c", "echo hi", NULL};
    dv_exec_result res = {0};
    assert_int_equal(dv_docker_exec(dk, "c1", cmd, false, 0, &res, &err), 0);
    assert_int_equal(res.exit_code, 3);
    assert_string_equal(res.out, "out one\nout two\n");
    assert_int_equal(res.out_len, 16);
    assert_string_equal(res.err, "err one\n");
    assert_int_equal(count_path(f, "/exec/e1/json"), 2);
    _cleanup_json_ json_t *create =
        json_loads(dv_fake_find(f, "POST", "/containers/c1/exec")->body, 0, NULL);
    assert_string_equal(json_string_value(json_array_get(json_object_get(create, "Cmd"), 2)),
                        "echo hi");
    assert_true(json_is_true(json_object_get(create, "AttachStderr")));
    dv_exec_result_clear(&res);

    /* A stream cut inside a frame is an error, not silently short output. */
    dv_fake_reply(f, "POST", "/containers/c2/exec", 0, 201, "{\"Id\":\"e2\"}");
    dv_fake_add(f, &(dv_fake_rule){.method = "POST",
                                   .path = "/exec/e2/start",
                                   .stream = stream.data,
                                   .stream_len = 12});
    res = (dv_exec_result){.exit_code = 99};
    assert_int_equal(dv_docker_exec(dk, "c2", cmd, false, 0, &res, &err), -ECONNRESET);
    assert_true(err.recoverable);
    assert_int_equal(res.exit_code, 99);
    assert_null(res.out);

    /* The timeout bounds the whole exec. */
    dv_fake_reply(f, "POST", "/containers/c3/exec", 0, 201, "{\"Id\":\"e3\"}");
    dv_fake_add(f, &(dv_fake_rule){.method = "POST", .path = "/exec/e3/start", .hang = true});
    assert_int_equal(dv_docker_exec(dk, "c3", cmd, false, 200 * INT64_C(1000000), &res, &err),
                     -ETIMEDOUT);
    assert_non_null(strstr(err.msg, "/exec/e3/start: timed out"));

    /* R3: output past the cap is dropped and flagged; the exit code still comes. */
    _cleanup_buf_ dv_buf big = DV_BUF_INIT;
    _cleanup_free_ char *chunk = malloc(1 << 20);
    memset(chunk, 'x', 1 << 20);
    chunk[(1 << 20) - 1] = '\0';
    for (size_t i = 0; i < DV_EXEC_OUTPUT_MAX / (1 << 20) + 2; i++)
        add_frame(&big, 1, chunk);
    add_frame(&big, 2, "a little\n");
    dv_fake_reply(f, "POST", "/containers/c4/exec", 0, 201, "{\"Id\":\"e4\"}");
    dv_fake_add(f, &(dv_fake_rule){.method = "POST",
                                   .path = "/exec/e4/start",
                                   .stream = big.data,
                                   .stream_len = big.len});
    dv_fake_reply(f, "GET", "/exec/e4/json", 0, 200, "{\"Running\":false,\"ExitCode\":7}");
    res = (dv_exec_result){0};
    assert_int_equal(dv_docker_exec(dk, "c4", cmd, false, 0, &res, &err), 0);
    assert_int_equal(res.exit_code, 7);
    assert_int_equal(res.out_len, DV_EXEC_OUTPUT_MAX);
    assert_true(res.out_truncated);
    assert_string_equal(res.err, "a little\n");
    assert_false(res.err_truncated);
    dv_exec_result_clear(&res);

    const char *empty[] = {NULL};
    assert_int_equal(dv_docker_exec(dk, "c1", empty, false, 0, &res, &err), -EINVAL);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

/* ---- threads ---- */

typedef struct worker {
    dv_docker *dk;
    int ok;
} worker;

static void *inspect_many(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 25; i++) {
        dv_error err;
        json_t *j = NULL;
        if (dv_docker_container_inspect(w->dk, "shared", &j, &err) == 0 &&
            json_is_string(json_object_get(j, "Id")))
            w->ok++;
        json_decref(j);
    }
    return NULL;
}

static void test_many_threads_share_one_client(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_reply(f, "GET", "/containers/shared/json", 0, 200, "{\"Id\":\"shared\"}");
    dv_docker *dk = dv_fake_client(f, 0);
    pthread_t th[8];
    worker w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker){.dk = dk};
        assert_int_equal(pthread_create(&th[i], NULL, inspect_many, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 25);
    }
    /* Racing first calls still negotiate once. */
    assert_int_equal(count_path(f, "/version"), 1);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

/* ---- close-on-exec ---- */

typedef struct waiter {
    dv_docker *dk;
    dv_cancel cancel;
    int r;
} waiter;

static void *wait_forever(void *arg)
{
    waiter *w = arg;
    dv_error err;
    int64_t status;
    w->r = dv_docker_container_wait(w->dk, "hang", NULL, &status, &w->cancel, &err);
    return NULL;
}

/* The descriptors of process PID, as /proc/PID/fd lists them, in a bitmap of N. */
static size_t fds_of(pid_t pid, bool *fds, size_t n)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd >= 0 && (size_t)fd < n)
            fds[fd] = true;
        count++;
    }
    closedir(d);
    return count;
}

/* curl's multi handle leaves its wakeup socketpair inheritable (docker_transport.c),
 * and the agent does not fix that: what it relies on is that every child it starts
 * gets only stdio. So: with an Engine call in flight and a descriptor of our own left
 * inheritable at a high number, a docklog spawned now must hold 0, 1 and 2 and
 * nothing else. /bin/sleep stands in for docklog (argv: BINARY CONFIG = sleep 30).
 * posix_spawn returns after the exec, but sleep then opens files of its own for a
 * moment (the loader's libc, the locale's): its table is read once it sleeps, when
 * only what it inherited and kept is left, a leak included. (Its /proc syscall needs
 * ptrace access to the child: root, or Yama's ptrace_scope below 2.) */
static void test_spawned_helper_gets_only_stdio(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_add(f,
                &(dv_fake_rule){.method = "POST", .path = "/containers/hang/wait", .hang = true});
    dv_docker *dk = dv_fake_client(f, 0);
    dv_error err;
    assert_int_equal(dv_docker_ping(dk, &err), 0);
    waiter w = {.dk = dk};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_forever, &w), 0);
    /* Until the wait is in flight (the fake has seen it). */
    while (!dv_fake_find(f, "POST", "/containers/hang/wait"))
        usleep(5000);
    int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC, on purpose */
    assert_true(leak >= 0);
    assert_true(dup2(leak, 200) == 200);
    bool ours[256] = {false};
    fds_of(getpid(), ours, DV_ARRAY_SIZE(ours));
    assert_true(ours[leak] && ours[200]);

    char *dir = dv_test_tmpdir("dv-spawn-fds");
    _cleanup_free_ char *diag = dv_xasprintf("%s/docklog.log", dir);
    dv_docklog_proc p = DV_DOCKLOG_PROC_INIT;
    assert_int_equal(dv_docklog_spawn("/bin/sleep", "30", diag, &p, &err), 0);
    long nr = -1;
    for (int i = 0; i < 2000 && nr != SYS_clock_nanosleep && nr != SYS_nanosleep; i++) {
        usleep(5000);
        nr = dv_test_waiting_in(p.pid, p.pid);
    }
    if (nr != SYS_clock_nanosleep && nr != SYS_nanosleep) {
        dv_docklog_kill(&p);
        fail_msg("the helper did not reach its sleep in 10 s (last in system call %ld)", nr);
    }
    bool theirs[256] = {false};
    size_t n = fds_of(p.pid, theirs, DV_ARRAY_SIZE(theirs));
    for (int fd = 3; fd < (int)DV_ARRAY_SIZE(theirs); fd++)
        if (theirs[fd]) {
            char link[64], target[256] = "";
            snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)p.pid, fd);
            ssize_t l = readlink(link, target, sizeof(target) - 1);
            target[l > 0 ? l : 0] = '\0';
            print_error("the helper holds fd %d (%s)\n", fd, target);
        }
    assert_true(theirs[0] && theirs[1] && theirs[2]);
    assert_int_equal(n, 3);
    dv_docklog_kill(&p);

    close(200);
    close(leak);
    dv_test_rm_rf(dir);
    free(dir);
    dv_cancel_request(&w.cancel);
    pthread_join(th, NULL);
    assert_int_equal(w.r, -ECANCELED);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint_resolution),
        cmocka_unit_test(test_negotiation_picks_the_lower_version),
        cmocka_unit_test(test_negotiation_failure_is_reported_and_retried),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_500_then_success),
        cmocka_unit_test(test_deadline_on_a_hanging_daemon),
        cmocka_unit_test(test_negotiation_on_a_silent_daemon),
        cmocka_unit_test(test_eof_and_reset_are_recoverable),
        cmocka_unit_test(test_cannot_connect),
        cmocka_unit_test(test_bad_json_answer),
        cmocka_unit_test(test_container_calls),
        cmocka_unit_test(test_exec_demultiplexed_with_exit_code),
        cmocka_unit_test(test_many_threads_share_one_client),
        cmocka_unit_test(test_spawned_helper_gets_only_stdio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
