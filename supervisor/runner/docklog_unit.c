#include "docklog_unit.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "proc.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
/* systemd answers a start job within milliseconds; a PID 1 that does not answer for
 * this long must not hold a worker (the start then falls back to a fork). */
#define JOB_DEADLINE (20 * DV_NSEC_PER_SEC)
/* Names still taken by ended units that systemd has not collected yet. */
#define NAME_TRIES 16

static bool unit_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '_' || c == '.' || c == '-';
}

void dv_unit_name_escape(const char *s, size_t max_in, char *buf, size_t size)
{
    assert(size >= 4 * max_in + 1);
    size_t o = 0;
    for (size_t i = 0; s[i] && i < max_in; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unit_char((char)c) && !(i == 0 && c == '.'))
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
    }
    buf[o] = '\0';
}

void dv_docklog_unit_name(const char *task_name, const char *task_id, unsigned serial,
                          char buf[DV_UNIT_NAME_MAX])
{
    /* 64 bytes of the name escape to at most 256: cut the escaped text to fit, at a
     * character boundary of the original (escape fewer bytes). */
    char esc[4 * 64 + 1];
    size_t take = 64;
    for (;;) {
        dv_unit_name_escape(task_name, take, esc, sizeof(esc));
        if (strlen(esc) <= 120 || take == 0)
            break;
        take--;
    }
    snprintf(buf, DV_UNIT_NAME_MAX, DV_DOCKLOG_UNIT_PREFIX "%s-%.8s-%u.service", esc, task_id,
             serial);
}

static void bus_closep(sd_bus **p)
{
    sd_bus_flush_close_unref(*p);
}

static void message_unrefp(sd_bus_message **p)
{
    sd_bus_message_unref(*p);
}

static void slot_unrefp(sd_bus_slot **p)
{
    sd_bus_slot_unref(*p);
}

bool dv_docklog_units_probe(char *why, size_t size)
{
    if (sd_booted() <= 0) {
        snprintf(why, size, "agent's cgroup: systemd is not PID 1");
        return false;
    }
    _cleanup_(bus_closep) sd_bus *bus = NULL;
    int r = sd_bus_open_system(&bus);
    sd_bus_error e = SD_BUS_ERROR_NULL;
    _cleanup_free_ char *version = NULL;
    if (r >= 0)
        r = sd_bus_get_property_string(bus, SD_DEST, SD_PATH, SD_MANAGER, "Version", &e, &version);
    if (r < 0) {
        snprintf(why, size, "agent's cgroup: system bus unreachable: %s",
                 e.message ? e.message : strerror(-r));
        sd_bus_error_free(&e);
        return false;
    }
    snprintf(why, size, "%s", DV_DOCKLOG_UNITS_YES);
    return true;
}

/* The transient service's properties (systemd.exec, systemd.service, systemd.resource-
 * control): see DESIGN.md, Processes, for why each. */
static int append_properties(sd_bus_message *m, const dv_docklog_launch_opts *o, int diag)
{
    char desc[256];
    snprintf(desc, sizeof(desc), "dockvisor log helper of task %s (%s)", o->task_name, o->task_id);
    const char *argv[] = {o->binary, o->config_path, NULL};
    int r;
    if ((r = sd_bus_message_open_container(m, 'a', "(sv)")) < 0 ||
        (r = sd_bus_message_append(m, "(sv)", "Description", "s", desc)) < 0 ||
        (r = sd_bus_message_append(m, "(sv)", "Slice", "s", DV_DOCKLOG_SLICE)) < 0 ||
        /* The job completes once the exec happened: a binary that cannot run fails it. */
        (r = sd_bus_message_append(m, "(sv)", "Type", "s", "exec")) < 0 ||
        /* The agent owns the respawn policy (classification, backoff). */
        (r = sd_bus_message_append(m, "(sv)", "Restart", "s", "no")) < 0 ||
        /* Ended units go at once: thousands of respawns must not pile up. */
        (r = sd_bus_message_append(m, "(sv)", "CollectMode", "s", "inactive-or-failed")) < 0 ||
        (r = sd_bus_message_append(m, "(sv)", "KillMode", "s", "process")) < 0 ||
        (r = sd_bus_message_append(m, "(sv)", "SendSIGHUP", "b", 0)) < 0 ||
        (r = sd_bus_message_append(m, "(sv)", "CPUAccounting", "b", 1)) < 0 ||
        (r = sd_bus_message_append(m, "(sv)", "MemoryAccounting", "b", 1)) < 0 ||
        (r = sd_bus_message_append(m, "(sv)", "TasksAccounting", "b", 1)) < 0 ||
        (r = sd_bus_message_append(m, "(sv)", "StandardInput", "s", "null")) < 0 ||
        (r = sd_bus_message_append(m, "(sv)", "StandardOutputFileDescriptor", "h", diag)) < 0 ||
        (r = sd_bus_message_append(m, "(sv)", "StandardErrorFileDescriptor", "h", diag)) < 0)
        return r;
    /* journald reads a unit's limits only when they are set: 0 leaves its default. */
    if (o->journald_rate_limit_ns > 0 &&
        (r = sd_bus_message_append(m, "(sv)", "LogRateLimitIntervalUSec", "t",
                                   (uint64_t)(o->journald_rate_limit_ns / 1000))) < 0)
        return r;
    if (o->journald_rate_limit_burst > 0 &&
        (r = sd_bus_message_append(m, "(sv)", "LogRateLimitBurst", "u",
                                   (uint32_t)o->journald_rate_limit_burst)) < 0)
        return r;
    if ((r = sd_bus_message_open_container(m, 'r', "sv")) < 0 ||
        (r = sd_bus_message_append(m, "s", "ExecStart")) < 0 ||
        (r = sd_bus_message_open_container(m, 'v', "a(sasb)")) < 0 ||
        (r = sd_bus_message_open_container(m, 'a', "(sasb)")) < 0 ||
        (r = sd_bus_message_open_container(m, 'r', "sasb")) < 0 ||
        (r = sd_bus_message_append(m, "s", o->binary)) < 0 ||
        (r = sd_bus_message_append_strv(m, (char **)argv)) < 0 ||
        (r = sd_bus_message_append(m, "b", 0)) < 0 || (r = sd_bus_message_close_container(m)) < 0 ||
        (r = sd_bus_message_close_container(m)) < 0 ||
        (r = sd_bus_message_close_container(m)) < 0 ||
        (r = sd_bus_message_close_container(m)) < 0 ||
        (r = sd_bus_message_close_container(m)) < 0) /* the property array */
        return r;
    return sd_bus_message_append(m, "a(sa(sv))", 0); /* no auxiliary units */
}

