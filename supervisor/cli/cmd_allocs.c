/* dockvisor allocs [-json] [ID] and alloc-rm ID: a task group's allocations
 * (DESIGN.md "Task groups"). */
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "cli_format.h"
#include "commands.h"
#include "uuid.h"

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static void print_alloc(const json_t *a, dv_table *t)
{
    size_t i;
    json_t *task;
    json_array_foreach(json_object_get(a, "tasks"), i, task)
    {
        char alloc[160], sid[9];
        snprintf(alloc, sizeof(alloc), "%s.%s[%lld]", str(a, "job") ?: "-", str(a, "group") ?: "-",
                 json_integer_value(json_object_get(a, "index")));
        dv_cli_short_id(str(task, "id"), sid);
        const char *row[] = {str(a, "id"),
                             alloc,
                             sid,
                             str(task, "name"),
                             str(task, "state"),
                             json_is_true(json_object_get(task, "infra")) ? "infra" : "task"};
        dv_table_add(t, row);
    }
}

static int call(const char *cmd, const char *usage, const char *method, int argc, char **argv,
                int min)
{
    _cleanup_cli_ dv_cli cli = {.cmd = cmd, .usage = usage, .json_help = "print JSON for programs"};
    int r = dv_cli_start(&cli, NULL, argc, argv, min, 1);
    if (r != DV_CLI_PROCEED)
        return r;
    char path[96] = "/v1/allocs";
    if (cli.npos) {
        if (!dv_uuid_is_valid(cli.pos[0])) { /* it goes into a URL path */
            dv_cli_error(cmd, "\"%s\" is not an allocation id", cli.pos[0]);
            return DV_EXIT_USAGE;
        }
        snprintf(path, sizeof(path), "/v1/allocs/%s", cli.pos[0]);
    }
    _cleanup_json_ json_t *answer = NULL;
    if (dv_cli_call(&cli, method, path, NULL, &answer) < 0)
        return DV_EXIT_ERROR;
    if (cli.json) {
        dv_cli_print_json(answer);
        return DV_EXIT_OK;
    }
    if (strcmp(method, "DELETE") == 0) {
        printf("allocation %s: %s\n", str(answer, "id") ?: "", str(answer, "state") ?: "");
        return DV_EXIT_OK;
    }
    static const char *const headers[] = {"ALLOC", "JOB.GROUP[INDEX]", "TASK", "NAME", "STATE",
                                          "ROLE"};
    dv_table *t = dv_table_new(DV_ARRAY_SIZE(headers), headers);
    if (json_is_array(answer)) {
        size_t i;
        json_t *a;
        json_array_foreach(answer, i, a) print_alloc(a, t);
    } else {
        print_alloc(answer, t);
    }
    dv_table_print(t, stdout);
    dv_table_free(t);
    return DV_EXIT_OK;
}

int dv_cmd_allocs(int argc, char **argv)
{
    return call("allocs", "dockvisor allocs [-json] [-address A] [ALLOC-ID]", "GET", argc, argv, 0);
}

int dv_cmd_alloc_rm(int argc, char **argv)
{
    return call("alloc-rm", "dockvisor alloc-rm [-json] [-address A] ALLOC-ID", "DELETE", argc,
                argv, 1);
}
