/* A task and its lifecycle state machine (STYLE.md 6).
 *
 *   pending ─START→ pulling ─IMAGE_READY→ starting ─STARTED→ running ─EXITED→ exited | restarting |
 * failed │ STOP/RESTART        restarting ─RESTART_DUE→ pulling ▼ stopping ─EXITED→ stopped (or
 * pulling for a restart) any ─DESTROY→ destroying ─DESTROYED→ (gone)
 *
 * The whole table is in task_fsm.c, one function per transition. The state
 * machine only decides; everything it wants done (pull, create, stop, timers,
 * persisting) goes through dv_task_ops, so the machine is unit-tested without a
 * daemon and the agent's runner (task_runner.c) does the real work on workers.
 *
 * Races between results and events (a die event while a stop is in flight, a
 * destroy while a pull runs) are settled by `gen`: it changes on every
 * transition, every operation started by the runner carries the gen it was
 * started under, and a result whose gen is not the task's current one is stale
 * and dropped (dv_task_result_is_current()).
 *
 * Everything here is owned by the loop thread. The persistent part of a task
 * is serialized by dv_task_to_json()/dv_task_from_json() (task_record.c). */
#ifndef DV_TASK_H
#define DV_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "error.h"
#include "proc.h"
#include "restart_policy.h"
#include "task_events.h"
#include "uuid.h"

#define DV_TASK_RECORD_VERSION 1
/* Nomad's default kill_timeout: for a spec that gives none, and a record without one. */
#define DV_KILL_TIMEOUT_DEFAULT (INT64_C(5) * 1000000000)

enum dv_task_state {
    DV_TASK_PENDING,    /* accepted, nothing started yet */
    DV_TASK_PULLING,    /* image: inspect, pull or load */
    DV_TASK_STARTING,   /* create, start, inspect, launch docklog */
    DV_TASK_RUNNING,    /* container running */
    DV_TASK_STOPPING,   /* stop in flight (operator stop, restart, or kill_signal wait) */
    DV_TASK_RESTARTING, /* waiting out the restart delay */
    DV_TASK_EXITED,     /* container ended and the task is complete (no restart due) */
    DV_TASK_FAILED,     /* failed for good: start failure, or restart attempts exhausted */
    DV_TASK_STOPPED,    /* stopped by the operator */
    DV_TASK_DESTROYING, /* removing container, directories, record */
    DV_TASK_STATE_COUNT
};

enum dv_task_fsm_event {
    DV_TE_START,          /* begin (or begin again): fetch the image */
    DV_TE_IMAGE_READY,    /* image present; image_id set */
    DV_TE_STARTED,        /* container running, docklog launched */
    DV_TE_START_FAILED,   /* image, create or start failed: input error */
    DV_TE_EXITED,         /* container exit confirmed by inspect: input exit */
    DV_TE_STOP,           /* operator stop: input stop_timeout_ns, stop_signal */
    DV_TE_RESTART,        /* operator restart */
    DV_TE_STOP_DONE,      /* the Engine stop returned: input error (NULL = ok) */
    DV_TE_STOP_FAILED,    /* after a stop, the container is still running */
    DV_TE_KILL_TIMEOUT,   /* kill_signal sent and kill_timeout passed */
    DV_TE_RESTART_DUE,    /* restart delay elapsed */
    DV_TE_DESTROY,        /* operator destroy: input force */
    DV_TE_DESTROYED,      /* destroy work done: the task can be forgotten */
    DV_TE_DESTROY_FAILED, /* the container could not be removed: input error */
    DV_TE_COUNT
};

enum dv_task_desired { DV_DESIRED_RUNNING, DV_DESIRED_STOPPED };

typedef struct dv_exit_result {
    bool valid;
    int exit_code; /* the container's code (128+N when killed by signal N) */
    int signal;    /* N when the code is 128+N (Docker reports only the code) */
    bool oom_killed;
    int64_t finished_ns; /* CLOCK_REALTIME; 0 if unknown */
    char *error;         /* Engine State.Error, or why the exit could not be inspected */
} dv_exit_result;

typedef struct dv_port_mapping {
    char *label;
    int host_port;
    int container_port; /* the "to" of the spec, or host_port when 0 */
    bool is_static;
} dv_port_mapping;

/* The allocation (one instance of a task group) a task belongs to; all empty
 * for a task submitted alone. Persisted. */
