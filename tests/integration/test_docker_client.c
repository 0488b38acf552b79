/* The Engine API client against the real dockerd and the local registry: version
 * negotiation, a payload container's lifecycle, logs with timestamps demultiplexed,
 * exec, kill, stats, list filters, events, networks, image load, and pulls from
 * 127.0.0.1:5000 with and without credentials. Everything this test creates is named
 * dvtest-client-<pid>-... and labelled io.dockvisor.test=client-<pid>; only that is
 * removed. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "docker.h"
#include "test_support.h"

static char label[64];  /* io.dockvisor.test=<label> */
static char prefix[64]; /* dvtest-client-<pid> */

static dv_docker *client(void)
{
    dv_docker *dk = NULL;
    dv_error err;
    if (dv_docker_new(NULL, &dk, &err) < 0)
        fail_msg("dv_docker_new: %s", err.msg);
    return dk;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        dv_error_clear(&err);                                                                      \
        if ((call) < 0)                                                                            \
            fail_msg("%s: %s", #call, err.msg);                                                    \
    } while (0)

static const char *payload_image(void)
{
    return dv_test_env("DV_TEST_IMAGE_PAYLOAD", "dockvisor-test/payload:1");
}

/* Create body for the payload image running ARGS (NULL-terminated). */
static json_t *payload_body(const char *const *args, bool tty)
{
    json_t *cmd = json_array();
    for (size_t i = 0; args[i]; i++)
        json_array_append_new(cmd, json_string(args[i]));
    return json_pack("{s:s, s:o, s:b, s:{s:s}, s:{s:b}}", "Image", payload_image(), "Cmd", cmd,
                     "Tty", tty, "Labels", "io.dockvisor.test", label, "HostConfig", "AutoRemove",
                     0);
}

static char *create(dv_docker *dk, const char *suffix, const char *const *args, bool tty)
{
    char name[128];
    snprintf(name, sizeof(name), "%s-%s", prefix, suffix);
    _cleanup_json_ json_t *body = payload_body(args, tty);
    char *id = NULL;
    dv_error err;
    CHECK(dv_docker_container_create(dk, name, body, &id, &err));
    return id;
}

/* ---- version ---- */

static void test_version_negotiation(void **state)
{
    (void)state;
    dv_docker *dk = client();
    dv_error err;
    CHECK(dv_docker_ping(dk, &err));
    assert_null(dv_docker_api_version(dk));
    CHECK(dv_docker_negotiate(dk, &err));
    /* The daemon's own answer, asked independently of the client. */
    _cleanup_free_ char *server = NULL;
    assert_int_equal(dv_test_sh(&server, "docker version --format '{{.Server.APIVersion}}'"), 0);
    server[strcspn(server, "\n")] = '\0';
    int smaj, smin, omaj, omin;
    assert_int_equal(sscanf(server, "%d.%d", &smaj, &smin), 2);
    assert_int_equal(sscanf(DV_DOCKER_API_MAX, "%d.%d", &omaj, &omin), 2);
    const char *want = smaj * 1000 + smin < omaj * 1000 + omin ? server : DV_DOCKER_API_MAX;
    assert_string_equal(dv_docker_api_version(dk), want);
    json_t *info = NULL;
    CHECK(dv_docker_info(dk, &info, &err));
    assert_non_null(json_object_get(info, "ServerVersion"));
    json_decref(info);
    dv_docker_free(dk);
}

/* ---- lifecycle and logs ---- */

typedef struct log_lines {
    int n;
    int seq[64];
    bool err_side[64];
    char ts[64][40];
} log_lines;

static int on_log(enum dv_stream_type type, const char *data, size_t len, void *userdata)
{
    log_lines *l = userdata;
    assert_true(l->n < 64);
    /* "<RFC3339Nano> <n> stdout|stderr\n" */
    const char *sp = memchr(data, ' ', len);
    assert_non_null(sp);
    size_t tlen = (size_t)(sp - data);
    assert_true(tlen > 20 && tlen < sizeof(l->ts[0]));
    memcpy(l->ts[l->n], data, tlen);
    l->ts[l->n][tlen] = '\0';
    assert_int_equal(data[len - 1], '\n');
    char text[128];
    snprintf(text, sizeof(text), "%.*s", (int)(len - tlen - 2), sp + 1);
    int seq = 0;
    char side[16] = "";
    assert_int_equal(sscanf(text, "%d %15s", &seq, side), 2);
    /* The payload writes odd lines to stdout, even lines to stderr. */
    assert_string_equal(side, seq % 2 ? "stdout" : "stderr");
    assert_int_equal(type, seq % 2 ? DV_STREAM_STDOUT : DV_STREAM_STDERR);
    l->seq[l->n] = seq;
    l->err_side[l->n] = type == DV_STREAM_STDERR;
    l->n++;
    return 0;
}

static void check_log_order(const log_lines *l, int count)
{
    assert_int_equal(l->n, count);
    for (int i = 0; i < count; i++) {
        assert_int_equal(l->seq[i], i + 1);
        if (i)
            assert_true(strcmp(l->ts[i - 1], l->ts[i]) <= 0); /* same-length RFC3339Nano */
    }
}

static void test_container_lifecycle_and_logs(void **state)
{
    (void)state;
    dv_docker *dk = client();
    dv_error err;
    /* Paced (10 lines/s): Docker reads stdout and stderr in separate goroutines, so
     * only lines written some time apart have a defined order across the two; 20 ms
     * apart was not enough on a loaded two-core machine (lines 7 and 8 swapped). */
    const char *args[] = {"lines", "8", "10", "--", "exit", "3", NULL};
    _cleanup_free_ char *id = create(dk, "life", args, false);

    /* The same name again is a conflict the caller can recognise. */
    char name[128];
    snprintf(name, sizeof(name), "%s-life", prefix);
    _cleanup_json_ json_t *body = payload_body(args, false);
    char *dup = NULL;
    assert_int_equal(dv_docker_container_create(dk, name, body, &dup, &err), -EBUSY);
    assert_true(dv_docker_is_conflict(&err));
    assert_non_null(strstr(err.msg, "docker: POST /containers/create: 409 Conflict: "));
    assert_non_null(strstr(err.msg, name));
    assert_null(dup);

    CHECK(dv_docker_container_start(dk, id, &err));
    int64_t status = -1;
    CHECK(dv_docker_container_wait(dk, id, NULL, &status, NULL, &err));
    assert_int_equal(status, 3);
    json_t *info = NULL;
    CHECK(dv_docker_container_inspect(dk, id, &info, &err));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(info, "State"), "ExitCode")), 3);
    assert_string_equal(json_string_value(json_object_get(info, "Id")), id);
    json_decref(info);

    /* All lines, timestamps, both sides, in order. */
    log_lines l = {0};
    dv_logs_options o = {.id = id,
                         .stdout_ = true,
                         .stderr_ = true,
                         .timestamps = true,
                         .on_frame = on_log,
                         .userdata = &l};
    CHECK(dv_docker_logs(dk, &o, &err));
    check_log_order(&l, 8);
    /* since is inclusive at nanosecond precision: from the 5th line's timestamp. */
    char since[64];
    struct tm tm = {0};
    long nsec = 0;
    char frac[16] = "";
    assert_non_null(strptime(l.ts[4], "%Y-%m-%dT%H:%M:%S", &tm));
    assert_int_equal(sscanf(strchr(l.ts[4], '.') + 1, "%9[0-9]", frac), 1);
    nsec = strtol(frac, NULL, 10);
    for (size_t k = strlen(frac); k < 9; k++)
        nsec *= 10;
    snprintf(since, sizeof(since), "%lld.%09ld", (long long)timegm(&tm), nsec);
    log_lines tail = {0};
    o.userdata = &tail;
    o.since = since;
    CHECK(dv_docker_logs(dk, &o, &err));
    assert_int_equal(tail.n, 4);
    assert_int_equal(tail.seq[0], 5);
    assert_string_equal(tail.ts[0], l.ts[4]);
    assert_int_equal(tail.seq[3], 8);

    CHECK(dv_docker_container_remove(dk, id, false, true, &err));
    assert_int_equal(dv_docker_container_inspect(dk, id, &info, &err), -ENOENT);
    assert_true(dv_docker_is_not_found(&err));
    assert_int_equal(dv_docker_container_remove(dk, id, true, true, &err), -ENOENT);
    dv_docker_free(dk);
}

