#include "resume.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint_copy.h"
#include "xalloc.h"

static void __attribute__((format(printf, 2, 3))) note(dl_resume *r, const char *fmt, ...)
{
    if (r->notes >= DL_RESUME_NOTES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note[r->notes++], sizeof(r->note[0]), fmt, ap);
    va_end(ap);
}

char *dl_resume_copy_path(const char *checkpoint)
{
    size_t n = strlen(checkpoint);
    char *p = dv_xmalloc(n + sizeof(".copy"));
    memcpy(p, checkpoint, n);
    memcpy(p + n, ".copy", sizeof(".copy"));
    return p;
}

/* A checkpoint of another container: the task restarted. Keep appending to the same
 * files, stream the new container from its start. The files are still cut back to
 * the old position: bytes past it exist only if the previous docklog was killed
 * before it drained (the agent does that only after its drain deadline), and they
 * may end in half an entry. */
static void adopt_container(dl_checkpoint *cp, const char *container_id, dl_resume *r, bool say)
{
    if (strcmp(cp->container_id, container_id) == 0)
        return;
    if (say)
        note(r, "checkpoint is for container %.12s%s: new container %.12s, continuing its files",
             cp->container_id,
             cp->outcome == DL_OUTCOME_DONE ? "" : " (whose logs were not drained)", container_id);
    dl_checkpoint fresh;
    dl_checkpoint_init(&fresh, container_id);
    fresh.pos.out = cp->pos.out;
    fresh.pos.err = cp->pos.err;
    *cp = fresh;
}

void dl_resume_load(const char *checkpoint, const char *copy, const char *container_id,
                    const dl_file_sink_options *files, dl_resume *ret)
{
    memset(ret, 0, sizeof(*ret));
    dl_checkpoint cand[2];
    int n = 0;
    const char *what = "checkpoint";
    dv_error err;
    int r = dl_checkpoint_load(checkpoint, &cand[0], &err);
    if (r == 0) {
        n = 1;
    } else {
        bool missing = r == -ENOENT;
        if (!missing) {
            char aside[4200];
            snprintf(aside, sizeof(aside), "%s.corrupt", checkpoint);
            if (rename(checkpoint, aside) == 0)
                note(ret, "unreadable checkpoint moved to %s (%s)", aside, err.msg);
            else
                note(ret, "unreadable checkpoint %s (%s), cannot be moved aside: %s", checkpoint,
                     err.msg, strerror(errno));
        }
        dl_copy_save saves[2];
        dv_error cerr;
        int cr = dl_copy_load(copy, saves, &n, &cerr);
        if (cr < 0)
            n = 0;
        if (n == 0) {
            dl_checkpoint_init(&ret->cp, container_id);
            ret->fresh_files = true;
            if (missing && cr == -ENOENT) {
                /* A first start, unless log files say otherwise (someone removed
                 * both files): either way nothing tells where the files end. */
                if (files && dl_file_sink_has_files(files))
                    note(ret, "no checkpoint and no copy of it, but log files exist: starting "
                              "over in new files after them, from the beginning of the "
                              "container's log (every line Docker still has is written again, "
                              "to the files and journald)");
            } else {
                note(ret,
                     "%s, and its copy is unusable (%s): starting over in new files from the "
                     "beginning of the container's log (every line Docker still has is written "
                     "again, to the files and journald)",
                     missing ? "no checkpoint" : "no readable checkpoint", cerr.msg);
            }
            return;
        }
        for (int i = 0; i < n; i++)
            cand[i] = saves[i].cp;
        ret->from_copy = true;
        what = "checkpoint's copy";
        note(ret, "%s: resuming from its copy %s (save %llu%s)",
             missing ? "the checkpoint is missing" : "the checkpoint was unreadable", copy,
             (unsigned long long)saves[0].seq, n == 2 ? "" : "; the other slot is not valid");
    }
    for (int i = 0; i < n; i++) {
        dl_checkpoint cp = cand[i];
        adopt_container(&cp, container_id, ret, i == 0);
        if (!files || dl_file_sink_matches(files, &cp.pos)) {
            if (i > 0)
                note(ret, "the older save of the copy matches the log files: resuming from it");
            ret->cp = cp;
            return;
        }
        if (cp.has_synced && dl_file_sink_matches(files, &cp.synced)) {
            note(ret,
                 "log files are shorter than the %s (power loss?): resuming from its last synced "
                 "position",
                 what);
            cp.pos = cp.synced;
            ret->cp = cp;
            return;
        }
    }
    note(ret,
         "log files do not match the %s: continuing in new files (lines since the last sync may "
         "be missing)",
         what);
    ret->cp = cand[0];
    adopt_container(&ret->cp, container_id, ret, false);
    ret->fresh_files = true;
}
