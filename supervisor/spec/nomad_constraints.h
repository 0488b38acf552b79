/* Nomad's constraints ({"LTarget", "RTarget", "Operand"}) checked against this
 * node, as Nomad's scheduler checks them (scheduler/feasible.go), for a job
 * that is run here and nowhere else: a constraint the node does not satisfy
 * refuses the job instead of leaving it pending.
 *
 * Targets: "${attr.<name>}", "${node.unique.id}", "${node.unique.name}",
 * "${node.datacenter}", "${node.region}", "${node.class}", "${meta.<key>}"
 * (resolved with interpolate.h against the node's facts; a variable the node
 * does not have is "not set", as a missing attribute in Nomad), or literals.
 * Operands:
 * - "=", "==", "is": both set and equal; "!=", "not": not equal (unset counts);
 * - "<", "<=", ">", ">=": both set; numbers when both parse as numbers, else
 *   byte order;
 * - "regexp": LTarget matches the POSIX extended regular expression RTarget;
 * - "set_contains", "set_contains_all": every item of RTarget's comma list is
 *   in LTarget's; "set_contains_any": one is;
 * - "is_set", "is_not_set": of LTarget;
 * - "version", "semver": LTarget is a dotted numeric version (a "-suffix" or
 *   "+build" is ignored) matching every comma-separated term of RTarget,
 *   each "[op] version" with op =, !=, >, >=, <, <= or ~> (pessimistic);
 * - "distinct_hosts", "distinct_property": always satisfied (one node);
 * - "" is "=".
 * Pure, no I/O. */
#ifndef DV_NOMAD_CONSTRAINTS_H
#define DV_NOMAD_CONSTRAINTS_H

#include <jansson.h>

#include "interpolate.h"
#include "spec_types.h"

/* Check the constraint C (a JSON object) named PATH ("Job.Constraints[0]").
 * 0 when NODE satisfies it; else an error naming PATH: "${attr.kernel.name} =
 * windows is not satisfied by this node (linux)"; an unknown operand, a bad
 * regexp or version constraint, or a malformed object is an error naming the
 * member (PATH.Operand, PATH.RTarget). NODE->env is not used. */
int dv_nomad_constraint_check(const json_t *c, const char *path, const dv_interp_vars *node,
                              dv_spec_error *err);

/* Every constraint of LIST (null or an array), named PATH[i]. */
int dv_nomad_constraints_check(const json_t *list, const char *path, const dv_interp_vars *node,
                               dv_spec_error *err);

#endif
