/* Nomad's job JSON (what `nomad job run -output job.hcl` prints, the API's
 * form) as group specs (group_spec.h) for this node.
 *
 * The node runs every allocation itself, so what Nomad's scheduler would
 * decide is decided here: the job's Region must be the node's, its
 * Datacenters must name the node's (or match it as a glob, "*"), its
 * Namespace must be "" or "default", and every constraint of the job, its
 * groups and their tasks must hold on this node (nomad_constraints.h); else
 * the job is refused with the field named as Nomad names it
 * ("Job.TaskGroups[0].Constraints[1]: ..."). Scheduling-only fields
 * (Affinities, Spreads, Update, Migrate, Reschedule, Priority, ...) are
 * ignored; features dockvisor does not have (Services, Templates, Vault,
 * Volumes, VolumeMounts, Lifecycle, CSI, Periodic, ParameterizedJob,
 * Multiregion), when given, are refused: "... : not supported by dockvisor".
 *
 * Mapping, per TaskGroup (one group JSON each, "job" = Job.ID, else Job.Name):
 * - Name, Count (1..DV_GROUP_COUNT_MAX; a missing Count is 1, 0 is refused);
 *   Type "system"/"sysbatch" run one allocation (count 1) on this node, as
 *   Nomad runs one per node; "batch" groups without a RestartPolicy get
 *   Nomad's batch default (3 attempts in 24h, 15s delay, mode fail).
 * - meta = Job.Meta overlaid by the group's Meta (the task's Meta overlays
 *   both, in dv_group_spec_parse).
 * - RestartPolicy {Attempts, Interval, Delay, Mode} → restart (durations are
 *   nanoseconds in the API: "1m30s").
 * - Networks[0] (at most one): Mode "bridge" and "none" as they are. Nomad's
 *   "host" (its default) means the task drivers network themselves, which a
 *   docker task does with Docker's own bridge: when every task sets the same
 *   config.network_mode, that is the group's mode (and the tasks' setting is
 *   dropped; "bridge"/"default" give "bridge"); when none does, "bridge" (the
 *   tasks then share one namespace, which Nomad's would not); tasks that differ
 *   are refused. In a bridge group the tasks' config.ports are dropped: the
 *   infra container publishes every group port. ReservedPorts [{Label, Value,
 *   To, HostNetwork}] → ports {Label: {static, to, host_network}} (To -1,
 *   "the host port", is no "to");
 *   DynamicPorts → {Label: {to, host_network}}; DNS {Servers, Searches,
 *   Options} → dns. Other modes (cni/...) and Hostname are refused.
 * - Tasks: nomad_convert.h (Driver must be "docker").
 * Pure, no I/O. */
#ifndef DV_NOMAD_JOB_H
#define DV_NOMAD_JOB_H

#include <stdbool.h>

#include <jansson.h>

#include "interpolate.h"
#include "spec_types.h"

/* Is JSON a Nomad job ({"Job": {...}} or an object with "TaskGroups")? */
bool dv_nomad_job_is_job(const json_t *json);

/* NODE gives this node's facts (node_id, node_name, node_datacenter,
 * node_region, node_class, meta, attrs; env unused; a NULL datacenter or
 * region is Nomad's default, "dc1" or "global"). *ret = a JSON array of group
 * JSONs (dv_group_spec_parse's input), one per TaskGroup in order; untouched
 * on failure. Errors name Nomad's field paths, e.g.
 * "Job.TaskGroups[0].Tasks[1].Driver: driver \"exec\" is not supported
 * (dockvisor runs docker tasks only)". */
int dv_nomad_job_to_groups(const json_t *json, const dv_interp_vars *node, json_t **ret,
                           dv_spec_error *err);

#endif
