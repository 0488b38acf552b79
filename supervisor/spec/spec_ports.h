/* Ports: what a task needs from the agent, and what the agent gave it.
 *
 * The `network.ports` block declares labelled ports: `static` (a fixed host
 * port) or dynamic (0: the agent picks one from its port_range), and `to`
 * (the port inside the container; 0 = the same as the host port). The agent
 * allocates a host port for EVERY declared label (NOMAD_PORT_<label> and
 * friends are set for all of them); which of them Docker publishes depends on
 * the config block:
 *
 * - `config.ports` (current form): only the listed labels are published.
 *   Each must be declared in network.ports (validated by dv_spec_parse).
 * - `config.port_map` (deprecated form, task-network semantics): every
 *   declared port is published; the container port is port_map[label], or the
 *   host port for labels not in the map. It cannot be mixed with config.ports,
 *   nor with group-style `to` mappings in network.ports, and its labels must
 *   be declared in network.ports.
 * - neither: nothing is published (the ports are still allocated).
 *
 * In network mode "host" the container shares the host's ports, so `to` must
 * be 0 (or equal to static) and nothing is published; in "none" and
 * "container:<x>" modes nothing is published either.
 *
 * Flow: dv_spec_port_requests() → the agent allocates (never a port used by
 * another task or bound on the host) → dv_port_alloc[] → translate.h. */
#ifndef DV_SPEC_PORTS_H
#define DV_SPEC_PORTS_H

#include <stdbool.h>
#include <stddef.h>

#include "spec.h"
#include "spec_types.h"

typedef struct dv_port_request {
    const char *label;  /* points into the spec: valid while the spec lives */
    int static_port;    /* the host port required, or 0 for a dynamic one */
    int container_port; /* 0 = the host port (the container listens on what it is given) */
    bool publish;       /* Docker publishes it (PortBindings + ExposedPorts) */
} dv_port_request;

/* One request per network.ports label, in spec order. *ret_reqs is heap (free()),
 * NULL when there are none. Always 0 (ERR is kept for the callers). */
int dv_spec_port_requests(const dv_task_spec *spec, dv_port_request **ret_reqs, size_t *ret_n,
                          dv_spec_error *err);

/* The `ports` object of a network block at PATH ("network.ports"): one
 * dv_network_port per label, in JSON order. Labels are [A-Za-z0-9_]+, static
 * and to 0..65535, no static port twice. HOST_NETWORK: a port may also say
 * "host_network" (a group's; only "default" is supported, there is one host
 * network); a task's may not. *ret (free with dv_network_ports_free) and
 * *ret_n are untouched on failure. */
int dv_spec_parse_ports(const json_t *ports, const char *path, bool host_network,
                        dv_network_port **ret, size_t *ret_n, dv_spec_error *err);
void dv_network_ports_free(dv_network_port *ports, size_t n);

/* What the agent allocated. The agent persists these with the task record
 * (a restarted container keeps its ports). */
typedef struct dv_port_alloc {
    const char *label;  /* caller-owned */
    int host_port;      /* 1..65535 */
    int container_port; /* 0 = host_port */
    bool publish;
} dv_port_alloc;

/* Placeholder allocation for `dockvisor validate` and POST /v1/validate,
 * where nothing is really reserved: static ports as requested, dynamic ones
 * the lowest ports of [PORT_MIN, PORT_MAX] not used by this task's static
 * ports. *ret is heap (labels point into REQS). -ENOSPC if the range is too
 * small. */
int dv_ports_placeholder(const dv_port_request *reqs, size_t n, int port_min, int port_max,
                         dv_port_alloc **ret, dv_spec_error *err);

#endif
