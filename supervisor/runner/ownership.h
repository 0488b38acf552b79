/* Is a container this task's? (DESIGN.md, Recovery: ownership.)
 *
 * Every container the agent creates carries io.dockvisor.node_id (this agent's
 * persistent node id) and io.dockvisor.task_id (the task's id). A record's
 * container id is only trusted as far as those labels confirm it: a hand-edited
 * record, or a bug, may name a container that belongs to someone else, and the
 * agent must never stop, kill, signal, exec into or remove such a container.
 * Callers check before every such Engine call; the verdict is final because
 * Docker never reuses a container id.
 *
 * Pure: the caller fetched the labels (an inspect's Config.Labels, or a container
 * list entry's Labels). */
#ifndef DV_OWNERSHIP_H
#define DV_OWNERSHIP_H

#include <jansson.h>

#include "error.h"

/* 0 when LABELS (an object, or NULL for none) carries NODE_ID and TASK_ID in
 * the two labels. Otherwise -EPERM and ERR says what the container carries,
 * e.g. `no io.dockvisor labels` or `io.dockvisor.node_id=N io.dockvisor.task_id=T`
 * (a missing one as "(none)"), for the caller to put into its own sentence. */
int dv_owner_check_labels(const json_t *labels, const char *node_id, const char *task_id,
                          dv_error *err);

/* The same over a container inspect (GET /containers/{id}/json): Config.Labels. */
int dv_owner_check_inspect(const json_t *inspect, const char *node_id, const char *task_id,
                           dv_error *err);

#endif
