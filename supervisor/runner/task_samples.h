/* Per-task figures for /metrics that cost a call to the Engine or a file read: the
 * container's CPU time and memory, and how far its docklog got (the checkpoint's
 * "progress", common/docklog_protocol.h).
 *
 * Why a collector: the metrics answer must never wait for the Engine (a wedged
 * daemon would hang every scrape) nor read hundreds of files on the loop. So every
 * DV_TASK_SAMPLES_PERIOD one job on the background lane takes a sample of every
 * task: GET /containers/{id}/stats?one-shot (the quick client, 10 s deadline) for a
 * running container, and the docklog checkpoint, if it is for the task's current
 * container. The loop keeps the last samples; /metrics serves them with their age.
 * Why the Engine and not the cgroup files: the container's cgroup path depends on
 * the cgroup version and driver (and on a remote Engine there is none to read); one
 * one-shot stats call per task every 15 s is cheap. An Engine that cannot be reached
 * ends the round's stats calls (one failure, not one per task); the figures of the
 * previous round are then kept, and grow old.
 *
 * The agent runs the collector only when telemetry.prometheus_address is set: an
 * agent nobody scrapes does not wake every 15 s (an idle agent stays idle), and
 * its /v1/metrics then has no per-task CPU, memory or docklog series.
 *
 * Loop thread only (the job's worker touches nothing of the runtime but the
 * thread-safe Engine client). */
#ifndef DV_TASK_SAMPLES_H
#define DV_TASK_SAMPLES_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime.h"
#include "uuid.h"

#define DV_TASK_SAMPLES_PERIOD (15 * DV_NSEC_PER_SEC)

typedef struct dv_task_sample {
    char task_id[DV_UUID_STRLEN + 1];
    /* The container's, from the Engine. */
    bool has_stats;
    int64_t stats_at_ns;   /* CLOCK_MONOTONIC of the answer */
    uint64_t cpu_usage_ns; /* cpu_stats.cpu_usage.total_usage */
    uint64_t memory_bytes; /* usage without the inactive page cache, as `docker stats` */
    /* docklog's, from its checkpoint for the current container. */
    bool has_progress;
    uint64_t log_entries, log_bytes, log_starts;
    int64_t log_lag_ns;
    int64_t log_at_ns; /* CLOCK_REALTIME of the last delivered batch; 0: none */
} dv_task_sample;

typedef struct dv_task_samples dv_task_samples;

/* Takes the first sample soon after the start, then every DV_TASK_SAMPLES_PERIOD. */
dv_task_samples *dv_task_samples_new(dv_runtime *run);
/* After the lanes are shut down (a finished job may still be queued for the loop). */
void dv_task_samples_free(dv_task_samples *s);
/* The last sample of task TASK_ID, NULL when there is none (S may be NULL). */
const dv_task_sample *dv_task_samples_get(const dv_task_samples *s, const char *task_id);

/* Pure (exposed for tests): fill the stats part of OUT from a stats answer S. */
void dv_task_sample_from_stats(const json_t *s, dv_task_sample *out);
/* Pure (exposed for tests): fill the docklog part of OUT from checkpoint CP when it
 * is for CONTAINER_ID; false (OUT untouched) otherwise. */
bool dv_task_sample_from_checkpoint(const json_t *cp, const char *container_id,
                                    dv_task_sample *out);

#endif
