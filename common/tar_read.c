/* ustar headers: POSIX.1-1988 / pax (IEEE Std 1003.1-2001, "pax" interchange format). */
#include "tar_read.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum { BLOCK = 512 };

/* An octal field: optional leading spaces or NULs, digits, then space or NUL up
 * to the field's end. */
static bool octal_field(const unsigned char *f, size_t n, uint64_t *ret)
{
    size_t i = 0;
    while (i < n && (f[i] == ' ' || f[i] == '\0'))
        i++;
    uint64_t v = 0;
    bool any = false;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v > (UINT64_MAX >> 3))
            return false;
        v = v << 3 | (uint64_t)(f[i] - '0');
        any = true;
    }
    for (; i < n; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return false;
    *ret = any ? v : 0;
    return true;
}

static bool zero_block(const unsigned char *b)
{
    for (size_t i = 0; i < BLOCK; i++)
        if (b[i])
            return false;
    return true;
}

/* The checksum treats its own field as eight spaces; some writers summed signed
 * chars, so either sum is accepted, as GNU tar and Go do. */
static bool checksum_ok(const unsigned char *h)
{
    uint64_t want;
    if (!octal_field(h + 148, 8, &want))
        return false;
    uint64_t u = 0;
    int64_t s = 0;
    for (size_t i = 0; i < BLOCK; i++) {
        unsigned char c = i >= 148 && i < 156 ? ' ' : h[i];
        u += c;
        s += (signed char)c;
    }
    return u == want || (s >= 0 && (uint64_t)s == want);
}

int dv_tar_first_entry(const void *archive, size_t len, dv_tar_entry *ret, dv_error *err)
{
    const unsigned char *p = archive;
    size_t off = 0;
    while (len - off >= BLOCK) {
        const unsigned char *h = p + off;
        if (zero_block(h))
            return dv_error_set(err, -ENOENT, "tar: no file in the archive");
        if (!checksum_ok(h))
            return dv_error_set(err, -EBADMSG, "tar: bad header checksum at offset %zu", off);
        uint64_t size;
        if (!octal_field(h + 124, 12, &size))
            return dv_error_set(err, -EBADMSG, "tar: bad size field at offset %zu", off);
        off += BLOCK;
        if (size > len - off)
            return dv_error_set(err, -EBADMSG, "tar: entry of %llu bytes past the end",
                                (unsigned long long)size);
        char type = (char)h[156];
        if (type == '0' || type == '\0' || type == '7' || type == '2') {
            dv_tar_entry e = {.kind = type == '2' ? DV_TAR_SYMLINK : DV_TAR_FILE};
            if (e.kind == DV_TAR_SYMLINK) {
                memcpy(e.link, h + 157, 100);
                e.link[100] = '\0';
                if (!e.link[0])
                    return dv_error_set(err, -ENOTSUP, "tar: symlink without a target");
            } else {
                e.data = (const char *)p + off;
                e.len = (size_t)size;
            }
            *ret = e;
            return 0;
        }
        if (type != 'x' && type != 'g' && type != 'L')
            return dv_error_set(err, -ENOTSUP, "tar: entry of type '%c' is not a file or a symlink",
                                type >= 0x20 && type < 0x7f ? type : '?');
        /* Skip the extended header's data, padded to whole blocks. */
        uint64_t padded = (size + BLOCK - 1) / BLOCK * BLOCK;
        if (padded > len - off)
            return dv_error_set(err, -EBADMSG, "tar: truncated extended header");
        off += (size_t)padded;
    }
    return dv_error_set(err, len == off ? -ENOENT : -EBADMSG,
                        len == off ? "tar: no file in the archive" : "tar: truncated header");
}
