/* Recovery on agent start (recovery.h). Runs on the main thread before the loop
 * does: jobs it submits post their results to the loop's queue, handled once
 * the loop runs, as for a live agent. */
#include "recovery.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "image_gc.h"
#include "log.h"
#include "ownership.h"
#include "labels.h"
#include "dangling_select.h"
#include "recovery_exits.h"
#include "recovery_plan.h"
#include "recovery_scan.h"
#include "task_dirs.h"
#include "task_runner.h"
#include "watchdog.h"
#include "xalloc.h"

/* How long the Engine may take to answer at start (it may be starting too). */
#define ENGINE_ATTEMPTS 5
#define ENGINE_FIRST_BACKOFF (500 * DV_NSEC_PER_MSEC)
/* SIGTERM → SIGKILL for helpers no record names. */
#define HELPER_GRACE (3 * DV_NSEC_PER_SEC)
/* Exit inspections at once (recovery_exits.h): enough to keep dockerd busy on a
 * small node, few enough not to crowd out the containers it is restarting. */
#define EXIT_FETCH_PARALLEL 8

typedef struct recovery {
    dv_runtime *run;
    json_t *quarantined_ids; /* task id → true */
    dv_task **tasks;         /* in the table, in creation order */
    size_t ntasks;
    json_t *containers; /* the Engine's list for this node; NULL: it did not answer */
    dv_found_helper *helpers;
    size_t nhelpers;
    size_t actions[DV_RECOVER_ACTION_COUNT];
    size_t helpers_adopted, helpers_relaunched, helpers_stopped;
    size_t orphans_removed, extras_removed, dirs_removed;
    dv_exit_fetch *exits; /* the exits step 5 needs, inspected before it */
    size_t nexits;
    ssize_t *exit_of_task; /* per task (table order): its index in exits, or -1 */
} recovery;

static const char *sid(const char *id)
{
    static __thread char buf[9];
    snprintf(buf, sizeof(buf), "%s", id);
    return buf;
}

/* ---- quarantine ---- */

/* WHY is the reason as the state store listed it (without what a parser quoted). */
static void note_quarantine(recovery *rc, const char *task_id, const char *moved_to,
                            const char *why)
{
    dv_log_error("task record %s set aside as %s: %s (its container and files are left alone; "
                 "see GET /v1/node)",
                 task_id, moved_to, why);
    json_object_set_new(rc->quarantined_ids, task_id, json_true());
}

static void on_bad_record(const char *task_id, const char *moved_to, const char *why, void *ud)
{
    note_quarantine(ud, task_id, moved_to, why);
}

static void quarantine_loaded(recovery *rc, const char *task_id, const char *reason)
{
    _cleanup_free_ char *to = NULL;
    char why[DV_QUARANTINE_REASON_MAX];
    dv_error err;
    if (dv_state_store_quarantine_task(rc->run->store, task_id, reason, why, &to, &err) < 0) {
        dv_log_error("task record %s cannot be used nor set aside: %s", task_id, err.msg);
        json_object_set_new(rc->quarantined_ids, task_id, json_true());
        return;
    }
    note_quarantine(rc, task_id, to, why);
}

/* ---- 1. records → task table ---- */

static int by_creation(const void *x, const void *y)
{
    const dv_task *t = *(dv_task *const *)x, *u = *(dv_task *const *)y;
    if (t->created_ns != u->created_ns)
        return t->created_ns < u->created_ns ? -1 : 1;
    return strcmp(t->id, u->id);
}

static int load(recovery *rc, dv_error *err)
{
    dv_runtime *run = rc->run;
    _cleanup_json_ json_t *records = NULL;
    int r = dv_state_store_load_tasks(run->store, DV_TASK_RECORD_VERSION, on_bad_record, rc,
                                      &records, err);
    if (r < 0)
        return dv_error_wrap(err, "load task records");
    rc->tasks = dv_xcalloc(json_object_size(records) + 1, sizeof(*rc->tasks));
    const char *id;
    json_t *rec;
    json_object_foreach(records, id, rec)
    {
        dv_task *t = NULL;
        dv_error e;
        if (dv_task_from_json(rec, &t, &e) < 0) {
            quarantine_loaded(rc, id, e.msg);
            continue;
        }
        if (strcmp(t->id, id) != 0) {
            dv_task_free(t);
            quarantine_loaded(rc, id, "the record's id is not its file name");
            continue;
        }
        if (dv_runner_attach(run, t, &e) < 0) {
            dv_task_free(t);
            quarantine_loaded(rc, id, e.msg);
            continue;
        }
        rc->tasks[rc->ntasks++] = t;
    }
    qsort(rc->tasks, rc->ntasks, sizeof(*rc->tasks), by_creation);
    /* Ids are unique: each is its record's file name (checked above). */
    for (size_t i = 0; i < rc->ntasks; i++) {
        int added = dv_task_table_add(run->tasks, rc->tasks[i]);
        assert(added == 0);
        (void)added;
    }
    return 0;
}

