/* Go-style durations ("1h30m", "250ms", "1.5s", "-2m"), as Nomad's configs use.
 * Units: ns, us (or µs), ms, s, m, h. A bare "0" is zero; any other number
 * needs a unit. Junk, a missing unit, or overflow of int64 nanoseconds is an
 * error whose message quotes the input. */
#ifndef DV_DURATION_H
#define DV_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define DV_NSEC_PER_USEC INT64_C(1000)
#define DV_NSEC_PER_MSEC INT64_C(1000000)
#define DV_NSEC_PER_SEC INT64_C(1000000000)

int dv_duration_parse(const char *text, int64_t *ret_ns, dv_error *err);

/* Format like Go's Duration.String(): "1h30m0s", "250ms", "0s". */
void dv_duration_format(int64_t ns, char *buf, size_t size);

#endif
