/* The task's config block: every docker driver option except storage
 * (spec_mounts.c) and ports (spec_ports.c), with the docs' defaults. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "duration.h"
#include "image_name.h"
#include "policy.h"
#include "policy_caps.h"
#include "spec_json.h"
#include "spec_parse.h"
#include "xalloc.h"

static const char *const config_keys[] = {
    "image",
    "image_pull_timeout",
    "args",
    "auth",
    "auth_soft_fail",
    "command",
    "cpuset_cpus",
    "dns_search_domains",
    "dns_options",
    "dns_servers",
    "entrypoint",
    "extra_hosts",
    "force_pull",
    "healthchecks",
    "hostname",
    "init",
    "interactive",
    "sysctl",
    "ulimit",
    "privileged",
    "ipc_mode",
    "ipv4_address",
    "ipv6_address",
    "labels",
    "load",
    "logging",
    "mac_address",
    "memory_hard_limit",
    "network_aliases",
    "network_mode",
    "pid_mode",
    "ports",
    "port_map",
    "security_opt",
    "shm_size",
    "storage_opt",
    "SSL",
    "tty",
    "uts_mode",
    "userns_mode",
    "isolation",
    "volumes",
    "volume_driver",
    "work_dir",
    "mount",
    "mounts",
    "devices",
    "cap_add",
    "cap_drop",
    "cpu_hard_limit",
    "cpu_cfs_period",
    "advertise_ipv6_address",
    "readonly_rootfs",
    "runtime",
    "pids_limit",
    "group_add",
    "oom_score_adj",
    NULL,
};

static int parse_auth(const json_t *config, dv_task_config *cfg, dv_spec_error *err)
{
    static const char *const keys[] = {"username", "password", "email", "server_address", NULL};
    const json_t *auth = NULL;
    int r = dv_sj_object(config, "config", "auth", &auth, err);
    if (r < 0 || !auth)
        return r;
    if ((r = dv_sj_check_keys(auth, "config.auth", keys, err)) < 0 ||
        (r = dv_sj_string(auth, "config.auth", "username", &cfg->auth.username, err)) < 0 ||
        (r = dv_sj_string(auth, "config.auth", "password", &cfg->auth.password, err)) < 0 ||
        (r = dv_sj_string(auth, "config.auth", "email", &cfg->auth.email, err)) < 0 ||
        (r = dv_sj_string(auth, "config.auth", "server_address", &cfg->auth.server_address, err)) <
            0)
        return r;
    /* Nomad ignores an auth block whose fields are all empty. */
    cfg->auth.set = (cfg->auth.username && *cfg->auth.username) ||
                    (cfg->auth.password && *cfg->auth.password) ||
                    (cfg->auth.email && *cfg->auth.email) ||
                    (cfg->auth.server_address && *cfg->auth.server_address);
    return 0;
}

static int parse_logging(const json_t *config, dv_task_config *cfg, dv_spec_error *err)
{
    static const char *const keys[] = {"type", "driver", "config", NULL};
    const json_t *logging = NULL;
    int r = dv_sj_object(config, "config", "logging", &logging, err);
    if (r < 0 || !logging)
        return r;
    if ((r = dv_sj_check_keys(logging, "config.logging", keys, err)) < 0 ||
        (r = dv_sj_logging_type(logging, "config.logging", &cfg->logging.type, err)) < 0 ||
        (r = dv_sj_kv(logging, "config.logging", "config", &cfg->logging.config, err)) < 0)
        return r;
    if (cfg->logging.type && !*cfg->logging.type) {
        free(cfg->logging.type);
        cfg->logging.type = NULL;
    }
    cfg->logging.set = cfg->logging.type || json_object_get(logging, "config");
    return 0;
}

