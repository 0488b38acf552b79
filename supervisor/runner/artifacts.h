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
 *   half written. The directories on the way are opened one component at a
 *   time without following symlinks (created when missing, root's, 0755), so
 *   a symlink the task planted in local/ leads nowhere.
 * - Fetched once per task: a target already in place is kept (with a
 *   checksum, only when it matches; else it is fetched again). Only the
 *   rename puts a file there, so one in place is complete.
 * - Network errors and 5xx answers are tried 3 times (1 s, then 2 s apart);
 *   4xx answers and a checksum mismatch are final. The error names
 *   artifact[i]; it is recoverable (the restart policy applies, as for a
 *   failed pull) unless final.
 * - Events (task_runner.h notes): "Downloading Artifacts" per artifact
 *   ("downloading SOURCE (i of n)"), transient "progress" every 5 s or 10%,
 *   "Failed Artifact Download" with the reason. Header values are never shown.
 * - The job's cancel stops a download within ~100 ms (-ECANCELED). */
#ifndef DV_ARTIFACTS_H
#define DV_ARTIFACTS_H

struct dv_job;

/* Fetch J's spec's artifacts into J->task_dir. 0, or a negative errno with
 * J->err set. Blocking: runs on a worker. */
int dv_artifacts_fetch(struct dv_job *j);

#endif
