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
 *   outside the allocation directory. tmpfs mounts are always allowed.
 *   A seccomp profile given by path (config.security_opt "seccomp=<path>",
 *   dv_policy_seccomp_path()) is a host path like a bind source: resolved the
 *   same way, refused outside the allocation directory. So is an `artifact`
 *   whose source is a host file (file:// or an absolute path), wherever it is. */
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
 * allocation dir as resolved on disk; so must every seccomp profile path. Does
 * I/O; refusals are -EPERM naming the field like dv_policy_check(). With volumes
 * enabled there is nothing to check. */
int dv_policy_check_host_paths(const dv_task_spec *spec, const dv_agent_config *config,
                               const dv_task_paths *paths, dv_spec_error *err);

/* The path in security option OPT when it names a seccomp profile by path, as
 * current Nomad reads it: "seccomp=<path>" (or dockerd's deprecated
 * "seccomp:<path>") whose value, blanks skipped, is neither "unconfined" nor a
 * profile itself (JSON: starts with '{'). The path may be "" (the parser refuses
 * it); a relative one resolves against the task dir, as a volume source does.
 * NULL for every other option. Points into OPT. */
const char *dv_policy_seccomp_path(const char *opt);

/* The most a seccomp profile file may hold: Docker's default profile is ~20 KB. */
#define DV_SECCOMP_PROFILE_MAX (1024 * 1024)

/* The security options to send, at every container create (after
 * dv_policy_check_host_paths()): config.security_opt with each seccomp=<path>
 * replaced by "seccomp=<the file's profile, compact JSON>", as Nomad's
 * parseSecurityOpts does, since the Engine takes the profile, not a path. With
 * docker.volumes.enabled false the file is opened beneath the allocation
 * directory as resolved on disk (openat2 RESOLVE_BENEATH for the directories, so
 * a symlink swapped in after the check cannot lead out) and the file itself must
 * not be a symlink; with volumes enabled any host path is opened as written. The
 * file must be a regular file (never opened blocking: a FIFO cannot stall the
 * caller) of at most DV_SECCOMP_PROFILE_MAX bytes holding one JSON object (the
 * strict reader: no key twice). Does I/O. Errors name config.security_opt[N] and
 * the path: -EPERM outside the allocation dir, the open's errno (-ENOENT, -ELOOP,
 * ...), -EFBIG too big, -EINVAL not a regular file or not a JSON object. RET is
 * replaced only on success. */
int dv_policy_security_opts(const dv_task_spec *spec, const dv_agent_config *config,
                            const dv_task_paths *paths, dv_strv *ret, dv_spec_error *err);

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
