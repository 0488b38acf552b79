/* The agent config file: defaults of the docs, parsing, reload rules. */
#include "agent_config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cleanup.h"
#include "duration.h"
#include "policy_caps.h"
#include "spec.h"
#include "spec_json.h"
#include "xalloc.h"

#define MINUTE (60 * DV_NSEC_PER_SEC)

#define DV_INFRA_IMAGE_DEFAULT "gcr.io/google_containers/pause-" DV_GOARCH ":3.1"

static const char *const extra_label_names[] = {DV_EXTRA_LABEL_NAMES, NULL};

void dv_agent_config_clear(dv_agent_config *c)
{
    if (!c)
        return;
    free(c->data_dir);
    free(c->socket);
    free(c->bind_address);
    free(c->docker.endpoint);
    free(c->docker.auth.config);
    free(c->docker.auth.helper);
    free(c->docker.tls.cert);
    free(c->docker.tls.key);
    free(c->docker.tls.ca);
    dv_strv_free(&c->docker.allow_caps);
    dv_strv_free(&c->docker.allow_runtimes);
    dv_strv_free(&c->docker.allow_devices);
    dv_strv_free(&c->docker.extra_labels);
    free(c->docker.logging.type);
    dv_kv_free(&c->docker.logging.config);
    free(c->docker.volumes.selinuxlabel);
    free(c->docker.infra_image);
    free(c->docker.nvidia_runtime);
    free(c->telemetry.prometheus_address);
    free(c->node.name);
    free(c->node.datacenter);
    free(c->node.region);
    free(c->node.node_class);
    dv_kv_free(&c->node.meta);
    memset(c, 0, sizeof(*c));
}

static void config_clearp(dv_agent_config *c)
{
    dv_agent_config_clear(c);
}

/* Nomad's default node name: the host's name. */
static char *host_name(void)
{
    char name[HOST_NAME_MAX + 1] = "";
    if (gethostname(name, sizeof(name)) < 0 || !*name)
        snprintf(name, sizeof(name), "localhost");
    name[HOST_NAME_MAX] = '\0';
    return dv_xstrdup(name);
}

int dv_agent_config_defaults(dv_agent_config *ret, dv_spec_error *err)
{
    __attribute__((cleanup(config_clearp))) dv_agent_config c = {0};
    c.port_min = DV_AGENT_DEFAULT_PORT_MIN;
    c.port_max = DV_AGENT_DEFAULT_PORT_MAX;
    c.max_kill_timeout_ns = DV_AGENT_DEFAULT_MAX_KILL_TIMEOUT;
    c.max_exec_timeout_ns = DV_AGENT_DEFAULT_MAX_EXEC_TIMEOUT;
    c.docker.pull_activity_timeout_ns = 2 * MINUTE;
    c.docker.gc.image = true;
    c.docker.gc.image_delay_ns = 3 * MINUTE;
    c.docker.gc.container = true;
    c.docker.gc.dangling_containers.enabled = true;
    c.docker.gc.dangling_containers.period_ns = 5 * MINUTE;
    c.docker.gc.dangling_containers.creation_grace_ns = 5 * MINUTE;
    c.docker.infra_image_pull_timeout_ns = 5 * MINUTE;
    c.docker.image_pull_timeout_ns = 5 * MINUTE;
    c.docker.container_exists_attempts = 5;
    (void)err;
    c.data_dir = dv_xstrdup(DV_AGENT_DEFAULT_DATA_DIR);
    c.socket = dv_xstrdup(DV_AGENT_DEFAULT_SOCKET);
    c.bind_address = dv_xstrdup(DV_AGENT_DEFAULT_BIND_ADDRESS);
    c.docker.logging.type = dv_xstrdup("json-file");
    c.docker.infra_image = dv_xstrdup(DV_INFRA_IMAGE_DEFAULT);
    c.docker.nvidia_runtime = dv_xstrdup("nvidia");
    c.node.name = host_name();
    c.node.datacenter = dv_xstrdup("dc1");
    c.node.region = dv_xstrdup("global");
    dv_kv_set(&c.docker.logging.config, "max-file", "2");
    dv_kv_set(&c.docker.logging.config, "max-size", "2m");
    dv_strv_push(&c.docker.allow_runtimes, "runc");
    dv_strv_push(&c.docker.allow_runtimes, "nvidia");
    for (size_t i = 0; i < dv_caps_allow_default_n; i++)
        dv_strv_push(&c.docker.allow_caps, dv_caps_allow_default[i]);
    *ret = c;
    memset(&c, 0, sizeof(c));
    return 0;
}

