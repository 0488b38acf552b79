#include "ownership.h"

#include <errno.h>
#include <string.h>

#include "labels.h"

static bool same(const char *a, const char *b)
{
    return a && b && *b && strcmp(a, b) == 0;
}

int dv_owner_check_labels(const json_t *labels, const char *node_id, const char *task_id,
                          dv_error *err)
{
    const char *node = json_string_value(json_object_get(labels, DV_LABEL_NODE_ID));
    const char *task = json_string_value(json_object_get(labels, DV_LABEL_TASK_ID));
    if (same(node, node_id) && same(task, task_id))
        return 0;
    if (!node && !task)
        return dv_error_set(err, -EPERM, "no io.dockvisor labels");
    /* Both values are printed as found, so an operator can tell another node's
     * container from another task's of this node. */
    return dv_error_set(err, -EPERM, "%s=%s %s=%s", DV_LABEL_NODE_ID, node ? node : "(none)",
                        DV_LABEL_TASK_ID, task ? task : "(none)");
}

int dv_owner_check_inspect(const json_t *inspect, const char *node_id, const char *task_id,
                           dv_error *err)
{
    return dv_owner_check_labels(json_object_get(json_object_get(inspect, "Config"), "Labels"),
                                 node_id, task_id, err);
}
