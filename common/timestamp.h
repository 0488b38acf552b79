/* Docker's timestamps as int64 nanoseconds since the Unix epoch (UTC).
 *
 * Docker writes RFC3339Nano: "2024-05-01T12:34:56.123456789Z" (the log stream uses a
 * fixed 9-digit fraction, inspect trims trailing zeros, either may carry a "+02:00"
 * offset instead of "Z"). Its `since`/`until` query parameters take
 * "SECONDS.NANOSECONDS". Both conversions are exact to the nanosecond, so a
 * timestamp read from a log entry can be handed back as `since` without drift.
 *
 * Range: int64 ns covers 1677-09-21 .. 2262-04-11. Go's zero time
 * "0001-01-01T00:00:00Z" (Docker's "never", e.g. FinishedAt of a running
 * container) parses as DV_TIMESTAMP_ZERO; any other out-of-range time is -ERANGE.
 * Pure functions: no I/O, no locale, no time zone database. */
#ifndef DV_TIMESTAMP_H
#define DV_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* What Go's zero time parses to. INT64_MIN, not 0: the epoch is a real time. */
#define DV_TIMESTAMP_ZERO INT64_MIN

/* Longest formatted RFC3339Nano UTC timestamp plus NUL ("2262-04-11T23:47:16.854775807Z"). */
#define DV_TIMESTAMP_MAX 40
/* Longest "SECONDS.NANOSECONDS" plus NUL. */
#define DV_TIMESTAMP_SINCE_MAX 32

/* Parse LEN bytes of TEXT (need not be NUL-terminated) as RFC3339 with 0-9 fraction
 * digits and "Z" or "+hh:mm"/"-hh:mm". The whole input must be the timestamp.
 * -EINVAL (message quotes the input) for anything else, -ERANGE out of range. */
int dv_timestamp_parse(const char *text, size_t len, int64_t *ret_ns, dv_error *err);

/* Format as RFC3339Nano in UTC with trailing zeros of the fraction trimmed, like Go's
 * time.RFC3339Nano ("...:56.1234Z", "...:56Z"). DV_TIMESTAMP_ZERO formats as Go's
 * zero time. */
void dv_timestamp_format(int64_t ns, char buf[DV_TIMESTAMP_MAX]);

/* Format with exactly 9 fraction digits, like Docker's log stream (RFC3339NanoFixed). */
void dv_timestamp_format_fixed(int64_t ns, char buf[DV_TIMESTAMP_MAX]);

/* Docker's since/until query value: "1714566896.123456789" (exactly 9 digits; a
 * negative time gives "-5.000000000" style with the fraction counted forward, as
 * Docker's parser expects: -4.5 s is "-5.500000000"). */
void dv_timestamp_since(int64_t ns, char buf[DV_TIMESTAMP_SINCE_MAX]);

#endif
