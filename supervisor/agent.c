/* dockvisor agent [-config FILE]: startup, signals, reload, shutdown.
 *
 * SIGTERM / SIGINT end the agent and leave every container (and its docklog
 * helper) running: only an explicit stop does that. SIGHUP re-reads the config
 * file and applies what can change at runtime (agent_config.h). */
#include "agent.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "cli.h"
#include "clock.h"
#include "commands.h"
#include "docklog_launch.h"
#include "docklog_unit.h"
#include "dangling.h"
#include "drain.h"
#include "duration.h"
#include "image_gc.h"
#include "inotify_limit.h"
#include "labels.h"
#include "log.h"
#include "log_loss.h"
#include "metrics.h"
#include "metrics_listener.h"
#include "node.h"
#include "pull_metrics.h"
#include "recovery.h"
#include "task_runner.h"
#include "task_samples.h"
#include "translate.h"
#include "watchdog.h"
#include "xalloc.h"
#include "version.h"

static const char usage[] = "dockvisor agent [-config FILE]";

void dv_agent_notify_status(dv_agent *a)
{
    size_t c[DV_TASK_STATE_COUNT];
    dv_task_table_count(a->run.tasks, c);
    char status[256];
    snprintf(status, sizeof(status),
             "%zu tasks: %zu running, %zu starting, %zu restarting, %zu "
             "failed, %zu exited, %zu stopped",
             dv_task_table_size(a->run.tasks), c[DV_TASK_RUNNING],
             c[DV_TASK_PENDING] + c[DV_TASK_PULLING] + c[DV_TASK_STARTING], c[DV_TASK_RESTARTING],
             c[DV_TASK_FAILED], c[DV_TASK_EXITED], c[DV_TASK_STOPPED]);
    dv_drain_check(&a->drains); /* called whenever a task changed or went away */
    if (a->stop_after_drain && !a->drains.pending && !a->shutting_down) {
        dv_log_info("the drain is done: shutting down; containers keep running");
        a->shutting_down = true;
        dv_loop_quit(a->run.loop);
    }
    if (strcmp(status, a->status_line) == 0)
        return;
    snprintf(a->status_line, sizeof(a->status_line), "%s", status);
    sd_notifyf(0, "STATUS=%s", status);
}

/* ---- Engine events ---- */

static void on_engine_event(void *userdata, const json_t *event)
{
    dv_agent *a = userdata;
    a->run.engine_stream_ok = true;
    dv_runner_engine_event(&a->run, event);
}

static void on_engine_resync(void *userdata)
{
    dv_agent *a = userdata;
    if (a->run.engine_stream_down)
        dv_log_info("Engine event stream connected again");
    a->run.engine_stream_ok = true;
    a->run.engine_stream_down = false;
    dv_runner_resync(&a->run);
    dv_runner_engine_back(&a->run); /* fetches and starts that wait for it go on now */
}

/* Once per outage (engine_events.h): one line, however long the Engine is away. */
static void on_engine_broken(void *userdata, const char *why)
{
    dv_agent *a = userdata;
    dv_log_warning("%s; reconnecting (task exits are checked once it is back)", why);
    a->run.engine_stream_ok = false;
    a->run.engine_stream_down = true;
    /* Without live restore, the Engine's stop ends the containers too. */
    dv_runner_engine_lost(&a->run, dv_realtime_ns());
}

/* ---- signals ---- */

