#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"

int dl_journal_open(dl_journal *j, const char *socket_path, dv_error *err)
{
    *j = (dl_journal){.fd = -1, .pause_ns = DL_JOURNAL_PAUSE_FIRST_NS};
    if (strlen(socket_path) >= sizeof(j->path))
        return dv_error_set(err, -ENAMETOOLONG, "journal socket path too long: %s", socket_path);
    snprintf(j->path, sizeof(j->path), "%s", socket_path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return dv_error_errno(err, -errno, "journal socket");
    /* One slice of a wait in the kernel for room in journald's queue (send_message). */
    struct timeval tv = {.tv_usec = DL_JOURNAL_WAIT_SLICE_NS / DV_NSEC_PER_USEC};
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    /* Like sd_journal_sendv: a larger send buffer lets most entries go as one datagram
     * (the kernel caps it at wmem_max unless we are privileged). */
    int size = 8 * 1024 * 1024;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    j->fd = fd;
    return 0;
}

void dl_journal_close(dl_journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
}

void dl_journal_on_wait(dl_journal *j, void (*fn)(void *userdata), void *userdata)
{
    j->waiting = fn;
    j->waiting_userdata = userdata;
}

void dl_journal_waiting(dl_journal *j)
{
    if (j && j->waiting)
        j->waiting(j->waiting_userdata);
}

static socklen_t address(const dl_journal *j, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, j->path, strlen(j->path));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(j->path));
}

static int64_t shorter(int64_t pause_ns)
{
    return pause_ns / 2 < DL_JOURNAL_PAUSE_MIN_NS ? DL_JOURNAL_PAUSE_MIN_NS : pause_ns / 2;
}

int64_t dl_journal_pause(int64_t pause_ns, unsigned sent)
{
    if (sent < 3)
        return pause_ns * 2 > DL_JOURNAL_PAUSE_MAX_NS ? DL_JOURNAL_PAUSE_MAX_NS : pause_ns * 2;
    return sent > 7 ? shorter(pause_ns) : pause_ns;
}

/* One sendmsg() of MH with FLAGS, again on EINTR. 0, or -errno (errno set). */
static int send_once(dl_journal *j, const struct msghdr *mh, int flags)
{
    for (;;) {
        if (sendmsg(j->fd, mh, MSG_NOSIGNAL | flags) >= 0) {
            j->sent++;
            return 0;
        }
        if (errno != EINTR)
            return -errno;
    }
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / DV_NSEC_PER_SEC, .tv_nsec = ns % DV_NSEC_PER_SEC};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
        ;
}

/* Send MH: at once when journald's queue has room. When it is full, one sleep of the
 * adaptive pause first (journald takes a few entries meanwhile, with no one to wake),
 * then, if it is still full, a wait in the kernel's queue of blocked senders, which
 * journald's receives wake one at a time, in slices of DL_JOURNAL_WAIT_SLICE_NS (the
 * socket's SO_SNDTIMEO) with the caller's hook between them, for at most
 * DL_JOURNAL_SEND_TIMEOUT_NS in all. Not timed sleeps throughout: every sleeping
 * sender wakes on its own timer, and with hundreds of helpers on one queue that herd
 * took the machine (300 tasks: load 154, test_scale_inotify_default timed out).
 * 0, or -errno (errno set as well). */
static int send_message(dl_journal *j, const struct msghdr *mh)
{
    int r = send_once(j, mh, MSG_DONTWAIT);
    if (r != -EAGAIN)
        return r;
    int64_t now = dv_monotonic_ns();
    int64_t deadline = now + DL_JOURNAL_SEND_TIMEOUT_NS;
    /* Sent in one go since the last sleep: that sleep's yield. After a longer while,
     * or a wait in the kernel, this is a new flood: start from the last pause. */
    if (j->woke_ns > 0 && now - j->woke_ns < DL_JOURNAL_PAUSE_MAX_NS)
        j->pause_ns = dl_journal_pause(j->pause_ns, j->sent);
    dl_journal_waiting(j);
    sleep_ns(j->pause_ns);
    j->sent = 0;
    j->woke_ns = dv_monotonic_ns();
    if ((r = send_once(j, mh, MSG_DONTWAIT)) != -EAGAIN)
        return r;
    /* Still no room: other senders took it, or journald stalled. Sleeping longer
     * would not help either: shorter next time, and queue up in the kernel. */
    j->pause_ns = shorter(j->pause_ns);
    j->woke_ns = 0;
    for (;;) {
        if ((r = send_once(j, mh, 0)) != -EAGAIN)
            return r;
        if (dv_monotonic_ns() >= deadline) {
            errno = EAGAIN;
            return -EAGAIN;
        }
        dl_journal_waiting(j);
    }
}

static int send_memfd(dl_journal *j, const struct iovec *iov, int iovcnt, dv_error *err)
{
    _cleanup_close_ int mfd = memfd_create("docklog-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0)
        return dv_error_errno(err, -errno, "journal: memfd_create");
    for (int i = 0; i < iovcnt; i++) {
        const char *p = iov[i].iov_base;
        for (size_t left = iov[i].iov_len; left > 0;) {
            ssize_t n = write(mfd, p, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return dv_error_errno(err, n < 0 ? -errno : -EIO, "journal: write memfd");
            p += n;
            left -= (size_t)n;
        }
    }
    /* journald only accepts a sealed memfd: the content cannot change under it. */
    if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        return dv_error_errno(err, -errno, "journal: seal memfd");

    struct sockaddr_un sa;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof(control));
    struct msghdr mh = {
        .msg_name = &sa,
        .msg_namelen = address(j, &sa),
        .msg_control = control.buf,
        .msg_controllen = sizeof(control.buf),
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &mfd, sizeof(int));
    if (send_message(j, &mh) < 0)
        return dv_error_errno(err, -errno, "journal: send %s (memfd)", j->path);
    return 0;
}

int dl_journal_send(dl_journal *j, const dl_journal_field *fields, size_t n, dv_error *err)
{
    if (n > DL_JOURNAL_MAX_FIELDS)
        return dv_error_set(err, -E2BIG, "journal: too many fields");
    struct iovec iov[DL_JOURNAL_MAX_FIELDS * 4];
    uint64_t lens[DL_JOURNAL_MAX_FIELDS];
    int cnt = 0;
    for (size_t i = 0; i < n; i++) {
        const dl_journal_field *f = &fields[i];
        iov[cnt++] = (struct iovec){(void *)f->name, strlen(f->name)};
        if (memchr(f->value, '\n', f->len)) {
            uint64_t le = f->len;
            unsigned char *b = (unsigned char *)&lens[i];
            for (int k = 0; k < 8; k++, le >>= 8)
                b[k] = (unsigned char)(le & 0xff);
            iov[cnt++] = (struct iovec){"\n", 1};
            iov[cnt++] = (struct iovec){&lens[i], 8};
        } else {
            iov[cnt++] = (struct iovec){"=", 1};
        }
        iov[cnt++] = (struct iovec){(void *)f->value, f->len};
        iov[cnt++] = (struct iovec){"\n", 1};
    }

    if (!j->force_memfd) {
        struct sockaddr_un sa;
        struct msghdr mh = {
            .msg_name = &sa,
            .msg_namelen = address(j, &sa),
            .msg_iov = iov,
            .msg_iovlen = (size_t)cnt,
        };
        if (send_message(j, &mh) == 0)
            return 0;
        if (errno != EMSGSIZE && errno != ENOBUFS)
            return dv_error_errno(err, -errno, "journal: send %s", j->path);
    }
    return send_memfd(j, iov, cnt, err);
}
