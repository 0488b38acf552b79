/* The record writer: task records are made durable on a thread of their own,
 * so the event loop (which also serves the API) never waits for an fsync
 * (DESIGN.md, "Durability").
 *
 * Contract:
 * - The loop serializes a record (dv_state_store_task_text: cheap) and hands
 *   the text over with dv_record_writer_save(); a removal goes through
 *   dv_record_writer_remove(). Both return at once with a ticket: a sequence
 *   number, growing by one per call.
 * - One thread (signals blocked, named "dv-records") carries the operations out
 *   in the order they were given, each durably (temp, fsync, rename, fsync the
 *   directory; an unlink and an fsync of the directory).
 * - Per task only the newest operation not yet begun matters: a save or a remove
 *   given while an older one of the same task still waits replaces it in its
 *   place in the queue (two saves in a row write the newer text once; a save then
 *   a remove writes nothing and removes). So a queued write can never bring back
 *   a removed record, and a save after a remove (the id used again) is written.
 * - dv_record_writer_wait(TICKET), from any thread but the writer's, returns
 *   once every operation with a ticket <= TICKET is done: durable on disk, or
 *   failed. A failure is handed to the options' FAILED on the loop thread
 *   (posted), once per failed operation.
 * - dv_record_writer_stop() finishes everything queued, then joins the thread;
 *   after it, operations are carried out at once on the caller's thread.
 * - The store must outlive the writer, and the writer must outlive the loop's
 *   running of messages (free it after dv_loop_close or dv_loop_free). */
#ifndef DV_RECORD_WRITER_H
#define DV_RECORD_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "loop.h"
#include "state_store.h"

typedef struct dv_record_writer dv_record_writer;

typedef struct dv_record_writer_options {
    /* Where FAILED runs. */
    dv_loop *loop;
    /* An operation failed (REMOVING: a removal, else a save). Called on the loop
     * thread, or on the thread of dv_record_writer_free() for failures the loop
     * no longer took. May be NULL. */
    void (*failed)(void *userdata, const char *task_id, bool removing, const dv_error *err);
    void *userdata;
    /* In place of fsync (NULL: fsync), for tests: to hold an operation before it
     * is durable, or to make it fail. */
    dv_sync_fn sync;
} dv_record_writer_options;

/* -errno when the thread cannot be started (ERR says so). */
int dv_record_writer_new(dv_state_store *store, const dv_record_writer_options *options,
                         dv_record_writer **ret, dv_error *err);
/* Stops it if it was not (dv_record_writer_stop), then reports failures still
 * owed to FAILED on the caller's thread. */
void dv_record_writer_free(dv_record_writer *w);

/* Queue TEXT (LEN bytes, taken over: freed by the writer) as TASK_ID's record. */
uint64_t dv_record_writer_save(dv_record_writer *w, const char *task_id, char *text, size_t len);
/* Queue the removal of TASK_ID's record (one that does not exist is no error). */
uint64_t dv_record_writer_remove(dv_record_writer *w, const char *task_id);
/* The ticket of the newest operation given so far (0: none). */
uint64_t dv_record_writer_latest(dv_record_writer *w);
/* Block until every operation with a ticket <= TICKET is done (see above). Never
 * on the writer's thread. */
void dv_record_writer_wait(dv_record_writer *w, uint64_t ticket);
/* Is an operation of TASK_ID queued or under way? */
bool dv_record_writer_pending(dv_record_writer *w, const char *task_id);
/* Finish every queued operation and join the thread. */
void dv_record_writer_stop(dv_record_writer *w);

#endif
