/* dockvisor stop / restart / rm / signal: one request each; stop and restart
 * then follow the task until it got there, so `stop X && rm X` works. */
#include <stdio.h>

#include "cleanup.h"
#include "cli.h"
#include "cli_follow.h"
#include "cli_format.h"
#include "commands.h"

/* POST /v1/tasks/ID/ACTION, then (unless DETACH) follow it to WANT (NULL: a terminal state). */
static int act_and_follow(dv_cli *cli, const char *action, const json_t *body, bool detach,
                          const char *want)
{
    _cleanup_json_ json_t *answer = NULL;
    if (dv_cli_task_call(cli, "POST", cli->pos[0], action, body, &answer) < 0)
        return DV_EXIT_ERROR;
    if (detach) {
        if (cli->json)
            dv_cli_print_json(answer);
        return DV_EXIT_OK;
    }
    /* The answer names the whole id (the argument may be a prefix). */
    const char *id = json_string_value(json_object_get(answer, "id")) ?: cli->pos[0];
    return dv_cli_follow_state(cli, id, false, want);
}

int dv_cmd_stop(int argc, char **argv)
{
    const char *timeout = NULL, *signal = NULL;
    bool detach = false;
    const dv_flag flags[] = {
        {"timeout", DV_FLAG_STRING, &timeout, "time to wait before killing (default kill_timeout)"},
        {"signal", DV_FLAG_STRING, &signal, "signal to send first (default kill_signal)"},
        {"detach", DV_FLAG_BOOL, &detach, "return once the stop was accepted"},
        {0},
    };
    _cleanup_cli_ dv_cli cli = {
        .cmd = "stop",
        .usage = "dockvisor stop [-timeout D] [-signal S] [-detach] [-json] [-address A] ID",
        .json_help = "print the agent's answer (-detach) or the events as NDJSON"};
    int r = dv_cli_start(&cli, flags, argc, argv, 1, 1);
    if (r != DV_CLI_PROCEED)
        return r;
    _cleanup_json_ json_t *body = json_object();
    if (timeout)
        json_object_set_new(body, "timeout", json_string(timeout));
    if (signal)
        json_object_set_new(body, "signal", json_string(signal));
    return act_and_follow(&cli, "/stop", body, detach, NULL);
}

int dv_cmd_restart(int argc, char **argv)
{
    bool detach = false;
    const dv_flag flags[] = {
        {"detach", DV_FLAG_BOOL, &detach, "return once the restart was accepted"},
        {0},
    };
    _cleanup_cli_ dv_cli cli = {.cmd = "restart",
                                .usage = "dockvisor restart [-detach] [-json] [-address A] ID",
                                .json_help =
                                    "print the agent's answer (-detach) or the events as NDJSON"};
    int r = dv_cli_start(&cli, flags, argc, argv, 1, 1);
    if (r != DV_CLI_PROCEED)
        return r;
    return act_and_follow(&cli, "/restart", NULL, detach, "running");
}

int dv_cmd_rm(int argc, char **argv)
{
    bool force = false;
    const dv_flag flags[] = {
        {"force", DV_FLAG_BOOL, &force, "destroy even if the task is running"},
        {0},
    };
    _cleanup_cli_ dv_cli cli = {.cmd = "rm",
                                .usage = "dockvisor rm [-force] [-json] [-address A] ID",
                                .json_help = "print the agent's answer"};
    int r = dv_cli_start(&cli, flags, argc, argv, 1, 1);
    if (r != DV_CLI_PROCEED)
        return r;
    _cleanup_json_ json_t *answer = NULL;
    if (dv_cli_task_call(&cli, "DELETE", cli.pos[0], force ? "?force=1" : NULL, NULL, &answer) < 0)
        return DV_EXIT_ERROR;
    if (cli.json)
        dv_cli_print_json(answer);
    else
        printf("%s\n", json_string_value(json_object_get(answer, "id")) ?: cli.pos[0]);
    return DV_EXIT_OK;
}

int dv_cmd_signal(int argc, char **argv)
{
    _cleanup_cli_ dv_cli cli = {.cmd = "signal",
                                .usage = "dockvisor signal [-json] [-address A] ID SIGNAL",
                                .json_help = "print the agent's answer"};
    int r = dv_cli_start(&cli, NULL, argc, argv, 2, 2);
    if (r != DV_CLI_PROCEED)
        return r;
    _cleanup_json_ json_t *body = json_pack("{s:s}", "signal", cli.pos[1]);
    _cleanup_json_ json_t *answer = NULL;
    if (dv_cli_task_call(&cli, "POST", cli.pos[0], "/signal", body, &answer) < 0)
        return DV_EXIT_ERROR;
    if (cli.json)
        dv_cli_print_json(answer);
    return DV_EXIT_OK;
}
