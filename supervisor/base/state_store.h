/* The agent's persistent state under DATA_DIR/state (DESIGN.md, On-disk layout):
 *
 *   state/agent.json          {"version":1,"node_id":"<uuid>"}: created once, never changed
 *   state/tasks/<id>.json     one record per task (content is the agent's business;
 *                             it must carry an integer "version")
 *   state/images.json         image reference table
 *   state/quarantine/         records that could not be loaded, kept for the operator
 *
 * Every write is atomic (tmp, fsync, rename, fsync dir) and 0600, because task
 * specs may hold registry credentials. Task ids must be UUIDs (they become file
 * names). */
#ifndef DV_STATE_STORE_H
#define DV_STATE_STORE_H

#include <stdbool.h>

#include <jansson.h>

#include "atomic_file.h"
#include "error.h"
#include "uuid.h"

#define DV_AGENT_STATE_VERSION 1

typedef struct dv_state_store dv_state_store;

/* Create state/, state/tasks/ (0700) if needed. */
int dv_state_store_open(const char *data_dir, dv_state_store **ret, dv_error *err);
void dv_state_store_free(dv_state_store *store);

/* The node id: read from agent.json, or generated and persisted on first use. */
int dv_state_store_node_id(dv_state_store *store, char ret[DV_UUID_STRLEN + 1], dv_error *err);

int dv_state_store_save_task(dv_state_store *store, const char *task_id, const json_t *record,
                             dv_error *err);
/* Removing a record that does not exist is not an error. */
int dv_state_store_remove_task(dv_state_store *store, const char *task_id, dv_error *err);

/* The two halves of dv_state_store_save_task, for the record writer
 * (record_writer.h), which serializes on the loop and writes on its thread.
 * The text of RECORD as a record file holds it (heap; *RET_LEN its length), or
 * NULL with ERR set (no "version", or a string that is not UTF-8). */
char *dv_state_store_task_text(const char *task_id, const json_t *record, size_t *ret_len,
                               dv_error *err);
/* Write TEXT as TASK_ID's record durably; SYNC stands in for fsync (NULL: fsync),
 * so tests can hold or fail the step that makes it durable. */
int dv_state_store_write_task_text(dv_state_store *store, const char *task_id, const char *text,
                                   size_t len, dv_sync_fn sync, dv_error *err);
/* dv_state_store_remove_task with SYNC in place of fsync (NULL: fsync). */
int dv_state_store_remove_task_synced(dv_state_store *store, const char *task_id, dv_sync_fn sync,
                                      dv_error *err);

/* Is there a record for TASK_ID on disk (loaded or not)? A record that cannot
 * be checked (an I/O error) counts as present: callers use this to spare things. */
bool dv_state_store_has_task(const dv_state_store *store, const char *task_id);

/* Called for each record that cannot be used: it has been moved to MOVED_TO; WHY
 * is the reason as listed by dv_state_store_quarantined(). */
typedef void (*dv_state_bad_record_fn)(const char *task_id, const char *moved_to, const char *why,
                                       void *userdata);

/* Load every task record whose "version" equals VERSION into *RET (object:
 * task id → record). Unparsable records, records with another version, and
 * records whose file name is not a UUID are moved to state/quarantine/ and
 * reported through BAD; they never fail the load. Leftover *.tmp files of an
 * interrupted write are removed (the rename never happened, so the record
 * before it is intact). */
int dv_state_store_load_tasks(dv_state_store *store, int version, dv_state_bad_record_fn bad,
                              void *userdata, json_t **ret, dv_error *err);

/* Reasons are cut to this, and before any " near " (a JSON parser's quote of
 * the record, which may hold registry credentials). */
#define DV_QUARANTINE_REASON_MAX 512

/* Move the record of TASK_ID to state/quarantine/ like the load does: for a record
 * that loaded but cannot be used (malformed fields, a spec this agent refuses, a
 * container that is not the task's). REASON is listed with it; RET_WHY (optional)
 * gets the reason as listed, *RET_MOVED_TO (optional, heap) where it went. */
int dv_state_store_quarantine_task(dv_state_store *store, const char *task_id, const char *reason,
                                   char ret_why[DV_QUARANTINE_REASON_MAX], char **ret_moved_to,
                                   dv_error *err);

/* Every record set aside since the store was opened (by the load or the call
 * above), oldest first: [{"task_id","moved_to","reason","time_ns"}]. Borrowed. */
const json_t *dv_state_store_quarantined(const dv_state_store *store);
/* Was TASK_ID's record set aside since the store was opened? (Its container is
 * then left alone: the dangling-container reaper asks.) */
bool dv_state_store_is_quarantined(const dv_state_store *store, const char *task_id);

/* state/images.json; *ret is NULL when the file does not exist yet. */
int dv_state_store_save_images(dv_state_store *store, const json_t *table, dv_error *err);
int dv_state_store_load_images(dv_state_store *store, json_t **ret, dv_error *err);

#endif