static void reload(dv_agent *a)
{
    dv_agent_config n = {0};
    dv_spec_error err;
    dv_spec_error_clear(&err);
    int r = a->config_path ? dv_agent_config_load(a->config_path, &n, &err)
                           : dv_agent_config_defaults(&n, &err);
    if (r < 0) {
        dv_log_error("reload: %s (the running configuration is kept)", err.err.msg);
        return;
    }
    const char *field = dv_agent_config_restart_field(&a->config, &n);
    if (field)
        dv_log_warning("reload: %s changed, which needs an agent restart: kept as it was", field);
        /* Keep the settings that only a restart may change. */
#define KEEP(f)                                                                                    \
    do {                                                                                           \
        char *tmp_ = n.f;                                                                          \
        n.f = a->config.f;                                                                         \
        a->config.f = tmp_;                                                                        \
    } while (0)
    KEEP(data_dir);
    KEEP(socket);
    KEEP(bind_address);
    KEEP(docker.endpoint);
    KEEP(docker.tls.cert);
    KEEP(docker.tls.key);
    KEEP(docker.tls.ca);
    KEEP(telemetry.prometheus_address);
#undef KEEP
    dv_error perr;
    if (dv_ports_set_range(a->run.ports, n.port_min, n.port_max, &perr) < 0)
        dv_log_error("reload: %s", perr.msg);
    dv_agent_config_clear(&a->config);
    a->config = n;
    dv_image_gc_reconfigure(&a->run);
    dv_dangling_reconfigure(&a->run);
    dv_log_info("configuration reloaded from %s", a->config_path ? a->config_path : "defaults");
}

/* `systemctl stop` (or a SIGTERM) while a drain waits for its tasks: an operator who
 * drains and then stops the agent means "stop everything, then go". Quitting at once
 * would answer the drain 503 and leave containers mid-stop, so the agent finishes the
 * drain first, bounded by max_kill_timeout per task (the stops run in parallel), and
 * asks systemd for that much more time; a second signal stops it at once. */
static void defer_stop_for_drain(dv_agent *a, const char *signame)
{
    a->stop_after_drain = true;
    int64_t extend_us = (a->config.max_kill_timeout_ns + 30 * DV_NSEC_PER_SEC) / 1000;
    dv_log_info("%s: a drain is in progress: stopping once its tasks are down (at most "
                "max_kill_timeout each); send the signal again to stop now",
                signame);
    sd_notifyf(0, "STOPPING=1\nSTATUS=stopping once the drain is done\nEXTEND_TIMEOUT_USEC=%lld",
               (long long)extend_us);
}

static void on_signal(dv_loop *loop, int fd, uint32_t revents, void *userdata)
{
    (void)revents;
    dv_agent *a = userdata;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            sd_notify(0, "RELOADING=1");
            reload(a);
            sd_notify(0, "READY=1");
        } else if (a->drains.pending && !a->stop_after_drain) {
            defer_stop_for_drain(a, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        } else {
            dv_log_info("%s: shutting down; containers keep running%s",
                        si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT",
                        a->drains.pending ? " (the drain is left unfinished: its tasks "
                                            "stay marked stopped, and the next agent "
                                            "finishes stopping them)"
                                          : "");
            a->shutting_down = true;
            dv_loop_quit(loop);
        }
    }
}

/* ---- startup and shutdown ---- */

/* The API alone may hold DV_API_MAX_PENDING + DV_API_MAX_CONNECTIONS fds, more
 * than the usual soft limit of 1024; the hard limit is ours to take (nothing in
 * the agent or its helpers uses select()). */
static void raise_nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        dv_log_warning("cannot raise the open files limit from %llu: %m", (unsigned long long)was);
}

/* The data dir holds every task's files, secrets and records: it is the agent's
 * alone (0700), whatever mode it was found with. Only root goes in: the agent,
 * docklog, and dockerd, which bind-mounts a task's directories as root (a
 * container sees its mounts, never their host ancestors); the CLI reads logs
 * through the API. A symlink, or a directory another user owns, is refused
 * rather than taken over: that user could swap or read what the agent puts
 * there. tasks/ gets the same treatment (task_dirs.h has what is below it). */
static int secure_data_dir(dv_agent *a, dv_error *err)
{
    const char *dir = a->config.data_dir;
    mode_t was = 0700;
    int r = dv_mkdir_p(dir, 0700, err);
    if (r < 0 || (r = dv_dir_secure(dir, 0700, &was, err)) < 0)
        return dv_error_wrap(err, "data dir");
    if (was != 0700)
        dv_log_info("data dir %s had mode %04o: made 0700", dir, (unsigned)was);
    _cleanup_free_ char *tasks = dv_xasprintf("%s/tasks", dir);
    if ((r = dv_mkdir_p(tasks, 0700, err)) < 0 || (r = dv_dir_secure(tasks, 0700, NULL, err)) < 0)
        return dv_error_wrap(err, "data dir");
    return 0;
}