static int parse_port_range(const json_t *json, dv_agent_config *c, dv_spec_error *err)
{
    _cleanup_free_ char *range = NULL;
    int r = dv_sj_string(json, "", "port_range", &range, err);
    if (r < 0 || !range)
        return r;
    int lo = 0, hi = 0, used = 0;
    if (sscanf(range, "%d-%d%n", &lo, &hi, &used) != 2 || range[used] != '\0' || lo < 1 ||
        hi > 65535 || lo > hi)
        return dv_spec_fail(err, "port_range", -EINVAL,
                            "invalid port range \"%s\" (expected MIN-MAX within 1-65535)", range);
    c->port_min = lo;
    c->port_max = hi;
    return 0;
}

static int parse_caps(const json_t *docker, dv_agent_config *c, dv_spec_error *err)
{
    dv_strv raw = {0};
    int r = dv_sj_strv(docker, "docker", "allow_caps", &raw, NULL, err);
    if (r < 0 || !json_object_get(docker, "allow_caps") ||
        json_is_null(json_object_get(docker, "allow_caps")))
        return r;
    dv_strv caps = {0};
    for (size_t i = 0; i < raw.n && r >= 0; i++) {
        char norm[DV_CAP_NAME_MAX];
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "docker.allow_caps", i);
        /* Nomad trims spaces here: the docs' own example list has one. */
        const char *s = raw.v[i];
        while (*s == ' ')
            s++;
        _cleanup_free_ char *trimmed = dv_xstrdup(s);
        for (size_t n = strlen(trimmed); n && trimmed[n - 1] == ' ';)
            trimmed[--n] = '\0';
        if (!dv_cap_normalize(trimmed, norm))
            r = dv_spec_fail(err, field, -EINVAL, "unknown capability \"%s\"", raw.v[i]);
        else if (!dv_strv_contains(&caps, norm))
            dv_strv_push(&caps, norm);
    }
    dv_strv_free(&raw);
    if (r < 0) {
        dv_strv_free(&caps);
        return r;
    }
    dv_strv_free(&c->docker.allow_caps);
    c->docker.allow_caps = caps;
    return 0;
}

/* A logging block replaces the default as a whole, as Nomad's block default
 * does: a key it leaves out is Docker's default (no type: dockerd's default
 * driver; no config: no options), never json-file's max-file/max-size, which
 * another driver would refuse at create. */
static int parse_logging(const json_t *logging, dv_agent_config *c, dv_spec_error *err)
{
    static const char *const keys[] = {"type", "driver", "config", NULL};
    _cleanup_free_ char *type = NULL;
    dv_kv config = {0};
    int r;
    if ((r = dv_sj_check_keys(logging, "docker.logging", keys, err)) < 0 ||
        (r = dv_sj_logging_type(logging, "docker.logging", &type, err)) < 0 ||
        (r = dv_sj_kv(logging, "docker.logging", "config", &config, err)) < 0)
        return r;
    free(c->docker.logging.type);
    c->docker.logging.type = type && *type ? TAKE_PTR(type) : NULL;
    dv_kv_free(&c->docker.logging.config);
    c->docker.logging.config = config;
    return 0;
}

/* "/a/b": absolute, no empty, "." or ".." component, no trailing slash. */
static bool clean_absolute(const char *path)
{
    if (path[0] != '/' || !path[1])
        return false;
    for (const char *c = path + 1;;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        if (!c[n])
            return true;
        c += n + 1;
    }
}

/* Globs are matched against canonical paths (policy.c): one that is relative or
 * holds "." / ".." components could never match, so it is a mistake to say so. */
