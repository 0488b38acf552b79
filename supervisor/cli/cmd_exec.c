/* dockvisor exec ID -- CMD..., dockvisor stats ID, dockvisor node-status. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "cli_format.h"
#include "commands.h"
#include "duration.h"

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
    const char *timeout = NULL;
    const dv_flag flags[] = {
        {"timeout", DV_FLAG_STRING, &timeout, "give up after this long (default 5m)"},
        {0},
    };
    _cleanup_cli_ dv_cli cli = {
        .cmd = "exec",
        .usage = "dockvisor exec [-timeout D] [-json] [-address A] ID -- CMD [ARG...]",
        .json_help = "print the answer ({\"exit_code\",\"stdout\",\"stderr\"}) as JSON"};
    int r = dv_cli_start(&cli, flags, argc, argv, 2, DV_CLI_ANY);
    if (r != DV_CLI_PROCEED)
        return r;
    /* ID then the command, after "--" (or directly after the ID). */
    if (cli.dashdash >= 0 && cli.dashdash != 1)
        return dv_cli_usage_error(&cli);
    _cleanup_json_ json_t *cmd = json_array();
    for (int i = 1; i < cli.npos; i++)
        json_array_append_new(cmd, json_string(cli.pos[i]));
    _cleanup_json_ json_t *body = json_pack("{s:O}", "cmd", cmd);
    if (timeout)
        json_object_set_new(body, "timeout", json_string(timeout));
    /* The agent bounds the command by its timeout (default 5m); an unparsable one
     * is the agent's to refuse (400), which it does at once. */
    int64_t t = 5 * 60 * DV_NSEC_PER_SEC;
    if (timeout && dv_duration_parse(timeout, &t, NULL) < 0)
        t = 0;
    cli.call_timeout_ns = t > 0 ? t + DV_CLI_EXEC_MARGIN_NS : 0;
    _cleanup_json_ json_t *answer = NULL;
    dv_error err;
    if (dv_cli_task_call_quiet(&cli, "POST", cli.pos[0], "/exec", body, &answer, &err) < 0) {
        if (err.http_status == 504 && !cli.json) {
            /* C8: a sentence instead of the Engine call that timed out. Without
             * -timeout the agent waits 5m, or its max_exec_timeout if lower. */
            if (timeout)
                dv_cli_error(cli.cmd,
                             "the command timed out after %s; it may still run in the container",
                             timeout);
            else
                dv_cli_error(cli.cmd, "the command timed out after the agent's default (5m, or its "
                                      "max_exec_timeout); it may still run in the container");
            return DV_EXIT_ERROR;
        }
        return dv_cli_fail(&cli, &err);
    }
    if (cli.json) {
        dv_cli_print_json(answer);
    } else {
        write_all(STDOUT_FILENO, json_string_value(json_object_get(answer, "stdout")));
        write_all(STDERR_FILENO, json_string_value(json_object_get(answer, "stderr")));
    }
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

static void print_stats(const json_t *s)
{
    json_t *cpu = json_object_get(s, "cpu");
    json_t *mem = json_object_get(s, "memory");
    dv_cli_field("CPU percent", "%.2f", json_number_value(json_object_get(cpu, "percent")));
    dv_cli_field("Throttled periods", "%lld",
                 json_integer_value(json_object_get(cpu, "throttled_periods")));
    dv_cli_field("Throttled time", "%lld ns",
                 json_integer_value(json_object_get(cpu, "throttled_time_ns")));
    static const char *const keys[] = {"rss", "cache", "swap", "usage", "max_usage"};
    static const char *const names[] = {"Memory RSS", "Memory cache", "Memory swap", "Memory usage",
                                        "Memory max usage"};
    for (size_t i = 0; i < DV_ARRAY_SIZE(keys); i++) {
        char b[32];
        human_bytes(json_integer_value(json_object_get(mem, keys[i])), b, sizeof(b));
        dv_cli_field(names[i], "%s", b);
    }
}

int dv_cmd_stats(int argc, char **argv)
{
    static const dv_cli_request_cmd rc = {.cmd = "stats",
                                          .usage = "dockvisor stats [-json] [-address A] ID",
                                          .json_help = "print JSON for programs",
                                          .min = 1,
                                          .max = 1,
                                          .method = "GET",
                                          .task_suffix = "/stats",
                                          .print = print_stats};
    return dv_cli_run_request(&rc, argc, argv);
}

static bool healthy(const json_t *n)
{
    return json_is_true(json_object_get(n, "healthy"));
}

