/* dockvisor exec ID -- CMD..., dockvisor stats ID, dockvisor node-status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "commands.h"

static void write_all(int fd, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        s += n;
        len -= (size_t)n;
    }
}

int dv_cmd_exec(int argc, char **argv)
{
    static const char usage[] = "dockvisor exec [-timeout D] [-address A] ID -- CMD [ARG...]";
    const char *timeout = NULL, *address = NULL;
    const dv_flag flags[] = {
        {"timeout", DV_FLAG_STRING, &timeout, "give up after this long (default 5m)"},
        DV_CLI_ADDRESS_FLAG(address),
        {0},
    };
    dv_cli_args a;
    int r = dv_cli_parse(usage, flags, argc, argv, &a);
    if (r < 0)
        return r == -ECANCELED ? DV_EXIT_OK : DV_EXIT_USAGE;
    /* ID then the command, after "--" (or directly after the ID). */
    if (a.npos < 2 || (a.dashdash >= 0 && a.dashdash != 1)) {
        dv_cli_usage(stderr, usage, flags);
        dv_cli_args_free(&a);
        return DV_EXIT_USAGE;
    }
    _cleanup_json_ json_t *cmd = json_array();
    for (int i = 1; i < a.npos; i++)
        json_array_append_new(cmd, json_string(a.pos[i]));
    _cleanup_json_ json_t *body = json_pack("{s:O}", "cmd", cmd);
    if (timeout)
        json_object_set_new(body, "timeout", json_string(timeout));
    _cleanup_free_ char *esc = dv_api_escape(a.pos[0]);
    dv_cli_args_free(&a);
    _cleanup_free_ char *path = NULL;
    if (!esc || asprintf(&path, "/v1/tasks/%s/exec", esc) < 0)
        return DV_EXIT_ERROR;
    dv_api_client *c = dv_cli_connect("exec", address);
    if (!c)
        return DV_EXIT_ERROR;
    dv_error err;
    _cleanup_json_ json_t *answer = NULL;
    r = dv_api_call_ok(c, "POST", path, body, &answer, &err);
    dv_api_client_free(c);
    if (r < 0) {
        dv_cli_error("exec", "%s", err.msg);
        return DV_EXIT_ERROR;
    }
    write_all(STDOUT_FILENO, json_string_value(json_object_get(answer, "stdout")));
    write_all(STDERR_FILENO, json_string_value(json_object_get(answer, "stderr")));
    /* The command's own exit code, as `docker exec` does. */
    return (int)(json_integer_value(json_object_get(answer, "exit_code")) & 0xff);
}

static void human_bytes(json_int_t v, char *buf, size_t size)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double d = (double)v;
    size_t u = 0;
    while (d >= 1024 && u + 1 < DV_ARRAY_SIZE(units)) {
        d /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", d, units[u]);
}

int dv_cmd_stats(int argc, char **argv)
{
    static const char usage[] = "dockvisor stats [-json] [-address A] ID";
    bool as_json = false;
    const char *address = NULL;
    const dv_flag flags[] = {
        {"json", DV_FLAG_BOOL, &as_json, "print JSON for programs"},
        DV_CLI_ADDRESS_FLAG(address),
        {0},
    };
    dv_cli_args a;
    int r = dv_cli_parse(usage, flags, argc, argv, &a);
    if (r < 0)
        return r == -ECANCELED ? DV_EXIT_OK : DV_EXIT_USAGE;
    if (a.npos != 1) {
        dv_cli_usage(stderr, usage, flags);
        dv_cli_args_free(&a);
        return DV_EXIT_USAGE;
    }
    _cleanup_free_ char *esc = dv_api_escape(a.pos[0]);
    dv_cli_args_free(&a);
    _cleanup_free_ char *path = NULL;
    if (!esc || asprintf(&path, "/v1/tasks/%s/stats", esc) < 0)
        return DV_EXIT_ERROR;
    dv_api_client *c = dv_cli_connect("stats", address);
    if (!c)
        return DV_EXIT_ERROR;
    dv_error err;
    _cleanup_json_ json_t *s = NULL;
    r = dv_api_call_ok(c, "GET", path, NULL, &s, &err);
    dv_api_client_free(c);
    if (r < 0) {
        dv_cli_error("stats", "%s", err.msg);
        return DV_EXIT_ERROR;
    }
    if (as_json) {
        dv_cli_print_json(s);
        return DV_EXIT_OK;
    }
    json_t *cpu = json_object_get(s, "cpu");
    json_t *mem = json_object_get(s, "memory");
    printf("CPU percent        = %.2f\n", json_number_value(json_object_get(cpu, "percent")));
    printf("Throttled periods  = %lld\n",
           json_integer_value(json_object_get(cpu, "throttled_periods")));
    printf("Throttled time     = %lld ns\n",
           json_integer_value(json_object_get(cpu, "throttled_time_ns")));
    const char *keys[] = {"rss", "cache", "swap", "usage", "max_usage"};
    const char *names[] = {"Memory RSS", "Memory cache", "Memory swap", "Memory usage",
                           "Memory max usage"};
    for (size_t i = 0; i < DV_ARRAY_SIZE(keys); i++) {
        char b[32];
        human_bytes(json_integer_value(json_object_get(mem, keys[i])), b, sizeof(b));
        printf("%-18s = %s\n", names[i], b);
    }
    return DV_EXIT_OK;
}

