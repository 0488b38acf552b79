/* How long image pulls take: the histogram dockvisor_image_pull_duration_seconds,
 * by result (success, failure). A pull is the Engine's POST /images/create from
 * its first byte to the end of its progress stream; a pull that was cancelled (the
 * task was stopped or destroyed meanwhile) says nothing of the registry and is not
 * counted. Images already present are not pulled and not counted.
 *
 * Thread-safe: image jobs observe from worker threads while the loop renders. */
#ifndef DV_PULL_METRICS_H
#define DV_PULL_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

typedef struct dv_pull_metrics dv_pull_metrics;

dv_pull_metrics *dv_pull_metrics_new(void);
void dv_pull_metrics_free(dv_pull_metrics *m);
/* One finished pull of ELAPSED_NS. PM may be NULL (nothing is counted). */
void dv_pull_metrics_observe(dv_pull_metrics *pm, int64_t elapsed_ns, bool ok);
/* The family, HELP and TYPE included. */
void dv_pull_metrics_render(dv_pull_metrics *pm, dv_buf *b);

#endif
