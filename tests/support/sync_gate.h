/* A stand-in for fsync (atomic_file.h dv_sync_fn) that a test holds shut, to see
 * what goes on while a write is not durable yet, or makes fail (a full disk).
 * One gate per test program: the record writer's thread is the only caller. */
#ifndef DV_SYNC_GATE_H
#define DV_SYNC_GATE_H

#include <stdbool.h>

/* Open, not failing, counters at 0. */
void dv_sync_gate_reset(void);
/* HOLD: a sync waits until the gate is opened again (at most 10 s: then it goes
 * on and dv_sync_gate_overdue() says so, so a test of a caller that waits for
 * the sync fails instead of hanging). */
void dv_sync_gate_hold(bool hold);
/* ERRNO_VALUE != 0: syncs of regular files fail with it (0: they work). */
void dv_sync_gate_fail(int errno_value);
/* The dv_sync_fn to hand over. */
int dv_sync_gate_sync(int fd);
/* Wait up to TIMEOUT_MS for a sync to be waiting at the held gate. */
bool dv_sync_gate_wait_held(int timeout_ms);
/* Syncs of regular files (not directories) begun so far: one per record written. */
unsigned dv_sync_gate_files(void);
/* A sync gave up waiting for the gate (see above). */
bool dv_sync_gate_overdue(void);

#endif
