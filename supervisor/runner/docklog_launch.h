/* Agent side of the docklog helper: write its config, spawn it, adopt it after an
 * agent restart, learn and classify its outcome, stop it.
 *
 * Lifecycle the agent runs per task (DESIGN.md, Processes; Logs: exactly once):
 *   1. after the container is created: dv_docklog_config_write(tasks/<id>/docklog.json)
 *   2. dv_docklog_spawn() → dv_docklog_proc {pid, starttime, boot_id, pidfd}; persist
 *      the identity with the task record; poll pidfd in the event loop (readable = exited)
 *   3. pidfd readable → dv_docklog_collect() → dv_docklog_result → dv_docklog_classify():
 *        DRAINED   : the container exited and every log line is delivered
 *        PERMANENT : give up, emit a task event with result.message (no respawn)
 *        RESPAWN   : spawn again after dv_docklog_respawn_delay(attempt)
 *   4. after an agent restart: dv_docklog_adopt(persisted identity); -ESRCH means the
 *      helper is gone: read its verdict with dv_docklog_collect() on a proc that has
 *      pid 0 (the checkpoint's terminal outcome tells drained / failed / crashed)
 *   5. destroy: wait for DRAINED first (never remove a container before its docklog
 *      drained it), or dv_docklog_stop() on a forced destroy.
 *
 * Rules for the caller: never waitpid(-1) / wait() in the agent (it would steal the
 * exit status of a helper); children are reaped only through dv_docklog_collect().
 * All functions are blocking-free except dv_docklog_stop() (bounded by its timeout),
 * dv_docklog_spawn() (until the exec happened, typically < 1 ms) and
 * dv_docklog_config_write() (fsync, and a DNS lookup for a tcp endpoint's host name:
 * call it from a worker, not the event loop).
 * Output parameters are untouched on failure. */
#ifndef DV_DOCKLOG_LAUNCH_H
#define DV_DOCKLOG_LAUNCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "docklog_protocol.h" /* exit codes, versions, outcome names */
#include "error.h"
#include "proc.h"

/* Environment variable naming the docklog binary (tests, packaging). */
#define DV_DOCKLOG_ENV "DOCKVISOR_DOCKLOG"
/* docklog's own diagnostics (tasks/<id>/docklog.log) are rotated to LOG.1 at spawn
 * once larger than this, so they stay bounded at about twice this size. */
#define DV_DOCKLOG_DIAG_MAX (1024 * 1024)

/* The docklog config, DV_DOCKLOG_CONFIG_VERSION (docklog/config.h documents the JSON format and
 * owns its parsing; this struct is its writer's view). Strings are borrowed. */
typedef struct dv_docklog_config {
    const char *endpoint; /* unix:///path, tcp://host:port, http://host:port, https://... */
    const char *tls_cert; /* all three or none: the driver's tls block */
    const char *tls_key;
    const char *tls_ca;
    const char *container_id; /* full 64-hex id */
    const char *container_name;
    bool tty;
    const char *task_name;
    const char *task_id;
    const char *image;
    bool files_enabled;
    const char *files_dir;  /* tasks/<id>/alloc/logs */
    const char *files_base; /* the task name: <base>.stdout.N */
    int max_files;          /* >= 1 */
    int max_file_size_mb;   /* >= 1 */
    bool journald_enabled;
    const char *journald_identifier; /* SYSLOG_IDENTIFIER; NULL → task_name */
    const char *checkpoint_path;     /* tasks/<id>/docklog.checkpoint */
    const char *gaps_path;           /* tasks/<id>/docklog.gaps (common/log_gaps.h); optional */
    const char *source; /* "auto", "file" or "api" (docker.log_source); NULL: docklog's default */
} dv_docklog_config;

/* Validate and write PATH atomically (0600: it may name TLS key paths). A tcp://,
 * http:// or https:// endpoint's host is resolved here (getaddrinfo) into the
 * config's "addresses", since docklog resolves no names; the name stays in
 * "endpoint" for TLS verification. A resolution failure is -EHOSTUNREACH
 * (recoverable when the resolver said "try again"). */
