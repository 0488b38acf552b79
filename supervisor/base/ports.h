/* Host port allocation for task port mappings (the network block's ports).
 *
 * Dynamic ports come from the agent's port_range; static ports are whatever
 * the spec asks for. A port is never handed out while another task holds it,
 * nor while something on the host has it bound (probed by binding TCP and UDP
 * sockets on the agent's bind_address). Ports belong to a task until
 * dv_ports_release_task() (on destroy): a restarted task keeps its ports.
 * Dynamic allocation is next-fit, so a just-released port is not immediately
 * handed to the next task (a client may still be talking to the old one).
 *
 * Plain data owned by the loop thread: no locking. The holder table is rebuilt
 * from task records on recovery with dv_ports_reserve(..., check_host=false),
 * because then the task's own container is what binds the port. */
#ifndef DV_PORTS_H
#define DV_PORTS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef struct dv_ports dv_ports;

/* Is PORT free on the host? Replaceable for tests (fault injection). */
typedef bool (*dv_port_probe_fn)(const char *bind_address, int port, void *userdata);

/* "20000-32000" → 20000, 32000 (1 <= min <= max <= 65535). */
int dv_ports_parse_range(const char *text, int *ret_min, int *ret_max, dv_error *err);

int dv_ports_new(int min, int max, const char *bind_address, dv_ports **ret, dv_error *err);
void dv_ports_free(dv_ports *ports);
void dv_ports_set_probe(dv_ports *ports, dv_port_probe_fn probe, void *userdata);
/* SIGHUP may change the range: held ports stay held, new allocations use the new range. */
int dv_ports_set_range(dv_ports *ports, int min, int max, dv_error *err);

/* The default probe: bind TCP and UDP on BIND_ADDRESS:PORT. */
bool dv_port_probe_bind(const char *bind_address, int port, void *userdata);

typedef struct dv_port_claim {
    const char *label;
    int static_port; /* > 0: exactly this port; 0: dynamic from the range */
    int value;       /* out: the host port */
    bool failed;     /* out: this claim is the one that could not be met */
} dv_port_claim;

/* Give TASK_ID a host port for every request, all or nothing: on failure the
 * ports taken by this call are released, err names the label and the failing
 * claim is marked `failed`. A task that
 * already holds a static port may ask for it again (restart). */
int dv_ports_assign(dv_ports *ports, const char *task_id, dv_port_claim *reqs, size_t n,
                    dv_error *err);

/* Mark PORT as held by TASK_ID (recovery). -EADDRINUSE if another task holds it,
 * or if CHECK_HOST and it is bound on the host. */
int dv_ports_reserve(dv_ports *ports, const char *task_id, int port, bool check_host,
                     dv_error *err);

/* Release every port TASK_ID holds; returns how many. */
int dv_ports_release_task(dv_ports *ports, const char *task_id);

/* The task holding PORT, or NULL. */
const char *dv_ports_holder(const dv_ports *ports, int port);
size_t dv_ports_held(const dv_ports *ports);

#endif
