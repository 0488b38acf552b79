/* dockvisor status [-json] [ID]: the task table, or one task in detail. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "commands.h"

static const char usage[] = "dockvisor status [-json] [-address A] [ID]";

static void ports_text(const json_t *task, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t len = 0;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(task, "ports"), i, p)
    {
        int n = snprintf(buf + len, size - len, "%s%s:%lld->%lld", len ? "," : "",
                         json_string_value(json_object_get(p, "label")) ?: "?",
                         json_integer_value(json_object_get(p, "host_port")),
                         json_integer_value(json_object_get(p, "container_port")));
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
}

static void print_list(const json_t *tasks)
{
    static const char *const headers[] = {"ID",    "NAME",  "STATE",    "DESIRED", "CONTAINER",
                                          "IMAGE", "PORTS", "RESTARTS", "AGE"};
    dv_table *t = dv_table_new(DV_ARRAY_SIZE(headers), headers);
    size_t i;
    json_t *task;
    json_array_foreach(tasks, i, task)
    {
        char sid[9], cid[13], ports[256], restarts[16], age[16];
        dv_cli_short_id(json_string_value(json_object_get(task, "id")), sid);
        snprintf(cid, sizeof(cid), "%s",
                 json_string_value(json_object_get(task, "container_id")) ?: "");
        ports_text(task, ports, sizeof(ports));
        snprintf(restarts, sizeof(restarts), "%lld",
                 json_integer_value(json_object_get(task, "restarts")));
        dv_cli_age(json_integer_value(json_object_get(task, "created_ns")), age, sizeof(age));
        const char *row[] = {sid,
                             json_string_value(json_object_get(task, "name")),
                             json_string_value(json_object_get(task, "state")),
                             json_string_value(json_object_get(task, "desired")),
                             cid,
                             json_string_value(json_object_get(task, "image")),
                             ports,
                             restarts,
                             age};
        dv_table_add(t, row);
    }
    dv_table_print(t, stdout);
    dv_table_free(t);
}

static void field(const char *name, const char *value)
{
    printf("%-12s = %s\n", name, value && *value ? value : "-");
}

static void print_task(const json_t *task)
{
    char buf[512];
    field("ID", json_string_value(json_object_get(task, "id")));
    field("Name", json_string_value(json_object_get(task, "name")));
    snprintf(buf, sizeof(buf), "%s (desired %s)", json_string_value(json_object_get(task, "state")),
             json_string_value(json_object_get(task, "desired")));
    field("State", buf);
    snprintf(buf, sizeof(buf), "%s (%s)",
             json_string_value(json_object_get(task, "container_id")) ?: "-",
             json_string_value(json_object_get(task, "container_name")) ?: "-");
    field("Container", buf);
    snprintf(buf, sizeof(buf), "%s (%s)", json_string_value(json_object_get(task, "image")) ?: "-",
             json_string_value(json_object_get(task, "image_id")) ?: "-");
    field("Image", buf);
    json_t *net = json_object_get(task, "network");
    snprintf(buf, sizeof(buf), "%s%s", json_string_value(json_object_get(net, "ip")) ?: "-",
             json_is_true(json_object_get(net, "auto_advertise")) ? " (advertised)" : "");
    field("IP", buf);
    ports_text(task, buf, sizeof(buf));
    field("Ports", buf);
    snprintf(buf, sizeof(buf), "%lld", json_integer_value(json_object_get(task, "restarts")));
    field("Restarts", buf);
    json_t *exit = json_object_get(task, "exit");
    if (json_is_object(exit)) {
        int code = (int)json_integer_value(json_object_get(exit, "exit_code"));
        int sig = (int)json_integer_value(json_object_get(exit, "signal"));
        char when[32];
        dv_cli_time(json_integer_value(json_object_get(exit, "finished_ns")), when, sizeof(when));
        snprintf(buf, sizeof(buf), "exit code %d%s%s%s, at %s", code, sig ? " (signal " : "",
                 sig ? json_string_value(json_object_get(exit, "signal_name")) ?: "" : "",
                 sig ? ")" : "", when);
        if (json_is_true(json_object_get(exit, "oom_killed")))
            strncat(buf, ", OOM killed", sizeof(buf) - strlen(buf) - 1);
        field("Exit", buf);
    }
    char when[32];
    dv_cli_time(json_integer_value(json_object_get(task, "created_ns")), when, sizeof(when));
    field("Created", when);
    dv_cli_time(json_integer_value(json_object_get(task, "started_ns")), when, sizeof(when));
    field("Started", when);
    if (json_integer_value(json_object_get(task, "finished_ns")) > 0) {
        dv_cli_time(json_integer_value(json_object_get(task, "finished_ns")), when, sizeof(when));
        field("Finished", when);
    }
    printf("\nRecent events:\n");
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(task, "events"), i, ev)
        dv_cli_print_event(stdout, ev, false);
}

int dv_cmd_status(int argc, char **argv)
{
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
    if (a.npos > 1) {
        dv_cli_usage(stderr, usage, flags);
        dv_cli_args_free(&a);
        return DV_EXIT_USAGE;
    }
    _cleanup_free_ char *path = NULL;
    _cleanup_free_ char *esc = a.npos ? dv_api_escape(a.pos[0]) : NULL;
    bool one = a.npos == 1;
    dv_cli_args_free(&a);
    if (asprintf(&path, "/v1/tasks%s%s", one ? "/" : "", one ? esc : "") < 0)
        return DV_EXIT_ERROR;
    dv_api_client *c = dv_cli_connect("status", address);
    if (!c)
        return DV_EXIT_ERROR;
    dv_error err;
    _cleanup_json_ json_t *answer = NULL;
    r = dv_api_call_ok(c, "GET", path, NULL, &answer, &err);
    dv_api_client_free(c);
    if (r < 0) {
        dv_cli_error("status", "%s", err.msg);
        return DV_EXIT_ERROR;
    }
    if (as_json)
        dv_cli_print_json(answer);
    else if (one)
        print_task(answer);
    else
        print_list(answer);
    return DV_EXIT_OK;
}
