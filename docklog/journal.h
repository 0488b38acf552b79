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
 * journald adds _PID, _UID, _COMM etc. from the socket credentials itself. */
#ifndef DL_JOURNAL_H
#define DL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

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
    bool force_memfd; /* tests: send every entry through the memfd path */
} dl_journal;

/* Create the socket (CLOEXEC, 1 s send timeout so a stuck journald cannot block the
 * caller indefinitely). The journal need not be running yet: sends fail until it is. */
int dl_journal_open(dl_journal *j, const char *socket_path, dv_error *err);
void dl_journal_close(dl_journal *j);

/* Send one entry. Errors are -errno of the send (-ENOENT/-ECONNREFUSED: journald
 * not running; -EAGAIN: its queue is full and the timeout passed): retrying may help. */
int dl_journal_send(dl_journal *j, const dl_journal_field *fields, size_t n, dv_error *err);

#endif
