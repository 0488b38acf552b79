#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"

static int recoverable(dv_error *err, int code)
{
    if (err)
        err->recoverable = true;
    return code;
}

/* TEXT as a numeric IPv4/IPv6 address with PORT; false if it is not one. */
static bool numeric(const char *text, uint16_t port, dl_addr *ret)
{
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
    *ret = a;
    return true;
}

int dl_endpoint_parse(const char *url, bool tls_configured, const char *const *addresses, size_t n,
                      dl_endpoint *ret, dv_error *err)
{
    dl_endpoint ep;
    memset(&ep, 0, sizeof(ep));
    int r = dv_endpoint_parse(url, tls_configured, &ep.url, err);
    if (r < 0 || ep.url.unix_socket) {
        if (r == 0)
            *ret = ep;
        return r;
    }
    if (n > DV_DOCKLOG_ADDRESSES_MAX)
        return dv_error_set(err, -EINVAL, "endpoint \"%s\": more than %d addresses", url,
                            DV_DOCKLOG_ADDRESSES_MAX);
    uint16_t port = (uint16_t)atoi(ep.url.port);
    if (n == 0) {
        if (!numeric(ep.url.host, port, &ep.addrs[0]))
            return dv_error_set(err, -EINVAL,
                                "endpoint \"%s\": host \"%s\" is not a numeric address, and the "
                                "config lists no addresses for it (docklog does not resolve "
                                "host names; the agent does)",
                                url, ep.url.host);
        ep.n_addrs = 1;
    }
    for (size_t i = 0; i < n; i++)
        if (!numeric(addresses[i], port, &ep.addrs[ep.n_addrs++]))
            return dv_error_set(err, -EINVAL,
                                "endpoint \"%s\": address \"%s\" is not a numeric IPv4/IPv6 "
                                "address",
                                url, addresses[i]);
    *ret = ep;
    return 0;
}

/* Wait for EVENTS on the connection or the wake fd, until DEADLINE (monotonic ns;
 * < 0: none). 0 ready, -ETIMEDOUT, -EINTR (woken). */
static int wait_fd(int fd, int wake_fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = wake_fd, .events = POLLIN}};
        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - dv_monotonic_ns();
            if (left <= 0)
                return -ETIMEDOUT;
            timeout = (int)((left + 999999) / 1000000);
        }
        int n = poll(p, wake_fd >= 0 ? 2 : 1, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            continue; /* re-check the deadline */
        if (wake_fd >= 0 && (p[1].revents & POLLIN))
            return -EINTR;
        if (p[0].revents)
            return 0;
    }
}

static int64_t deadline_of(int64_t timeout_ns)
{
    return timeout_ns < 0 ? -1 : dv_monotonic_ns() + timeout_ns;
}

static int connect_addr(const struct sockaddr *sa, socklen_t len, int family, int wake_fd,
                        int64_t deadline, int *ret_fd)
{
    _cleanup_close_ int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (family != AF_UNIX) {
        /* Streams have no read deadline: keepalive finds a peer that vanished without
         * a reset (about 2 minutes). */
        int one = 1, idle = 60, intvl = 10, cnt = 6;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    }
    if (connect(fd, sa, len) < 0) {
        if (errno != EINPROGRESS && errno != EAGAIN)
            return -errno;
        int r = wait_fd(fd, wake_fd, POLLOUT, deadline);
        if (r < 0)
            return r;
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            return -errno;
        if (soerr)
            return -soerr;
    }
    *ret_fd = TAKE_FD(fd);
    return 0;
}

static int handshake(dl_conn *c, int64_t deadline, dv_error *err)
{
    for (;;) {
        bool want_write = false;
        int r = dl_tls_handshake(c->tls, &want_write, err);
        if (r != -EAGAIN)
            return r;
        r = wait_fd(c->fd, c->wake_fd, want_write ? POLLOUT : POLLIN, deadline);
        if (r == -ETIMEDOUT)
            return recoverable(err, dv_error_set(err, r, "TLS handshake: timed out"));
        if (r < 0)
            return dv_error_errno(err, r, "TLS handshake");
    }
}

