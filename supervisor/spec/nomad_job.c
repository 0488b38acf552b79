/* A Nomad job's placement on this node and its task groups as group specs
 * (mapping in nomad_job.h; a task's in nomad_task.c). */
#include "nomad_job.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "group_spec.h"
#include "nomad_constraints.h"
#include "nomad_convert.h"
#include "spec_json.h"
#include "xalloc.h"

static const char *const job_unsupported[] = {"Periodic", "ParameterizedJob", "Multiregion",
                                              "Vault", NULL};
static const char *const group_unsupported[] = {"Services", "Volumes", "Consul", NULL};

bool dv_nomad_job_is_job(const json_t *json)
{
    return json_is_object(json) && (json_is_object(json_object_get(json, "Job")) ||
                                    json_object_get(json, "TaskGroups") != NULL);
}

/* The job's own fields that say where it runs: this node or nowhere. */
static int check_placement(const json_t *job, const dv_interp_vars *node, dv_spec_error *err)
{
    const char *region, *ns, *type;
    int r;
    if ((r = dv_sj_string_ref(job, "Job", "Region", &region, err)) < 0 ||
        (r = dv_sj_string_ref(job, "Job", "Namespace", &ns, err)) < 0 ||
        (r = dv_sj_string_ref(job, "Job", "Type", &type, err)) < 0)
        return r;
    const char *node_region = node->node_region ? node->node_region : "global";
    const char *node_dc = node->node_datacenter ? node->node_datacenter : "dc1";
    if (region && *region && strcmp(region, node_region) != 0)
        return dv_spec_fail(err, "Job.Region", -EINVAL,
                            "the job is for region \"%s\", this node is in \"%s\"", region,
                            node_region);
    if (ns && *ns && strcmp(ns, "default") != 0)
        return dv_spec_fail(err, "Job.Namespace", -EINVAL,
                            "namespace \"%s\" is not supported (dockvisor has only \"default\")",
                            ns);
    if (type && *type && strcmp(type, "service") != 0 && strcmp(type, "batch") != 0 &&
        strcmp(type, "system") != 0 && strcmp(type, "sysbatch") != 0)
        return dv_spec_fail(err, "Job.Type", -EINVAL,
                            "invalid type \"%s\" (expected service, batch, system or sysbatch)",
                            type);
    const json_t *dcs = json_object_get(job, "Datacenters");
    if (!dcs || json_is_null(dcs) || (json_is_array(dcs) && json_array_size(dcs) == 0))
        return 0; /* Nomad's default: every datacenter */
    if (!json_is_array(dcs))
        return dv_spec_fail(err, "Job.Datacenters", -EINVAL, "expected an array of strings, got %s",
                            dv_sj_type_name(dcs));
    _cleanup_buf_ dv_buf names = DV_BUF_INIT;
    size_t i;
    const json_t *dc;
    json_array_foreach(dcs, i, dc)
    {
        const char *s = json_string_value(dc);
        if (!s) {
            char field[DV_SPEC_FIELD_MAX];
            dv_sj_index(field, "Job.Datacenters", i);
            return dv_spec_fail(err, field, -EINVAL, "expected a string, got %s",
                                dv_sj_type_name(dc));
        }
        /* Nomad 1.5+ takes globs ("*", "dc-*"). */
        if (fnmatch(s, node_dc, 0) == 0)
            return 0;
        if (dv_buf_printf(&names, "%s\"%s\"", i ? ", " : "", s) < 0)
            dv_oom("datacenters");
    }
    return dv_spec_fail(err, "Job.Datacenters", -EINVAL,
                        "this node's datacenter \"%s\" is not one of the job's (%s)", node_dc,
                        names.data);
}

/* A copy of BASE's object overlaid by OVER's (either may be absent). */
static json_t *merged_meta(const json_t *base, const json_t *over)
{
    json_t *meta = json_is_object(base) ? json_deep_copy(base) : json_object();
    if (!meta)
        dv_oom("nomad meta");
    if (json_is_object(over))
        json_object_update(meta, (json_t *)over);
    return meta;
}

