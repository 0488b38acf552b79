/* The task spec (DESIGN.md "Task spec"): parsed, validated, plain structs.
 *
 * Contract:
 * - dv_spec_parse() is pure and deterministic: the same JSON always gives the
 *   same struct (and, through translate.h, the same create body). The agent
 *   stores the ORIGINAL spec JSON in its task record and re-parses it after a
 *   restart; it never needs to persist this struct.
 * - Keys are exactly the Nomad docker driver's names; an unknown key, a wrong
 *   type or an invalid value is an error naming the field (spec_types.h).
 *   JSON null counts as "not set". Everything independent of the agent config
 *   is validated here (port labels, port_map mixing, memory soft above hard,
 *   command whitespace, ulimits, devices, mounts, IPs, durations, signals...);
 *   what depends on the agent config is policy.h.
 * - Every field below is filled: absent options get the defaults of the docs
 *   (noted per field). Strings are NULL when unset unless noted.
 * - Credentials (config.auth) live in the struct: never print the struct or
 *   the spec JSON; print dv_spec_redact()'s copy.
 * - ret is untouched on failure; on success free it with dv_task_spec_free(). */
#ifndef DV_SPEC_H
#define DV_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "image_name.h"
#include "restart_policy.h"
#include "spec_types.h"

/* Task names become part of container names and log file names. */
#define DV_TASK_NAME_MAX 128
/* Port labels become environment variable names (NOMAD_PORT_<label>). */
#define DV_PORT_LABEL_MAX 64
/* The kernel refuses a pids.max above PID_MAX_LIMIT (4M on 64-bit) with EINVAL. Docker
 * passes any value on, so a larger one would fail only at start, as an OCI runtime error. */
#define DV_PIDS_LIMIT_MAX (INT64_C(4) * 1024 * 1024)
/* /dev/shm is memory: more than 1 TiB is a mistake on any node (Docker checks only >= 0,
 * and its CLI overflows near 2^63). */
#define DV_SHM_SIZE_MAX (INT64_C(1) << 40)

enum dv_mount_type { DV_MOUNT_VOLUME, DV_MOUNT_BIND, DV_MOUNT_TMPFS };

typedef struct dv_mount {
    enum dv_mount_type type; /* default volume, as the docs */
    char *target;            /* required, absolute path in the container */
    char *source; /* volume name / host path (relative: to the task dir); NULL for tmpfs */
    bool readonly;
    /* type volume */
    bool volume_no_copy;
    dv_kv volume_labels;
    char *volume_driver; /* volume_options.driver_config.name, NULL = default driver */
    dv_kv volume_driver_options;
    /* type bind */
    char *bind_propagation; /* bind_options.propagation, NULL = Docker's default */
    /* type tmpfs */
    int64_t tmpfs_size; /* tmpfs_options.size in bytes, 0 = unlimited */
    int64_t tmpfs_mode; /* tmpfs_options.mode (e.g. 0700 as 448), 0 = Docker's default */
} dv_mount;

typedef struct dv_device {
    char *host_path;          /* required */
    char *container_path;     /* default: host_path */
    char *cgroup_permissions; /* letters of "rwm", default "rwm" */
} dv_device;

typedef struct dv_ulimit {
    char *name;   /* "nofile", ... (Docker's names) */
    int64_t soft; /* -1 = unlimited (as Docker and Nomad take it) */
    int64_t hard; /* "N" alone means soft = hard = N */
} dv_ulimit;

typedef struct dv_port_map_entry {
    char *label;
    int container_port;
} dv_port_map_entry;

