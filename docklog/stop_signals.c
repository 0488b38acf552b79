#include "stop_signals.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "clock.h"

int dl_signals_open(dl_signals *s, dv_error *err)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return dv_error_errno(err, -errno, "sigprocmask");
    s->fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s->fd < 0)
        return dv_error_errno(err, -errno, "signalfd");
    return 0;
}

void dl_signals_close(dl_signals *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

bool dl_signals_stop_requested(dl_signals *s)
{
    struct signalfd_siginfo si;
    while (s->fd >= 0 && read(s->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        s->stop = true;
        s->signo = (int)si.ssi_signo;
    }
    return s->stop;
}

bool dl_signals_sleep(dl_signals *s, int64_t ns)
{
    int64_t deadline = dv_monotonic_ns() + ns;
    while (!dl_signals_stop_requested(s)) {
        int64_t left = deadline - dv_monotonic_ns();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, (int)((left + 999999) / 1000000)) < 0 && errno != EINTR)
            return false;
    }
    return true;
}