/* Signals that arrive while sd_bus_call() waits for the answer are queued, and
 * dispatched only by wait_job()'s sd_bus_process(), once PATH is known. */
struct job_wait {
    const char *path; /* the job we wait for */
    char result[32];  /* "" until JobRemoved named it */
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    (void)ret_error;
    struct job_wait *w = userdata;
    uint32_t id;
    const char *path, *unit, *result;
    if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
        return 0;
    if (w->path && strcmp(path, w->path) == 0)
        snprintf(w->result, sizeof(w->result), "%s", result);
    return 0;
}

/* Run the bus until the job is removed or the deadline passes. */
static int wait_job(sd_bus *bus, struct job_wait *w, int64_t deadline, dv_error *err)
{
    while (!w->result[0]) {
        int r = sd_bus_process(bus, NULL);
        if (r < 0)
            return dv_error_errno(err, r, "system bus");
        if (r > 0)
            continue;
        int64_t left = deadline - dv_monotonic_ns();
        if (left <= 0)
            return dv_error_set(err, -ETIMEDOUT, "systemd did not finish the start job %s",
                                w->path);
        r = sd_bus_wait(bus, (uint64_t)(left / 1000));
        if (r < 0 && r != -EINTR)
            return dv_error_errno(err, r, "system bus");
    }
    return 0;
}

/* The unit's main process: its pid, pidfd and identity. 0 with pid 0 when it
 * already ended. */
static int main_process(sd_bus *bus, const char *unit, dv_docklog_proc *ret, dv_error *err)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    _cleanup_(message_unrefp) sd_bus_message *reply = NULL;
    const char *path;
    uint32_t pid = 0;
    int r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s", unit);
    if (r >= 0 && (r = sd_bus_message_read(reply, "o", &path)) >= 0)
        r = sd_bus_get_property_trivial(bus, SD_DEST, path, "org.freedesktop.systemd1.Service",
                                        "MainPID", &e, 'u', &pid);
    dv_docklog_proc p = DV_DOCKLOG_PROC_INIT;
    if (r < 0) {
        /* collected already: it ran and ended */
        bool gone = sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit");
        if (!gone)
            dv_error_set(err, r, "%s: MainPID: %s", unit, e.message ? e.message : strerror(-r));
        sd_bus_error_free(&e);
        if (!gone)
            return r;
        *ret = p;
        return 0;
    }
    if (pid == 0) {
        *ret = p;
        return 0;
    }
    dv_error ignored;
    int pidfd = dv_pidfd_open((pid_t)pid, &ignored);
    if (pidfd < 0) {
        *ret = p; /* ended (and reaped by systemd) since */
        return 0;
    }
    p.pid = (pid_t)pid;
    p.pidfd = pidfd;
    /* The pid could belong to another process by now: it is ours only if it is in
     * the unit's cgroup, read after the pidfd pinned it. */
    char file[64], cg[1024];
    snprintf(file, sizeof(file), "/proc/%u/cgroup", pid);
    FILE *f = fopen(file, "re");
    size_t n = f ? fread(cg, 1, sizeof(cg) - 1, f) : 0;
    if (f)
        fclose(f);
    cg[n] = '\0';
    while (n > 0 && cg[n - 1] == '\n')
        cg[--n] = '\0';
    size_t ul = strlen(unit);
    bool ours = n > ul && cg[n - ul - 1] == '/' && strcmp(cg + n - ul, unit) == 0;
    if (!ours || dv_proc_starttime(p.pid, &p.starttime, &ignored) < 0 ||
        dv_boot_id(p.boot_id, &ignored) < 0) {
        struct pollfd pf = {.fd = pidfd, .events = POLLIN};
        if (poll(&pf, 1, 0) > 0) { /* it ended: watching the pidfd says so at once */
            p.starttime = 0;
            *ret = p;
            return 0;
        }
        close(pidfd);
        return dv_error_set(err, -ESRCH, "%s: main process %u is not the unit's", unit, pid);
    }
    *ret = p;
    return 0;
}

