/* A task's environment (Nomad's runtime variables) and its spec resolved
 * against it: the one place both are built, for submit, every start,
 * recovery and validate alike.
 *
 * Runtime variables (dv_task_runtime_env), which win over the spec's env:
 *   NOMAD_TASK_NAME, NOMAD_JOB_NAME, NOMAD_JOB_ID, NOMAD_GROUP_NAME,
 *   NOMAD_NAMESPACE ("default"), NOMAD_ALLOC_ID, NOMAD_SHORT_ALLOC_ID (its
 *   first 8 characters), NOMAD_ALLOC_INDEX, NOMAD_ALLOC_NAME
 *   ("<job>.<group>[<index>]"), NOMAD_ALLOC_DIR, NOMAD_TASK_DIR,
 *   NOMAD_SECRETS_DIR, NOMAD_CPU_LIMIT, NOMAD_MEMORY_LIMIT,
 *   NOMAD_MEMORY_MAX_LIMIT (resources.memory_max, when set), NOMAD_DC,
 *   NOMAD_REGION, NOMAD_META_<key> (the spec's meta), and per port label
 *   NOMAD_PORT_, NOMAD_HOST_PORT_, NOMAD_IP_, NOMAD_HOST_IP_, NOMAD_ADDR_,
 *   NOMAD_HOST_ADDR_<label>.
 *   A task alone is a job and a group of one: job and group are the task's
 *   name and the index 0 unless CTX says otherwise.
 *
 * Resolution (dv_spec_parse_for_task): the spec's env values, then every
 * string of its config block, interpolated (interpolate.h) with that
 * environment, the node (CONFIG->node, CTX->node_id) and CTX->attrs; an
 * unknown variable is a validation error naming the field. */
#ifndef DV_TASK_ENV_H
#define DV_TASK_ENV_H

#include "agent_config.h"
#include "interpolate.h"
#include "spec.h"
#include "translate_ctx.h"

/* RET (empty on entry) gets the runtime variables of SPEC in CTX. CTX->ports
 * NULL gives placeholders for the network block's ports (the static port, else
 * CONFIG's lowest dynamic one): for checking a spec before its ports exist. */
void dv_task_runtime_env(const dv_task_spec *spec, const dv_agent_config *config,
                         const dv_translate_ctx *ctx, dv_kv *ret);

/* The container's environment: SPEC's env, then the runtime variables. */
void dv_task_env(const dv_task_spec *spec, const dv_agent_config *config,
                 const dv_translate_ctx *ctx, dv_kv *ret);

/* The variables ${...} sees for a task in CTX whose environment is ENV. */
void dv_task_interp_vars(const dv_agent_config *config, const dv_translate_ctx *ctx,
                         const dv_kv *env, dv_interp_vars *ret);

/* dv_spec_parse_resolved() of SPEC_JSON for a task in CTX (task_id, node_id,
 * ports, job/group; paths are not needed). RET_JSON (optional) gets SPEC_JSON
 * as resolved: its env values and config strings interpolated, which
 * dv_spec_parse() turns into the same struct with no variable needed. */
int dv_spec_parse_for_task(const json_t *spec_json, const dv_agent_config *config,
                           const dv_translate_ctx *ctx, dv_task_spec **ret, json_t **ret_json,
                           dv_spec_error *err);

#endif
