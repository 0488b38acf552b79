/* The agent's metrics in Prometheus' text format (version 0.0.4), served by GET
 * /v1/metrics on the API socket and by the optional TCP listener
 * (metrics_listener.h). DESIGN.md, Metrics, lists the series.
 *
 * Contract: loop thread only. Rendering reads what the loop holds (the task table,
 * counters, the last per-task samples of task_samples.h) and the thread-safe
 * histograms; it never calls the Engine and reads no file but one statvfs. Each
 * family is written once, its HELP and TYPE first, its samples together. */
#ifndef DV_METRICS_H
#define DV_METRICS_H

#include "agent.h"
#include "buf.h"

#define DV_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

void dv_metrics_render(dv_agent *a, dv_buf *b);

#endif