static int convert_ports(const json_t *net, const char *path, const char *key, bool reserved,
                         json_t *ports, dv_spec_error *err)
{
    const json_t *list = json_object_get(net, key);
    char lpath[DV_SPEC_FIELD_MAX];
    dv_sj_join(lpath, path, key);
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return dv_spec_fail(err, lpath, -EINVAL, "expected an array of ports, got %s",
                            dv_sj_type_name(list));
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *p = json_array_get(list, i);
        char ppath[DV_SPEC_FIELD_MAX], field[DV_SPEC_FIELD_MAX];
        dv_sj_index(ppath, lpath, i);
        const char *label, *host_network;
        int r;
        if ((r = dv_sj_string_ref(p, ppath, "Label", &label, err)) < 0 ||
            (r = dv_sj_string_ref(p, ppath, "HostNetwork", &host_network, err)) < 0)
            return r;
        dv_sj_join(field, ppath, "Label");
        if (!label || !*label)
            return dv_spec_fail(err, field, -EINVAL, "port label required");
        if (json_object_get(ports, label))
            return dv_spec_fail(err, field, -EINVAL, "port \"%s\" is declared twice", label);
        json_t *port = json_object();
        const json_t *value = json_object_get(p, "Value"), *to = json_object_get(p, "To");
        if (reserved && dv_nomad_is_set(value))
            json_object_set(port, "static", (json_t *)value);
        /* To -1 is Nomad's "the same as the host port": ours when absent. */
        if (dv_nomad_is_set(to) && !(json_is_integer(to) && json_integer_value(to) == -1))
            json_object_set(port, "to", (json_t *)to);
        if (host_network && *host_network)
            json_object_set_new(port, "host_network", json_string(host_network));
        if (json_object_set_new(ports, label, port) < 0)
            return dv_spec_fail(err, field, -EINVAL, "invalid port label");
    }
    return 0;
}

/* Nomad's "host" mode: the docker tasks' own config.network_mode, one for the
 * group (nomad_job.h). TASKS are the converted task specs. */
static int mode_from_tasks(json_t *tasks, const char *path, char **ret, dv_spec_error *err)
{
    const char *mode = NULL;
    size_t i;
    json_t *task;
    json_array_foreach(tasks, i, task)
    {
        const char *m =
            json_string_value(json_object_get(json_object_get(task, "config"), "network_mode"));
        m = m && *m ? m : NULL;
        if (i > 0 && (!m != !mode || (m && strcmp(m, mode) != 0))) {
            char field[DV_SPEC_FIELD_MAX];
            snprintf(field, sizeof(field), "%s.Tasks[%zu].Config.network_mode", path, i);
            return dv_spec_fail(err, field, -EINVAL,
                                "\"%s\" differs from Tasks[0]'s \"%s\" (the tasks of a group "
                                "share one network here)",
                                m ? m : "", mode ? mode : "");
        }
        mode = m;
    }
    if (!mode || strcmp(mode, "bridge") == 0 || strcmp(mode, "default") == 0)
        mode = "bridge";
    *ret = dv_xstrdup(mode);
    /* The group carries it now; a value that is not a string stays for the parser to name. */
    json_array_foreach(tasks, i, task)
    {
        json_t *config = json_object_get(task, "config");
        if (json_is_string(json_object_get(config, "network_mode")))
            json_object_del(config, "network_mode");
    }
    return 0;
}

