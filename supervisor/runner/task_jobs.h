/* The worker side of the task runner: one blocking Engine procedure per job
 * kind, Nomad's retry rules included. A job never touches the task table: its
 * inputs are copies, its outputs are read by the loop in the done callback.
 *
 *   IMAGE   fetch the spec's artifacts into the task dir (artifacts.h); inspect; pull (auth,
 * progress, timeouts) when missing, tag latest or force_pull; or load from a tar in the local dir;
 * then inspect for the id START   (remove the previous container), create with Nomad's retries
 *           (name conflict: reuse a running container or remove a dead one;
 *           recoverable errors with backoff), give the task's directories to
 *           the created container's user (task_dirs.h; a name the image does
 *           not know fails here), start (retrying 500s; a container that fails
 *           to start is removed), inspect for IP and ports,
 *           write the docklog config and spawn docklog
 *   STOP    Engine stop with a timeout; or kill with a signal (the loop waits)
 *   INSPECT confirm an exit: running or the exit result
 *   DESTROY remove the container (forced: a running one is killed), or only stop it
 *           (timeout 0) when it is kept (docker.gc.container false); remove the
 *           task directory
 *   SIGNAL, EXEC, STATS, REMOVE (a stale container)
 *   DOCKLOG launch a docklog helper in a transient unit of its own (respawns and
 *           recovery's relaunches; docklog_unit.h): systemd's start job is blocking
 *           bus I/O, which the loop must not wait for
 *
 * Before every call that stops, kills, signals, execs into or removes a container
 * the job makes sure it carries this node's id and the task's id (ownership.h),
 * by an inspect the first time the agent acts on that container id. A container
 * that does not is left alone: the job fails with `foreign` set and the error
 * saying what labels it has, and the loop sets the task's record aside
 * (task_runner.h). A container that is gone is handled as the call's own 404
 * would be. The verdict is kept with the task (owned_in/owned_out) and not asked
 * again: Docker never reuses a container id (64 random hex digits) and a
 * container's labels cannot change after its create, so an id once confirmed
 * names the same container with the same labels for as long as it exists. A
 * container the START job created itself (with the task's labels) counts as
 * confirmed.
 *
 * Inspects, stats and kills go through the agent's client with the short deadline:
 * a daemon that accepts and never answers fails them within seconds (-ETIMEDOUT)
 * instead of holding a worker, and an operator's request, for minutes. */
#ifndef DV_TASK_JOBS_H
#define DV_TASK_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "docker.h"
#include "docklog_launch.h"
#include "docklog_unit.h"
#include "error.h"
#include "lanes.h"
#include "registry_auth.h"
#include "runtime.h"
#include "spec_paths.h"
#include "task.h"

enum dv_job_kind {
    DV_JOB_IMAGE,
    DV_JOB_START,
    DV_JOB_STOP,
    DV_JOB_INSPECT,
    DV_JOB_DESTROY,
    DV_JOB_SIGNAL,
    DV_JOB_EXEC,
    DV_JOB_STATS,
    DV_JOB_REMOVE,
    DV_JOB_DOCKLOG,
};

