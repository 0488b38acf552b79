/* The body of GET /containers/{id}/logs?timestamps=1 as docklog reads it
 * (docklog/entries.h): Docker's 8-byte-header frames (common/stream.c's demuxer)
 * or a TTY's raw stream, each entry "<RFC3339Nano> <message>" parsed in place
 * (common/timestamp.c), fed in pieces of any size, then the response's end. The
 * second input byte picks raw mode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entries.h"
#include "fuzz_util.h"

static int on_entry(const dl_entry *e, void *userdata, dv_error *err)
{
    (void)err;
    uint8_t *sum = userdata;
    for (size_t i = 0; i < e->len; i++)
        *sum ^= (uint8_t)e->msg[i];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len < 1)
        return 0;
    bool raw = data[0] & 1;
    uint8_t sum = 0;
    dv_error err;
    dl_entries e;
    if (dl_entries_init(&e, raw, on_entry, &sum, &err) < 0)
        abort();
    fuzz_splitter s;
    fuzz_splitter_init(&s, data + 1, len - 1);
    int r = 0;
    const char *piece;
    size_t n;
    while (r == 0 && (piece = fuzz_splitter_next(&s, &n)))
        r = dl_entries_feed(&e, piece, n, &err);
    if (r == 0)
        (void)dl_entries_finish(&e, &err);
    dl_entries_free(&e);
    return 0;
}