static int parse_healthchecks(const json_t *config, dv_task_config *cfg, dv_spec_error *err)
{
    static const char *const keys[] = {"disable", NULL};
    const json_t *hc = NULL;
    int r = dv_sj_object(config, "config", "healthchecks", &hc, err);
    if (r < 0 || !hc)
        return r;
    if ((r = dv_sj_check_keys(hc, "config.healthchecks", keys, err)) < 0)
        return r;
    return dv_sj_bool(hc, "config.healthchecks", "disable", &cfg->healthchecks_disable, err);
}

static int parse_port_map(const json_t *config, dv_task_config *cfg, dv_spec_error *err)
{
    const json_t *pm = NULL;
    int r = dv_sj_object(config, "config", "port_map", &pm, err);
    if (r < 0 || !pm)
        return r;
    size_t n = json_object_size(pm);
    if (n == 0)
        return 0;
    dv_port_map_entry *entries = dv_xcalloc(n, sizeof(*entries));
    size_t i = 0;
    const char *label;
    const json_t *v;
    json_object_foreach((json_t *)pm, label, v)
    {
        int64_t port = 0;
        r = dv_sj_int(pm, "config.port_map", label, 1, 65535, &port, err);
        if (r >= 0 && !json_is_integer(v)) {
            char field[DV_SPEC_FIELD_MAX];
            dv_sj_join(field, "config.port_map", label);
            r = dv_spec_fail(err, field, -EINVAL, "expected an integer, got null");
        }
        if (r < 0) {
            for (size_t j = 0; j < i; j++)
                free(entries[j].label);
            free(entries);
            return r;
        }
        entries[i].label = dv_xstrdup(label);
        entries[i++].container_port = (int)port;
    }
    cfg->port_map = entries;
    cfg->n_port_map = n;
    return 0;
}

/* Docker: "0-3", "1,3", "0-2,7". */
static bool valid_cpuset(const char *s)
{
    if (!*s)
        return false;
    while (*s) {
        if (!isdigit((unsigned char)*s))
            return false;
        long lo = strtol(s, (char **)&s, 10), hi = lo;
        if (*s == '-') {
            s++;
            if (!isdigit((unsigned char)*s))
                return false;
            hi = strtol(s, (char **)&s, 10);
        }
        if (hi < lo || hi > 8191)
            return false;
        if (*s == ',' && s[1])
            s++;
        else if (*s)
            return false;
    }
    return true;
}

static bool is_container_ref(const char *mode)
{
    return strncmp(mode, "container:", 10) == 0 && mode[10];
}

/* The namespace modes Docker accepts; ALLOWED is NULL-terminated. */
static int check_mode(const char *field, const char *value, const char *const *allowed,
                      bool container_ok, dv_spec_error *err)
{
    if (!value || !*value)
        return 0;
    for (const char *const *a = allowed; *a; a++)
        if (strcmp(value, *a) == 0)
            return 0;
    if (container_ok && is_container_ref(value))
        return 0;
    return dv_spec_fail(err, field, -EINVAL, "invalid mode \"%s\" (expected %s%s)", value,
                        allowed[0], container_ok ? ", ... or container:<name>" : "");
}

static int check_caps(const dv_strv *caps, const char *path, dv_spec_error *err)
{
    for (size_t i = 0; i < caps->n; i++) {
        char norm[DV_CAP_NAME_MAX];
        if (!dv_cap_normalize(caps->v[i], norm)) {
            char field[DV_SPEC_FIELD_MAX];
            dv_sj_index(field, path, i);
            return dv_spec_fail(err, field, -EINVAL, "unknown capability \"%s\"", caps->v[i]);
        }
    }
    return 0;
}

static int check_ips(const dv_strv *ips, const char *path, dv_spec_error *err)
{
    for (size_t i = 0; i < ips->n; i++)
        if (!dv_sj_valid_ip(ips->v[i])) {
            char field[DV_SPEC_FIELD_MAX];
            dv_sj_index(field, path, i);
            return dv_spec_fail(err, field, -EINVAL, "invalid IP address \"%s\"", ips->v[i]);
        }
    return 0;
}

/* "host:IP" (IPv6 addresses contain ':' themselves, so split at the first one);
 * Docker also accepts the special "host-gateway". */
