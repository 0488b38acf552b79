/* The agent process (`dockvisor agent -config FILE`): the task runtime
 * (runtime.h) it embeds, and what only the agent has: the config file, signals,
 * the API server and its /v1/events hub, the node fingerprint, drains, systemd.
 * agent.c (startup, signals, reload, shutdown), agent_observers.c (what the
 * runtime's observers tell the API and systemd), agent_api*.c (HTTP routes).
 *
 * Threads: the loop thread owns everything in dv_agent except what is marked
 * otherwise. */
#ifndef DV_AGENT_H
#define DV_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "agent_config.h"
#include "api_server.h"
#include "docker.h"
#include "drain.h"
#include "engine_events.h"
#include "event_hub.h"
#include "lanes.h"
#include "loop.h"
#include "runtime.h"

struct dv_destroy_wait;
struct dv_task_samples;
struct dv_metrics_listener;

typedef struct dv_agent {
    /* The tasks and what runs them. The agent owns what it points to: its config
     * is .config below, its lanes .lanes; the rest is made in setup() and freed in
     * teardown(). */
    dv_runtime run;
    char *config_path;
    dv_agent_config config;
    dv_lanes lanes;

    dv_event_hub *hub;
    dv_api_server *api;
    struct dv_metrics_listener *metrics_listener; /* NULL: telemetry.prometheus_address unset */
    struct dv_task_samples *samples;              /* task_samples.h: CPU, memory, docklog */
    dv_engine_events *events;
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

    /* DELETE requests answered when their task is gone (agent_observers.c) */
    struct dv_destroy_wait *destroy_waits;
    size_t n_destroy_waits;
    dv_drains drains; /* drains waiting for their tasks to be down */

    char status_line[256]; /* last STATUS= sent */
    int64_t started_ns;
    bool shutting_down;
    bool stop_after_drain; /* SIGTERM came during a drain: quit once it is answered */
} dv_agent;

/* ---- agent.c ---- */
/* Refresh STATUS= for systemd after the task counts changed. */
void dv_agent_notify_status(dv_agent *a);

/* ---- agent_observers.c ---- */
/* Point the runtime's observers at the agent: /v1/events lines, DELETE waiters,
 * STATUS=, drains. */
void dv_agent_observe(dv_agent *a);
/* A DELETE waits for the destroy of TASK_ID: REQ is answered when the task is
 * gone (200), set aside (409), or its destroy fails (503 while the Engine is
 * unreachable, else 500 or 504). */
void dv_agent_wait_destroy(dv_agent *a, const char *task_id, dv_api_request *req);
/* Shutdown: every waiting DELETE gets 503. */
void dv_agent_destroy_waits_free(dv_agent *a);
/* The "state" line of T on /v1/events (also sent first to a new follower). */
json_t *dv_agent_state_line(const dv_task *t);
/* Event EV of T as published on /v1/events. */
json_t *dv_agent_event_line(const dv_task *t, const dv_task_event *ev);

/* ---- agent_api.c ---- */
void dv_agent_api_handle(void *agent, dv_api_request *req);

#endif
