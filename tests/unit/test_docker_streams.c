/* Unit tests for the client's streams against the fake engine: logs (frames split at
 * every byte, cut streams, system frames, cancellation from another thread), events,
 * image pull (progress, error line, X-Registry-Auth, activity timeout) and load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "docker.h"
#include "fake_engine.h"
#include "test_support.h"

#define MS INT64_C(1000000)

static dv_docker *client_for(dv_fake *f)
{
    dv_docker *dk = NULL;
    dv_error err;
    if (dv_docker_new(&(dv_docker_config){.endpoint = dv_fake_endpoint(f)}, &dk, &err) < 0)
        fail_msg("dv_docker_new: %s", err.msg);
    return dk;
}

static void add_frame(dv_buf *b, uint8_t type, const char *payload)
{
    dv_test_frame(b, type, payload, strlen(payload));
}

typedef struct frames {
    dv_buf log;
    int n;
    int stop_after;
} frames;

static int on_frame(enum dv_stream_type type, const char *data, size_t len, void *userdata)
{
    frames *f = userdata;
    dv_buf_printf(&f->log, "%s:", type == DV_STREAM_STDERR ? "err" : "out");
    dv_buf_append(&f->log, data, len);
    f->n++;
    return f->stop_after && f->n >= f->stop_after;
}

static void log_stream(dv_buf *b)
{
    add_frame(b, 1, "2024-05-01T10:00:00.000000001Z 1 stdout\n");
    add_frame(b, 2, "2024-05-01T10:00:00.000000002Z 2 stderr\n");
    add_frame(b, 1, "2024-05-01T10:00:00.000000003Z 3 stdout\n");
}

static const char *LOG_EXPECT = "out:2024-05-01T10:00:00.000000001Z 1 stdout\n"
                                "err:2024-05-01T10:00:00.000000002Z 2 stderr\n"
                                "out:2024-05-01T10:00:00.000000003Z 3 stdout\n";

static void test_logs_split_at_every_byte(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf stream = DV_BUF_INIT;
    log_stream(&stream);
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_docker *dk = client_for(f);
    /* 1-byte chunks put every frame boundary and header byte in its own read; other
     * piece sizes shift the boundaries around. */
    size_t pieces[] = {1, 2, 3, 5, 7, 8, 9, 13, 4096};
    for (size_t i = 0; i < DV_ARRAY_SIZE(pieces); i++) {
        dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                       .path = "/containers/c1/logs",
                                       .times = 1,
                                       .stream = stream.data,
                                       .stream_len = stream.len,
                                       .piece = pieces[i]});
        frames got = {.log = DV_BUF_INIT};
        dv_logs_options o = {.id = "c1",
                             .follow = true,
                             .stdout_ = true,
                             .stderr_ = true,
                             .timestamps = true,
                             .since = "1714557600.000000001",
                             .on_frame = on_frame,
                             .userdata = &got};
        dv_error err;
        assert_int_equal(dv_docker_logs(dk, &o, &err), 0);
        assert_string_equal(got.log.data, LOG_EXPECT);
        assert_int_equal(got.n, 3);
        dv_buf_free(&got.log);
    }
    assert_string_equal(dv_fake_find(f, "GET", "/containers/c1/logs")->query,
                        "follow=1&stdout=1&stderr=1&timestamps=1&since=1714557600.000000001");
    dv_docker_free(dk);
    dv_fake_stop(f);
}