static int check_extra_hosts(const dv_strv *hosts, dv_spec_error *err)
{
    for (size_t i = 0; i < hosts->n; i++) {
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "config.extra_hosts", i);
        const char *colon = strchr(hosts->v[i], ':');
        if (!colon || colon == hosts->v[i])
            return dv_spec_fail(err, field, -EINVAL, "invalid extra host \"%s\" (expected host:IP)",
                                hosts->v[i]);
        if (!dv_sj_valid_ip(colon + 1) && strcmp(colon + 1, "host-gateway") != 0)
            return dv_spec_fail(err, field, -EINVAL,
                                "invalid extra host \"%s\": \"%s\" is not an IP address",
                                hosts->v[i], colon + 1);
    }
    return 0;
}

/* What dockerd accepts (daemon parseSecurityOpt): "no-new-privileges",
 * "disable", or KEY=VALUE (KEY:VALUE, deprecated). A seccomp profile goes to
 * the Engine as the profile itself: `docker run --security-opt` reads a file
 * first, the API does not. So, as current Nomad does, a seccomp value that is
 * a path (dv_policy_seccomp_path()) is read by the agent at each start
 * (dv_policy_security_opts()); here it only has to be one. */
static int check_security_opts(const dv_strv *opts, dv_spec_error *err)
{
    for (size_t i = 0; i < opts->n; i++) {
        const char *o = opts->v[i];
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "config.security_opt", i);
        if (strcmp(o, "no-new-privileges") == 0 || strcmp(o, "disable") == 0)
            continue;
        const char *sep = strchr(o, '=');
        if (!sep)
            sep = strchr(o, ':');
        if (!sep || sep == o)
            return dv_spec_fail(err, field, -EINVAL,
                                "invalid security option \"%s\" (expected KEY=VALUE, KEY:VALUE or "
                                "no-new-privileges)",
                                o);
        const char *profile = dv_policy_seccomp_path(o);
        if (profile && !*profile)
            return dv_spec_fail(err, field, -EINVAL,
                                "seccomp needs a profile: a path, the profile itself (JSON) or "
                                "\"unconfined\"");
        if (profile && strlen(profile) >= PATH_MAX)
            return dv_spec_fail(err, field, -ENAMETOOLONG,
                                "seccomp profile path is longer than %d bytes", PATH_MAX - 1);
    }
    return 0;
}

