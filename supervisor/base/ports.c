#include "ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

struct holder {
    int port;
    char *task_id;
};

struct dv_ports {
    int min, max;
    int cursor; /* next dynamic candidate */
    char *bind_address;
    dv_port_probe_fn probe;
    void *probe_userdata;
    uint8_t used[65536 / 8];
    struct holder *holders;
    size_t n, cap;
};

static bool is_used(const dv_ports *p, int port)
{
    return p->used[port / 8] & (1u << (port % 8));
}

static void set_used(dv_ports *p, int port, bool on)
{
    if (on)
        p->used[port / 8] |= (uint8_t)(1u << (port % 8));
    else
        p->used[port / 8] &= (uint8_t) ~(1u << (port % 8));
}

static int parse_port(const char *s, const char **end)
{
    long v = 0;
    const char *q = s;
    while (*q >= '0' && *q <= '9' && q - s < 6)
        v = v * 10 + (*q++ - '0');
    *end = q;
    if (q == s || v < 1 || v > 65535)
        return -1;
    return (int)v;
}

int dv_ports_parse_range(const char *text, int *ret_min, int *ret_max, dv_error *err)
{
    if (!text)
        return dv_error_set(err, -EINVAL, "port_range: missing");
    const char *end;
    int min = parse_port(text, &end);
    if (min < 0 || *end != '-')
        return dv_error_set(err, -EINVAL, "port_range: \"%s\" is not MIN-MAX (1-65535)", text);
    int max = parse_port(end + 1, &end);
    if (max < 0 || *end != '\0')
        return dv_error_set(err, -EINVAL, "port_range: \"%s\" is not MIN-MAX (1-65535)", text);
    if (min > max)
        return dv_error_set(err, -EINVAL, "port_range: \"%s\": MIN is above MAX", text);
    *ret_min = min;
    *ret_max = max;
    return 0;
}

bool dv_port_probe_bind(const char *bind_address, int port, void *userdata)
{
    (void)userdata;
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int family;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    const char *addr = bind_address && *bind_address ? bind_address : "0.0.0.0";
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        family = in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        family = in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        len = sizeof(*in6);
    } else {
        return false;
    }
    /* Docker publishes both tcp and udp for every mapped port, as Nomad asks it to. */
    const int types[] = {SOCK_STREAM, SOCK_DGRAM};
    for (size_t i = 0; i < DV_ARRAY_SIZE(types); i++) {
        _cleanup_close_ int fd = socket(family, types[i] | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0)
            return false;
    }
    return true;
}

int dv_ports_new(int min, int max, const char *bind_address, dv_ports **ret, dv_error *err)
{
    dv_ports *p = dv_xcalloc(1, sizeof(*p));
    p->bind_address = dv_xstrdup(bind_address ? bind_address : "0.0.0.0");
    p->probe = dv_port_probe_bind;
    int r = dv_ports_set_range(p, min, max, err);
    if (r < 0) {
        dv_ports_free(p);
        return r;
    }
    *ret = p;
    return 0;
}

void dv_ports_free(dv_ports *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->holders[i].task_id);
    free(p->holders);
    free(p->bind_address);
    free(p);
}

void dv_ports_set_probe(dv_ports *p, dv_port_probe_fn probe, void *userdata)
{
    p->probe = probe ? probe : dv_port_probe_bind;
    p->probe_userdata = userdata;
}

int dv_ports_set_range(dv_ports *p, int min, int max, dv_error *err)
{
    if (min < 1 || max > 65535 || min > max)
        return dv_error_set(err, -EINVAL, "port range %d-%d is not within 1-65535", min, max);
    p->min = min;
    p->max = max;
    if (p->cursor < min || p->cursor > max)
        p->cursor = min;
    return 0;
}

static struct holder *find(const dv_ports *p, int port)
{
    if (!is_used(p, port))
        return NULL;
    for (size_t i = 0; i < p->n; i++)
        if (p->holders[i].port == port)
            return &p->holders[i];
    return NULL;
}

const char *dv_ports_holder(const dv_ports *p, int port)
{
    if (port < 1 || port > 65535)
        return NULL;
    struct holder *h = find(p, port);
    return h ? h->task_id : NULL;
}

size_t dv_ports_held(const dv_ports *p)
{
    return p->n;
}

static void add(dv_ports *p, const char *task_id, int port)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        p->holders = dv_xreallocarray(p->holders, cap, sizeof(*p->holders));
        p->cap = cap;
    }
    p->holders[p->n++] = (struct holder){port, dv_xstrdup(task_id)};
    set_used(p, port, true);
}

static void drop(dv_ports *p, int port)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->holders[i].port == port) {
            free(p->holders[i].task_id);
            p->holders[i] = p->holders[--p->n];
            set_used(p, port, false);
            return;
        }
}

int dv_ports_reserve(dv_ports *p, const char *task_id, int port, bool check_host, dv_error *err)
{
    if (port < 1 || port > 65535)
        return dv_error_set(err, -EINVAL, "port %d is not within 1-65535", port);
    struct holder *h = find(p, port);
    if (h) {
        if (strcmp(h->task_id, task_id) == 0)
            return 0;
        return dv_error_set(err, -EADDRINUSE, "port %d is held by task %s", port, h->task_id);
    }
    if (check_host && !p->probe(p->bind_address, port, p->probe_userdata))
        return dv_error_set(err, -EADDRINUSE, "port %d is already in use on %s", port,
                            p->bind_address);
    add(p, task_id, port);
    return 0;
}

static int allocate_dynamic(dv_ports *p, const char *task_id, int *ret, dv_error *err)
{
    int span = p->max - p->min + 1;
    for (int i = 0; i < span; i++) {
        int port = p->cursor;
        p->cursor = port == p->max ? p->min : port + 1;
        if (is_used(p, port) || !p->probe(p->bind_address, port, p->probe_userdata))
            continue;
        add(p, task_id, port);
        *ret = port;
        return 0;
    }
    return dv_error_set(err, -EADDRNOTAVAIL, "no free port left in port_range %d-%d", p->min,
                        p->max);
}

int dv_ports_assign(dv_ports *p, const char *task_id, dv_port_claim *reqs, size_t n, dv_error *err)
{
    int taken[n > 0 ? n : 1];
    size_t ntaken = 0;
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        int port = 0;
        if (reqs[i].static_port > 0) {
            port = reqs[i].static_port;
            bool mine = dv_ports_holder(p, port) && strcmp(dv_ports_holder(p, port), task_id) == 0;
            r = dv_ports_reserve(p, task_id, port, true, err);
            if (r >= 0 && !mine)
                taken[ntaken++] = port;
        } else {
            r = allocate_dynamic(p, task_id, &port, err);
            if (r >= 0)
                taken[ntaken++] = port;
        }
        if (r < 0) {
            reqs[i].failed = true;
            dv_error_wrap(err, "port \"%s\"", reqs[i].label ? reqs[i].label : "?");
            for (size_t k = 0; k < ntaken; k++)
                drop(p, taken[k]);
            return r;
        }
        reqs[i].value = port;
    }
    return 0;
}

int dv_ports_release_task(dv_ports *p, const char *task_id)
{
    int released = 0;
    for (size_t i = 0; i < p->n;) {
        if (strcmp(p->holders[i].task_id, task_id) == 0) {
            set_used(p, p->holders[i].port, false);
            free(p->holders[i].task_id);
            p->holders[i] = p->holders[--p->n];
            released++;
        } else {
            i++;
        }
    }
    return released;
}