static void test_logs_tty_raw_and_stop(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                   .path = "/containers/tty/logs",
                                   .stream = "raw line 1\r\nraw line 2\r\n",
                                   .piece = 6});
    dv_docker *dk = client_for(f);
    frames got = {.log = DV_BUF_INIT};
    dv_logs_options o = {.id = "tty",
                         .stdout_ = true,
                         .tty = true,
                         .tail = "all",
                         .on_frame = on_frame,
                         .userdata = &got};
    dv_error err;
    assert_int_equal(dv_docker_logs(dk, &o, &err), 0);
    /* Raw chunks as they come, all stdout. */
    assert_non_null(strstr(got.log.data, "out:raw li"));
    assert_null(strstr(got.log.data, "err:"));
    dv_buf_free(&got.log);

    /* The callback stops a follow stream that would never end: the call returns 0. */
    _cleanup_buf_ dv_buf stream = DV_BUF_INIT;
    log_stream(&stream);
    dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                   .path = "/containers/c2/logs",
                                   .stream = stream.data,
                                   .stream_len = stream.len,
                                   .end = DV_FAKE_END_HANG});
    frames two = {.log = DV_BUF_INIT, .stop_after = 2};
    o = (dv_logs_options){.id = "c2",
                          .follow = true,
                          .stdout_ = true,
                          .stderr_ = true,
                          .on_frame = on_frame,
                          .userdata = &two};
    assert_int_equal(dv_docker_logs(dk, &o, &err), 0);
    assert_int_equal(two.n, 2);
    dv_buf_free(&two.log);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

static void test_logs_cut_and_system_error(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf stream = DV_BUF_INIT, sys = DV_BUF_INIT;
    log_stream(&stream);
    add_frame(&sys, 1, "before\n");
    add_frame(&sys, 3, "Error grabbing logs: log file is corrupt");
    dv_fake *f = dv_fake_start(NULL, NULL);
    /* The daemon dies in the middle of the second frame. */
    dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                   .path = "/containers/cut/logs",
                                   .stream = stream.data,
                                   .stream_len = 60,
                                   .end = DV_FAKE_END_CLOSE});
    /* Cleanly terminated, but inside a frame. */
    dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                   .path = "/containers/short/logs",
                                   .stream = stream.data,
                                   .stream_len = 60});
    dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                   .path = "/containers/sys/logs",
                                   .stream = sys.data,
                                   .stream_len = sys.len});
    dv_fake_reply(f, "GET", "/containers/gone/logs", 0, 404,
                  "{\"message\":\"No such container: gone\"}");
    dv_docker *dk = client_for(f);
    dv_error err;
    const char *cut[] = {"cut", "short"};
    for (size_t i = 0; i < 2; i++) {
        frames got = {.log = DV_BUF_INIT};
        dv_logs_options o = {.id = cut[i],
                             .follow = true,
                             .stdout_ = true,
                             .stderr_ = true,
                             .on_frame = on_frame,
                             .userdata = &got};
        assert_int_equal(dv_docker_logs(dk, &o, &err), -ECONNRESET);
        assert_true(err.recoverable);
        assert_int_equal(got.n, 1); /* the complete first frame was delivered */
        dv_buf_free(&got.log);
    }
    frames got = {.log = DV_BUF_INIT};
    dv_logs_options o = {.id = "sys", .stdout_ = true, .on_frame = on_frame, .userdata = &got};
    assert_int_equal(dv_docker_logs(dk, &o, &err), -EIO);
    assert_string_equal(err.msg, "docker: GET /containers/sys/logs: daemon error in the log "
                                 "stream: Error grabbing logs: log file is corrupt");
    assert_string_equal(got.log.data, "out:before\n");
    dv_buf_free(&got.log);
    o.id = "gone";
    assert_int_equal(dv_docker_logs(dk, &o, &err), -ENOENT);
    assert_true(dv_docker_is_not_found(&err));
    dv_docker_free(dk);
    dv_fake_stop(f);
}

/* ---- cancellation from another thread ---- */

typedef struct follower {
    dv_docker *dk;
    dv_cancel cancel;
    int which; /* 0 logs, 1 events, 2 wait */
    int r;
    dv_error err;
    frames got;
} follower;

static int on_event_ignore(const json_t *event, void *userdata)
{
    (void)event;
    (void)userdata;
    return 0;
}

