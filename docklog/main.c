/* docklog CONFIG.json: stream one container's logs into rotated files and journald,
 * exactly once into the files across restarts (DESIGN.md, Logs: exactly once).
 * Exit codes: docklog/exit_codes.h. Diagnostics: stderr (the agent appends them to
 * tasks/<id>/docklog.log). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "clock.h"
#include "config.h"
#include "deliver.h"
#include "diag.h"
#include "engine.h"
#include "exit_codes.h"
#include "file_sink.h"
#include "gaps.h"
#include "journal_sink.h"
#include "run.h"
#include "signals.h"
#include "timestamp.h"
#include "tls.h"

struct journal_retry {
    dl_signals *signals;
    int64_t first_failure_ns;
    int64_t last_report_ns;
};

/* journald down or its queue full: wait (50 ms doubling to 5 s), report the streak,
 * give up only when asked to stop. Never drops the entry. */
static bool journal_wait(void *userdata, unsigned attempt, const dv_error *last)
{
    struct journal_retry *jr = userdata;
    int64_t now = dv_monotonic_ns();
    if (attempt == 1)
        jr->first_failure_ns = now;
    int64_t delay = 50 * DV_NSEC_PER_MSEC;
    for (unsigned i = 1; i < attempt && delay < 5 * DV_NSEC_PER_SEC; i++)
        delay *= 2;
    if (delay > 5 * DV_NSEC_PER_SEC)
        delay = 5 * DV_NSEC_PER_SEC;
    if (attempt == 3 || (attempt > 3 && now - jr->last_report_ns >= 60 * DV_NSEC_PER_SEC)) {
        /* two quick retries absorb a momentarily full queue without noise */
        dl_diag("journald: %s (failing for %lld s, attempt %u; the entry is kept and retried)",
                last ? last->msg : "send failed",
                (long long)((now - jr->first_failure_ns) / DV_NSEC_PER_SEC), attempt);
        jr->last_report_ns = now;
    }
    return dl_signals_sleep(jr->signals, delay);
}

/* Where to resume: the checkpoint, unless it belongs to another container (a task
 * restart: keep appending to the same files, stream the new container from its
 * start) or it is ahead of the files (a power loss: fall back to the synced one).
 * With another container the files are still cut back to its checkpoint: bytes past
 * it exist only if the previous docklog was killed before it drained (the agent
 * does that only after its drain deadline), and they may end in half an entry. */
static int load_checkpoint(const dl_config *c, const dl_file_sink_options *fo, dl_checkpoint *cp,
                           bool *ret_fresh_files)
{
    dv_error err;
    *ret_fresh_files = false;
    int r = dl_checkpoint_load(c->checkpoint, cp, &err);
    if (r == -ENOENT) {
        dl_checkpoint_init(cp, c->container_id);
        *ret_fresh_files = true;
        return 0;
    }
    if (r < 0) {
        /* Atomic writes make this unlikely; keep the evidence and start over in new
         * files (duplicates are better than losing the container's logs). */
        char aside[4200];
        snprintf(aside, sizeof(aside), "%s.corrupt", c->checkpoint);
        rename(c->checkpoint, aside);
        dl_diag("unreadable checkpoint moved to %s (%s): starting over in new files", aside,
                err.msg);
        dl_checkpoint_init(cp, c->container_id);
        *ret_fresh_files = true;
        return 0;
    }
    if (strcmp(cp->container_id, c->container_id) != 0) {
        dl_diag("checkpoint is for container %.12s%s: new container %.12s, continuing its files",
                cp->container_id,
                cp->outcome == DL_OUTCOME_DONE ? "" : " (whose logs were not drained)",
                c->container_id);
        dl_checkpoint fresh;
        dl_checkpoint_init(&fresh, c->container_id);
        fresh.pos.out = cp->pos.out;
        fresh.pos.err = cp->pos.err;
        *cp = fresh;
    }
    if (c->files.enabled && !dl_file_sink_matches(fo, &cp->pos)) {
        if (cp->has_synced && dl_file_sink_matches(fo, &cp->synced)) {
            dl_diag("log files are shorter than the checkpoint (power loss?): resuming from the "
                    "last synced position");
            cp->pos = cp->synced;
        } else {
            dl_diag("log files do not match the checkpoint: continuing in new files (lines since "
                    "the last sync may be missing)");
            *ret_fresh_files = true;
        }
    }
    return 0;
}

static void on_gap(void *userdata, int stream, int64_t committed_ts, int64_t first_ts)
{
    dl_gaps_report(userdata, stream, committed_ts, first_ts);
}

