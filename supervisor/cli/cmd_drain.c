/* dockvisor drain: stop every task for a planned decommissioning and wait until
 * all are down (drain.h). Exit 1 if some task could not be stopped. */
#include <stdio.h>

#include "cleanup.h"
#include "cli.h"
#include "cli_format.h"
#include "commands.h"
#include "duration.h"

static void print_ids(const char *what, const json_t *ids)
{
    if (json_array_size(ids) == 0)
        return;
    printf("%s:", what);
    size_t i;
    json_t *v;
    char buf[9];
    json_array_foreach(ids, i, v) printf(" %s", dv_cli_short_id(json_string_value(v), buf));
    printf("\n");
}

static void print_summary(const json_t *s)
{
    json_t *failed = json_object_get(s, "not_stopped");
    char took[32];
    dv_duration_format(json_integer_value(json_object_get(s, "took_ns")), took, sizeof(took));
    printf("drained %lld tasks in %s: %zu stopped, %zu already down, %zu destroyed meanwhile, "
           "%zu not stopped\n",
           json_integer_value(json_object_get(s, "tasks")), took,
           json_array_size(json_object_get(s, "stopped")),
           json_array_size(json_object_get(s, "already_down")),
           json_array_size(json_object_get(s, "destroyed")), json_array_size(failed));
    print_ids("stopped", json_object_get(s, "stopped"));
    size_t i;
    json_t *f;
    char buf[9], reason[1024];
    json_array_foreach(failed, i, f)
    {
        dv_cli_readable(json_string_value(json_object_get(f, "reason")), reason, sizeof(reason));
        fprintf(stderr, "not stopped: %s (%s): %s\n",
                dv_cli_short_id(json_string_value(json_object_get(f, "id")), buf),
                json_string_value(json_object_get(f, "state")) ?: "?", reason);
    }
}

static int drain_exit_code(const json_t *s)
{
    return json_array_size(json_object_get(s, "not_stopped")) ? DV_EXIT_ERROR : DV_EXIT_OK;
}

int dv_cmd_drain(int argc, char **argv)
{
    static const dv_cli_request_cmd rc = {.cmd = "drain",
                                          .usage = "dockvisor drain [-json] [-address A]",
                                          .json_help = "print the summary as JSON",
                                          .method = "POST",
                                          .path = "/v1/drain",
                                          .timeout_ns = DV_CLI_DRAIN_TIMEOUT_NS,
                                          .print = print_summary,
                                          .exit_code = drain_exit_code};
    return dv_cli_run_request(&rc, argc, argv);
}