static void test_follow_logs_end_with_the_container(void **state)
{
    (void)state;
    dv_docker *dk = client();
    dv_error err;
    /* Paced lines, so most arrive through the follow stream rather than the backlog. */
    const char *args[] = {"lines", "10", "10", NULL};
    _cleanup_free_ char *id = create(dk, "follow", args, false);
    CHECK(dv_docker_container_start(dk, id, &err));
    log_lines l = {0};
    dv_logs_options o = {.id = id,
                         .follow = true,
                         .stdout_ = true,
                         .stderr_ = true,
                         .timestamps = true,
                         .on_frame = on_log,
                         .userdata = &l};
    CHECK(dv_docker_logs(dk, &o, &err));
    check_log_order(&l, 10);
    json_t *info = NULL;
    CHECK(dv_docker_container_inspect(dk, id, &info, &err));
    assert_false(json_is_true(json_object_get(json_object_get(info, "State"), "Running")));
    json_decref(info);
    CHECK(dv_docker_container_remove(dk, id, true, true, &err));
    dv_docker_free(dk);
}

/* ---- exec, stats, list, kill ---- */

static void test_exec_stats_list_kill(void **state)
{
    (void)state;
    dv_docker *dk = client();
    dv_error err;
    const char *args[] = {"sleep", NULL};
    _cleanup_free_ char *id = create(dk, "exec", args, false);
    CHECK(dv_docker_container_start(dk, id, &err));

    const char *cmd[] = {"/bin/payload", "lines", "5", "--", "exit", "7", NULL};
    dv_exec_result res = {0};
    CHECK(dv_docker_exec(dk, id, cmd, false, 0, &res, &err));
    assert_int_equal(res.exit_code, 7);
    assert_string_equal(res.out, "1 stdout\n3 stdout\n5 stdout\n");
    assert_string_equal(res.err, "2 stderr\n4 stderr\n");
    dv_exec_result_clear(&res);
    /* With a TTY there is one raw stream. */
    CHECK(dv_docker_exec(dk, id, cmd, true, 0, &res, &err));
    assert_int_equal(res.exit_code, 7);
    assert_non_null(strstr(res.out, "2 stderr"));
    assert_int_equal(res.err_len, 0);
    dv_exec_result_clear(&res);
    /* A command that cannot run: Docker's answer, or exit code 126/127. */
    const char *missing[] = {"/bin/no-such-binary", NULL};
    int r = dv_docker_exec(dk, id, missing, false, 0, &res, &err);
    if (r == 0) {
        assert_true(res.exit_code == 126 || res.exit_code == 127);
        dv_exec_result_clear(&res);
    } else {
        assert_non_null(strstr(err.msg, "no-such-binary"));
    }

    json_t *stats = NULL;
    CHECK(dv_docker_container_stats(dk, id, &stats, &err));
    assert_non_null(json_object_get(stats, "memory_stats"));
    assert_non_null(json_object_get(stats, "cpu_stats"));
    json_decref(stats);

    char filter[128];
    snprintf(filter, sizeof(filter), "io.dockvisor.test=%s", label);
    _cleanup_json_ json_t *filters = json_pack("{s:[s]}", "label", filter);
    json_t *list = NULL;
    CHECK(dv_docker_container_list(dk, false, filters, &list, &err));
    bool found = false;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) found |=
        strcmp(json_string_value(json_object_get(c, "Id")), id) == 0;
    assert_true(found);
    json_decref(list);

    CHECK(dv_docker_container_kill(dk, id, "SIGKILL", &err));
    int64_t status = -1;
    CHECK(dv_docker_container_wait(dk, id, NULL, &status, NULL, &err));
    assert_int_equal(status, 137);
    /* Stopping a stopped container: not modified. */
    assert_int_equal(dv_docker_container_stop(dk, id, 1, &err), -EALREADY);
    assert_true(dv_docker_is_not_modified(&err));
    CHECK(dv_docker_container_remove(dk, id, false, false, &err));
    dv_docker_free(dk);
}

