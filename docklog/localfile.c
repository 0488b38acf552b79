#include "localfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"
#include "xalloc.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

typedef struct pb {
    const uint8_t *p, *end;
} pb;

static int varint(pb *b, uint64_t *ret)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (b->p >= b->end)
            return -EPROTO;
        uint8_t c = *b->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *ret = v;
            return 0;
        }
    }
    return -EPROTO; /* more than ten bytes */
}

/* A length-delimited field's bytes, bounds-checked against the enclosing message. */
static int bytes(pb *b, const uint8_t **ret, size_t *ret_len)
{
    uint64_t n;
    if (varint(b, &n) < 0 || n > (uint64_t)(b->end - b->p))
        return -EPROTO;
    *ret = b->p;
    *ret_len = (size_t)n;
    b->p += n;
    return 0;
}

/* Skip a field of WIRE type (groups, 3 and 4, are not protobuf 3 and not Docker's). */
static int skip(pb *b, unsigned wire)
{
    uint64_t v;
    const uint8_t *d;
    size_t n;
    switch (wire) {
    case WT_VARINT:
        return varint(b, &v);
    case WT_LEN:
        return bytes(b, &d, &n);
    case WT_I64:
    case WT_I32: {
        size_t w = wire == WT_I64 ? 8 : 4;
        if ((size_t)(b->end - b->p) < w)
            return -EPROTO;
        b->p += w;
        return 0;
    }
    default:
        return -EPROTO;
    }
}

/* The next field's number and wire type; 0 at the end of the message. */
static int key(pb *b, uint64_t *ret_field, unsigned *ret_wire)
{
    uint64_t k;
    if (varint(b, &k) < 0 || (k >> 3) == 0)
        return -EPROTO;
    *ret_field = k >> 3;
    *ret_wire = (unsigned)(k & 7);
    return 1;
}

static int decode_meta(const uint8_t *p, size_t len, bool *ret_last)
{
    pb b = {p, p + len};
    while (b.p < b.end) {
        uint64_t field, v;
        unsigned wire;
        if (key(&b, &field, &wire) < 0)
            return -EPROTO;
        if (field == 1 && wire == WT_VARINT) {
            if (varint(&b, &v) < 0)
                return -EPROTO;
            *ret_last = v != 0;
        } else if (skip(&b, wire) < 0) {
            return -EPROTO;
        }
    }
    return 0;
}

int dl_local_decode_entry(const uint8_t *p, size_t len, dl_local_entry *ret, dv_error *err)
{
    pb b = {p, p + len};
    dl_local_entry e = {.line = p, .len = 0};
    const uint8_t *source = NULL;
    size_t source_len = 0;
    while (b.p < b.end) {
        uint64_t field, v;
        unsigned wire;
        if (key(&b, &field, &wire) < 0)
            return dv_error_set(err, -EPROTO, "local log entry: bad field key");
        int r;
        if (field == 1 && wire == WT_LEN) {
            r = bytes(&b, &source, &source_len);
        } else if (field == 2 && wire == WT_VARINT) {
            r = varint(&b, &v);
            e.ts = (int64_t)v;
        } else if (field == 3 && wire == WT_LEN) {
            r = bytes(&b, &e.line, &e.len);
        } else if (field == 4 && wire == WT_VARINT) {
            r = varint(&b, &v);
            e.partial = v != 0;
        } else if (field == 5 && wire == WT_LEN) {
            const uint8_t *m;
            size_t ml;
            r = bytes(&b, &m, &ml);
            if (r == 0)
                r = decode_meta(m, ml, &e.last);
        } else if (field <= 5) {
            /* A known field with another wire type: not Docker's LogEntry. */
            return dv_error_set(err, -EPROTO, "local log entry: field %u has wire type %u",
                                (unsigned)field, wire);
        } else {
            r = skip(&b, wire);
        }
        if (r < 0)
            return dv_error_set(err, -EPROTO, "local log entry: field %u runs past its end",
                                (unsigned)field);
    }
    if (source_len == 6 && memcmp(source, "stdout", 6) == 0)
        e.stream = DL_STDOUT;
    else if (source_len == 6 && memcmp(source, "stderr", 6) == 0)
        e.stream = DL_STDERR;
    else
        return dv_error_set(err, -EPROTO, "local log entry: source is not stdout or stderr");
    /* Go's zero time is negative in nanoseconds; Docker stamps with time.Now(). */
    if (e.ts < 0)
        return dv_error_set(err, -EPROTO, "local log entry: time before 1970");
    *ret = e;
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int dl_local_frame(const uint8_t *p, size_t avail, size_t *ret_size, dv_error *err)
{
    if (avail < 4)
        return 1;
    uint32_t l = be32(p);
    if (l > DL_LOCAL_FRAME_MAX)
        return dv_error_set(err, -EPROTO, "local log frame of %u bytes: corrupt", l);
    size_t size = 8 + (size_t)l;
    if (avail < size)
        return 1;
    if (be32(p + 4 + l) != l)
        return dv_error_set(err, -EPROTO, "local log frame: its two lengths differ");
    *ret_size = size;
    return 0;
}

void dl_local_stream_init(dl_local_stream *s)
{
    memset(s, 0, sizeof(*s));
}

void dl_local_stream_free(dl_local_stream *s)
{
    free(s->buf);
    free(s->line);
    memset(s, 0, sizeof(*s));
}

bool dl_local_stream_next_file(dl_local_stream *s)
{
    bool torn = s->len > 0;
    s->len = s->need = 0;
    s->corrupt = false;
    return torn;
}

/* Buffers grow to the largest frame seen (at most DL_LOCAL_FRAME_MAX + 8): a
 * docklog of short lines keeps a few KiB, not two MiB. */
static void grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    *buf = dv_xrealloc(*buf, n);
    *cap = n;
}