static void *follow(void *arg)
{
    follower *fl = arg;
    if (fl->which == 0) {
        dv_logs_options o = {.id = "live",
                             .follow = true,
                             .stdout_ = true,
                             .stderr_ = true,
                             .on_frame = on_frame,
                             .userdata = &fl->got,
                             .cancel = &fl->cancel};
        fl->r = dv_docker_logs(fl->dk, &o, &fl->err);
    } else if (fl->which == 1) {
        fl->r = dv_docker_events(fl->dk, NULL, NULL, on_event_ignore, NULL, &fl->cancel, &fl->err);
    } else {
        int64_t status;
        fl->r = dv_docker_container_wait(fl->dk, "live", NULL, &status, &fl->cancel, &fl->err);
    }
    return NULL;
}

static void test_cancel_follow_streams_from_another_thread(void **state)
{
    (void)state;
    _cleanup_buf_ dv_buf stream = DV_BUF_INIT;
    log_stream(&stream);
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                   .path = "/containers/live/logs",
                                   .stream = stream.data,
                                   .stream_len = stream.len,
                                   .end = DV_FAKE_END_HANG});
    dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                   .path = "/events",
                                   .stream = "{\"a\":1}\n",
                                   .end = DV_FAKE_END_HANG});
    dv_fake_add(f,
                &(dv_fake_rule){.method = "POST", .path = "/containers/live/wait", .hang = true});
    dv_docker *dk = client_for(f);
    for (int which = 0; which < 3; which++) {
        follower fl = {.dk = dk, .which = which, .got = {.log = DV_BUF_INIT}};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, follow, &fl), 0);
        /* Until the stream is established (logs: all three frames arrived). */
        const char *paths[] = {"/containers/live/logs", "/events", "/containers/live/wait"};
        while (!dv_fake_find(f, NULL, paths[which]) || (which == 0 && fl.got.n < 3))
            usleep(5000);
        usleep(50000);
        dv_cancel_request(&fl.cancel);
        pthread_join(th, NULL);
        assert_int_equal(fl.r, -ECANCELED);
        assert_false(fl.err.recoverable);
        assert_non_null(strstr(fl.err.msg, ": cancelled"));
        if (which == 0)
            assert_string_equal(fl.got.log.data, LOG_EXPECT);
        dv_buf_free(&fl.got.log);
    }
    /* A cancel requested before the call returns at once, without a request. */
    size_t before = dv_fake_request_count(f);
    follower fl = {.dk = dk, .which = 1};
    dv_cancel_request(&fl.cancel);
    follow(&fl);
    assert_int_equal(fl.r, -ECANCELED);
    assert_int_equal(dv_fake_request_count(f), before);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

/* ---- events ---- */

typedef struct events_seen {
    dv_buf log;
    int n;
    int stop_after;
} events_seen;

static int on_event(const json_t *event, void *userdata)
{
    events_seen *s = userdata;
    dv_buf_printf(&s->log, "%s/%s;", json_string_value(json_object_get(event, "Type")),
                  json_string_value(json_object_get(event, "Action")));
    s->n++;
    return s->stop_after && s->n >= s->stop_after;
}

