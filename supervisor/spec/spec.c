/* The task spec's top level (name, env, user, resources, network, kill_*,
 * restart, logs), cross-field checks, and redaction of secrets. */
#include "spec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "duration.h"
#include "signals.h"
#include "task.h"
#include "spec_json.h"
#include "spec_parse.h"
#include "xalloc.h"

/* Nomad's RestartPolicyMinInterval. */
#define RESTART_MIN_INTERVAL (5 * DV_NSEC_PER_SEC)

static const char *const top_keys[] = {
    "name",        "config",  "env",  "user", "resources", "network", "kill_timeout",
    "kill_signal", "restart", "logs", "meta", "artifact",  NULL};

static int check_name(const char *name, dv_spec_error *err)
{
    if (!name || !*name)
        return dv_spec_fail(err, "name", -EINVAL, "task name required");
    size_t n = strlen(name);
    if (n > DV_TASK_NAME_MAX)
        return dv_spec_fail(err, "name", -EINVAL, "longer than %d characters", DV_TASK_NAME_MAX);
    /* Docker's container name rule: the name is the prefix of the container's. */
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return dv_spec_fail(err, "name", -EINVAL,
                                "invalid task name \"%s\" (letters, digits, '_', '.', '-'; "
                                "starting with a letter or digit)",
                                name);
    }
    return 0;
}

static int parse_env(const json_t *spec_json, dv_task_spec *spec, dv_spec_error *err)
{
    int r = dv_sj_kv(spec_json, "", "env", &spec->env, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < spec->env.n; i++)
        if (strchr(spec->env.v[i].key, '=')) {
            char field[DV_SPEC_FIELD_MAX];
            dv_sj_join(field, "env", spec->env.v[i].key);
            return dv_spec_fail(err, field, -EINVAL, "variable names cannot contain '='");
        }
    return 0;
}

static int parse_resources(const json_t *spec_json, dv_task_spec *spec, dv_spec_error *err)
{
    static const char *const keys[] = {"cpu", "memory", "memory_max", NULL};
    spec->resources.cpu = 100;
    spec->resources.memory = 300;
    const json_t *res = NULL;
    int r = dv_sj_object(spec_json, "", "resources", &res, err);
    if (r < 0 || !res)
        return r;
    /* Upper bounds keep MB → bytes and MHz arithmetic far from overflow. */
    if ((r = dv_sj_check_keys(res, "resources", keys, err)) < 0 ||
        (r = dv_sj_int(res, "resources", "cpu", 1, INT64_C(1) << 30, &spec->resources.cpu, err)) <
            0 ||
        (r = dv_sj_int(res, "resources", "memory", 10, INT64_C(1) << 30, &spec->resources.memory,
                       err)) < 0 ||
        (r = dv_sj_int(res, "resources", "memory_max", -1, INT64_C(1) << 30,
                       &spec->resources.memory_max, err)) < 0)
        return r;
    return 0;
}

static int parse_restart(const json_t *spec_json, dv_task_spec *spec, dv_spec_error *err)
{
    static const char *const keys[] = {"attempts", "interval", "delay", "mode", NULL};
    dv_restart_policy_default(&spec->restart);
    const json_t *rs = NULL;
    int r = dv_sj_object(spec_json, "", "restart", &rs, err);
    if (r < 0 || !rs)
        return r;
    int64_t attempts = spec->restart.attempts;
    _cleanup_free_ char *mode = NULL;
    if ((r = dv_sj_check_keys(rs, "restart", keys, err)) < 0 ||
        (r = dv_sj_int(rs, "restart", "attempts", 0, 1000000, &attempts, err)) < 0 ||
        (r = dv_sj_duration(rs, "restart", "interval", RESTART_MIN_INTERVAL,
                            &spec->restart.interval_ns, err)) < 0 ||
        (r = dv_sj_duration(rs, "restart", "delay", 0, &spec->restart.delay_ns, err)) < 0 ||
        (r = dv_sj_string(rs, "restart", "mode", &mode, err)) < 0)
        return r;
    spec->restart.attempts = (int)attempts;
    if (mode && strcmp(mode, "fail") == 0)
        spec->restart.mode = DV_RESTART_MODE_FAIL;
    else if (mode && strcmp(mode, "delay") == 0)
        spec->restart.mode = DV_RESTART_MODE_DELAY;
    else if (mode)
        return dv_spec_fail(err, "restart.mode", -EINVAL,
                            "invalid mode \"%s\" (expected fail or delay)", mode);
    /* Nomad's check: the attempts must fit in the interval. */
    if (spec->restart.delay_ns > 0 &&
        attempts > spec->restart.interval_ns / spec->restart.delay_ns) {
        char interval[32], delay[32];
        dv_duration_format(spec->restart.interval_ns, interval, sizeof(interval));
        dv_duration_format(spec->restart.delay_ns, delay, sizeof(delay));
        return dv_spec_fail(err, "restart.attempts", -EINVAL,
                            "cannot restart %" PRId64 " times in an interval of %s with a delay "
                            "of %s",
                            attempts, interval, delay);
    }
    return 0;
}

