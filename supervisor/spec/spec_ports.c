/* The network block, config.ports / port_map against it, and the port
 * requests the agent allocates (rules in spec_ports.h). */
#include "spec_ports.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "spec_json.h"
#include "spec_parse.h"
#include "xalloc.h"

static bool valid_label(const char *label)
{
    size_t n = strlen(label);
    if (n == 0 || n >= DV_PORT_LABEL_MAX)
        return false;
    for (const char *p = label; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

static const dv_network_port *find_port(const dv_task_spec *spec, const char *label)
{
    for (size_t i = 0; i < spec->network.n_ports; i++)
        if (strcmp(spec->network.ports[i].label, label) == 0)
            return &spec->network.ports[i];
    return NULL;
}

static const dv_port_map_entry *find_port_map(const dv_task_config *cfg, const char *label)
{
    for (size_t i = 0; i < cfg->n_port_map; i++)
        if (strcmp(cfg->port_map[i].label, label) == 0)
            return &cfg->port_map[i];
    return NULL;
}

void dv_network_ports_free(dv_network_port *ports, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ports[i].label);
    free(ports);
}

int dv_spec_parse_ports(const json_t *ports, const char *path, bool host_network,
                        dv_network_port **ret, size_t *ret_n, dv_spec_error *err)
{
    static const char *const task_keys[] = {"static", "to", NULL};
    static const char *const group_keys[] = {"static", "to", "host_network", NULL};
    size_t n = json_object_size(ports);
    dv_network_port *list = n ? dv_xcalloc(n, sizeof(*list)) : NULL;
    size_t count = 0;
    const char *label;
    const json_t *p;
    int r = 0;
    json_object_foreach((json_t *)ports, label, p)
    {
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_join(field, path, label);
        if (!valid_label(label)) {
            r = dv_spec_fail(err, field, -EINVAL,
                             "invalid port label (letters, digits and '_', at most %d)",
                             DV_PORT_LABEL_MAX - 1);
            break;
        }
        if (!json_is_object(p)) {
            r = dv_spec_fail(err, field, -EINVAL, "expected an object, got %s", dv_sj_type_name(p));
            break;
        }
        int64_t static_port = 0, to = 0;
        _cleanup_free_ char *hn = NULL;
        if ((r = dv_sj_check_keys(p, field, host_network ? group_keys : task_keys, err)) < 0 ||
            (r = dv_sj_int(p, field, "static", 0, 65535, &static_port, err)) < 0 ||
            (r = dv_sj_int(p, field, "to", 0, 65535, &to, err)) < 0 ||
            (r = dv_sj_string(p, field, "host_network", &hn, err)) < 0)
            break;
        /* The node has one host network (the agent's bind_address): Nomad's named
         * host networks have no counterpart here. */
        if (hn && *hn && strcmp(hn, "default") != 0) {
            char hfield[DV_SPEC_FIELD_MAX];
            dv_sj_join(hfield, field, "host_network");
            r = dv_spec_fail(err, hfield, -EINVAL,
                             "host network \"%s\" is not supported (this node has only "
                             "\"default\")",
                             hn);
            break;
        }
        for (size_t i = 0; static_port && i < count; i++)
            if (list[i].static_port == static_port) {
                char sfield[DV_SPEC_FIELD_MAX];
                dv_sj_join(sfield, field, "static");
                r = dv_spec_fail(err, sfield, -EINVAL, "port %d is already used by \"%s\"",
                                 (int)static_port, list[i].label);
                break;
            }
        if (r < 0)
            break;
        list[count].label = dv_xstrdup(label);
        list[count].static_port = (int)static_port;
        list[count].to = (int)to;
        count++;
    }
    if (r < 0) {
        dv_network_ports_free(list, count);
        return r;
    }
    *ret = list;
    *ret_n = count;
    return 0;
}

int dv_spec_parse_network(const json_t *network, dv_task_spec *spec, dv_spec_error *err)
{
    static const char *const keys[] = {"mode", "ports", NULL};
    int r;
    spec->network.mode = dv_xstrdup("bridge");
    if (!network)
        return 0;
    if ((r = dv_sj_check_keys(network, "network", keys, err)) < 0 ||
        (r = dv_sj_string(network, "network", "mode", &spec->network.mode, err)) < 0)
        return r;
    const char *mode = spec->network.mode;
    if (strcmp(mode, "bridge") != 0 && strcmp(mode, "host") != 0 && strcmp(mode, "none") != 0)
        return dv_spec_fail(err, "network.mode", -EINVAL,
                            "invalid mode \"%s\" (expected bridge, host or none)", mode);
    const json_t *ports = NULL;
    if ((r = dv_sj_object(network, "network", "ports", &ports, err)) < 0 || !ports)
        return r;
    return dv_spec_parse_ports(ports, "network.ports", false, &spec->network.ports,
                               &spec->network.n_ports, err);
}

void dv_spec_network_clear(dv_task_spec *spec)
{
    free(spec->network.mode);
    dv_network_ports_free(spec->network.ports, spec->network.n_ports);
    spec->network.mode = NULL;
    spec->network.ports = NULL;
    spec->network.n_ports = 0;
}

const char *dv_spec_network_mode(const dv_task_spec *spec)
{
    if (spec->config.network_mode && *spec->config.network_mode)
        return spec->config.network_mode;
    return spec->network.mode ? spec->network.mode : "bridge";
}

static bool is_user_network(const char *mode)
{
    return strcmp(mode, "bridge") != 0 && strcmp(mode, "host") != 0 && strcmp(mode, "none") != 0 &&
           strcmp(mode, "default") != 0 && strncmp(mode, "container:", 10) != 0;
}

/* Docker refuses these with a container: network mode (the container has no
 * network of its own); say so before anything is created. */
static int check_container_mode(const dv_task_config *cfg, const char *mode, dv_spec_error *err)
{
    const char *field = NULL;
    if (cfg->hostname && *cfg->hostname)
        field = "config.hostname";
    else if (cfg->mac_address && *cfg->mac_address)
        field = "config.mac_address";
    else if (cfg->dns_servers.n)
        field = "config.dns_servers";
    else if (cfg->dns_search_domains.n)
        field = "config.dns_search_domains";
    else if (cfg->dns_options.n)
        field = "config.dns_options";
    else if (cfg->extra_hosts.n)
        field = "config.extra_hosts";
    if (field)
        return dv_spec_fail(err, field, -EINVAL, "cannot be set with network mode \"%s\"", mode);
    return 0;
}

int dv_spec_check_ports(const dv_task_spec *spec, dv_spec_error *err)
{
    const dv_task_config *cfg = &spec->config;
    const char *group_mode = spec->network.mode;
    const char *mode = dv_spec_network_mode(spec);
    bool host = strcmp(mode, "host") == 0;

    if (cfg->network_mode && *cfg->network_mode && strcmp(group_mode, "bridge") != 0 &&
        strcmp(cfg->network_mode, group_mode) != 0)
        return dv_spec_fail(err, "config.network_mode", -EINVAL,
                            "\"%s\" conflicts with network.mode \"%s\"", cfg->network_mode,
                            group_mode);

    for (size_t i = 0; i < cfg->ports.n; i++) {
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "config.ports", i);
        if (!find_port(spec, cfg->ports.v[i]))
            return dv_spec_fail(err, field, -EINVAL,
                                "port \"%s\" not found, declare it in network.ports",
                                cfg->ports.v[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->ports.v[j], cfg->ports.v[i]) == 0)
                return dv_spec_fail(err, field, -EINVAL, "port \"%s\" is listed twice",
                                    cfg->ports.v[i]);
    }

    if (cfg->n_port_map) {
        if (cfg->ports.n)
            return dv_spec_fail(err, "config.port_map", -EINVAL,
                                "cannot be combined with config.ports (deprecated form; use "
                                "config.ports and network.ports.<label>.to)");
        for (size_t i = 0; i < spec->network.n_ports; i++)
            if (spec->network.ports[i].to)
                return dv_spec_fail(err, "config.port_map", -EINVAL,
                                    "cannot map group network ports: network.ports.%s sets "
                                    "\"to\"; use config.ports instead",
                                    spec->network.ports[i].label);
        for (size_t i = 0; i < cfg->n_port_map; i++) {
            char field[DV_SPEC_FIELD_MAX];
            dv_sj_join(field, "config.port_map", cfg->port_map[i].label);
            if (!find_port(spec, cfg->port_map[i].label))
                return dv_spec_fail(err, field, -EINVAL,
                                    "port \"%s\" not found, declare it in network.ports",
                                    cfg->port_map[i].label);
        }
        if (host)
            return dv_spec_fail(err, "config.port_map", -EINVAL,
                                "has no effect in host network mode (the container uses the "
                                "host's ports)");
    }

    if (host)
        for (size_t i = 0; i < spec->network.n_ports; i++) {
            const dv_network_port *p = &spec->network.ports[i];
            if (p->to && p->to != p->static_port) {
                char field[DV_SPEC_FIELD_MAX];
                snprintf(field, sizeof(field), "network.ports.%s.to", p->label);
                return dv_spec_fail(err, field, -EINVAL,
                                    "cannot map to another port in host network mode (the "
                                    "container uses the host's ports)");
            }
        }

    if (!is_user_network(mode)) {
        const char *field = cfg->network_aliases.n ? "config.network_aliases"
                            : cfg->ipv4_address    ? "config.ipv4_address"
                            : cfg->ipv6_address    ? "config.ipv6_address"
                                                   : NULL;
        if (field)
            return dv_spec_fail(err, field, -EINVAL,
                                "needs a user-defined network in config.network_mode (is \"%s\")",
                                mode);
    }
    if (strncmp(mode, "container:", 10) == 0)
        return check_container_mode(cfg, mode, err);
    /* Docker: "conflicting options: mac-address and the network mode" */
    if (host && cfg->mac_address && *cfg->mac_address)
        return dv_spec_fail(err, "config.mac_address", -EINVAL,
                            "cannot be set with network mode \"%s\"", mode);
    return 0;
}

