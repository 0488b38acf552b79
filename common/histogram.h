/* A Prometheus histogram any thread may observe into, and its text exposition.
 *
 * Contract:
 * - Bounds are fixed at init (ascending, in the metric's base unit, seconds for
 *   durations); +Inf is implied. Observing takes a mutex held for a few
 *   additions, so worker threads may observe while the loop renders.
 * - dv_histogram_render() appends only the samples (the _bucket lines with "le",
 *   cumulative, then _sum and _count) for one label set: the caller writes the
 *   family's HELP and TYPE once and keeps a family's samples together, as the
 *   exposition format requires.
 * - A zero-initialised dv_histogram is unusable: call dv_histogram_init(). */
#ifndef DV_HISTOGRAM_H
#define DV_HISTOGRAM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define DV_HISTOGRAM_MAX_BOUNDS 16

typedef struct dv_histogram {
    pthread_mutex_t lock;
    size_t nbounds;
    double bounds[DV_HISTOGRAM_MAX_BOUNDS];
    uint64_t counts[DV_HISTOGRAM_MAX_BOUNDS + 1]; /* per bucket, not cumulative; last: +Inf */
    double sum;
} dv_histogram;

/* Engine API calls: 5 ms to 30 s. */
extern const double dv_histogram_latency_bounds[];
extern const size_t dv_histogram_latency_nbounds;

/* NBOUNDS <= DV_HISTOGRAM_MAX_BOUNDS, BOUNDS ascending. */
void dv_histogram_init(dv_histogram *h, const double *bounds, size_t nbounds);
void dv_histogram_destroy(dv_histogram *h);
void dv_histogram_observe(dv_histogram *h, double value);

/* NAME_bucket{LABELS,le="..."} lines, NAME_sum{LABELS}, NAME_count{LABELS}.
 * LABELS is the inside of the braces ("client=\"main\""), or "" for none; the
 * caller escapes its values (dv_prom_label_value). */
void dv_histogram_render(dv_histogram *h, const char *name, const char *labels, dv_buf *b);

/* Prometheus label value escaping (backslash, double quote, newline) of S into B. */
void dv_prom_label_value(dv_buf *b, const char *s);

#endif
