/* A docklog helper in a transient systemd service of its own (DESIGN.md, Processes).
 *
 * Why: journald rate-limits per unit, and every helper forked by the agent lives in
 * dockvisor.service's cgroup, so one chatty container would spend the budget of all
 * of them and journald would drop every other task's lines, silently. And
 * `systemctl kill dockvisor` (kill-whom=all) would kill every helper with the agent.
 * In a unit of its own a helper has its own journald budget (the task's
 * logs.journald_rate_limit and _burst, else journald's), its own memory, CPU and
 * task accounting, and outlives whatever is done to the agent's unit.
 *
 * The helper is then not the agent's child: its end is learned through its pidfd
 * and its checkpoint's outcome, as for a helper re-adopted after an agent restart
 * (docklog_launch.h, DV_DOCKLOG_END_UNKNOWN).
 *
 * Without systemd as PID 1, or without a reachable system bus, the agent forks the
 * helper into its own cgroup as before (dv_docklog_spawn). */
#ifndef DV_DOCKLOG_UNIT_H
#define DV_DOCKLOG_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docklog_launch.h"
#include "error.h"

/* Every helper's unit goes into this slice, so an operator sees (and can bound) all
 * of them at once: `systemctl status dockvisor-docklog.slice`. */
#define DV_DOCKLOG_SLICE "dockvisor-docklog.slice"
#define DV_DOCKLOG_UNIT_PREFIX "dockvisor-docklog-"
/* systemd's UNIT_NAME_MAX, with the terminating NUL. */
#define DV_UNIT_NAME_MAX 256

/* What node-status says of where helpers run (DV_DOCKLOG_UNITS_YES or the fallback
 * with its reason). */
#define DV_DOCKLOG_UNITS_YES "transient units (systemd)"

/* Pure. S escaped for a unit name as systemd-escape does, except that '-' is kept
 * (readable names; uniqueness comes from the task id): [A-Za-z0-9:_.-] stay, a
 * leading '.' and everything else become \xNN. At most MAX_IN bytes of S are taken,
 * never cutting a sequence. BUF of SIZE >= 4 * MAX_IN + 1. */
void dv_unit_name_escape(const char *s, size_t max_in, char *buf, size_t size);

/* Pure. "dockvisor-docklog-<task name escaped, at most 64 bytes of it>-<first 8 of the
 * task id>-<SERIAL>.service" into BUF (DV_UNIT_NAME_MAX). SERIAL keeps the names of
 * successive helpers of a task apart: an ended unit may still be loaded. */
void dv_docklog_unit_name(const char *task_name, const char *task_id, unsigned serial,
                          char buf[DV_UNIT_NAME_MAX]);

/* Can helpers get units of their own here? true when systemd is PID 1 and the system
 * bus answers; else false with the reason in WHY (e.g. "agent's cgroup: systemd is
 * not PID 1"). Blocking (one bus round trip): call at agent start. */
bool dv_docklog_units_probe(char *why, size_t size);

/* How one helper is launched. Strings are borrowed. */
typedef struct dv_docklog_launch_opts {
    const char *binary;
    const char *config_path;
    const char *diag_log;
    bool units;            /* in a transient unit (dv_docklog_units_probe said yes) */
    const char *task_name; /* for the unit's name and description */
    const char *task_id;
    unsigned serial;                   /* see dv_docklog_unit_name */
    int64_t journald_rate_limit_ns;    /* 0: journald's default */
    int64_t journald_rate_limit_burst; /* 0: journald's default */
} dv_docklog_launch_opts;

/* Start the helper in its transient service and wait for systemd's job (Type=exec:
 * until the exec happened), then open a pidfd on the unit's MainPID and check it is
 * the unit's process (its cgroup). Blocking bus I/O, bounded by a deadline of
 * seconds: call from a worker. A name still taken by an older unit is retried with
 * the next serials. stdout and stderr are DIAG_LOG (rotated first, as
 * dv_docklog_spawn does), handed to systemd as an fd.
 * A helper that already ended when the job completed is 0 with ret->pid 0 and
 * ret->pidfd -1: its checkpoint tells the rest (dv_docklog_collect). *RET_UNIT gets
 * the unit's name. */
int dv_docklog_unit_start(const dv_docklog_launch_opts *o, dv_docklog_proc *ret,
                          char ret_unit[DV_UNIT_NAME_MAX], dv_error *err);

/* Launch a helper the way O says: in a transient unit, or (O->units false, or the
 * unit could not be started) forked in the agent's cgroup. A fallback is not an
 * error: FALLBACK (of FALLBACK_SIZE) then says why, else it is "". Blocking: from
 * a worker. */
int dv_docklog_launch(const dv_docklog_launch_opts *o, dv_docklog_proc *ret, char *fallback,
                      size_t fallback_size, dv_error *err);

#endif
