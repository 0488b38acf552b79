#include "endpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dv_endpoint_parse(const char *url, bool tls_configured, dv_endpoint *ret, dv_error *err)
{
    dv_endpoint ep;
    memset(&ep, 0, sizeof(ep));
    const char *rest;
    if (strncmp(url, "unix://", 7) == 0) {
        rest = url + 7;
        if (*rest != '/' || strlen(rest) >= sizeof(ep.path))
            return dv_error_set(err, -EINVAL, "endpoint \"%s\": expected unix:///absolute/path",
                                url);
        ep.unix_socket = true;
        snprintf(ep.path, sizeof(ep.path), "%s", rest);
        snprintf(ep.host_header, sizeof(ep.host_header), "docker");
        *ret = ep;
        return 0;
    }
    if (strncmp(url, "tcp://", 6) == 0) {
        rest = url + 6;
        ep.tls = tls_configured;
    } else if (strncmp(url, "http://", 7) == 0) {
        rest = url + 7;
    } else if (strncmp(url, "https://", 8) == 0) {
        rest = url + 8;
        ep.tls = true;
    } else {
        return dv_error_set(err, -EINVAL,
                            "endpoint \"%s\": unsupported scheme (unix://, tcp://, http://, "
                            "https://)",
                            url);
    }
    size_t hostlen;
    const char *after;
    if (*rest == '[') {
        const char *close = strchr(rest, ']');
        if (!close)
            return dv_error_set(err, -EINVAL, "endpoint \"%s\": unterminated [IPv6]", url);
        hostlen = (size_t)(close - rest - 1);
        memcpy(ep.host, rest + 1, hostlen < sizeof(ep.host) ? hostlen : 0);
        after = close + 1;
    } else {
        hostlen = strcspn(rest, ":/");
        if (hostlen < sizeof(ep.host))
            memcpy(ep.host, rest, hostlen);
        after = rest + hostlen;
    }
    if (hostlen == 0 || hostlen >= sizeof(ep.host))
        return dv_error_set(err, -EINVAL, "endpoint \"%s\": missing or bad host", url);
    ep.host[hostlen] = '\0';
    if (*after == ':') {
        after++;
        size_t n = strspn(after, "0123456789");
        long port = n ? strtol(after, NULL, 10) : 0;
        if (n == 0 || n >= sizeof(ep.port) || port < 1 || port > 65535)
            return dv_error_set(err, -EINVAL, "endpoint \"%s\": bad port", url);
        memcpy(ep.port, after, n);
        after += n;
    } else {
        snprintf(ep.port, sizeof(ep.port), "%s", ep.tls ? "2376" : "2375");
    }
    if (*after != '\0' && strcmp(after, "/") != 0)
        return dv_error_set(err, -EINVAL, "endpoint \"%s\": unexpected path \"%s\"", url, after);
    bool v6 = strchr(ep.host, ':') != NULL;
    snprintf(ep.host_header, sizeof(ep.host_header), "%s%s%s:%s", v6 ? "[" : "", ep.host,
             v6 ? "]" : "", ep.port);
    *ret = ep;
    return 0;
}
