#include "resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "clock.h"
#include "duration.h"

static bool add(const char *text, uint16_t port, dl_addr *ret, size_t *n)
{
    if (*n >= DL_RESOLVE_MAX)
        return false;
    dl_addr a;
    memset(&a, 0, sizeof(a));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a.sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a.sa;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.len = sizeof(*v6);
    } else {
        return false;
    }
    ret[(*n)++] = a;
    return true;
}

static bool same_name(const char *a, size_t alen, const char *b)
{
    if (alen != strlen(b))
        return false;
    for (size_t i = 0; i < alen; i++) {
        char x = a[i], y = b[i];
        if ((x | 0x20) != (y | 0x20) || ((x | 0x20) < 'a' && x != y))
            return false;
    }
    return true;
}

/* hosts(5): "address name [aliases...]", '#' comments. */
static void from_hosts(const char *path, const char *host, uint16_t port, dl_addr *ret, size_t *n)
{
    _cleanup_free_ char *text = NULL;
    if (dv_read_file(path, &text, NULL, NULL) < 0)
        return;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *ws = NULL;
        char *addr = strtok_r(line, " \t\r", &ws);
        if (!addr)
            continue;
        for (char *name; (name = strtok_r(NULL, " \t\r", &ws));)
            if (same_name(name, strlen(name), host)) {
                add(addr, port, ret, n);
                break;
            }
    }
}

/* ---- DNS (RFC 1035) ---- */

static size_t build_query(uint8_t *q, size_t cap, uint16_t id, const char *host, uint16_t type)
{
    size_t len = 0;
    uint8_t head[12] = {(uint8_t)(id >> 8), (uint8_t)id, 0x01 /* RD */, 0, 0, 1};
    memcpy(q, head, sizeof(head));
    len = sizeof(head);
    for (const char *label = host; *label;) {
        size_t l = strcspn(label, ".");
        if (l == 0 || l > 63 || len + l + 6 > cap)
            return 0;
        q[len++] = (uint8_t)l;
        memcpy(q + len, label, l);
        len += l;
        label += l;
        if (*label == '.')
            label++;
    }
    q[len++] = 0;
    q[len++] = (uint8_t)(type >> 8);
    q[len++] = (uint8_t)type;
    q[len++] = 0;
    q[len++] = 1; /* IN */
    return len;
}

/* Skip a (possibly compressed) name at *off. */
static bool skip_name(const uint8_t *m, size_t len, size_t *off)
{
    while (*off < len) {
        uint8_t l = m[*off];
        if ((l & 0xc0) == 0xc0) {
            *off += 2;
            return *off <= len;
        }
        *off += 1 + l;
        if (l == 0)
            return *off <= len;
    }
    return false;
}

static void parse_answer(const uint8_t *m, size_t len, uint16_t id, uint16_t port, dl_addr *ret,
                         size_t *n)
{
    if (len < 12 || ((m[0] << 8) | m[1]) != id || !(m[2] & 0x80) || (m[3] & 0x0f) != 0)
        return;
    unsigned qd = (unsigned)(m[4] << 8 | m[5]), an = (unsigned)(m[6] << 8 | m[7]);
    size_t off = 12;
    for (unsigned i = 0; i < qd; i++)
        if (!skip_name(m, len, &off) || (off += 4) > len)
            return;
    for (unsigned i = 0; i < an; i++) {
        if (!skip_name(m, len, &off) || off + 10 > len)
            return;
        uint16_t type = (uint16_t)(m[off] << 8 | m[off + 1]);
        uint16_t rdlen = (uint16_t)(m[off + 8] << 8 | m[off + 9]);
        off += 10;
        if (off + rdlen > len)
            return;
        char text[INET6_ADDRSTRLEN];
        if ((type == 1 && rdlen == 4 && inet_ntop(AF_INET, m + off, text, sizeof(text))) ||
            (type == 28 && rdlen == 16 && inet_ntop(AF_INET6, m + off, text, sizeof(text))))
            add(text, port, ret, n);
        off += rdlen; /* CNAMEs and the rest: their addresses follow as A/AAAA */
    }
}

static void ask(const char *server, uint16_t dns_port, const char *host, uint16_t port,
                int64_t timeout_ns, dl_addr *ret, size_t *n)
{
    dl_addr ns[1];
    size_t nn = 0;
    if (!add(server, dns_port, ns, &nn))
        return;
    _cleanup_close_ int fd =
        socket(ns[0].sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ns[0].sa, ns[0].len) < 0)
        return;
    static const uint16_t types[] = {1, 28}; /* A, AAAA */
    for (size_t t = 0; t < 2; t++) {
        uint16_t id;
        if (getrandom(&id, sizeof(id), 0) != sizeof(id))
            id = (uint16_t)dv_monotonic_ns();
        uint8_t q[512], a[1500];
        size_t qlen = build_query(q, sizeof(q), id, host, types[t]);
        if (qlen == 0 || send(fd, q, qlen, 0) < 0)
            return;
        int64_t deadline = dv_monotonic_ns() + timeout_ns;
        for (;;) {
            int64_t left = deadline - dv_monotonic_ns();
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (left <= 0 || poll(&p, 1, (int)(left / DV_NSEC_PER_MSEC) + 1) <= 0)
                break;
            ssize_t r = recv(fd, a, sizeof(a), 0);
            if (r <= 0)
                break;
            if (r >= 2 && ((a[0] << 8) | a[1]) != id)
                continue; /* a stale answer */
            parse_answer(a, (size_t)r, id, port, ret, n);
            break;
        }
    }
}

int dl_resolve(const char *host, uint16_t port, const dl_resolve_options *o, dl_addr *ret,
               size_t *ret_n, dv_error *err)
{
    size_t n = 0;
    if (add(host, port, ret, &n)) {
        *ret_n = n;
        return 0;
    }
    if (same_name(host, strlen(host), "localhost")) {
        add("127.0.0.1", port, ret, &n);
        add("::1", port, ret, &n);
        *ret_n = n;
        return 0;
    }
    from_hosts(o && o->hosts_path ? o->hosts_path : "/etc/hosts", host, port, ret, &n);
    if (n == 0) {
        _cleanup_free_ char *conf = NULL;
        if (dv_read_file(o && o->resolv_path ? o->resolv_path : "/etc/resolv.conf", &conf, NULL,
                         NULL) == 0) {
            int64_t timeout = o && o->timeout_ns ? o->timeout_ns : 2 * DV_NSEC_PER_SEC;
            uint16_t dns_port = o && o->dns_port ? o->dns_port : 53;
            for (char *save = NULL, *line = strtok_r(conf, "\n", &save); line && n == 0;
                 line = strtok_r(NULL, "\n", &save)) {
                char *ws = NULL;
                char *key = strtok_r(line, " \t\r", &ws);
                char *server = key ? strtok_r(NULL, " \t\r", &ws) : NULL;
                if (key && server && strcmp(key, "nameserver") == 0)
                    ask(server, dns_port, host, port, timeout, ret, &n);
            }
        }
    }
    if (n == 0)
        return dv_error_set(err, -EHOSTUNREACH,
                            "cannot resolve \"%s\" (hosts file and DNS; docklog does not apply "
                            "search domains)",
                            host);
    *ret_n = n;
    return 0;
}
