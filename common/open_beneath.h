/* Opening a file that must stay inside a directory, whatever the directory holds. */
#ifndef DV_OPEN_BENEATH_H
#define DV_OPEN_BENEATH_H

/* open(2) PATH relative to DIRFD for reading (O_RDONLY | O_CLOEXEC | O_NOCTTY |
 * O_NONBLOCK: a FIFO planted at PATH cannot block the open; callers that want a
 * regular file check the type, and O_NONBLOCK changes nothing for one) such
 * that no step of the resolution leaves DIRFD: an absolute PATH, "..", a symlink
 * pointing out (or to an absolute path) or a /proc magic link fails with -EXDEV (or
 * -ELOOP), checked by the kernel at the open itself (openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS), so a swap between a check and the open cannot escape.
 * Symlinks that stay inside are followed. Returns the fd or a negative errno;
 * -ENOSYS on kernels before 5.6. */
int dv_open_beneath(int dirfd, const char *path);

#endif