/* ---- events ---- */

typedef struct event_watch {
    const char *id;
    bool start, die;
} event_watch;

static int on_event(const json_t *ev, void *userdata)
{
    event_watch *w = userdata;
    const char *id = json_string_value(json_object_get(ev, "id"));
    const char *action = json_string_value(json_object_get(ev, "Action"));
    if (!id || !action || strcmp(id, w->id) != 0)
        return 0;
    w->start |= strcmp(action, "start") == 0;
    w->die |= strcmp(action, "die") == 0;
    return w->die;
}

typedef struct watchdog {
    dv_cancel *cancel;
    dv_cancel done;
} watchdog;

static void *watchdog_run(void *arg)
{
    watchdog *w = arg;
    for (int i = 0; i < 600 && !dv_cancel_requested(&w->done); i++)
        usleep(100000);
    dv_cancel_request(w->cancel);
    return NULL;
}

static void test_events(void **state)
{
    (void)state;
    dv_docker *dk = client();
    dv_error err;
    char since[32];
    snprintf(since, sizeof(since), "%lld", (long long)(dv_realtime_ns() / 1000000000 - 1));
    const char *args[] = {"exit", "0", NULL};
    _cleanup_free_ char *id = create(dk, "events", args, false);
    CHECK(dv_docker_container_start(dk, id, &err));
    int64_t status;
    CHECK(dv_docker_container_wait(dk, id, NULL, &status, NULL, &err));
    /* The past events are replayed from since; the stream then stays open, so stop in
     * the callback (and let a watchdog cancel if the events never come). */
    event_watch w = {.id = id};
    dv_cancel cancel = {0};
    watchdog wd = {.cancel = &cancel};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, watchdog_run, &wd), 0);
    _cleanup_json_ json_t *filters =
        json_pack("{s:[s], s:[s]}", "type", "container", "container", id);
    int r = dv_docker_events(dk, since, filters, on_event, &w, &cancel, &err);
    dv_cancel_request(&wd.done);
    pthread_join(th, NULL);
    if (r < 0)
        fail_msg("events: %s", err.msg);
    assert_true(w.start);
    assert_true(w.die);
    CHECK(dv_docker_container_remove(dk, id, true, false, &err));
    dv_docker_free(dk);
}