static int convert_network(const json_t *tg, const char *path, json_t *tasks, json_t *group,
                           dv_spec_error *err)
{
    const json_t *nets = json_object_get(tg, "Networks");
    char field[DV_SPEC_FIELD_MAX], npath[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, "Networks");
    dv_sj_index(npath, field, 0);
    if (nets && !json_is_null(nets) && !json_is_array(nets))
        return dv_spec_fail(err, field, -EINVAL, "expected an array, got %s",
                            dv_sj_type_name(nets));
    if (json_array_size(nets) > 1)
        return dv_spec_fail(err, field, -EINVAL, "%zu networks; a group has one here",
                            json_array_size(nets));
    const json_t *net = json_array_get(nets, 0);
    const char *nomad_mode = NULL;
    int r;
    if (net && (r = dv_sj_string_ref(net, npath, "Mode", &nomad_mode, err)) < 0)
        return r;
    static const char *const unsupported[] = {"Hostname", NULL};
    if (net && (r = dv_nomad_refuse(net, npath, unsupported, err)) < 0)
        return r;
    _cleanup_free_ char *mode = NULL;
    if (!nomad_mode || !*nomad_mode || strcmp(nomad_mode, "host") == 0) {
        if ((r = mode_from_tasks(tasks, path, &mode, err)) < 0)
            return r;
    } else if (strcmp(nomad_mode, "bridge") == 0 || strcmp(nomad_mode, "none") == 0) {
        mode = dv_xstrdup(nomad_mode);
    } else {
        dv_sj_join(field, npath, "Mode");
        return dv_spec_fail(err, field, -EINVAL,
                            "mode \"%s\" is not supported (expected bridge, host or none)",
                            nomad_mode);
    }
    json_t *network = json_pack("{s:s}", "mode", mode);
    json_object_set_new(group, "network", network);
    if (strcmp(mode, "bridge") == 0) {
        size_t i;
        json_t *task;
        json_array_foreach(tasks, i, task)
            json_object_del(json_object_get(task, "config"), "ports");
    }
    if (!net)
        return 0;
    json_t *ports = json_object();
    json_object_set_new(network, "ports", ports);
    if ((r = convert_ports(net, npath, "ReservedPorts", true, ports, err)) < 0 ||
        (r = convert_ports(net, npath, "DynamicPorts", false, ports, err)) < 0)
        return r;
    const json_t *dns = json_object_get(net, "DNS");
    if (json_is_object(dns)) {
        static const char *const names[][2] = {
            {"Servers", "servers"}, {"Searches", "searches"}, {"Options", "options"}};
        json_t *out = json_object();
        for (size_t k = 0; k < DV_ARRAY_SIZE(names); k++) {
            json_t *v = json_object_get(dns, names[k][0]);
            if (v && !json_is_null(v))
                json_object_set(out, names[k][1], v);
        }
        json_object_set_new(network, "dns", out);
    }
    return 0;
}

static int convert_tasks(const json_t *tg, const char *path, const dv_interp_vars *node,
                         json_t **ret, dv_spec_error *err)
{
    const json_t *list = json_object_get(tg, "Tasks");
    char field[DV_SPEC_FIELD_MAX];
    dv_sj_join(field, path, "Tasks");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return dv_spec_fail(err, field, -EINVAL, "at least one task required");
    _cleanup_json_ json_t *tasks = json_array();
    for (size_t i = 0; i < json_array_size(list); i++) {
        char tpath[DV_SPEC_FIELD_MAX];
        dv_sj_index(tpath, field, i);
        json_t *task = NULL;
        int r = dv_nomad_task_convert(json_array_get(list, i), tpath, node, &task, err);
        if (r < 0)
            return r;
        json_array_append_new(tasks, task);
    }
    *ret = TAKE_PTR(tasks);
    return 0;
}

/* Nomad's restart defaults for batch jobs (structs.BatchJobRestartPolicy). */
static json_t *batch_restart(void)
{
    return json_pack("{s:i, s:s, s:s, s:s}", "attempts", 3, "interval", "24h", "delay", "15s",
                     "mode", "fail");
}

