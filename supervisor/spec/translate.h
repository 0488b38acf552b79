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
 * - Env: the spec's env, then NOMAD_TASK_NAME, NOMAD_ALLOC_ID, NOMAD_ALLOC_DIR,
 *   NOMAD_TASK_DIR, NOMAD_SECRETS_DIR, NOMAD_CPU_LIMIT, NOMAD_MEMORY_LIMIT,
 *   NOMAD_MEMORY_MAX_LIMIT (resources.memory_max, when set), and
 *   NOMAD_PORT_ / NOMAD_HOST_PORT_ / NOMAD_IP_ / NOMAD_ADDR_<label>; ours win
 *   over the spec's. ${VAR} references to these in command, args,
 *   entrypoint, env values, label values, hostname, work_dir,
 *   network_aliases and logging option values are interpolated, as Nomad
 *   does; unknown references are left as written.
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

/* "<name>-<id>": at most DV_TASK_NAME_MAX + 1 + 36 chars. */
#define DV_CONTAINER_NAME_MAX (DV_TASK_NAME_MAX + 1 + 36 + 1)

/* Writes "<name>-<id>" into BUF. -ENAMETOOLONG if it does not fit. */
int dv_container_name(const char *task_name, const char *task_id, char *buf, size_t size);

typedef struct dv_translate_ctx {
    const char *task_id;        /* the task's UUID (NOMAD_ALLOC_ID, label, container name) */
    const char *node_id;        /* the agent's persistent node id (label) */
    const char *node_name;      /* for the node_name extra label; NULL = "" */
    const dv_task_paths *paths; /* required */
    const dv_port_alloc *ports; /* one per network.ports label (dv_spec_port_requests) */
    size_t n_ports;
    const char *bind_address; /* NULL = config->bind_address */
    const char *advertise_ip; /* NOMAD_IP_<label>; NULL = the bind address, or
                                 127.0.0.1 when that is 0.0.0.0 / :: */
    /* Config.Image: the image id the agent resolved (so the container runs
     * exactly what was pulled), or NULL for the spec's normalized reference. */
    const char *image;
    /* Host CPU for cpu_hard_limit (dv_host_cpu() below): logical CPUs and
     * their total MHz. 0 → 1 CPU at 1000 MHz (then 1 MHz = 1/1000 CPU). */
    int ncpus;
    int64_t cpu_total_mhz;
    /* The canonical host path of each config.devices entry (dv_policy_check_devices()),
     * sent as PathOnHost; NULL = the paths as written (previews, tests). */
    const dv_strv *device_paths;
    /* HostConfig.SecurityOpt, one entry per config.security_opt option: each
     * seccomp=<path> replaced by the profile the agent read from the file at this
     * create (dv_policy_security_opts()), since translation itself reads no file.
     * NULL = the options as written (validate's preview, the dry run at submit,
     * tests): a profile by path is then shown as "seccomp=<path>", which the
     * Engine would refuse, so a body for a real create must have it. */
    const dv_strv *security_opt;
} dv_translate_ctx;

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

/* This host's logical CPU count and total MHz (sum of each CPU's max
 * frequency from sysfs, else /proc/cpuinfo "cpu MHz", else 1000 per CPU), as
 * Nomad's CPU fingerprint. Never fails. */
void dv_host_cpu(int *ret_ncpus, int64_t *ret_total_mhz);

#endif
