/* The recovery table: explicit rows, and the promises that must hold over every
 * combination (a stopped task stays stopped, a running container is never
 * replaced, a finished task stays finished). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "recovery_plan.h"

#define R DV_DESIRED_RUNNING
#define S DV_DESIRED_STOPPED

static void test_rows(void **state)
{
    (void)state;
    static const struct {
        enum dv_task_state st;
        enum dv_task_desired desired;
        bool destroy;
        enum dv_recovery_seen seen;
        bool rebooted;
        enum dv_recovery_action want;
    } rows[] = {
        {DV_TASK_PENDING, R, false, DV_SEEN_NONE, false, DV_RECOVER_START},
        {DV_TASK_PULLING, R, false, DV_SEEN_EXITED, false, DV_RECOVER_START},
        {DV_TASK_STARTING, R, false, DV_SEEN_MISSING, true, DV_RECOVER_START},
        {DV_TASK_STARTING, S, false, DV_SEEN_NONE, false, DV_RECOVER_SETTLE_STOPPED},
        {DV_TASK_PULLING, S, false, DV_SEEN_NONE, false, DV_RECOVER_SETTLE_STOPPED},
        {DV_TASK_STARTING, R, true, DV_SEEN_NONE, false, DV_RECOVER_DESTROY},
        {DV_TASK_RUNNING, R, false, DV_SEEN_RUNNING, false, DV_RECOVER_ADOPT},
        {DV_TASK_RUNNING, R, false, DV_SEEN_RUNNING, true, DV_RECOVER_ADOPT},
        {DV_TASK_RUNNING, R, false, DV_SEEN_UNKNOWN, true, DV_RECOVER_ADOPT},
        {DV_TASK_RUNNING, R, false, DV_SEEN_EXITED, false, DV_RECOVER_EXITED},
        {DV_TASK_RUNNING, R, false, DV_SEEN_EXITED, true, DV_RECOVER_REBOOTED},
        {DV_TASK_RUNNING, R, false, DV_SEEN_MISSING, false, DV_RECOVER_LOST},
        {DV_TASK_RUNNING, R, false, DV_SEEN_MISSING, true, DV_RECOVER_REBOOTED},
        {DV_TASK_RUNNING, S, false, DV_SEEN_EXITED, true, DV_RECOVER_STOPPED},
        {DV_TASK_STOPPING, S, false, DV_SEEN_RUNNING, false, DV_RECOVER_STOP},
        {DV_TASK_STOPPING, R, false, DV_SEEN_UNKNOWN, false, DV_RECOVER_STOP},
        {DV_TASK_STOPPING, S, false, DV_SEEN_EXITED, false, DV_RECOVER_STOPPED},
        {DV_TASK_STOPPING, R, false, DV_SEEN_MISSING, true, DV_RECOVER_STOPPED},
        {DV_TASK_RESTARTING, R, false, DV_SEEN_EXITED, false, DV_RECOVER_REARM},
        {DV_TASK_RESTARTING, R, false, DV_SEEN_MISSING, true, DV_RECOVER_REARM},
        {DV_TASK_EXITED, R, false, DV_SEEN_EXITED, true, DV_RECOVER_NOTHING},
        {DV_TASK_FAILED, R, false, DV_SEEN_MISSING, false, DV_RECOVER_NOTHING},
        {DV_TASK_STOPPED, S, false, DV_SEEN_EXITED, true, DV_RECOVER_NOTHING},
        {DV_TASK_DESTROYING, S, false, DV_SEEN_RUNNING, false, DV_RECOVER_DESTROY},
        {DV_TASK_DESTROYING, S, true, DV_SEEN_MISSING, false, DV_RECOVER_DESTROY},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        dv_recovery_input in = {rows[i].st, rows[i].desired, rows[i].destroy, rows[i].seen,
                                rows[i].rebooted};
        enum dv_recovery_action got = dv_recovery_decide(&in);
        if (got != rows[i].want)
            fail_msg("row %zu (%s, %s, seen %s%s): %s, want %s", i, dv_task_state_name(rows[i].st),
                     rows[i].desired == R ? "running" : "stopped",
                     dv_recovery_seen_name(rows[i].seen), rows[i].rebooted ? ", rebooted" : "",
                     dv_recovery_action_name(got), dv_recovery_action_name(rows[i].want));
    }
}

static bool starts_anew(enum dv_recovery_action a)
{
    return a == DV_RECOVER_START || a == DV_RECOVER_REBOOTED || a == DV_RECOVER_EXITED ||
           a == DV_RECOVER_LOST || a == DV_RECOVER_REARM;
}

static void test_promises(void **state)
{
    (void)state;
    for (int st = 0; st < DV_TASK_STATE_COUNT; st++)
        for (int d = 0; d < 2; d++)
            for (int destroy = 0; destroy < 2; destroy++)
                for (int seen = 0; seen < DV_SEEN_COUNT; seen++)
                    for (int reboot = 0; reboot < 2; reboot++) {
                        dv_recovery_input in = {(enum dv_task_state)st,
                                                d ? DV_DESIRED_STOPPED : DV_DESIRED_RUNNING,
                                                destroy, (enum dv_recovery_seen)seen, reboot};
                        enum dv_recovery_action a = dv_recovery_decide(&in);
                        assert_true(a < DV_RECOVER_ACTION_COUNT);
                        assert_string_not_equal(dv_recovery_action_name(a), "?");
                        /* what the operator stopped is never started again (a
                         * restarting task always wants to run: its stop settles it) */
                        if (in.desired == DV_DESIRED_STOPPED && st != DV_TASK_RESTARTING)
                            assert_false(starts_anew(a));
                        /* a finished task stays finished */
                        if (dv_task_state_is_terminal(in.state))
                            assert_int_equal(a, DV_RECOVER_NOTHING);
                        /* a running container is kept (or stopped), never replaced */
                        if (seen == DV_SEEN_RUNNING && dv_task_state_is_active(in.state))
                            assert_true(a == DV_RECOVER_ADOPT || a == DV_RECOVER_STOP);
                        /* a destroy in progress is finished whatever is seen */
                        if (st == DV_TASK_DESTROYING)
                            assert_int_equal(a, DV_RECOVER_DESTROY);
                        /* the exit is only looked up when there is one to record */
                        if (dv_recovery_needs_exit(a, in.seen))
                            assert_int_equal(in.seen, DV_SEEN_EXITED);
                    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_promises),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