static int check_config(dv_task_config *cfg, dv_spec_error *err)
{
    if (!cfg->image || !*cfg->image)
        return dv_spec_fail(err, "config.image", -EINVAL, "image name required");
    int r = dv_image_name_parse(cfg->image, &cfg->image_name, err);
    if (r < 0)
        return r;

    if (cfg->command && !*cfg->command) {
        /* Nomad: `if driverConfig.Command != ""`, so "" is no command */
        free(cfg->command);
        cfg->command = NULL;
    }
    if (cfg->command) {
        size_t n = strlen(cfg->command);
        const char *c = cfg->command;
        bool blank = true;
        for (size_t i = 0; i < n; i++)
            blank = blank && isspace((unsigned char)c[i]);
        if (blank)
            return dv_spec_fail(err, "config.command", -EINVAL, "command empty: \"%s\"", c);
        if (isspace((unsigned char)c[0]) || isspace((unsigned char)c[n - 1]))
            return dv_spec_fail(err, "config.command", -EINVAL,
                                "command contains extra white space: \"%s\" (put arguments in "
                                "config.args)",
                                c);
    }
    /* Docker refuses a CFS period under 1 ms at create; 0 is the default. */
    if (cfg->cpu_cfs_period > 0 && cfg->cpu_cfs_period < 1000)
        return dv_spec_fail(err, "config.cpu_cfs_period", -EINVAL,
                            "%" PRId64
                            " is below Docker's minimum 1000 (0 means the default 100000)",
                            cfg->cpu_cfs_period);
    if (cfg->cpuset_cpus && !valid_cpuset(cfg->cpuset_cpus))
        return dv_spec_fail(err, "config.cpuset_cpus", -EINVAL,
                            "invalid CPU set \"%s\" (expected e.g. \"0-3\" or \"1,3\")",
                            cfg->cpuset_cpus);
    if ((r = check_ips(&cfg->dns_servers, "config.dns_servers", err)) < 0 ||
        (r = check_extra_hosts(&cfg->extra_hosts, err)) < 0 ||
        (r = check_caps(&cfg->cap_add, "config.cap_add", err)) < 0 ||
        (r = check_caps(&cfg->cap_drop, "config.cap_drop", err)) < 0 ||
        (r = check_security_opts(&cfg->security_opt, err)) < 0)
        return r;

    unsigned char buf[16];
    if (cfg->ipv4_address && inet_pton(AF_INET, cfg->ipv4_address, buf) != 1)
        return dv_spec_fail(err, "config.ipv4_address", -EINVAL, "invalid IPv4 address \"%s\"",
                            cfg->ipv4_address);
    if (cfg->ipv6_address && inet_pton(AF_INET6, cfg->ipv6_address, buf) != 1)
        return dv_spec_fail(err, "config.ipv6_address", -EINVAL, "invalid IPv6 address \"%s\"",
                            cfg->ipv6_address);
    if (cfg->mac_address && !dv_sj_valid_mac(cfg->mac_address))
        return dv_spec_fail(err, "config.mac_address", -EINVAL,
                            "invalid MAC address \"%s\" (expected e.g. \"02:42:ac:11:00:02\")",
                            cfg->mac_address);

    static const char *const ipc_modes[] = {"none", "private", "shareable", "host", "", NULL};
    static const char *const host_only[] = {"host", "", NULL};
    if ((r = check_mode("config.ipc_mode", cfg->ipc_mode, ipc_modes, true, err)) < 0 ||
        (r = check_mode("config.pid_mode", cfg->pid_mode, host_only, true, err)) < 0 ||
        (r = check_mode("config.uts_mode", cfg->uts_mode, host_only, false, err)) < 0 ||
        (r = check_mode("config.userns_mode", cfg->userns_mode, host_only, false, err)) < 0)
        return r;

    /* "${NOMAD_TASK_DIR}/x" is interpolated (to /local/x) at translation */
    if (cfg->work_dir && *cfg->work_dir && cfg->work_dir[0] != '/' &&
        strncmp(cfg->work_dir, "${", 2) != 0)
        return dv_spec_fail(err, "config.work_dir", -EINVAL,
                            "\"%s\" is not an absolute path inside the container", cfg->work_dir);
    if (cfg->load && *cfg->load) {
        /* The tar must come from the task's local dir: no absolute path, no "..". */
        const char *l = cfg->load;
        bool escapes = l[0] == '/' || strcmp(l, "..") == 0 || strncmp(l, "../", 3) == 0 ||
                       strstr(l, "/../") ||
                       (strlen(l) >= 3 && strcmp(l + strlen(l) - 3, "/..") == 0);
        if (escapes)
            return dv_spec_fail(err, "config.load", -EINVAL,
                                "\"%s\" must be a path relative to the task's local directory", l);
    }
    for (size_t i = 0; i < cfg->sysctl.n; i++)
        if (strchr(cfg->sysctl.v[i].key, '=')) {
            char field[DV_SPEC_FIELD_MAX];
            dv_sj_join(field, "config.sysctl", cfg->sysctl.v[i].key);
            return dv_spec_fail(err, field, -EINVAL, "invalid sysctl name");
        }
    return 0;
}