/* ---- 2. ports ---- */

static void reclaim_ports(recovery *rc)
{
    for (size_t i = 0; i < rc->ntasks; i++) {
        dv_task *t = rc->tasks[i];
        for (size_t p = 0; p < t->nports; p++) {
            dv_error e;
            /* No host probe: the task's own container is what binds it. */
            if (dv_ports_reserve(rc->run->ports, t->id, t->ports[p].host_port, false, &e) < 0)
                dv_task_event_add(t, &dv_runner_ops, rc->run, "Driver", "port %s (%d): %s",
                                  t->ports[p].label, t->ports[p].host_port, e.msg);
        }
    }
}

/* Every task with an image holds it, and nothing else does (image_gc.h). */
static void rebuild_image_refs(recovery *rc)
{
    dv_error e;
    if (dv_image_gc_rebuild(rc->run, &e) < 0)
        dv_log_warning("recovery: image references: %s", e.msg);
}

/* ---- 3. what runs ---- */

static void list_containers(recovery *rc)
{
    dv_runtime *run = rc->run;
    char label[128];
    snprintf(label, sizeof(label), "%s=%s", DV_LABEL_NODE_ID, run->node_id);
    _cleanup_json_ json_t *filters = json_pack("{s:[s]}", "label", label);
    int64_t backoff = ENGINE_FIRST_BACKOFF;
    dv_error e;
    for (int attempt = 1;; attempt++) {
        if (dv_docker_container_list(run->docker, true, filters, &rc->containers, &e) == 0)
            return;
        if (attempt == ENGINE_ATTEMPTS)
            break;
        dv_runtime_busy(run, "recovering: waiting for Docker (%s)", e.msg);
        dv_watchdog_kick(run->watchdog);
        struct timespec ts = {.tv_sec = (time_t)(backoff / DV_NSEC_PER_SEC),
                              .tv_nsec = (long)(backoff % DV_NSEC_PER_SEC)};
        nanosleep(&ts, NULL);
        backoff *= 2;
    }
    rc->containers = NULL;
    dv_log_warning("recovery: Docker does not answer (%s): tasks are kept as their records say "
                   "and checked when it does",
                   e.msg);
}

static const char *label_of(const json_t *c, const char *key)
{
    return json_string_value(json_object_get(json_object_get(c, "Labels"), key));
}

static dv_task *task_of(recovery *rc, const char *task_id)
{
    return task_id ? dv_task_table_get(rc->run->tasks, task_id) : NULL;
}

static bool tracked(const char *container_id, const char *task_id, void *userdata)
{
    (void)container_id;
    recovery *rc = userdata;
    return task_of(rc, task_id) || (task_id && json_object_get(rc->quarantined_ids, task_id));
}

/* ---- 4. what no record claims ---- */

static const json_t *find_container(recovery *rc, const char *id)
{
    size_t i;
    json_t *c;
    json_array_foreach(rc->containers, i, c)
    {
        const char *cid = json_string_value(json_object_get(c, "Id"));
        if (cid && id && strcmp(cid, id) == 0)
            return c;
    }
    return NULL;
}

/* Does the container T's record names belong to T (ownership.h)? True also when
 * that cannot be told (no such container: the plan's "missing"; the Engine did
 * not answer): the jobs check again before they touch it. The list only holds
 * containers with this node's label, so one that is not in it is inspected: a
 * rare case (a container removed while the agent was away, or a bad record). */
