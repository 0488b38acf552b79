/* The metrics exposition's pieces without a daemon: histogram text, label escaping,
 * the per-task samples read from a stats answer and a docklog checkpoint, and the
 * TCP listener on 127.0.0.1 (GET /metrics rendered on the loop; 404 and 405 for
 * everything else). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "histogram.h"
#include "loop.h"
#include "metrics_listener.h"
#include "task_samples.h"
#include "test_support.h"

static void test_histogram_text(void **state)
{
    (void)state;
    static const double bounds[] = {0.1, 1};
    dv_histogram h;
    dv_histogram_init(&h, bounds, 2);
    dv_histogram_observe(&h, 0.05);
    dv_histogram_observe(&h, 0.1); /* le is inclusive */
    dv_histogram_observe(&h, 0.5);
    dv_histogram_observe(&h, 7);
    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    dv_histogram_render(&h, "x_seconds", "client=\"main\"", &b);
    assert_string_equal(b.data, "x_seconds_bucket{client=\"main\",le=\"0.1\"} 2\n"
                                "x_seconds_bucket{client=\"main\",le=\"1\"} 3\n"
                                "x_seconds_bucket{client=\"main\",le=\"+Inf\"} 4\n"
                                "x_seconds_sum{client=\"main\"} 7.65\n"
                                "x_seconds_count{client=\"main\"} 4\n");
    dv_buf_reset(&b);
    dv_histogram_render(&h, "y", "", &b);
    assert_non_null(strstr(b.data, "y_bucket{le=\"+Inf\"} 4\ny_sum 7.65\ny_count 4\n"));
    dv_histogram_destroy(&h);

    dv_buf_reset(&b);
    dv_prom_label_value(&b, "a\"b\\c\nd");
    assert_string_equal(b.data, "a\\\"b\\\\c\\nd");
}

static void test_sample_from_stats(void **state)
{
    (void)state;
    /* cgroup v2: inactive_file is not the container's */
    _cleanup_json_ json_t *v2 =
        json_pack("{s:{s:{s:I}},s:{s:I,s:{s:I,s:I}}}", "cpu_stats", "cpu_usage", "total_usage",
                  (json_int_t)2500000000, "memory_stats", "usage", (json_int_t)10000, "stats",
                  "inactive_file", (json_int_t)4000, "anon", (json_int_t)5000);
    dv_task_sample s = {0};
    dv_task_sample_from_stats(v2, &s);
    assert_true(s.has_stats);
    assert_int_equal(s.cpu_usage_ns, 2500000000);
    assert_int_equal(s.memory_bytes, 6000);
    /* cgroup v1 names it total_inactive_file */
    _cleanup_json_ json_t *v1 =
        json_pack("{s:{s:I,s:{s:I}}}", "memory_stats", "usage", (json_int_t)9000, "stats",
                  "total_inactive_file", (json_int_t)1000);
    memset(&s, 0, sizeof(s));
    dv_task_sample_from_stats(v1, &s);
    assert_int_equal(s.memory_bytes, 8000);
    assert_int_equal(s.cpu_usage_ns, 0);
}

static void test_sample_from_checkpoint(void **state)
{
    (void)state;
    _cleanup_json_ json_t *cp = json_pack(
        "{s:i,s:s,s:s,s:{s:I,s:I,s:I,s:I,s:I}}", "version", 1, "container_id", "c1", "outcome",
        "running", "progress", "entries", (json_int_t)25, "bytes", (json_int_t)241, "starts",
        (json_int_t)3, "lag_ns", (json_int_t)1500000, "at", (json_int_t)1700000000000000000);
    dv_task_sample s = {0};
    assert_false(dv_task_sample_from_checkpoint(cp, "c2", &s)); /* the previous container's */
    assert_false(s.has_progress);
    assert_false(dv_task_sample_from_checkpoint(cp, NULL, &s));
    assert_true(dv_task_sample_from_checkpoint(cp, "c1", &s));
    assert_int_equal(s.log_entries, 25);
    assert_int_equal(s.log_bytes, 241);
    assert_int_equal(s.log_starts, 3);
    assert_int_equal(s.log_lag_ns, 1500000);
    assert_true(s.log_at_ns == 1700000000000000000);
    /* An older docklog's checkpoint has no progress: no sample, not zeros. */
    json_object_del(cp, "progress");
    memset(&s, 0, sizeof(s));
    assert_false(dv_task_sample_from_checkpoint(cp, "c1", &s));
}

/* ---- the listener ---- */

static int renders;

static void render(void *userdata, dv_buf *b)
{
    (void)userdata;
    renders++; /* on the loop thread */
    dv_buf_appends(b, "# HELP t_total A test.\n# TYPE t_total counter\nt_total 1\n");
}

static void *run_loop(void *data)
{
    dv_error err;
    dv_loop_run(data, &err);
    return NULL;
}

/* One HTTP/1.0 exchange on 127.0.0.1:PORT; the whole answer. */
static char *exchange(int port, const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    dv_buf b = DV_BUF_INIT;
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        dv_buf_xappend(&b, chunk, (size_t)n);
    close(fd);
    dv_buf_xappend(&b, "", 1);
    return b.data;
}

static void test_listener(void **state)
{
    (void)state;
    dv_loop *loop;
    dv_error err;
    assert_int_equal(dv_loop_new(&loop, &err), 0);
    dv_metrics_listener *l;
    assert_int_equal(dv_metrics_listener_start("127.0.0.1", 0, loop, render, NULL, &l, &err), 0);
    int port = dv_metrics_listener_port(l);
    assert_true(port > 0);

    /* A second listener on the same port: refused, saying where. */
    dv_metrics_listener *l2 = NULL;
    assert_true(dv_metrics_listener_start("127.0.0.1", port, loop, render, NULL, &l2, &err) < 0);
    assert_non_null(strstr(err.msg, "cannot listen on 127.0.0.1:"));
    assert_null(l2);

    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_loop, loop), 0);
    _cleanup_free_ char *ok = exchange(port, "GET /metrics HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(ok, " 200 "));
    assert_non_null(strstr(ok, "text/plain; version=0.0.4"));
    assert_non_null(strstr(ok, "\r\n\r\n# HELP t_total A test.\n"));
    _cleanup_free_ char *v1 = exchange(port, "GET /v1/metrics HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(v1, "t_total 1\n"));
    _cleanup_free_ char *tasks = exchange(port, "GET /v1/tasks HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(tasks, " 404 "));
    _cleanup_free_ char *post =
        exchange(port, "POST /metrics HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}");
    assert_non_null(strstr(post, " 405 "));
    assert_non_null(strstr(post, "Allow: GET, HEAD"));
    _cleanup_free_ char *del = exchange(port, "DELETE /v1/tasks/x HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(del, " 404 "));
    dv_loop_quit(loop);
    pthread_join(th, NULL);
    assert_int_equal(renders, 2);

    dv_metrics_listener_stop(l);
    dv_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_text),
        cmocka_unit_test(test_sample_from_stats),
        cmocka_unit_test(test_sample_from_checkpoint),
        cmocka_unit_test(test_listener),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
