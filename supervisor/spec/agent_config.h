/* The agent config file (JSON): agent settings plus, under "docker", every
 * plugin option of the Nomad docker driver, with the docs' defaults.
 *
 *   {
 *     "data_dir": "/var/lib/dockvisor",           default
 *     "socket": "/run/dockvisor/dockvisor.sock",  default
 *     "bind_address": "0.0.0.0",                  default; host IP of published ports
 *     "port_range": "20000-32000",                default; dynamic host ports
 *     "max_kill_timeout": "30s",   default (Nomad's client option): caps a spec's
 *                                  kill_timeout and a stop's timeout
 *     "max_exec_timeout": "30m",   default: an exec asking longer is refused (400);
 *                                  each exec holds a worker of the exec lane
 *     "docker": {
 *       "endpoint": "unix:///...",      default unset: DOCKER_HOST, then the local socket
 *       "auth": {"config": "/etc/docker-auth.json", "helper": "ecr-login"},
 *       "tls": {"cert": "...", "key": "...", "ca": "..."},   all three or none; ignored
 *                                       (left NULL) without endpoint, as the docs say
 *       "allow_privileged": false,
 *       "allow_caps": ["audit_write", "chown", ...],   default: Docker's set without net_raw
 *       "allow_runtimes": ["runc", "nvidia"],
 *       "allow_host_network": false,    network mode "host" (task or network.mode)
 *       "allow_unconfined": false,      security_opt seccomp/apparmor/systempaths
 *                                       =unconfined, label=disable ("disable")
 *       "allow_devices": [],            globs (fnmatch, FNM_PATHNAME) over the
 *                                       canonical host path of config.devices
 *                                       ("/dev/fuse", "/dev/nvidia*"); default none
 *       (allow_privileged true allows all three, as it allows everything else)
 *       "pull_activity_timeout": "2m",  minimum 1m
 *       "pids_limit": 0,                0 = unlimited; else the maximum a task may ask
 *       "extra_labels": ["job_name", "task*"],   globs over DV_EXTRA_LABEL_NAMES
 *       "disable_log_collection": false,
 *       "logging": {"type": "json-file", "config": {"max-file": "2", "max-size": "2m"}},
 *                                       default only when the block is absent: a
 *                                       block's missing keys are Docker's defaults
 *       "gc": {"image": true, "image_delay": "3m", "container": true,
 *              "dangling_containers": {"enabled": true, "dry_run": false,
 *                                      "period": "5m", "creation_grace": "5m"}},
 *                                       creation_grace at least 1m (Nomad's minimum)
 *       "volumes": {"enabled": false, "selinuxlabel": ""},
 *       "infra_image": "gcr.io/google_containers/pause-<arch>:3.1",
 *       "infra_image_pull_timeout": "5m",
 *       "image_pull_timeout": "5m",     a task's image_pull_timeout when it gives none
 *       "container_exists_attempts": 5, creates tried against a container name in use
 *                                       (a dead container of the task is removed first)
 *       "nvidia_runtime": "nvidia",     accepted for Nomad's configs; dockvisor has no
 *                                       GPU device plugin, so nothing selects it
 *       "log_source": "auto"            where each task's docklog reads the container's
 *                                       log: "auto" Docker's json-file (uncompressed) or
 *                                       local files from disk on a local Engine
 *                                       (unix://), else the Engine API; "file" always
 *                                       the files (a driver or Engine they cannot be read
 *                                       for fails log collection with the reason); "api"
 *                                       always the API (docklog/config.h "source")
 *       (windows_allow_insecure_container_admin and isolation are refused: "only
 *       meaningful on Windows"; logging.driver is an older name of logging.type)
 *     },
 *     "telemetry": {
 *       "prometheus_address": "127.0.0.1:9700"   default unset: no TCP listener. IPv4:PORT
 *                                       or [IPv6]:PORT, numeric, port 1-65535: GET /metrics
 *                                       over plain HTTP, nothing else (metrics_listener.h)
 *     },
 *     "node": {                         what Nomad's client config says of the node
 *       "name": "<host name>",          default: gethostname()
 *       "datacenter": "dc1", "region": "global",   defaults
 *       "node_class": "",               default none
 *       "meta": {"rack": "r1"}          ${meta.rack}, NOMAD_META_rack
 *     }
 *   }
 *
 * Unknown keys are errors with their path ("docker.alow_caps: unknown option").
 *
 * SIGHUP reload (the agent re-reads the file, parses it into a new struct and
 * swaps the reloadable parts; a file that does not parse changes nothing):
 * - reloadable, applied to tasks submitted or (re)created afterwards:
 *   docker.auth, docker.allow_privileged, docker.allow_caps,
 *   docker.allow_runtimes, docker.allow_host_network, docker.allow_unconfined,
 *   docker.allow_devices, docker.pids_limit, docker.volumes,
 *   docker.extra_labels, docker.logging, docker.disable_log_collection,
 *   docker.gc (image, image_delay, container, dangling_containers),
 *   docker.pull_activity_timeout, docker.infra_image(_pull_timeout),
 *   docker.image_pull_timeout, docker.container_exists_attempts,
 *   docker.log_source (helpers started afterwards), node (tasks
 *   created afterwards see the new name, datacenter, region, class, meta), and
 *   port_range (only new allocations; existing ones are kept),
 *   max_kill_timeout and max_exec_timeout (for stops and execs asked afterwards).
 * - restart only (dv_agent_config_restart_field() names the first one that
 *   changed, so the agent can log "ignored, needs a restart"): data_dir,
 *   socket, bind_address (published ports of existing containers),
 *   docker.endpoint, docker.tls, telemetry.prometheus_address (the listener is
 *   bound once, before the agent serves, so a bad address stops the start).
 * Running containers are never changed by a reload. */
