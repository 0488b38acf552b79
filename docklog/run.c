#include "run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "diag.h"

/* Report a failure streak without flooding docklog.log: the first failure, then at
 * most once a minute, and when the message changes. */
typedef struct failures {
    unsigned count;
    int64_t last_report_ns;
    char last[256];
} failures;

static void failure(failures *f, const char *what, const dv_error *err, int64_t retry_ns)
{
    f->count++;
    int64_t now = dv_monotonic_ns();
    bool changed = strncmp(f->last, err->msg, sizeof(f->last) - 1) != 0;
    if (f->count == 1 || changed || now - f->last_report_ns >= 60 * DV_NSEC_PER_SEC) {
        dl_diag("%s: %s (attempt %u, retrying in %lld ms)", what, err->msg, f->count,
                (long long)(retry_ns / DV_NSEC_PER_MSEC));
        f->last_report_ns = now;
        snprintf(f->last, sizeof(f->last), "%s", err->msg);
    }
}

static void recovered(failures *f, const char *what)
{
    if (f->count)
        dl_diag("%s: recovered after %u failed attempts", what, f->count);
    f->count = 0;
    f->last[0] = '\0';
}

struct pass {
    dl_deliver *deliver;
    dl_signals *signals;
    dl_entries entries;
    dv_error err; /* a delivery or checkpoint failure inside the stream */
    int failed;   /* its code */
    bool stopped;
};

static int on_entry(const dl_entry *e, void *userdata, dv_error *err)
{
    struct pass *p = userdata;
    return dl_deliver_entry(p->deliver, e, err);
}

static int on_data(const char *data, size_t len, void *userdata)
{
    struct pass *p = userdata;
    int r = dl_entries_feed(&p->entries, data, len, &p->err);
    if (r < 0) {
        p->failed = r;
        return 1;
    }
    return 0;
}

static int on_batch(void *userdata)
{
    struct pass *p = userdata;
    int r = dl_deliver_batch_end(p->deliver, &p->err);
    if (r < 0) {
        p->failed = r;
        return 1;
    }
    if (dl_signals_stop_requested(p->signals)) {
        p->stopped = true;
        return 1;
    }
    return 0;
}

/* Log drivers through which Docker itself writes to the system journal: journald,
 * and syslog to this host's socket (under systemd, journald's). */
static bool docker_writes_journal(const dl_container_state *s)
{
    return strcmp(s->log_driver, "journald") == 0 ||
           (strcmp(s->log_driver, "syslog") == 0 && s->syslog_local);
}

int dl_run_gone(const dl_config *config, dv_error *err)
{
    dv_error_set(err, -EPERM, "container %s no longer exists: its remaining logs cannot be read",
                 config->container_id);
    return DL_RUN_PERMANENT;
}