/* The task's config block: every option of the Nomad docker driver. */
typedef struct dv_task_config {
    char *image;                   /* required, as written (may carry https://; see image_name.h) */
    dv_image_name image_name;      /* IMAGE parsed, once: what is pulled, inspected, named */
    int64_t image_pull_timeout_ns; /* 0 = the agent's docker.image_pull_timeout */
    dv_strv args;
    struct {
        bool set; /* the block is present with at least one non-empty value */
        char *username;
        char *password; /* secret */
        char *email;
        char *server_address;
    } auth;
    bool auth_soft_fail;
    char *command; /* no surrounding whitespace; "" = NULL (none) */
    char *cpuset_cpus;
    dv_strv dns_search_domains;
    dv_strv dns_options;
    dv_strv dns_servers; /* valid IPv4/IPv6 addresses */
    dv_strv entrypoint;
    bool entrypoint_set; /* entrypoint = [] is meaningful: it clears the image's */
    dv_strv extra_hosts; /* "host:IP" */
    bool force_pull;
    bool healthchecks_disable;
    char *hostname;
    bool init;
    bool interactive;
    dv_kv sysctl;
    dv_ulimit *ulimits;
    size_t n_ulimits;
    bool privileged;
    char *ipc_mode;
    char *ipv4_address;
    char *ipv6_address;
    dv_kv labels;
    char *load; /* tar file relative to the task's local dir; never escapes it */
    struct {
        char *type; /* NULL = the agent's type, or dockerd's default when set (below) */
        dv_kv config;
        bool set; /* type or config given: the task's logging replaces the agent's */
    } logging;
    char *mac_address;
    int64_t memory_hard_limit; /* MB, 0 = unset */
    dv_strv network_aliases;
    char *network_mode; /* NULL = from network.mode (default "bridge") */
    char *pid_mode;
    dv_strv ports;               /* labels of network.ports to publish */
    dv_port_map_entry *port_map; /* deprecated form, see spec_ports.h */
    size_t n_port_map;
    dv_strv security_opt; /* Docker's syntax; seccomp=<JSON profile>, <path> (read at each start) or
                             unconfined */
    int64_t shm_size;     /* bytes, 0 = Docker's default */
    dv_kv storage_opt;
    bool tty;
    char *uts_mode;
    char *userns_mode;
    dv_strv volumes; /* "source:target[:options]" as written */
    char *volume_driver;
    char *work_dir;
    dv_mount *mounts; /* `mount` blocks then the deprecated `mounts` list */
    size_t n_mounts;
    dv_device *devices;
    size_t n_devices;
    dv_strv cap_add; /* as written; policy.h compares case-insensitively */
    dv_strv cap_drop;
    bool cpu_hard_limit;
    int64_t cpu_cfs_period; /* microseconds, 0 (default 100000) or 1000..1000000 */
    bool advertise_ipv6_address;
    bool readonly_rootfs;
    char *runtime;
    int64_t pids_limit; /* 0 = unlimited (or the agent's pids_limit) */
    dv_strv group_add;
    int64_t oom_score_adj; /* -1000..1000 */
    bool oom_score_adj_set;
} dv_task_config;

typedef struct dv_network_port {
    char *label;
    int static_port; /* host port, 0 = dynamic (allocated from the agent's port_range) */
    int to;          /* container port, 0 = same as the host port */
} dv_network_port;

/* A task-level `artifact` block (Nomad's, JSON form): one file fetched into
 * the task dir before every start (runner/artifacts.h). Archives are never
 * unpacked (Nomad's options.archive = false, which `load` needs anyway). */
typedef struct dv_artifact {
    char *source; /* as written: http(s) URL, file:// URL or absolute host path */
    char *url;    /* what is fetched: SOURCE, or file://SOURCE for a bare path */
    bool local;   /* a host file (file:// or a path): policy.h holds it to the bind rule */
    /* The file's path relative to the task dir, clean, never escaping it:
     * mode "any" (default) puts the source's last path segment in the
     * destination directory (default "local/"); mode "file" names the file. */
    char *target;
    char *checksum_type; /* "md5", "sha1", "sha256", "sha512"; NULL = none */
    char *checksum_hex;  /* lowercase hex of the right length */
    dv_kv headers;       /* HTTP request headers (values may be secrets) */
} dv_artifact;