typedef struct dv_task_alloc {
    char id[DV_UUID_STRLEN + 1]; /* NOMAD_ALLOC_ID, the shared alloc dir; "" = a task alone */
    char *job, *group;           /* NULL for a task alone */
    int index;                   /* NOMAD_ALLOC_INDEX */
    bool infra; /* this task is the allocation's infra (pause) container, owner of its network */
    /* A member of a group with bridge networking: the infra task whose network
     * namespace its container joins, and the infra container it joined last. */
    char infra_task_id[DV_UUID_STRLEN + 1];
    char *joined;
} dv_task_alloc;

typedef struct dv_task {
    char id[DV_UUID_STRLEN + 1];
    char *name;
    char *container_name; /* <name>-<id> */
    json_t *spec;         /* as submitted; may hold registry credentials */
    /* SPEC with its env and config interpolated when it was accepted (task_env.h),
     * what every start of the task uses: a later change of the node's meta or
     * name does not change, or break, a task that is running. NULL in a record
     * written before (recovery resolves it again then). */
    json_t *spec_resolved;
    dv_task_alloc alloc;

    /* Lifecycle parameters taken from the spec when it is accepted. */
    int64_t kill_timeout_ns; /* DV_KILL_TIMEOUT_DEFAULT unless the spec says */
    char *kill_signal;       /* NULL: Engine stop with kill_timeout */
    dv_restart_policy restart_policy;

    enum dv_task_state state;
    enum dv_task_desired desired;
    uint64_t gen;

    char *image;    /* the reference as used (https:// stripped) */
    char *image_id; /* sha256:... once known */
    char *container_id;
    dv_port_mapping *ports;
    size_t nports;
    char *ip; /* advertise address (first network with an IP) */
    bool auto_advertise;
    char *network_name;

    struct {
        pid_t pid; /* 0 when none */
        uint64_t starttime;
        char boot_id[DV_BOOT_ID_STRLEN + 1];
    } docklog;

    /* Log gaps docklog reported (common/log_gaps.h), per stream; their sum is how
     * many records of docklog.gaps were turned into "Logs lost" events. */
    uint64_t log_gaps[2];

    dv_restart_tracker restarts;
    int64_t restart_due_ns; /* RESTARTING: when the restart is due (CLOCK_REALTIME), so an
                             * agent restarted meanwhile re-arms the rest of the delay */
    dv_exit_result exit;
    dv_event_ring events;
    int64_t created_ns, started_ns, finished_ns; /* CLOCK_REALTIME */
    /* The boot (kernel boot id) the record was last written in: recovery tells a
     * node reboot from a container that ended on its own by it. Set by the saver. */
    char boot_id[DV_BOOT_ID_STRLEN + 1];
    /* Forced destroy waiting for an operation in flight; persisted, so a destroy
     * the operator asked for is still carried out after an agent restart. */
    bool destroy_requested;

    /* Runtime only, never persisted. */
    bool restart_requested; /* operator restart: start again once the container is down */
    bool die_seen;          /* a die event arrived while starting */
    /* Destroying a task whose container had ended (exited, failed, stopped or
     * waiting to restart): nothing to stop before the helper is done with it. */
    bool destroy_after_end;
    /* The stop in progress, or asked for while pulling or starting (STOP_PENDING:
     * then it is begun the way it was asked once the container has started). */
    int64_t stop_timeout_ns;
    char *stop_signal;
    bool stop_pending;
    /* Why the task is not getting on (a fetch or start waits for an unreachable
     * Engine), shown as "waiting" by the API; NULL when it is not held up. */
    char *waiting;
    void *runner; /* the runner's per-task data */
} dv_task;

/* What the state machine asks for. Every call is asynchronous: its outcome comes
 * back later as an event through dv_task_handle(). CTX is the runner. */