static bool owns_its_container(recovery *rc, const dv_task *t, dv_error *why)
{
    const json_t *c = find_container(rc, t->container_id);
    if (c)
        return dv_owner_check_labels(json_object_get(c, "Labels"), rc->run->node_id, t->id, why) ==
               0;
    _cleanup_json_ json_t *ins = NULL;
    dv_error e;
    dv_watchdog_kick(rc->run->watchdog);
    if (dv_docker_container_inspect(rc->run->docker, t->container_id, &ins, &e) < 0)
        return true;
    return dv_owner_check_inspect(ins, rc->run->node_id, t->id, why) == 0;
}

/* A record whose container id names a container that is not its task's (a hand
 * edit, a bug, a record copied from another node) cannot be trusted with
 * anything: it is set aside before any step acts on it, so that neither that
 * container (kill, remove) nor the task's real one (which the record does not
 * name: removed as an extra in step 5) is touched. Everything of the task id is
 * then left to the operator as for any record set aside: its real container
 * (spared by the orphan and dangling reapers, which count a set-aside task id as
 * claimed), its helper, its directory and ports. */
static void set_aside_foreign(recovery *rc)
{
    for (size_t i = 0; i < rc->ntasks;) {
        dv_task *t = rc->tasks[i];
        dv_error why;
        if (!t->container_id || owns_its_container(rc, t, &why)) {
            i++;
            continue;
        }
        char reason[DV_ERROR_MSG_MAX + 64];
        snprintf(reason, sizeof(reason), "container %.12s is not this agent's (%s)",
                 t->container_id, why.msg);
        quarantine_loaded(rc, t->id, reason);
        dv_task_table_remove(rc->run->tasks, t, dv_runner_free_rt);
        memmove(&rc->tasks[i], &rc->tasks[i + 1], (rc->ntasks - i - 1) * sizeof(*rc->tasks));
        rc->ntasks--;
    }
}

static void remove_orphan_containers(recovery *rc)
{
    dv_runtime *run = rc->run;
    _cleanup_json_ json_t *orphans = NULL;
    dv_error e;
    if (dv_dangling_select(rc->containers, run->node_id, tracked, rc, dv_realtime_ns(), 0, &orphans,
                           &e) < 0) {
        dv_log_warning("recovery: %s", e.msg);
        return;
    }
    const bool enabled = run->config->docker.gc.dangling_containers.enabled;
    const bool dry = run->config->docker.gc.dangling_containers.dry_run;
    size_t i;
    json_t *o;
    json_array_foreach(orphans, i, o)
    {
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *task = json_string_value(json_object_get(o, "task_id"));
        const char *state = json_string_value(json_object_get(find_container(rc, id), "State"));
        /* gc.container false: a destroy keeps the stopped container on purpose. */
        if (!run->config->docker.gc.container && state &&
            (strcmp(state, "exited") == 0 || strcmp(state, "dead") == 0))
            continue;
        if (!enabled || dry) {
            dv_log_warning("recovery: container %.12s (task %s) has no record%s", id, task,
                           enabled ? " (dry run: kept)"
                                   : " (dangling container GC disabled: kept)");
            continue;
        }
        dv_watchdog_kick(run->watchdog);
        if (dv_docker_container_remove(run->docker, id, true, true, &e) < 0 &&
            !dv_docker_is_not_found(&e)) {
            dv_log_warning("recovery: remove container %.12s (task %s, no record): %s", id, task,
                           e.msg);
            continue;
        }
        dv_log_info("recovery: removed container %.12s of task %s, which has no record", id, task);
        rc->orphans_removed++;
        /* Gone from the list too, so its directory counts as unclaimed below. */
        for (size_t k = 0; k < json_array_size(rc->containers); k++)
            if (json_equal(json_object_get(json_array_get(rc->containers, k), "Id"),
                           json_object_get(o, "id"))) {
                json_array_remove(rc->containers, k);
                break;
            }
    }
}

/* Helpers no record names: left over from a start or respawn the agent did not
 * live to record. They must be gone before a new helper for the same task
 * writes the same files. */
