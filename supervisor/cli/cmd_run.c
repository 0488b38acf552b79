/* dockvisor run [-detach] SPEC.json: submit a task, or a task group, and follow
 * it to running (or failure). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "cli_follow.h"
#include "cli_format.h"
#include "commands.h"

/* A group's answer: its allocations; each task followed to running unless DETACH. */
static int run_group(dv_cli *cli, const json_t *answer, bool detach)
{
    const json_t *allocs = json_object_get(answer, "allocations");
    if (detach && cli->json) {
        dv_cli_print_json(answer);
        return DV_EXIT_OK;
    }
    size_t i, k;
    json_t *a, *task;
    json_array_foreach(allocs, i, a)
    {
        if (!cli->json)
            printf("allocation %s (%s.%s[%lld]) submitted\n",
                   json_string_value(json_object_get(a, "id")),
                   json_string_value(json_object_get(a, "job")),
                   json_string_value(json_object_get(a, "group")),
                   json_integer_value(json_object_get(a, "index")));
        json_array_foreach(json_object_get(a, "tasks"), k, task)
        {
            if (!cli->json)
                printf("  task %s %s\n", json_string_value(json_object_get(task, "id")),
                       json_string_value(json_object_get(task, "name")));
        }
    }
    fflush(stdout);
    if (detach)
        return DV_EXIT_OK;
    int worst = DV_EXIT_OK;
    json_array_foreach(allocs, i, a)
    {
        json_array_foreach(json_object_get(a, "tasks"), k, task)
        {
            int r = dv_cli_follow_state(cli, json_string_value(json_object_get(task, "id")), true,
                                        "running");
            if (r != DV_EXIT_OK)
                worst = r;
        }
    }
    return worst;
}

int dv_cmd_run(int argc, char **argv)
{
    bool detach = false;
    const dv_flag flags[] = {
        {"detach", DV_FLAG_BOOL, &detach, "print the task id and return at once"},
        {0},
    };
    _cleanup_cli_ dv_cli cli = {
        .cmd = "run",
        .usage = "dockvisor run [-detach] [-json] [-address A] SPEC.json   (SPEC \"-\" = stdin; "
                 "a task, a group, or a Nomad job)",
        .json_help = "print the agent's answer (-detach) or the events as NDJSON"};
    int r = dv_cli_start(&cli, flags, argc, argv, 1, 1);
    if (r != DV_CLI_PROCEED)
        return r;
    dv_error err;
    _cleanup_json_ json_t *spec = dv_cli_read_spec(cli.pos[0], &err);
    if (!spec)
        return dv_cli_fail(&cli, &err);
    _cleanup_json_ json_t *answer = NULL;
    if (dv_cli_call(&cli, "POST", "/v1/tasks", spec, &answer) < 0)
        return DV_EXIT_ERROR;
    if (json_is_array(json_object_get(answer, "allocations")))
        return run_group(&cli, answer, detach);
    const char *id = json_string_value(json_object_get(answer, "id"));
    if (!id) {
        dv_cli_error(cli.cmd, "the agent answered without a task id");
        return DV_EXIT_ERROR;
    }
    if (detach) {
        if (cli.json)
            dv_cli_print_json(answer);
        else
            printf("%s\n", id);
        return DV_EXIT_OK;
    }
    if (!cli.json) {
        printf("task %s submitted\n", id);
        fflush(stdout);
    }
    return dv_cli_follow_state(&cli, id, true, "running");
}
