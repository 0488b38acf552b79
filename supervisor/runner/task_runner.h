/* The task runner: carries out what the state machine (task.h) asks for.
 *
 * Every Engine call runs as a job on a worker (task_jobs.c). A job carries
 * copies of what it needs plus the task id and the task's gen at submission;
 * its result comes back to the loop, which drops it when the task is gone or
 * its gen moved on (stale), cleaning up what a stale result leaves behind
 * (a container created for a task that no longer wants it is removed).
 *
 * Per task the runner keeps a dv_task_rt: the parsed spec, its directories,
 * its timers and the docklog helper. What the outside hears of a task goes
 * through the runtime's observers (runtime.h), never from here to a client. */
#ifndef DV_TASK_RUNNER_H
#define DV_TASK_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "runtime.h"
#include "docklog_launch.h"
#include "group_spec.h"
#include "duration.h"
#include "spec.h"
#include "spec_paths.h"
#include "task.h"
#include "translate.h"

/* What of a task waits for an unreachable Engine (task_outage.c). */
enum dv_engine_op {
    DV_ENGINE_OP_NONE,
    DV_ENGINE_OP_IMAGE,
    DV_ENGINE_OP_START,
    DV_ENGINE_OP_DESTROY, /* the destroy's Engine steps (stop, remove): tried again */
};

enum dv_logger_state {
    DV_LOGGER_NONE,     /* no helper (not started yet, or logs disabled) */
    DV_LOGGER_RUNNING,  /* helper alive, pidfd watched */
    DV_LOGGER_WAITING,  /* helper died, respawn timer armed */
    DV_LOGGER_SPAWNING, /* a DOCKLOG job launches it in a transient unit (task_jobs.h) */
};

typedef struct dv_task_rt {
    dv_runtime *run;
    dv_task_spec *spec; /* parsed from task->spec; immutable */
    dv_task_paths paths;
    char *docklog_config_path;
    char *docklog_checkpoint_path;
    char *docklog_diag_path;
    char *docklog_gaps_path;  /* log_loss.h */
    int64_t gaps_seen_size;   /* bytes of it already turned into events */
    int gaps_wd;              /* its inotify watch (log_loss.h), -1: none */
    dv_timer *timer;          /* restart delay, kill timeout */
    dv_timer *retry_timer;    /* a failed exit inspect is tried again */
    int64_t inspect_retry_ns; /* current backoff of a failing inspect, 0 when it works */
    bool inspect_warned;      /* the failing streak was logged */
    bool inspect_owed_strict; /* a failed confirm after a stop is still owed */
    /* The container Docker reported an "oom" event for: its exit is an OOM kill even
     * when inspect says otherwise (Docker's OOMKilled races the exit on cgroup v2). */
    char oom_container[65];
    /* The container id this task's labels were confirmed on (task_jobs.h,
     * ownership): its jobs do not inspect it again. "" for none. */
    char owned_container[65];
    dv_cancel *cancel; /* of the fetch in flight (points into its job), or NULL */
    char *image_user;  /* the image's Config.User at the last fetch, NULL: not known */

    /* Engine outages (task_outage.c) */
    dv_timer *engine_timer;      /* the next try of a fetch or start that met no Engine */
    enum dv_engine_op engine_op; /* what waits for the Engine; NONE when nothing does */
    int64_t engine_backoff_ns;   /* of that wait: 1s doubling to DV_ENGINE_RETRY_MAX */
    dv_error engine_err;         /* why: the state machine's, if the wait is called off */
    /* CLOCK_REALTIME: the Engine went away while this container ran (0: it did not);
     * an exit found since, from DV_OUTAGE_SLACK before it, is the outage's doing. */
    int64_t outage_since_ns;
    /* A stop that met no Engine: once it answers, a container found still running
     * (live restore kept it) is stopped again rather than the stop called failed. */
    bool stop_owed;
    int64_t stop_owed_timeout_ns;
    char *stop_owed_signal; /* NULL: the Engine's stop */

    /* docklog helper (docklog_helpers.c) */
    enum dv_logger_state logger;
    dv_docklog_proc proc;
    dv_loop_watch *proc_watch;
    dv_timer *logger_timer; /* respawn backoff, or drain deadline */
    unsigned logger_attempt;
    unsigned logger_serial;    /* of its latest launch: unit names, and which job is current */
    int64_t logger_started_ns; /* monotonic */
    bool logger_term_sent;
    /* Actions waiting for the helper to finish with the current container. */
    bool start_after_logs;
    bool destroy_after_logs;

    /* task_allocs.c: a member waiting for its infra container; the network
     * mode it joins ("container:<infra container name>"); an infra task whose
     * destroy waits for its members to go */
    bool held_for_infra;
    char *network_join;
    bool destroy_when_alone;

    /* the state the observers last heard of (task_state) */
    enum dv_task_state last_notified;
    bool notified_once;
} dv_task_rt;

