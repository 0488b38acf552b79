#include "checkpoint_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "json_strict.h"
#include "xalloc.h"

#define MAGIC "dlcopy 1 "
/* The CRC covers "dlcopy 1 <seq> <len> " (the header before the crc field). */
#define CRC_COVERED 31

/* Bitwise CRC-32 (IEEE, reflected): no table to carry in a process that must stay
 * tiny; ~700 bytes per batch. */
static uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* The slot's header for TEXT/LEN, into HEAD (DL_COPY_HEADER_LEN + 1 bytes). */
static void format_header(char *head, uint64_t seq, const char *text, size_t len)
{
    snprintf(head, DL_COPY_HEADER_LEN + 1, MAGIC "%016" PRIx64 " %04zx ", seq, len);
    uint32_t crc = crc32_update(0, head, CRC_COVERED);
    crc = crc32_update(crc, text, len);
    snprintf(head + CRC_COVERED, DL_COPY_HEADER_LEN + 1 - CRC_COVERED, "%08" PRIx32 "\n", crc);
}

size_t dl_copy_format_slot(char *buf, uint64_t seq, const char *text, size_t len)
{
    char head[DL_COPY_HEADER_LEN + 1];
    format_header(head, seq, text, len);
    memcpy(buf, head, DL_COPY_HEADER_LEN);
    memcpy(buf + DL_COPY_HEADER_LEN, text, len);
    return DL_COPY_HEADER_LEN + len;
}

/* Exactly DIGITS lowercase hex digits followed by END. */
static bool hex_field(const char *p, int digits, char end, uint64_t *ret)
{
    uint64_t v = 0;
    for (int i = 0; i < digits; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    if (p[digits] != end)
        return false;
    *ret = v;
    return true;
}

int dl_copy_parse_slot(const char *slot, size_t len, dl_copy_save *ret, dv_error *err)
{
    uint64_t seq, jlen, crc;
    if (len < DL_COPY_HEADER_LEN || memcmp(slot, MAGIC, strlen(MAGIC)) != 0 ||
        !hex_field(slot + 9, 16, ' ', &seq) || !hex_field(slot + 26, 4, ' ', &jlen) ||
        !hex_field(slot + 31, 8, '\n', &crc))
        return dv_error_set(err, -EINVAL, "no valid header");
    if (jlen > DL_COPY_JSON_MAX || jlen > len - DL_COPY_HEADER_LEN)
        return dv_error_set(err, -EINVAL, "truncated (%" PRIu64 " bytes of JSON announced)", jlen);
    const char *text = slot + DL_COPY_HEADER_LEN;
    if (crc32_update(crc32_update(0, slot, CRC_COVERED), text, jlen) != crc)
        return dv_error_set(err, -EINVAL, "checksum mismatch (torn or damaged)");
    _cleanup_json_ json_t *json = NULL;
    if (dv_json_parse_strict(text, jlen, &json, err) < 0)
        return dv_error_wrap(err, "JSON");
    dl_copy_save s = {.seq = seq};
    int r = dl_checkpoint_from_json(json, &s.cp, err);
    if (r < 0)
        return r;
    *ret = s;
    return 0;
}

int dl_copy_load(const char *path, dl_copy_save ret[2], int *ret_n, dv_error *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return dv_error_errno(err, -errno, "open %s", path);
    dl_copy_save s[2];
    int n = 0;
    char why[2][200] = {"", ""};
    _cleanup_free_ char *buf = dv_xmalloc(DL_COPY_SLOT_SIZE);
    for (int i = 0; i < 2; i++) {
        ssize_t got = pread(fd, buf, DL_COPY_SLOT_SIZE, (off_t)i * DL_COPY_SLOT_SIZE);
        if (got < 0)
            return dv_error_errno(err, -errno, "read %s", path);
        dv_error e;
        if (dl_copy_parse_slot(buf, (size_t)got, &s[n], &e) == 0)
            n++;
        else
            snprintf(why[i], sizeof(why[i]), "%s", got == 0 ? "empty" : e.msg);
    }
    if (n == 2 && s[1].seq > s[0].seq) {
        dl_copy_save t = s[0];
        s[0] = s[1];
        s[1] = t;
    }
    for (int i = 0; i < n; i++)
        ret[i] = s[i];
    *ret_n = n;
    if (n == 0)
        dv_error_set(err, -EINVAL, "%s: no valid copy (slot A: %s; slot B: %s)", path, why[0],
                     why[1]);
    return 0;
}

int dl_copy_open(dl_copy *c, const char *path, dv_error *err)
{
    bool existed = access(path, F_OK) == 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return dv_error_errno(err, -errno, "open %s", path);
    c->fd = fd;
    c->seq = 0;
    dl_copy_save s[2];
    int n = 0;
    dv_error ignored;
    if (dl_copy_load(path, s, &n, &ignored) == 0 && n > 0)
        c->seq = s[0].seq;
    /* The name must survive a power loss before this copy is ever needed; the slots'
     * data is made durable by the sync points. */
    if (!existed && dv_fsync_parent(path, err) < 0) {
        dl_copy_close(c);
        return -EIO;
    }
    return 0;
}

int dl_copy_write(dl_copy *c, const dl_checkpoint *cp, const char *text, size_t len, bool durable,
                  dv_error *err)
{
    _cleanup_free_ char *shorter = NULL;
    if (len > DL_COPY_JSON_MAX) {
        dl_checkpoint without = *cp;
        without.error[0] = '\0';
        if (!(shorter = dl_checkpoint_dumps(&without, &len)))
            return dv_error_set(err, -ENOMEM, "checkpoint copy: out of memory");
        if (len > DL_COPY_JSON_MAX)
            return dv_error_set(err, -EOVERFLOW, "checkpoint copy: %zu bytes do not fit a slot",
                                len);
        text = shorter;
    }
    uint64_t seq = c->seq + 1;
    char head[DL_COPY_HEADER_LEN + 1];
    format_header(head, seq, text, len);
    /* The slot not written last: the other one keeps the previous save whatever
     * happens to this write. Header and JSON in one call, without copying the JSON
     * into a slot-sized buffer (docklog's stack stays small). */
    off_t at = (off_t)(seq % 2) * DL_COPY_SLOT_SIZE;
    size_t total = DL_COPY_HEADER_LEN + len;
    for (size_t done = 0; done < total;) {
        struct iovec iov[2];
        int n = 0;
        if (done < DL_COPY_HEADER_LEN) {
            iov[n++] = (struct iovec){head + done, DL_COPY_HEADER_LEN - done};
            iov[n++] = (struct iovec){(void *)text, len};
        } else {
            iov[n++] = (struct iovec){(void *)(text + (done - DL_COPY_HEADER_LEN)), total - done};
        }
        ssize_t w = pwritev(c->fd, iov, n, at + (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return dv_error_errno(err, -errno, "write checkpoint copy");
        done += (size_t)w;
    }
    if (durable && fdatasync(c->fd) < 0)
        return dv_error_errno(err, -errno, "fdatasync checkpoint copy");
    c->seq = seq;
    return 0;
}

void dl_copy_close(dl_copy *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}
