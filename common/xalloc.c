#include "xalloc.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void dv_oom(const char *what)
{
    /* One writev would be nicer; three writes keep it to the plainest async-signal-safe call. */
    static const char prefix[] = "dockvisor: out of memory (";
    (void)!write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
    (void)!write(STDERR_FILENO, what, strlen(what));
    (void)!write(STDERR_FILENO, ")\n", 2);
    abort();
}

/* malloc(0) may return NULL on success; every x-function asks for at least one byte so
 * NULL always means exhaustion. */
void *dv_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        dv_oom("malloc");
    return p;
}

void *dv_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n && size ? n : 1, n && size ? size : 1);
    if (!p)
        dv_oom("calloc");
    return p;
}

void *dv_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        dv_oom("realloc");
    return q;
}

void *dv_xreallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        dv_oom("array size overflow");
    return dv_xrealloc(p, n * size);
}

char *dv_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        dv_oom("strdup");
    return p;
}

char *dv_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        dv_oom("strndup");
    return p;
}

char *dv_xvasprintf(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        dv_oom("asprintf");
    return s;
}

char *dv_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = dv_xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

void dv_xalloc_jansson(void)
{
    json_set_alloc_funcs(dv_xmalloc, free);
}
