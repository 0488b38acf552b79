/* docklog's own diagnostics: one line per message on stderr, which the agent
 * appends to tasks/<id>/docklog.log. Prefixed with the time and the task so the
 * file reads well on its own. Only main-level code reports; modules return errors. */
#ifndef DL_DIAG_H
#define DL_DIAG_H

/* Set once at start ("web/abc123def456"). */
void dl_diag_init(const char *who);
void dl_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
