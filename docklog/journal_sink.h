/* The journald sink: one journal entry per log entry, with the fields Docker's own
 * journald log driver uses, so `journalctl CONTAINER_NAME=...` works as users expect:
 *
 *   MESSAGE            the line without its trailing newline
 *   PRIORITY           6 (info) for stdout, 3 (err) for stderr
 *   CONTAINER_ID       the 12-character short id; CONTAINER_ID_FULL the full id
 *   CONTAINER_NAME, CONTAINER_TAG (the short id, Docker's default tag), IMAGE_NAME
 *   SYSLOG_IDENTIFIER  config journald.identifier (default: the task name)
 *   DOCKVISOR_TASK_ID  the task id
 *   SYSLOG_TIMESTAMP   Docker's timestamp of the entry to the millisecond (RFC3339,
 *                      dl_journal_late_stamp), only for an entry delivered more than
 *                      DL_JOURNAL_LATE_NS after it (a backlog after a restart or a
 *                      stall)
 *   CONTAINER_PARTIAL_MESSAGE=true   on every piece but the last of a message longer
 *                      than 16 KiB, and on an entry that is itself a partial line
 *
 * journald cannot take an entry back, so delivery is at-least-once: a send failure is
 * retried (the caller's dl_retry decides waiting, reporting and giving up) and a
 * message is never dropped silently. */
#ifndef DL_JOURNAL_SINK_H
#define DL_JOURNAL_SINK_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"
#include "timestamp.h"
#include "file_sink.h"
#include "journal.h"

#define DL_JOURNAL_PIECE_MAX (16 * 1024)
/* Why Docker's stamp only for late entries: journald stamps every entry when it
 * receives it, which for a line delivered live is Docker's stamp give or take
 * milliseconds, as with Docker's own journald driver (which sends no stamp). A
 * field whose value differs in every entry costs journald a new data object per
 * entry: 100,000 entries of these fields cost journald 6.0 CPU-s with the stamp,
 * 4.9 without it and 4.6 with Docker's eight fields (medians of 3, this 2-core
 * machine, the payload sent straight to journald's socket). So it is sent only when
 * journald's own stamp would mislead. */
#define DL_JOURNAL_LATE_NS (1 * DV_NSEC_PER_SEC)

/* SYSLOG_TIMESTAMP's value for an entry Docker stamped TS (ns): RFC3339 in UTC, cut
 * (not rounded) to the millisecond, trailing zeros of the fraction trimmed as Go's
 * RFC3339Nano does ("2024-05-01T12:34:56.123Z"). Why not Docker's nine digits: late
 * entries come in floods (a backlog, or a writer faster than journald), and journald
 * stores one data object per distinct value. To the nanosecond every entry made a new
 * one, which cost journald half again its CPU per entry (300,000 lines at full speed:
 * 4.85 CPU-s per 100,000 entries against 3.28 for Docker's own driver, which sends no
 * stamp and blocks the writer instead); to the millisecond the entries of one
 * millisecond share it. A millisecond is far finer than the second by which such an
 * entry is late. */
void dl_journal_late_stamp(int64_t ts, char buf[DV_TIMESTAMP_MAX]);

/* Retry policy for transient failures (journald down or busy). WAIT is called after
 * failed attempt ATTEMPT (1-based) with the error; it sleeps and returns false to try
 * again, or true to give up (a stop was requested): the write then fails with -EINTR. */
typedef struct dl_retry {
    bool (*wait)(void *userdata, unsigned attempt, const dv_error *last);
    void *userdata;
} dl_retry;

typedef struct dl_journal_sink {
    dl_journal journal;
    char short_id[DL_SHORT_ID_LEN + 1];
    const dl_config *config; /* borrowed */
} dl_journal_sink;

int dl_journal_sink_open(dl_journal_sink *sink, const dl_config *config, dv_error *err);
void dl_journal_sink_close(dl_journal_sink *sink);

/* The fields of one piece (pure; for tests). RET must hold DL_JOURNAL_MAX_FIELDS.
 * Returns the number of fields. */
size_t dl_journal_sink_fields(const dl_journal_sink *sink, enum dl_stream stream,
                              const char *timestamp, const char *msg, size_t len, bool partial,
                              dl_journal_field *ret);

/* Send one log entry (MSG with its trailing newline, if any; TIMESTAMP the value of
 * SYSLOG_TIMESTAMP, or NULL to leave it out), split into pieces of DL_JOURNAL_PIECE_MAX. */
int dl_journal_sink_write(dl_journal_sink *sink, enum dl_stream stream, const char *timestamp,
                          const char *msg, size_t len, const dl_retry *retry, dv_error *err);

#endif
