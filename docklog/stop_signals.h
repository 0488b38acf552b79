/* docklog's signals enter through a signalfd (STYLE.md 7): SIGTERM and SIGINT are
 * blocked and read from the fd, which every wait in docklog also polls, so a stop
 * request interrupts a wait at once and is acted on between batches, never in the
 * middle of one. SIGPIPE and SIGHUP are ignored (docklog has its own session). */
#ifndef DL_STOP_SIGNALS_H
#define DL_STOP_SIGNALS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

typedef struct dl_signals {
    int fd;
    bool stop; /* latched: a SIGTERM/SIGINT was received */
    int signo; /* the last one */
} dl_signals;

int dl_signals_open(dl_signals *s, dv_error *err);
void dl_signals_close(dl_signals *s);

/* Read pending signals without blocking; true if a stop was requested (ever). */
bool dl_signals_stop_requested(dl_signals *s);

/* Sleep NS, or less if a stop is requested: returns true then. */
bool dl_signals_sleep(dl_signals *s, int64_t ns);

#endif
