#include "transport.h"

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
#include "resolve.h"

static int recoverable(dv_error *err, int code)
{
    if (err)
        err->recoverable = true;
    return code;
}

int dl_endpoint_parse(const char *url, bool tls_configured, dl_endpoint *ret, dv_error *err)
{
    dl_endpoint ep;
    memset(&ep, 0, sizeof(ep));
    const char *rest;
    if (strncmp(url, "unix://", 7) == 0) {
        rest = url + 7;
        if (*rest != '/' || strlen(rest) >= sizeof(ep.path))
            return dv_error_set(err, -EINVAL, "endpoint \"%s\": expected unix:///absolute/path",
                                url);
        ep.unix_socket = true;
        snprintf(ep.path, sizeof(ep.path), "%s", rest);
        snprintf(ep.host_header, sizeof(ep.host_header), "docker");
        *ret = ep;
        return 0;
    }
    if (strncmp(url, "tcp://", 6) == 0) {
        rest = url + 6;
        ep.tls = tls_configured;
    } else if (strncmp(url, "http://", 7) == 0) {
        rest = url + 7;
    } else if (strncmp(url, "https://", 8) == 0) {
        rest = url + 8;
        ep.tls = true;
    } else {
        return dv_error_set(err, -EINVAL,
                            "endpoint \"%s\": unsupported scheme (unix://, tcp://, http://, "
                            "https://)",
                            url);
    }
    size_t hostlen;
    const char *after;
    if (*rest == '[') {
        const char *close = strchr(rest, ']');
        if (!close)
            return dv_error_set(err, -EINVAL, "endpoint \"%s\": unterminated [IPv6]", url);
        hostlen = (size_t)(close - rest - 1);
        memcpy(ep.host, rest + 1, hostlen < sizeof(ep.host) ? hostlen : 0);
        after = close + 1;
    } else {
        hostlen = strcspn(rest, ":/");
        if (hostlen < sizeof(ep.host))
            memcpy(ep.host, rest, hostlen);
        after = rest + hostlen;
    }
    if (hostlen == 0 || hostlen >= sizeof(ep.host))
        return dv_error_set(err, -EINVAL, "endpoint \"%s\": missing or bad host", url);
    ep.host[hostlen] = '\0';
    if (*after == ':') {
        after++;
        size_t n = strspn(after, "0123456789");
        long port = n ? strtol(after, NULL, 10) : 0;
        if (n == 0 || n >= sizeof(ep.port) || port < 1 || port > 65535)
            return dv_error_set(err, -EINVAL, "endpoint \"%s\": bad port", url);
        memcpy(ep.port, after, n);
        after += n;
    } else {
        snprintf(ep.port, sizeof(ep.port), "%s", ep.tls ? "2376" : "2375");
    }
    if (*after != '\0' && strcmp(after, "/") != 0)
        return dv_error_set(err, -EINVAL, "endpoint \"%s\": unexpected path \"%s\"", url, after);
    bool v6 = strchr(ep.host, ':') != NULL;
    snprintf(ep.host_header, sizeof(ep.host_header), "%s%s%s:%s", v6 ? "[" : "", ep.host,
             v6 ? "]" : "", ep.port);
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
    if (ep->tls && !dl_tls_available())
        return dv_error_set(err, -EPROTONOSUPPORT,
                            "endpoint needs TLS: this docklog is built without it (use "
                            "docklog-tls)");
    if (ep->unix_socket) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        memcpy(sa.sun_path, ep->path, strlen(ep->path));
        r = connect_addr((struct sockaddr *)&sa, sizeof(sa), AF_UNIX, wake_fd, deadline, &fd);
        if (r == -EINTR)
            return dv_error_set(err, r, "interrupted");
        if (r < 0)
            return recoverable(err, dv_error_errno(err, r, "connect unix://%s", ep->path));
    } else {
        dl_addr addrs[DL_RESOLVE_MAX];
        size_t n = 0;
        r = dl_resolve(ep->host, (uint16_t)atoi(ep->port), NULL, addrs, &n, err);
        if (r < 0)
            return recoverable(err, r); /* DNS may come back */
        r = -EHOSTUNREACH;
        for (size_t i = 0; i < n; i++) {
            r = connect_addr((struct sockaddr *)&addrs[i].sa, addrs[i].len, addrs[i].sa.ss_family,
                             wake_fd, deadline, &fd);
            if (r == 0 || r == -EINTR || r == -ETIMEDOUT)
                break;
        }
        if (r == -EINTR)
            return dv_error_set(err, r, "interrupted");
        if (r < 0)
            return recoverable(err, dv_error_errno(err, r, "connect tcp://%s", ep->host_header));
    }
    c->fd = fd;
    if (ep->tls) {
        r = dl_tls_new(fd, ep->host, tls ? tls->cert : NULL, tls ? tls->key : NULL,
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
