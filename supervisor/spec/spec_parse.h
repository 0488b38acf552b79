/* Internal to the spec parser (spec.c, spec_config.c, spec_mounts.c,
 * spec_ports.c): one function per part of the spec. Each fills its part of
 * the struct (pre-filled with defaults) and fails with the field named. */
#ifndef DV_SPEC_PARSE_H
#define DV_SPEC_PARSE_H

#include <jansson.h>

#include "spec.h"
#include "spec_types.h"

/* The config block (spec_config.c): scalars, lists, maps, auth, logging. */
int dv_spec_parse_config(const json_t *config, dv_task_config *cfg, dv_spec_error *err);
void dv_task_config_clear(dv_task_config *cfg);

/* config.volumes, mount, mounts, devices, ulimit (spec_mounts.c). */
int dv_spec_parse_storage(const json_t *config, dv_task_config *cfg, dv_spec_error *err);
void dv_spec_storage_clear(dv_task_config *cfg);

/* The network block and config.ports / port_map against it (spec_ports.c). */
int dv_spec_parse_network(const json_t *network, dv_task_spec *spec, dv_spec_error *err);
int dv_spec_check_ports(const dv_task_spec *spec, dv_spec_error *err);
void dv_spec_network_clear(dv_task_spec *spec);

/* The task-level `artifact` array (spec_artifacts.c). */
int dv_spec_parse_artifacts(const json_t *spec_json, dv_task_spec *spec, dv_spec_error *err);
void dv_spec_artifacts_clear(dv_task_spec *spec);

/* Effective Docker network mode of SPEC: config.network_mode, else
 * network.mode, else "bridge". */
const char *dv_spec_network_mode(const dv_task_spec *spec);

#endif