typedef struct dv_job {
    enum dv_job_kind kind;
    dv_runtime *run; /* for posting notes and run->pulls (thread-safe); nothing else */
    dv_docker *dk;
    dv_docker *quick_dk; /* short deadline (runtime.h quick_docker): inspect, stats, kill */
    char task_id[DV_UUID_STRLEN + 1];
    char node_id[DV_UUID_STRLEN + 1]; /* the agent's: which containers are ours */
    char task_name[160];
    uint64_t gen;
    /* SIGNAL, EXEC, STATS: the request the caller answers in its done function;
     * opaque here, the job never touches it. */
    void *client;

    /* result */
    int r;
    dv_error err;
    /* The container the task's record names is not this task's (ownership.h):
     * nothing was done to it; r is -EPERM and err says why. */
    bool foreign;
    /* Ownership already known (see above): in, the container id the task's labels
     * were confirmed on before (dv_runner_submit copies it from the task); out, the
     * one this job confirmed or created, kept with the task when the job is done.
     * "" for none. */
    char owned_in[65], owned_out[65];
    dv_work_done_fn done; /* dv_runner_submit's caller's, run after owned_out is kept */
    /* The record writer's latest ticket when the job was made (dv_job_new) or
     * submitted (dv_runner_submit): dv_job_run waits for it before any call that
     * changes something in Docker, so every record saved before is durable first. */
    dv_record_writer *records; /* the runtime's (thread-safe) */
    uint64_t records_ticket;

    /* IMAGE */
    dv_task_spec *spec; /* IMAGE: the task's parsed spec (a reference: it is immutable) */
    char *local_dir;
    char *task_dir;               /* where artifacts land (artifacts.h) */
    bool artifacts_local_allowed; /* docker.volumes.enabled when the job was made */
    dv_auth_sources auth;
    char *auth_config, *auth_helper;
    int64_t activity_timeout_ns;
    int64_t pull_timeout_ns; /* the spec's image_pull_timeout, else the agent's */
    dv_cancel cancel;
    char *image_ref;  /* out */
    char *image_id;   /* out */
    char *image_user; /* out: the image's Config.User ("" for none) */

    /* START / STOP / INSPECT / DESTROY / SIGNAL / EXEC / STATS / REMOVE */
    char *container_name;
    char *container_id; /* in (STOP...) or out (START) */
    char *old_container_id;
    json_t *body;                  /* START: the create body */
    int container_exists_attempts; /* START: docker.container_exists_attempts */
    /* START: the task's directories, given to the container's user before it
     * starts (task_dirs.h): USER when known (the spec's, or the image's from the
     * fetch), else the created container's Config.User; user_from_spec says
     * whose it is, for errors */
    dv_task_paths dirs;
    char *user;
    bool user_from_spec;
    bool advertise_ipv6;
    bool logs_enabled;
    char *docklog_bin, *docklog_config_path, *docklog_diag_path;
    dv_docklog_config docklog; /* strings point into pool */
    char *pool[16];            /* strings the job owns for borrowed fields */
    size_t npool;
    bool reused;             /* out: a running container of ours was found */
    bool docklog_started;    /* out */
    dv_docklog_proc proc;    /* out */
    char docklog_error[512]; /* out: why docklog did not start */
    /* START, DOCKLOG: how the helper is launched (docklog_unit.h); its strings are
     * the job's docklog_bin, docklog_config_path, docklog_diag_path, task_name and
     * task_id */
    dv_docklog_launch_opts launch;
    char docklog_note[512];  /* out: the helper fell back to the agent's cgroup, why */
    char *ip, *network_name; /* out */
    bool auto_advertise;     /* out */
    bool running;            /* out (START, INSPECT) */
    bool lenient;            /* INSPECT only looks for an exit: a running container is no news */
    dv_exit_result exit;     /* out (START when it already exited, INSPECT) */
    int stop_timeout_s;
    char *signal; /* STOP with a signal, SIGNAL */
    bool remove_container;
    char *task_root; /* DESTROY: removed recursively */
    json_t *cmd;     /* EXEC: array of strings */
    int64_t exec_timeout_ns;
    dv_exec_result exec; /* out */
    json_t *stats;       /* out */
} dv_job;

dv_job *dv_job_new(enum dv_job_kind kind, dv_runtime *run, const dv_task *t);
/* Copy S into the job (freed with it); NULL stays NULL. */
const char *dv_job_keep(dv_job *job, const char *s);
void dv_job_free(dv_job *job);
/* The worker entry point for every kind. A kind that changes something (all but
 * INSPECT and STATS) first waits for the job's records_ticket. */
void dv_job_run(void *data);
/* The lane (lanes.h) a job of this kind runs in. */
enum dv_lane dv_job_lane(const dv_job *job);

/* Nomad's stats, from GET /containers/{id}/stats (cgroup v1 or v2): {"cpu":
 * {"percent", "throttled_periods", "throttled_time_ns"}, "memory": {"rss",
 * "cache", "swap", "usage", "max_usage"}}. Pure (exposed for tests). */
json_t *dv_stats_from_engine(const json_t *s);

/* Pure helpers of the image step (exposed for tests). */
/* Summarize pull progress lines per layer: "pulling REF: 2/5 layers, 12.0/40.1 MB". */
typedef struct dv_pull_progress dv_pull_progress;
dv_pull_progress *dv_pull_progress_new(void);
void dv_pull_progress_free(dv_pull_progress *p);
void dv_pull_progress_feed(dv_pull_progress *p, const json_t *line);
void dv_pull_progress_summary(const dv_pull_progress *p, const char *ref, char *buf, size_t size);
/* Is a pull error worth retrying (Nomad: everything but "not found" / auth refusals)? */
bool dv_pull_error_recoverable(const dv_error *err);

#endif