int dl_conn_open(dl_conn *c, const dl_endpoint *ep, const dl_tls_files *tls, int wake_fd,
                 int64_t timeout_ns, dv_error *err)
{
    int64_t deadline = deadline_of(timeout_ns);
    int fd = -1, r;
    c->fd = -1;
    c->tls = NULL;
    c->wake_fd = wake_fd;
    if (ep->url.tls && !dl_tls_available())
        return dv_error_set(err, -EPROTONOSUPPORT,
                            "endpoint needs TLS: this docklog is built without it (use "
                            "docklog-tls)");
    if (ep->url.unix_socket) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        memcpy(sa.sun_path, ep->url.path, strlen(ep->url.path));
        r = connect_addr((struct sockaddr *)&sa, sizeof(sa), AF_UNIX, wake_fd, deadline, &fd);
        if (r == -EINTR)
            return dv_error_set(err, r, "interrupted");
        if (r < 0)
            return recoverable(err, dv_error_errno(err, r, "connect unix://%s", ep->url.path));
    } else {
        r = -EHOSTUNREACH;
        for (size_t i = 0; i < ep->n_addrs; i++) {
            r = connect_addr((const struct sockaddr *)&ep->addrs[i].sa, ep->addrs[i].len,
                             ep->addrs[i].sa.ss_family, wake_fd, deadline, &fd);
            if (r == 0 || r == -EINTR || r == -ETIMEDOUT)
                break;
        }
        if (r == -EINTR)
            return dv_error_set(err, r, "interrupted");
        if (r < 0)
            return recoverable(err,
                               dv_error_errno(err, r, "connect tcp://%s", ep->url.host_header));
    }
    c->fd = fd;
    if (ep->url.tls) {
        r = dl_tls_new(fd, ep->url.host, tls ? tls->cert : NULL, tls ? tls->key : NULL,
                       tls ? tls->ca : NULL, &c->tls, err);
        if (r >= 0)
            r = handshake(c, deadline, err);
        if (r < 0) {
            dl_conn_close(c);
            return r;
        }
    }
    return 0;
}

int dl_conn_write_all(dl_conn *c, const char *data, size_t len, int64_t timeout_ns, dv_error *err)
{
    int64_t deadline = deadline_of(timeout_ns);
    while (len > 0) {
        bool want_write = true;
        ssize_t n;
        if (c->tls) {
            n = dl_tls_write(c->tls, data, len, &want_write, err);
        } else {
            n = send(c->fd, data, len, MSG_NOSIGNAL);
            if (n < 0)
                n = errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
        if (n == -EINTR)
            continue;
        if (n == -EAGAIN) {
            int r = wait_fd(c->fd, c->wake_fd, want_write ? POLLOUT : POLLIN, deadline);
            if (r == -EINTR)
                return dv_error_set(err, r, "interrupted");
            if (r < 0)
                return recoverable(err, dv_error_errno(err, r, "send request"));
            continue;
        }
        if (n < 0)
            return recoverable(err, c->tls ? (int)n : dv_error_errno(err, (int)n, "send request"));
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t dl_conn_read(dl_conn *c, char *buf, size_t len, int64_t timeout_ns, dv_error *err)
{
    int64_t deadline = deadline_of(timeout_ns);
    for (;;) {
        bool want_write = false;
        ssize_t n;
        if (c->tls) {
            n = dl_tls_read(c->tls, buf, len, &want_write, err);
        } else {
            n = recv(c->fd, buf, len, 0);
            if (n < 0)
                n = errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
        if (n >= 0)
            return n;
        if (n == -EINTR)
            continue;
        if (n != -EAGAIN)
            return recoverable(err, c->tls ? (int)n : dv_error_errno(err, (int)n, "receive"));
        int r = wait_fd(c->fd, c->wake_fd, want_write ? POLLOUT : POLLIN, deadline);
        if (r == -EINTR)
            return dv_error_set(err, r, "interrupted");
        if (r == -ETIMEDOUT)
            return recoverable(err, dv_error_set(err, r, "no answer from the daemon in time"));
        if (r < 0)
            return recoverable(err, dv_error_errno(err, r, "receive"));
    }
}

void dl_conn_close(dl_conn *c)
{
    if (c->tls)
        dl_tls_free(c->tls);
    c->tls = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}
