/* A minimal journald client speaking the native protocol, as sd_journal_sendv()
 * does, without linking libsystemd (docklog must stay under 1 MiB RSS).
 *
 * Protocol (systemd's "Native Journal Protocol"): one datagram per entry to the
 * AF_UNIX SOCK_DGRAM socket /run/systemd/journal/socket, fields separated by '\n':
 *   NAME=value\n                                 when value holds no '\n'
 *   NAME\n<value length, 64-bit little endian><value>\n   otherwise
 * An entry too large for a datagram (EMSGSIZE/ENOBUFS) is written to a memfd, sealed
 * (shrink, grow, write, seal) and its fd passed with SCM_RIGHTS instead.
 *
 * journald adds _PID, _UID, _COMM etc. from the socket credentials itself.
 *
 * While journald's queue is full, a sender blocked in sendmsg() is woken by every
 * datagram journald takes: one wake-up of the sender, done by journald, per entry
 * (perf in a flood: 13% of journald's samples against 4% for Docker's driver, which
 * does not block). So entries go with MSG_DONTWAIT, and on a full queue the sender
 * first sleeps (dl_journal_pause): journald takes a few entries meanwhile with no one
 * to wake, and the sender comes back to room for several. Only when there is still
 * no room (other senders took it, or journald stalled) does it wait in the kernel,
 * where journald wakes one blocked sender per free slot, however many there are:
 * timed sleeps alone made a herd of hundreds of helpers waking on their timers. */
#ifndef DL_JOURNAL_H
#define DL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "duration.h"
#include "error.h"

typedef struct dl_journal_field {
    const char *name; /* upper case, digits, '_'; not starting with '_' */
    const char *value;
    size_t len;
} dl_journal_field;

#define DL_JOURNAL_MAX_FIELDS 32

typedef struct dl_journal {
    int fd;
    char path[108];
    bool force_memfd;                /* tests: send every entry through the memfd path */
    int64_t pause_ns;                /* the sleep on a full queue (dl_journal_pause) */
    unsigned sent;                   /* entries sent since the last sleep ended */
    int64_t woke_ns;                 /* when it ended (monotonic) */
    void (*waiting)(void *userdata); /* dl_journal_on_wait */
    void *waiting_userdata;
} dl_journal;

/* Sleeps on a full queue: between these, starting at the first. */
#define DL_JOURNAL_PAUSE_MIN_NS (10 * DV_NSEC_PER_USEC)
#define DL_JOURNAL_PAUSE_FIRST_NS (100 * DV_NSEC_PER_USEC)
#define DL_JOURNAL_PAUSE_MAX_NS (2 * DV_NSEC_PER_MSEC)
/* A wait in the kernel for room lasts at most this (SO_SNDTIMEO) before the caller's
 * hook runs (dl_journal_on_wait) and the wait goes on. */
#define DL_JOURNAL_WAIT_SLICE_NS (50 * DV_NSEC_PER_MSEC)
/* How long a full queue may last before a send gives up with -EAGAIN. */
#define DL_JOURNAL_SEND_TIMEOUT_NS DV_NSEC_PER_SEC

/* The next sleep on a full queue, after one of PAUSE_NS from which SENT entries
 * went before the queue was full again. It aims at 3 to 7 entries a wake-up:
 * enough that waking is rare for journald and the sender alike, few enough that
 * the queue never drains (Debian's default net.unix.max_dgram_qlen is 10, so
 * journald's queue holds 11). Fewer than 3: longer, up to the maximum; more than
 * 7 (the queue may have run dry, journald idle): shorter, down to the minimum. */
int64_t dl_journal_pause(int64_t pause_ns, unsigned sent);

/* Create the socket (CLOEXEC). The journal need not be running yet: sends fail until
 * it is. A send waits at most DL_JOURNAL_SEND_TIMEOUT_NS for a full queue, so a stuck
 * journald cannot block the caller indefinitely. */
int dl_journal_open(dl_journal *j, const char *socket_path, dv_error *err);
void dl_journal_close(dl_journal *j);

/* Call FN(USERDATA) while a send waits for room, before its sleep and between the
 * slices of its wait in the kernel (NULL: none): docklog holds Docker's new log files
 * meanwhile (dl_jsonfile_hold). FN must not send. */
void dl_journal_on_wait(dl_journal *j, void (*fn)(void *userdata), void *userdata);

/* Run that hook, if J (may be NULL) has one: for a caller's own wait for journald
 * (journal_retry.h), which must hold files as a send's wait does. */
void dl_journal_waiting(dl_journal *j);

/* Send one entry. Errors are -errno of the send (-ENOENT/-ECONNREFUSED: journald
 * not running; -EAGAIN: its queue is full and the timeout passed): retrying may help. */
int dl_journal_send(dl_journal *j, const dl_journal_field *fields, size_t n, dv_error *err);

#endif
