/* Translation: task spec + agent config + context → the body of the Engine's
 * POST /containers/create?name=<dv_container_name()> (API 1.41: Config fields
 * at the top level, plus "HostConfig" and "NetworkingConfig").
 *
 * Pure and deterministic: no I/O, same inputs → same JSON (sorted keys when
 * dumped with JSON_SORT_KEYS). It re-runs dv_policy_check(), so a body that
 * breaks the agent's policy is never returned. Being pure it cannot follow
 * symlinks: call dv_policy_check_host_paths() (policy.h) before each create.
 *
 * Nomad's semantics, in short (translate.c and translate_host.c say why):
 * - Labels: the spec's labels, then ours (DV_LABEL_TASK_ID / _TASK_NAME /
 *   _NODE_ID of labels.h, and Nomad's mandatory com.hashicorp.nomad.alloc_id),
 *   which a user cannot override, then the extra_labels the agent config
 *   enables (com.hashicorp.nomad.<name>).
 * - Env: the spec's env, then the runtime variables of task_env.h, which win.
 *   SPEC is the resolved one (dv_spec_parse_for_task(): its env and config
 *   already interpolated); nothing is interpolated here.
 * - Memory: soft = resources.memory, hard = max(memory_hard_limit,
 *   memory_max) when either is set: Memory = hard, MemoryReservation = soft;
 *   else Memory = soft. memory_max -1: no hard limit (Memory 0). MemorySwap =
 *   Memory (no swap).
 * - CPU: CpuShares = resources.cpu (minimum 2); with cpu_hard_limit,
 *   CpuPeriod = cpu_cfs_period (default 100000) and CpuQuota =
 *   period * cpu / (ctx->cpu_total_mhz / ctx->ncpus), at least 1000.
 * - Binds: alloc, local, secrets, and alloc/logs read-only, then the spec's
 *   volumes (resolved); the SELinux label appended to each when configured.
 * - Ports: each published allocation bound for tcp and udp on
 *   ctx->bind_address; ExposedPorts set. None in host/none/container: modes.
 * - Logging: the task's logging block as given, else the agent's; a missing
 *   type is omitted so dockerd uses its default driver (as Nomad).
 * - healthchecks.disable → Healthcheck {"Test": ["NONE"]}.
 * - SecurityOpt: as written, except seccomp=<path>, which is sent as
 *   seccomp=<the file's profile> (ctx->security_opt), as current Nomad does.
 */
#ifndef DV_TRANSLATE_H
#define DV_TRANSLATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "agent_config.h"
#include "spec.h"
#include "spec_paths.h"
#include "spec_ports.h"
#include "spec_types.h"
#include "translate_ctx.h"

/* "<name>-<id>": at most DV_TASK_NAME_MAX + 1 + 36 chars. */
#define DV_CONTAINER_NAME_MAX (DV_TASK_NAME_MAX + 1 + 36 + 1)

/* Writes "<name>-<id>" into BUF. -ENAMETOOLONG if it does not fit. */
int dv_container_name(const char *task_name, const char *task_id, char *buf, size_t size);

/* Build the create body. *ret is a new object. Errors name the field. SPEC must
 * have passed dv_policy_check() against CONFIG (the caller's, once per submit). */
int dv_translate(const dv_task_spec *spec, const dv_agent_config *config,
                 const dv_translate_ctx *ctx, json_t **ret, dv_spec_error *err);

/* What `dockvisor validate` and POST /v1/validate show: SPEC_JSON parsed,
 * checked against CONFIG's policy and translated, with a placeholder task id
 * (DV_PREVIEW_TASK_ID), NODE_ID (NULL = the placeholder too), the task paths
 * under config->data_dir, placeholder host ports from config's port_range
 * (dv_ports_placeholder) and this host's CPU. *ret is the create body. */
#define DV_PREVIEW_TASK_ID "00000000-0000-0000-0000-000000000000"
int dv_translate_preview(const json_t *spec_json, const dv_agent_config *config,
                         const char *node_id, json_t **ret, dv_spec_error *err);

/* This node's attributes as Nomad's fingerprint names them, for ${attr.*}:
 * kernel.name, kernel.version, kernel.arch, cpu.arch, cpu.numcores,
 * cpu.totalcompute, memory.totalbytes, os.name, os.version, unique.hostname,
 * driver.docker. RET is empty on entry. Reads uname, sysinfo and
 * /etc/os-release; never fails (what cannot be read is left out). */
void dv_node_attrs(dv_kv *ret);

/* This host's logical CPU count and total MHz (sum of each CPU's max
 * frequency from sysfs, else /proc/cpuinfo "cpu MHz", else 1000 per CPU), as
 * Nomad's CPU fingerprint. Never fails. */
void dv_host_cpu(int *ret_ncpus, int64_t *ret_total_mhz);

#endif