static int __attribute__((format(printf, 2, 3))) permanent(dv_error *err, const char *fmt, ...)
{
    char msg[DV_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dv_error_set(err, -EPERM, "%s", msg);
    return DL_RUN_PERMANENT;
}

int dl_run(const dl_config *config, dl_engine *engine, dl_deliver *deliver, dl_signals *signals,
           dv_error *err)
{
    struct pass p = {.deliver = deliver, .signals = signals};
    int r = dl_entries_init(&p.entries, config->tty, on_entry, &p, err);
    if (r < 0)
        return DL_RUN_TEMPORARY;
    failures daemon = {0};
    bool source_chosen = false;
    int64_t backoff = DL_BACKOFF_MIN;
    int result = -1;
    while (result < 0) {
        if (dl_signals_stop_requested(signals)) {
            result = DL_RUN_STOPPED;
            break;
        }
        dl_container_state before;
        dv_error e;
        dv_error_clear(&e);
        bool progressed = false;
        r = dl_engine_inspect(engine, &before, &e);
        if (r == 0 && strcmp(before.log_driver, "none") == 0) {
            result = permanent(err,
                               "the container's log driver is \"%s\": Docker keeps no logs "
                               "that could be read",
                               before.log_driver);
            break;
        }
        if (r == 0 && deliver->journal && docker_writes_journal(&before)) {
            /* Docker already sends every line there: a second copy would be a
             * duplicate, and with the journald driver Docker's reader (which selects
             * by CONTAINER_ID_FULL) would hand docklog its own copies back forever. */
            dl_diag("the container's log driver is \"%s\": Docker sends its lines to the "
                    "system journal itself; docklog writes them to files only",
                    before.log_driver);
            deliver->journal = NULL;
            if (!deliver->files) {
                dl_diag("no log files are kept for this task: nothing left to collect");
                result = DL_RUN_DRAINED;
                break;
            }
        }
        /* A container not started yet has no log file: decide once it has. */
        if (r == 0 && !source_chosen && (before.log_path[0] || strcmp(before.status, "created"))) {
            source_chosen = true;
            char why[128];
            if (dl_file_source_usable(config, &before, why, sizeof(why))) {
                int fr = dl_run_file(config, engine, deliver, signals, &before, err);
                if (fr != DL_RUN_FALLBACK) {
                    result = fr;
                    break;
                }
            } else if (config->source == DL_SOURCE_FILE) {
                /* Asked for the files: the API in their place would hide why. */
                result = permanent(err, "cannot read the log files from disk: %s", why);
                break;
            } else if (strcmp(before.log_driver, "json-file") == 0 ||
                       strcmp(before.log_driver, "local") == 0) {
                dl_diag("reading through the Engine API: %s", why);
            }
        }
        if (r == 0) {
            uint64_t was = deliver->entries;
            int f0;
            dl_entries_reset(&p.entries);
            dl_deliver_begin_stream(deliver, true);
            dl_http_stream_cbs cbs = {.on_data = on_data, .on_batch = on_batch, .userdata = &p};
            p.failed = 0;
            r = dl_engine_logs(engine, dl_position_since(&deliver->cp.pos), &cbs, &e);
            if (r == 0 && (f0 = dl_entries_finish(&p.entries, &p.err)) < 0)
                p.failed = f0; /* a clean end completes a TTY's unterminated last line */
            /* Entries of a pass cut short still reach the checkpoint. */
            int f = dl_deliver_batch_end(deliver, p.failed ? NULL : &p.err);
            if (f < 0 && !p.failed)
                p.failed = f;
            progressed = deliver->entries > was;
            if (p.stopped || r == -EINTR || p.failed == -EINTR) {
                result = DL_RUN_STOPPED;
                break;
            }
            if (p.failed) {
                if (p.failed == -EPROTO || p.err.recoverable) {
                    e = p.err; /* a garbled stream: ask again */
                    e.recoverable = true;
                    r = p.failed;
                } else {
                    *err = p.err;
                    result = DL_RUN_TEMPORARY; /* a sink failed: let the agent see it */
                    break;
                }
            }
        }
        if (r == -EINTR) {
            result = DL_RUN_STOPPED;
            break;
        }
        if (r < 0 && e.http_status == 404) {
            result = dl_run_gone(config, err);
            break;
        }
        if (r < 0 && e.http_status == 409) { /* Docker refuses logs of these */
            result = permanent(err,
                               "container %s is dead or being removed: its remaining logs "
                               "cannot be read",
                               config->container_id);
            break;
        }
        if (r < 0 && dl_engine_logs_unreadable(&e)) {
            result = permanent(err, "cannot read the container's logs: %s", e.msg);
            break;
        }
        if (r < 0 && !e.recoverable) {
            result = permanent(err, "%s", e.msg);
            break;
        }
        if (r < 0) {
            failure(&daemon, "docker", &e, backoff);
        } else {
            recovered(&daemon, "docker");
            if (dl_container_exited(&before)) {
                /* The stream of a container that had exited before it was requested
                 * ended cleanly: everything was read, unless Docker restarted it in
                 * between (then StartedAt differs) — look again to be sure. */
                dl_container_state after;
                r = dl_engine_inspect(engine, &after, &e);
                if (r == 0 && dl_container_exited(&after) &&
                    strcmp(after.started_at, before.started_at) == 0) {
                    result = DL_RUN_DRAINED;
                    break;
                }
            }
        }
        if (progressed) {
            backoff = DL_BACKOFF_MIN;
            continue; /* e.g. the container stopped: the next pass drains at once */
        }
        /* Errors back off to 30 s; a quiet clean end (created, restarting) only to
         * 2 s, so logs after a restart by Docker are picked up promptly. */
        int64_t cap = r < 0 ? DL_BACKOFF_MAX : DL_BACKOFF_IDLE_MAX;
        if (backoff > cap)
            backoff = cap;
        if (dl_signals_sleep(signals, backoff)) {
            result = DL_RUN_STOPPED;
            break;
        }
        backoff = backoff * 2 > cap ? cap : backoff * 2;
    }
    dl_entries_free(&p.entries);
    return result;
}