static int parse_logs(const json_t *spec_json, dv_task_spec *spec, dv_spec_error *err)
{
    static const char *const keys[] = {"max_files",
                                       "max_file_size",
                                       "file",
                                       "journald",
                                       "disabled",
                                       "journald_rate_limit",
                                       "journald_rate_limit_burst",
                                       NULL};
    spec->logs.max_files = 10;
    spec->logs.max_file_size = 10;
    spec->logs.file = true;
    spec->logs.journald = true;
    const json_t *logs = NULL;
    int r = dv_sj_object(spec_json, "", "logs", &logs, err);
    if (r < 0 || !logs)
        return r;
    if ((r = dv_sj_check_keys(logs, "logs", keys, err)) < 0 ||
        (r = dv_sj_int(logs, "logs", "max_files", 1, 100000, &spec->logs.max_files, err)) < 0 ||
        (r = dv_sj_int(logs, "logs", "max_file_size", 1, 1 << 20, &spec->logs.max_file_size, err)) <
            0 ||
        (r = dv_sj_bool(logs, "logs", "file", &spec->logs.file, err)) < 0 ||
        (r = dv_sj_bool(logs, "logs", "journald", &spec->logs.journald, err)) < 0 ||
        (r = dv_sj_bool(logs, "logs", "disabled", &spec->logs.disabled, err)) < 0 ||
        (r = dv_sj_duration(logs, "logs", "journald_rate_limit", 0,
                            &spec->logs.journald_rate_limit_ns, err)) < 0 ||
        (r = dv_sj_int(logs, "logs", "journald_rate_limit_burst", 0, UINT32_MAX,
                       &spec->logs.journald_rate_limit_burst, err)) < 0)
        return r;
    return 0;
}

static int parse_kill(const json_t *spec_json, dv_task_spec *spec, dv_spec_error *err)
{
    spec->kill_timeout_ns = DV_KILL_TIMEOUT_DEFAULT;
    _cleanup_free_ char *sig = NULL;
    int r;
    if ((r = dv_sj_duration(spec_json, "", "kill_timeout", 0, &spec->kill_timeout_ns, err)) < 0 ||
        (r = dv_sj_string(spec_json, "", "kill_signal", &sig, err)) < 0)
        return r;
    if (!sig || !*sig)
        return 0;
    dv_error e;
    if (dv_signal_parse(sig, &spec->kill_signo, &e) < 0)
        return dv_spec_fail_from(err, "kill_signal", &e);
    dv_signal_name(spec->kill_signo, spec->kill_signal, sizeof(spec->kill_signal));
    return 0;
}

int64_t dv_spec_memory_hard_mb(const dv_task_spec *spec)
{
    int64_t max = spec->resources.memory_max, hard_limit = spec->config.memory_hard_limit;
    if (max == -1)
        return -1;
    return hard_limit > max ? hard_limit : max;
}

/* Memory limits across config and resources (dv_spec_memory_hard_mb has the rule). */
static int check_memory(const dv_task_spec *spec, dv_spec_error *err)
{
    int64_t soft = spec->resources.memory, hard = dv_spec_memory_hard_mb(spec);
    int64_t hard_limit = spec->config.memory_hard_limit;
    if (hard == -1 && hard_limit > 0)
        return dv_spec_fail(err, "config.memory_hard_limit", -EINVAL,
                            "conflicts with resources.memory_max = -1 (no hard limit)");
    if (hard > 0 && soft > hard)
        return dv_spec_fail(
            err, "resources.memory", -EINVAL,
            "%" PRId64 " MB is above the hard limit of %" PRId64 " MB (%s)", soft, hard,
            hard == hard_limit ? "config.memory_hard_limit" : "resources.memory_max");
    return 0;
}

static void spec_free_fields(dv_task_spec *spec)
{
    free(spec->name);
    dv_task_config_clear(&spec->config);
    dv_kv_free(&spec->env);
    dv_kv_free(&spec->meta);
    free(spec->user);
    dv_spec_network_clear(spec);
    dv_spec_artifacts_clear(spec);
}

dv_task_spec *dv_task_spec_ref(dv_task_spec *spec)
{
    __atomic_add_fetch(&spec->refs, 1, __ATOMIC_RELAXED);
    return spec;
}