static void stop_stray_helpers(recovery *rc)
{
    dv_runtime *run = rc->run;
    dv_error e;
    if (dv_scan_helpers(run->config->data_dir, &rc->helpers, &rc->nhelpers, &e) < 0) {
        dv_log_warning("recovery: cannot look for docklog helpers: %s", e.msg);
        return;
    }
    dv_found_helper *stray = dv_xcalloc(rc->nhelpers + 1, sizeof(*stray));
    size_t n = 0;
    for (size_t i = 0; i < rc->nhelpers; i++) {
        const dv_found_helper *h = &rc->helpers[i];
        dv_task *t = task_of(rc, h->task_id);
        if (t && t->docklog.pid == h->pid && t->docklog.starttime == h->starttime)
            continue; /* the record's own: adopted below */
        if (json_object_get(rc->quarantined_ids, h->task_id))
            continue;
        dv_log_info("recovery: stopping docklog helper %d of task %s, which no record names",
                    (int)h->pid, sid(h->task_id));
        stray[n++] = *h;
    }
    rc->helpers_stopped = dv_stop_helpers(stray, n, run->boot_id, HELPER_GRACE);
    free(stray);
}

static bool has_container(recovery *rc, const char *task_id)
{
    size_t i;
    json_t *c;
    json_array_foreach(rc->containers, i, c)
    {
        const char *t = label_of(c, DV_LABEL_TASK_ID);
        if (t && strcmp(t, task_id) == 0)
            return true;
    }
    return false;
}

/* Is allocation ALLOC_ID still someone's: a loaded task's, or (as far as can be
 * told) a set-aside record's, or a container's? */
static bool alloc_claimed(recovery *rc, const char *alloc_id)
{
    for (size_t i = 0; i < rc->ntasks; i++)
        if (strcmp(rc->tasks[i]->alloc.id, alloc_id) == 0)
            return true;
    /* a set-aside record may be one of its tasks: its files are left alone */
    if (json_object_size(rc->quarantined_ids))
        return true;
    size_t i;
    json_t *c;
    json_array_foreach(rc->containers, i, c)
    {
        const char *a = label_of(c, DV_NOMAD_LABEL_ALLOC_ID);
        if (a && strcmp(a, alloc_id) == 0)
            return true;
    }
    return false;
}

static bool task_dir_claimed(recovery *rc, const char *id)
{
    return task_of(rc, id) || json_object_get(rc->quarantined_ids, id) || has_container(rc, id);
}

/* A directory is created before its task's first record is written: a crash in
 * between leaves one no record claims (and no container uses). An allocation's
 * shared dir goes with its last task: a crash in between leaves it alone. */
static void remove_stray_dirs(recovery *rc, const char *kind,
                              bool (*claimed)(recovery *rc, const char *id))
{
    dv_runtime *run = rc->run;
    _cleanup_json_ json_t *ids = NULL;
    dv_error e;
    if (dv_scan_id_dirs(run->config->data_dir, kind, &ids, &e) < 0) {
        dv_log_warning("recovery: %s", e.msg);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        const char *id = json_string_value(v);
        if (claimed(rc, id))
            continue;
        _cleanup_free_ char *path = dv_xasprintf("%s/%s/%s", run->config->data_dir, kind, id);
        if (dv_remove_tree(path, &e) < 0) {
            dv_log_warning("recovery: %s", e.msg);
            continue;
        }
        dv_log_info("recovery: removed %s, which no record claims", path);
        rc->dirs_removed++;
    }
}

/* ---- 5. per task ---- */

static enum dv_recovery_seen observe(recovery *rc, const dv_task *t)
{
    if (!rc->containers)
        return DV_SEEN_UNKNOWN;
    if (!t->container_id)
        return DV_SEEN_NONE;
    const json_t *c = find_container(rc, t->container_id);
    if (!c)
        return DV_SEEN_MISSING;
    const char *state = json_string_value(json_object_get(c, "State"));
    /* paused and restarting containers are there and not done */
    if (state && (strcmp(state, "running") == 0 || strcmp(state, "paused") == 0 ||
                  strcmp(state, "restarting") == 0))
        return DV_SEEN_RUNNING;
    return DV_SEEN_EXITED;
}

/* The record says which boot it was written in; older records only say it for
 * their helper. */
static bool rebooted(const dv_runtime *run, const dv_task *t)
{
    const char *then = t->boot_id[0] ? t->boot_id : t->docklog.boot_id;
    return then[0] && strcmp(then, run->boot_id) != 0;
}

/* Containers of T the record does not name. The one an interrupted start
 * created carries the task's name: kept when the start is redone (the start job
 * reuses it if it runs, else removes it). */