static int convert_group(const json_t *job, const json_t *tg, const char *path, const char *id,
                         const dv_interp_vars *node, json_t **ret, dv_spec_error *err)
{
    if (!json_is_object(tg))
        return dv_spec_fail(err, path, -EINVAL, "expected a task group object, got %s",
                            dv_sj_type_name(tg));
    char field[DV_SPEC_FIELD_MAX];
    const char *name, *type;
    int r;
    if ((r = dv_sj_string_ref(tg, path, "Name", &name, err)) < 0 ||
        (r = dv_sj_string_ref(job, "Job", "Type", &type, err)) < 0)
        return r;
    dv_sj_join(field, path, "Name");
    if (!name || !*name)
        return dv_spec_fail(err, field, -EINVAL, "group name required");
    dv_sj_join(field, path, "Constraints");
    if ((r = dv_nomad_refuse(tg, path, group_unsupported, err)) < 0 ||
        (r = dv_nomad_constraints_check(json_object_get(tg, "Constraints"), field, node, err)) < 0)
        return r;
    /* Nomad runs a system job once per node: here, once. */
    bool system = type && (strcmp(type, "system") == 0 || strcmp(type, "sysbatch") == 0);
    const json_t *count = json_object_get(tg, "Count");
    dv_sj_join(field, path, "Count");
    if (!system && count && !json_is_null(count)) {
        if (!json_is_integer(count))
            return dv_spec_fail(err, field, -EINVAL, "expected an integer, got %s",
                                dv_sj_type_name(count));
        json_int_t n = json_integer_value(count);
        if (n == 0)
            return dv_spec_fail(err, field, -EINVAL, "0: the group has nothing to run");
        if (n < 0 || n > DV_GROUP_COUNT_MAX)
            return dv_spec_fail(err, field, -ERANGE, "%" JSON_INTEGER_FORMAT " is outside 1..%d", n,
                                DV_GROUP_COUNT_MAX);
    }
    _cleanup_json_ json_t *group =
        json_pack("{s:s, s:s, s:I}", "job", id, "name", name, "count",
                  (json_int_t)(!system && json_is_integer(count) ? json_integer_value(count) : 1));
    if (!group)
        return dv_spec_fail(err, path, -EINVAL, "job or group name is not valid UTF-8");
    json_t *meta = merged_meta(json_object_get(job, "Meta"), json_object_get(tg, "Meta"));
    if (json_object_size(meta))
        json_object_set_new(group, "meta", meta);
    else
        json_decref(meta);
    json_t *restart = NULL;
    dv_sj_join(field, path, "RestartPolicy");
    if ((r = dv_nomad_restart(json_object_get(tg, "RestartPolicy"), field, &restart, err)) < 0)
        return r;
    if (!restart && type && strcmp(type, "batch") == 0)
        restart = batch_restart();
    if (restart)
        json_object_set_new(group, "restart", restart);
    _cleanup_json_ json_t *tasks = NULL;
    if ((r = convert_tasks(tg, path, node, &tasks, err)) < 0 ||
        (r = convert_network(tg, path, tasks, group, err)) < 0)
        return r;
    json_object_set(group, "tasks", tasks);
    *ret = TAKE_PTR(group);
    return 0;
}

int dv_nomad_job_to_groups(const json_t *json, const dv_interp_vars *node, json_t **ret,
                           dv_spec_error *err)
{
    if (!dv_nomad_job_is_job(json))
        return dv_spec_fail(err, "Job", -EINVAL,
                            "not a Nomad job (expected {\"Job\": {...}} or a job object)");
    const json_t *job =
        json_is_object(json_object_get(json, "Job")) ? json_object_get(json, "Job") : json;
    const char *id, *name;
    int r;
    if ((r = dv_sj_string_ref(job, "Job", "ID", &id, err)) < 0 ||
        (r = dv_sj_string_ref(job, "Job", "Name", &name, err)) < 0)
        return r;
    id = id && *id ? id : name;
    if (!id || !*id)
        return dv_spec_fail(err, "Job.ID", -EINVAL, "job ID (or Name) required");
    if ((r = check_placement(job, node, err)) < 0 ||
        (r = dv_nomad_refuse(job, "Job", job_unsupported, err)) < 0 ||
        (r = dv_nomad_constraints_check(json_object_get(job, "Constraints"), "Job.Constraints",
                                        node, err)) < 0)
        return r;
    const json_t *tgs = json_object_get(job, "TaskGroups");
    if (!json_is_array(tgs) || json_array_size(tgs) == 0)
        return dv_spec_fail(err, "Job.TaskGroups", -EINVAL, "at least one task group required");
    _cleanup_json_ json_t *groups = json_array();
    for (size_t i = 0; i < json_array_size(tgs); i++) {
        char path[DV_SPEC_FIELD_MAX];
        dv_sj_index(path, "Job.TaskGroups", i);
        json_t *group = NULL;
        if ((r = convert_group(job, json_array_get(tgs, i), path, id, node, &group, err)) < 0)
            return r;
        json_array_append_new(groups, group);
    }
    *ret = TAKE_PTR(groups);
    return 0;
}