#ifndef DV_AGENT_CONFIG_H
#define DV_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "spec_types.h"

#define DV_AGENT_DEFAULT_DATA_DIR "/var/lib/dockvisor"
#define DV_AGENT_DEFAULT_SOCKET "/run/dockvisor/dockvisor.sock"
#define DV_AGENT_DEFAULT_BIND_ADDRESS "0.0.0.0"
#define DV_AGENT_DEFAULT_PORT_MIN 20000
#define DV_AGENT_DEFAULT_PORT_MAX 32000
#define DV_AGENT_DEFAULT_MAX_KILL_TIMEOUT (INT64_C(30) * 1000000000)
#define DV_AGENT_DEFAULT_MAX_EXEC_TIMEOUT (INT64_C(30) * 60 * 1000000000)

/* Go's name of this architecture, as Nomad says it (cpu.arch, the pause image's). */
#if defined(__x86_64__)
#define DV_GOARCH "amd64"
#elif defined(__aarch64__)
#define DV_GOARCH "arm64"
#elif defined(__i386__)
#define DV_GOARCH "386"
#elif defined(__arm__)
#define DV_GOARCH "arm"
#else
#define DV_GOARCH "amd64"
#endif

/* The names extra_labels globs are matched against; each becomes the label
 * com.hashicorp.nomad.<name> (Nomad's keys, so existing tooling keeps working). */
#define DV_EXTRA_LABEL_NAMES                                                                       \
    "job_name", "job_id", "task_group_name", "task_name", "namespace", "node_name", "node_id"

