/* Nomad's ${...} interpolation (runtime variables, node attributes, meta).
 *
 * In a string, "${X}" is replaced by, in this order:
 * - X one of VARS->env (the task's environment: its NOMAD_* runtime
 *   variables and the spec's own env keys);
 * - node.unique.id, node.unique.name, node.datacenter, node.region,
 *   node.class (VARS->node_*);
 * - meta.<key>: VARS->meta (the node's meta);
 * - attr.<name>: VARS->attrs (dv_node_attrs() in translate.h);
 * - env["X"] (or env['X']): X of VARS->env.
 * "$${" is a literal "${" (Nomad's escape, for a shell's own ${VAR}). A name
 * none of these knows, and a "${" that is never closed, are errors naming
 * FIELD: a typo must not reach a container as text. Pure, no I/O. */
#ifndef DV_INTERPOLATE_H
#define DV_INTERPOLATE_H

#include <jansson.h>

#include "spec_types.h"

typedef struct dv_interp_vars {
    const dv_kv *env;
    const char *node_id, *node_name, *node_datacenter, *node_region, *node_class;
    const dv_kv *meta;
    const dv_kv *attrs;
} dv_interp_vars;

/* IN interpolated into a new string *ret. */
int dv_interpolate(const char *in, const dv_interp_vars *vars, const char *field, char **ret,
                   dv_spec_error *err);

/* Every string in VALUE (objects' values and arrays' items, at any depth;
 * never object keys) interpolated in place. PATH names VALUE in errors
 * ("config"), extended to the string's own path ("config.volumes[2]"). */
int dv_interpolate_json(json_t *value, const dv_interp_vars *vars, const char *path,
                        dv_spec_error *err);

#endif
