/* The group spec (DESIGN.md "Task groups"): Nomad's task group, the unit the
 * agent allocates. A group runs COUNT allocations of its tasks; with bridge
 * networking the tasks of one allocation share a network namespace owned by
 * an infra (pause) container, which publishes the group's ports.
 *
 * Contract:
 * - dv_group_spec_parse() is pure: it validates the group and every task (each
 *   through dv_spec_parse(), spec.h) and keeps, per task, the task spec JSON
 *   with the group's defaults applied: what the runtime submits as the task.
 * - Errors name the field as the group JSON spells it ("network.ports.http.to",
 *   "tasks[1].config.image"); a task's own errors are prefixed "tasks[i].".
 * - *ret is untouched on failure; free it with dv_group_spec_free(). */
#ifndef DV_GROUP_SPEC_H
#define DV_GROUP_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "spec.h"
#include "spec_types.h"

#define DV_GROUP_COUNT_MAX 100
#define DV_GROUP_TASKS_MAX 32
/* Room for the runtime's suffixes on a group name ("<name>-infra", ...). */
#define DV_GROUP_NAME_MAX (DV_TASK_NAME_MAX - 16)

typedef struct dv_group_spec {
    /* "job", default: the group's name. Same rule as a task name
     * ([A-Za-z0-9][A-Za-z0-9_.-]*, at most DV_TASK_NAME_MAX). */
    char *job;
    /* "name": required, a task name's rule, at most DV_GROUP_NAME_MAX. */
    char *name;
    int64_t count; /* "count", default 1, 1..DV_GROUP_COUNT_MAX */
    /* "network.mode": "bridge" (default: a namespace shared by the tasks, owned by
     * an infra container), "host", "none", or the name of a user-defined Docker
     * network (Docker's name rule). */
    char *network_mode;
    /* "network.ports": a task's network.ports shape (spec_ports.h), plus
     * "host_network" per port ("default" only). */
    dv_network_port *ports;
    size_t n_ports;
    /* "network.dns": {"servers": [IP...], "searches": [], "options": []} */
    dv_strv dns_servers, dns_searches, dns_options;
    dv_kv meta; /* "meta": keys dv_meta_key_valid() */
    /* "restart": the task spec's restart block, validated by its rules; given to
     * every task that has none. NULL = none (the tasks keep their own defaults). */
    json_t *restart;
    /* "tasks": 1..DV_GROUP_TASKS_MAX task spec JSONs, deep copies with the group's
     * defaults applied ("restart" from the group when the task has none; "meta"
     * = the group's meta overlaid by the task's), each passing dv_spec_parse(),
     * names unique in the group. Owned (one reference each). */
    json_t **tasks;
    size_t n_tasks;
} dv_group_spec;

/* Parse and validate a group JSON object: {"name", "job"?, "count"?, "network"?,
 * "meta"?, "restart"?, "tasks": [...]}. Unknown keys are errors naming them.
 * No task may have a "network" block of its own: ports and the network mode
 * belong to the group. In a bridge-mode group the tasks share the infra
 * container's namespace (Docker's container:<id> network mode), so a task may not
 * set config.network_mode, ports, port_map, hostname, dns_servers,
 * dns_search_domains, dns_options, extra_hosts, mac_address, ipv4_address,
 * ipv6_address or network_aliases ("tasks[0].config.ports: set on the group's
 * network in a group with bridge networking"); in the other modes only
 * config.network_mode, ports and port_map are refused, and each task is
 * checked as it will run, with config.network_mode = the group's mode (so
 * network_aliases need a user-defined network, mac_address no host network).
 * The kept task JSONs do not carry it: the runtime gives every task its
 * group's network. */
int dv_group_spec_parse(const json_t *json, dv_group_spec **ret, dv_spec_error *err);
void dv_group_spec_free(dv_group_spec *group);

/* Is JSON a group (an object with "tasks") rather than a single task spec? */
bool dv_group_spec_is_group(const json_t *json);

#endif