typedef struct dv_agent_config {
    char *data_dir;
    char *socket;
    char *bind_address; /* an IPv4 or IPv6 address */
    int port_min;       /* port_range "MIN-MAX", 1 <= MIN <= MAX <= 65535 */
    int port_max;
    int64_t max_kill_timeout_ns; /* > 0 */
    int64_t max_exec_timeout_ns; /* > 0 */
    struct {
        char *endpoint; /* NULL = unset (docker.h: DOCKER_HOST, then the local socket) */
        struct {
            char *config; /* path of a docker config.json, NULL = none */
            char *helper; /* "ecr-login" → docker-credential-ecr-login on PATH, NULL = none */
        } auth;
        struct {
            char *cert, *key, *ca; /* all NULL or all set */
        } tls;
        bool allow_privileged;
        dv_strv allow_caps;     /* lowercase, without a "cap_" prefix; may hold "all" */
        dv_strv allow_runtimes; /* default runc, nvidia */
        bool allow_host_network;
        bool allow_unconfined;
        dv_strv allow_devices; /* absolute globs without "." or ".." components */
        int64_t pull_activity_timeout_ns;
        int64_t pids_limit;
        dv_strv extra_labels; /* globs, '*' only (dv_extra_label_glob) */
        bool disable_log_collection;
        struct {
            char *type;   /* default "json-file"; NULL = dockerd's default driver */
            dv_kv config; /* default max-file 2, max-size 2m; a block without it: none */
        } logging;
        struct {
            bool image;
            int64_t image_delay_ns;
            bool container;
            struct {
                bool enabled;
                bool dry_run;
                int64_t period_ns;
                int64_t creation_grace_ns;
            } dangling_containers;
        } gc;
        struct {
            bool enabled;
            char *selinuxlabel; /* NULL = none */
        } volumes;
        char *infra_image;
        int64_t infra_image_pull_timeout_ns;
        int64_t image_pull_timeout_ns;     /* a task's image_pull_timeout when it gives none */
        int64_t container_exists_attempts; /* create attempts against a name in use, >= 1 */
        char *nvidia_runtime;              /* never NULL */
        enum dv_log_source { DV_LOG_SOURCE_AUTO, DV_LOG_SOURCE_FILE, DV_LOG_SOURCE_API } log_source;
    } docker;
    struct {
        char *prometheus_address; /* "HOST:PORT" as written, NULL = no listener */
    } telemetry;
    /* This node as Nomad's client describes itself: ${node.unique.name},
     * ${node.datacenter}, ${node.region}, ${node.class}, ${meta.<key>},
     * NOMAD_DC, NOMAD_REGION, NOMAD_META_<key>, the node_name label. */
    struct {
        char *name;       /* default: the host name; never NULL or "" */
        char *datacenter; /* default "dc1" */
        char *region;     /* default "global" */
        char *node_class; /* NULL = none */
        dv_kv meta;       /* keys dv_meta_key_valid() */
    } node;
} dv_agent_config;

/* "auto", "file" or "api": docklog's config "source" (docklog/config.h). */
const char *dv_log_source_name(enum dv_log_source s);

/* Fill RET with every default (what an empty file {} gives). Always 0. */
int dv_agent_config_defaults(dv_agent_config *ret, dv_spec_error *err);

/* Parse a JSON object over the defaults. RET untouched on failure; free with
 * dv_agent_config_clear(). */
int dv_agent_config_parse(const json_t *json, dv_agent_config *ret, dv_spec_error *err);

/* Read and parse PATH. Errors name the file ("PATH: docker.gc.image: expected
 * a boolean") with the field in err->field. */
int dv_agent_config_load(const char *path, dv_agent_config *ret, dv_spec_error *err);

void dv_agent_config_clear(dv_agent_config *config);

/* The first restart-only setting (see above) that differs between OLD and
 * NEW, as its key path ("data_dir", "docker.tls"), or NULL if a reload can
 * apply NEW entirely. */
const char *dv_agent_config_restart_field(const dv_agent_config *old, const dv_agent_config *new_);

/* Split a listen address "IPv4:PORT" or "[IPv6]:PORT" (numeric host, port 1-65535)
 * into HOST (without brackets, HOST_SIZE >= 46) and PORT. -EINVAL otherwise. */
int dv_listen_address_parse(const char *text, char *host, size_t host_size, int *port);

/* Does extra_labels glob GLOB match label name NAME? go-glob's rules, as
 * Nomad: '*' matches any run of characters, everything else is literal. */
bool dv_extra_label_glob(const char *glob, const char *name);

/* The effective allow-list test used by policy.h: is capability CAP ("NET_RAW",
 * "net_raw", "CAP_NET_RAW") allowed? */
bool dv_agent_config_cap_allowed(const dv_agent_config *config, const char *cap);

#endif