static void remove_extras(recovery *rc, dv_task *t, enum dv_recovery_action action)
{
    char name[512];
    snprintf(name, sizeof(name), "/%s", t->container_name);
    for (size_t i = 0; i < json_array_size(rc->containers);) {
        json_t *c = json_array_get(rc->containers, i);
        const char *cid = json_string_value(json_object_get(c, "Id"));
        const char *task = label_of(c, DV_LABEL_TASK_ID);
        const char *first = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
        bool keep = !cid || !task || strcmp(task, t->id) != 0 ||
                    (t->container_id && strcmp(cid, t->container_id) == 0) ||
                    (action == DV_RECOVER_START && first && strcmp(first, name) == 0);
        if (keep) {
            i++;
            continue;
        }
        dv_error e;
        dv_watchdog_kick(rc->run->watchdog);
        if (dv_docker_container_remove(rc->run->docker, cid, true, true, &e) < 0 &&
            !dv_docker_is_not_found(&e)) {
            dv_log_warning("recovery: task %s: remove container %.12s: %s", sid(t->id), cid, e.msg);
            i++;
            continue;
        }
        dv_log_info("recovery: task %s: removed container %.12s, which its record does not name",
                    sid(t->id), cid);
        rc->extras_removed++;
        json_array_remove(rc->containers, i);
    }
}

static void kick_watchdog(void *userdata)
{
    dv_watchdog_kick(userdata);
}

/* What step 5 decides for T, from the record and the Engine's list. */
static enum dv_recovery_action plan(recovery *rc, const dv_task *t, dv_recovery_input *in)
{
    *in = (dv_recovery_input){
        .state = t->state,
        .desired = t->desired,
        .destroy_requested = t->destroy_requested,
        .seen = observe(rc, t),
        .rebooted = rebooted(rc->run, t),
    };
    return dv_recovery_decide(in);
}

/* Inspect, several at once, every container whose exit step 5 will feed its task.
 * The plan cannot change in between: it reads only the task's record and the list
 * entry of the container the record names, which step 5 never removes. */
static void fetch_exits(recovery *rc)
{
    rc->exit_of_task = dv_xcalloc(rc->ntasks ? rc->ntasks : 1, sizeof(*rc->exit_of_task));
    rc->exits = dv_xcalloc(rc->ntasks ? rc->ntasks : 1, sizeof(*rc->exits));
    for (size_t i = 0; i < rc->ntasks; i++) {
        dv_recovery_input in;
        enum dv_recovery_action action = plan(rc, rc->tasks[i], &in);
        rc->exit_of_task[i] = -1;
        if (dv_recovery_needs_exit(action, in.seen)) {
            rc->exit_of_task[i] = (ssize_t)rc->nexits;
            rc->exits[rc->nexits++].container_id = rc->tasks[i]->container_id;
        }
    }
    dv_watchdog_kick(rc->run->watchdog);
    dv_recovery_fetch_exits(rc->run->docker, rc->exits, rc->nexits, EXIT_FETCH_PARALLEL,
                            kick_watchdog, rc->run->watchdog);
}

/* The exit fetch_exits inspected for task I (moved out), or, should the plan have
 * come out otherwise, inspected now. */
static void exit_of(recovery *rc, size_t i, const dv_task *t, dv_exit_result *ret)
{
    ssize_t k = rc->exit_of_task ? rc->exit_of_task[i] : -1;
    if (k >= 0) {
        *ret = rc->exits[k].result;
        rc->exits[k].result = (dv_exit_result){0};
        return;
    }
    dv_exit_fetch one = {.container_id = t->container_id};
    dv_recovery_fetch_exits(rc->run->docker, &one, 1, 1, NULL, NULL);
    *ret = one.result;
}

static void feed(dv_runtime *run, dv_task *t, enum dv_task_fsm_event ev, const dv_exit_result *x)
{
    dv_task_input in = {.event = ev, .exit = x, .stop_timeout_ns = -1, .force = true};
    dv_runner_feed(run, t, &in);
}

static dv_exit_result lost_exit(void)
{
    dv_exit_result x = {.valid = false};
    x.error = dv_xstrdup("the container was removed while the agent was down");
    return x;
}

/* Leave the record's state for one the state machine starts from. Only done
 * here, before any job of the task exists, so no result can be confused. */
static void reset_state(dv_task *t, enum dv_task_state s)
{
    t->state = s;
    t->gen++;
}