/* docker.log_source: where each docklog reads (docklog/config.h "source"). */
static int parse_log_source(const json_t *docker, dv_agent_config *c, dv_spec_error *err)
{
    const char *v = NULL;
    int r = dv_sj_string_ref(docker, "docker", "log_source", &v, err);
    if (r < 0 || !v)
        return r;
    if (strcmp(v, "auto") == 0)
        c->docker.log_source = DV_LOG_SOURCE_AUTO;
    else if (strcmp(v, "file") == 0)
        c->docker.log_source = DV_LOG_SOURCE_FILE;
    else if (strcmp(v, "api") == 0)
        c->docker.log_source = DV_LOG_SOURCE_API;
    else
        return dv_spec_fail(err, "docker.log_source", -EINVAL,
                            "must be \"auto\", \"file\" or \"api\"");
    return 0;
}

const char *dv_log_source_name(enum dv_log_source s)
{
    switch (s) {
    case DV_LOG_SOURCE_AUTO:
        return "auto";
    case DV_LOG_SOURCE_FILE:
        return "file";
    case DV_LOG_SOURCE_API:
        return "api";
    }
    assert(!"log source out of range");
    return "auto";
}

static int parse_allow_devices(const json_t *docker, dv_agent_config *c, dv_spec_error *err)
{
    dv_strv globs = {0};
    int r = dv_sj_strv(docker, "docker", "allow_devices", &globs, NULL, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < globs.n; i++) {
        const char *g = globs.v[i];
        if (clean_absolute(g))
            continue;
        char field[DV_SPEC_FIELD_MAX];
        dv_sj_index(field, "docker.allow_devices", i);
        r = dv_spec_fail(err, field, -EINVAL,
                         "\"%s\" is not a clean absolute path glob (e.g. \"/dev/fuse\", "
                         "\"/dev/nvidia*\"): device paths are matched once resolved",
                         g);
        dv_strv_free(&globs);
        return r;
    }
    dv_strv_free(&c->docker.allow_devices);
    c->docker.allow_devices = globs;
    return 0;
}