int dv_cmd_node_status(int argc, char **argv)
{
    static const char usage[] = "dockvisor node-status [-json] [-address A]";
    bool as_json = false;
    const char *address = NULL;
    const dv_flag flags[] = {
        {"json", DV_FLAG_BOOL, &as_json, "print JSON for programs"},
        DV_CLI_ADDRESS_FLAG(address),
        {0},
    };
    dv_cli_args a;
    int r = dv_cli_parse(usage, flags, argc, argv, &a);
    if (r < 0)
        return r == -ECANCELED ? DV_EXIT_OK : DV_EXIT_USAGE;
    int npos = a.npos;
    dv_cli_args_free(&a);
    if (npos != 0) {
        dv_cli_usage(stderr, usage, flags);
        return DV_EXIT_USAGE;
    }
    dv_api_client *c = dv_cli_connect("node-status", address);
    if (!c)
        return DV_EXIT_ERROR;
    dv_error err;
    _cleanup_json_ json_t *n = NULL;
    r = dv_api_call_ok(c, "GET", "/v1/node", NULL, &n, &err);
    dv_api_client_free(c);
    if (r < 0) {
        dv_cli_error("node-status", "%s", err.msg);
        return DV_EXIT_ERROR;
    }
    if (as_json) {
        dv_cli_print_json(n);
        return json_is_true(json_object_get(n, "healthy")) ? DV_EXIT_OK : DV_EXIT_ERROR;
    }
    json_t *docker = json_object_get(n, "docker");
    json_t *policy = json_object_get(n, "policy");
    json_t *tasks = json_object_get(n, "tasks");
    bool healthy = json_is_true(json_object_get(n, "healthy"));
    printf("Node ID        = %s\n", json_string_value(json_object_get(n, "node_id")) ?: "-");
    printf("Agent version  = %s\n", json_string_value(json_object_get(n, "agent_version")) ?: "-");
    printf("Health         = %s%s%s\n", healthy ? "healthy" : "unhealthy",
           healthy ? "" : ": ", healthy ? "" : json_string_value(json_object_get(docker, "error")) ?: "");
    printf("Docker         = %s (API %s) at %s\n",
           json_string_value(json_object_get(docker, "docker_version")) ?: "-",
           json_string_value(json_object_get(docker, "api_version")) ?: "-",
           json_string_value(json_object_get(docker, "endpoint")) ?: "-");
    printf("Bridge IP      = %s\n", json_string_value(json_object_get(docker, "bridge_ip")) ?: "-");
    printf("Runtimes       =");
    size_t i;
    json_t *rt;
    json_array_foreach(json_object_get(docker, "runtimes"), i, rt)
        printf(" %s", json_string_value(rt));
    printf("\n");
    printf("Privileged     = %s\n",
           json_is_true(json_object_get(policy, "allow_privileged")) ? "allowed" : "not allowed");
    printf("Volumes        = %s\n",
           json_is_true(json_object_get(policy, "volumes_enabled")) ? "enabled" : "disabled");
    json_int_t pl = json_integer_value(json_object_get(policy, "pids_limit"));
    if (pl > 0)
        printf("PIDs limit     = %lld\n", pl);
    else
        printf("PIDs limit     = unlimited\n");
    printf("Tasks          = %lld running, %lld total\n",
           json_integer_value(json_object_get(tasks, "running")),
           json_integer_value(json_object_get(tasks, "total")));
    return healthy ? DV_EXIT_OK : DV_EXIT_ERROR;
}