static void rearm(recovery *rc, dv_task *t)
{
    int64_t now = dv_realtime_ns();
    int64_t delay = t->restart_due_ns > 0 ? t->restart_due_ns - now : t->restart_policy.delay_ns;
    if (delay < 0)
        delay = 0;
    char d[32];
    dv_duration_format(delay, d, sizeof(d));
    dv_log_info("recovery: task %s restarts in %s", sid(t->id), d);
    dv_runner_ops.arm_timer(rc->run, t, delay);
}

static void apply(recovery *rc, dv_task *t, enum dv_recovery_action action, dv_exit_result *x)
{
    dv_runtime *run = rc->run;
    const char *was = dv_task_state_name(t->state);
    switch (action) {
    case DV_RECOVER_NOTHING:
    case DV_RECOVER_ADOPT:
        break;
    case DV_RECOVER_EXITED:
        feed(run, t, DV_TE_EXITED, x);
        break;
    case DV_RECOVER_LOST:
        dv_task_event_add(t, &dv_runner_ops, run, "Container Lost",
                          "container %.12s is gone: it was removed while the agent was down",
                          t->container_id ? t->container_id : "?");
        feed(run, t, DV_TE_EXITED, x);
        break;
    case DV_RECOVER_REBOOTED: {
        char what[256];
        if (x->valid || x->error) {
            dv_exit_result_clear(&t->exit);
            t->exit = *x;
            *x = (dv_exit_result){0};
            dv_exit_result_describe(&t->exit, what, sizeof(what));
            dv_task_event_add(t, &dv_runner_ops, run, "Terminated", "%s", what);
        }
        dv_task_event_add(t, &dv_runner_ops, run, "Restarting",
                          "the node rebooted: starting the task again (not counted against its "
                          "restart policy)");
        reset_state(t, DV_TASK_PENDING);
        feed(run, t, DV_TE_START, NULL);
        break;
    }
    case DV_RECOVER_START:
        if (t->state != DV_TASK_PENDING)
            dv_task_event_add(t, &dv_runner_ops, run, "Restarting",
                              "the agent restarted while the task was %s: starting it again", was);
        reset_state(t, DV_TASK_PENDING);
        feed(run, t, DV_TE_START, NULL);
        break;
    case DV_RECOVER_SETTLE_STOPPED:
        reset_state(t, DV_TASK_PENDING);
        feed(run, t, DV_TE_STOP, NULL);
        break;
    case DV_RECOVER_STOP:
        /* From running, as the operator's stop (or restart) did the first time. */
        reset_state(t, DV_TASK_RUNNING);
        feed(run, t, t->desired == DV_DESIRED_STOPPED ? DV_TE_STOP : DV_TE_RESTART, NULL);
        break;
    case DV_RECOVER_STOPPED:
        reset_state(t, DV_TASK_STOPPING);
        t->restart_requested = t->desired == DV_DESIRED_RUNNING; /* an operator restart */
        feed(run, t, DV_TE_EXITED, x);
        break;
    case DV_RECOVER_REARM:
        rearm(rc, t);
        break;
    case DV_RECOVER_DESTROY:
        if (t->state == DV_TASK_DESTROYING) {
            dv_runner_ops.destroy(run, t); /* stop (timeout 0), helper drained, remove, forget */
        } else {
            reset_state(t, DV_TASK_PENDING);
            feed(run, t, DV_TE_DESTROY, NULL);
        }
        break;
    case DV_RECOVER_ACTION_COUNT:
        break;
    }
    /* An exit found now happened earlier: its time is Docker's FinishedAt. */
    if (dv_task_state_is_terminal(t->state) && t->exit.valid && t->exit.finished_ns > 0 &&
        (action == DV_RECOVER_EXITED || action == DV_RECOVER_STOPPED)) {
        t->finished_ns = t->exit.finished_ns;
        dv_runner_ops.changed(run, t);
    }
}

