/* Unit tests for docklog's HTTP/1.1 client: the response parser fed at every split
 * point, endpoints, and requests against canned answers on a local Unix socket
 * (fault injection: truncation, errors, garbage). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "cleanup.h"
#include "http1.h"
#include "test_support.h"

struct collected {
    int status;
    int heads;
    dv_buf body;
    int stop_after; /* stop after this many body bytes (0: never) */
};

static int on_head(int status, void *userdata)
{
    struct collected *c = userdata;
    c->status = status;
    c->heads++;
    return 0;
}

static int on_body(const char *data, size_t len, void *userdata)
{
    struct collected *c = userdata;
    dv_buf_append(&c->body, data, len);
    return c->stop_after && c->body.len >= (size_t)c->stop_after;
}

/* Feed TEXT split into 1..3 pieces at every pair of positions; expect RESULT and BODY. */
static void check_all_splits(const char *text, int want_result, int want_status,
                             const char *want_body, bool then_eof)
{
    size_t len = strlen(text);
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b += (len > 200 ? 7 : 1)) {
            struct collected c = {0};
            dl_http_parser p;
            dl_http_parser_init(&p, on_head, on_body, &c);
            dv_error err;
            size_t cuts[] = {0, a, b, len};
            int r = DL_HTTP_MORE;
            for (int k = 0; k < 3 && r == DL_HTTP_MORE; k++)
                r = dl_http_parser_feed(&p, text + cuts[k], cuts[k + 1] - cuts[k], &err);
            if (r == DL_HTTP_MORE && then_eof)
                r = dl_http_parser_eof(&p, &err);
            if (r != want_result)
                fail_msg("split %zu/%zu: result %d (%s), want %d", a, b, r, r < 0 ? err.msg : "",
                         want_result);
            if (want_result >= 0) {
                assert_int_equal(c.status, want_status);
                assert_int_equal(c.heads, 1);
                assert_int_equal(c.body.len, strlen(want_body));
                assert_memory_equal(c.body.data ? c.body.data : "", want_body, c.body.len);
            }
            dv_buf_free(&c.body);
        }
    }
}

static void test_parser_framings(void **state)
{
    (void)state;
    /* Content-Length; bytes after the response are ignored. */
    check_all_splits("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: "
                     "11\r\n\r\n{\"a\":\"bc\"}\nEXTRA",
                     DL_HTTP_COMPLETE, 200, "{\"a\":\"bc\"}\n", false);
    /* Chunked, with an extension, upper-case hex, a trailer and a bare-LF line. */
    check_all_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                     "5;name=v\r\nhello\r\nA\r\n 012345678\n0\r\nX-Trailer: 1\r\n\r\n",
                     DL_HTTP_COMPLETE, 200, "hello 012345678", false);
    /* Body until close. */
    check_all_splits("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil the end", DL_HTTP_COMPLETE, 200,
                     "until the end", true);
    /* 100 Continue is skipped; 204 has no body. */
    check_all_splits("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: "
                     "5\r\n\r\n",
                     DL_HTTP_COMPLETE, 204, "", false);
    /* An error answer is still a complete response (the caller judges the status). */
    check_all_splits("HTTP/1.1 404 Not Found\r\nContent-Length: 37\r\n\r\n{\"message\":\"No such "
                     "container: abc\"}\n",
                     DL_HTTP_COMPLETE, 404, "{\"message\":\"No such container: abc\"}\n", false);
}

static void test_parser_truncation_and_garbage(void **state)
{
    (void)state;
    /* Connection closed inside a chunk or before the last chunk: truncated. */
    check_all_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", -EPIPE, 200,
                     "", true);
    check_all_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", -EPIPE,
                     200, "", true);
    check_all_splits("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", -EPIPE, 200, "", true);
    check_all_splits("HTTP/1.1 200 OK\r\nContent-Le", -EPIPE, 200, "", true);
    const char *bad[] = {
        "HTTX/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(bad); i++)
        check_all_splits(bad[i], -EPROTO, 0, "", false);
    /* A header line longer than the line buffer. */
    _cleanup_buf_ dv_buf big = DV_BUF_INIT;
    dv_buf_appends(&big, "HTTP/1.1 200 OK\r\nX-Big: ");
    for (int i = 0; i < DL_HTTP_LINE_MAX; i++)
        dv_buf_appends(&big, "x");
    dl_http_parser p;
    struct collected c = {0};
    dl_http_parser_init(&p, on_head, on_body, &c);
    dv_error err;
    assert_int_equal(dl_http_parser_feed(&p, big.data, big.len, &err), -EPROTO);
}