static int parse_docker(const json_t *docker, dv_agent_config *c, dv_spec_error *err)
{
    static const char *const keys[] = {"endpoint",
                                       "auth",
                                       "tls",
                                       "allow_privileged",
                                       "allow_caps",
                                       "allow_runtimes",
                                       "allow_host_network",
                                       "allow_unconfined",
                                       "allow_devices",
                                       "pull_activity_timeout",
                                       "pids_limit",
                                       "extra_labels",
                                       "disable_log_collection",
                                       "logging",
                                       "gc",
                                       "volumes",
                                       "infra_image",
                                       "infra_image_pull_timeout",
                                       "image_pull_timeout",
                                       "container_exists_attempts",
                                       "nvidia_runtime",
                                       "log_source",
                                       "windows_allow_insecure_container_admin",
                                       "isolation",
                                       NULL};
    static const char *const auth_keys[] = {"config", "helper", NULL};
    static const char *const tls_keys[] = {"cert", "key", "ca", NULL};
    static const char *const gc_keys[] = {"image", "image_delay", "container",
                                          "dangling_containers", NULL};
    static const char *const dangling_keys[] = {"enabled", "dry_run", "period", "creation_grace",
                                                NULL};
    static const char *const volumes_keys[] = {"enabled", "selinuxlabel", NULL};
    static const char *const d = "docker";
    const json_t *auth = NULL, *tls = NULL, *logging = NULL, *gc = NULL, *dangling = NULL,
                 *volumes = NULL;
    int r;
    if ((r = dv_sj_check_keys(docker, d, keys, err)) < 0 ||
        (r = dv_sj_string(docker, d, "endpoint", &c->docker.endpoint, err)) < 0 ||
        (r = dv_sj_object(docker, d, "auth", &auth, err)) < 0 ||
        (auth &&
         ((r = dv_sj_check_keys(auth, "docker.auth", auth_keys, err)) < 0 ||
          (r = dv_sj_string(auth, "docker.auth", "config", &c->docker.auth.config, err)) < 0 ||
          (r = dv_sj_string(auth, "docker.auth", "helper", &c->docker.auth.helper, err)) < 0)) ||
        (r = dv_sj_object(docker, d, "tls", &tls, err)) < 0 ||
        (tls && ((r = dv_sj_check_keys(tls, "docker.tls", tls_keys, err)) < 0 ||
                 (r = dv_sj_string(tls, "docker.tls", "cert", &c->docker.tls.cert, err)) < 0 ||
                 (r = dv_sj_string(tls, "docker.tls", "key", &c->docker.tls.key, err)) < 0 ||
                 (r = dv_sj_string(tls, "docker.tls", "ca", &c->docker.tls.ca, err)) < 0)) ||
        (r = dv_sj_bool(docker, d, "allow_privileged", &c->docker.allow_privileged, err)) < 0 ||
        (r = parse_caps(docker, c, err)) < 0 ||
        (r = dv_sj_strv(docker, d, "allow_runtimes", &c->docker.allow_runtimes, NULL, err)) < 0 ||
        (r = dv_sj_bool(docker, d, "allow_host_network", &c->docker.allow_host_network, err)) < 0 ||
        (r = dv_sj_bool(docker, d, "allow_unconfined", &c->docker.allow_unconfined, err)) < 0 ||
        (r = parse_allow_devices(docker, c, err)) < 0 ||
        (r = dv_sj_duration(docker, d, "pull_activity_timeout", MINUTE,
                            &c->docker.pull_activity_timeout_ns, err)) < 0 ||
        (r = dv_sj_int(docker, d, "pids_limit", 0, DV_PIDS_LIMIT_MAX, &c->docker.pids_limit, err)) <
            0 ||
        (r = dv_sj_strv(docker, d, "extra_labels", &c->docker.extra_labels, NULL, err)) < 0 ||
        (r = dv_sj_bool(docker, d, "disable_log_collection", &c->docker.disable_log_collection,
                        err)) < 0 ||
        (r = dv_sj_object(docker, d, "logging", &logging, err)) < 0 ||
        (logging && (r = parse_logging(logging, c, err)) < 0) ||
        (r = dv_sj_object(docker, d, "gc", &gc, err)) < 0 ||
        (gc && ((r = dv_sj_check_keys(gc, "docker.gc", gc_keys, err)) < 0 ||
                (r = dv_sj_bool(gc, "docker.gc", "image", &c->docker.gc.image, err)) < 0 ||
                (r = dv_sj_duration(gc, "docker.gc", "image_delay", 0, &c->docker.gc.image_delay_ns,
                                    err)) < 0 ||
                (r = dv_sj_bool(gc, "docker.gc", "container", &c->docker.gc.container, err)) < 0 ||
                (r = dv_sj_object(gc, "docker.gc", "dangling_containers", &dangling, err)) < 0)) ||
        (dangling &&
         ((r = dv_sj_check_keys(dangling, "docker.gc.dangling_containers", dangling_keys, err)) <
              0 ||
          (r = dv_sj_bool(dangling, "docker.gc.dangling_containers", "enabled",
                          &c->docker.gc.dangling_containers.enabled, err)) < 0 ||
          (r = dv_sj_bool(dangling, "docker.gc.dangling_containers", "dry_run",
                          &c->docker.gc.dangling_containers.dry_run, err)) < 0 ||
          (r = dv_sj_duration(dangling, "docker.gc.dangling_containers", "period", DV_NSEC_PER_SEC,
                              &c->docker.gc.dangling_containers.period_ns, err)) < 0 ||
          /* Nomad's minimum: a younger container may not be registered yet */
          (r = dv_sj_duration(dangling, "docker.gc.dangling_containers", "creation_grace", MINUTE,
                              &c->docker.gc.dangling_containers.creation_grace_ns, err)) < 0)) ||
        (r = dv_sj_object(docker, d, "volumes", &volumes, err)) < 0 ||
        (volumes && ((r = dv_sj_check_keys(volumes, "docker.volumes", volumes_keys, err)) < 0 ||
                     (r = dv_sj_bool(volumes, "docker.volumes", "enabled",
                                     &c->docker.volumes.enabled, err)) < 0 ||
                     (r = dv_sj_string(volumes, "docker.volumes", "selinuxlabel",
                                       &c->docker.volumes.selinuxlabel, err)) < 0)) ||
        (r = dv_sj_string(docker, d, "infra_image", &c->docker.infra_image, err)) < 0 ||
        (r = dv_sj_duration(docker, d, "infra_image_pull_timeout", 0,
                            &c->docker.infra_image_pull_timeout_ns, err)) < 0 ||
        (r = dv_sj_duration(docker, d, "image_pull_timeout", 0, &c->docker.image_pull_timeout_ns,
                            err)) < 0 ||
        (r = dv_sj_int(docker, d, "container_exists_attempts", 1, 100,
                       &c->docker.container_exists_attempts, err)) < 0 ||
        (r = dv_sj_string(docker, d, "nvidia_runtime", &c->docker.nvidia_runtime, err)) < 0 ||
        (r = parse_log_source(docker, c, err)) < 0 ||
        (r = dv_sj_windows_only(docker, d, "windows_allow_insecure_container_admin", err)) < 0 ||
        (r = dv_sj_windows_only(docker, d, "isolation", err)) < 0)
        return r;
    return 0;
}

