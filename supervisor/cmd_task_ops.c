/* dockvisor stop / rm / restart / signal: one request each; stop and restart
 * then follow the task until it got there, so `stop X && rm X` works. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "commands.h"

static int post_and_report(const char *cmd, const char *address, const char *method, const char *id,
                           const char *action, const json_t *body, json_t **ret_answer,
                           dv_api_client **ret_client)
{
    _cleanup_free_ char *esc = dv_api_escape(id);
    _cleanup_free_ char *path = NULL;
    if (!esc || asprintf(&path, "/v1/tasks/%s%s", esc, action) < 0)
        return DV_EXIT_ERROR;
    dv_api_client *c = dv_cli_connect(cmd, address);
    if (!c)
        return DV_EXIT_ERROR;
    dv_error err;
    json_t *answer = NULL;
    if (dv_api_call_ok(c, method, path, body, &answer, &err) < 0) {
        dv_cli_error(cmd, "%s", err.msg);
        dv_api_client_free(c);
        return DV_EXIT_ERROR;
    }
    if (ret_answer)
        *ret_answer = answer;
    else
        json_decref(answer);
    if (ret_client)
        *ret_client = c;
    else
        dv_api_client_free(c);
    return DV_EXIT_OK;
}

static int parse_one_id(const char *usage, const dv_flag *flags, int argc, char **argv,
                        const char **ret_id)
{
    dv_cli_args a;
    int r = dv_cli_parse(usage, flags, argc, argv, &a);
    if (r < 0)
        return r == -ECANCELED ? -1 : DV_EXIT_USAGE;
    if (a.npos != 1) {
        dv_cli_usage(stderr, usage, flags);
        dv_cli_args_free(&a);
        return DV_EXIT_USAGE;
    }
    *ret_id = a.pos[0];
    dv_cli_args_free(&a);
    return 0;
}

int dv_cmd_stop(int argc, char **argv)
{
    static const char usage[] = "dockvisor stop [-timeout D] [-signal S] [-detach] [-address A] ID";
    const char *timeout = NULL, *signal = NULL, *address = NULL, *id = NULL;
    bool detach = false;
    const dv_flag flags[] = {
        {"timeout", DV_FLAG_STRING, &timeout, "time to wait before killing (default kill_timeout)"},
        {"signal", DV_FLAG_STRING, &signal, "signal to send first (default kill_signal)"},
        {"detach", DV_FLAG_BOOL, &detach, "return once the stop was accepted"},
        DV_CLI_ADDRESS_FLAG(address),
        {0},
    };
    int r = parse_one_id(usage, flags, argc, argv, &id);
    if (r != 0)
        return r < 0 ? DV_EXIT_OK : r;
    _cleanup_json_ json_t *body = json_object();
    if (timeout)
        json_object_set_new(body, "timeout", json_string(timeout));
    if (signal)
        json_object_set_new(body, "signal", json_string(signal));
    json_t *answer = NULL;
    dv_api_client *c = NULL;
    r = post_and_report("stop", address, "POST", id, "/stop", body, &answer, &c);
    if (r != DV_EXIT_OK)
        return r;
    _cleanup_free_ char *full = strdup(json_string_value(json_object_get(answer, "id")) ?: id);
    json_decref(answer);
    if (!detach)
        r = dv_cli_follow_state("stop", c, full, false, NULL);
    dv_api_client_free(c);
    return r;
}

int dv_cmd_restart(int argc, char **argv)
{
    static const char usage[] = "dockvisor restart [-detach] [-address A] ID";
    const char *address = NULL, *id = NULL;
    bool detach = false;
    const dv_flag flags[] = {
        {"detach", DV_FLAG_BOOL, &detach, "return once the restart was accepted"},
        DV_CLI_ADDRESS_FLAG(address),
        {0},
    };
    int r = parse_one_id(usage, flags, argc, argv, &id);
    if (r != 0)
        return r < 0 ? DV_EXIT_OK : r;
    json_t *answer = NULL;
    dv_api_client *c = NULL;
    r = post_and_report("restart", address, "POST", id, "/restart", NULL, &answer, &c);
    if (r != DV_EXIT_OK)
        return r;
    _cleanup_free_ char *full = strdup(json_string_value(json_object_get(answer, "id")) ?: id);
    json_decref(answer);
    if (!detach)
        r = dv_cli_follow_state("restart", c, full, false, "running");
    dv_api_client_free(c);
    return r;
}

int dv_cmd_rm(int argc, char **argv)
{
    static const char usage[] = "dockvisor rm [-force] [-address A] ID";
    const char *address = NULL, *id = NULL;
    bool force = false;
    const dv_flag flags[] = {
        {"force", DV_FLAG_BOOL, &force, "destroy even if the task is running"},
        DV_CLI_ADDRESS_FLAG(address),
        {0},
    };
    int r = parse_one_id(usage, flags, argc, argv, &id);
    if (r != 0)
        return r < 0 ? DV_EXIT_OK : r;
    json_t *answer = NULL;
    r = post_and_report("rm", address, "DELETE", id, force ? "?force=1" : "", NULL, &answer, NULL);
    if (r == DV_EXIT_OK)
        printf("%s\n", json_string_value(json_object_get(answer, "id")) ?: id);
    json_decref(answer);
    return r;
}

int dv_cmd_signal(int argc, char **argv)
{
    static const char usage[] = "dockvisor signal [-address A] ID SIGNAL";
    const char *address = NULL;
    const dv_flag flags[] = {DV_CLI_ADDRESS_FLAG(address), {0}};
    dv_cli_args a;
    int r = dv_cli_parse(usage, flags, argc, argv, &a);
    if (r < 0)
        return r == -ECANCELED ? DV_EXIT_OK : DV_EXIT_USAGE;
    if (a.npos != 2) {
        dv_cli_usage(stderr, usage, flags);
        dv_cli_args_free(&a);
        return DV_EXIT_USAGE;
    }
    _cleanup_json_ json_t *body = json_pack("{s:s}", "signal", a.pos[1]);
    r = post_and_report("signal", address, "POST", a.pos[0], "/signal", body, NULL, NULL);
    dv_cli_args_free(&a);
    return r;
}
