/* A task record (state/tasks/<id>.json) as recovery loads it after an agent restart:
 * dv_task_from_json, and for a record it accepts, what the agent does next with the
 * task: write it again (dv_task_to_json, which must load back) and show it through
 * the API (dv_task_to_api_json with the spec redacted). */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "spec.h"
#include "task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    json_t *rec = json_loadb((const char *)data, len, 0, NULL);
    if (!rec)
        return 0;
    dv_task *t = NULL;
    dv_error err;
    if (dv_task_from_json(rec, &t, &err) == 0) {
        json_t *again = dv_task_to_json(t);
        dv_task *t2 = NULL;
        if (!again || dv_task_from_json(again, &t2, &err) < 0)
            abort(); /* what the agent wrote, it must read back */
        dv_task_free(t2);
        json_decref(again);
        json_decref(dv_task_to_api_json(t, dv_spec_redact));
        dv_task_free(t);
    }
    json_decref(rec);
    return 0;
}
