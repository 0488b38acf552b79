/* docklog's loop over Docker's json-file or local log on disk (jsonfile.h,
 * localfile.h): one pass from the
 * oldest retained file, every entry through the same replay filter and sinks as the
 * API's stream (deliver.h), until the container has exited and its files are read.
 *
 * The end of a container is seen through a pidfd of its init process (State.Pid):
 * no request to dockerd while it runs. Docker marks a container exited only after
 * its log copier wrote the last line and closed the file, so once inspect says
 * exited, reading the files to their end drains it; StartedAt unchanged afterwards
 * rules out a restart by Docker in between (as in the API loop, run.h). */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "diag.h"
#include "jsonfile.h"
#include "proc.h"
#include "timestamp.h"

/* Without a pidfd, how often to ask Docker whether the container still runs. */
#define INSPECT_INTERVAL (2 * DV_NSEC_PER_SEC)
/* After the init process ended, Docker takes a few milliseconds to mark the exit
 * (its exit event, then the log copiers' end): ask again after 2 ms, doubling to
 * 50 ms. A stop or a destroy waits for this drain, so a fixed 50 ms added up to
 * 50 ms to each; the few extra inspects come only at a container's end. */
#define EXIT_SETTLE_FIRST (2 * DV_NSEC_PER_MSEC)
#define EXIT_SETTLE_MAX (50 * DV_NSEC_PER_MSEC)
/* Caught up with a live writer, the next read comes at least this long after the last.
 * dockerd writes each entry with a write(2) of its own, and each wakes the reader: read
 * at every event, a reader as fast as the writer took a line per wake-up, four system
 * calls a line (poll, the inotify events, the data, the end of file), 38 CPU-s per GB of
 * 100-byte lines against 3.4 for the same log read whole. A line is delivered at most
 * this much later. */
#define READ_PACE (10 * DV_NSEC_PER_MSEC)

struct file_pass {
    dl_deliver *deliver;
    int failed;
    dv_error err;
};

static int on_entry(const dl_entry *e, void *userdata, dv_error *err)
{
    (void)err;
    struct file_pass *p = userdata;
    int r = dl_deliver_entry(p->deliver, e, &p->err);
    if (r < 0)
        p->failed = r;
    return r;
}

/* While journald's queue is full: keep hold of the files a fast writer has Docker
 * create, or they would be deleted unseen (jsonfile.h, dl_jsonfile_hold). */
static void hold_files(void *userdata)
{
    dl_jsonfile_hold(userdata);
}

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

static int watch_pid(const dl_container_state *s)
{
    if (!s->running || s->pid <= 0)
        return -1;
    int fd = dv_pidfd_open(s->pid, NULL);
    return fd < 0 ? -1 : fd;
}

bool dl_file_source_usable(const dl_config *config, const dl_container_state *s, char *why,
                           size_t why_size)
{
    const char *no = NULL;
    bool local = strcmp(s->log_driver, "local") == 0;
    if (config->source == DL_SOURCE_API)
        no = "the config asks for the API";
    else if (strncmp(config->endpoint, "unix://", 7) != 0 && config->source == DL_SOURCE_AUTO)
        no = "the Engine is not on this host";
    else if (strcmp(s->log_driver, "json-file") != 0 && !local)
        no = "the log driver is neither json-file nor local";
    else if (s->log_compress && !local)
        no = "json-file compresses rotated files (compress=true)";
    else if (s->log_truncates)
        no = "with max-file 1 Docker rotates by truncating the only log file in place";
    else if (!s->log_path[0])
        no = local ? "Docker gives no container directory (HostnamePath)"
                   : "Docker gives no LogPath";
    else if (access(s->log_path, R_OK) != 0)
        no = local ? "its local-logs/container.log is not readable here"
                   : "its LogPath is not readable here";
    if (no)
        snprintf(why, why_size, "%s", no);
    return !no;
}

/* Did Docker rotate the container's first json-file away before this docklog, the
 * first for the container, started? Docker creates the first log file when it starts
 * the container, before the process runs, so the file is born before StartedAt; every
 * later file is created by a rotation, after the process wrote max-size bytes. The
 * oldest file still there born after StartedAt means at least one file is gone (a
 * writer that filled max-file files before the helper's first look). json-file, and
 * `local` with compress=false, rotate by renaming; `local`'s default compresses each
 * rotated file into a new one, born after StartedAt whether or not a file is gone, so
 * there nothing can be told (DESIGN.md). False when the birth time cannot be had
 * (statx, the filesystem) or StartedAt does not parse. */
static bool first_file_gone(const dl_jsonfile *jf, const char *started_at, int64_t *ret_started)
{
    int64_t started;
    if (jf->n == 0 || !jf->files[0].has_born ||
        dv_timestamp_parse(started_at, strlen(started_at), &started, NULL) < 0)
        return false;
    *ret_started = started;
    return jf->files[0].born_ns > started;
}

