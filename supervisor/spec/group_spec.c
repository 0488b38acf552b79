/* The group spec: its own keys, the group's network, and its tasks with the
 * group's defaults applied (rules in group_spec.h). */
#include "group_spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "spec_json.h"
#include "spec_ports.h"
#include "xalloc.h"

static const char *const top_keys[] = {"name", "job",     "count", "network",
                                       "meta", "restart", "tasks", NULL};

/* Docker refuses these with a container: network mode, which is what a task of a
 * bridge-mode group gets (the infra container's namespace). */
static const char *const bridge_refused[] = {
    "network_mode",       "ports",           "port_map",    "hostname",    "dns_servers",
    "dns_search_domains", "dns_options",     "extra_hosts", "mac_address", "ipv4_address",
    "ipv6_address",       "network_aliases", NULL};
/* In the other modes the container has a network of its own, but which one and
 * which ports it gets is the group's to say. */
static const char *const other_refused[] = {"network_mode", "ports", "port_map", NULL};

void dv_group_spec_free(dv_group_spec *group)
{
    if (!group)
        return;
    free(group->job);
    free(group->name);
    free(group->network_mode);
    dv_network_ports_free(group->ports, group->n_ports);
    dv_strv_free(&group->dns_servers);
    dv_strv_free(&group->dns_searches);
    dv_strv_free(&group->dns_options);
    dv_kv_free(&group->meta);
    json_decref(group->restart);
    for (size_t i = 0; i < group->n_tasks; i++)
        json_decref(group->tasks[i]);
    free(group->tasks);
    free(group);
}

static void group_freep(dv_group_spec **group)
{
    dv_group_spec_free(*group);
}

bool dv_group_spec_is_group(const json_t *json)
{
    return json_is_object(json) && json_object_get(json, "tasks") != NULL;
}

/* Set as a spec means more than null, "", [] or {}: what a generated job JSON
 * writes for an option nobody gave. */
static bool is_set(const json_t *v)
{
    if (!v || json_is_null(v))
        return false;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return true;
}

static int parse_names(const json_t *json, dv_group_spec *g, dv_spec_error *err)
{
    int r;
    if ((r = dv_sj_string(json, "", "name", &g->name, err)) < 0 ||
        (r = dv_sj_string(json, "", "job", &g->job, err)) < 0)
        return r;
    if (!g->name || !*g->name)
        return dv_spec_fail(err, "name", -EINVAL, "group name required");
    if (!dv_sj_valid_docker_name(g->name, DV_GROUP_NAME_MAX))
        return dv_spec_fail(err, "name", -EINVAL,
                            "invalid group name \"%s\" (letters, digits, '_', '.', '-'; starting "
                            "with a letter or digit; at most %d characters)",
                            g->name, DV_GROUP_NAME_MAX);
    if (!g->job)
        g->job = dv_xstrdup(g->name);
    if (!dv_sj_valid_docker_name(g->job, DV_TASK_NAME_MAX))
        return dv_spec_fail(err, "job", -EINVAL,
                            "invalid job name \"%s\" (letters, digits, '_', '.', '-'; starting "
                            "with a letter or digit; at most %d characters)",
                            g->job, DV_TASK_NAME_MAX);
    return 0;
}

static int parse_dns(const json_t *network, dv_group_spec *g, dv_spec_error *err)
{
    static const char *const keys[] = {"servers", "searches", "options", NULL};
    const json_t *dns = NULL;
    int r;
    if ((r = dv_sj_object(network, "network", "dns", &dns, err)) < 0 || !dns)
        return r;
    if ((r = dv_sj_check_keys(dns, "network.dns", keys, err)) < 0 ||
        (r = dv_sj_strv(dns, "network.dns", "servers", &g->dns_servers, NULL, err)) < 0 ||
        (r = dv_sj_strv(dns, "network.dns", "searches", &g->dns_searches, NULL, err)) < 0 ||
        (r = dv_sj_strv(dns, "network.dns", "options", &g->dns_options, NULL, err)) < 0)
        return r;
    for (size_t i = 0; i < g->dns_servers.n; i++)
        if (!dv_sj_valid_ip(g->dns_servers.v[i])) {
            char field[DV_SPEC_FIELD_MAX];
            dv_sj_index(field, "network.dns.servers", i);
            return dv_spec_fail(err, field, -EINVAL, "invalid IP address \"%s\"",
                                g->dns_servers.v[i]);
        }
    return 0;
}

