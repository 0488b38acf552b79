#include "dangling_select.h"

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "labels.h"

json_t *dv_dangling_running(const json_t *containers)
{
    static const char *const running[] = {"running", "paused", "restarting"};
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c)
    {
        const char *state = json_string_value(json_object_get(c, "State"));
        for (size_t k = 0; state && k < DV_ARRAY_SIZE(running); k++)
            if (strcmp(state, running[k]) == 0) {
                json_array_append(out, c);
                break;
            }
    }
    return out;
}

int dv_dangling_select(const json_t *containers, const char *node_id,
                       dv_dangling_tracked_fn tracked, void *userdata, int64_t now_ns,
                       int64_t creation_grace_ns, json_t **ret, dv_error *err)
{
    if (!json_is_array(containers))
        return dv_error_set(err, -EINVAL, "container list is not an array");
    _cleanup_json_ json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "Id"));
        json_t *labels = json_object_get(c, "Labels");
        const char *node = json_string_value(json_object_get(labels, DV_LABEL_NODE_ID));
        const char *task = json_string_value(json_object_get(labels, DV_LABEL_TASK_ID));
        if (!id || !node || strcmp(node, node_id) != 0)
            continue; /* not ours: never touched */
        json_t *created = json_object_get(c, "Created");
        if (!json_is_integer(created))
            continue; /* cannot prove it is old enough */
        int64_t created_ns = (int64_t)json_integer_value(created) * INT64_C(1000000000);
        if (now_ns - created_ns < creation_grace_ns)
            continue;
        if (tracked(id, task, userdata))
            continue;
        const char *name = "";
        json_t *names = json_object_get(c, "Names");
        if (json_is_array(names) && json_array_size(names) > 0)
            name = json_string_value(json_array_get(names, 0));
        if (name && name[0] == '/')
            name++;
        json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "id", id, "name", name ? name : "",
                                             "task_id", task ? task : ""));
    }
    *ret = TAKE_PTR(out);
    return 0;
}