static void test_parser_stop(void **state)
{
    (void)state;
    const char *text =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld"
        "\r\n0\r\n\r\n";
    struct collected c = {.stop_after = 5};
    dl_http_parser p;
    dl_http_parser_init(&p, on_head, on_body, &c);
    dv_error err;
    assert_int_equal(dl_http_parser_feed(&p, text, strlen(text), &err), DL_HTTP_STOPPED);
    assert_int_equal(c.body.len, 5);
    dv_buf_free(&c.body);
}

static const char *addr_text(const dl_addr *a, char *buf, size_t size)
{
    const void *in = a->sa.ss_family == AF_INET
                         ? (const void *)&((const struct sockaddr_in *)&a->sa)->sin_addr
                         : (const void *)&((const struct sockaddr_in6 *)&a->sa)->sin6_addr;
    inet_ntop(a->sa.ss_family, in, buf, (socklen_t)size);
    return buf;
}

static uint16_t addr_port(const dl_addr *a)
{
    return ntohs(a->sa.ss_family == AF_INET ? ((const struct sockaddr_in *)&a->sa)->sin_port
                                            : ((const struct sockaddr_in6 *)&a->sa)->sin6_port);
}

static void test_endpoints(void **state)
{
    (void)state;
    dl_endpoint ep;
    dv_error err;
    char text[64];
    assert_int_equal(dl_endpoint_parse("unix:///var/run/docker.sock", false, NULL, 0, &ep, &err),
                     0);
    assert_true(ep.url.unix_socket);
    assert_string_equal(ep.url.path, "/var/run/docker.sock");
    assert_int_equal(dl_endpoint_parse("tcp://127.0.0.1:2375", false, NULL, 0, &ep, &err), 0);
    assert_false(ep.url.unix_socket);
    assert_false(ep.url.tls);
    assert_string_equal(ep.url.host, "127.0.0.1");
    assert_string_equal(ep.url.port, "2375");
    assert_string_equal(ep.url.host_header, "127.0.0.1:2375");
    assert_int_equal(ep.n_addrs, 1);
    assert_string_equal(addr_text(&ep.addrs[0], text, sizeof(text)), "127.0.0.1");
    assert_int_equal(addr_port(&ep.addrs[0]), 2375);
    assert_int_equal(dl_endpoint_parse("https://[::1]", false, NULL, 0, &ep, &err), 0);
    assert_true(ep.url.tls);
    assert_string_equal(ep.url.host, "::1");
    assert_string_equal(ep.url.port, "2376");
    assert_string_equal(ep.url.host_header, "[::1]:2376");
    assert_int_equal(ep.addrs[0].sa.ss_family, AF_INET6);
    assert_int_equal(addr_port(&ep.addrs[0]), 2376);

    /* A host name: connect to the agent's addresses, in order; keep the name for the
     * Host: header and TLS verification. */
    const char *addrs[] = {"2001:db8::7", "192.0.2.7"};
    assert_int_equal(dl_endpoint_parse("tcp://docker.example:2376", true, addrs, 2, &ep, &err), 0);
    assert_true(ep.url.tls);
    assert_string_equal(ep.url.host, "docker.example");
    assert_string_equal(ep.url.host_header, "docker.example:2376");
    assert_int_equal(ep.n_addrs, 2);
    assert_string_equal(addr_text(&ep.addrs[0], text, sizeof(text)), "2001:db8::7");
    assert_string_equal(addr_text(&ep.addrs[1], text, sizeof(text)), "192.0.2.7");
    assert_int_equal(addr_port(&ep.addrs[1]), 2376);
    /* ...and without them a clear error: docklog resolves no names. */
    assert_int_equal(dl_endpoint_parse("http://localhost/", false, NULL, 0, &ep, &err), -EINVAL);
    if (!strstr(err.msg, "\"localhost\" is not a numeric address"))
        fail_msg("unclear: %s", err.msg);
    const char *named[] = {"docker.example"};
    assert_int_equal(dl_endpoint_parse("tcp://h:1", false, named, 1, &ep, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "\"docker.example\" is not a numeric"));

    const char *bad[] = {"unix://relative", "ftp://x",        "tcp://:2375", "tcp://h:0",
                         "tcp://h:99999",   "tcp://h:1/path", "tcp://[::1",  "npipe:////./pipe/x"};
    for (size_t i = 0; i < DV_ARRAY_SIZE(bad); i++)
        assert_int_equal(dl_endpoint_parse(bad[i], false, addrs, 1, &ep, &err), -EINVAL);
}

