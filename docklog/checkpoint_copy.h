/* The checkpoint's second copy: tasks/<id>/docklog.checkpoint.copy, so that a
 * corrupt, truncated or deleted docklog.checkpoint costs no position (DESIGN.md,
 * Logs: exactly once; issue 12 item 9).
 *
 * Two fixed slots, A at byte 0 and B at byte DL_COPY_SLOT_SIZE, written in turn in
 * place with pwritev(2) (no temp file, no rename): each save goes to the slot not
 * written last, so one slot always holds the save before the one in progress. A slot:
 *
 *   "dlcopy 1 <seq: 16 hex> <len: 4 hex> <crc: 8 hex>\n" then LEN bytes of the
 *   checkpoint's JSON (checkpoint.h), exactly as docklog.checkpoint holds it.
 *
 * CRC-32 (IEEE) covers the header up to the crc field and the JSON: a torn slot (a
 * power loss in the middle of a write), bytes of an older, longer save, zeros or a
 * bit flip are never taken for a position. The slot with the highest seq that checks
 * is the newest.
 *
 * Write order per save (deliver.c): log file data flushed, then this copy, then
 * docklog.checkpoint by rename. So the newest valid slot is never behind
 * docklog.checkpoint and never ahead of the files; after a kill -9 it is the
 * checkpoint or one batch newer, both positions the files hold.
 *
 * Cost: one pwritev of ~700 bytes per batch on an fd kept open (cheaper than the
 * checkpoint's own temp + rename), and at each sync point (DL_CHECKPOINT_SYNC_INTERVAL,
 * and at exit) one fdatasync more; never an fsync per batch. Size: at most
 * 2 * DL_COPY_SLOT_SIZE bytes, forever.
 *
 * Durability: the slot written at a sync point is fdatasynced with the files; the
 * slots written in place between sync points reach the disk when the kernel writes
 * them back. An in-place write never leaves a shortened or empty file the way a
 * rename without fsync can after a power loss: a slot holds either its old save, its
 * new one, or a torn mix that fails the CRC (then the other slot serves). Each save
 * carries "synced" (checkpoint.h), the fallback when its position is ahead of data on
 * disk. */
#ifndef DL_CHECKPOINT_COPY_H
#define DL_CHECKPOINT_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "error.h"

#define DL_COPY_SLOT_SIZE 4096
#define DL_COPY_HEADER_LEN 40
#define DL_COPY_JSON_MAX (DL_COPY_SLOT_SIZE - DL_COPY_HEADER_LEN)

typedef struct dl_copy {
    int fd;
    uint64_t seq; /* of the slot written last (0: none valid yet) */
} dl_copy;

/* Open (creating) PATH, learning the newest valid slot's seq so the next save
 * overwrites the older slot. */
int dl_copy_open(dl_copy *c, const char *path, dv_error *err);

/* Write CP (TEXT/LEN: its JSON as dl_checkpoint_dumps made it) into the slot not
 * written last; DURABLE: fdatasync it. A checkpoint whose JSON does not fit a slot
 * (only an error message full of escaped bytes could) is written without its error
 * text: the copy is for the position. */
int dl_copy_write(dl_copy *c, const dl_checkpoint *cp, const char *text, size_t len, bool durable,
                  dv_error *err);

void dl_copy_close(dl_copy *c);

/* The valid saves of PATH, newest first: *RET_N is 0, 1 or 2. -ENOENT when there is
 * no file; a file with no valid slot is *RET_N = 0 with ERR saying why. */
typedef struct dl_copy_save {
    uint64_t seq;
    dl_checkpoint cp;
} dl_copy_save;
int dl_copy_load(const char *path, dl_copy_save ret[2], int *ret_n, dv_error *err);

/* One slot's bytes (exposed for tests and the fuzzer). */
int dl_copy_parse_slot(const char *slot, size_t len, dl_copy_save *ret, dv_error *err);
/* Format a slot into BUF (DL_COPY_SLOT_SIZE bytes); returns its length. */
size_t dl_copy_format_slot(char *buf, uint64_t seq, const char *text, size_t len);

#endif
