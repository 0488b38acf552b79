/* Host port allocation: range parsing, next-fit, all-or-nothing assignment,
 * never a port held by another task or bound on the host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ports.h"

#define A "aaaaaaaa-0000-4000-8000-000000000001"
#define B "bbbbbbbb-0000-4000-8000-000000000002"

static int busy_port; /* the fake probe reports this one as bound on the host */
static bool fake_probe(const char *addr, int port, void *u)
{
    (void)addr;
    (void)u;
    return port != busy_port;
}

static void test_parse_range(void **state)
{
    (void)state;
    int min, max;
    assert_int_equal(dv_ports_parse_range("20000-32000", &min, &max, NULL), 0);
    assert_int_equal(min, 20000);
    assert_int_equal(max, 32000);
    assert_int_equal(dv_ports_parse_range("5-5", &min, &max, NULL), 0);
    dv_error err;
    const char *bad[] = {"", "20000", "0-10", "10-5", "1-65536", "a-b", "1-2x", "-5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(dv_ports_parse_range(bad[i], &min, &max, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "port_range"));
}

static void test_dynamic_next_fit_and_release(void **state)
{
    (void)state;
    dv_ports *p;
    assert_int_equal(dv_ports_new(30000, 30003, "127.0.0.1", &p, NULL), 0);
    dv_ports_set_probe(p, fake_probe, NULL);
    busy_port = 30001;
    dv_port_claim a[2] = {{.label = "http"}, {.label = "admin"}};
    assert_int_equal(dv_ports_assign(p, A, a, 2, NULL), 0);
    assert_int_equal(a[0].value, 30000);
    assert_int_equal(a[1].value, 30002); /* 30001 is bound on the host */
    assert_string_equal(dv_ports_holder(p, 30000), A);
    dv_port_claim b[1] = {{.label = "http"}};
    assert_int_equal(dv_ports_assign(p, B, b, 1, NULL), 0);
    assert_int_equal(b[0].value, 30003);
    /* range exhausted */
    dv_error err;
    dv_port_claim c[1] = {{.label = "web"}};
    assert_int_equal(dv_ports_assign(p, B, c, 1, &err), -EADDRNOTAVAIL);
    assert_non_null(strstr(err.msg, "port \"web\""));
    assert_int_equal(dv_ports_release_task(p, A), 2);
    assert_null(dv_ports_holder(p, 30000));
    /* next-fit: continues after the last handed-out port, wrapping */
    assert_int_equal(dv_ports_assign(p, B, c, 1, NULL), 0);
    assert_int_equal(c[0].value, 30000);
    assert_int_equal(dv_ports_held(p), 2);
    dv_ports_free(p);
}

static void test_static_conflicts_and_all_or_nothing(void **state)
{
    (void)state;
    dv_ports *p;
    assert_int_equal(dv_ports_new(30000, 30010, "127.0.0.1", &p, NULL), 0);
    dv_ports_set_probe(p, fake_probe, NULL);
    busy_port = 8081;
    dv_port_claim a[1] = {{.label = "http", .static_port = 8080}};
    assert_int_equal(dv_ports_assign(p, A, a, 1, NULL), 0);
    assert_int_equal(a[0].value, 8080);
    /* the same task asking again (restart) keeps it */
    assert_int_equal(dv_ports_assign(p, A, a, 1, NULL), 0);
    /* another task cannot have it; its dynamic port of the same call is given back */
    dv_error err;
    dv_port_claim b[2] = {{.label = "dyn"}, {.label = "http", .static_port = 8080}};
    assert_int_equal(dv_ports_assign(p, B, b, 2, &err), -EADDRINUSE);
    assert_non_null(strstr(err.msg, "held by task " A));
    /* C5: the failing claim itself is marked (the caller names its field by it) */
    assert_false(b[0].failed);
    assert_true(b[1].failed);
    assert_null(dv_ports_holder(p, 30000));
    /* bound on the host */
    dv_port_claim c[1] = {{.label = "x", .static_port = 8081}};
    assert_int_equal(dv_ports_assign(p, B, c, 1, &err), -EADDRINUSE);
    assert_non_null(strstr(err.msg, "already in use"));
    /* recovery reserves without probing: the task's own container binds it */
    assert_int_equal(dv_ports_reserve(p, B, 8081, false, NULL), 0);
    assert_string_equal(dv_ports_holder(p, 8081), B);
    /* a failed call of a task that holds a port does not release the held one */
    dv_port_claim d[2] = {{.label = "http", .static_port = 8080},
                          {.label = "y", .static_port = 8081}};
    assert_int_equal(dv_ports_assign(p, A, d, 2, NULL), -EADDRINUSE);
    assert_string_equal(dv_ports_holder(p, 8080), A);
    dv_ports_free(p);
}

static void test_real_probe_sees_a_bound_port(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    int port = ntohs(a.sin_port);
    assert_false(dv_port_probe_bind("127.0.0.1", port, NULL));
    assert_false(dv_port_probe_bind("0.0.0.0", port, NULL));
    dv_ports *p;
    assert_int_equal(dv_ports_new(port, port, "127.0.0.1", &p, NULL), 0);
    dv_port_claim r[1] = {{.label = "http"}};
    assert_int_equal(dv_ports_assign(p, A, r, 1, NULL), -EADDRNOTAVAIL);
    close(fd);
    assert_true(dv_port_probe_bind("127.0.0.1", port, NULL));
    assert_int_equal(dv_ports_assign(p, A, r, 1, NULL), 0);
    assert_int_equal(r[0].value, port);
    dv_ports_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_range),
        cmocka_unit_test(test_dynamic_next_fit_and_release),
        cmocka_unit_test(test_static_conflicts_and_all_or_nothing),
        cmocka_unit_test(test_real_probe_sees_a_bound_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