static void empty_to_null(char **s);

int dv_listen_address_parse(const char *text, char *host, size_t host_size, int *port)
{
    const char *colon = text ? strrchr(text, ':') : NULL;
    if (!colon || colon == text)
        return -EINVAL;
    const char *h = text;
    size_t hlen = (size_t)(colon - text);
    if (text[0] == '[') {
        if (hlen < 3 || text[hlen - 1] != ']')
            return -EINVAL;
        h++;
        hlen -= 2;
    }
    char buf[64];
    if (hlen >= sizeof(buf) || hlen >= host_size)
        return -EINVAL;
    memcpy(buf, h, hlen);
    buf[hlen] = '\0';
    /* An IPv6 address must be in brackets: "::1:9700" is ambiguous. */
    if (!dv_sj_valid_ip(buf) || (strchr(buf, ':') != NULL) != (text[0] == '['))
        return -EINVAL;
    const char *p = colon + 1;
    if (*p < '1' || *p > '9' || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p))
        return -EINVAL;
    long v = strtol(p, NULL, 10);
    if (v < 1 || v > 65535)
        return -EINVAL;
    memcpy(host, buf, hlen + 1);
    *port = (int)v;
    return 0;
}

static int parse_telemetry(const json_t *telemetry, dv_agent_config *c, dv_spec_error *err)
{
    static const char *const keys[] = {"prometheus_address", NULL};
    int r;
    if ((r = dv_sj_check_keys(telemetry, "telemetry", keys, err)) < 0 ||
        (r = dv_sj_string(telemetry, "telemetry", "prometheus_address",
                          &c->telemetry.prometheus_address, err)) < 0)
        return r;
    empty_to_null(&c->telemetry.prometheus_address);
    char host[64];
    int port;
    if (c->telemetry.prometheus_address &&
        dv_listen_address_parse(c->telemetry.prometheus_address, host, sizeof(host), &port) < 0)
        return dv_spec_fail(err, "telemetry.prometheus_address", -EINVAL,
                            "\"%s\" is not IPv4:PORT or [IPv6]:PORT (numeric, port 1-65535)",
                            c->telemetry.prometheus_address);
    return 0;
}

static int parse_node(const json_t *node, dv_agent_config *c, dv_spec_error *err)
{
    static const char *const keys[] = {"name", "datacenter", "region", "node_class", "meta", NULL};
    static const char *const n = "node";
    int r;
    if ((r = dv_sj_check_keys(node, n, keys, err)) < 0 ||
        (r = dv_sj_string(node, n, "name", &c->node.name, err)) < 0 ||
        (r = dv_sj_string(node, n, "datacenter", &c->node.datacenter, err)) < 0 ||
        (r = dv_sj_string(node, n, "region", &c->node.region, err)) < 0 ||
        (r = dv_sj_string(node, n, "node_class", &c->node.node_class, err)) < 0 ||
        (r = dv_sj_kv(node, n, "meta", &c->node.meta, err)) < 0)
        return r;
    return 0;
}

bool dv_extra_label_glob(const char *glob, const char *name)
{
    /* Classic '*' backtracking: remember the last star and retry one char later. */
    const char *star = NULL, *resume = NULL;
    while (*name) {
        if (*glob == '*') {
            star = glob++;
            resume = name;
        } else if (*glob == *name) {
            glob++;
            name++;
        } else if (star) {
            glob = star + 1;
            name = ++resume;
        } else {
            return false;
        }
    }
    while (*glob == '*')
        glob++;
    return *glob == '\0';
}