/* Start where the checkpoint's "source" says, if it still can be had (checkpoint.h):
 * true if positioned. */
static bool seek_to_checkpoint(dl_jsonfile *jf, const dl_source_pos *pos, const char *boot_id)
{
    if (!pos->set)
        return false;
    if (strcmp(pos->boot_id, boot_id) != 0) {
        dl_diag("the checkpoint's place in Docker's log is from another boot: resuming by "
                "timestamp");
        return false;
    }
    if (!dl_jsonfile_seek(jf, pos)) {
        dl_diag("the checkpoint's log file (inode %llu) is no longer there as it was: resuming "
                "by timestamp",
                (unsigned long long)pos->ino);
        return false;
    }
    dl_diag("resuming Docker's log at byte %lld of the file with inode %llu",
            (long long)pos->offset, (unsigned long long)pos->ino);
    return true;
}

/* After a read that handed on every entry: the place to resume from, with this boot's id. */
static void record_place(dl_deliver *deliver, const dl_jsonfile *jf, const char *boot_id)
{
    dl_source_pos pos;
    if (!boot_id[0] || !dl_jsonfile_tell(jf, &pos)) {
        dl_deliver_set_source(deliver, NULL);
        return;
    }
    memcpy(pos.boot_id, boot_id, sizeof(pos.boot_id));
    dl_deliver_set_source(deliver, &pos);
}

