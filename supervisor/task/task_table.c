#include "task_table.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A plain array: a node runs hundreds of tasks, not millions, and lookups by
 * prefix need a scan anyway. */
struct dv_task_table {
    dv_task **v;
    size_t n, cap;
};

dv_task_table *dv_task_table_new(void)
{
    return dv_xcalloc(1, sizeof(dv_task_table));
}

void dv_task_table_free(dv_task_table *table, void (*free_rt)(dv_task *t))
{
    if (!table)
        return;
    for (size_t i = 0; i < table->n; i++) {
        if (free_rt)
            free_rt(table->v[i]);
        dv_task_free(table->v[i]);
    }
    free(table->v);
    free(table);
}

int dv_task_table_add(dv_task_table *table, dv_task *t)
{
    if (dv_task_table_get(table, t->id))
        return -EEXIST;
    if (table->n == table->cap) {
        size_t cap = table->cap ? table->cap * 2 : 16;
        table->v = dv_xreallocarray(table->v, cap, sizeof(*table->v));
        table->cap = cap;
    }
    table->v[table->n++] = t;
    return 0;
}

void dv_task_table_detach(dv_task_table *table, dv_task *t)
{
    for (size_t i = 0; i < table->n; i++)
        if (table->v[i] == t) {
            memmove(&table->v[i], &table->v[i + 1], (table->n - i - 1) * sizeof(*table->v));
            table->n--;
            return;
        }
}

void dv_task_table_remove(dv_task_table *table, dv_task *t, void (*free_rt)(dv_task *t))
{
    dv_task_table_detach(table, t);
    if (free_rt)
        free_rt(t);
    dv_task_free(t);
}

dv_task *dv_task_table_get(const dv_task_table *table, const char *id)
{
    for (size_t i = 0; id && i < table->n; i++)
        if (strcmp(table->v[i]->id, id) == 0)
            return table->v[i];
    return NULL;
}

int dv_task_table_lookup(const dv_task_table *table, const char *id_or_prefix, dv_task **ret,
                         size_t *ret_matches)
{
    size_t len = id_or_prefix ? strlen(id_or_prefix) : 0;
    if (len == 0)
        return -ENOENT;
    dv_task *exact = dv_task_table_get(table, id_or_prefix);
    if (exact) {
        *ret = exact;
        return 0;
    }
    dv_task *found = NULL;
    size_t matches = 0;
    for (size_t i = 0; i < table->n; i++)
        if (strncmp(table->v[i]->id, id_or_prefix, len) == 0) {
            found = table->v[i];
            matches++;
        }
    if (ret_matches)
        *ret_matches = matches;
    if (matches == 0)
        return -ENOENT;
    if (matches > 1)
        return -EEXIST;
    *ret = found;
    return 0;
}

size_t dv_task_table_size(const dv_task_table *table)
{
    return table->n;
}

dv_task *dv_task_table_at(const dv_task_table *table, size_t i)
{
    return i < table->n ? table->v[i] : NULL;
}

void dv_task_table_count(const dv_task_table *table, size_t ret_counts[DV_TASK_STATE_COUNT])
{
    memset(ret_counts, 0, sizeof(size_t) * DV_TASK_STATE_COUNT);
    for (size_t i = 0; i < table->n; i++)
        if (table->v[i]->state < DV_TASK_STATE_COUNT)
            ret_counts[table->v[i]->state]++;
}
