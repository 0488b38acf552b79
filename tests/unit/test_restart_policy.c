/* Nomad restart semantics: attempts within interval, delay + jitter, fail vs delay mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "cleanup.h"
#include "duration.h"
#include "restart_policy.h"

#define SEC DV_NSEC_PER_SEC
#define T0 (INT64_C(1700000000) * SEC)

static void test_success_does_not_restart(void **state)
{
    (void)state;
    dv_restart_policy p;
    dv_restart_policy_default(&p);
    dv_restart_tracker t = {0};
    dv_restart_decision d;
    dv_restart_decide(&p, &t, false, T0, 0.0, &d);
    assert_int_equal(d.verdict, DV_RESTART_NONE);
    assert_int_equal(t.count, 0);
    assert_int_equal(t.total, 0);
}

static void test_attempts_then_fail(void **state)
{
    (void)state;
    dv_restart_policy p;
    dv_restart_policy_default(&p); /* 2 in 30m, 15s, fail */
    dv_restart_tracker t = {0};
    dv_restart_decision d;
    dv_restart_decide(&p, &t, true, T0, 0.0, &d);
    assert_int_equal(d.verdict, DV_RESTART_AFTER);
    assert_int_equal(d.delay_ns, 15 * SEC);
    assert_string_equal(d.reason, "restarting in 15s (attempt 1 of 2 in 30m0s)");
    dv_restart_decide(&p, &t, true, T0 + 20 * SEC, 0.5, &d);
    assert_int_equal(d.verdict, DV_RESTART_AFTER);
    assert_int_equal(d.delay_ns, 15 * SEC + 15 * SEC / 8); /* 25% * 0.5 jitter */
    dv_restart_decide(&p, &t, true, T0 + 40 * SEC, 0.0, &d);
    assert_int_equal(d.verdict, DV_RESTART_FAIL);
    assert_string_equal(d.reason,
                        "exceeded allowed attempts 2 in interval 30m0s and mode is \"fail\"");
    assert_int_equal(t.total, 2);
}

static void test_window_resets_count(void **state)
{
    (void)state;
    dv_restart_policy p = {.attempts = 1, .interval_ns = 60 * SEC, .delay_ns = SEC};
    dv_restart_tracker t = {0};
    dv_restart_decision d;
    dv_restart_decide(&p, &t, true, T0, 0.0, &d);
    assert_int_equal(d.verdict, DV_RESTART_AFTER);
    /* a failure after the window closed starts a new window */
    dv_restart_decide(&p, &t, true, T0 + 61 * SEC, 0.0, &d);
    assert_int_equal(d.verdict, DV_RESTART_AFTER);
    assert_int_equal(t.count, 1);
    dv_restart_decide(&p, &t, true, T0 + 62 * SEC, 0.0, &d);
    assert_int_equal(d.verdict, DV_RESTART_FAIL);
}

static void test_delay_mode_waits_out_the_window(void **state)
{
    (void)state;
    dv_restart_policy p = {
        .attempts = 1, .interval_ns = 60 * SEC, .delay_ns = 5 * SEC, .mode = DV_RESTART_MODE_DELAY};
    dv_restart_tracker t = {0};
    dv_restart_decision d;
    dv_restart_decide(&p, &t, true, T0, 0.0, &d);
    assert_int_equal(d.verdict, DV_RESTART_AFTER);
    dv_restart_decide(&p, &t, true, T0 + 10 * SEC, 0.0, &d);
    assert_int_equal(d.verdict, DV_RESTART_AFTER);
    assert_int_equal(d.delay_ns, 50 * SEC); /* until T0 + 60s */
    assert_non_null(strstr(d.reason, "mode is \"delay\""));
    assert_int_equal(t.count, 0); /* fresh window afterwards */
    assert_int_equal(t.total, 2);
}

static void test_zero_attempts_fails_at_once(void **state)
{
    (void)state;
    dv_restart_policy p = {.attempts = 0, .interval_ns = 60 * SEC, .delay_ns = SEC};
    dv_restart_tracker t = {0};
    dv_restart_decision d;
    dv_restart_decide(&p, &t, true, T0, 0.0, &d);
    assert_int_equal(d.verdict, DV_RESTART_FAIL);
}

static void test_tracker_json_round_trip(void **state)
{
    (void)state;
    dv_restart_tracker t = {.interval_start_ns = T0, .count = 2, .total = 7}, back;
    _cleanup_json_ json_t *j = dv_restart_tracker_to_json(&t);
    assert_int_equal(dv_restart_tracker_from_json(j, &back, NULL), 0);
    assert_memory_equal(&t, &back, sizeof(t));
    _cleanup_json_ json_t *bad = json_pack("{s:I,s:i,s:i,s:i}", "interval_start_ns", (json_int_t)1,
                                           "count", 1, "total", 1, "extra", 1);
    dv_error err;
    assert_int_equal(dv_restart_tracker_from_json(bad, &back, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "restart tracker"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_does_not_restart),
        cmocka_unit_test(test_attempts_then_fail),
        cmocka_unit_test(test_window_resets_count),
        cmocka_unit_test(test_delay_mode_waits_out_the_window),
        cmocka_unit_test(test_zero_attempts_fails_at_once),
        cmocka_unit_test(test_tracker_json_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