int dv_docklog_config_write(const char *path, const dv_docklog_config *config, dv_error *err);

/* Find the binary: $DOCKVISOR_DOCKLOG (TLS: $DOCKVISOR_DOCKLOG_TLS), else "docklog"
 * (TLS: "docklog-tls") next to /proc/self/exe. Must exist and be executable.
 * *ret_path is heap. The TLS build is needed exactly when the endpoint is https://
 * or a tls block is configured. */
int dv_docklog_find_binary(bool tls, char **ret_path, dv_error *err);

/* Pure: does ENDPOINT need docklog-tls? https://, or tcp:// with a tls block (as the
 * driver's tls option makes tcp:// speak TLS). The agent passes what its Engine
 * client resolved (dv_docker_endpoint, dv_docker_tls), whatever the TLS came from:
 * a tls block, DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, or an https:// endpoint. */
bool dv_docklog_needs_tls(const char *endpoint, bool tls_block);

/* Pure: the endpoint docklog is given for the client's ENDPOINT and TLS, into BUF:
 * a tcp:// endpoint that speaks TLS becomes https://, so the helper speaks TLS
 * whether or not it gets a client certificate (docklog takes cert, key and ca
 * together; otherwise it verifies with the system's CA store). Returns BUF, or
 * NULL when it does not fit. */
const char *dv_docklog_endpoint(const char *endpoint, bool tls, char *buf, size_t size);

/* A running (or exited, not yet collected) helper. */
typedef struct dv_docklog_proc {
    pid_t pid;
    uint64_t starttime; /* /proc/PID/stat field 22 */
    char boot_id[DV_BOOT_ID_STRLEN + 1];
    int pidfd;     /* -1 when none; close with dv_docklog_proc_close() */
    bool is_child; /* spawned by this process (else adopted): decides how the outcome is learned */
} dv_docklog_proc;

#define DV_DOCKLOG_PROC_INIT                                                                       \
    {                                                                                              \
        .pid = 0, .starttime = 0, .boot_id = "", .pidfd = -1, .is_child = false                    \
    }

/* DIAG_LOG opened for appending (CLOEXEC, created 0640, not through a symlink), rotated
 * to DIAG_LOG.1 first when over DV_DOCKLOG_DIAG_MAX: the helper's stdout and stderr,
 * however it is launched. The fd, or -errno. */
int dv_docklog_diag_open(const char *diag_log, dv_error *err);

/* posix_spawn (no fork: the cost does not grow with the agent's memory) of BINARY
 * CONFIG_PATH in a session of its own, with an empty signal mask and default
 * dispositions, stdin /dev/null, stdout+stderr appended to DIAG_LOG (created 0640,
 * rotated first if over DV_DOCKLOG_DIAG_MAX), and no other fd whatever this process
 * holds (inheritable or not); then a pidfd for it. A failed exec is reported here
 * (-errno, "exec BINARY: ...") and the child is reaped; no helper is left behind on
 * failure. */
int dv_docklog_spawn(const char *binary, const char *config_path, const char *diag_log,
                     dv_docklog_proc *ret, dv_error *err);

/* Re-open a helper from a previous agent incarnation: the process must be alive and
 * have the same start time and boot id (pid reuse), then a pidfd is opened (and the
 * identity re-checked after opening, closing the pid-reuse window).
 * -ESRCH: it is gone (or the pid now belongs to another process). */
int dv_docklog_adopt(pid_t pid, uint64_t starttime, const char *boot_id, dv_docklog_proc *ret,
                     dv_error *err);

/* How a helper ended. */
enum dv_docklog_end {
    DV_DOCKLOG_END_EXITED,   /* exited with .status */
    DV_DOCKLOG_END_SIGNALED, /* killed by signal .status */
    DV_DOCKLOG_END_UNKNOWN,  /* adopted helper (not our child): no exit status; the
                              * checkpoint's outcome below is all we know */
};