/* Two agents on one data dir would fight over every record and container: the
 * second one refuses to start. The lock dies with the process (kill -9 included). */
static int lock_data_dir(dv_agent *a, dv_error *err)
{
    int r = secure_data_dir(a, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *path = dv_xasprintf("%s/agent.lock", a->config.data_dir);
    a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (a->lock_fd < 0)
        return dv_error_errno(err, errno, "open %s", path);
    if (flock(a->lock_fd, LOCK_EX | LOCK_NB) < 0)
        return errno == EWOULDBLOCK
                   ? dv_error_set(err, -EBUSY, "another agent is running on the data dir %s",
                                  a->config.data_dir)
                   : dv_error_errno(err, errno, "lock %s", path);
    return 0;
}

static void render_metrics(void *userdata, dv_buf *b)
{
    dv_metrics_render(userdata, b);
}

/* Once, as the API: a SIGHUP does not rebind it (agent_config.h). An address that
 * cannot be bound stops the start, naming the field: a scrape target that silently
 * is not there would only show as missing data. */
static int start_metrics_listener(dv_agent *a, dv_error *err)
{
    const char *address = a->config.telemetry.prometheus_address;
    if (!address)
        return 0;
    char host[64];
    int port;
    if (dv_listen_address_parse(address, host, sizeof(host), &port) < 0)
        return dv_error_set(err, -EINVAL, "telemetry.prometheus_address: \"%s\" is not valid",
                            address);
    int r = dv_metrics_listener_start(host, port, a->run.loop, render_metrics, a,
                                      &a->metrics_listener, err);
    if (r < 0)
        return dv_error_wrap(err, "telemetry.prometheus_address");
    dv_log_info("metrics for Prometheus on http://%s/metrics", address);
    return 0;
}

static int setup(dv_agent *a, dv_error *err)
{
    int r;
    /* Refused for the socket: before any state exists (no data dir, lock or node id
     * left behind by an agent that never ran). */
    if ((r = dv_api_socket_probe(a->config.socket, err)) < 0)
        return dv_error_wrap(err, "API socket");
    if ((r = lock_data_dir(a, err)) < 0)
        return r;
    a->run.config = &a->config;
    a->run.lanes = &a->lanes;
    a->drains.run = &a->run;
    dv_agent_observe(a);
    if ((r = dv_state_store_open(a->config.data_dir, &a->run.store, err)) < 0 ||
        (r = dv_state_store_node_id(a->run.store, a->run.node_id, err)) < 0)
        return dv_error_wrap(err, "state in %s", a->config.data_dir);
    if ((r = dv_boot_id(a->run.boot_id, err)) < 0)
        return r;
    dv_docker_config dc = {.endpoint = a->config.docker.endpoint,
                           .tls_cert = a->config.docker.tls.cert,
                           .tls_key = a->config.docker.tls.key,
                           .tls_ca = a->config.docker.tls.ca};
    if ((r = dv_docker_new(&dc, &a->run.docker, err)) < 0)
        return dv_error_wrap(err, "Docker client");
    dc.timeout_ns = DV_NODE_FINGERPRINT_TIMEOUT;
    if ((r = dv_docker_new(&dc, &a->run.quick_docker, err)) < 0)
        return dv_error_wrap(err, "Docker client");
    if ((r = dv_loop_new(&a->run.loop, err)) < 0 ||
        (r = dv_lanes_init(&a->lanes, a->run.loop, err)) < 0 ||
        (r = dv_ports_new(a->config.port_min, a->config.port_max, a->config.bind_address,
                          &a->run.ports, err)) < 0 ||
        (r = dv_runner_records_new(&a->run, NULL, err)) < 0)
        return r;
    a->hub = dv_event_hub_new();
    a->run.tasks = dv_task_table_new();
    a->run.image_gc = dv_image_gc_new(&a->run);
    a->run.dangling = dv_dangling_new(&a->run);
    a->run.pulls = dv_pull_metrics_new();
    /* Only for a scraper: an agent without one stays idle (task_samples.h). */
    if (a->config.telemetry.prometheus_address)
        a->samples = dv_task_samples_new(&a->run);
    dv_error derr;
    /* From what the Engine client resolved, not from the config alone: TLS may come
     * from DOCKER_TLS_VERIFY + DOCKER_CERT_PATH or an https:// endpoint too. */
    bool docklog_tls =
        dv_docklog_needs_tls(dv_docker_endpoint(a->run.docker), dv_docker_tls(a->run.docker));
    if (dv_docklog_find_binary(docklog_tls, &a->run.docklog_bin, &derr) < 0) {
        snprintf(a->run.docklog_missing, sizeof(a->run.docklog_missing), "%s", derr.msg);
        dv_log_warning("docklog helper not found (%s): task logs will not be collected", derr.msg);
    }
    /* Each helper in a unit of its own, for its own journald budget (docklog_unit.h). */
    a->run.docklog_units =
        dv_docklog_units_probe(a->run.docklog_units_why, sizeof(a->run.docklog_units_why));
    dv_log_info("docklog helpers run in %s", a->run.docklog_units_why);
    dv_host_cpu(&a->run.ncpus, &a->run.cpu_total_mhz);
    dv_node_attrs(&a->run.node_attrs);
    srand48((long)(dv_monotonic_ns() ^ getpid()));

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    a->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (a->signal_fd < 0)
        return dv_error_errno(err, errno, "signalfd");
    if ((r = dv_loop_watch_fd(a->run.loop, a->signal_fd, EPOLLIN, on_signal, a, &a->signal_watch,
                              err)) < 0)
        return r;

    /* Before anything serves: every task is back where its record says, its
     * ports re-claimed, before the events stream resyncs and the API accepts
     * new tasks. */
    if ((r = dv_watchdog_start(a->run.loop, &a->run.watchdog, err)) < 0 ||
        (r = dv_recovery_run(&a->run, err)) < 0)
        return dv_error_wrap(err, "recovery");
    /* Now that the task count is known: warn before the helpers run out of inotify. */
    dv_inotify_check(&a->run);
    if ((r = dv_log_loss_start(&a->run, err)) < 0)
        return r;

    dv_engine_events_cb cb = {.event = on_engine_event,
                              .resync = on_engine_resync,
                              .broken = on_engine_broken,
                              .userdata = a};
    char label[128];
    snprintf(label, sizeof(label), "%s=%s", DV_LABEL_NODE_ID, a->run.node_id);
    if ((r = dv_engine_events_start(a->run.docker, a->run.loop, label, &cb, &a->events, err)) < 0)
        return r;
    if ((r = dv_api_server_start(a->config.socket, a->run.loop, dv_agent_api_handle, a, &a->api,
                                 err)) < 0)
        return dv_error_wrap(err, "API socket");
    return start_metrics_listener(a, err);
}

/* Returns false when workers are stuck in Engine calls: then nothing they may
 * still touch (loop, client) can be freed, and the process just exits. */
static bool teardown(dv_agent *a)
{
    /* First, and also when teardown gives up on stuck workers below: every record
     * saved while the agent ran is on disk when it exits. Nothing saves after the
     * loop has stopped; a job still waiting for a ticket is let go. */
    if (a->run.records)
        dv_record_writer_stop(a->run.records);
    dv_metrics_listener_stop(a->metrics_listener);
    a->metrics_listener = NULL;
    if (a->api)
        dv_api_server_stop(a->api);
    a->api = NULL;
    if (a->events && dv_engine_events_stop(a->events, 3 * DV_NSEC_PER_SEC) < 0) {
        dv_log_warning("the Engine events thread is stuck in a call; exiting without it");
        return false;
    }
    a->events = NULL;
    for (size_t i = 0; a->run.tasks && i < dv_task_table_size(a->run.tasks); i++) {
        dv_task_rt *rt = dv_rt(dv_task_table_at(a->run.tasks, i));
        if (rt && rt->cancel)
            dv_cancel_request(rt->cancel);
    }
    if (dv_lanes_shutdown(&a->lanes, 3 * DV_NSEC_PER_SEC) < 0) {
        dv_log_warning("some Engine calls are still running; exiting without waiting for them");
        return false;
    }
    if (a->run.loop)
        dv_loop_close(a->run.loop);
    /* (the stopped server answered them 503 already; the first answer wins) */
    dv_api_waiters_fail(&a->node_waiters, 503, "the agent is shutting down");
    dv_drain_free(&a->drains);
    dv_agent_destroy_waits_free(a);
    dv_task_table_free(a->run.tasks, dv_runner_free_rt);
    if (a->run.loop)
        dv_logger_free_orphans(&a->run);
    dv_lanes_free(&a->lanes);
    dv_image_gc_free(a->run.image_gc); /* after the workers: a removal's result may be queued */
    dv_dangling_free(a->run.dangling);
    dv_task_samples_free(a->samples); /* after the workers, as image GC */
    dv_pull_metrics_free(a->run.pulls);
    dv_event_hub_free(a->hub);
    dv_watchdog_free(a->run.watchdog);
    dv_ports_free(a->run.ports);
    if (a->signal_watch)
        dv_loop_unwatch(a->run.loop, a->signal_watch);
    dv_closep(&a->signal_fd);
    dv_closep(&a->lock_fd);
    dv_timer_free(a->node_timer);
    dv_log_loss_stop(&a->run);
    dv_loop_free(a->run.loop);
    dv_docker_free(a->run.docker);
    dv_docker_free(a->run.quick_docker);
    dv_record_writer_free(a->run.records); /* after the loop: failures it posted are gone */
    dv_state_store_free(a->run.store);
    json_decref(a->node);
    free(a->run.docklog_bin);
    dv_kv_free(&a->run.node_attrs);
    dv_agent_config_clear(&a->config);
    return true;
}

int dv_cmd_agent(int argc, char **argv)
{
    const char *config_path = NULL;
    const dv_flag flags[] = {
        {"config", DV_FLAG_STRING, &config_path, "agent config file (JSON); default: defaults"},
        {0},
    };
    dv_cli_args args;
    int r = dv_cli_parse(usage, flags, argc, argv, &args);
    if (r < 0)
        return r == -ECANCELED ? DV_EXIT_OK : DV_EXIT_USAGE;
    int npos = args.npos;
    dv_cli_args_free(&args);
    if (npos != 0) {
        dv_cli_usage(stderr, usage, flags);
        return DV_EXIT_USAGE;
    }
    const char *level = getenv("DOCKVISOR_LOG_LEVEL");
    if (level && strcmp(level, "debug") == 0)
        dv_log_set_level(DV_LOG_DEBUG);

    /* Before any thread exists, so every thread inherits the mask and the
     * signals only ever arrive through the signalfd. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile_limit();

    dv_agent a = {.run = {.log_loss_fd = -1}, .signal_fd = -1, .lock_fd = -1};
    a.config_path = config_path ? dv_xstrdup(config_path) : NULL;
    dv_spec_error serr;
    dv_spec_error_clear(&serr);
    r = config_path ? dv_agent_config_load(config_path, &a.config, &serr)
                    : dv_agent_config_defaults(&a.config, &serr);
    if (r < 0) {
        dv_log_error("%s", serr.err.msg);
        free(a.config_path);
        return DV_EXIT_ERROR;
    }
    dv_error err;
    dv_error_clear(&err);
    a.started_ns = dv_realtime_ns();
    if (setup(&a, &err) < 0) {
        dv_log_error("cannot start: %s", err.msg);
        sd_notifyf(0, "STATUS=cannot start: %s", err.msg);
        teardown(&a);
        free(a.config_path);
        return DV_EXIT_ERROR;
    }
    dv_log_info("dockvisor agent %s: node %s, socket %s, data %s, Docker %s", dv_version,
                a.run.node_id, a.config.socket, a.config.data_dir,
                dv_docker_endpoint(a.run.docker));
    dv_agent_notify_status(&a);
    sd_notify(0, "READY=1");
    r = dv_loop_run(a.run.loop, &err);
    if (r < 0)
        dv_log_error("event loop: %s", err.msg);
    sd_notify(0, "STOPPING=1");
    if (!teardown(&a)) {
        fflush(NULL);
        _exit(r < 0 ? DV_EXIT_ERROR : DV_EXIT_OK);
    }
    free(a.config_path);
    dv_log_info("agent stopped");
    return r < 0 ? DV_EXIT_ERROR : DV_EXIT_OK;
}
