/* Recovery on agent start (DESIGN.md; issue 7): after a crash, kill -9, upgrade
 * or node reboot, put every task back where its record says it was, before the
 * agent sends READY=1 and before the API serves.
 *
 *  1. Load every record. One that does not parse, has an unknown version, or
 *     whose spec this agent refuses is moved to state/quarantine/, logged, and
 *     listed under "quarantined" in GET /v1/node; its container, helper and
 *     directory are left alone for the operator. The others make the task table.
 *  2. Re-claim every recorded host port before anything new is allocated (once
 *     the records 3 sets aside are out: those claim nothing).
 *  3. List the Engine's containers with this node's label, and the docklog
 *     helpers of this data dir that still run (/proc). A record whose container
 *     id names a container without this node's id and the task's id in its
 *     labels (ownership.h) is set aside as in 1, before anything acts on it:
 *     that container and the task's own are both left alone.
 *  4. Tidy what no record claims: containers whose task id has no record (a
 *     record is written, in `pending`, before any Docker side effect, and a
 *     destroy removes the container before the record, so such a container can
 *     only be left over from a destroyed task or a lost record: no creation can
 *     be in flight, since this agent holds the data dir's lock, hence no
 *     creation grace here; docker.gc.dangling_containers enabled/dry_run
 *     apply, and with docker.gc.container false stopped ones are kept, as a
 *     destroy keeps them on purpose then);
 *     helpers no record names (SIGTERM, then SIGKILL); task directories without
 *     a record. Containers of a task that has a record are that task's business
 *     (step 5): an interrupted start may have created one the record never
 *     learned about.
 *  5. Per task, decide with the table of recovery_plan.c and act through the
 *     state machine (the exits it records are inspected first, several at once:
 *     recovery_exits.h): re-adopt a running container and its helper (same pid and
 *     start time, else a new helper resumes from the checkpoint), record an exit
 *     that happened meanwhile and apply the restart policy, report a lost
 *     container, redo an interrupted start, finish a stop or a destroy, re-arm a
 *     restart timer for the rest of its persisted delay. A task's containers the
 *     record does not name are removed, except the one an interrupted start
 *     created: the start job, run again, reuses it if it runs.
 *
 * Afterwards the Engine events stream starts and its first connection resyncs
 * (inspects every running task), which also covers exits between step 3 and
 * the stream. If the Engine does not answer at all, steps 3-4 only handle
 * helpers, and running tasks are kept as they are until the resync sees them.
 *
 * Failing here (state dir unreadable) fails the agent's start; everything that
 * concerns one task only is logged and becomes a task event. */
#ifndef DV_RECOVERY_H
#define DV_RECOVERY_H

#include <stdbool.h>

#include "runtime.h"
#include "error.h"

int dv_recovery_run(dv_runtime *run, dv_error *err);

#endif