/* "" means unset for the optional strings; normalize once so users of the
 * struct test only for NULL. */
static void empty_to_null(char **s)
{
    if (*s && !**s) {
        free(*s);
        *s = NULL;
    }
}

static int check(dv_agent_config *c, dv_spec_error *err)
{
    empty_to_null(&c->docker.endpoint);
    empty_to_null(&c->docker.auth.config);
    empty_to_null(&c->docker.auth.helper);
    empty_to_null(&c->docker.tls.cert);
    empty_to_null(&c->docker.tls.key);
    empty_to_null(&c->docker.tls.ca);
    empty_to_null(&c->docker.volumes.selinuxlabel);
    if (!c->docker.endpoint) {
        /* The docs: "endpoint must also be specified or this setting will be
         * ignored"; DOCKER_HOST with its own TLS variables applies then. */
        free(c->docker.tls.cert);
        free(c->docker.tls.key);
        free(c->docker.tls.ca);
        c->docker.tls.cert = c->docker.tls.key = c->docker.tls.ca = NULL;
    }
    if (!c->data_dir || c->data_dir[0] != '/')
        return dv_spec_fail(err, "data_dir", -EINVAL, "\"%s\" is not an absolute path",
                            c->data_dir ? c->data_dir : "");
    if (!c->socket || c->socket[0] != '/')
        return dv_spec_fail(err, "socket", -EINVAL, "\"%s\" is not an absolute path",
                            c->socket ? c->socket : "");
    if (!dv_sj_valid_ip(c->bind_address))
        return dv_spec_fail(err, "bind_address", -EINVAL, "invalid IP address \"%s\"",
                            c->bind_address);
    int tls_set = !!c->docker.tls.cert + !!c->docker.tls.key + !!c->docker.tls.ca;
    if (tls_set != 0 && tls_set != 3)
        return dv_spec_fail(err, "docker.tls", -EINVAL, "cert, key and ca must be set together");
    const char *helper = c->docker.auth.helper;
    if (helper && (strchr(helper, '/') || strncmp(helper, "docker-credential-", 18) == 0))
        return dv_spec_fail(err, "docker.auth.helper", -EINVAL,
                            "\"%s\": give only the suffix of docker-credential-<helper> (e.g. "
                            "\"ecr-login\"), not a path",
                            helper);
    if (!c->docker.infra_image || !*c->docker.infra_image)
        return dv_spec_fail(err, "docker.infra_image", -EINVAL, "image name required");
    if (!c->docker.nvidia_runtime || !*c->docker.nvidia_runtime)
        return dv_spec_fail(err, "docker.nvidia_runtime", -EINVAL, "runtime name required");
    empty_to_null(&c->node.node_class);
    const struct {
        const char *field, *value;
    } node_names[] = {{"node.name", c->node.name},
                      {"node.datacenter", c->node.datacenter},
                      {"node.region", c->node.region}};
    for (size_t i = 0; i < DV_ARRAY_SIZE(node_names); i++)
        if (!node_names[i].value || !*node_names[i].value)
            return dv_spec_fail(err, node_names[i].field, -EINVAL, "must not be empty");
    for (size_t i = 0; i < c->node.meta.n; i++)
        if (!dv_meta_key_valid(c->node.meta.v[i].key)) {
            char field[DV_SPEC_FIELD_MAX];
            snprintf(field, sizeof(field), "node.meta.%s", c->node.meta.v[i].key);
            return dv_spec_fail(err, field, -EINVAL,
                                "invalid key (letters, digits, '_', '-' and '.' only: it becomes "
                                "${meta.<key>} and NOMAD_META_<key>)");
        }
    for (size_t i = 0; i < c->docker.extra_labels.n; i++) {
        bool matches = false;
        for (const char *const *n = extra_label_names; *n && !matches; n++)
            matches = dv_extra_label_glob(c->docker.extra_labels.v[i], *n);
        if (!matches) {
            char field[DV_SPEC_FIELD_MAX];
            dv_sj_index(field, "docker.extra_labels", i);
            return dv_spec_fail(err, field, -EINVAL,
                                "\"%s\" matches no label (job_name, job_id, task_group_name, "
                                "task_name, namespace, node_name, node_id)",
                                c->docker.extra_labels.v[i]);
        }
    }
    return 0;
}

