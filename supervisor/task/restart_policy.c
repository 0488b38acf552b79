#include "restart_policy.h"

#include <errno.h>
#include <stdio.h>

#include "duration.h"

void dv_restart_policy_default(dv_restart_policy *ret)
{
    *ret = (dv_restart_policy){
        .attempts = 2,
        .interval_ns = 30 * 60 * DV_NSEC_PER_SEC,
        .delay_ns = 15 * DV_NSEC_PER_SEC,
        .mode = DV_RESTART_MODE_FAIL,
    };
}

void dv_restart_decide(const dv_restart_policy *policy, dv_restart_tracker *tracker, bool failed,
                       int64_t now_ns, double jitter, dv_restart_decision *ret)
{
    char a[32], b[32];
    *ret = (dv_restart_decision){.verdict = DV_RESTART_NONE};
    if (!failed) {
        snprintf(ret->reason, sizeof(ret->reason), "exited successfully, not restarting");
        return;
    }
    if (tracker->interval_start_ns == 0 ||
        now_ns - tracker->interval_start_ns >= policy->interval_ns) {
        tracker->interval_start_ns = now_ns;
        tracker->count = 0;
    }
    tracker->count++;
    dv_duration_format(policy->interval_ns, b, sizeof(b));
    if (tracker->count <= policy->attempts) {
        if (jitter < 0 || jitter >= 1)
            jitter = 0;
        ret->verdict = DV_RESTART_AFTER;
        ret->delay_ns = policy->delay_ns + (int64_t)((double)policy->delay_ns * 0.25 * jitter);
        tracker->total++;
        dv_duration_format(ret->delay_ns, a, sizeof(a));
        snprintf(ret->reason, sizeof(ret->reason), "restarting in %s (attempt %d of %d in %s)", a,
                 tracker->count, policy->attempts, b);
        return;
    }
    if (policy->mode == DV_RESTART_MODE_FAIL) {
        ret->verdict = DV_RESTART_FAIL;
        snprintf(ret->reason, sizeof(ret->reason),
                 "exceeded allowed attempts %d in interval %s and mode is \"fail\"",
                 policy->attempts, b);
        return;
    }
    /* mode delay: sit out the rest of the window, then start a fresh one. */
    int64_t window_end = tracker->interval_start_ns + policy->interval_ns;
    ret->verdict = DV_RESTART_AFTER;
    ret->delay_ns = window_end > now_ns ? window_end - now_ns : 0;
    if (ret->delay_ns < policy->delay_ns)
        ret->delay_ns = policy->delay_ns;
    tracker->interval_start_ns = 0;
    tracker->count = 0;
    tracker->total++;
    dv_duration_format(ret->delay_ns, a, sizeof(a));
    snprintf(ret->reason, sizeof(ret->reason),
             "exceeded allowed attempts %d in interval %s and mode is \"delay\": restarting in %s",
             policy->attempts, b, a);
}

json_t *dv_restart_tracker_to_json(const dv_restart_tracker *tracker)
{
    return json_pack("{s:I,s:i,s:i}", "interval_start_ns", (json_int_t)tracker->interval_start_ns,
                     "count", tracker->count, "total", tracker->total);
}

int dv_restart_tracker_from_json(const json_t *json, dv_restart_tracker *ret, dv_error *err)
{
    json_int_t start = 0;
    int count = 0, total = 0;
    json_error_t jerr;
    if (json_unpack_ex((json_t *)json, &jerr, JSON_STRICT, "{s:I,s:i,s:i}", "interval_start_ns",
                       &start, "count", &count, "total", &total) < 0)
        return dv_error_set(err, -EINVAL, "restart tracker: %s", jerr.text);
    if (start < 0 || count < 0 || total < 0)
        return dv_error_set(err, -EINVAL, "restart tracker: negative values");
    *ret = (dv_restart_tracker){.interval_start_ns = start, .count = count, .total = total};
    return 0;
}