/* ---- networks ---- */

static void test_networks(void **state)
{
    (void)state;
    dv_docker *dk = client();
    dv_error err;
    char name[128];
    snprintf(name, sizeof(name), "%s-net", prefix);
    _cleanup_json_ json_t *body =
        json_pack("{s:s, s:s, s:b, s:{s:s}}", "Name", name, "Driver", "bridge", "CheckDuplicate", 1,
                  "Labels", "io.dockvisor.test", label);
    _cleanup_free_ char *id = NULL;
    CHECK(dv_docker_network_create(dk, body, &id, &err));
    json_t *n = NULL;
    CHECK(dv_docker_network_inspect(dk, name, &n, &err));
    assert_string_equal(json_string_value(json_object_get(n, "Id")), id);
    json_decref(n);
    _cleanup_json_ json_t *filters = json_pack("{s:[s]}", "name", name);
    json_t *list = NULL;
    CHECK(dv_docker_network_list(dk, filters, &list, &err));
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    /* Same name again, with CheckDuplicate: a conflict. */
    assert_true(dv_docker_network_create(dk, body, NULL, &err) < 0);
    assert_true(dv_docker_is_conflict(&err));
    CHECK(dv_docker_network_remove(dk, id, &err));
    assert_int_equal(dv_docker_network_inspect(dk, name, &n, &err), -ENOENT);
    dv_docker_free(dk);
}

