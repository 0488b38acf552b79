/* Where a starting docklog resumes (DESIGN.md, Logs: exactly once).
 *
 * In order of preference:
 *   1. docklog.checkpoint (checkpoint.h).
 *   2. When it is unreadable (garbage, truncated, empty, a wrong type, a foreign
 *      version) or missing: the newest valid save in its copy, docklog.checkpoint.copy
 *      (checkpoint_copy.h), then the older one. An unreadable checkpoint is first set
 *      aside as docklog.checkpoint.corrupt, for diagnosis. The newest copy is the
 *      checkpoint or one batch newer, so the files lose and duplicate nothing, and
 *      journald repeats no more than after a kill -9 alone (the batch in flight).
 *   3. Neither: start over in new files after the existing ones, from the beginning
 *      of Docker's log: nothing is lost, and every line Docker still has is written
 *      again (files and journald). A first start (no checkpoint and no copy) is this
 *      case too, without a note.
 * Whichever is used then goes through the same checks: a checkpoint of another
 * container (the task restarted) keeps only the file positions; a position ahead of
 * the files (a power loss) falls back to its "synced" one, then to the older copy,
 * and finally to new files from that time on (lines since the last sync may be
 * missing: the only case that can lose any).
 *
 * The module does not log: it says what it found in NOTES, which main writes to
 * docklog.log. */
#ifndef DL_RESUME_H
#define DL_RESUME_H

#include <stdbool.h>
#include <stddef.h>

#include "checkpoint.h"
#include "file_sink.h"

#define DL_RESUME_NOTES 4

typedef struct dl_resume {
    dl_checkpoint cp;
    bool fresh_files; /* open the file sink fresh (dl_file_sink_open with NULL) */
    bool from_copy;   /* CP came from the copy: the checkpoint must be written again */
    int notes;
    char note[DL_RESUME_NOTES][640];
} dl_resume;

/* CHECKPOINT and COPY: the two files; FILES: NULL when the file sink is off. */
void dl_resume_load(const char *checkpoint, const char *copy, const char *container_id,
                    const dl_file_sink_options *files, dl_resume *ret);

/* The path of CHECKPOINT's copy, "<checkpoint>.copy" (malloc'd; never NULL). */
char *dl_resume_copy_path(const char *checkpoint);

#endif