int dl_run_file(const dl_config *config, dl_engine *engine, dl_deliver *deliver,
                dl_signals *signals, const dl_container_state *first, dv_error *err)
{
    dl_jsonfile jf;
    dv_error e;
    bool local = strcmp(first->log_driver, "local") == 0;
    if (dl_logfile_open(&jf, first->log_path, local ? DL_LOGFILE_LOCAL : DL_LOGFILE_JSON, &e) < 0) {
        if (config->source == DL_SOURCE_FILE) {
            dv_error_set(err, -EPERM, "cannot follow the log file: %s", e.msg);
            return DL_RUN_PERMANENT;
        }
        dl_diag("cannot follow the log file (%s): reading through the Engine API", e.msg);
        return DL_RUN_FALLBACK;
    }
    dl_diag("reading Docker's log files at %s directly (%s)", first->log_path,
            dl_jsonfile_notified(&jf) ? "inotify" : "polling: no inotify instance left");
    dl_container_state state = *first;
    char boot_id[DV_BOOT_ID_STRLEN + 1] = "";
    if (dv_boot_id(boot_id, NULL) < 0)
        boot_id[0] = '\0'; /* no place is kept: timestamps only */
    bool at_place = seek_to_checkpoint(&jf, &deliver->cp.pos.source, boot_id);
    if (at_place)
        dl_deliver_begin_at_source(deliver);
    else
        dl_deliver_begin_stream(deliver, false);
    int64_t started;
    bool renamed_on_rotation = !local || !first->log_compress;
    if (!at_place && renamed_on_rotation && deliver->cp.pos.ts[0] == DL_TS_NONE &&
        deliver->cp.pos.ts[1] == DL_TS_NONE && first_file_gone(&jf, state.started_at, &started)) {
        dl_diag("Docker rotated the container's first log file away before docklog started: "
                "what it wrote first is lost");
        dl_deliver_expect_gap_from(deliver, started);
    }
    if (deliver->journal)
        dl_journal_on_wait(&deliver->journal->journal, hold_files, &jf);
    int pidfd = watch_pid(&state);
    bool exit_seen = !state.running && !state.restarting; /* ask Docker at the first end */
    int64_t settle = EXIT_SETTLE_FIRST;
    struct file_pass p = {.deliver = deliver};
    size_t skipped = 0, skipped_reported = 0;
    uint64_t dropped_reported = 0;
    int64_t next_inspect = dv_monotonic_ns() + INSPECT_INTERVAL;
    int64_t batch_since = 0; /* monotonic: the batch's first delivery not saved yet; 0: none */
    int result = -1;
    bool draining = false; /* Docker said exited: reading to the end, then confirm */
    char drain_started_at[sizeof(state.started_at)];
    while (result < 0) {
        if (dl_signals_stop_requested(signals)) {
            result = DL_RUN_STOPPED;
            break;
        }
        int r = dl_jsonfile_read(&jf, DL_HTTP_BATCH_MAX, on_entry, &p, &skipped, &e);
        if (r >= 0 && !p.failed) /* saved with the batch; else the last one still holds */
            record_place(deliver, &jf, boot_id);
        /* A batch ends as the API's do (http1.h): at DL_HTTP_BATCH_MAX bytes (r == 1),
         * DL_HTTP_BATCH_AGE after its first delivery, or at a failure. Ending it at every
         * end of the file would save the checkpoint at every wake-up while a writer's
         * lines trickle in, a few lines each: most of the reader's CPU. */
        int64_t read_at = dv_monotonic_ns();
        if (deliver->dirty && batch_since == 0)
            batch_since = read_at;
        int b = 0;
        if (r != 0 || p.failed || batch_since == 0 || read_at - batch_since >= DL_HTTP_BATCH_AGE) {
            b = dl_deliver_batch_end(deliver, p.failed ? NULL : &p.err);
            batch_since = 0;
        }
        if (p.failed == -EINTR) {
            result = DL_RUN_STOPPED;
            break;
        }
        if (p.failed || b < 0) {
            *err = p.err;
            result = DL_RUN_TEMPORARY; /* a sink failed: let the agent see it */
            break;
        }
        if (r < 0) {
            *err = e;
            result = DL_RUN_TEMPORARY;
            break;
        }
        if (jf.dropped > dropped_reported) {
            /* Files given up unread: the next entry of each stream opens the gap. */
            dl_diag("%llu log files were deleted by Docker before docklog could read them",
                    (unsigned long long)(jf.dropped - dropped_reported));
            dropped_reported = jf.dropped;
            dl_deliver_expect_gap(deliver);
        }
        if (skipped > skipped_reported) {
            dl_diag(local ? "skipped %zu damaged entries or files of the local log"
                          : "skipped %zu lines of the log file that are not json-file entries",
                    skipped - skipped_reported);
            skipped_reported = skipped;
        }
        if (r == 1)
            continue;
        /* At the end of the newest file. */
        if (draining) {
            dl_container_state after;
            if (dl_engine_inspect(engine, &after, &e) == 0 && dl_container_exited(&after) &&
                strcmp(after.started_at, drain_started_at) == 0) {
                result = DL_RUN_DRAINED;
                break;
            }
            draining = exit_seen = false;
            continue;
        }
        int64_t now = dv_monotonic_ns();
        if (exit_seen || (pidfd < 0 && now >= next_inspect)) {
            dl_container_state s;
            int ir = dl_engine_inspect(engine, &s, &e);
            next_inspect = now + INSPECT_INTERVAL;
            if (ir < 0 && e.http_status == 404) {
                result = dl_run_gone(config, err);
                break;
            }
            if (ir == 0 && dl_container_exited(&s)) {
                /* Everything is written: one more look at the names, the loop reads
                 * to the end, then makes sure Docker did not start it again. */
                if (dl_jsonfile_wait(&jf, -1, -1, 0, &e) < 0) {
                    *err = e;
                    result = DL_RUN_TEMPORARY;
                    break;
                }
                draining = true;
                snprintf(drain_started_at, sizeof(drain_started_at), "%s", s.started_at);
                continue;
            }
            if (ir == 0 && s.running && strcmp(s.started_at, state.started_at) != 0) {
                /* Docker restarted it: follow the new process. */
                if (pidfd >= 0)
                    close(pidfd);
                state = s;
                pidfd = watch_pid(&state);
                exit_seen = false;
            } else if (ir == 0 && exit_seen && s.running) {
                /* The process ended, Docker has not marked it yet. */
                int64_t step = settle;
                settle = settle * 2 > EXIT_SETTLE_MAX ? EXIT_SETTLE_MAX : settle * 2;
                if (dl_signals_sleep(signals, step)) {
                    result = DL_RUN_STOPPED;
                    break;
                }
                continue;
            }
            /* An unreachable daemon: the files are still there; look again later. */
        }
        int64_t timeout = pidfd >= 0 ? -1 : next_inspect - dv_monotonic_ns();
        if (timeout < 0 && pidfd < 0)
            timeout = 0;
        if (batch_since) { /* the batch ends within its age, more lines or not */
            int64_t left = batch_since + DL_HTTP_BATCH_AGE - dv_monotonic_ns();
            left = left < 0 ? 0 : left;
            timeout = timeout < 0 || timeout > left ? left : timeout;
        }
        if (dl_jsonfile_wait(&jf, signals->fd, pidfd, timeout, &e) < 0) {
            *err = e;
            result = DL_RUN_TEMPORARY;
            break;
        }
        if (pidfd >= 0) {
            if (readable(pidfd)) {
                close(pidfd);
                pidfd = -1;
                exit_seen = true;
                settle = EXIT_SETTLE_FIRST;
            }
        }
        int64_t since_read = dv_monotonic_ns() - read_at;
        if (!exit_seen && since_read < READ_PACE &&
            dl_signals_sleep(signals, READ_PACE - since_read)) {
            result = DL_RUN_STOPPED;
            break;
        }
    }
    if (pidfd >= 0)
        close(pidfd);
    if (deliver->journal)
        dl_journal_on_wait(&deliver->journal->journal, NULL, NULL);
    dl_jsonfile_close(&jf);
    return result;
}
