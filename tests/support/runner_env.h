/* The task runner on a test runtime (test_runtime.h), driven from a test's own
 * thread: the loop runs in a thread of its own, and the test "holds" it (the
 * loop thread parked inside a posted message) whenever it looks at or feeds the
 * tasks, so a test reads like a script (submit, wait until running, stop, look
 * at what the Engine received) while the loop, workers and timers are the real
 * ones. cmocka's assertions stay on the test's thread, where they may jump.
 *
 * Between calls the loop is held; dv_renv_wait() and dv_renv_sleep() let it run.
 * Tasks are looked up by id after every wait (a task may be gone). What the
 * observers heard is kept in order, as JSON objects:
 *   {"kind":"event","task","type","message","transient","t_ns"}
 *   {"kind":"state","task","state","t_ns"}      (t_ns: CLOCK_MONOTONIC)
 *   {"kind":"gone","task","why":"destroyed"|"set aside","detail"}
 *   {"kind":"destroy_failed","task","error","unreachable"} */
#ifndef DV_RUNNER_ENV_H
#define DV_RUNNER_ENV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "fake_engine.h"
#include "task_runner.h"
#include "test_runtime.h"

#define DV_RENV_NODE "00000000-0000-4000-8000-00000000a9e7" /* test_runtime.c's node id */

typedef struct dv_renv dv_renv;
struct dv_renv {
    dv_fake *fake;
    dv_test_runtime *tr;
    dv_runtime *run;
    json_t *heard;
    /* Called on the loop thread after each observer call (a drain's check). */
    void (*after_observer)(dv_renv *e);
    void *user;

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool held, release;
};

/* A fake Engine, a runtime on it with observers that record, the loop running
 * in its thread and held. Fails the test when something cannot be set up. */
dv_renv *dv_renv_new(void);
/* Stops the loop, frees the runtime (tasks included) and the fake. */
void dv_renv_free(dv_renv *e);

typedef bool (*dv_renv_pred)(dv_renv *e, const void *arg);
/* Let the loop run until PRED (checked every millisecond, the loop held) holds or
 * TIMEOUT_MS passed. Returns whether it held; the loop is held again either way. */
bool dv_renv_wait(dv_renv *e, dv_renv_pred pred, const void *arg, int timeout_ms);
/* Let the loop run for MS milliseconds. */
void dv_renv_sleep(dv_renv *e, int ms);

/* A predicate: task ARG (an id) is not in the table. */
bool dv_renv_gone(dv_renv *e, const void *id);
/* dv_renv_wait() until task ID is in STATE. */
bool dv_renv_wait_state(dv_renv *e, const char *id, enum dv_task_state state, int timeout_ms);

/* Create a task from SPEC (JSON text) as POST /v1/tasks does (create, record,
 * "Received"), without starting it; its id goes to RET_ID. */
dv_task *dv_renv_create(dv_renv *e, const char *spec, char ret_id[DV_UUID_STRLEN + 1]);
/* Feed T the start (the rest of POST /v1/tasks). */
void dv_renv_start(dv_renv *e, dv_task *t);
dv_task *dv_renv_task(dv_renv *e, const char *id);
/* STOP_TIMEOUT_NS < 0: the task's own kill_timeout. */
int dv_renv_feed(dv_renv *e, const char *id, enum dv_task_fsm_event ev, int64_t stop_timeout_ns,
                 const char *stop_signal, bool force);
/* An Engine event (die, oom, destroy) for container CID of task ID. */
void dv_renv_engine_event(dv_renv *e, const char *action, const char *cid, const char *id);

/* ---- the fake Engine's answers ---- */
/* GET /images/REF/json: found with ID (user ""), from now on. */
void dv_renv_image(dv_renv *e, const char *ref, const char *image_id);
/* The next container create answers CID. */
void dv_renv_create_answer(dv_renv *e, const char *cid);
/* POST start, stop, kill answer 204 and DELETE of CID 204, from now on. */
void dv_renv_container_ops(dv_renv *e, const char *cid);
/* GET /containers/CID/json, from now on: a container of task ID on this node,
 * running, or exited with EXIT_CODE (OOMKILLED as Docker says). */
void dv_renv_inspect_running(dv_renv *e, const char *cid, const char *id);
void dv_renv_inspect_exited(dv_renv *e, const char *cid, const char *id, int exit_code,
                            bool oomkilled);
/* A container CID for task ID: one create answering CID, its start, stop, kill,
 * delete, inspect running. */
void dv_renv_container(dv_renv *e, const char *cid, const char *id);
/* Everything for a task of image app:1 (found, DV_RENV_IMAGE) to start and run
 * with container CID. */
#define DV_RENV_IMAGE "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
void dv_renv_happy(dv_renv *e, const char *cid, const char *id);

/* ---- what was heard and recorded ---- */
/* How many observer notes of KIND for task ID (NULL: any) whose TYPE (event type,
 * state name, gone why; NULL: any) is that and whose message/detail/error holds
 * NEEDLE (NULL: any). */
size_t dv_renv_heard(dv_renv *e, const char *kind, const char *id, const char *type,
                     const char *needle);
/* The monotonic time of the first such note, 0 if none. */
int64_t dv_renv_heard_time(dv_renv *e, const char *kind, const char *id, const char *type,
                           const char *needle);
/* The task's record on disk (state/tasks/ID.json) once the record writer has
 * written everything saved so far; NULL when there is none. */
json_t *dv_renv_record(dv_renv *e, const char *id);
/* "METHOD path" of every request the fake saw (without /_ping, /version),
 * comma separated; path cut at 24 characters. Valid until the next call. */
const char *dv_renv_calls(dv_renv *e);
/* The index of the first recorded request from FROM on with METHOD and a path
 * starting with PATH, or -1. */
long dv_renv_request_index(dv_renv *e, const char *method, const char *path, size_t from);

/* cmocka fixtures: a new environment in *STATE, and its end. */
int dv_renv_setup(void **state);
int dv_renv_teardown(void **state);
/* The string KEY of O (a record, an answer), or NULL. */
const char *dv_renv_str(const json_t *o, const char *key);

#endif
