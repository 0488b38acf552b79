/* The agent process (`dockvisor agent -config FILE`), shared by its modules:
 * agent.c (startup, signals, reload, shutdown), task_runner.c (the task ops),
 * task_jobs.c (worker side), task_logger.c (docklog helpers), agent_api*.c
 * (HTTP routes).
 *
 * Threads: the loop thread owns everything in dv_agent except what is marked
 * otherwise; workers only see the copies their job carries, the Engine client
 * (thread-safe), and the loop (to post). */
#ifndef DV_AGENT_H
#define DV_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "agent_config.h"
#include "api_server.h"
#include "docker.h"
#include "engine_events.h"
#include "event_hub.h"
#include "lanes.h"
#include "loop.h"
#include "ports.h"
#include "proc.h"
#include "state_store.h"
#include "task_table.h"
#include "uuid.h"

typedef struct dv_agent {
    char *config_path;
    dv_agent_config config;
    char node_id[DV_UUID_STRLEN + 1];
    char boot_id[DV_BOOT_ID_STRLEN + 1];
    int ncpus;
    int64_t cpu_total_mhz;
    char *docklog_bin; /* NULL: not found (tasks then run without log collection) */
    char docklog_missing[256];

    dv_loop *loop;
    dv_lanes lanes;
    dv_docker *docker;
    dv_state_store *store;
    dv_ports *ports;
    dv_event_hub *hub;
    dv_api_server *api;
    dv_engine_events *events;
    dv_task_table *tasks;
    struct dv_image_gc *image_gc; /* image_gc.h */
    struct dv_dangling *dangling; /* dangling.h */
    int signal_fd;
    int lock_fd; /* flock on DATA/agent.lock: one agent per data dir */
    dv_loop_watch *signal_watch;

    /* Node fingerprint cache (refreshed on demand by GET /v1/node, node.h). */
    json_t *node;
    int64_t node_at_ns; /* CLOCK_MONOTONIC */
    dv_api_waiters node_waiters;
    bool node_refreshing;
    bool node_stalled;    /* the refresh in flight took longer than DV_NODE_ANSWER_WAIT */
    dv_timer *node_timer; /* ends the wait for a refresh */
    /* The same Engine with DV_NODE_FINGERPRINT_TIMEOUT (10s): the fingerprint, and
     * the quick calls of jobs (inspect, stats, kill), so a wedged daemon holds no
     * worker, and no operator waiting for one, for the 5 minutes of `docker`. */
    dv_docker *node_docker;

    struct dv_orphan *orphans; /* docklog helpers of stale starts, reaped when they end */
    int log_loss_fd;           /* inotify on the tasks' gaps files (log_loss.h), -1: none */
    dv_loop_watch *log_loss_watch;

    /* restart tolerance (recovery.c, drain.c, watchdog.c) */
    /* records set aside, at start or since: [{"task_id","moved_to","reason"}] */
    json_t *quarantined;
    struct dv_drain *drains;      /* drains waiting for their tasks to be down */
    struct dv_watchdog *watchdog; /* NULL unless systemd asked for keep-alives */

    bool engine_stream_ok;   /* the /events stream is connected (the daemon accepted it) */
    bool engine_stream_down; /* an outage was reported (its end is logged) */
    char status_line[256];   /* last STATUS= sent */
    int64_t started_ns;
    bool shutting_down;
} dv_agent;

/* ---- agent.c ---- */
/* Refresh STATUS= for systemd after the task counts changed. */
void dv_agent_notify_status(dv_agent *a);

/* ---- agent_api.c ---- */
void dv_agent_api_handle(void *agent, dv_api_request *req);

#endif