/* A one-shot server on a Unix socket that answers each connection with canned bytes,
 * written in small pieces so the client sees many reads. */
struct server {
    int fd;
    const char *answers[4];
    int delay_us[4]; /* between pieces of answer i; 0: 200 us */
    char request[4096];
    pthread_t thread;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    for (int i = 0; i < 4 && s->answers[i]; i++) {
        int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            break;
        ssize_t n = read(c, s->request, sizeof(s->request) - 1);
        s->request[n > 0 ? n : 0] = '\0';
        const char *a = s->answers[i];
        for (size_t off = 0, len = strlen(a); off < len; off += 7) {
            size_t k = len - off < 7 ? len - off : 7;
            if (write(c, a + off, k) < 0)
                break;
            usleep(s->delay_us[i] ? (useconds_t)s->delay_us[i] : 200);
        }
        close(c);
    }
    return NULL;
}

static void server_start(struct server *s, const char *path)
{
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->fd, 4), 0);
    pthread_create(&s->thread, NULL, serve, s);
}

static void server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

struct stream_state {
    dv_buf data;
    int batches;
};

static int st_data(const char *data, size_t len, void *userdata)
{
    struct stream_state *s = userdata;
    dv_buf_append(&s->data, data, len);
    return 0;
}

static int st_batch(void *userdata)
{
    struct stream_state *s = userdata;
    s->batches++;
    return 0;
}

static void test_requests(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-http");
    char path[4096], url[4200];
    snprintf(path, sizeof(path), "%s/sock", dir);
    snprintf(url, sizeof(url), "unix://%s", path);
    struct server s = {
        .answers =
            {
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                "26\r\n\r\n{\"State\":{\"Running\":true}}",
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: "
                "37\r\n\r\n{\"message\":\"No such container: abc\"}\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "6\r\nline 1\r\n7\r\n\nline 2\r\n1\r\n\n\r\n0\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nline 1\r\n",
            },
    };
    s.delay_us[2] = 30000; /* the stream: pieces 30 ms apart, so batches end by age */
    server_start(&s, path);
    dl_http_client c;
    dv_error err;
    assert_int_equal(dl_http_client_init(&c, url, NULL, 0, NULL, -1, &err), 0);

    _cleanup_json_ json_t *j = NULL;
    assert_int_equal(dl_http_get_json(&c, "/v1.41/containers/abc/json", &j, &err), 0);
    assert_true(json_is_true(json_object_get(json_object_get(j, "State"), "Running")));
    assert_non_null(strstr(s.request, "GET /v1.41/containers/abc/json HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "Host: docker\r\n"));

    json_t *none = NULL;
    assert_true(dl_http_get_json(&c, "/x", &none, &err) < 0);
    assert_null(none);
    if (err.http_status != 404)
        fail_msg("%s", err.msg);
    assert_false(err.recoverable);
    assert_non_null(strstr(err.msg, "No such container: abc"));

    struct stream_state st = {0};
    dl_http_stream_cbs cbs = {.on_data = st_data, .on_batch = st_batch, .userdata = &st};
    assert_int_equal(dl_http_get_stream(&c, "/logs", &cbs, &err), 0);
    assert_int_equal(st.data.len, 14);
    assert_memory_equal(st.data.data, "line 1\nline 2\n", 14);
    assert_true(st.batches > 1);
    dv_buf_reset(&st.data);

    /* The server closes in the middle of the stream: recoverable truncation. */
    assert_int_equal(dl_http_get_stream(&c, "/logs", &cbs, &err), -EPIPE);
    assert_true(err.recoverable);
    assert_memory_equal(st.data.data, "line 1", 6);
    dv_buf_free(&st.data);

    server_stop(&s);
    /* Nobody listening: a recoverable connection error. */
    unlink(path);
    assert_true(dl_http_get_json(&c, "/version", &none, &err) < 0);
    assert_true(err.recoverable);
    dl_http_client_free(&c);
    dv_test_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_framings),
        cmocka_unit_test(test_parser_truncation_and_garbage),
        cmocka_unit_test(test_parser_stop),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
