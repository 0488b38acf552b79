/* Node fingerprint for GET /v1/node and `dockvisor node-status`: what Nomad's
 * docker driver fingerprints (daemon reachable, version, bridge IP,
 * runtimes). The policy part (privileged, volumes, pids limit) and the task
 * counts are added by the agent from its config and table. */
#ifndef DV_NODE_H
#define DV_NODE_H

#include <jansson.h>

#include "docker.h"

/* Blocking: run it on a worker. Always returns an object (NULL only on
 * -ENOMEM): {"healthy": true, "docker_version", "api_version", "bridge_ip",
 * "runtimes": [..], "default_runtime", "os", "kernel_version"} or
 * {"healthy": false, "error": "..."}. */
json_t *dv_node_fingerprint(dv_docker *dk);

#endif
