/* What the agent and docklog tell each other besides the logs: the config the agent
 * writes (tasks/<id>/docklog.json, format in docklog/config.h), the checkpoint docklog
 * writes and the agent reads to learn its outcome (tasks/<id>/docklog.checkpoint,
 * docklog/checkpoint.h), and docklog's exit code (STYLE.md 8). One definition, for
 * both sides (docklog/, supervisor/runner/docklog_launch.h).
 *
 * These are wire values. A docklog started by an agent of the previous version keeps
 * running across an agent upgrade, and the new agent must still understand its exit
 * code and its checkpoint, so none of them may change: a new meaning gets a new value,
 * and a format a reader must refuse gets a new version. tests/unit/test_docklog_launch.c
 * pins them. */
#ifndef DV_DOCKLOG_PROTOCOL_H
#define DV_DOCKLOG_PROTOCOL_H

/* docklog's exit codes. Any other code (127: exec failed) or a signal is a crash,
 * respawned like TEMPORARY.
 * DRAINED: the container exited and its stream is drained, or docklog was stopped by
 *   a SIGTERM (the checkpoint's outcome tells the two apart);
 * PERMANENT: do not respawn (bad config, logs unreadable, container gone);
 * TEMPORARY: respawn with backoff (a sink failed). Out of memory, docklog aborts
 *   (xalloc.h): a signal, respawned the same way. */
#define DV_DOCKLOG_EXIT_DRAINED 0
#define DV_DOCKLOG_EXIT_PERMANENT 100
#define DV_DOCKLOG_EXIT_TEMPORARY 111

/* The config's "version": the agent writes it, docklog refuses any other. */
#define DV_DOCKLOG_CONFIG_VERSION 1
/* The config's "addresses" (a tcp endpoint's host, resolved by the agent) hold at most
 * this many. */
#define DV_DOCKLOG_ADDRESSES_MAX 8

/* The checkpoint's "version" (also of the slots of its copy, docklog/checkpoint_copy.h):
 * docklog sets a checkpoint of another version aside, the agent does not trust it. */
#define DV_DOCKLOG_CHECKPOINT_VERSION 1
/* The checkpoint's "outcome". RUNNING: still collecting, or stopped by a SIGTERM (the
 * agent must not take it as finished); DONE: the container exited and every entry was
 * delivered; FAILED: gave up for good, the checkpoint's "error" says why. */
#define DV_DOCKLOG_OUTCOME_RUNNING_NAME "running"
#define DV_DOCKLOG_OUTCOME_DONE_NAME "done"
#define DV_DOCKLOG_OUTCOME_FAILED_NAME "failed"
/* The checkpoint's optional "progress" object, read by the agent for its metrics: how
 * much the helpers delivered of the container's log, carried across docklog restarts
 * (a checkpoint without it, from an older docklog, counts from 0; it starts again at
 * 0 for a new container). Keys: entries and bytes delivered, starts (docklog
 * processes that worked on the container: respawns are starts - 1), lag_ns (at the
 * last batch: its delivery time minus the stamp Docker gave its last entry) and at
 * (that batch's wall-clock time, ns; absent before the first). */
#define DV_DOCKLOG_PROGRESS_KEY "progress"
#define DV_DOCKLOG_PROGRESS_ENTRIES "entries"
#define DV_DOCKLOG_PROGRESS_BYTES "bytes"
#define DV_DOCKLOG_PROGRESS_STARTS "starts"
#define DV_DOCKLOG_PROGRESS_LAG_NS "lag_ns"
#define DV_DOCKLOG_PROGRESS_AT "at"

#endif
