/* Signal names <-> numbers, spelled as Docker and Nomad spell them:
 * "SIGTERM", "TERM", "sigterm", "15", "SIGRTMIN+3", "RTMAX-1", "SIGIOT". Used
 * for kill_signal validation, the agent's stop/signal and the CLI. Real-time
 * signals count from glibc's SIGRTMIN (34), as Docker's table does. */
#ifndef DV_SIGNALS_H
#define DV_SIGNALS_H

#include <stddef.h>

#include "error.h"

#define DV_SIGNAL_NAME_MAX 16

/* Parse TEXT (case-insensitive, optional "SIG" prefix, or a number 1..64).
 * Error: `unknown signal "X"`. */
int dv_signal_parse(const char *text, int *ret_signo, dv_error *err);

/* Canonical name of SIGNO into BUF ("SIGTERM", "SIGRTMIN+3", "SIGRTMAX");
 * numbers without a name (32, 33) as decimal. -EINVAL for 0 or > 64. */
int dv_signal_name(int signo, char *buf, size_t size);

#endif
