/* Node fingerprint for GET /v1/node and `dockvisor node-status`: what Nomad's
 * docker driver fingerprints (daemon reachable, version, bridge IP,
 * runtimes). The policy part (privileged, volumes, pids limit) and the task
 * counts are added by the agent from its config and table. */
#ifndef DV_NODE_H
#define DV_NODE_H

#include <jansson.h>

#include "docker.h"

/* Blocking: run it on a worker. Always returns an object (NULL only when the
 * Engine's answer holds a string Jansson refuses, not UTF-8): {"healthy": true, "docker_version",
 * "api_version", "bridge_ip", "runtimes": [..], "default_runtime", "os", "kernel_version"} or
 * {"healthy": false, "error": "..."}. */
json_t *dv_node_fingerprint(dv_docker *dk);

/* GET /v1/node answers from a fingerprint younger than DV_NODE_FRESH, else from one
 * younger than DV_NODE_CACHE_MAX while a new one is taken in the background; with
 * neither, it waits for the new one at most DV_NODE_ANSWER_WAIT and then says that
 * Docker does not answer. The fingerprint's own Engine calls have a deadline of
 * DV_NODE_FINGERPRINT_TIMEOUT (not the client's 5 minutes): node-status is what
 * an operator asks precisely when Docker hangs. */
#define DV_NODE_FRESH (INT64_C(2) * 1000000000)
#define DV_NODE_CACHE_MAX (INT64_C(30) * 1000000000)
#define DV_NODE_ANSWER_WAIT (INT64_C(3) * 1000000000)
#define DV_NODE_FINGERPRINT_TIMEOUT (INT64_C(10) * 1000000000)

#endif
