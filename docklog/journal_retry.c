#include "journal_retry.h"

#include "clock.h"
#include "diag.h"

#define FIRST_DELAY_NS (50 * DV_NSEC_PER_MSEC)
#define MAX_DELAY_NS (5 * DV_NSEC_PER_SEC)
#define REPORT_EVERY_NS (60 * DV_NSEC_PER_SEC)

int64_t dl_journal_retry_delay(unsigned attempt)
{
    int64_t delay = FIRST_DELAY_NS;
    for (unsigned i = 1; i < attempt && delay < MAX_DELAY_NS; i++)
        delay *= 2;
    return delay > MAX_DELAY_NS ? MAX_DELAY_NS : delay;
}

bool dl_journal_retry_wait(void *userdata, unsigned attempt, const dv_error *last)
{
    dl_journal_retry *jr = userdata;
    int64_t now = dv_monotonic_ns();
    if (attempt == 1)
        jr->first_failure_ns = now;
    if (attempt == 3 || (attempt > 3 && now - jr->last_report_ns >= REPORT_EVERY_NS)) {
        dl_diag("journald: %s (failing for %lld s, attempt %u; the entry is kept and retried)",
                last ? last->msg : "send failed",
                (long long)((now - jr->first_failure_ns) / DV_NSEC_PER_SEC), attempt);
        jr->last_report_ns = now;
    }
    for (int64_t left = dl_journal_retry_delay(attempt); left > 0;
         left -= DL_JOURNAL_WAIT_SLICE_NS) {
        dl_journal_waiting(jr->journal);
        if (dl_signals_sleep(jr->signals,
                             left < DL_JOURNAL_WAIT_SLICE_NS ? left : DL_JOURNAL_WAIT_SLICE_NS))
            return true;
    }
    return false;
}
