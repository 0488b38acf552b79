/* Unit tests for docklog's resolver: numeric addresses, localhost, the hosts file,
 * and DNS over UDP against a local stand-in nameserver (no network is needed). */
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
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "resolve.h"
#include "test_support.h"

static const char *text_of(const dl_addr *a, char *buf, size_t size)
{
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->sa;
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->sa;
    if (a->sa.ss_family == AF_INET)
        inet_ntop(AF_INET, &v4->sin_addr, buf, (socklen_t)size);
    else
        inet_ntop(AF_INET6, &v6->sin6_addr, buf, (socklen_t)size);
    return buf;
}

static uint16_t port_of(const dl_addr *a)
{
    return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
}

/* A nameserver that answers A queries for docker.test with a CNAME (compressed) to
 * real.test and an A record 10.1.2.3, AAAA queries with no answer, and anything
 * else with NXDOMAIN. */
struct dns {
    int fd;
    uint16_t port;
    int queries;
    pthread_t thread;
};

static void *dns_serve(void *arg)
{
    struct dns *d = arg;
    for (;;) {
        uint8_t q[512], a[512];
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(d->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
        if (n <= 12)
            return NULL;
        d->queries++;
        size_t qend = 12;
        while (q[qend])
            qend += 1u + q[qend];
        qend += 5; /* root label, type, class */
        uint16_t type = (uint16_t)(q[qend - 4] << 8 | q[qend - 3]);
        bool known = memcmp(q + 12,
                            "\x06"
                            "docker"
                            "\x04"
                            "test",
                            12) == 0;
        memcpy(a, q, qend);
        a[2] = 0x81;
        a[3] = known ? 0x80 : 0x83; /* NXDOMAIN for unknown names */
        a[6] = a[7] = 0;
        size_t len = qend;
        if (known && type == 1) {
            a[7] = 2;
            /* docker.test CNAME real.test */
            const uint8_t cname[] = {0xc0, 12, 0, 5,   0,   1,   0,   0,    0, 60,
                                     0,    7,  4, 'r', 'e', 'a', 'l', 0xc0, 19};
            memcpy(a + len, cname, sizeof(cname));
            len += sizeof(cname);
            /* real.test A 10.1.2.3 (name: pointer into the CNAME's rdata) */
            const uint8_t rec[] = {
                0xc0, (uint8_t)(qend + 12), 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3};
            memcpy(a + len, rec, sizeof(rec));
            len += sizeof(rec);
        }
        sendto(d->fd, a, len, 0, (struct sockaddr *)&from, fl);
    }
}

static void dns_start(struct dns *d)
{
    d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(d->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t l = sizeof(sa);
    getsockname(d->fd, (struct sockaddr *)&sa, &l);
    d->port = ntohs(sa.sin_port);
    pthread_create(&d->thread, NULL, dns_serve, d);
}

static void dns_stop(struct dns *d)
{
    shutdown(d->fd, SHUT_RDWR);
    /* recvfrom on a UDP socket is not woken by shutdown everywhere: send a runt */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons(d->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    sendto(s, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa));
    close(s);
    pthread_join(d->thread, NULL);
    close(d->fd);
}

static void test_resolve(void **state)
{
    (void)state;
    _cleanup_free_ char *dir = dv_test_tmpdir("dl-resolve");
    char hosts[4096], resolv[4096], buf[64];
    snprintf(hosts, sizeof(hosts), "%s/hosts", dir);
    snprintf(resolv, sizeof(resolv), "%s/resolv.conf", dir);
    dv_test_write_file(hosts, "# comment\n127.0.0.1\tlocalhost\n10.9.8.7 dockerhost.lan "
                              "DockerHost # trailing\nfe80::1 v6host\n");
    dv_test_write_file(resolv, "search example\n# nameserver 192.0.2.1\nnameserver 127.0.0.1\n");
    struct dns d = {0};
    dns_start(&d);
    dl_resolve_options o = {
        .hosts_path = hosts, .resolv_path = resolv, .dns_port = d.port, .timeout_ns = 500000000};
    dl_addr a[DL_RESOLVE_MAX];
    size_t n = 0;
    dv_error err;

    assert_int_equal(dl_resolve("192.0.2.7", 2375, &o, a, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(text_of(&a[0], buf, sizeof(buf)), "192.0.2.7");
    assert_int_equal(port_of(&a[0]), 2375);
    assert_int_equal(dl_resolve("::1", 2376, &o, a, &n, &err), 0);
    assert_int_equal(a[0].sa.ss_family, AF_INET6);
    assert_int_equal(dl_resolve("LocalHost", 1, &o, a, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(dl_resolve("dockerhost", 2375, &o, a, &n, &err), 0);
    assert_string_equal(text_of(&a[0], buf, sizeof(buf)), "10.9.8.7");
    assert_int_equal(dl_resolve("v6host", 2375, &o, a, &n, &err), 0);
    assert_string_equal(text_of(&a[0], buf, sizeof(buf)), "fe80::1");
    assert_int_equal(d.queries, 0); /* none of these needed DNS */

    assert_int_equal(dl_resolve("docker.test", 2376, &o, a, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(text_of(&a[0], buf, sizeof(buf)), "10.1.2.3");
    assert_int_equal(port_of(&a[0]), 2376);
    assert_int_equal(d.queries, 2); /* A and AAAA */

    assert_int_equal(dl_resolve("nowhere.test", 2375, &o, a, &n, &err), -EHOSTUNREACH);
    assert_non_null(strstr(err.msg, "nowhere.test"));
    dns_stop(&d);
    /* No nameserver answering: a timeout, then the same error. */
    assert_int_equal(dl_resolve("docker.test", 2375, &o, a, &n, &err), -EHOSTUNREACH);
    dv_test_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
