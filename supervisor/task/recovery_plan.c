/* The recovery table (recovery_plan.h). One row per record state; "seen" is
 * what the Engine's container list said of the recorded container.
 *
 *  state       desired  seen                      action
 *  ----------  -------  ------------------------  ------------------------------------------
 *  pending     running  any                       START
 *  pulling     running  any (a previous run's)    START: the pull is simply done again
 *  starting    running  any                       START: the record never learned the new
 *                                                 container; the start job finds it by name
 *                                                 and reuses it if it runs, or removes it
 *  pending,    stopped  any                       SETTLE_STOPPED (the operator's stop came
 *  pulling,                                       while nothing ran; whatever an interrupted
 *  starting                                       start left is removed by recovery)
 *  pulling, starting with a forced destroy        DESTROY
 *  running     any      running, unknown          ADOPT (unknown: the events resync inspects
 *                                                 it as soon as the Engine answers)
 *  running     running  exited                    EXITED, or REBOOTED if the node rebooted
 *  running     running  missing, none             LOST, or REBOOTED if the node rebooted
 *  running     stopped  exited, missing, none     STOPPED (a stop that had failed: the
 *                                                 operator wants it down, no restart)
 *  stopping    any      running, unknown          STOP: stop it again (kill_signal, kill_timeout)
 *  stopping    any      exited, missing, none     STOPPED: an operator restart goes on
 *  restarting  running  any                       REARM: the rest of the persisted delay
 *  exited, failed, stopped                        NOTHING: a finished task stays finished
 *                                                 (and a stopped one stays stopped) across
 *                                                 agent restarts and node reboots
 *  destroying  any      any                       DESTROY
 *
 * Why a reboot is not counted against the restart block: the task did not fail,
 * the node went away; Nomad restores such tasks too. Without a reboot, an exit
 * while the agent was away is an ordinary exit: the restart block decides. */
#include "recovery_plan.h"

#include <assert.h>

static bool container_gone(enum dv_recovery_seen s)
{
    return s == DV_SEEN_EXITED || s == DV_SEEN_MISSING || s == DV_SEEN_NONE;
}

enum dv_recovery_action dv_recovery_decide(const dv_recovery_input *in)
{
    switch (in->state) {
    case DV_TASK_PENDING:
    case DV_TASK_PULLING:
    case DV_TASK_STARTING:
        if (in->destroy_requested)
            return DV_RECOVER_DESTROY;
        return in->desired == DV_DESIRED_RUNNING ? DV_RECOVER_START : DV_RECOVER_SETTLE_STOPPED;
    case DV_TASK_RUNNING:
        if (!container_gone(in->seen))
            return DV_RECOVER_ADOPT;
        if (in->desired == DV_DESIRED_STOPPED)
            return DV_RECOVER_STOPPED;
        if (in->rebooted)
            return DV_RECOVER_REBOOTED;
        return in->seen == DV_SEEN_EXITED ? DV_RECOVER_EXITED : DV_RECOVER_LOST;
    case DV_TASK_STOPPING:
        return container_gone(in->seen) ? DV_RECOVER_STOPPED : DV_RECOVER_STOP;
    case DV_TASK_RESTARTING:
        return DV_RECOVER_REARM;
    case DV_TASK_DESTROYING:
        return DV_RECOVER_DESTROY;
    case DV_TASK_EXITED:
    case DV_TASK_FAILED:
    case DV_TASK_STOPPED:
        return DV_RECOVER_NOTHING;
    default:
        /* a record's state is parsed by name (dv_task_state_from_name): always in range */
        assert(!"task state out of range");
        return DV_RECOVER_NOTHING;
    }
}

bool dv_recovery_needs_exit(enum dv_recovery_action a, enum dv_recovery_seen s)
{
    return s == DV_SEEN_EXITED &&
           (a == DV_RECOVER_EXITED || a == DV_RECOVER_REBOOTED || a == DV_RECOVER_STOPPED);
}

const char *dv_recovery_action_name(enum dv_recovery_action a)
{
    static const char *const names[DV_RECOVER_ACTION_COUNT] = {
        [DV_RECOVER_NOTHING] = "nothing",
        [DV_RECOVER_ADOPT] = "adopt",
        [DV_RECOVER_EXITED] = "exited",
        [DV_RECOVER_LOST] = "lost",
        [DV_RECOVER_START] = "start",
        [DV_RECOVER_REBOOTED] = "rebooted",
        [DV_RECOVER_STOP] = "stop",
        [DV_RECOVER_STOPPED] = "stopped",
        [DV_RECOVER_SETTLE_STOPPED] = "settle-stopped",
        [DV_RECOVER_REARM] = "rearm",
        [DV_RECOVER_DESTROY] = "destroy",
    };
    assert(a < DV_RECOVER_ACTION_COUNT);
    return names[a];
}

const char *dv_recovery_seen_name(enum dv_recovery_seen s)
{
    static const char *const names[DV_SEEN_COUNT] = {
        [DV_SEEN_NONE] = "none",       [DV_SEEN_RUNNING] = "running", [DV_SEEN_EXITED] = "exited",
        [DV_SEEN_MISSING] = "missing", [DV_SEEN_UNKNOWN] = "unknown",
    };
    assert(s < DV_SEEN_COUNT);
    return names[s];
}
