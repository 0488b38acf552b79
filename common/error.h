/* Errors are values.
 *
 * Functions that can fail return 0 (or a non-negative result) on success and a
 * negative errno-style code on failure, and fill a caller-provided dv_error
 * with a human-readable message. Callers add context on the way up with
 * dv_error_wrap(). A NULL dv_error pointer is allowed everywhere and means the
 * caller only wants the code.
 *
 * Library code (common/) never logs and never exits: it returns errors. */
#ifndef DV_ERROR_H
#define DV_ERROR_H

#include <stdbool.h>

#define DV_ERROR_MSG_MAX 1024

typedef struct dv_error {
    int code;         /* negative errno-style code, 0 when no error */
    int http_status;  /* HTTP status of an Engine/agent API error, 0 if none */
    bool recoverable; /* retrying the same operation may succeed (timeout, EOF, 5xx) */
    /* The peer could not be reached at all (connect refused, no socket, connection
     * lost): an outage to wait out, never an answer about the request itself. */
    bool unreachable;
    char msg[DV_ERROR_MSG_MAX];
} dv_error;

/* Reset to "no error". */
void dv_error_clear(dv_error *err);

/* Set code (made negative if positive) and message; clears http_status,
 * recoverable and unreachable. Returns the negative code so callers can `return dv_error_set(...)`.
 */
int dv_error_set(dv_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like dv_error_set, appending ": strerror(code)". */
int dv_error_errno(dv_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the existing message with context ("ctx: old message"). Keeps code,
 * http_status, recoverable and unreachable. Returns err->code (or -EIO if err carries none). */
int dv_error_wrap(dv_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
