/* dockvisor drain: stop every task for a planned decommissioning and wait until
 * all are down (drain.h). Exit 1 if some task could not be stopped. */
#include <errno.h>
#include <stdio.h>

#include "cleanup.h"
#include "cli.h"
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

int dv_cmd_drain(int argc, char **argv)
{
    static const char usage[] = "dockvisor drain [-json] [-address A]";
    bool as_json = false;
    const char *address = NULL;
    const dv_flag flags[] = {
        {"json", DV_FLAG_BOOL, &as_json, "print the summary as JSON"},
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
    dv_api_client *c = dv_cli_connect("drain", address);
    if (!c)
        return DV_EXIT_ERROR;
    dv_error err;
    _cleanup_json_ json_t *s = NULL;
    r = dv_api_call_ok(c, "POST", "/v1/drain", NULL, &s, &err);
    dv_api_client_free(c);
    if (r < 0) {
        dv_cli_error("drain", "%s", err.msg);
        return DV_EXIT_ERROR;
    }
    json_t *failed = json_object_get(s, "not_stopped");
    if (as_json) {
        dv_cli_print_json(s);
        return json_array_size(failed) ? DV_EXIT_ERROR : DV_EXIT_OK;
    }
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
    char buf[9];
    json_array_foreach(failed, i, f)
    {
        fprintf(stderr, "not stopped: %s (%s): %s\n",
                dv_cli_short_id(json_string_value(json_object_get(f, "id")), buf),
                json_string_value(json_object_get(f, "state")),
                json_string_value(json_object_get(f, "reason")));
    }
    return json_array_size(failed) ? DV_EXIT_ERROR : DV_EXIT_OK;
}
