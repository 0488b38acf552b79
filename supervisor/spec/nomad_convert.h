/* Internal to the Nomad job conversion (nomad_job.c, nomad_task.c): shared
 * readers of Nomad's API JSON, and one task's conversion. Paths are Nomad's
 * ("Job.TaskGroups[0].Tasks[1].Config.logging"). */
#ifndef DV_NOMAD_CONVERT_H
#define DV_NOMAD_CONVERT_H

#include <stdbool.h>

#include <jansson.h>

#include "interpolate.h"
#include "spec_types.h"

/* Given in Nomad's sense: not null, "", 0, false, [] or {}, nor made only of
 * those (a generated job writes empty blocks for what nobody set). */
bool dv_nomad_is_set(const json_t *v);

/* Fails on the first of KEYS (NULL-terminated) that OBJ sets (dv_nomad_is_set):
 * "PATH.KEY: not supported by dockvisor". */
int dv_nomad_refuse(const json_t *obj, const char *path, const char *const *keys,
                    dv_spec_error *err);

/* A RestartPolicy {Attempts, Interval, Delay, Mode} (durations in nanoseconds)
 * as the task spec's "restart" block; *ret = NULL for a null one. */
int dv_nomad_restart(const json_t *policy, const char *path, json_t **ret, dv_spec_error *err);

/* One Nomad Task (driver docker) at PATH as a task spec JSON: Name, Config
 * (HCL's one-element block arrays unwrapped), Env, Meta, User, Resources,
 * KillTimeout, KillSignal, RestartPolicy, LogConfig, Artifacts; its
 * Constraints checked against NODE. */
int dv_nomad_task_convert(const json_t *task, const char *path, const dv_interp_vars *node,
                          json_t **ret, dv_spec_error *err);

#endif
