/* The one entry a Docker archive answer holds (GET /containers/{id}/archive?path=P
 * is a tar stream of P): a pure reader over the buffered stream, for bytes the
 * Engine relays from an image someone else built. Nothing is trusted: every
 * header's checksum is checked, sizes are octal within bounds (base-256 sizes,
 * which only files past 8 GiB need, are refused), and nothing is read past LEN. */
#ifndef DV_TAR_READ_H
#define DV_TAR_READ_H

#include <stddef.h>

#include "error.h"

typedef enum dv_tar_kind {
    DV_TAR_FILE,    /* a regular file: data, len */
    DV_TAR_SYMLINK, /* a symbolic link: link (its target, as stored) */
} dv_tar_kind;

typedef struct dv_tar_entry {
    dv_tar_kind kind;
    const char *data; /* points into the archive; not NUL-terminated */
    size_t len;
    char link[101];
} dv_tar_entry;

/* The first regular file or symlink in ARCHIVE (LEN bytes), skipping PAX ('x',
 * 'g') and GNU long name ('L') headers as Go's archive/tar, which writes Docker's
 * archives, may put them before it. Errors: -EBADMSG damaged or truncated
 * (checksum, size field, data past the end), -ENOENT end of archive first,
 * -ENOTSUP the entry is something else (a directory, a device, a hard link, a
 * link name too long for the header). RET untouched on failure. */
int dv_tar_first_entry(const void *archive, size_t len, dv_tar_entry *ret, dv_error *err);

#endif
