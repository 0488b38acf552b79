/* Where a task's spec is resolved (task_env.h) and translated (translate.h):
 * its identity, directories, ports and the node's facts. */
#ifndef DV_TRANSLATE_CTX_H
#define DV_TRANSLATE_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "spec_paths.h"
#include "spec_ports.h"
#include "spec_types.h"

typedef struct dv_translate_ctx {
    const char *task_id;        /* the task's UUID (NOMAD_ALLOC_ID, label, container name) */
    const char *node_id;        /* the agent's persistent node id (label) */
    const dv_task_paths *paths; /* required */
    const dv_port_alloc *ports; /* one per network.ports label (dv_spec_port_requests) */
    size_t n_ports;
    const char *bind_address; /* NULL = config->bind_address */
    const char *advertise_ip; /* NOMAD_IP_<label>; NULL = the bind address, or
                                 127.0.0.1 when that is 0.0.0.0 / :: */
    /* Config.Image: the image id the agent resolved (so the container runs
     * exactly what was pulled), or NULL for the spec's normalized reference. */
    const char *image;
    /* Host CPU for cpu_hard_limit (dv_host_cpu() below): logical CPUs and
     * their total MHz. 0 → 1 CPU at 1000 MHz (then 1 MHz = 1/1000 CPU). */
    int ncpus;
    int64_t cpu_total_mhz;
    /* The canonical host path of each config.devices entry (dv_policy_check_devices()),
     * sent as PathOnHost; NULL = the paths as written (previews, tests). */
    const dv_strv *device_paths;
    /* HostConfig.SecurityOpt, one entry per config.security_opt option: each
     * seccomp=<path> replaced by the profile the agent read from the file at this
     * create (dv_policy_security_opts()), since translation itself reads no file.
     * NULL = the options as written (validate's preview, the dry run at submit,
     * tests): a profile by path is then shown as "seccomp=<path>", which the
     * Engine would refuse, so a body for a real create must have it. */
    const dv_strv *security_opt;
    /* The job and group the task runs in, and its allocation's index: NULL
     * (and 0) for a task alone, which is a job and group of its own name. */
    const char *job_name, *group_name;
    int alloc_index;
    /* NOMAD_ALLOC_ID and Nomad's alloc_id label: the allocation a task of a group
     * belongs to; NULL = task_id (a task alone is its own allocation). */
    const char *alloc_id;
    /* "container:<name>": the network namespace of the allocation's infra
     * container, which a task of a group with bridge networking joins. PORTS are
     * then the group's (for NOMAD_PORT_* only: the infra container publishes
     * them). NULL = the spec's own network mode. */
    const char *network_join;
    /* This node's attributes for ${attr.<name>} (dv_node_attrs()); NULL = none. */
    const dv_kv *attrs;
} dv_translate_ctx;

#endif
