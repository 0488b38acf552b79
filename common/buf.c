#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

int dv_buf_reserve(dv_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return -ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *data = realloc(b->data, cap);
    if (!data)
        return -ENOMEM;
    b->data = data;
    b->cap = cap;
    return 0;
}

int dv_buf_append(dv_buf *b, const void *data, size_t len)
{
    int r = dv_buf_reserve(b, len);
    if (r < 0)
        return r;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

void dv_buf_xappend(dv_buf *b, const void *data, size_t len)
{
    if (dv_buf_append(b, data, len) < 0)
        dv_oom("buffer");
}

int dv_buf_appends(dv_buf *b, const char *s)
{
    dv_buf_xappend(b, s, strlen(s));
    return 0;
}

int dv_buf_vprintf(dv_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return -EINVAL;
    if (dv_buf_reserve(b, (size_t)n) < 0)
        dv_oom("buffer");
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int dv_buf_printf(dv_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = dv_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void dv_buf_consume(dv_buf *b, size_t n)
{
    if (n >= b->len) {
        dv_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

void dv_buf_reset(dv_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *dv_buf_steal(dv_buf *b)
{
    char *data = b->data ? b->data : dv_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return data;
}

void dv_buf_free(dv_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