void dv_task_spec_free(dv_task_spec *spec)
{
    if (!spec || __atomic_sub_fetch(&spec->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    spec_free_fields(spec);
    free(spec);
}

static void spec_freep(dv_task_spec **spec)
{
    dv_task_spec_free(*spec);
}

static int parse_meta(const json_t *spec_json, dv_task_spec *spec, dv_spec_error *err)
{
    int r = dv_sj_kv(spec_json, "", "meta", &spec->meta, err);
    for (size_t i = 0; r >= 0 && i < spec->meta.n; i++)
        if (!dv_meta_key_valid(spec->meta.v[i].key)) {
            char field[DV_SPEC_FIELD_MAX];
            dv_sj_join(field, "meta", spec->meta.v[i].key);
            r = dv_spec_fail(err, field, -EINVAL,
                             "invalid key (letters, digits, '_', '-' and '.' only: it becomes "
                             "NOMAD_META_<key>)");
        }
    return r;
}

int dv_spec_parse_resolved(const json_t *spec_json, dv_spec_resolve_fn resolve, void *userdata,
                           dv_task_spec **ret, dv_spec_error *err)
{
    if (!spec_json || !json_is_object(spec_json))
        return dv_spec_fail(err, "", -EINVAL, "the task spec must be a JSON object, got %s",
                            spec_json ? dv_sj_type_name(spec_json) : "nothing");
    __attribute__((cleanup(spec_freep))) dv_task_spec *spec = dv_xcalloc(1, sizeof(*spec));
    spec->refs = 1;
    const json_t *config = NULL, *network = NULL;
    int r;
    if ((r = dv_sj_check_keys(spec_json, "", top_keys, err)) < 0 ||
        (r = dv_sj_string(spec_json, "", "name", &spec->name, err)) < 0 ||
        (r = check_name(spec->name, err)) < 0 ||
        (r = dv_sj_object(spec_json, "", "config", &config, err)) < 0)
        return r;
    if (!config)
        return dv_spec_fail(err, "config.image", -EINVAL, "image name required");
    /* Everything but config first: the variables config is interpolated with
     * come from it (env, resources, network ports, meta). */
    if ((r = parse_env(spec_json, spec, err)) < 0 || (r = parse_meta(spec_json, spec, err)) < 0 ||
        (r = dv_sj_string(spec_json, "", "user", &spec->user, err)) < 0 ||
        (r = parse_resources(spec_json, spec, err)) < 0 ||
        (r = dv_sj_object(spec_json, "", "network", &network, err)) < 0 ||
        (r = dv_spec_parse_network(network, spec, err)) < 0 ||
        (r = parse_kill(spec_json, spec, err)) < 0 ||
        (r = parse_restart(spec_json, spec, err)) < 0 || (r = parse_logs(spec_json, spec, err)) < 0)
        return r;
    /* What is interpolated: config and artifact, parsed once resolved. */
    _cleanup_json_ json_t *parts = json_object();
    json_object_set_new(parts, "config", json_deep_copy(config));
    const json_t *artifact = json_object_get(spec_json, "artifact");
    if (artifact)
        json_object_set_new(parts, "artifact", json_deep_copy(artifact));
    if (resolve && (r = resolve(spec, parts, userdata, err)) < 0)
        return r;
    if ((r = dv_spec_parse_artifacts(parts, spec, err)) < 0 ||
        (r = dv_spec_parse_config(json_object_get(parts, "config"), &spec->config, err)) < 0 ||
        (r = check_memory(spec, err)) < 0 || (r = dv_spec_check_ports(spec, err)) < 0)
        return r;
    if (spec->user && !*spec->user) {
        free(spec->user);
        spec->user = NULL;
    }
    *ret = TAKE_PTR(spec);
    return 0;
}

int dv_spec_parse(const json_t *spec_json, dv_task_spec **ret, dv_spec_error *err)
{
    return dv_spec_parse_resolved(spec_json, NULL, NULL, ret, err);
}

/* Logging driver options that carry credentials (splunk-token, awslogs
 * credentials, gelf/fluentd passwords...). */
static bool secret_key(const char *key)
{
    static const char *const words[] = {"token", "password", "secret", "key", "credential"};
    for (size_t i = 0; i < DV_ARRAY_SIZE(words); i++)
        if (strcasestr(key, words[i]))
            return true;
    return false;
}

json_t *dv_spec_redact(const json_t *spec_json)
{
    json_t *copy = json_deep_copy(spec_json);
    json_t *config = json_object_get(copy, "config");
    json_t *auth = json_object_get(config, "auth");
    json_t *pw = json_object_get(auth, "password");
    if (pw && !json_is_null(pw))
        json_object_set_new(auth, "password", json_string(DV_REDACTED));
    json_t *lc = json_object_get(json_object_get(config, "logging"), "config");
    const char *key;
    json_t *value;
    size_t i;
    json_t *artifact;
    /* An artifact's headers are how a download authenticates (Authorization,
     * tokens): every value is hidden, whatever its name. */
    json_array_foreach(json_object_get(copy, "artifact"), i, artifact)
    {
        json_t *headers = json_object_get(artifact, "headers");
        json_object_foreach(headers, key, value)
        {
            json_object_set_new(headers, key, json_string(DV_REDACTED));
        }
    }
    json_object_foreach(lc, key, value)
    {
        if (secret_key(key))
            json_object_set_new(lc, key, json_string(DV_REDACTED));
    }
    return copy;
}