/* ---- images ---- */

static void test_image_load(void **state)
{
    (void)state;
    dv_docker *dk = client();
    dv_error err;
    _cleanup_free_ char *dir = dv_test_tmpdir("dvtest-client-load");
    char tag[128];
    snprintf(tag, sizeof(tag), "%s/load:1", prefix);
    assert_int_equal(dv_test_sh(NULL,
                                "docker tag '%s' '%s' && docker save -o '%s/image.tar' '%s' && "
                                "docker rmi '%s' >/dev/null",
                                dv_test_env("DV_TEST_IMAGE_BUSYBOX", "dockvisor-test/busybox:1"),
                                tag, dir, tag, tag),
                     0);
    json_t *img = NULL;
    assert_int_equal(dv_docker_image_inspect(dk, tag, &img, &err), -ENOENT);
    char tar[600];
    snprintf(tar, sizeof(tar), "%s/image.tar", dir);
    CHECK(dv_docker_image_load(dk, AT_FDCWD, tar, &err));
    CHECK(dv_docker_image_inspect(dk, tag, &img, &err));
    json_decref(img);
    CHECK(dv_docker_image_remove(dk, tag, false, &err));
    assert_int_equal(dv_docker_image_inspect(dk, tag, &img, &err), -ENOENT);
    dv_test_rm_rf(dir);
    dv_docker_free(dk);
}

typedef struct progress_count {
    int lines;
} progress_count;

static int on_progress(const json_t *line, void *userdata)
{
    (void)line;
    ((progress_count *)userdata)->lines++;
    return 0;
}