static int parse_network(const json_t *json, dv_group_spec *g, dv_spec_error *err)
{
    static const char *const keys[] = {"mode", "ports", "dns", NULL};
    const json_t *network = NULL, *ports = NULL;
    int r;
    g->network_mode = dv_xstrdup("bridge");
    if ((r = dv_sj_object(json, "", "network", &network, err)) < 0 || !network)
        return r;
    if ((r = dv_sj_check_keys(network, "network", keys, err)) < 0 ||
        (r = dv_sj_string(network, "network", "mode", &g->network_mode, err)) < 0)
        return r;
    /* A user-defined network's name, as Docker takes it; "container:<x>" is
     * refused by the rule: sharing a namespace is what bridge mode is for. */
    if (!dv_sj_valid_docker_name(g->network_mode, 255))
        return dv_spec_fail(err, "network.mode", -EINVAL,
                            "invalid mode \"%s\" (expected bridge, host, none or the name of a "
                            "Docker network)",
                            g->network_mode);
    if ((r = dv_sj_object(network, "network", "ports", &ports, err)) < 0 ||
        (ports && (r = dv_spec_parse_ports(ports, "network.ports", true, &g->ports, &g->n_ports,
                                           err)) < 0) ||
        (r = parse_dns(network, g, err)) < 0)
        return r;
    if (strcmp(g->network_mode, "host") == 0)
        for (size_t i = 0; i < g->n_ports; i++)
            if (g->ports[i].to && g->ports[i].to != g->ports[i].static_port) {
                char field[DV_SPEC_FIELD_MAX];
                snprintf(field, sizeof(field), "network.ports.%s.to", g->ports[i].label);
                return dv_spec_fail(err, field, -EINVAL,
                                    "cannot map to another port in host network mode (the "
                                    "tasks use the host's ports)");
            }
    return 0;
}

/* "restart" and "meta" are checked by the task spec's own rules, on a task that
 * has nothing else: their fields are named as the group names them. */
static int parse_task_defaults(const json_t *json, dv_group_spec *g, dv_spec_error *err)
{
    const json_t *restart = json_object_get(json, "restart");
    const json_t *meta = json_object_get(json, "meta");
    _cleanup_json_ json_t *probe =
        json_pack("{s:s, s:{s:s}}", "name", "group", "config", "image", "probe");
    if (restart)
        json_object_set(probe, "restart", (json_t *)restart);
    if (meta)
        json_object_set(probe, "meta", (json_t *)meta);
    dv_task_spec *spec = NULL;
    int r = dv_spec_parse(probe, &spec, err);
    if (r < 0)
        return r;
    dv_task_spec_free(spec);
    if (restart && !json_is_null(restart)) {
        g->restart = json_deep_copy(restart);
        if (!g->restart)
            dv_oom("group restart");
    }
    return dv_sj_kv(json, "", "meta", &g->meta, err);
}

/* "tasks[I].FIELD: reason" from a task's own error "FIELD: reason". */
static int task_fail(dv_spec_error *err, size_t i, const dv_spec_error *cause)
{
    char prefix[DV_SPEC_FIELD_MAX], field[DV_SPEC_FIELD_MAX];
    dv_sj_index(prefix, "tasks", i);
    const char *reason = cause->err.msg;
    size_t n = strlen(cause->field);
    if (n && strncmp(reason, cause->field, n) == 0 && strncmp(reason + n, ": ", 2) == 0)
        reason += n + 2;
    if (n)
        dv_sj_join(field, prefix, cause->field);
    else
        snprintf(field, sizeof(field), "%s", prefix);
    return dv_spec_fail(err, field, cause->err.code, "%s", reason);
}

static int check_task_network(const json_t *task, const char *path, const char *mode,
                              dv_spec_error *err)
{
    char field[DV_SPEC_FIELD_MAX];
    if (is_set(json_object_get(task, "network"))) {
        dv_sj_join(field, path, "network");
        return dv_spec_fail(err, field, -EINVAL,
                            "set on the group's network (ports and the network mode belong to "
                            "the group)");
    }
    const json_t *config = json_object_get(task, "config");
    bool bridge = strcmp(mode, "bridge") == 0;
    for (const char *const *k = bridge ? bridge_refused : other_refused; *k; k++) {
        if (!is_set(json_object_get(config, *k)))
            continue;
        char cpath[DV_SPEC_FIELD_MAX];
        dv_sj_join(cpath, path, "config");
        dv_sj_join(field, cpath, *k);
        if (bridge)
            return dv_spec_fail(err, field, -EINVAL,
                                "set on the group's network in a group with bridge networking");
        return dv_spec_fail(err, field, -EINVAL, "set on the group's network (network.mode \"%s\")",
                            mode);
    }
    return 0;
}

/* TASK with the group's defaults: its restart block, else the group's; the
 * group's meta overlaid by its own (a meta that is not an object stays, for
 * dv_spec_parse to name). */
