/* Docker's `local` log driver as docklog reads it from disk (docklog/localfile.h): the
 * input is the file's bytes (frames of a length, a protobuf LogEntry and the length
 * again), decoded whole as one LogEntry, and fed as a stream in pieces of 1 byte, of
 * the size the first byte picks, and whole. However it is cut, the same entries must
 * come out: a read boundary may never change what a file means. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "localfile.h"

struct sum {
    uint64_t hash;
    size_t n;
};

static int on_entry(const dl_entry *e, void *userdata, dv_error *err)
{
    (void)err;
    struct sum *s = userdata;
    if (e->stream != DL_STDOUT && e->stream != DL_STDERR)
        abort();
    if (e->len > DL_LOCAL_FRAME_MAX + 1)
        abort();
    s->hash = s->hash * 1099511628211u ^ (uint64_t)e->ts ^ (uint64_t)e->stream;
    for (size_t i = 0; i < e->len; i++)
        s->hash = (s->hash ^ (uint8_t)e->msg[i]) * 1099511628211u;
    s->n++;
    return 0;
}

static void feed(const uint8_t *data, size_t len, size_t step, struct sum *s, size_t *skipped,
                 bool *torn)
{
    dl_local_stream st;
    dl_local_stream_init(&st);
    dv_error err;
    for (size_t at = 0; at < len; at += step) {
        size_t n = len - at < step ? len - at : step;
        if (dl_local_stream_feed(&st, data + at, n, on_entry, s, skipped, &err) != 0)
            abort();
    }
    *torn = dl_local_stream_next_file(&st);
    dl_local_stream_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    dl_local_entry e;
    dv_error err;
    if (dl_local_decode_entry(data, len, &e, &err) == 0 &&
        (e.line < data || e.line + e.len > data + len))
        abort();
    size_t step = len ? (size_t)data[0] % 64 + 1 : 1;
    struct sum a = {0}, b = {0}, c = {0};
    size_t sa = 0, sb = 0, sc = 0;
    bool ta, tb, tc;
    feed(data, len, 1, &a, &sa, &ta);
    feed(data, len, step, &b, &sb, &tb);
    feed(data, len, len ? len : 1, &c, &sc, &tc);
    if (a.n != b.n || a.n != c.n || a.hash != b.hash || a.hash != c.hash || sa != sb || sa != sc ||
        ta != tb || ta != tc)
        abort();
    return 0;
}