int dv_spec_parse_config(const json_t *config, dv_task_config *cfg, dv_spec_error *err)
{
    static const char *const p = "config";
    int r;
    bool ignored_ssl = false;
    int64_t max64 = INT64_MAX;
    if ((r = dv_sj_check_keys(config, p, config_keys, err)) < 0 ||
        (r = dv_sj_windows_only(config, p, "isolation", err)) < 0 ||
        (r = dv_sj_string(config, p, "image", &cfg->image, err)) < 0 ||
        (r = dv_sj_duration(config, p, "image_pull_timeout", 0, &cfg->image_pull_timeout_ns, err)) <
            0 ||
        (r = dv_sj_strv(config, p, "args", &cfg->args, NULL, err)) < 0 ||
        (r = parse_auth(config, cfg, err)) < 0 ||
        (r = dv_sj_bool(config, p, "auth_soft_fail", &cfg->auth_soft_fail, err)) < 0 ||
        (r = dv_sj_string(config, p, "command", &cfg->command, err)) < 0 ||
        (r = dv_sj_string(config, p, "cpuset_cpus", &cfg->cpuset_cpus, err)) < 0 ||
        (r = dv_sj_strv(config, p, "dns_search_domains", &cfg->dns_search_domains, NULL, err)) <
            0 ||
        (r = dv_sj_strv(config, p, "dns_options", &cfg->dns_options, NULL, err)) < 0 ||
        (r = dv_sj_strv(config, p, "dns_servers", &cfg->dns_servers, NULL, err)) < 0 ||
        (r = dv_sj_strv(config, p, "entrypoint", &cfg->entrypoint, &cfg->entrypoint_set, err)) <
            0 ||
        (r = dv_sj_strv(config, p, "extra_hosts", &cfg->extra_hosts, NULL, err)) < 0 ||
        (r = dv_sj_bool(config, p, "force_pull", &cfg->force_pull, err)) < 0 ||
        (r = parse_healthchecks(config, cfg, err)) < 0 ||
        (r = dv_sj_string(config, p, "hostname", &cfg->hostname, err)) < 0 ||
        (r = dv_sj_bool(config, p, "init", &cfg->init, err)) < 0 ||
        (r = dv_sj_bool(config, p, "interactive", &cfg->interactive, err)) < 0 ||
        (r = dv_sj_kv(config, p, "sysctl", &cfg->sysctl, err)) < 0 ||
        (r = dv_sj_bool(config, p, "privileged", &cfg->privileged, err)) < 0 ||
        (r = dv_sj_string(config, p, "ipc_mode", &cfg->ipc_mode, err)) < 0 ||
        (r = dv_sj_string(config, p, "ipv4_address", &cfg->ipv4_address, err)) < 0 ||
        (r = dv_sj_string(config, p, "ipv6_address", &cfg->ipv6_address, err)) < 0 ||
        (r = dv_sj_kv(config, p, "labels", &cfg->labels, err)) < 0 ||
        (r = dv_sj_string(config, p, "load", &cfg->load, err)) < 0 ||
        (r = parse_logging(config, cfg, err)) < 0 ||
        (r = dv_sj_string(config, p, "mac_address", &cfg->mac_address, err)) < 0 ||
        (r = dv_sj_int(config, p, "memory_hard_limit", 0, max64 >> 20, &cfg->memory_hard_limit,
                       err)) < 0 ||
        (r = dv_sj_strv(config, p, "network_aliases", &cfg->network_aliases, NULL, err)) < 0 ||
        (r = dv_sj_string(config, p, "network_mode", &cfg->network_mode, err)) < 0 ||
        (r = dv_sj_string(config, p, "pid_mode", &cfg->pid_mode, err)) < 0 ||
        (r = dv_sj_strv(config, p, "ports", &cfg->ports, NULL, err)) < 0 ||
        (r = parse_port_map(config, cfg, err)) < 0 ||
        (r = dv_sj_strv(config, p, "security_opt", &cfg->security_opt, NULL, err)) < 0 ||
        (r = dv_sj_int(config, p, "shm_size", 0, DV_SHM_SIZE_MAX, &cfg->shm_size, err)) < 0 ||
        (r = dv_sj_kv(config, p, "storage_opt", &cfg->storage_opt, err)) < 0 ||
        (r = dv_sj_bool(config, p, "SSL", &ignored_ssl, err)) < 0 || /* deprecated: no effect */
        (r = dv_sj_bool(config, p, "tty", &cfg->tty, err)) < 0 ||
        (r = dv_sj_string(config, p, "uts_mode", &cfg->uts_mode, err)) < 0 ||
        (r = dv_sj_string(config, p, "userns_mode", &cfg->userns_mode, err)) < 0 ||
        (r = dv_sj_string(config, p, "volume_driver", &cfg->volume_driver, err)) < 0 ||
        (r = dv_sj_string(config, p, "work_dir", &cfg->work_dir, err)) < 0 ||
        (r = dv_sj_strv(config, p, "cap_add", &cfg->cap_add, NULL, err)) < 0 ||
        (r = dv_sj_strv(config, p, "cap_drop", &cfg->cap_drop, NULL, err)) < 0 ||
        (r = dv_sj_bool(config, p, "cpu_hard_limit", &cfg->cpu_hard_limit, err)) < 0 ||
        (r = dv_sj_int(config, p, "cpu_cfs_period", 0, 1000000, &cfg->cpu_cfs_period, err)) < 0 ||
        (r = dv_sj_bool(config, p, "advertise_ipv6_address", &cfg->advertise_ipv6_address, err)) <
            0 ||
        (r = dv_sj_bool(config, p, "readonly_rootfs", &cfg->readonly_rootfs, err)) < 0 ||
        (r = dv_sj_string(config, p, "runtime", &cfg->runtime, err)) < 0 ||
        (r = dv_sj_int(config, p, "pids_limit", 0, DV_PIDS_LIMIT_MAX, &cfg->pids_limit, err)) < 0 ||
        (r = dv_sj_strv(config, p, "group_add", &cfg->group_add, NULL, err)) < 0 ||
        (r = dv_sj_int(config, p, "oom_score_adj", -1000, 1000, &cfg->oom_score_adj, err)) < 0 ||
        (r = dv_spec_parse_storage(config, cfg, err)) < 0)
        return r;
    const json_t *oom = json_object_get(config, "oom_score_adj");
    cfg->oom_score_adj_set = oom && !json_is_null(oom);
    return check_config(cfg, err);
}

