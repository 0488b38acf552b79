/* What a docklog file reader handed on (entries.h), gathered per stream for the
 * tests of the json-file and local readers. */
#ifndef DV_TEST_ENTRY_COLLECTOR_H
#define DV_TEST_ENTRY_COLLECTOR_H

#include <stdint.h>

#include "buf.h"
#include "entries.h"
#include "error.h"

struct got {
    dv_buf out, err; /* the messages of each stream, concatenated */
    int64_t last_ts;
    int n;
};

/* A dl_entry_cb; USERDATA is a struct got. */
static inline int collect(const dl_entry *e, void *userdata, dv_error *err)
{
    (void)err;
    struct got *g = userdata;
    dv_buf_append(e->stream == DL_STDERR ? &g->err : &g->out, e->msg, e->len);
    g->last_ts = e->ts;
    g->n++;
    return 0;
}

#endif
