/* Policy: what the agent config allows a task spec to do. Checked on
 * POST /v1/tasks before anything is created (400 with the field), and again
 * before every container create (a reload may have narrowed it), so a body
 * that breaks the policy in force is never sent.
 *
 * Refusals (each one line naming the field):
 * - config.privileged without docker.allow_privileged;
 * - config.cap_add beyond docker.allow_caps (case-insensitive; "all" in
 *   allow_caps allows everything; cap_add "all" needs allow_caps "all"); the
 *   message lists every missing capability;
 * - config.runtime not in docker.allow_runtimes;
 * - config.pid_mode / ipc_mode / uts_mode / userns_mode "host", and
 *   pid_mode / ipc_mode "container:<name>", without docker.allow_privileged;
 * - config.pids_limit above docker.pids_limit (when that is > 0);
 * - with docker.volumes.enabled false: config.volumes whose resolved host path
 *   is outside the task's allocation directory (relative paths are resolved
 *   against the task dir with ".." collapsed first, so an escaping path is
 *   refused), config.volume_driver other than "" / "local", and `mount`s of
 *   type volume (named or anonymous; volume is the default type) or bind
 *   outside the allocation directory. tmpfs mounts are always allowed. */
#ifndef DV_POLICY_H
#define DV_POLICY_H

#include "agent_config.h"
#include "spec.h"
#include "spec_paths.h"
#include "spec_types.h"

/* PATHS may be NULL when the task's directories are not known yet: volume
 * paths are then checked relative to a placeholder allocation directory,
 * which gives the same answer for relative paths and refuses absolute host
 * paths when volumes are disabled. */
int dv_policy_check(const dv_task_spec *spec, const dv_agent_config *config,
                    const dv_task_paths *paths, dv_spec_error *err);

/* The capabilities to send, as Nomad computes them: the effective set is
 * (Docker's default set + cap_add - cap_drop) limited to allow_caps (so a
 * default capability the operator does not allow, NET_RAW by default, is
 * dropped); the result is expressed relative to Docker's default set.
 * RET_ADD / RET_DROP get uppercase names without "CAP_" (e.g. "SYS_TIME"), or
 * "ALL". Fails like the cap_add check of dv_policy_check(). */
int dv_policy_caps(const dv_task_spec *spec, const dv_agent_config *config, dv_strv *ret_add,
                   dv_strv *ret_drop, dv_spec_error *err);

/* The symlink half of the volume check, for the agent to call right before
 * every container create (first start and each restart), when the task's
 * directories exist. dv_policy_check() is lexical: it cannot see that a task
 * wrote alloc/evil -> / into its own allocation dir, after which
 * "../alloc/evil" would bind the host's root. With docker.volumes.enabled
 * false, every bind source (config.volumes without a volume driver, bind
 * mounts) is resolved on disk (the longest existing prefix with realpath(3);
 * a missing remainder cannot hold symlinks) and must stay inside the
 * allocation dir as resolved on disk. Does I/O; refusals are -EPERM naming
 * the field like dv_policy_check(). With volumes enabled there is nothing to
 * check. */
int dv_policy_check_host_paths(const dv_task_spec *spec, const dv_agent_config *config,
                               const dv_task_paths *paths, dv_spec_error *err);

/* Does CANONICAL (a host path, clean and resolved) match docker.allow_devices?
 * Always with allow_privileged. */
bool dv_policy_device_allowed(const dv_agent_config *config, const char *canonical);
/* The -EPERM refusal of device PATH (RESOLVED when it differs) for FIELD. */
int dv_policy_device_refused(const dv_agent_config *config, const char *field, const char *path,
                             const char *resolved, dv_spec_error *err);

/* The on-disk half of the device check, at submit and right before every container
 * create: each config.devices host_path is resolved (realpath(3): symlinks, ".."),
 * must exist and be a character or block device, and its canonical path must match
 * docker.allow_devices (any device with allow_privileged). RET (may be NULL) gets
 * the canonical paths in order: they are what the Engine must be given, so a
 * symlink the checked path went through cannot be swapped before Docker resolves
 * it (only a device node replaced under /dev itself could, which takes root).
 * Refusals name the field (config.devices[N]): -EPERM not allowed, -ENOENT missing,
 * -EINVAL not a device. */
int dv_policy_check_devices(const dv_task_spec *spec, const dv_agent_config *config, dv_strv *ret,
                            dv_spec_error *err);

/* Resolve a volume / bind source as the host path Docker will mount:
 * absolute as is, relative against paths->task_dir; cleaned. Heap string. */
char *dv_policy_resolve_source(const dv_task_paths *paths, const char *source);

#endif