/* The checkpoint's terminal outcome (docklog/checkpoint.h). */
enum dv_docklog_outcome {
    DV_DOCKLOG_OUTCOME_NONE, /* no checkpoint yet, or docklog still had work to do */
    DV_DOCKLOG_OUTCOME_DONE, /* container exited and the stream was drained */
    DV_DOCKLOG_OUTCOME_FAILED,
};

typedef struct dv_docklog_result {
    enum dv_docklog_end end;
    int status;
    enum dv_docklog_outcome outcome;
    /* the permanent error of a FAILED outcome, else "" (an exit 100 before docklog
     * could write its checkpoint, e.g. an unreadable config, has no message: its
     * reason is in docklog.log) */
    char message[512];
} dv_docklog_result;

/* Read the terminal outcome from docklog's checkpoint. A missing checkpoint is
 * OUTCOME_NONE (not an error); an unreadable or foreign one is an error, and so is
 * one docklog itself would refuse as text (common/json_strict.h: a key twice). */
int dv_docklog_read_outcome(const char *checkpoint_path, enum dv_docklog_outcome *ret_outcome,
                            char *ret_message, size_t message_size, dv_error *err);

/* Call when the pidfd is readable (or for a helper known gone: pid 0 / pidfd -1).
 * A child is reaped (waitid P_PIDFD) for its exit status; for any helper the
 * checkpoint at CHECKPOINT_PATH is read. -EAGAIN if the helper has not exited yet.
 * The pidfd stays open: a caller that watches it in the event loop must unwatch it
 * before closing it with dv_docklog_proc_close() (loop.h). Closing first is a
 * use-after-free: a docklog or credential helper being forked at that moment holds a
 * copy of the fd, so epoll keeps the registration of the closed fd alive. */
int dv_docklog_collect(dv_docklog_proc *p, const char *checkpoint_path, dv_docklog_result *ret,
                       dv_error *err);

enum dv_docklog_verdict {
    DV_DOCKLOG_DRAINED,   /* done: the task's logs are complete */
    DV_DOCKLOG_PERMANENT, /* do not respawn; report the message as a task event */
    DV_DOCKLOG_RESPAWN,   /* temporary failure, crash or kill: respawn after a backoff */
};

/* Pure. Exit 0 with the checkpoint's outcome DONE → DRAINED; exit 0 otherwise is
 * docklog's answer to a SIGTERM (it checkpoints and exits 0) → RESPAWN, which a caller
 * that sent the SIGTERM itself takes as done (a SIGTERM from anyone else must not end
 * the log collection of a running container). 100 → PERMANENT, 111, any other code
 * or signal → RESPAWN. For END_UNKNOWN the checkpoint decides: DONE → DRAINED,
 * FAILED → PERMANENT, NONE → RESPAWN (it died without finishing). */
enum dv_docklog_verdict dv_docklog_classify(const dv_docklog_result *result);

/* Pure. Respawn delay before attempt N (1-based, consecutive failures): 1s, 2s, 4s ...
 * capped at 60s. A helper that ran for a while before failing should reset N
 * (the caller decides; e.g. after 10 minutes of running). */
int64_t dv_docklog_respawn_delay(unsigned attempt);

/* Send SIG through the pidfd (no pid-reuse race). -ESRCH if it already exited. */
int dv_docklog_signal(dv_docklog_proc *p, int sig, dv_error *err);

/* Blocking stop for the destroy path: SIGTERM (docklog finishes its batch, writes the
 * checkpoint, exits 0), SIGKILL after TIMEOUT_NS, then wait for the exit and collect
 * the result like dv_docklog_collect() (the pidfd stays open). */
int dv_docklog_stop(dv_docklog_proc *p, int64_t timeout_ns, const char *checkpoint_path,
                    dv_docklog_result *ret, dv_error *err);

/* SIGKILL, reap it if it is our child (blocking until it is gone: immediate after
 * SIGKILL), close the pidfd. For a helper that cannot be kept track of. */
void dv_docklog_kill(dv_docklog_proc *p);

/* Close the pidfd (if any) without signalling or reaping: the agent shuts down and
 * leaves the helper running (it is re-adopted on start). */
void dv_docklog_proc_close(dv_docklog_proc *p);

#endif