static int start_once(const dv_docklog_launch_opts *o, int diag, const char *unit,
                      dv_docklog_proc *ret, dv_error *err)
{
    int64_t deadline = dv_monotonic_ns() + JOB_DEADLINE;
    _cleanup_(bus_closep) sd_bus *bus = NULL;
    int r = sd_bus_open_system(&bus);
    if (r < 0)
        return dv_error_errno(err, r, "connect to the system bus");
    (void)sd_bus_set_method_call_timeout(bus, (uint64_t)(JOB_DEADLINE / 1000));
    /* Subscribed before the call: the job may be gone before its answer is read. */
    struct job_wait w = {0};
    _cleanup_(slot_unrefp) sd_bus_slot *slot = NULL;
    if ((r = sd_bus_match_signal(bus, &slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                 on_job_removed, &w)) < 0)
        return dv_error_errno(err, r, "system bus: match JobRemoved");
    _cleanup_(message_unrefp) sd_bus_message *m = NULL;
    _cleanup_(message_unrefp) sd_bus_message *reply = NULL;
    if ((r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
                                            "StartTransientUnit")) < 0 ||
        (r = sd_bus_message_append(m, "ss", unit, "fail")) < 0 ||
        (r = append_properties(m, o, diag)) < 0)
        return dv_error_errno(err, r, "%s: build StartTransientUnit", unit);
    sd_bus_error e = SD_BUS_ERROR_NULL;
    if ((r = sd_bus_call(bus, m, 0, &e, &reply)) < 0) {
        if (sd_bus_error_has_name(&e, "org.freedesktop.systemd1.UnitExists"))
            r = -EEXIST;
        dv_error_set(err, r, "start %s: %s", unit, e.message ? e.message : strerror(-r));
        sd_bus_error_free(&e);
        return r;
    }
    if ((r = sd_bus_message_read(reply, "o", &w.path)) < 0)
        return dv_error_errno(err, r, "start %s: answer", unit);
    if ((r = wait_job(bus, &w, deadline, err)) < 0)
        return dv_error_wrap(err, "start %s", unit);
    if (strcmp(w.result, "done") != 0)
        return dv_error_set(err, -ECHILD, "start %s: job %s (journalctl -u %s says why)", unit,
                            w.result, unit);
    return main_process(bus, unit, ret, err);
}

int dv_docklog_unit_start(const dv_docklog_launch_opts *o, dv_docklog_proc *ret,
                          char ret_unit[DV_UNIT_NAME_MAX], dv_error *err)
{
    _cleanup_close_ int diag = dv_docklog_diag_open(o->diag_log, err);
    if (diag < 0)
        return diag;
    char unit[DV_UNIT_NAME_MAX];
    int r = -EEXIST;
    for (unsigned i = 0; i < NAME_TRIES && r == -EEXIST; i++) {
        dv_docklog_unit_name(o->task_name, o->task_id, o->serial + i, unit);
        r = start_once(o, diag, unit, ret, err);
    }
    if (r < 0)
        return r;
    snprintf(ret_unit, DV_UNIT_NAME_MAX, "%s", unit);
    return 0;
}

int dv_docklog_launch(const dv_docklog_launch_opts *o, dv_docklog_proc *ret, char *fallback,
                      size_t fallback_size, dv_error *err)
{
    if (fallback_size)
        fallback[0] = '\0';
    if (o->units) {
        char unit[DV_UNIT_NAME_MAX];
        dv_error e;
        if (dv_docklog_unit_start(o, ret, unit, &e) == 0)
            return 0;
        /* Logs first: a helper in the agent's cgroup collects them, with the shared
         * journald budget, rather than none. */
        snprintf(fallback, fallback_size,
                 "no transient unit for the docklog helper (%s): it runs "
                 "in the agent's cgroup",
                 e.msg);
    }
    return dv_docklog_spawn(o->binary, o->config_path, o->diag_log, ret, err);
}
