/* Fetching a task's artifacts (spec.h dv_artifact) into its task dir: the
 * first step of the IMAGE job (task_jobs.h), so at every start, before `load`
 * reads its tarball from local/.
 *
 * - Each artifact is downloaded with libcurl (http and https; file for a
 *   host-file source, which policy.h allowed), redirects followed (at most 5,
 *   http and https only), connect timeout 30 s, total time bounded by the
 *   job's pull timeout (the spec's image_pull_timeout, else the agent's; 10
 *   minutes when neither), abandoned when no byte arrives for the agent's
 *   pull_activity_timeout, an HTTP status >= 400 a failure.
 * - It lands in a temp file beside its target, is checked against
 *   options.checksum, fsynced and renamed into place: the target is never
 *   half written (a temp file an agent killed mid-download left is removed at
 *   the next fetch into that directory). The directories on the way are opened one component at a
 *   time without following symlinks (created when missing, root's, 0755), so
 *   a symlink the task planted in local/ leads nowhere.
 * - Fetched once per task: a target already in place is kept (with a
 *   checksum, only when it matches; else it is fetched again). Only the
 *   rename puts a file there, so one in place is complete.
 * - Network errors and 5xx answers are tried 3 times (1 s, then 2 s apart);
 *   4xx answers and a checksum mismatch are final. The error names
 *   artifact[i]; it is recoverable (the restart policy applies, as for a
 *   failed pull) unless final.
 * - Events (through NOTE: task_jobs.c posts them as the task's): "Downloading Artifacts" per
 * artifact
 *   ("downloading SOURCE (i of n)"), transient "progress" every 5 s or 10%,
 *   "Failed Artifact Download" with the reason. Header values are never shown.
 * - CANCEL stops a download within ~100 ms (-ECANCELED). */
#ifndef DV_ARTIFACTS_H
#define DV_ARTIFACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "docker.h"
#include "error.h"
#include "spec.h"

/* A task event: TYPE, TRANSIENT (only streamed) and the one-line MSG. */
typedef void (*dv_artifact_note_fn)(void *userdata, const char *type, bool transient,
                                    const char *msg);

typedef struct dv_artifact_fetch {
    const dv_task_spec *spec;
    const char *task_dir;
    int64_t timeout_ns;          /* total per attempt; 0 = 10 minutes */
    int64_t activity_timeout_ns; /* no byte for this long ends an attempt; 0 = none */
    dv_cancel *cancel;
    /* docker.volumes.enabled as it is now: policy.h allowed a host-file source
     * at submit, but a reload may have turned volumes off since (as for binds,
     * checked again at every create; the fetch comes before the create). */
    bool allow_local;
    dv_artifact_note_fn note;
    void *userdata;
} dv_artifact_fetch;

/* Fetch F->spec's artifacts into F->task_dir. 0, or a negative errno with ERR
 * set (never `unreachable`: the Engine has nothing to do with it). Blocking:
 * runs on a worker. */
int dv_artifacts_fetch(const dv_artifact_fetch *f, dv_error *err);

#endif
