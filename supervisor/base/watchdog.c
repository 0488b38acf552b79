#include "watchdog.h"

#include <errno.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>

#include "clock.h"
#include "xalloc.h"

struct dv_watchdog {
    dv_timer *timer;
    int64_t interval_ns;
    int64_t last_ns; /* CLOCK_MONOTONIC of the last WATCHDOG=1 */
};

static void send_keepalive(dv_watchdog *w)
{
    sd_notify(0, "WATCHDOG=1");
    w->last_ns = dv_monotonic_ns();
}

static void on_timer(dv_loop *loop, void *userdata)
{
    (void)loop;
    dv_watchdog *w = userdata;
    send_keepalive(w);
    dv_timer_arm(w->timer, w->interval_ns / 2);
}

int dv_watchdog_start(dv_loop *loop, dv_watchdog **ret, dv_error *err)
{
    uint64_t usec = 0;
    /* Keep WATCHDOG_USEC in the environment: unsetenv() would race with the
     * threads already running, and the docklog helpers ignore it. */
    int r = sd_watchdog_enabled(0, &usec);
    if (r < 0)
        return dv_error_errno(err, r, "WATCHDOG_USEC");
    if (r == 0 || usec == 0) {
        *ret = NULL;
        return 0;
    }
    dv_watchdog *w = dv_xcalloc(1, sizeof(*w));
    w->interval_ns = (int64_t)usec * 1000;
    w->timer = dv_timer_new(loop, on_timer, w);
    send_keepalive(w);
    dv_timer_arm(w->timer, w->interval_ns / 2);
    *ret = w;
    return 0;
}

void dv_watchdog_free(dv_watchdog *w)
{
    if (!w)
        return;
    dv_timer_free(w->timer);
    free(w);
}

int64_t dv_watchdog_interval_ns(const dv_watchdog *w)
{
    return w ? w->interval_ns : 0;
}

void dv_watchdog_kick(dv_watchdog *w)
{
    if (w && dv_monotonic_ns() - w->last_ns >= w->interval_ns / 2)
        send_keepalive(w);
}