static void test_events_lines_split_everywhere(void **state)
{
    (void)state;
    const char *stream = "{\"Type\":\"container\",\"Action\":\"start\",\"time\":1}\n"
                         "{\"Type\":\"container\",\"Action\":\"die\",\"time\":2}\n"
                         "{\"Type\":\"network\",\"Action\":\"connect\",\"time\":3}\n";
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_docker *dk = client_for(f);
    size_t pieces[] = {1, 2, 3, 17, 4096};
    for (size_t i = 0; i < DV_ARRAY_SIZE(pieces); i++) {
        dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                       .path = "/events",
                                       .times = 1,
                                       .stream = stream,
                                       .piece = pieces[i]});
        events_seen s = {.log = DV_BUF_INIT};
        dv_error err;
        /* The daemon ending the stream is a normal return (re-subscribe with since). */
        assert_int_equal(dv_docker_events(dk, NULL, NULL, on_event, &s, NULL, &err), 0);
        assert_string_equal(s.log.data, "container/start;container/die;network/connect;");
        dv_buf_free(&s.log);
    }
    /* Stop after two, on a stream that would go on forever; since and filters sent. */
    dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                   .path = "/events",
                                   .times = 1,
                                   .stream = stream,
                                   .end = DV_FAKE_END_HANG});
    events_seen s = {.log = DV_BUF_INIT, .stop_after = 2};
    _cleanup_json_ json_t *filters = json_pack("{s:[s]}", "type", "container");
    dv_error err;
    assert_int_equal(dv_docker_events(dk, "1700000000", filters, on_event, &s, NULL, &err), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(dv_fake_find(f, "GET", "/events")->query,
                        "since=1700000000&filters={\"type\":[\"container\"]}");
    dv_buf_free(&s.log);

    dv_fake_add(f, &(dv_fake_rule){.method = "GET",
                                   .path = "/events",
                                   .times = 1,
                                   .stream = "{\"Type\":\"x\",\"Action\":\"y\"}\nnot json\n"});
    events_seen bad = {.log = DV_BUF_INIT};
    assert_int_equal(dv_docker_events(dk, NULL, NULL, on_event, &bad, NULL, &err), -EBADMSG);
    assert_non_null(strstr(err.msg, "docker: GET /events: invalid event"));
    assert_int_equal(bad.n, 1);
    dv_buf_free(&bad.log);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

/* ---- pull ---- */

typedef struct pull_seen {
    int lines;
    int abort_after;
    dv_buf statuses;
} pull_seen;

static int on_progress(const json_t *line, void *userdata)
{
    pull_seen *p = userdata;
    p->lines++;
    const char *st = json_string_value(json_object_get(line, "status"));
    dv_buf_printf(&p->statuses, "%s;", st ? st : "?");
    return p->abort_after && p->lines >= p->abort_after;
}

static const char *PULL_OK = "{\"status\":\"Pulling from dockvisor-test/busybox\",\"id\":\"1\"}\r\n"
                             "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":10,"
                             "\"total\":20},\"id\":\"abc\"}\r\n"
                             "{\"status\":\"Status: Downloaded newer image for x:1\"}\r\n";

static void test_pull_progress_auth_and_reference(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_add(f, &(dv_fake_rule){
                       .method = "POST", .path = "/images/create", .stream = PULL_OK, .piece = 7});
    dv_docker *dk = client_for(f);
    dv_registry_auth auth = {
        .username = "dvtest", .password = "p\"w/+?", .server_address = "127.0.0.1:5000"};
    pull_seen p = {.statuses = DV_BUF_INIT};
    dv_pull_options o = {.image = "127.0.0.1:5000/dockvisor-test/busybox:1",
                         .auth = &auth,
                         .progress = on_progress,
                         .userdata = &p};
    dv_error err;
    assert_int_equal(dv_docker_image_pull(dk, &o, &err), 0);
    assert_int_equal(p.lines, 3);
    assert_string_equal(p.statuses.data, "Pulling from dockvisor-test/busybox;Downloading;"
                                         "Status: Downloaded newer image for x:1;");
    const dv_fake_request *rq = dv_fake_find(f, "POST", "/images/create");
    assert_string_equal(rq->query, "fromImage=127.0.0.1:5000/dockvisor-test/busybox&tag=1");
    /* X-Registry-Auth: base64url of the JSON credentials, only the fields given. */
    assert_non_null(rq->registry_auth);
    assert_null(strpbrk(rq->registry_auth, "+/"));
    _cleanup_free_ void *decoded = NULL;
    size_t len = 0;
    assert_int_equal(dv_base64_decode(rq->registry_auth, strlen(rq->registry_auth), &decoded, &len),
                     0);
    _cleanup_json_ json_t *a = json_loadb(decoded, len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(a, "username")), "dvtest");
    assert_string_equal(json_string_value(json_object_get(a, "password")), "p\"w/+?");
    assert_string_equal(json_string_value(json_object_get(a, "serveraddress")), "127.0.0.1:5000");
    assert_int_equal(json_object_size(a), 3);
    dv_buf_free(&p.statuses);

    /* References: no tag means latest (never "all tags"); digests; https:// dropped. */
    static const struct {
        const char *image, *query;
    } refs[] = {
        {"busybox", "fromImage=busybox&tag=latest"},
        {"https://registry.example:5000/a/b", "fromImage=registry.example:5000/a/b&tag=latest"},
        {"a/b@sha256:0123", "fromImage=a/b&tag=sha256:0123"},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(refs); i++) {
        o = (dv_pull_options){.image = refs[i].image};
        assert_int_equal(dv_docker_image_pull(dk, &o, &err), 0);
        rq = dv_fake_find(f, "POST", "/images/create");
        assert_string_equal(rq->query, refs[i].query);
        assert_null(rq->registry_auth); /* anonymous: no header */
    }
    o = (dv_pull_options){.image = "repo:"};
    assert_int_equal(dv_docker_image_pull(dk, &o, &err), -EINVAL);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

static void test_pull_error_line_fails(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    const char *stream = "{\"status\":\"Pulling from x\"}\n"
                         "{\"errorDetail\":{\"message\":\"manifest for x:9 not found: manifest "
                         "unknown\"},\"error\":\"manifest for x:9 not found: manifest unknown\"}\n";
    dv_fake_add(
        f,
        &(dv_fake_rule){
            .method = "POST", .path = "/images/create", .times = 1, .stream = stream, .piece = 5});
    /* An error on the last line without "\n", and a transient one. */
    dv_fake_add(f, &(dv_fake_rule){.method = "POST",
                                   .path = "/images/create",
                                   .times = 1,
                                   .stream = "{\"status\":\"a\"}\n{\"error\":\"Get "
                                             "https://r/v2/: net/http: TLS handshake timeout\"}"});
    dv_docker *dk = client_for(f);
    pull_seen p = {.statuses = DV_BUF_INIT};
    dv_pull_options o = {.image = "x:9", .progress = on_progress, .userdata = &p};
    dv_error err;
    assert_int_equal(dv_docker_image_pull(dk, &o, &err), -EIO);
    assert_string_equal(err.msg, "docker: POST /images/create: x:9: manifest for x:9 not found: "
                                 "manifest unknown");
    assert_false(err.recoverable);
    assert_int_equal(p.lines, 1); /* the error line is not progress */
    assert_int_equal(dv_docker_image_pull(dk, &o, &err), -EIO);
    assert_non_null(strstr(err.msg, "TLS handshake timeout"));
    assert_true(err.recoverable);
    /* Registry refusals come as a 500 before any streaming: not worth retrying, unlike
     * a daemon error. */
    dv_fake_reply(f, "POST", "/images/create", 1, 500,
                  "{\"message\":\"Head \\\"http://r/v2/x/manifests/9\\\": no basic auth "
                  "credentials\"}");
    dv_fake_reply(f, "POST", "/images/create", 1, 500, "{\"message\":\"daemon hiccup\"}");
    assert_int_equal(dv_docker_image_pull(dk, &o, &err), -EIO);
    assert_int_equal(err.http_status, 500);
    assert_non_null(strstr(err.msg, "no basic auth credentials"));
    assert_false(err.recoverable);
    assert_int_equal(dv_docker_image_pull(dk, &o, &err), -EIO);
    assert_true(err.recoverable);
    dv_buf_free(&p.statuses);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

static void test_pull_activity_timeout_and_deadline(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    /* Steady progress (a line every 100 ms) outlives a 1 s activity timeout... */
    dv_fake_chunk steady[8];
    for (size_t i = 0; i < DV_ARRAY_SIZE(steady); i++)
        steady[i] = (dv_fake_chunk){.data = "{\"status\":\"Downloading\"}\n", .delay_ms = 100};
    dv_fake_add(f, &(dv_fake_rule){.method = "POST",
                                   .path = "/images/create",
                                   .times = 1,
                                   .chunks = steady,
                                   .n_chunks = DV_ARRAY_SIZE(steady)});
    /* ...silence longer than it does not. */
    dv_fake_chunk silent[] = {{.data = "{\"status\":\"Pulling\"}\n"},
                              {.data = "{\"status\":\"late\"}\n", .delay_ms = 5000}};
    dv_fake_add(f, &(dv_fake_rule){.method = "POST",
                                   .path = "/images/create",
                                   .times = 1,
                                   .chunks = silent,
                                   .n_chunks = 2});
    /* Bytes that never complete a line are not progress either. */
    dv_fake_chunk trickle[40];
    for (size_t i = 0; i < DV_ARRAY_SIZE(trickle); i++)
        trickle[i] = (dv_fake_chunk){.data = "x", .delay_ms = 50};
    dv_fake_add(f, &(dv_fake_rule){.method = "POST",
                                   .path = "/images/create",
                                   .times = 1,
                                   .chunks = trickle,
                                   .n_chunks = DV_ARRAY_SIZE(trickle)});
    /* The overall pull timeout holds even with steady progress. */
    dv_fake_add(f, &(dv_fake_rule){.method = "POST",
                                   .path = "/images/create",
                                   .times = 1,
                                   .chunks = steady,
                                   .n_chunks = DV_ARRAY_SIZE(steady)});
    dv_docker *dk = client_for(f);
    pull_seen p = {.statuses = DV_BUF_INIT};
    dv_pull_options o = {
        .image = "x:1", .activity_timeout_ns = 1000 * MS, .progress = on_progress, .userdata = &p};
    dv_error err;
    assert_int_equal(dv_docker_image_pull(dk, &o, &err), 0);
    assert_int_equal(p.lines, 8);

    p.lines = 0;
    assert_int_equal(dv_docker_image_pull(dk, &o, &err), -ETIMEDOUT);
    assert_true(err.recoverable);
    assert_string_equal(err.msg,
                        "docker: POST /images/create: no progress for 1s (pull_activity_timeout)");
    assert_int_equal(p.lines, 1);

    assert_int_equal(dv_docker_image_pull(dk, &o, &err), -ETIMEDOUT);
    assert_non_null(strstr(err.msg, "pull_activity_timeout"));

    o.activity_timeout_ns = 0;
    o.timeout_ns = 300 * MS;
    assert_int_equal(dv_docker_image_pull(dk, &o, &err), -ETIMEDOUT);
    assert_non_null(strstr(err.msg, "timed out after 300ms"));
    assert_true(err.recoverable);
    dv_buf_free(&p.statuses);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

static void test_pull_aborted_by_callback(void **state)
{
    (void)state;
    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_add(f, &(dv_fake_rule){.method = "POST",
                                   .path = "/images/create",
                                   .stream = PULL_OK,
                                   .end = DV_FAKE_END_HANG});
    dv_docker *dk = client_for(f);
    pull_seen p = {.statuses = DV_BUF_INIT, .abort_after = 2};
    dv_pull_options o = {.image = "x:1", .progress = on_progress, .userdata = &p};
    dv_error err;
    assert_int_equal(dv_docker_image_pull(dk, &o, &err), -ECANCELED);
    assert_non_null(strstr(err.msg, "aborted by the progress callback"));
    assert_int_equal(p.lines, 2);
    dv_buf_free(&p.statuses);
    dv_docker_free(dk);
    dv_fake_stop(f);
}

static void test_image_load_uploads_the_tar(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dvtest-client-load");
    char tar[512];
    snprintf(tar, sizeof(tar), "%s/image.tar", dir);
    /* Bigger than one curl buffer, with bytes of every value. */
    _cleanup_buf_ dv_buf content = DV_BUF_INIT;
    for (int i = 0; i < 300000; i++) {
        char c = (char)(i * 7);
        dv_buf_append(&content, &c, 1);
    }
    FILE *fp = fopen(tar, "we");
    assert_non_null(fp);
    assert_int_equal(fwrite(content.data, 1, content.len, fp), content.len);
    fclose(fp);

    dv_fake *f = dv_fake_start(NULL, NULL);
    dv_fake_add(f, &(dv_fake_rule){.method = "POST",
                                   .path = "/images/load",
                                   .times = 1,
                                   .stream = "{\"stream\":\"Loaded image: x:1\\n\"}\n"});
    dv_fake_add(f,
                &(dv_fake_rule){.method = "POST",
                                .path = "/images/load",
                                .times = 1,
                                .stream = "{\"errorDetail\":{\"message\":\"unexpected EOF\"}}\n"});
    dv_docker *dk = client_for(f);
    dv_error err;
    assert_int_equal(dv_docker_image_load(dk, AT_FDCWD, tar, &err), 0);
    const dv_fake_request *rq = dv_fake_find(f, "POST", "/images/load");
    assert_int_equal(rq->body_len, content.len);
    assert_memory_equal(rq->body, content.data, content.len);
    assert_string_equal(rq->query, "quiet=1");

    assert_int_equal(dv_docker_image_load(dk, AT_FDCWD, tar, &err), -EIO);
    assert_non_null(strstr(err.msg, "unexpected EOF"));
    char missing[600];
    snprintf(missing, sizeof(missing), "%s/missing.tar", dir);
    assert_int_equal(dv_docker_image_load(dk, AT_FDCWD, missing, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "missing.tar"));

    /* Beneath a directory (a task's local/): a symlink pointing out, "..", an
     * absolute path are refused before anything is sent; one inside is followed. */
    char sub[600], lnk[700];
    snprintf(sub, sizeof(sub), "%s/local", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(lnk, sizeof(lnk), "%s/out.tar", sub);
    assert_int_equal(symlink("/etc/passwd", lnk), 0);
    snprintf(lnk, sizeof(lnk), "%s/up.tar", sub);
    assert_int_equal(symlink("../image.tar", lnk), 0);
    snprintf(lnk, sizeof(lnk), "%s/in.tar", sub);
    assert_int_equal(symlink("up.tar", lnk), 0);
    snprintf(lnk, sizeof(lnk), "%s/real.tar", sub);
    assert_int_equal(link(tar, lnk), 0);
    int dfd = open(sub, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    const char *refused[] = {"out.tar", "up.tar", "in.tar", "../image.tar", "/etc/passwd"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
        assert_int_equal(dv_docker_image_load(dk, dfd, refused[i], &err), -EPERM);
        assert_non_null(strstr(err.msg, "resolves outside its directory"));
    }
    dv_fake_add(f, &(dv_fake_rule){.method = "POST",
                                   .path = "/images/load",
                                   .times = 1,
                                   .stream = "{\"stream\":\"Loaded image: x:1\\n\"}\n"});
    snprintf(lnk, sizeof(lnk), "%s/inside.tar", sub);
    assert_int_equal(symlink("real.tar", lnk), 0);
    assert_int_equal(dv_docker_image_load(dk, dfd, "inside.tar", &err), 0);
    /* A FIFO (or a directory) the task put there: refused at once, nothing sent,
     * the worker not held by an open that waits for a writer. */
    snprintf(lnk, sizeof(lnk), "%s/fifo.tar", sub);
    assert_int_equal(mkfifo(lnk, 0600), 0);
    assert_int_equal(dv_docker_image_load(dk, dfd, "fifo.tar", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(dv_docker_image_load(dk, AT_FDCWD, lnk, &err), -EINVAL);
    assert_int_equal(dv_docker_image_load(dk, dfd, ".", &err), -EINVAL);
    close(dfd);
    dv_docker_free(dk);
    dv_fake_stop(f);
    dv_test_rm_rf(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logs_split_at_every_byte),
        cmocka_unit_test(test_logs_tty_raw_and_stop),
        cmocka_unit_test(test_logs_cut_and_system_error),
        cmocka_unit_test(test_cancel_follow_streams_from_another_thread),
        cmocka_unit_test(test_events_lines_split_everywhere),
        cmocka_unit_test(test_pull_progress_auth_and_reference),
        cmocka_unit_test(test_pull_error_line_fails),
        cmocka_unit_test(test_pull_activity_timeout_and_deadline),
        cmocka_unit_test(test_pull_aborted_by_callback),
        cmocka_unit_test(test_image_load_uploads_the_tar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