static void recover_task(recovery *rc, size_t i)
{
    dv_runtime *run = rc->run;
    dv_task *t = rc->tasks[i];
    dv_recovery_input in;
    enum dv_recovery_action action = plan(rc, t, &in);
    rc->actions[action]++;
    dv_log_debug("recovery: task %s: %s, desired %s, container %s%s: %s", sid(t->id),
                 dv_task_state_name(in.state),
                 in.desired == DV_DESIRED_RUNNING ? "running" : "stopped",
                 dv_recovery_seen_name(in.seen), in.rebooted ? ", node rebooted" : "",
                 dv_recovery_action_name(action));
    if (rc->containers)
        remove_extras(rc, t, action);
    dv_exit_result x = {0};
    if (dv_recovery_needs_exit(action, in.seen))
        exit_of(rc, i, t, &x);
    else if (action == DV_RECOVER_LOST ||
             (action == DV_RECOVER_STOPPED && in.seen != DV_SEEN_EXITED))
        x = lost_exit();
    /* The helper first: what the task does next (a restart waits for its logs,
     * a destroy for its drain) depends on it. */
    bool container_exists =
        in.seen == DV_SEEN_RUNNING || in.seen == DV_SEEN_EXITED || in.seen == DV_SEEN_UNKNOWN;
    switch (dv_logger_recover(run, t, container_exists)) {
    case DV_LOGGER_ADOPTED:
        rc->helpers_adopted++;
        break;
    case DV_LOGGER_RELAUNCHED:
        rc->helpers_relaunched++;
        break;
    default:
        break;
    }
    apply(rc, t, action, &x);
    dv_exit_result_clear(&x);
    dv_watchdog_kick(run->watchdog);
}

/* ---- the whole ---- */

static void summary(recovery *rc, int64_t started)
{
    char took[32];
    dv_duration_format(dv_monotonic_ns() - started, took, sizeof(took));
    size_t *n = rc->actions;
    dv_log_info("recovery: %zu tasks in %s: %zu running re-adopted, %zu exited meanwhile, %zu "
                "lost, %zu started again (%zu after a node reboot), %zu stops and %zu destroys "
                "finished, %zu restarts re-armed, %zu unchanged; helpers: %zu re-adopted, %zu "
                "relaunched, %zu stray stopped; removed %zu containers without a record, %zu "
                "stray task containers, %zu task and allocation dirs; %zu records set aside",
                rc->ntasks, took, n[DV_RECOVER_ADOPT], n[DV_RECOVER_EXITED], n[DV_RECOVER_LOST],
                n[DV_RECOVER_START] + n[DV_RECOVER_REBOOTED], n[DV_RECOVER_REBOOTED],
                n[DV_RECOVER_STOP] + n[DV_RECOVER_STOPPED] + n[DV_RECOVER_SETTLE_STOPPED],
                n[DV_RECOVER_DESTROY], n[DV_RECOVER_REARM], n[DV_RECOVER_NOTHING],
                rc->helpers_adopted, rc->helpers_relaunched, rc->helpers_stopped,
                rc->orphans_removed, rc->extras_removed, rc->dirs_removed,
                json_array_size(dv_state_store_quarantined(rc->run->store)));
}

int dv_recovery_run(dv_runtime *run, dv_error *err)
{
    int64_t started = dv_monotonic_ns();
    recovery rc = {.run = run, .quarantined_ids = json_object()};
    dv_runtime_busy(run, "recovering: loading task records");
    int r = load(&rc, err);
    if (r < 0)
        goto out;
    dv_runtime_busy(run, "recovering %zu tasks", rc.ntasks);
    list_containers(&rc);
    /* Before ports and images are claimed for the tasks: a record set aside
     * claims nothing, as one that did not load. */
    if (rc.containers)
        set_aside_foreign(&rc);
    reclaim_ports(&rc);
    rebuild_image_refs(&rc);
    if (rc.containers)
        remove_orphan_containers(&rc);
    stop_stray_helpers(&rc);
    if (rc.containers) { /* only when it is known which containers use them */
        remove_stray_dirs(&rc, "tasks", task_dir_claimed);
        remove_stray_dirs(&rc, "allocs", alloc_claimed);
    }
    fetch_exits(&rc);
    for (size_t i = 0; i < rc.ntasks; i++)
        recover_task(&rc, i);
    summary(&rc, started);
out:
    for (size_t i = 0; i < rc.nexits; i++)
        dv_exit_result_clear(&rc.exits[i].result);
    free(rc.exits);
    free(rc.exit_of_task);
    json_decref(rc.quarantined_ids);
    json_decref(rc.containers);
    free(rc.helpers);
    free(rc.tasks);
    return r;
}