int dv_spec_port_requests(const dv_task_spec *spec, dv_port_request **ret_reqs, size_t *ret_n,
                          dv_spec_error *err)
{
    (void)err;
    size_t n = spec->network.n_ports;
    const char *mode = dv_spec_network_mode(spec);
    /* Only a network namespace of the container's own can have ports published into it. */
    bool can_publish = strcmp(mode, "host") != 0 && strcmp(mode, "none") != 0 &&
                       strncmp(mode, "container:", 10) != 0;
    dv_port_request *reqs = n ? dv_xcalloc(n, sizeof(*reqs)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const dv_network_port *p = &spec->network.ports[i];
        dv_port_request *q = &reqs[i];
        q->label = p->label;
        q->static_port = p->static_port;
        if (spec->config.n_port_map) {
            const dv_port_map_entry *e = find_port_map(&spec->config, p->label);
            q->container_port = e ? e->container_port : 0;
            q->publish = can_publish;
        } else {
            q->container_port = p->to;
            q->publish = can_publish && dv_strv_contains(&spec->config.ports, p->label);
        }
        if (strcmp(mode, "host") == 0)
            q->container_port = 0;
    }
    *ret_reqs = reqs;
    *ret_n = n;
    return 0;
}

int dv_ports_placeholder(const dv_port_request *reqs, size_t n, int port_min, int port_max,
                         dv_port_alloc **ret, dv_spec_error *err)
{
    dv_port_alloc *allocs = n ? dv_xcalloc(n, sizeof(*allocs)) : NULL;
    int next = port_min;
    for (size_t i = 0; i < n; i++) {
        allocs[i].label = reqs[i].label;
        allocs[i].container_port = reqs[i].container_port;
        allocs[i].publish = reqs[i].publish;
        if (reqs[i].static_port) {
            allocs[i].host_port = reqs[i].static_port;
            continue;
        }
        for (;; next++) {
            if (next > port_max) {
                free(allocs);
                char field[DV_SPEC_FIELD_MAX];
                dv_sj_join(field, "network.ports", reqs[i].label);
                return dv_spec_fail(err, field, -ENOSPC, "no free port in the range %d-%d",
                                    port_min, port_max);
            }
            bool taken = false;
            for (size_t j = 0; j < n && !taken; j++)
                taken = reqs[j].static_port == next;
            if (!taken)
                break;
        }
        allocs[i].host_port = next++;
    }
    *ret = allocs;
    return 0;
}
