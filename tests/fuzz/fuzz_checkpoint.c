/* docklog's checkpoint file (tasks/<id>/docklog.checkpoint) as docklog reads it at
 * start and the agent reads it after a restart (dl_checkpoint_load, from a memfd);
 * an accepted checkpoint must survive a save/load round trip unchanged. The same
 * bytes are also read as a slot of the checkpoint's copy (checkpoint_copy.h), and
 * the checkpoint's JSON written into a slot must read back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "checkpoint.h"
#include "checkpoint_copy.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *path = fuzz_memfd_path(data, len);
    if (!path)
        abort();
    dl_checkpoint cp;
    dv_error err;
    dl_copy_save slot;
    (void)dl_copy_parse_slot((const char *)data, len, &slot, &err);
    if (dl_checkpoint_load(path, &cp, &err) < 0)
        return 0;
    (void)dl_position_since(&cp.pos);
    (void)dl_outcome_name(cp.outcome);
    json_t *j = dl_checkpoint_to_json(&cp);
    dl_checkpoint back;
    if (!j || dl_checkpoint_from_json(j, &back, &err) < 0)
        abort();
    json_t *j2 = dl_checkpoint_to_json(&back);
    if (!j2 || !json_equal(j, j2))
        abort();
    size_t text_len;
    char *text = dl_checkpoint_dumps(&cp, &text_len);
    if (!text)
        abort();
    if (text_len <= DL_COPY_JSON_MAX) {
        static char buf[DL_COPY_SLOT_SIZE];
        size_t n = dl_copy_format_slot(buf, 7, text, text_len);
        if (dl_copy_parse_slot(buf, n, &slot, &err) < 0 || slot.seq != 7)
            abort();
    }
    free(text);
    json_decref(j2);
    json_decref(j);
    return 0;
}