static int finish(dl_deliver *d, enum dl_outcome outcome, const char *message)
{
    dv_error err;
    if (dl_deliver_finish(d, outcome, message, &err) < 0) {
        dl_diag("cannot write the checkpoint: %s", err.msg);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("docklog %s%s\n", DV_VERSION, dl_tls_available() ? " (tls)" : "");
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: docklog CONFIG.json\n");
        return DL_EXIT_PERMANENT;
    }
    dl_config config;
    dv_error err;
    if (dl_config_load(argv[1], &config, &err) < 0) {
        fprintf(stderr, "docklog: %s\n", err.msg);
        return DL_EXIT_PERMANENT;
    }
    char who[160];
    snprintf(who, sizeof(who), "%s/%.12s", config.task_name, config.container_id);
    dl_diag_init(who);

    int code = DL_EXIT_TEMPORARY;
    dl_signals signals;
    if (dl_signals_open(&signals, &err) < 0) {
        dl_diag("%s", err.msg);
        goto out_config;
    }
    dl_file_sink_options fo = {
        .dir = config.files.dir,
        .base = config.files.base,
        .max_files = config.files.max_files,
        .max_size = config.files.max_file_size_mb * DL_MB,
    };
    dl_checkpoint cp;
    bool fresh_files;
    load_checkpoint(&config, &fo, &cp, &fresh_files);
    if (cp.outcome == DL_OUTCOME_DONE) {
        dl_diag("already drained (checkpoint says done)");
        code = DL_EXIT_DRAINED;
        goto out_signals;
    }
    cp.outcome = DL_OUTCOME_RUNNING;

    dl_file_sink files;
    dl_journal_sink journal;
    if (config.files.enabled &&
        dl_file_sink_open(&files, &fo, fresh_files ? NULL : &cp.pos, &err) < 0) {
        dl_diag("file sink: %s", err.msg);
        goto out_signals;
    }
    if (config.journald.enabled && dl_journal_sink_open(&journal, &config, &err) < 0) {
        dl_diag("journald sink: %s", err.msg);
        goto out_files;
    }
    struct journal_retry jr = {.signals = &signals};
    dl_retry retry = {.wait = journal_wait, .userdata = &jr};
    dl_deliver deliver;
    dl_deliver_init(&deliver, config.checkpoint, &cp, config.files.enabled ? &files : NULL,
                    config.journald.enabled ? &journal : NULL, &retry);
    if (dl_deliver_sync(&deliver, &err) < 0) {
        dl_diag("checkpoint: %s", err.msg);
        goto out_journal;
    }
    dl_gaps gaps;
    dl_gaps_init(&gaps, &config);
    deliver.on_gap = on_gap;
    deliver.gap_userdata = &gaps;
    dl_engine engine;
    if (dl_engine_init(&engine, &config, signals.fd, &err) < 0) {
        dl_diag("%s", err.msg);
        finish(&deliver, DL_OUTCOME_FAILED, err.msg);
        code = DL_EXIT_PERMANENT;
        goto out_journal;
    }
    for (int st = 0; st < 2; st++) {
        if (deliver.cp.pos.ts[st] == DL_TS_NONE)
            continue;
        char ts[DV_TIMESTAMP_MAX];
        dv_timestamp_format(deliver.cp.pos.ts[st], ts);
        dl_diag("resuming %s after %s (%llu entries with that timestamp already delivered)",
                st ? "stderr" : "stdout", ts, (unsigned long long)deliver.cp.pos.count[st]);
    }
    int result = dl_run(&config, &engine, &deliver, &signals, &err);
    switch (result) {
    case DL_RUN_DRAINED:
        code = finish(&deliver, DL_OUTCOME_DONE, NULL) < 0 ? DL_EXIT_TEMPORARY : DL_EXIT_DRAINED;
        dl_diag("container exited and its logs are drained: %llu entries, %llu bytes delivered "
                "by this run",
                (unsigned long long)deliver.entries, (unsigned long long)deliver.bytes);
        break;
    case DL_RUN_STOPPED:
        dl_signals_stop_requested(&signals); /* the wait that saw it did not read it */
        code = dl_deliver_sync(&deliver, &err) < 0 ? DL_EXIT_TEMPORARY : DL_EXIT_DRAINED;
        dl_diag("stopped by signal %d: checkpoint written (%llu entries delivered by this run)",
                signals.signo, (unsigned long long)deliver.entries);
        break;
    case DL_RUN_PERMANENT:
        dl_diag("giving up: %s", err.msg);
        finish(&deliver, DL_OUTCOME_FAILED, err.msg);
        code = DL_EXIT_PERMANENT;
        break;
    default:
        dl_diag("failing (exit %d, to be respawned): %s", DL_EXIT_TEMPORARY, err.msg);
        dv_error ignored;
        dl_deliver_sync(&deliver, &ignored);
        code = DL_EXIT_TEMPORARY;
        break;
    }
    dl_engine_free(&engine);
out_journal:
    if (config.journald.enabled)
        dl_journal_sink_close(&journal);
out_files:
    if (config.files.enabled)
        dl_file_sink_close(&files);
out_signals:
    dl_signals_close(&signals);
out_config:
    dl_config_free(&config);
    return code;
}
