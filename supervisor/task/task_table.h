/* The agent's task table: every task by id, owned by the loop thread.
 *
 * Lookups accept a unique id prefix, as the API and CLI do (docker-style). The
 * table owns its tasks: dv_task_table_remove() frees one. */
#ifndef DV_TASK_TABLE_H
#define DV_TASK_TABLE_H

#include <stddef.h>

#include "task.h"

typedef struct dv_task_table dv_task_table;

dv_task_table *dv_task_table_new(void);
/* Frees every task still in it (FREE_RT first frees each task's runner data). */
void dv_task_table_free(dv_task_table *table, void (*free_rt)(dv_task *t));

int dv_task_table_add(dv_task_table *table, dv_task *t);
/* Take T out of the table; it is the caller's to free. */
void dv_task_table_detach(dv_task_table *table, dv_task *t);
/* Remove T and free it (FREE_RT as above, may be NULL). */
void dv_task_table_remove(dv_task_table *table, dv_task *t, void (*free_rt)(dv_task *t));

/* Exact id. */
dv_task *dv_task_table_get(const dv_task_table *table, const char *id);

/* ID or unique prefix (>= 1 char). Returns 0 and *ret, -ENOENT (no match) or
 * -EEXIST (ambiguous: *ret_matches says how many). */
int dv_task_table_lookup(const dv_task_table *table, const char *id_or_prefix, dv_task **ret,
                         size_t *ret_matches);

size_t dv_task_table_size(const dv_task_table *table);
/* I-th task in submission order (stable while nothing is added or removed). */
dv_task *dv_task_table_at(const dv_task_table *table, size_t i);

/* Tasks per state, for STATUS= and /v1/node. */
void dv_task_table_count(const dv_task_table *table, size_t ret_counts[DV_TASK_STATE_COUNT]);

#endif
