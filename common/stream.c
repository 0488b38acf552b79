#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A buffer that had to grow past this for one unusually large unit is given back
 * afterwards, so a long-lived docklog does not keep a peak-sized allocation. */
#define KEEP_CAP ((size_t)64 << 10)

/* Checked, not dv_xrealloc: NEED is a frame header's claimed length or a container's
 * line, someone else's size (xalloc.h). */
static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    char *p = realloc(*buf, n);
    if (!p)
        return -ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

static void shrink(char **buf, size_t *cap)
{
    if (*cap > KEEP_CAP) {
        free(*buf);
        *buf = NULL;
        *cap = 0;
    }
}

void dv_demux_init(dv_demux *d, bool raw, dv_frame_cb on_frame, void *userdata)
{
    memset(d, 0, sizeof(*d));
    d->raw = raw;
    d->on_frame = on_frame;
    d->userdata = userdata;
    d->max_frame = DV_DEMUX_MAX_FRAME_DEFAULT;
}

void dv_demux_free(dv_demux *d)
{
    free(d->frame);
    d->frame = NULL;
    d->frame_cap = d->frame_len = d->frame_size = 0;
    d->header_len = 0;
}

bool dv_demux_partial(const dv_demux *d)
{
    return d->header_len > 0 || d->frame_len > 0 || d->frame_size > 0;
}

static int deliver(dv_demux *d, uint8_t type, const char *data, size_t len)
{
    if (len == 0)
        return 0;
    return d->on_frame((enum dv_stream_type)type, data, len, d->userdata) != 0 ? 1 : 0;
}

/* Validates a complete header and arms the frame state. */
static int parse_header(dv_demux *d, const uint8_t *h, dv_error *err)
{
    size_t max = d->max_frame ? d->max_frame : DV_DEMUX_MAX_FRAME_DEFAULT;
    uint32_t size = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
    if (h[0] > DV_STREAM_SYSTEM || h[1] || h[2] || h[3])
        return dv_error_set(err, -EPROTO,
                            "malformed stream frame header %02x %02x %02x %02x (a TTY stream "
                            "read as multiplexed?)",
                            h[0], h[1], h[2], h[3]);
    if (size > max)
        return dv_error_set(err, -EPROTO, "stream frame of %u bytes exceeds the limit of %zu", size,
                            max);
    d->frame_type = h[0];
    d->frame_size = size;
    d->frame_len = 0;
    return 0;
}

int dv_demux_feed(dv_demux *d, const char *data, size_t len, dv_error *err)
{
    if (d->raw)
        return deliver(d, DV_STREAM_STDOUT, data, len);

    const char *p = data, *end = data + len;
    while (p < end) {
        if (d->header_len < sizeof(d->header)) {
            /* Fast path: a whole header, and then possibly a whole frame, in place. */
            if (d->header_len == 0 && (size_t)(end - p) >= sizeof(d->header)) {
                int r = parse_header(d, (const uint8_t *)p, err);
                if (r < 0)
                    return r;
                p += sizeof(d->header);
                if ((size_t)(end - p) >= d->frame_size) {
                    size_t n = d->frame_size;
                    d->frame_size = 0;
                    r = deliver(d, d->frame_type, p, n);
                    p += n;
                    if (r)
                        return r;
                    continue;
                }
                d->header_len = sizeof(d->header);
            } else {
                size_t n = sizeof(d->header) - d->header_len;
                if (n > (size_t)(end - p))
                    n = (size_t)(end - p);
                memcpy(d->header + d->header_len, p, n);
                d->header_len += n;
                p += n;
                if (d->header_len < sizeof(d->header))
                    break;
                int r = parse_header(d, d->header, err);
                if (r < 0)
                    return r;
            }
        }

        /* Header complete; the frame continues across feeds. */
        size_t want = d->frame_size - d->frame_len;
        size_t avail = (size_t)(end - p);
        if (d->frame_len == 0 && avail >= want) {
            /* The whole payload is here after a split header: still no copy. */
            d->header_len = 0;
            d->frame_size = 0;
            int r = deliver(d, d->frame_type, p, want);
            p += want;
            if (r)
                return r;
            continue;
        }
        size_t n = avail < want ? avail : want;
        if (grow(&d->frame, &d->frame_cap, d->frame_size) < 0)
            return dv_error_set(err, -ENOMEM, "stream frame of %zu bytes: out of memory",
                                d->frame_size);
        memcpy(d->frame + d->frame_len, p, n);
        d->frame_len += n;
        p += n;
        if (d->frame_len < d->frame_size)
            break;
        size_t size = d->frame_size;
        d->header_len = 0;
        d->frame_size = 0;
        d->frame_len = 0;
        int r = deliver(d, d->frame_type, d->frame, size);
        shrink(&d->frame, &d->frame_cap);
        if (r)
            return r;
    }
    return 0;
}

void dv_line_reader_init(dv_line_reader *r, size_t max_line, dv_line_cb on_line, void *userdata)
{
    memset(r, 0, sizeof(*r));
    r->max_line = max_line ? max_line : DV_LINE_MAX_DEFAULT;
    r->on_line = on_line;
    r->userdata = userdata;
}

void dv_line_reader_free(dv_line_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = 0;
}

static int emit_line(dv_line_reader *r, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return 0;
    return r->on_line(line, len, r->userdata) != 0 ? 1 : 0;
}

static int too_long(const dv_line_reader *r, dv_error *err)
{
    return dv_error_set(err, -EMSGSIZE, "stream line exceeds the limit of %zu bytes", r->max_line);
}

int dv_line_reader_feed(dv_line_reader *r, const char *data, size_t len, dv_error *err)
{
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            size_t n = (size_t)(end - p);
            size_t pending = r->len + n;
            /* One byte over is still fine if it is a "\r" that the "\n" will strip. */
            if (pending > r->max_line && !(pending == r->max_line + 1 && p[n - 1] == '\r'))
                return too_long(r, err);
            if (grow(&r->buf, &r->cap, r->len + n) < 0)
                return dv_error_set(err, -ENOMEM, "stream line: out of memory");
            memcpy(r->buf + r->len, p, n);
            r->len += n;
            return 0;
        }
        size_t n = (size_t)(nl - p);
        int rc;
        if (r->len == 0) {
            size_t l = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
            if (l > r->max_line)
                return too_long(r, err);
            rc = emit_line(r, p, n);
        } else {
            if (r->len + n > r->max_line + 1)
                return too_long(r, err);
            if (grow(&r->buf, &r->cap, r->len + n) < 0)
                return dv_error_set(err, -ENOMEM, "stream line: out of memory");
            memcpy(r->buf + r->len, p, n);
            size_t total = r->len + n;
            r->len = 0;
            if (total - (total > 0 && r->buf[total - 1] == '\r') > r->max_line)
                return too_long(r, err);
            rc = emit_line(r, r->buf, total);
            shrink(&r->buf, &r->cap);
        }
        p = nl + 1;
        if (rc)
            return rc;
    }
    return 0;
}

int dv_line_reader_finish(dv_line_reader *r, dv_error *err)
{
    if (r->len == 0)
        return 0;
    size_t total = r->len;
    r->len = 0;
    if (total - (r->buf[total - 1] == '\r') > r->max_line)
        return too_long(r, err);
    int rc = emit_line(r, r->buf, total);
    shrink(&r->buf, &r->cap);
    return rc;
}
