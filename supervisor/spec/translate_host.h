/* Internal to the translation (translate.c, translate_host.c). */
#ifndef DV_TRANSLATE_HOST_H
#define DV_TRANSLATE_HOST_H

#include <jansson.h>

#include "translate.h"

/* Builds "HostConfig"; adds "ExposedPorts" to BODY when ports are published.
 * ENV is the container's environment, for the agent's logging options. */
int dv_translate_host_config(const dv_task_spec *spec, const dv_agent_config *config,
                             const dv_translate_ctx *ctx, const dv_kv *env, json_t *body,
                             json_t **ret, dv_spec_error *err);

/* JSON arrays/objects of our value types; NULL when a string is not valid UTF-8. */
json_t *dv_json_strv(const dv_strv *s);
json_t *dv_json_kv(const dv_kv *kv);

/* Memory limits in bytes (translate.h has the rule): *ret_memory 0 = no
 * limit, *ret_reservation 0 = none. */
void dv_translate_memory(const dv_task_spec *spec, int64_t *ret_memory, int64_t *ret_reservation);

#endif
