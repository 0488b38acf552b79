/* The task's user resolved in an image (supervisor/runner/passwd.h): the Engine's archive
 * answer (common/tar_read.h) and the passwd/group text in it, both written by
 * whoever built the image. Input: a mode byte (bit 0: the rest after the name is
 * a tar stream, else the text itself), then the name looked up, up to 32 bytes
 * ending at a NUL, then the bytes. Each is copied to a buffer of its exact size,
 * so a read past the end is caught. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "passwd.h"
#include "tar_read.h"

static void lookups(const char *text, size_t len, const char *name)
{
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    memcpy(copy, text, len);
    uint32_t uid, gid;
    (void)dv_passwd_find(copy, len, name, &uid, &gid);
    (void)dv_group_find(copy, len, name, &gid);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len < 1)
        return 0;
    bool tar = data[0] & 1;
    const char *p = (const char *)data + 1;
    size_t n = len - 1, k = 0;
    char name[33];
    while (k < n && k < 32 && p[k]) {
        name[k] = p[k];
        k++;
    }
    name[k] = '\0';
    if (k < n && p[k] == '\0')
        k++;
    const char *rest = p + k;
    size_t rlen = n - k;
    dv_error err;
    dv_user_spec u;
    (void)dv_user_spec_parse(name, &u, &err);
    if (!tar) {
        lookups(rest, rlen, name);
        return 0;
    }
    char *archive = malloc(rlen ? rlen : 1);
    if (!archive)
        return 0;
    memcpy(archive, rest, rlen);
    dv_tar_entry e;
    if (dv_tar_first_entry(archive, rlen, &e, &err) == 0) {
        if (e.kind == DV_TAR_FILE) {
            if (e.data < archive || e.len > rlen || (size_t)(e.data - archive) > rlen - e.len)
                abort();
            lookups(e.data, e.len, name);
        } else if (strnlen(e.link, sizeof(e.link)) >= sizeof(e.link)) {
            abort();
        }
    }
    free(archive);
    return 0;
}
