/* docklog CONFIG.json: stream one container's logs into rotated files and journald,
 * exactly once into the files across restarts (DESIGN.md, Logs: exactly once).
 * Exit codes: common/docklog_protocol.h. Diagnostics: stderr (the agent appends them to
 * tasks/<id>/docklog.log). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "checkpoint_copy.h"
#include "config.h"
#include "deliver.h"
#include "diag.h"
#include "engine.h"
#include "docklog_protocol.h"
#include "file_sink.h"
#include "gaps.h"
#include "journal_retry.h"
#include "journal_sink.h"
#include "resume.h"
#include "run.h"
#include "stop_signals.h"
#include "timestamp.h"
#include "tls.h"
#include "xalloc.h"
#include "version.h"

/* docklog.log: where this run resumes, per stream. */
static void report_resume(const dl_config *c, const dl_checkpoint *cp, bool fresh_files)
{
    for (int st = 0; st < 2; st++) {
        const char *name = st ? "stderr" : "stdout";
        const dl_file_pos *f = st ? &cp->pos.err : &cp->pos.out;
        char at[200] = "";
        if (c->files.enabled && !fresh_files && f->index >= 0)
            snprintf(at, sizeof(at), ", files at %s.%s.%lld byte %lld", c->files.base, name,
                     (long long)f->index, (long long)f->offset);
        if (cp->pos.ts[st] == DL_TS_NONE) {
            if (at[0])
                dl_diag("resuming %s with nothing delivered yet%s", name, at);
            continue;
        }
        char ts[DV_TIMESTAMP_MAX];
        dv_timestamp_format(cp->pos.ts[st], ts);
        dl_diag("resuming %s after %s (%llu entries with that timestamp already delivered)%s", name,
                ts, (unsigned long long)cp->pos.count[st], at);
    }
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
    dv_xalloc_jansson();
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("docklog %s%s\n", dv_version, dl_tls_available() ? " (tls)" : "");
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: docklog CONFIG.json\n");
        return DV_DOCKLOG_EXIT_PERMANENT;
    }
    dl_config config;
    dv_error err;
    if (dl_config_load(argv[1], &config, &err) < 0) {
        fprintf(stderr, "docklog: %s\n", err.msg);
        return DV_DOCKLOG_EXIT_PERMANENT;
    }
    char who[160];
    snprintf(who, sizeof(who), "%s/%.12s", config.task_name, config.container_id);
    dl_diag_init(who);

    int code = DV_DOCKLOG_EXIT_TEMPORARY;
    char *copy_path = NULL;
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
    copy_path = dl_resume_copy_path(config.checkpoint);
    /* On the heap, freed at once: its notes would otherwise deepen main's frame,
     * under every other frame, for the helper's whole life. */
    dl_resume *resume = dv_xmalloc(sizeof(*resume));
    dl_resume_load(config.checkpoint, copy_path, config.container_id,
                   config.files.enabled ? &fo : NULL, resume);
    for (int i = 0; i < resume->notes; i++)
        dl_diag("%s", resume->note[i]);
    dl_checkpoint cp = resume->cp;
    bool fresh_files = resume->fresh_files, from_copy = resume->from_copy;
    free(resume);
    if (cp.outcome == DL_OUTCOME_DONE) {
        dl_diag("already drained (checkpoint says done)");
        code = DV_DOCKLOG_EXIT_DRAINED;
        /* The agent learns the outcome from the checkpoint only: put it back. */
        if (from_copy && dl_checkpoint_save(config.checkpoint, &cp, true, &err) < 0) {
            dl_diag("checkpoint: %s", err.msg);
            code = DV_DOCKLOG_EXIT_TEMPORARY;
        }
        goto out_signals;
    }
    cp.outcome = DL_OUTCOME_RUNNING;
    cp.progress.starts++; /* saved by the first sync below */

    dl_copy copy = {.fd = -1};
    if (dl_copy_open(&copy, copy_path, &err) < 0) {
        dl_diag("checkpoint copy: %s", err.msg);
        goto out_signals;
    }
    dl_file_sink files;
    dl_journal_sink journal;
    if (config.files.enabled &&
        dl_file_sink_open(&files, &fo, fresh_files ? NULL : &cp.pos, &err) < 0) {
        dl_diag("file sink: %s", err.msg);
        goto out_copy;
    }
    if (config.journald.enabled && dl_journal_sink_open(&journal, &config, &err) < 0) {
        dl_diag("journald sink: %s", err.msg);
        goto out_files;
    }
    dl_journal_retry jr = {.signals = &signals,
                           .journal = config.journald.enabled ? &journal.journal : NULL};
    dl_retry retry = {.wait = dl_journal_retry_wait, .userdata = &jr};
    dl_deliver deliver;
    dl_deliver_init(&deliver, config.checkpoint, &cp, config.files.enabled ? &files : NULL,
                    config.journald.enabled ? &journal : NULL, &retry);
    deliver.copy = &copy;
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
        code = DV_DOCKLOG_EXIT_PERMANENT;
        goto out_journal;
    }
    report_resume(&config, &deliver.cp, fresh_files);
    int result = dl_run(&config, &engine, &deliver, &signals, &err);
    switch (result) {
    case DL_RUN_DRAINED:
        code = finish(&deliver, DL_OUTCOME_DONE, NULL) < 0 ? DV_DOCKLOG_EXIT_TEMPORARY
                                                           : DV_DOCKLOG_EXIT_DRAINED;
        dl_diag("container exited and its logs are drained: %llu entries, %llu bytes delivered "
                "by this run",
                (unsigned long long)deliver.entries, (unsigned long long)deliver.bytes);
        break;
    case DL_RUN_STOPPED:
        dl_signals_stop_requested(&signals); /* the wait that saw it did not read it */
        code = dl_deliver_sync(&deliver, &err) < 0 ? DV_DOCKLOG_EXIT_TEMPORARY
                                                   : DV_DOCKLOG_EXIT_DRAINED;
        dl_diag("stopped by signal %d: checkpoint written (%llu entries delivered by this run)",
                signals.signo, (unsigned long long)deliver.entries);
        break;
    case DL_RUN_PERMANENT:
        dl_diag("giving up: %s", err.msg);
        finish(&deliver, DL_OUTCOME_FAILED, err.msg);
        code = DV_DOCKLOG_EXIT_PERMANENT;
        break;
    default:
        dl_diag("failing (exit %d, to be respawned): %s", DV_DOCKLOG_EXIT_TEMPORARY, err.msg);
        dv_error ignored;
        dl_deliver_sync(&deliver, &ignored);
        code = DV_DOCKLOG_EXIT_TEMPORARY;
        break;
    }
    dl_engine_free(&engine);
out_journal:
    if (config.journald.enabled)
        dl_journal_sink_close(&journal);
out_files:
    if (config.files.enabled)
        dl_file_sink_close(&files);
out_copy:
    dl_copy_close(&copy);
out_signals:
    free(copy_path);
    dl_signals_close(&signals);
out_config:
    dl_config_free(&config);
    return code;
}