static int node_exit_code(const json_t *n)
{
    return healthy(n) ? DV_EXIT_OK : DV_EXIT_ERROR;
}

static void print_node(const json_t *n)
{
    json_t *docker = json_object_get(n, "docker");
    json_t *policy = json_object_get(n, "policy");
    json_t *tasks = json_object_get(n, "tasks");
    dv_cli_field("Node ID", "%s", json_string_value(json_object_get(n, "node_id")) ?: "");
    dv_cli_field("Agent version", "%s",
                 json_string_value(json_object_get(n, "agent_version")) ?: "");
    char err[1024];
    dv_cli_readable(json_string_value(json_object_get(docker, "error")), err, sizeof(err));
    bool ok = healthy(n);
    dv_cli_field("Health", "%s%s%s", ok ? "healthy" : "unhealthy", ok || !err[0] ? "" : ": ",
                 ok ? "" : err);
    dv_cli_field("Docker", "%s (API %s) at %s",
                 json_string_value(json_object_get(docker, "docker_version")) ?: "-",
                 json_string_value(json_object_get(docker, "api_version")) ?: "-",
                 json_string_value(json_object_get(docker, "endpoint")) ?: "-");
    dv_cli_field("Bridge IP", "%s", json_string_value(json_object_get(docker, "bridge_ip")) ?: "");
    char runtimes[512] = "";
    size_t i, len = 0;
    json_t *v;
    json_array_foreach(json_object_get(docker, "runtimes"), i, v)
    {
        int w = snprintf(runtimes + len, sizeof(runtimes) - len, "%s%s", len ? " " : "",
                         json_string_value(v) ?: "?");
        if (w < 0 || (size_t)w >= sizeof(runtimes) - len)
            break;
        len += (size_t)w;
    }
    dv_cli_field("Runtimes", "%s", runtimes);
    dv_cli_field("Privileged", "%s",
                 json_is_true(json_object_get(policy, "allow_privileged")) ? "allowed"
                                                                           : "not allowed");
    dv_cli_field("Volumes", "%s",
                 json_is_true(json_object_get(policy, "volumes_enabled")) ? "enabled" : "disabled");
    json_int_t pl = json_integer_value(json_object_get(policy, "pids_limit"));
    if (pl > 0)
        dv_cli_field("PIDs limit", "%lld", pl);
    else
        dv_cli_field("PIDs limit", "unlimited");
    /* Where the log helpers run decides whether each task has its own journald budget. */
    const char *units = json_string_value(json_object_get(n, "docklog_units"));
    if (units)
        dv_cli_field("Log helpers", "%s", units);
    /* Helpers past root's inotify instance limit poll their files (inotify_limit.h). */
    json_t *ino = json_object_get(n, "inotify");
    if (json_is_true(json_object_get(ino, "low")))
        dv_cli_field("Inotify",
                     "LOW: fs.inotify.max_user_instances is %lld, tasks need %lld "
                     "(log helpers beyond it poll)",
                     json_integer_value(json_object_get(ino, "max_user_instances")),
                     json_integer_value(json_object_get(ino, "needed")));
    else if (ino && json_integer_value(json_object_get(ino, "max_user_instances")) >= 0)
        dv_cli_field("Inotify", "fs.inotify.max_user_instances %lld (tasks need %lld)",
                     json_integer_value(json_object_get(ino, "max_user_instances")),
                     json_integer_value(json_object_get(ino, "needed")));
    dv_cli_field("Tasks", "%lld running, %lld total",
                 json_integer_value(json_object_get(tasks, "running")),
                 json_integer_value(json_object_get(tasks, "total")));
    json_t *q = json_object_get(n, "quarantined");
    if (json_array_size(q) > 0)
        dv_cli_field("Set aside", "%zu task records could not be used:", json_array_size(q));
    json_array_foreach(q, i, v)
        printf("  %s: %s (moved to %s)\n", json_string_value(json_object_get(v, "task_id")) ?: "?",
               json_string_value(json_object_get(v, "reason")) ?: "?",
               json_string_value(json_object_get(v, "moved_to")) ?: "?");
}

int dv_cmd_node_status(int argc, char **argv)
{
    static const dv_cli_request_cmd rc = {.cmd = "node-status",
                                          .usage = "dockvisor node-status [-json] [-address A]",
                                          .json_help = "print JSON for programs",
                                          .method = "GET",
                                          .path = "/v1/node",
                                          .print = print_node,
                                          .exit_code = node_exit_code};
    return dv_cli_run_request(&rc, argc, argv);
}
