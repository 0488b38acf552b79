/* Allocation that cannot fail: one out-of-memory policy for the agent, the CLI and docklog.
 *
 * When memory cannot be had, these write "dockvisor: out of memory (WHAT)" to stderr with
 * write(2) (no stdio, which could itself allocate) and abort(). They never return NULL.
 *
 * Why abort rather than return -ENOMEM: a supervisor that half-fails on ENOMEM leaves tasks
 * stuck (a job that could not be allocated never posts its result, so its task waits in
 * PULLING forever), and the ~185 hand-written branches that tried were each a path no test
 * ran. crun and systemd make the same choice. The agent runs under systemd with
 * Restart=on-failure; every task is in a durable record, so the restarted agent re-adopts
 * its containers and helpers (recovery) and nothing of a task is lost. docklog resumes from
 * its checkpoint the same way.
 *
 * Not for sizes someone else chose: an allocation sized by a file read, a request body, a
 * container's log line or an Engine answer stays checked (malloc, or a bounded dv_buf) and
 * fails that one request with an error; a huge claimed length must not take the agent down.
 *
 * Jansson: dv_xalloc_jansson() makes Jansson allocate through dv_xmalloc, so its constructors
 * (json_object, json_array, json_integer, json_pack of trusted values, json_dumps) no longer
 * return NULL for lack of memory. They still return NULL, and json_object_set_new still
 * fails, for other reasons: a NULL argument, a string that is not valid UTF-8 (json_string,
 * json_pack "s"), a bad json_pack format. Those checks stay wherever the string comes from
 * outside (a container name, an Engine answer, a request, a file). */
#ifndef DV_XALLOC_H
#define DV_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *dv_xmalloc(size_t size) __attribute__((malloc, returns_nonnull, alloc_size(1)));
/* Zeroed; aborts also when N * SIZE overflows. */
void *dv_xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull, alloc_size(1, 2)));
/* Like realloc(3); on failure P is not freed, but the process ends anyway. */
void *dv_xrealloc(void *p, size_t size) __attribute__((returns_nonnull, alloc_size(2)));
/* Grow an array of N elements of SIZE, aborting when N * SIZE overflows. */
void *dv_xreallocarray(void *p, size_t n, size_t size)
    __attribute__((returns_nonnull, alloc_size(2, 3)));
char *dv_xstrdup(const char *s) __attribute__((malloc, returns_nonnull, nonnull(1)));
/* At most N bytes of S, always NUL-terminated. */
char *dv_xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull, nonnull(1)));
char *dv_xasprintf(const char *fmt, ...)
    __attribute__((malloc, returns_nonnull, format(printf, 1, 2)));
char *dv_xvasprintf(const char *fmt, va_list ap)
    __attribute__((malloc, returns_nonnull, format(printf, 1, 0)));

/* Point Jansson's allocator at dv_xmalloc/free. Call once, first thing in main(), before
 * any json_t exists (Jansson requires the same free for everything it allocated). */
void dv_xalloc_jansson(void);

/* The abort itself: for code that detects exhaustion some other way (a library that
 * returned its own ENOMEM). WHAT names the allocation in the message. */
__attribute__((noreturn)) void dv_oom(const char *what);

#endif
