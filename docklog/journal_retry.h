/* docklog's retry policy for journald (journal_sink.h, dl_retry): journald is down, or
 * its queue stayed full past a send's timeout. The entry is never dropped: wait 50 ms,
 * doubling to 5 s, between attempts; report the streak on the third failure and every
 * minute after (two quick retries absorb a momentarily full queue without noise); give
 * up only when a stop is requested.
 *
 * The wait is cut into slices of DL_JOURNAL_WAIT_SLICE_NS with the journal's wait hook
 * (dl_journal_on_wait) between them, as a send's own wait for room is: a writer under
 * Docker's default cap (2 x 2m) has whole files created and deleted within a fraction
 * of a second, and docklog must keep hold of them through a journald outage as it does
 * through a stall, or they are lost (reported as a gap, but lost). */
#ifndef DL_JOURNAL_RETRY_H
#define DL_JOURNAL_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "journal.h"
#include "stop_signals.h"

typedef struct dl_journal_retry {
    dl_signals *signals; /* borrowed: a stop request ends the wait */
    dl_journal *journal; /* borrowed: its wait hook runs between slices */
    int64_t first_failure_ns;
    int64_t last_report_ns;
} dl_journal_retry;

/* The wait after failed attempt ATTEMPT (1-based). */
int64_t dl_journal_retry_delay(unsigned attempt);

/* dl_retry's wait, USERDATA a dl_journal_retry. */
bool dl_journal_retry_wait(void *userdata, unsigned attempt, const dv_error *last);

#endif