/* One frame's body: an entry for ON_ENTRY, or one skipped. */
static int entry(dl_local_stream *s, const uint8_t *body, size_t len, dl_entry_cb on_entry,
                 void *userdata, size_t *skipped, dv_error *err)
{
    dl_local_entry le;
    if (dl_local_decode_entry(body, len, &le, NULL) < 0) {
        (*skipped)++; /* framed correctly: only this entry is lost */
        return 0;
    }
    dl_entry e = {.stream = le.stream, .ts = le.ts};
    if (le.partial && !le.last) {
        e.msg = (const char *)le.line;
        e.len = le.len;
    } else {
        /* A whole line, or a long line's last piece: ends in '\n' as through the API. */
        grow(&s->line, &s->line_cap, le.len + 1);
        memcpy(s->line, le.line, le.len);
        s->line[le.len] = '\n';
        e.msg = (const char *)s->line;
        e.len = le.len + 1;
    }
    return on_entry(&e, userdata, err);
}

int dl_local_stream_feed(dl_local_stream *s, const uint8_t *data, size_t len, dl_entry_cb on_entry,
                         void *userdata, size_t *skipped, dv_error *err)
{
    while (len > 0 && !s->corrupt) {
        size_t size;
        int r;
        if (s->len == 0) {
            r = dl_local_frame(data, len, &size, NULL);
            if (r == 0) {
                r = entry(s, data + 4, size - 8, on_entry, userdata, skipped, err);
                if (r != 0)
                    return r;
                data += size;
                len -= size;
                continue;
            }
            if (r < 0) {
                s->corrupt = true;
                (*skipped)++;
                break;
            }
        }
        /* Carried over to the next read: the header first, then the rest of the frame. */
        size_t want = s->need == 0 ? 4 - s->len : s->need - s->len;
        size_t take = want < len ? want : len;
        grow(&s->buf, &s->buf_cap, s->len + take);
        memcpy(s->buf + s->len, data, take);
        s->len += take;
        data += take;
        len -= take;
        if (s->need == 0 && s->len == 4) {
            uint32_t l = be32(s->buf);
            if (l > DL_LOCAL_FRAME_MAX) {
                s->len = 0; /* not a torn frame: no frame at all */
                s->corrupt = true;
                (*skipped)++;
                break;
            }
            s->need = 8 + (size_t)l;
        }
        if (s->need > 0 && s->len == s->need) {
            size_t frame = s->len;
            s->len = s->need = 0;
            if (dl_local_frame(s->buf, frame, &size, NULL) != 0) {
                s->corrupt = true;
                (*skipped)++;
                break;
            }
            r = entry(s, s->buf + 4, frame - 8, on_entry, userdata, skipped, err);
            if (r != 0)
                return r;
        }
    }
    return 0;
}

int dl_local_log_path(const char *id, const char *hostname_path, const char *resolv_path, char *buf,
                      size_t size, dv_error *err)
{
    const char *from[] = {hostname_path, resolv_path};
    for (size_t i = 0; i < 2; i++) {
        const char *p = from[i];
        if (!p || p[0] != '/')
            continue;
        /* <root>/containers/<x>/<name>: the part up to "/containers". */
        const char *name = strrchr(p, '/');
        const char *x = name;
        while (x > p && x[-1] != '/')
            x--;
        if (x <= p + 1 || name - x < 1)
            continue;
        const char *containers = x - 1; /* the '/' before <x> */
        static const char tail[] = "/containers";
        size_t root_len = (size_t)(containers - p);
        if (root_len < sizeof(tail) - 1 ||
            memcmp(containers - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0)
            continue;
        int n = snprintf(buf, size, "%.*s/%s/%s", (int)root_len, p, id, DL_LOCAL_LOG_SUBPATH);
        if (n < 0 || (size_t)n >= size)
            return dv_error_set(err, -ENAMETOOLONG, "local log path too long");
        return 0;
    }
    return dv_error_set(err, -EINVAL,
                        "cannot tell Docker's container directory from HostnamePath \"%s\"",
                        hostname_path ? hostname_path : "");
}
