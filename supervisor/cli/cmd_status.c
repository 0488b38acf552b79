/* dockvisor status [-json] [ID]: the task table, or one task in detail. */
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "cli_follow.h"
#include "cli_format.h"
#include "commands.h"

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

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* "job.group[index]" of a task of an allocation ("-": a task alone). */
static void alloc_text(const json_t *task, char *buf, size_t size)
{
    const json_t *a = json_object_get(task, "alloc");
    if (!a) {
        snprintf(buf, size, "-");
        return;
    }
    snprintf(buf, size, "%s.%s[%lld]%s", str(a, "job") ?: "?", str(a, "group") ?: "?",
             json_integer_value(json_object_get(a, "index")),
             json_is_true(json_object_get(a, "infra")) ? " infra" : "");
}

static void print_list(const json_t *tasks)
{
    static const char *const headers[] = {"ID",        "NAME",  "ALLOC", "STATE",    "DESIRED",
                                          "CONTAINER", "IMAGE", "PORTS", "RESTARTS", "AGE"};
    dv_table *t = dv_table_new(DV_ARRAY_SIZE(headers), headers);
    size_t i;
    json_t *task;
    json_array_foreach(tasks, i, task)
    {
        char sid[9], cid[13], ports[256], restarts[16], age[16], alloc[160];
        alloc_text(task, alloc, sizeof(alloc));
        dv_cli_short_id(str(task, "id"), sid);
        snprintf(cid, sizeof(cid), "%s", str(task, "container_id") ?: "");
        ports_text(task, ports, sizeof(ports));
        snprintf(restarts, sizeof(restarts), "%lld",
                 json_integer_value(json_object_get(task, "restarts")));
        dv_cli_age(json_integer_value(json_object_get(task, "created_ns")), age, sizeof(age));
        const char *row[] = {
            sid, str(task, "name"),  alloc, str(task, "state"), str(task, "desired"),
            cid, str(task, "image"), ports, restarts,           age};
        dv_table_add(t, row);
    }
    dv_table_print(t, stdout);
    dv_table_free(t);
}

static void time_field(const char *name, const json_t *task, const char *key)
{
    char when[32];
    dv_cli_time(json_integer_value(json_object_get(task, key)), when, sizeof(when));
    dv_cli_field(name, "%s", when);
}

static void print_task(const json_t *task)
{
    char buf[512];
    dv_cli_field("ID", "%s", str(task, "id") ?: "");
    dv_cli_field("Name", "%s", str(task, "name") ?: "");
    const json_t *alloc = json_object_get(task, "alloc");
    if (alloc) {
        alloc_text(task, buf, sizeof(buf));
        dv_cli_field("Allocation", "%s (%s)", str(alloc, "id") ?: "-", buf);
    }
    dv_cli_field("State", "%s (desired %s)", str(task, "state") ?: "-",
                 str(task, "desired") ?: "-");
    if (str(task, "waiting"))
        dv_cli_field("Waiting", "%s", str(task, "waiting"));
    dv_cli_field("Container", "%s (%s)", str(task, "container_id") ?: "-",
                 str(task, "container_name") ?: "-");
    dv_cli_field("Image", "%s (%s)", str(task, "image") ?: "-", str(task, "image_id") ?: "-");
    json_t *net = json_object_get(task, "network");
    dv_cli_field("IP", "%s%s", str(net, "ip") ?: "-",
                 json_is_true(json_object_get(net, "auto_advertise")) ? " (advertised)" : "");
    ports_text(task, buf, sizeof(buf));
    dv_cli_field("Ports", "%s", buf);
    dv_cli_field("Restarts", "%lld", json_integer_value(json_object_get(task, "restarts")));
    json_t *exit = json_object_get(task, "exit");
    if (json_is_object(exit)) {
        char when[32];
        dv_cli_exit_text(exit, buf, sizeof(buf));
        dv_cli_time(json_integer_value(json_object_get(exit, "finished_ns")), when, sizeof(when));
        dv_cli_field("Exit", "%s, at %s", buf, when);
    }
    time_field("Created", task, "created_ns");
    time_field("Started", task, "started_ns");
    if (json_integer_value(json_object_get(task, "finished_ns")) > 0)
        time_field("Finished", task, "finished_ns");
    printf("\nRecent events:\n");
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(task, "events"), i, ev)
        dv_cli_print_event(stdout, ev, false);
}

static void print(const json_t *answer)
{
    if (json_is_array(answer))
        print_list(answer);
    else
        print_task(answer);
}

int dv_cmd_status(int argc, char **argv)
{
    static const dv_cli_request_cmd rc = {.cmd = "status",
                                          .usage = "dockvisor status [-json] [-address A] [ID]",
                                          .json_help = "print JSON for programs",
                                          .max = 1,
                                          .method = "GET",
                                          .path = "/v1/tasks",
                                          .print = print};
    return dv_cli_run_request(&rc, argc, argv);
}
