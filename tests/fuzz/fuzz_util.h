/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c, built with -DDV_FUZZ=ON).
 *
 * Each harness feeds one parser with attacker-shaped bytes, as the parser meets them
 * in production (an HTTP body, a file written by another process, a socket). They
 * write nothing outside a private temporary directory or a memfd. */
#ifndef DV_FUZZ_UTIL_H
#define DV_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The streaming parsers must accept input split at any byte: the first input byte
 * seeds the sizes of the pieces the rest is fed in (0 = all at once). */
typedef struct fuzz_splitter {
    const uint8_t *data;
    size_t len, off;
    uint32_t seed;
} fuzz_splitter;

static inline void fuzz_splitter_init(fuzz_splitter *s, const uint8_t *data, size_t len)
{
    s->seed = len > 0 ? data[0] : 0;
    s->data = len > 0 ? data + 1 : data;
    s->len = len > 0 ? len - 1 : 0;
    s->off = 0;
}

/* The next piece (NULL when the input is used up). */
static inline const char *fuzz_splitter_next(fuzz_splitter *s, size_t *ret_len)
{
    if (s->off >= s->len)
        return NULL;
    size_t n = s->len - s->off;
    if (s->seed != 0) {
        s->seed = s->seed * 1103515245u + 12345u;
        size_t piece = 1 + (s->seed >> 16) % 64;
        if (piece < n)
            n = piece;
    }
    const char *p = (const char *)s->data + s->off;
    s->off += n;
    *ret_len = n;
    return p;
}

/* A memfd holding DATA, for parsers that read a path (created once per process;
 * the path is /proc/self/fd/N). Returns NULL if no memfd can be had. */
static inline const char *fuzz_memfd_path(const uint8_t *data, size_t len)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-input", MFD_CLOEXEC);
        if (fd < 0)
            return NULL;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || (len > 0 && pwrite(fd, data, len, 0) != (ssize_t)len))
        return NULL;
    return path;
}

#endif