void dv_task_config_clear(dv_task_config *cfg)
{
    free(cfg->image);
    dv_image_name_clear(&cfg->image_name);
    dv_strv_free(&cfg->args);
    free(cfg->auth.username);
    free(cfg->auth.password);
    free(cfg->auth.email);
    free(cfg->auth.server_address);
    free(cfg->command);
    free(cfg->cpuset_cpus);
    dv_strv_free(&cfg->dns_search_domains);
    dv_strv_free(&cfg->dns_options);
    dv_strv_free(&cfg->dns_servers);
    dv_strv_free(&cfg->entrypoint);
    dv_strv_free(&cfg->extra_hosts);
    free(cfg->hostname);
    dv_kv_free(&cfg->sysctl);
    free(cfg->ipc_mode);
    free(cfg->ipv4_address);
    free(cfg->ipv6_address);
    dv_kv_free(&cfg->labels);
    free(cfg->load);
    free(cfg->logging.type);
    dv_kv_free(&cfg->logging.config);
    free(cfg->mac_address);
    dv_strv_free(&cfg->network_aliases);
    free(cfg->network_mode);
    free(cfg->pid_mode);
    dv_strv_free(&cfg->ports);
    for (size_t i = 0; i < cfg->n_port_map; i++)
        free(cfg->port_map[i].label);
    free(cfg->port_map);
    dv_strv_free(&cfg->security_opt);
    dv_kv_free(&cfg->storage_opt);
    free(cfg->uts_mode);
    free(cfg->userns_mode);
    free(cfg->volume_driver);
    free(cfg->work_dir);
    dv_strv_free(&cfg->cap_add);
    dv_strv_free(&cfg->cap_drop);
    free(cfg->runtime);
    dv_strv_free(&cfg->group_add);
    dv_spec_storage_clear(cfg);
    memset(cfg, 0, sizeof(*cfg));
}
