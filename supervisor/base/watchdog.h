/* systemd's watchdog (WatchdogSec= in dockvisor.service): WATCHDOG=1 from the
 * event loop, so a wedged loop (not merely a live process) gets the agent
 * restarted. systemd says whether it wants keep-alives, and how often, through
 * sd_watchdog_enabled() (WATCHDOG_USEC, WATCHDOG_PID); the agent then sends one
 * every half interval, as sd_watchdog_enabled(3) advises. When systemd did not
 * ask, nothing is armed: the loop never wakes for it. */
#ifndef DV_WATCHDOG_H
#define DV_WATCHDOG_H

#include <stdint.h>

#include "error.h"
#include "loop.h"

typedef struct dv_watchdog dv_watchdog;

/* *RET is NULL when systemd asked for no keep-alives (not an error). */
int dv_watchdog_start(dv_loop *loop, dv_watchdog **ret, dv_error *err);
void dv_watchdog_free(dv_watchdog *w);

/* The keep-alive interval systemd asked for (0 for a NULL watchdog). */
int64_t dv_watchdog_interval_ns(const dv_watchdog *w);

/* For long work before the loop runs (recovery): send WATCHDOG=1 now if half an
 * interval passed since the last one. A NULL watchdog does nothing. */
void dv_watchdog_kick(dv_watchdog *w);

#endif
