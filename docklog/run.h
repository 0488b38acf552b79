/* docklog's main loop: follow the container's log stream from the checkpoint until
 * the container has exited and the stream is drained.
 *
 *   inspect ─► log driver "none"?  ─────────────────────────► PERMANENT
 *      │   ─► container gone (404)? ────────────────────────► PERMANENT
 *      ▼
 *   GET logs?follow=1&since=<checkpoint ts> (skip what was delivered)
 *      │ entries ─► deliver (files, journald) ─► checkpoint per batch
 *      │ "configured logging driver does not support reading" ─► PERMANENT
 *      │ 404 (removed), 409 (dead or being removed) ────────────► PERMANENT
 *      ▼ stream ended cleanly
 *   exited before the request, and still exited with the same StartedAt
 *      afterwards? ─► DRAINED            otherwise (running, restarted, or it
 *                                         exited meanwhile) ─► again from the top
 *
 * Daemon down, connection lost, 5xx: retried in-process with capped exponential
 * backoff (250 ms doubling to 30 s; to 2 s when the stream merely ended without
 * news, e.g. while Docker restarts the container; a pass that delivered entries
 * resets it). A
 * respawn would add nothing but a new process: the loop already reconnects from the
 * checkpoint, and an exit would make the agent's view flap. TEMPORARY (exit 111) is
 * left for local failures a fresh process may clear and the agent should see: a
 * sink that cannot write (disk full, I/O error). Out of memory it aborts (xalloc.h),
 * which the agent respawns the same way.
 * SIGTERM/SIGINT: STOPPED between batches. */
#ifndef DL_RUN_H
#define DL_RUN_H

#include "config.h"
#include "deliver.h"
#include "engine.h"
#include "error.h"
#include "stop_signals.h"

enum dl_run_result {
    DL_RUN_DRAINED,
    DL_RUN_STOPPED,
    DL_RUN_PERMANENT, /* err holds the message for the checkpoint and the agent */
    DL_RUN_TEMPORARY,
    DL_RUN_FALLBACK, /* dl_run_file only: the files cannot be followed, use the API */
};

#define DL_BACKOFF_MIN (250 * DV_NSEC_PER_MSEC)
#define DL_BACKOFF_MAX (30 * DV_NSEC_PER_SEC)
#define DL_BACKOFF_IDLE_MAX (2 * DV_NSEC_PER_SEC)

int dl_run(const dl_config *config, dl_engine *engine, dl_deliver *deliver, dl_signals *signals,
           dv_error *err);

/* The container was removed: fills ERR, returns DL_RUN_PERMANENT (both loops). */
int dl_run_gone(const dl_config *config, dv_error *err);

/* Can the container's log be read from disk (run_file.c)? If not, WHY says why. */
bool dl_file_source_usable(const dl_config *config, const dl_container_state *s, char *why,
                           size_t why_size);
/* The loop over the json-file or local log on disk, from the state FIRST inspected.
 * DL_RUN_FALLBACK when the files cannot be followed, unless the config asks for the
 * files (source "file"): then DL_RUN_PERMANENT with the reason. */
int dl_run_file(const dl_config *config, dl_engine *engine, dl_deliver *deliver,
                dl_signals *signals, const dl_container_state *first, dv_error *err);

#endif