static inline dv_task_rt *dv_rt(const dv_task *t)
{
    return t->runner;
}

extern const dv_task_ops dv_runner_ops;

/* Build a task from a submitted spec: parse, police, allocate ports, paths,
 * record it (not started yet). ALLOC: the allocation it is part of (NULL: a
 * task alone; task_allocs.c). On a refusal *ret_status says 400 or 409 and
 * ERR names the field. */
int dv_runner_create(dv_runtime *run, const json_t *spec_json, const dv_task_alloc *alloc,
                     dv_task **ret, unsigned *ret_status, dv_spec_error *err);
/* Write T's record durably (temp, fsync, rename, fsync the directory), here and
 * now: for a task being submitted, whose record must be on disk before the API
 * answers. Should a save of T still be queued in the record writer (never for a
 * task being submitted: it has had nothing saved), the loop waits for it first,
 * so this write is never overtaken. Every later save, the state machine's
 * (changed), goes through the writer. */
int dv_runner_save(dv_runtime *run, dv_task *t, dv_error *err);
/* Start RUN's record writer (record_writer.h): failures are logged on the loop.
 * SYNC stands in for fsync (NULL: fsync; tests hold it). */
int dv_runner_records_new(dv_runtime *run, dv_sync_fn sync, dv_error *err);
/* Undo dv_runner_create() for a task whose record could not be written: nothing of
 * it was started; its ports, directories and table entry go. Frees T. */
void dv_runner_abandon(dv_runtime *run, dv_task *t);

/* Attach runtime data to a task loaded from a record (recovery) or created. */
int dv_runner_attach(dv_runtime *run, dv_task *t, dv_error *err);
void dv_runner_free_rt(dv_task *t);

/* Feed an event to the task's state machine and log what it refused. */
int dv_runner_feed(dv_runtime *run, dv_task *t, const dv_task_input *in);

/* A die / oom / destroy event of the Engine for one of our containers. */
void dv_runner_engine_event(dv_runtime *run, const json_t *event);
/* Inspect every task whose container may be running (after an events reconnect). */
void dv_runner_resync(dv_runtime *run);
/* Inspect T's container again (a failed confirm, or a resync): strict when a
 * confirm after a stop is owed, else only looking for an exit. */
void dv_runner_recheck(dv_runtime *run, dv_task *t);
/* Backoff of a failing confirm inspect: 2s, doubling, at most 60s. */
#define DV_INSPECT_RETRY_MIN (2 * DV_NSEC_PER_SEC)
#define DV_INSPECT_RETRY_MAX (60 * DV_NSEC_PER_SEC)
int64_t dv_inspect_retry_next(int64_t previous_ns);

/* A job found that the container T's record names is not T's (ownership.h; WHY
 * says whose labels it has): a hand-edited record or a bug, while the agent runs.
 * The outcome is the one a restarted agent gives such a record, so an operator
 * meets one rule: a "Set Aside" event, the record moved to state/quarantine/
 * (dv_state_store_quarantine_task: logged, listed in GET /v1/node), the task out
 * of the table (observers hear task_gone SET_ASIDE with WHY), its ports and image reference given
 * up, and nothing of it touched: neither that container nor the task's own, its helper, its
 * directory. Frees T. */
void dv_runner_set_aside(dv_runtime *run, dv_task *t, const char *why);
/* The task whose record still names CONTAINER_ID, when job J found that
 * container not to be the task's (j->foreign); else NULL. A stale job counts
 * too: what matters is that the record still names that container. */
struct dv_job;
dv_task *dv_runner_named_foreign(dv_runtime *run, const struct dv_job *j, const char *container_id);

/* Destroy, after the stop: once the helper drained, remove container and directories. */
void dv_runner_destroy_step(dv_runtime *run, dv_task *t);

/* Take T out of the table, tell the observers (task_gone: WHY, DETAIL) and free it. */
void dv_runner_forget(dv_runtime *run, dv_task *t, enum dv_task_gone_why why, const char *detail);

/* From any thread: record a task event (TRANSIENT: only stream it, e.g. pull
 * progress) for TASK_ID, if the task still exists when the loop sees it. */
