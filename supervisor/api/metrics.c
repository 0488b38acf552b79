#include "metrics.h"

#include <stdio.h>
#include <sys/statvfs.h>

#include "cleanup.h"
#include "clock.h"
#include "dangling.h"
#include "docker.h"
#include "duration.h"
#include "histogram.h"
#include "image_gc.h"
#include "inotify_limit.h"
#include "log_loss.h"
#include "pull_metrics.h"
#include "task_samples.h"
#include "task_table.h"

static void family(dv_buf *b, const char *name, const char *type, const char *help)
{
    dv_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* NAME{task_id="...",task_name="..." and no closing brace: the caller adds its own
 * labels, if any, and the value. */
static void task_series(dv_buf *b, const char *name, const dv_task *t)
{
    dv_buf_printf(b, "%s{task_id=\"%s\",task_name=\"", name, t->id);
    dv_prom_label_value(b, t->name);
    dv_buf_appends(b, "\"");
}

static double seconds(int64_t ns)
{
    return (double)ns / (double)DV_NSEC_PER_SEC;
}

/* ---- sampled per-task families: a presence test and a value writer each ---- */

static bool has_stats(const dv_task *t, const dv_task_sample *s)
{
    return s->has_stats && t->state == DV_TASK_RUNNING;
}
static bool has_progress(const dv_task *t, const dv_task_sample *s)
{
    (void)t;
    return s->has_progress;
}
/* Lag and last delivery exist once a batch was delivered. */
static bool has_delivery(const dv_task *t, const dv_task_sample *s)
{
    return has_progress(t, s) && s->log_at_ns > 0;
}
static void cpu_seconds(dv_buf *b, const dv_task_sample *s, int64_t now)
{
    (void)now;
    dv_buf_printf(b, "} %.9g\n", seconds((int64_t)s->cpu_usage_ns));
}
static void memory_bytes(dv_buf *b, const dv_task_sample *s, int64_t now)
{
    (void)now;
    dv_buf_printf(b, "} %llu\n", (unsigned long long)s->memory_bytes);
}
static void stats_age(dv_buf *b, const dv_task_sample *s, int64_t now)
{
    dv_buf_printf(b, "} %.3f\n", seconds(now - s->stats_at_ns));
}
static void log_entries(dv_buf *b, const dv_task_sample *s, int64_t now)
{
    (void)now;
    dv_buf_printf(b, "} %llu\n", (unsigned long long)s->log_entries);
}
static void log_bytes(dv_buf *b, const dv_task_sample *s, int64_t now)
{
    (void)now;
    dv_buf_printf(b, "} %llu\n", (unsigned long long)s->log_bytes);
}
static void log_lag(dv_buf *b, const dv_task_sample *s, int64_t now)
{
    (void)now;
    dv_buf_printf(b, "} %.3f\n", seconds(s->log_lag_ns));
}
static void log_last_delivery(dv_buf *b, const dv_task_sample *s, int64_t now)
{
    (void)now;
    dv_buf_printf(b, "} %.3f\n", seconds(s->log_at_ns));
}
static void log_respawns(dv_buf *b, const dv_task_sample *s, int64_t now)
{
    (void)now;
    dv_buf_printf(b, "} %llu\n", (unsigned long long)(s->log_starts > 0 ? s->log_starts - 1 : 0));
}

static const struct sampled_family {
    const char *name, *type, *help;
    bool (*has)(const dv_task *t, const dv_task_sample *s);
    void (*value)(dv_buf *b, const dv_task_sample *s, int64_t now);
} sampled_families[] = {
    {"dockvisor_task_cpu_seconds_total", "counter",
     "CPU time of the task's container (Engine stats, sampled every 15s).", has_stats, cpu_seconds},
    {"dockvisor_task_memory_bytes", "gauge",
     "Memory of the task's container without inactive page cache, as docker stats "
     "(sampled every 15s).",
     has_stats, memory_bytes},
    {"dockvisor_task_stats_age_seconds", "gauge",
     "Age of the task's CPU and memory sample (grows while the Engine does not answer).", has_stats,
     stats_age},
    {"dockvisor_docklog_entries_total", "counter",
     "Log entries docklog delivered for the task's current container.", has_progress, log_entries},
    {"dockvisor_docklog_bytes_total", "counter",
     "Log bytes docklog delivered for the task's current container.", has_progress, log_bytes},
    {"dockvisor_docklog_lag_seconds", "gauge",
     "At docklog's last delivered batch: its delivery time minus the Docker timestamp of "
     "its last entry.",
     has_delivery, log_lag},
    {"dockvisor_docklog_last_delivery_timestamp_seconds", "gauge",
     "Wall-clock time of docklog's last delivered batch.", has_delivery, log_last_delivery},
    {"dockvisor_docklog_respawns_total", "counter",
     "docklog helpers started again for the task's current container after one ended "
     "early (crash, kill, temporary failure, agent restart without it).",
     has_progress, log_respawns},
};

static void tasks_metrics(dv_agent *a, dv_buf *b)
{
    dv_task_table *tasks = a->run.tasks;
    size_t n = dv_task_table_size(tasks);
    size_t counts[DV_TASK_STATE_COUNT];
    dv_task_table_count(tasks, counts);
    family(b, "dockvisor_tasks", "gauge", "Tasks by state.");
    for (int s = 0; s < DV_TASK_STATE_COUNT; s++)
        dv_buf_printf(b, "dockvisor_tasks{state=\"%s\"} %zu\n",
                      dv_task_state_name((enum dv_task_state)s), counts[s]);

    family(b, "dockvisor_task_state", "gauge",
           "1 for the task's current state (a task has one series, for the state it is in).");
    for (size_t i = 0; i < n; i++) {
        const dv_task *t = dv_task_table_at(tasks, i);
        task_series(b, "dockvisor_task_state", t);
        dv_buf_printf(b, ",state=\"%s\"} 1\n", dv_task_state_name(t->state));
    }
    family(b, "dockvisor_task_restarts_total", "counter",
           "Restarts of the task (by its restart policy, and after Engine outages and node "
           "reboots).");
    for (size_t i = 0; i < n; i++) {
        const dv_task *t = dv_task_table_at(tasks, i);
        task_series(b, "dockvisor_task_restarts_total", t);
        dv_buf_printf(b, "} %llu\n", (unsigned long long)t->restarts.total);
    }

    /* The samples: only for tasks that have one (a running container; a helper). */
    int64_t now = dv_monotonic_ns();
    for (size_t f = 0; f < DV_ARRAY_SIZE(sampled_families); f++) {
        const struct sampled_family *sf = &sampled_families[f];
        family(b, sf->name, sf->type, sf->help);
        for (size_t i = 0; i < n; i++) {
            const dv_task *t = dv_task_table_at(tasks, i);
            const dv_task_sample *s = dv_task_samples_get(a->samples, t->id);
            if (!s || !sf->has(t, s))
                continue;
            task_series(b, sf->name, t);
            sf->value(b, s, now);
        }
    }
}

static void engine_metrics(dv_agent *a, dv_buf *b)
{
    const struct {
        const char *label;
        dv_docker *dk;
    } clients[] = {{"main", a->run.docker}, {"quick", a->run.quick_docker}};
    family(b, "dockvisor_engine_request_duration_seconds", "histogram",
           "Engine API calls with a deadline (not streams: logs, events, pulls, wait), by "
           "client (main: 5m deadline; quick: 10s, operator questions and stats).");
    for (size_t i = 0; i < DV_ARRAY_SIZE(clients); i++) {
        if (!clients[i].dk)
            continue;
        char labels[64];
        snprintf(labels, sizeof(labels), "client=\"%s\"", clients[i].label);
        dv_docker_latency_render(clients[i].dk, "dockvisor_engine_request_duration_seconds", labels,
                                 b);
    }
    family(b, "dockvisor_engine_errors_total", "counter",
           "Failed Engine API calls by client and kind (unreachable, timeout, not_found, "
           "conflict, client_error, server_error, other).");
    for (size_t i = 0; i < DV_ARRAY_SIZE(clients); i++)
        for (int k = 0; clients[i].dk && k < DV_DOCKER_ERR_KIND_COUNT; k++)
            dv_buf_printf(
                b, "dockvisor_engine_errors_total{client=\"%s\",kind=\"%s\"} %llu\n",
                clients[i].label, dv_docker_error_kind_name((enum dv_docker_error_kind)k),
                (unsigned long long)dv_docker_errors(clients[i].dk, (enum dv_docker_error_kind)k));
}

void dv_metrics_render(dv_agent *a, dv_buf *b)
{
    tasks_metrics(a, b);
    dv_buf_printf(b,
                  "# HELP dockvisor_loop_wakeups_total Event loop wakeups.\n"
                  "# TYPE dockvisor_loop_wakeups_total counter\n"
                  "dockvisor_loop_wakeups_total %llu\n"
                  "# HELP dockvisor_workers_busy Blocking jobs queued or running.\n"
                  "# TYPE dockvisor_workers_busy gauge\n"
                  "dockvisor_workers_busy %d\n"
                  "# HELP dockvisor_event_subscribers Open /v1/events streams.\n"
                  "# TYPE dockvisor_event_subscribers gauge\n"
                  "dockvisor_event_subscribers %zu\n"
                  "# HELP dockvisor_ports_held Host ports held by tasks.\n"
                  "# TYPE dockvisor_ports_held gauge\n"
                  "dockvisor_ports_held %zu\n"
                  "# HELP dockvisor_engine_events_connected The Engine event stream is up.\n"
                  "# TYPE dockvisor_engine_events_connected gauge\n"
                  "dockvisor_engine_events_connected %d\n",
                  (unsigned long long)dv_loop_wakeups(a->run.loop), dv_lanes_busy(&a->lanes),
                  dv_event_hub_subscribers(a->hub), dv_ports_held(a->run.ports),
                  a->run.engine_stream_ok ? 1 : 0);
    dv_lanes_metrics(&a->lanes, b);
    engine_metrics(a, b);
    dv_pull_metrics_render(a->run.pulls, b);
    dv_image_gc_metrics(a->run.image_gc, b);
    dv_dangling_metrics(a->run.dangling, b);
    dv_log_loss_metrics(&a->run, b);
    dv_inotify_check(&a->run); /* the limit may have been raised since */
    if (a->run.inotify_limit >= 0)
        dv_buf_printf(b,
                      "# HELP dockvisor_inotify_max_user_instances Root's "
                      "fs.inotify.max_user_instances: each task's log follower needs one.\n"
                      "# TYPE dockvisor_inotify_max_user_instances gauge\n"
                      "dockvisor_inotify_max_user_instances %ld\n",
                      a->run.inotify_limit);
    dv_buf_printf(b,
                  "# HELP dockvisor_inotify_limit_low 1 when fs.inotify.max_user_instances is "
                  "below the task count plus %d (log helpers beyond it poll).\n"
                  "# TYPE dockvisor_inotify_limit_low gauge\n"
                  "dockvisor_inotify_limit_low %d\n",
                  DV_INOTIFY_MARGIN, a->run.inotify_low ? 1 : 0);
    struct statvfs vfs;
    if (statvfs(a->config.data_dir, &vfs) == 0)
        dv_buf_printf(b,
                      "# HELP dockvisor_data_dir_free_bytes Free space for the agent's state "
                      "and task directories (0: new tasks are refused).\n"
                      "# TYPE dockvisor_data_dir_free_bytes gauge\n"
                      "dockvisor_data_dir_free_bytes %llu\n",
                      (unsigned long long)vfs.f_bavail * (unsigned long long)vfs.f_frsize);
}
