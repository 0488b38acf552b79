/* A growable byte buffer, always NUL-terminated (data[len] == '\0') so text can be
 * used as a C string. Zero-initialized (DV_BUF_INIT) it is empty and owns nothing.
 * Growth is geometric; an append that cannot allocate leaves the content intact
 * and returns -ENOMEM. */
#ifndef DV_BUF_H
#define DV_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct dv_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
} dv_buf;

#define DV_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Make room for at least EXTRA more bytes (plus the NUL). */
int dv_buf_reserve(dv_buf *b, size_t extra);
int dv_buf_append(dv_buf *b, const void *data, size_t len);
int dv_buf_appends(dv_buf *b, const char *s);
int dv_buf_printf(dv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dv_buf_vprintf(dv_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drop the first N bytes (N <= len), keeping the rest. */
void dv_buf_consume(dv_buf *b, size_t n);
/* Empty it, keeping the allocation. */
void dv_buf_reset(dv_buf *b);
/* Hand the content to the caller (heap, NUL-terminated; "" if empty, NULL on
 * -ENOMEM) and leave the buffer empty. */
char *dv_buf_steal(dv_buf *b);
void dv_buf_free(dv_buf *b);

static inline void dv_buf_freep(dv_buf *b)
{
    dv_buf_free(b);
}
#define _cleanup_buf_ __attribute__((cleanup(dv_buf_freep)))

#endif
