/* The task runtime: what the runner and everything it drives share (the task
 * ops of task_runner.c, the jobs of task_jobs.c, the docklog supervisor of
 * docklog_helpers.c, recovery, the image GC, the dangling-container reaper, lost-log
 * events). The agent (agent.h) embeds one and fills it at startup; tests build
 * one by hand on a fake Engine.
 *
 * The runtime knows nothing of HTTP nor of systemd: whoever serves tasks to the
 * outside (the API's /v1/events and DELETE waiters, the agent's sd_notify STATUS
 * and drains) hears of them through the observer table.
 *
 * Threads: the loop thread owns everything here; workers only see the copies
 * their job carries, the Engine clients (thread-safe), and the loop (to post). */
#ifndef DV_RUNTIME_H
#define DV_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "agent_config.h"
#include "docker.h"
#include "lanes.h"
#include "loop.h"
#include "ports.h"
#include "record_writer.h"
#include "proc.h"
#include "state_store.h"
#include "task.h"
#include "task_table.h"
#include "uuid.h"

struct dv_image_gc;
struct dv_dangling;
struct dv_orphan;
struct dv_watchdog;

/* How a task left the table. */
enum dv_task_gone_why {
    DV_TASK_GONE_DESTROYED, /* destroyed as asked */
    DV_TASK_GONE_SET_ASIDE, /* its record was set aside (dv_runner_set_aside) */
};

/* Called on the loop thread; any of them may be NULL. */
typedef struct dv_runtime_observers {
    void *ctx;
    /* T recorded EV; TRANSIENT: it is only for whoever follows T live (pull
     * progress), not in T's history. */
    void (*task_event)(void *ctx, const dv_task *t, const dv_task_event *ev, bool transient);
    /* T's state changed (called once per change, after T's record is saved). */
    void (*task_state)(void *ctx, const dv_task *t);
    /* T leaves the table now (WHY; DETAIL: for SET_ASIDE, the reason); T is still
     * whole during the call. */
    void (*task_gone)(void *ctx, const dv_task *t, enum dv_task_gone_why why, const char *detail);
    /* T's destroy could not be carried out by the Engine (ERR): T stays, destroying
     * when ERR->unreachable (it goes on once the Engine answers), else failed. */
    void (*destroy_failed)(void *ctx, const dv_task *t, const dv_error *err);
    /* The runtime is busy with something long before it serves (recovery): WHAT. */
    void (*busy)(void *ctx, const char *what);
} dv_runtime_observers;

typedef struct dv_runtime {
    /* The agent's configuration: the same object for the agent's life, its
     * contents replaced by a reload (agent_config.h says what may change). */
    const dv_agent_config *config;
    char node_id[DV_UUID_STRLEN + 1];
    char boot_id[DV_BOOT_ID_STRLEN + 1];
    int ncpus;
    int64_t cpu_total_mhz;
    dv_kv node_attrs;          /* ${attr.*} (translate.h dv_node_attrs), read once at start */
    char *docklog_bin;         /* NULL: not found (tasks then run without log collection) */
    char docklog_missing[256]; /* why, when docklog_bin is NULL */
    /* Helpers run in transient units of their own (docklog_unit.h); else spawned in the
     * agent's cgroup. docklog_units_why says which, for node-status. */
    bool docklog_units;
    char docklog_units_why[192];
    /* Root's fs.inotify.max_user_instances when last read (-1: unreadable), and
     * whether it is below what the tasks need (inotify_limit.h). */
    long inotify_limit;
    bool inotify_low;

    dv_loop *loop;
    dv_lanes *lanes;
    dv_docker *docker;
    /* The same Engine with a 10s deadline (DV_NODE_FINGERPRINT_TIMEOUT): the node
     * fingerprint and the quick calls of jobs (inspect, stats, kill), so a wedged
     * daemon holds no worker, and no operator waiting for one, for the 5 minutes
     * of `docker`. */
    dv_docker *quick_docker;
    dv_state_store *store;
    /* Task records are saved through it, off the loop (record_writer.h); every job
     * waits for the records saved before it was submitted (task_runner.c). */
    dv_record_writer *records;
    dv_ports *ports;
    dv_task_table *tasks;
    struct dv_image_gc *image_gc; /* image_gc.h */
    struct dv_dangling *dangling; /* dangling.h */
    struct dv_orphan *orphans;    /* docklog helpers of stale starts, reaped when they end */
    struct dv_watchdog *watchdog; /* NULL unless systemd asked for keep-alives */
    int log_loss_fd;              /* inotify on the tasks' gaps files (log_loss.h), -1: none */
    dv_loop_watch *log_loss_watch;

    struct dv_pull_metrics *pulls; /* pull_metrics.h: thread-safe, image jobs observe into it */

    bool engine_stream_ok;   /* the /events stream is connected (the daemon accepted it) */
    bool engine_stream_down; /* an outage was reported (its end is logged) */

    dv_runtime_observers observers;
} dv_runtime;

/* Tell the busy observer, if any, what the runtime is busy with (printf FMT). */
void dv_runtime_busy(dv_runtime *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
