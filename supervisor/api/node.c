#include "node.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The IPv4 address of interface NAME, or NULL. */
static json_t *interface_ipv4(const char *name)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return NULL;
    json_t *ip = NULL;
    for (struct ifaddrs *i = ifs; i && !ip; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || strcmp(i->ifa_name, name) != 0)
            continue;
        char buf[INET_ADDRSTRLEN];
        if (inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf, sizeof(buf)))
            ip = json_string(buf);
    }
    freeifaddrs(ifs);
    return ip;
}

/* Nomad's bridge_ip: the gateway of the default "bridge" network. Docker leaves
 * the gateway out of the default network's IPAM config, so then it is the
 * address of the bridge interface itself (docker0 unless configured). */
static json_t *bridge_ip(dv_docker *dk)
{
    _cleanup_json_ json_t *net = NULL;
    if (dv_docker_network_inspect(dk, "bridge", &net, NULL) < 0)
        return json_null();
    json_t *configs = json_object_get(json_object_get(net, "IPAM"), "Config");
    size_t i;
    json_t *c;
    json_array_foreach(configs, i, c)
    {
        const char *gw = json_string_value(json_object_get(c, "Gateway"));
        if (gw && *gw && !strchr(gw, ':'))
            return json_string(gw);
    }
    const char *ifname = json_string_value(
        json_object_get(json_object_get(net, "Options"), "com.docker.network.bridge.name"));
    json_t *ip = interface_ipv4(ifname && *ifname ? ifname : "docker0");
    return ip ? ip : json_null();
}

static json_t *runtimes(const json_t *info)
{
    json_t *a = json_array();
    json_t *rt = json_object_get(info, "Runtimes");
    size_t n = json_object_size(rt);
    if (n == 0)
        return a;
    const char **names = dv_xcalloc(n, sizeof(*names));
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(rt, key, v) names[k++] = key;
    qsort(names, k, sizeof(*names), cmp_str);
    for (size_t i = 0; i < k; i++)
        json_array_append_new(a, json_string(names[i]));
    free(names);
    return a;
}

json_t *dv_node_fingerprint(dv_docker *dk)
{
    dv_error err;
    _cleanup_json_ json_t *version = NULL;
    _cleanup_json_ json_t *info = NULL;
    if (dv_docker_version(dk, &version, &err) < 0 || dv_docker_info(dk, &info, &err) < 0)
        return json_pack("{s:b,s:s,s:s}", "healthy", 0, "error", err.msg, "endpoint",
                         dv_docker_endpoint(dk));
    const char *api = dv_docker_api_version(dk);
    return json_pack("{s:b,s:s,s:s?,s:s?,s:o,s:o,s:s?,s:s?,s:s?}", "healthy", 1, "endpoint",
                     dv_docker_endpoint(dk), "docker_version",
                     json_string_value(json_object_get(version, "Version")), "api_version", api,
                     "bridge_ip", bridge_ip(dk), "runtimes", runtimes(info), "default_runtime",
                     json_string_value(json_object_get(info, "DefaultRuntime")), "os",
                     json_string_value(json_object_get(info, "OperatingSystem")), "kernel_version",
                     json_string_value(json_object_get(info, "KernelVersion")));
}
