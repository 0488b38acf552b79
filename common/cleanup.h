/* Scope-bound cleanup of resources, one attribute per resource type.
 *
 *   _cleanup_free_ char *s = NULL;      free()d at scope exit
 *   _cleanup_close_ int fd = -1;        close()d if >= 0
 *   _cleanup_json_ json_t *j = NULL;    json_decref()ed
 *   _cleanup_fclose_ FILE *f = NULL;    fclose()d
 *
 * Ownership leaves a scope only through TAKE_PTR / TAKE_FD, which return the
 * value and reset the variable so the cleanup becomes a no-op. */
#ifndef DV_CLEANUP_H
#define DV_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void dv_freep(void *p)
{
    free(*(void **)p);
}
static inline void dv_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno; /* cleanup must not clobber the errno a caller reports */
        close(*fd);
        errno = saved;
    }
}
static inline void dv_json_decrefp(json_t **j)
{
    json_decref(*j);
}
static inline void dv_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

#define _cleanup_free_ _cleanup_(dv_freep)
#define _cleanup_close_ _cleanup_(dv_closep)
#define _cleanup_json_ _cleanup_(dv_json_decrefp)
#define _cleanup_fclose_ _cleanup_(dv_fclosep)

#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _ptr_ = (p);                                                                 \
        (p) = NULL;                                                                                \
        _ptr_;                                                                                     \
    })

#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int _fd_ = (fd);                                                                           \
        (fd) = -1;                                                                                 \
        _fd_;                                                                                      \
    })

#define DV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
