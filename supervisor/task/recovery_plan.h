/* What recovery does with each task after an agent restart: a pure decision
 * from the record (state, desired state, pending forced destroy, the boot it
 * was written in) and what the Engine says of its container. Nothing here
 * touches a task; recovery.c carries the action out through the state machine,
 * so a recovered task goes through the same transitions (events, restart
 * policy, persisted record) as a live one. The table is in recovery_plan.c. */
#ifndef DV_RECOVERY_PLAN_H
#define DV_RECOVERY_PLAN_H

#include <stdbool.h>

#include "task.h"

/* What the Engine's container list said of the task's container. */
enum dv_recovery_seen {
    DV_SEEN_NONE,    /* the record names no container */
    DV_SEEN_RUNNING, /* the recorded container runs (or is paused) */
    DV_SEEN_EXITED,  /* the recorded container exists and does not run */
    DV_SEEN_MISSING, /* the record names a container the Engine does not have */
    DV_SEEN_UNKNOWN, /* the Engine did not answer: the events resync looks later */
    DV_SEEN_COUNT
};

typedef struct dv_recovery_input {
    enum dv_task_state state;
    enum dv_task_desired desired;
    bool destroy_requested;
    enum dv_recovery_seen seen;
    bool rebooted; /* the record was written before the node's last boot */
} dv_recovery_input;

enum dv_recovery_action {
    DV_RECOVER_NOTHING,  /* as it was (a finished task) */
    DV_RECOVER_ADOPT,    /* its container runs: keep it, its ports and its helper */
    DV_RECOVER_EXITED,   /* it ended while the agent was away: its exit and the restart policy */
    DV_RECOVER_LOST,     /* its container vanished: "container lost", then the restart policy */
    DV_RECOVER_START,    /* begin again from the image step (an interrupted start) */
    DV_RECOVER_REBOOTED, /* the node rebooted under it: start again, not counted as a failure */
    DV_RECOVER_STOP,     /* an interrupted stop of a running container: stop it again */
    DV_RECOVER_STOPPED,  /* the stop finished while away: record the exit, stopped (or the
                          * operator's restart goes on) */
    DV_RECOVER_SETTLE_STOPPED, /* stopped by the operator before anything ran: stopped */
    DV_RECOVER_REARM,          /* waiting to restart: re-arm what is left of the delay */
    DV_RECOVER_DESTROY,        /* finish the destroy (every step is idempotent) */
    DV_RECOVER_ACTION_COUNT
};

enum dv_recovery_action dv_recovery_decide(const dv_recovery_input *in);

const char *dv_recovery_action_name(enum dv_recovery_action a);
const char *dv_recovery_seen_name(enum dv_recovery_seen s);

/* Does the action need the container's exit result (an inspect)? */
bool dv_recovery_needs_exit(enum dv_recovery_action a, enum dv_recovery_seen s);

#endif