static json_t *task_with_defaults(const json_t *task, const json_t *group_meta,
                                  const dv_group_spec *g)
{
    json_t *copy = json_deep_copy(task);
    if (!copy)
        dv_oom("group task");
    const json_t *restart = json_object_get(copy, "restart");
    if (g->restart && (!restart || json_is_null(restart)))
        json_object_set_new(copy, "restart", json_deep_copy(g->restart));
    const json_t *meta = json_object_get(copy, "meta");
    if (json_is_object(group_meta) && json_object_size(group_meta) &&
        (!meta || json_is_null(meta) || json_is_object(meta))) {
        json_t *merged = json_deep_copy(group_meta);
        if (!merged)
            dv_oom("group meta");
        if (meta && !json_is_null(meta))
            json_object_update(merged, (json_t *)meta);
        json_object_set_new(copy, "meta", merged);
    }
    return copy;
}

/* TASK as it will run outside bridge mode, where its container joins the
 * group's network itself: its options are checked against that network
 * (network_aliases need a user-defined one, mac_address no host network). In
 * bridge mode the runtime gives it the infra container's namespace. */
static json_t *task_in_network(json_t *task, const char *mode)
{
    json_t *config = json_object_get(task, "config");
    if (strcmp(mode, "bridge") == 0 || !json_is_object(config))
        return json_incref(task);
    json_t *probe = json_deep_copy(task);
    if (!probe)
        dv_oom("group task");
    json_object_set_new(json_object_get(probe, "config"), "network_mode", json_string(mode));
    return probe;
}

static int parse_tasks(const json_t *json, dv_group_spec *g, dv_spec_error *err)
{
    const json_t *tasks = json_object_get(json, "tasks");
    if (tasks && !json_is_null(tasks) && !json_is_array(tasks))
        return dv_spec_fail(err, "tasks", -EINVAL, "expected an array of task specs, got %s",
                            dv_sj_type_name(tasks));
    size_t n = json_array_size(tasks);
    if (n == 0)
        return dv_spec_fail(err, "tasks", -EINVAL, "at least one task required");
    if (n > DV_GROUP_TASKS_MAX)
        return dv_spec_fail(err, "tasks", -EINVAL, "%zu tasks, at most %d in a group", n,
                            DV_GROUP_TASKS_MAX);
    const json_t *group_meta = json_object_get(json, "meta");
    g->tasks = dv_xcalloc(n, sizeof(*g->tasks));
    for (size_t i = 0; i < n; i++) {
        const json_t *task = json_array_get(tasks, i);
        char path[DV_SPEC_FIELD_MAX];
        dv_sj_index(path, "tasks", i);
        if (!json_is_object(task))
            return dv_spec_fail(err, path, -EINVAL, "expected a task spec object, got %s",
                                dv_sj_type_name(task));
        int r = check_task_network(task, path, g->network_mode, err);
        if (r < 0)
            return r;
        json_t *copy = task_with_defaults(task, group_meta, g);
        g->tasks[g->n_tasks++] = copy;
        dv_task_spec *spec = NULL;
        dv_spec_error cause;
        dv_spec_error_clear(&cause);
        _cleanup_json_ json_t *probe = task_in_network(copy, g->network_mode);
        if (dv_spec_parse(probe, &spec, &cause) < 0)
            return task_fail(err, i, &cause);
        dv_task_spec_free(spec);
        /* The name parsed, so it is a string. */
        const char *name = json_string_value(json_object_get(copy, "name"));
        for (size_t j = 0; j < i; j++)
            if (strcmp(name, json_string_value(json_object_get(g->tasks[j], "name"))) == 0) {
                char field[DV_SPEC_FIELD_MAX];
                dv_sj_join(field, path, "name");
                return dv_spec_fail(err, field, -EINVAL,
                                    "duplicate task name \"%s\" (also tasks[%zu])", name, j);
            }
    }
    return 0;
}

int dv_group_spec_parse(const json_t *json, dv_group_spec **ret, dv_spec_error *err)
{
    if (!json_is_object(json))
        return dv_spec_fail(err, "", -EINVAL, "the group spec must be a JSON object, got %s",
                            json ? dv_sj_type_name(json) : "nothing");
    __attribute__((cleanup(group_freep))) dv_group_spec *g = dv_xcalloc(1, sizeof(*g));
    g->count = 1;
    int r;
    if ((r = dv_sj_check_keys(json, "", top_keys, err)) < 0 ||
        (r = parse_names(json, g, err)) < 0 ||
        (r = dv_sj_int(json, "", "count", 1, DV_GROUP_COUNT_MAX, &g->count, err)) < 0 ||
        (r = parse_network(json, g, err)) < 0 || (r = parse_task_defaults(json, g, err)) < 0 ||
        (r = parse_tasks(json, g, err)) < 0)
        return r;
    *ret = TAKE_PTR(g);
    return 0;
}