static void test_pull_from_local_registry(void **state)
{
    (void)state;
    const char *registry = dv_test_env("DV_TEST_REGISTRY", "127.0.0.1:5000");
    const char *user = dv_test_env("DV_TEST_REGISTRY_USER", "dvtest");
    const char *password = dv_test_env("DV_TEST_REGISTRY_PASSWORD", "dvtest-password");
    /* A repository of our own in the registry, so no other test's tag is touched:
     * push the busybox test image under it with a throwaway docker config. */
    char image[256];
    snprintf(image, sizeof(image), "%s/dockvisor-test/client-%d:1", registry, (int)getpid());
    _cleanup_free_ char *cfg = dv_test_tmpdir("dvtest-client-cfg");
    int rc = dv_test_sh(NULL,
                        "set -e; docker tag '%s' '%s';"
                        "echo '%s' | docker --config '%s' login -u '%s' --password-stdin '%s' "
                        ">/dev/null 2>&1;"
                        "docker --config '%s' push -q '%s' >/dev/null; docker rmi '%s' >/dev/null",
                        dv_test_env("DV_TEST_IMAGE_BUSYBOX", "dockvisor-test/busybox:1"), image,
                        password, cfg, user, registry, cfg, image, image);
    dv_test_rm_rf(cfg);
    assert_int_equal(rc, 0);

    dv_docker *dk = client();
    dv_error err;
    json_t *img = NULL;
    assert_int_equal(dv_docker_image_inspect(dk, image, &img, &err), -ENOENT);

    /* Anonymous: the registry refuses, and the error says so. */
    progress_count pc = {0};
    dv_pull_options o = {.image = image,
                         .progress = on_progress,
                         .userdata = &pc,
                         .timeout_ns = 120 * INT64_C(1000000000),
                         .activity_timeout_ns = 60 * INT64_C(1000000000)};
    int r = dv_docker_image_pull(dk, &o, &err);
    assert_true(r < 0);
    print_message("anonymous pull: %s\n", err.msg);
    assert_true(strstr(err.msg, "no basic auth credentials") || strstr(err.msg, "unauthorized"));
    assert_non_null(strstr(err.msg, "POST /images/create"));
    assert_false(err.recoverable);
    assert_int_equal(dv_docker_image_inspect(dk, image, &img, &err), -ENOENT);

    /* With the credentials. */
    dv_registry_auth auth = {.username = user, .password = password, .server_address = registry};
    o.auth = &auth;
    CHECK(dv_docker_image_pull(dk, &o, &err));
    assert_true(pc.lines >= 2);
    CHECK(dv_docker_image_inspect(dk, image, &img, &err));
    json_t *tags = json_object_get(img, "RepoTags");
    bool tagged = false;
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) tagged |= strcmp(json_string_value(t), image) == 0;
    assert_true(tagged);
    json_decref(img);
    /* Only our tag goes; the image stays for its other tags. */
    CHECK(dv_docker_image_remove(dk, image, false, &err));
    assert_int_equal(dv_docker_image_inspect(dk, image, &img, &err), -ENOENT);
    CHECK(dv_docker_image_inspect(
        dk, dv_test_env("DV_TEST_IMAGE_BUSYBOX", "dockvisor-test/busybox:1"), &img, &err));
    json_decref(img);
    dv_docker_free(dk);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(prefix, sizeof(prefix), "dvtest-client-%d", (int)getpid());
    snprintf(label, sizeof(label), "client-%d", (int)getpid());
    dv_test_sweep_dead_tests();
    return 0;
}

/* Whatever a failed test left behind, and our repository in the registry. */
static int group_teardown(void **state)
{
    (void)state;
    dv_test_sh(NULL,
               "ids=$(docker ps -aq --filter label=io.dockvisor.test=%s); "
               "[ -z \"$ids\" ] || docker rm -f $ids >/dev/null 2>&1; "
               "nets=$(docker network ls -q --filter label=io.dockvisor.test=%s); "
               "[ -z \"$nets\" ] || docker network rm $nets >/dev/null 2>&1; "
               "docker rmi '%s/load:1' >/dev/null 2>&1; "
               "docker rmi '%s/dockvisor-test/client-%d:1' >/dev/null 2>&1; true",
               label, label, prefix, dv_test_env("DV_TEST_REGISTRY", "127.0.0.1:5000"),
               (int)getpid());
    const char *registry = dv_test_env("DV_TEST_REGISTRY", "127.0.0.1:5000");
    dv_test_sh(NULL,
               "auth='%s:%s'; url='http://%s/v2/dockvisor-test/client-%d/manifests';"
               "d=$(curl -sfI -u \"$auth\" -H 'Accept: "
               "application/vnd.docker.distribution.manifest.v2+json' \"$url/1\" "
               "| tr -d '\\r' | awk 'tolower($1)==\"docker-content-digest:\"{print $2}');"
               "[ -z \"$d\" ] || curl -sf -X DELETE -u \"$auth\" \"$url/$d\" >/dev/null; true",
               dv_test_env("DV_TEST_REGISTRY_USER", "dvtest"),
               dv_test_env("DV_TEST_REGISTRY_PASSWORD", "dvtest-password"), registry,
               (int)getpid());
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_negotiation),
        cmocka_unit_test(test_container_lifecycle_and_logs),
        cmocka_unit_test(test_follow_logs_end_with_the_container),
        cmocka_unit_test(test_exec_stats_list_kill),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_networks),
        cmocka_unit_test(test_image_load),
        cmocka_unit_test(test_pull_from_local_registry),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
