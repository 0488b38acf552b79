/* Log entries lost before docklog could read them, as docklog records them for the
 * agent (DESIGN.md, Logs: loss is never silent). One definition of the record, so
 * docklog's writer and the agent's reader always agree.
 *
 * File tasks/<id>/docklog.gaps: append-only, one JSON object per line, never
 * rewritten, removed with the task dir:
 *   {"stream":"stdout","container_id":"<64 hex>",
 *    "after_ns":N,"after":"<RFC3339Nano>",     the last entry delivered before the gap
 *    "before_ns":M,"before":"<RFC3339Nano>",   the first entry Docker still had
 *    "at_ns":T}                                when docklog noticed (CLOCK_REALTIME)
 * The entries Docker stamped in (after, before) may be gone: Docker rotated its log
 * file past them before they were read. How many is unknown (the Engine API does not
 * say); the window is exact. The agent keeps how many lines it has reported in the
 * task record, so each gap becomes one task event, also across agent restarts. */
#ifndef DV_LOG_GAPS_H
#define DV_LOG_GAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct dv_log_gap {
    int stream; /* 0 stdout, 1 stderr */
    char container_id[80];
    int64_t after_ns;
    int64_t before_ns;
    int64_t at_ns;
} dv_log_gap;

#define DV_LOG_GAP_LINE_MAX 512

/* The record's line, '\n' included, into BUF (DV_LOG_GAP_LINE_MAX). Returns its length. */
size_t dv_log_gap_format(const dv_log_gap *gap, char buf[DV_LOG_GAP_LINE_MAX]);

/* Parse one line (without or with its '\n'). -EINVAL for anything else. */
int dv_log_gap_parse(const char *line, size_t len, dv_log_gap *ret, dv_error *err);

const char *dv_log_gap_stream_name(int stream);

#endif
