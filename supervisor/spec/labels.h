/* The labels every container the agent creates carries, and by which it knows
 * its own containers again: at recovery, in the dangling-container GC, in the
 * Engine's event stream and before every destructive call (ownership.h). Part
 * of the on-disk contract with running containers: never rename one, or an
 * upgraded agent no longer recognises what the previous one started. */
#ifndef DV_LABELS_H
#define DV_LABELS_H

#define DV_LABEL_TASK_ID "io.dockvisor.task_id"
#define DV_LABEL_TASK_NAME "io.dockvisor.task_name"
#define DV_LABEL_NODE_ID "io.dockvisor.node_id"
/* Nomad's mandatory label: the allocation (a task alone is its own). */
#define DV_NOMAD_LABEL_ALLOC_ID "com.hashicorp.nomad.alloc_id"

#endif
