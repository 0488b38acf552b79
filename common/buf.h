/* A growable byte buffer, always NUL-terminated (data[len] == '\0') so text can be
 * used as a C string. Zero-initialized (DV_BUF_INIT) it is empty and owns nothing.
 * Growth is geometric.
 *
 * Two kinds of growth (docs/STYLE.md rule 13):
 * - Our own data (a request line, metrics, a message, translated text): dv_buf_xappend,
 *   dv_buf_appends, dv_buf_printf, dv_buf_vprintf. They abort when memory runs out
 *   (xalloc.h) and never return -ENOMEM.
 * - Bytes from someone else (an Engine answer, a request body, a command's output):
 *   dv_buf_append and dv_buf_reserve, which stay checked: an append that cannot
 *   allocate leaves the content intact and returns -ENOMEM, so the caller fails that
 *   one request. Such callers also cap the total before appending. */
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

/* Checked, for bytes from outside: make room for at least EXTRA more bytes (plus the
 * NUL); 0 or -ENOMEM. */
int dv_buf_reserve(dv_buf *b, size_t extra);
/* Checked, for bytes from outside: 0 or -ENOMEM (content intact). */
int dv_buf_append(dv_buf *b, const void *data, size_t len);
/* Our own bytes: aborts when memory runs out. */
void dv_buf_xappend(dv_buf *b, const void *data, size_t len);
/* Our own text: these abort when memory runs out. dv_buf_appends always returns 0;
 * the printf forms return 0, or -EINVAL when vsnprintf cannot format (the buffer is
 * unchanged). The int is kept for the callers. */
int dv_buf_appends(dv_buf *b, const char *s);
int dv_buf_printf(dv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dv_buf_vprintf(dv_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drop the first N bytes (N <= len), keeping the rest. */
void dv_buf_consume(dv_buf *b, size_t n);
/* Empty it, keeping the allocation. */
void dv_buf_reset(dv_buf *b);
/* Hand the content to the caller (heap, NUL-terminated; "" if empty; never NULL)
 * and leave the buffer empty. */
char *dv_buf_steal(dv_buf *b);
void dv_buf_free(dv_buf *b);

static inline void dv_buf_freep(dv_buf *b)
{
    dv_buf_free(b);
}
#define _cleanup_buf_ __attribute__((cleanup(dv_buf_freep)))

#endif