void dv_runner_post_note(dv_runtime *run, const char *task_id, const char *type, bool transient,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The fetch of task_runner.c, for task_outage.c's next try. */
void dv_runner_fetch_image(dv_runtime *run, dv_task *t);

/* ---- job plumbing shared by the runner's files (task_runner.c) ---- */
/* Run J on its lane; DONE gets the result on the loop, also when J could not be
 * submitted (then J says why). */
void dv_runner_submit(dv_runtime *run, struct dv_job *j, dv_work_done_fn done);
/* J failed before it could be submitted: DONE still gets it through the loop, as
 * the state machine must never be re-entered from inside one of its own ops. */
void dv_runner_fail_later(dv_runtime *run, struct dv_job *j, dv_work_done_fn done, int code,
                          const char *msg);
/* A DONE for jobs whose result nobody reads. */
void dv_runner_free_job_done(dv_loop *loop, void *data);
/* The task a result belongs to, or NULL if the task is gone or moved on. */
dv_task *dv_runner_current(const struct dv_job *j);
void dv_runner_feed_simple(dv_runtime *run, dv_task *t, enum dv_task_fsm_event e,
                           const dv_error *err);
/* T's id cut to 8 characters, for log lines (a per-thread buffer). */
const char *dv_runner_short_id(const dv_task *t);

/* ---- task_start.c ---- */
/* The translation context of T for the state it is in (its id, the node, its
 * paths, its ports published as its spec asks, this host's CPU): the submit's
 * dry run and every start build it here, so they cannot disagree. *RET_ALLOCS
 * (the ports TC points to) is the caller's to free. */
int dv_runner_translate_ctx(dv_runtime *run, const dv_task *t, dv_translate_ctx *ret,
                            dv_port_alloc **ret_allocs, dv_spec_error *err);
/* The state machine's start_container op: once the previous container's helper
 * is done with it, translate the spec and submit the START job. */
void dv_runner_start_container(void *ctx, dv_task *t);
/* Submit the START job now (task_outage.c's next try, the helper done). */
void dv_runner_submit_start(dv_runtime *run, dv_task *t);
/* T's start fails with CODE and MSG, as if its START job had (posted: the state
 * machine hears it from the loop, not from within the caller). */
void dv_runner_fail_start(dv_runtime *run, dv_task *t, int code, const char *msg);

/* ---- task_allocs.c: tasks of a group's allocation (DESIGN.md "Task groups") ---- */
/* CTX of a task of an allocation (dv_runner_translate_ctx): its alloc id, job,
 * group and index; a member of a bridge group joins the infra container's
 * network and sees the group's ports (*ALLOCS replaced). 0 for a task alone. */
int dv_runner_alloc_ctx(dv_runtime *run, const dv_task *t, dv_translate_ctx *ctx,
                        dv_port_alloc **allocs, dv_spec_error *err);
/* Called before T's container is created: true when T is a member whose infra
 * container is not running yet (T waits; it is started once it is), or failed
 * for good (T's start fails). False: go on (T->alloc.joined is set). */
bool dv_runner_alloc_hold_start(dv_runtime *run, dv_task *t);
/* A held start is called off (a stop or destroy came): its START fails now. */
void dv_runner_alloc_release(dv_runtime *run, dv_task *t);
/* T's state changed: an infra task's members follow it (started once it runs,
 * restarted when it runs a new container, failed when it is gone for good). */
void dv_runner_alloc_changed(dv_runtime *run, dv_task *t);
/* T (of allocation ALLOC_ID, infra or not) was destroyed and forgotten: the
 * allocation's shared dir goes with its last task, and an infra task waiting
 * for its members to go is destroyed once they have. */
void dv_runner_alloc_forgotten(dv_runtime *run, const char *alloc_id);
/* Every task of G's COUNT allocations, created (dv_runner_create: not recorded,
 * not started): per allocation its infra task first (bridge mode), then its
 * members. *RET (the caller frees the array) lists them in that order. All or
 * nothing: a refusal abandons what was created, and ERR names the field as the
 * group spells it ("tasks[1].config.image"). */
int dv_runner_create_group(dv_runtime *run, const dv_group_spec *g, dv_task ***ret, size_t *ret_n,
                           unsigned *ret_status, dv_spec_error *err);
/* Destroy allocation ALLOC_ID: its members now, its infra task once they are
 * gone. -ENOENT: no such allocation. */
int dv_runner_destroy_alloc(dv_runtime *run, const char *alloc_id, dv_error *err);

/* ---- task_outage.c: the Engine is unreachable (DESIGN.md "Engine outages") ---- */
#define DV_ENGINE_RETRY_MIN DV_NSEC_PER_SEC
#define DV_ENGINE_RETRY_MAX (30 * DV_NSEC_PER_SEC)
/* How long before the agent saw the Engine go an exit still counts as the
 * outage's: Docker stops its containers (their stop timeout, 10s by default)
 * after it stopped answering, and its event stream may end later still. */
#define DV_OUTAGE_SLACK (30 * DV_NSEC_PER_SEC)
int64_t dv_engine_retry_next(int64_t previous_ns);
/* OP's job of T failed with ERR. When the Engine was unreachable (err->unreachable)
 * and T is still wanted running, T stays in its state: its "waiting" says why, a
 * "Docker Engine unreachable" event marks the start of the wait (once), and OP is
 * tried again after a backoff, or as soon as the Engine answers again. Returns
 * false when ERR is the state machine's to judge (an answer of the Engine, or the
 * operator wants the task down, restarted or destroyed). */
bool dv_runner_engine_wait(dv_runtime *run, dv_task *t, enum dv_engine_op op, const dv_error *err);
/* OP's job got through to the Engine (whatever it answered): T no longer waits. */
void dv_runner_engine_reached(dv_runtime *run, dv_task *t);
/* A stop of T failed with ERR: when the Engine was unreachable, T's "waiting" and
 * an event say that the stop is confirmed once the Engine answers again. */
void dv_runner_stop_unreachable(dv_runtime *run, dv_task *t, const dv_error *err);
/* An inspect of T's container worked: a stop's wait is over. */
void dv_runner_stop_reached(dv_task *t);
/* The operator's stop, restart or destroy: a wait ends now, and its error goes
 * to the state machine (START_FAILED), which settles what was asked. */
void dv_runner_engine_wait_cancel(dv_task *t);
/* The Engine answers again (its event stream is back): every waiting task tries now. */
void dv_runner_engine_back(dv_runtime *run);
/* The Engine's event stream broke at SINCE_NS: noted for every task whose
 * container may run. */
void dv_runner_engine_lost(dv_runtime *run, int64_t since_ns);
/* Note that the Engine went away while T's container ran (an unreachable confirm,
 * or the event stream lost), at SINCE_NS unless an earlier time is noted. */
void dv_runner_outage_note(dv_task *t, int64_t since_ns);
/* Did T's container, whose exit is X, end because of the noted outage? Clears the note. */
bool dv_runner_outage_exit(dv_task *t, const dv_exit_result *x);

/* ---- docklog_helpers.c ---- */
/* J's launch options (docklog_unit.h) for T's next helper; J's docklog_bin,
 * docklog_config_path and docklog_diag_path must be set. */
void dv_logger_launch_opts(dv_runtime *run, dv_task *t, struct dv_job *j);
/* Take over the helper a START job spawned for the task's new container (one that
 * ended already, pid 0, is collected at once). */
void dv_logger_adopt_child(dv_runtime *run, dv_task *t, dv_docklog_proc *proc);
/* A helper nobody wants (its start result was stale): reap it when it exits. */
void dv_logger_reap_orphan(dv_runtime *run, dv_docklog_proc *proc, const char *checkpoint_path);
/* Agent shutdown: stop watching orphans (they are no longer ours to reap). */
void dv_logger_free_orphans(dv_runtime *run);
/* The helper has nothing left to do for the current container (or there is none). */
bool dv_logger_idle(const dv_task *t);
/* The helper's checkpoint (docklog/checkpoint.h) if it is for T's current
 * container, else NULL. */
json_t *dv_logger_checkpoint(const dv_task *t);
/* Make sure the helper finishes soon (the container is gone or going): it is given
 * a drain deadline, then SIGTERM, then SIGKILL. Calls back through
 * dv_runner_logs_done() once idle. */
void dv_logger_finish(dv_runtime *run, dv_task *t);
/* Agent shutdown: stop watching, leave the helper running for the next agent. */
void dv_logger_detach(dv_task *t);
/* Agent start (recovery): take the record's helper back if it still runs (same pid,
 * start time and boot id), else learn from its checkpoint how far it got with the
 * current container and do what the live agent would: nothing when it drained, an
 * event when it failed for good, a new helper resuming from the checkpoint when it
 * died midway (or was between respawns) and CONTAINER_EXISTS. */
enum dv_logger_recovery {
    DV_LOGGER_NOTHING,    /* no helper, and none is needed */
    DV_LOGGER_ADOPTED,    /* the same helper process, watched again */
    DV_LOGGER_RELAUNCHED, /* a new helper resumes from the checkpoint */
    DV_LOGGER_FINISHED,   /* the helper had ended for good: drained, or failed (event) */
    DV_LOGGER_LOST,       /* gone and not replaceable (container gone, no config, spawn failed) */
};
enum dv_logger_recovery dv_logger_recover(dv_runtime *run, dv_task *t, bool container_exists);
/* Called by docklog_helpers.c when the helper is idle and actions wait for it. */
void dv_runner_logs_done(dv_runtime *run, dv_task *t);

#endif