typedef struct dv_task_spec {
    char *name; /* required: [A-Za-z0-9][A-Za-z0-9_.-]*, at most DV_TASK_NAME_MAX */
    dv_task_config config;
    dv_kv env;  /* values interpolated when parsed by dv_spec_parse_resolved() */
    dv_kv meta; /* NOMAD_META_<key>; keys dv_meta_key_valid() */
    char *user; /* NULL = the image's user */
    struct {
        int64_t cpu;        /* MHz, becomes CPU shares; default 100, minimum 1 */
        int64_t memory;     /* MB, default 300, minimum 10 */
        int64_t memory_max; /* MB, 0 = unset, -1 = no hard limit */
    } resources;
    /* network.mode: "bridge" (default) = the container gets Docker's own
     * networking (config.network_mode, else Docker's default bridge) and its
     * ports are published; "host" = the host's network namespace; "none".
     * A task of a group's allocation in bridge mode joins the allocation's
     * infra container instead, by the runner's doing (translate_ctx.h
     * network_join), never by what its spec says (group_spec.h). */
    struct {
        char *mode;
        dv_network_port *ports;
        size_t n_ports;
    } network;
    int64_t kill_timeout_ns; /* default 5s */
    /* Canonical name ("SIGUSR1", "SIGRTMIN+3") and number of kill_signal, or
     * "" and 0 when the spec gives none: the agent then stops with the
     * Engine's stop (the image's STOPSIGNAL) and kill_timeout (issue 5). */
    char kill_signal[32];
    int kill_signo;
    dv_restart_policy restart; /* defaults of restart_policy.h for missing keys */
    struct {
        int64_t max_files;     /* default 10, minimum 1 */
        int64_t max_file_size; /* MB, default 10, minimum 1 */
        bool file;             /* default true */
        bool journald;         /* default true */
        bool disabled;         /* default false */
        /* journald's rate limit for this task's docklog, which runs in a unit of its own
         * under systemd (DESIGN.md, Logs): LogRateLimitIntervalSec= and
         * LogRateLimitBurst= of that unit. 0 = journald's default (RateLimitIntervalSec=,
         * RateLimitBurst= of journald.conf). Without systemd they cannot apply. */
        int64_t journald_rate_limit_ns;    /* logs.journald_rate_limit, a duration */
        int64_t journald_rate_limit_burst; /* logs.journald_rate_limit_burst */
    } logs;
    dv_artifact *artifacts; /* `artifact`, in order */
    size_t n_artifacts;
    int refs; /* dv_task_spec_ref() */
} dv_task_spec;

/* The memory hard limit of SPEC in MB, one rule for validation and translation:
 * the larger of resources.memory_max and config.memory_hard_limit; 0 when neither
 * is set (resources.memory is then the limit); -1 for memory_max = -1 (no limit:
 * resources.memory is only a reservation). */
int64_t dv_spec_memory_hard_mb(const dv_task_spec *spec);

/* Parse and validate SPEC_JSON (an object), as written: no interpolation. */
int dv_spec_parse(const json_t *spec_json, dv_task_spec **ret, dv_spec_error *err);

/* Called by dv_spec_parse_resolved() with SPEC parsed but for its config and
 * artifacts (name, env, meta, user, resources, network, kill, restart, logs),
 * and PARTS, {"config": ..., "artifact": [...]} copied from the spec, before
 * they are parsed: it may rewrite SPEC->env's values and PARTS' strings
 * (Nomad's interpolation: task_env.h). */
typedef int (*dv_spec_resolve_fn)(dv_task_spec *spec, json_t *parts, void *userdata,
                                  dv_spec_error *err);

/* dv_spec_parse() with RESOLVE (NULL = none) run before config is parsed, so
 * what config says is validated as it will be used. */
int dv_spec_parse_resolved(const json_t *spec_json, dv_spec_resolve_fn resolve, void *userdata,
                           dv_task_spec **ret, dv_spec_error *err);
/* A parsed spec is immutable and shared: the runner's copy and the jobs on the
 * workers that need it hold references (the count is atomic). dv_task_spec_free()
 * drops one; the last frees it. */
dv_task_spec *dv_task_spec_ref(dv_task_spec *spec);
void dv_task_spec_free(dv_task_spec *spec);

/* A deep copy of SPEC_JSON with every secret replaced by "<redacted>":
 * config.auth.password, logging.config values whose key names a secret
 * (token, password, secret, key, credential), and every artifact[].headers value. Works on invalid
 * specs too (it only looks for those paths). NULL only for a NULL SPEC_JSON. Use it for anything
 * shown (status, events, logs, API answers). */
json_t *dv_spec_redact(const json_t *spec_json);

#define DV_REDACTED "<redacted>"

#endif
