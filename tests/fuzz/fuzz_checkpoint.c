/* docklog's checkpoint file (tasks/<id>/docklog.checkpoint) as docklog reads it at
 * start and the agent reads it after a restart (dl_checkpoint_load, from a memfd);
 * an accepted checkpoint must survive a save/load round trip unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "checkpoint.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *path = fuzz_memfd_path(data, len);
    if (!path)
        abort();
    dl_checkpoint cp;
    dv_error err;
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
    json_decref(j2);
    json_decref(j);
    return 0;
}