int dv_agent_config_parse(const json_t *json, dv_agent_config *ret, dv_spec_error *err)
{
    static const char *const keys[] = {
        "data_dir",         "socket", "bind_address", "port_range", "max_kill_timeout",
        "max_exec_timeout", "docker", "node",         "telemetry",  NULL};
    if (!json || !json_is_object(json))
        return dv_spec_fail(err, "", -EINVAL, "the agent config must be a JSON object");
    __attribute__((cleanup(config_clearp))) dv_agent_config c = {0};
    int r = dv_agent_config_defaults(&c, err);
    if (r < 0)
        return r;
    const json_t *docker = NULL, *node = NULL, *telemetry = NULL;
    if ((r = dv_sj_check_keys(json, "", keys, err)) < 0 ||
        (r = dv_sj_string(json, "", "data_dir", &c.data_dir, err)) < 0 ||
        (r = dv_sj_string(json, "", "socket", &c.socket, err)) < 0 ||
        (r = dv_sj_string(json, "", "bind_address", &c.bind_address, err)) < 0 ||
        (r = parse_port_range(json, &c, err)) < 0 ||
        (r = dv_sj_duration(json, "", "max_kill_timeout", DV_NSEC_PER_SEC, &c.max_kill_timeout_ns,
                            err)) < 0 ||
        (r = dv_sj_duration(json, "", "max_exec_timeout", DV_NSEC_PER_SEC, &c.max_exec_timeout_ns,
                            err)) < 0 ||
        (r = dv_sj_object(json, "", "docker", &docker, err)) < 0 ||
        (docker && (r = parse_docker(docker, &c, err)) < 0) ||
        (r = dv_sj_object(json, "", "node", &node, err)) < 0 ||
        (node && (r = parse_node(node, &c, err)) < 0) ||
        (r = dv_sj_object(json, "", "telemetry", &telemetry, err)) < 0 ||
        (telemetry && (r = parse_telemetry(telemetry, &c, err)) < 0) || (r = check(&c, err)) < 0)
        return r;
    *ret = c;
    memset(&c, 0, sizeof(c));
    return 0;
}

int dv_agent_config_load(const char *path, dv_agent_config *ret, dv_spec_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    dv_error e;
    if (dv_read_file(path, &text, &len, &e) < 0)
        return dv_spec_fail(err, "", e.code, "agent config: %s", e.msg);
    json_error_t jerr;
    _cleanup_json_ json_t *json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json)
        return dv_spec_fail(err, "", -EINVAL, "%s:%d:%d: invalid JSON: %s", path, jerr.line,
                            jerr.column, jerr.text);
    int r = dv_agent_config_parse(json, ret, err);
    if (r < 0 && err) {
        char msg[DV_ERROR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", err->err.msg);
        snprintf(err->err.msg, sizeof(err->err.msg), "%s: %s", path, msg);
    }
    return r;
}

static bool str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

const char *dv_agent_config_restart_field(const dv_agent_config *old, const dv_agent_config *new_)
{
    if (str_differs(old->data_dir, new_->data_dir))
        return "data_dir";
    if (str_differs(old->socket, new_->socket))
        return "socket";
    if (str_differs(old->bind_address, new_->bind_address))
        return "bind_address";
    if (str_differs(old->docker.endpoint, new_->docker.endpoint))
        return "docker.endpoint";
    if (str_differs(old->docker.tls.cert, new_->docker.tls.cert) ||
        str_differs(old->docker.tls.key, new_->docker.tls.key) ||
        str_differs(old->docker.tls.ca, new_->docker.tls.ca))
        return "docker.tls";
    if (str_differs(old->telemetry.prometheus_address, new_->telemetry.prometheus_address))
        return "telemetry.prometheus_address";
    return NULL;
}

bool dv_agent_config_cap_allowed(const dv_agent_config *config, const char *cap)
{
    char norm[DV_CAP_NAME_MAX];
    if (!dv_cap_normalize(cap, norm))
        return false;
    return dv_strv_contains(&config->docker.allow_caps, "all") ||
           dv_strv_contains(&config->docker.allow_caps, norm);
}
