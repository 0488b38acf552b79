/* Dangling container selection (the driver's gc.dangling_containers).
 *
 * A container is dangling when it carries this agent's node id label
 * (io.dockvisor.node_id) but no task record claims it: the agent crashed
 * between create and record, or a record was destroyed while Docker was down.
 * Containers younger than creation_grace are spared, because a create may be
 * in flight right now. Containers of other agents or without our labels are
 * never touched. Pure: the caller lists containers
 * (GET /containers/json?filters={"label":["io.dockvisor.node_id=<id>"]}, with
 * all=1 for recovery, running ones only for the reaper), this decides, the
 * caller removes (or only reports, in dry_run). */
#ifndef DV_DANGLING_SELECT_H
#define DV_DANGLING_SELECT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

/* The containers of an Engine list (objects with "State") the periodic reaper
 * may take at all: running ones, as Nomad's reconciler (it lists without
 * all=1, which is Docker's running, paused and restarting containers). A
 * stopped or never-started container is not the reaper's, whatever its labels:
 * recovery deals with those at the next agent start, and gc.container false
 * keeps what destroys leave. A container without a State is left out. New
 * reference to a new array sharing the objects; never NULL. */
json_t *dv_dangling_running(const json_t *containers);

/* Is the container ID (full id) claimed by a task record? */
typedef bool (*dv_dangling_tracked_fn)(const char *container_id, const char *task_id,
                                       void *userdata);

/* CONTAINERS: the array from the Engine's container list (fields Id, Created
 * (unix seconds), Labels). *RET gets a new array of {"id","name","task_id"}
 * objects to remove. */
int dv_dangling_select(const json_t *containers, const char *node_id,
                       dv_dangling_tracked_fn tracked, void *userdata, int64_t now_ns,
                       int64_t creation_grace_ns, json_t **ret, dv_error *err);

#endif