typedef struct dv_task_ops {
    void (*fetch_image)(void *ctx, dv_task *t);     /* → IMAGE_READY | START_FAILED */
    void (*start_container)(void *ctx, dv_task *t); /* → STARTED | START_FAILED */
    /* SIGNAL NULL: Engine stop with TIMEOUT (→ STOP_DONE). Otherwise send SIGNAL and
     * arm the task timer for TIMEOUT (→ KILL_TIMEOUT, or EXITED first). */
    void (*stop_container)(void *ctx, dv_task *t, int64_t timeout_ns, const char *signal);
    void (*confirm_exit)(void *ctx, dv_task *t); /* inspect → EXITED | STOP_FAILED */
    void (*cancel)(void *ctx, dv_task *t);       /* abort the operation in flight, if it can */
    void (*arm_timer)(void *ctx, dv_task *t, int64_t delay_ns); /* → RESTART_DUE */
    void (*disarm_timer)(void *ctx, dv_task *t);
    void (*destroy)(void *ctx, dv_task *t); /* stop, drain logs, remove → DESTROYED */
    void (*forget)(void *ctx, dv_task *t);  /* drop from the table; frees T */
    void (*event)(void *ctx, dv_task *t, const dv_task_event *ev); /* broadcast */
    void (*changed)(void *ctx, dv_task *t); /* persist the record, refresh status */
    int64_t (*now)(void *ctx);              /* CLOCK_REALTIME ns */
    double (*jitter)(void *ctx);            /* [0,1) for the restart delay */
} dv_task_ops;

typedef struct dv_task_input {
    enum dv_task_fsm_event event;
    const dv_error *error;      /* START_FAILED, STOP_DONE */
    const dv_exit_result *exit; /* EXITED */
    /* STOP: the operator's own timeout when STOP_TIMEOUT_SET (0 is a timeout), else
     * the task's kill_timeout; the operator's signal, NULL: the task's kill_signal. A
     * zero-initialised input asks for the task's own. */
    bool stop_timeout_set;
    int64_t stop_timeout_ns;
    const char *stop_signal;
    /* Any stop this input begins waits at most this long (the agent's
     * max_kill_timeout, as Nomad's client caps every kill); 0: no cap. */
    int64_t max_stop_timeout_ns;
    /* EXITED: the container ended because the Engine went away (a daemon stopped
     * without live restore stops its containers): the task starts again at once,
     * not counted against its restart policy. */
    bool outage;
    bool force; /* DESTROY */
} dv_task_input;

/* Feed one event. Returns 0 when it was handled, -EALREADY when it changes
 * nothing in this state (stop of a stopped task), -EBUSY when it is refused
 * (destroy of a running task without force), -EINVAL for an event that cannot
 * happen in this state (a stale or misrouted result; the caller drops it). */
int dv_task_handle(dv_task *t, const dv_task_input *in, const dv_task_ops *ops, void *ctx);

/* Would DESTROY without force be accepted now? */
bool dv_task_destroy_needs_force(const dv_task *t);

/* Record and broadcast a task event (printf-style message). */
void dv_task_event_add(dv_task *t, const dv_task_ops *ops, void *ctx, const char *type,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

const char *dv_task_state_name(enum dv_task_state s);
int dv_task_state_from_name(const char *name, enum dv_task_state *ret);
const char *dv_task_fsm_event_name(enum dv_task_fsm_event e);
bool dv_task_state_is_terminal(enum dv_task_state s); /* exited, failed, stopped */
/* Whether a task a drain fed a stop needs no more waiting for: gone, finished,
 * or running again (its stop failed, or an operator restarted it). NULL = gone. */
bool dv_task_drain_settled(const dv_task *t);
/* The container may be running (running, stopping). */
bool dv_task_state_is_active(enum dv_task_state s);

/* ---- the task object (task_record.c) ---- */

dv_task *dv_task_new(const char *id, const char *name);
void dv_task_free(dv_task *t);

void dv_exit_result_clear(dv_exit_result *r);
/* Fill R from an Engine container inspect (State.*). */
int dv_exit_result_from_inspect(const json_t *inspect, dv_exit_result *ret, dv_error *err);
/* "exit code 0", "exit code 137 (signal 9 SIGKILL)", "OOM killed (exit code 137)" */
void dv_exit_result_describe(const dv_exit_result *r, char *buf, size_t size);

/* The persisted record (DESIGN.md state/tasks/<id>.json): spec, desired and
 * current state, container and image, ports, network, docklog identity, restart
 * tracker, exit result, recent events, "version". */
json_t *dv_task_to_json(const dv_task *t);
int dv_task_from_json(const json_t *record, dv_task **ret, dv_error *err);

/* The record as shown by the API: like the persisted one, but the spec's
 * credentials are redacted by REDACT (may be NULL: then the spec is omitted). */
typedef json_t *(*dv_spec_redact_fn)(const json_t *spec);
json_t *dv_task_to_api_json(const dv_task *t, dv_spec_redact_fn redact);

/* Replace *FIELD with a copy of VALUE (NULL clears it). Always 0: the int is kept for the
 * callers that still test it. */
int dv_task_set_str(char **field, const char *value);

#endif
