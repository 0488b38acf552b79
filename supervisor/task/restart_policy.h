/* Nomad's restart block, as a pure decision function.
 *
 * After a task's container ends, the agent asks dv_restart_decide() what to do:
 * - a clean exit (code 0, not OOM-killed) completes the task: no restart;
 * - otherwise the failure counts against `attempts` within `interval`. While
 *   attempts remain, restart after `delay` plus up to 25% jitter (as Nomad does,
 *   so a crash-looping fleet does not restart in lock step);
 * - when attempts are exhausted: mode "fail" fails the task for good; mode
 *   "delay" waits until the current interval has passed, then restarts with a
 *   fresh count.
 * The tracker is plain data so it is persisted with the task record and the
 * count survives agent restarts. Time is passed in (CLOCK_REALTIME ns) so the
 * decision is testable and meaningful across an agent restart. */
#ifndef DV_RESTART_POLICY_H
#define DV_RESTART_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

enum dv_restart_mode { DV_RESTART_MODE_FAIL, DV_RESTART_MODE_DELAY };

typedef struct dv_restart_policy {
    int attempts;        /* restarts allowed within interval; 0 = never restart */
    int64_t interval_ns; /* window in which attempts are counted */
    int64_t delay_ns;    /* wait before each restart */
    enum dv_restart_mode mode;
} dv_restart_policy;

/* Nomad's defaults for service jobs: 2 attempts in 30m, 15s delay, mode fail. */
void dv_restart_policy_default(dv_restart_policy *ret);

typedef struct dv_restart_tracker {
    int64_t interval_start_ns; /* when the current counting window began; 0 = none yet */
    int count;                 /* failures counted in the current window */
    int total;                 /* restarts performed over the task's life (for status) */
} dv_restart_tracker;

enum dv_restart_verdict {
    DV_RESTART_NONE,  /* exited successfully: the task is complete */
    DV_RESTART_AFTER, /* restart after *ret_delay_ns */
    DV_RESTART_FAIL,  /* attempts exhausted in mode fail: the task is failed */
};

typedef struct dv_restart_decision {
    enum dv_restart_verdict verdict;
    int64_t delay_ns;
    char reason[160]; /* operator-facing, e.g. "restarting in 15.8s (attempt 1 of 2)" */
} dv_restart_decision;

/* Decide and update TRACKER. FAILED: the exit was not a clean success.
 * JITTER in [0,1) scales the random part of the delay (callers pass a random
 * number; tests pass fixed values). */
void dv_restart_decide(const dv_restart_policy *policy, dv_restart_tracker *tracker, bool failed,
                       int64_t now_ns, double jitter, dv_restart_decision *ret);

/* Persistence of the tracker inside the task record. */
json_t *dv_restart_tracker_to_json(const dv_restart_tracker *tracker);
int dv_restart_tracker_from_json(const json_t *json, dv_restart_tracker *ret, dv_error *err);

#endif
