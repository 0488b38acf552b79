/* dockvisor stop / restart / rm / signal: one request each on a task; stop and
 * restart then follow the task until it got there, so `stop X && rm X` works.
 * One table row per command; task_op() does the rest. */
#include <stdio.h>

#include "cleanup.h"
#include "cli.h"
#include "cli_follow.h"
#include "cli_format.h"
#include "commands.h"

/* The options a task command may take; each command picks its own. */
struct op_options {
    const char *timeout, *signal;
    bool detach, force;
};
enum { OPT_TIMEOUT = 1 << 0, OPT_SIGNAL = 1 << 1, OPT_DETACH = 1 << 2, OPT_FORCE = 1 << 3 };

struct task_op {
    const char *cmd, *usage;
    unsigned options; /* OPT_* */
    int npos;         /* ID, or ID SIGNAL */
    const char *method, *action;
    bool follow;      /* follow the task afterwards (unless -detach) */
    const char *want; /* ... to this state (NULL: any terminal state) */
};

static const struct task_op stop_op = {
    "stop",
    "dockvisor stop [-timeout D] [-signal S] [-detach] [-json] [-address A] ID",
    OPT_TIMEOUT | OPT_SIGNAL | OPT_DETACH,
    1,
    "POST",
    "/stop",
    true,
    NULL};
static const struct task_op restart_op = {
    "restart",  "dockvisor restart [-detach] [-json] [-address A] ID",
    OPT_DETACH, 1,
    "POST",     "/restart",
    true,       "running"};
static const struct task_op rm_op = {
    "rm", "dockvisor rm [-force] [-json] [-address A] ID", OPT_FORCE, 1, "DELETE", NULL, false,
    NULL};
static const struct task_op signal_op = {
    "signal", "dockvisor signal [-json] [-address A] ID SIGNAL", 0, 2, "POST", "/signal", false,
    NULL};

static json_t *request_body(const struct task_op *op, const struct op_options *o, const dv_cli *cli)
{
    json_t *body = json_object();
    if (o->timeout)
        json_object_set_new(body, "timeout", json_string(o->timeout));
    if (o->signal)
        json_object_set_new(body, "signal", json_string(o->signal));
    if (op->npos == 2)
        json_object_set_new(body, "signal", json_string(cli->pos[1]));
    if (json_object_size(body) == 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

static int task_op(const struct task_op *op, int argc, char **argv)
{
    struct op_options o = {0};
    const dv_flag all[] = {
        {"timeout", DV_FLAG_STRING, &o.timeout,
         "time to wait before killing (default kill_timeout)"},
        {"signal", DV_FLAG_STRING, &o.signal, "signal to send first (default kill_signal)"},
        {"detach", DV_FLAG_BOOL, &o.detach, "return once the agent accepted it"},
        {"force", DV_FLAG_BOOL, &o.force, "destroy even if the task is running"},
    };
    dv_flag flags[DV_ARRAY_SIZE(all) + 1] = {{0}};
    size_t n = 0;
    for (size_t i = 0; i < DV_ARRAY_SIZE(all); i++)
        if (op->options & (1u << i))
            flags[n++] = all[i];
    _cleanup_cli_ dv_cli cli = {
        .cmd = op->cmd,
        .usage = op->usage,
        .json_help = op->follow ? "print the agent's answer (-detach) or the events as NDJSON"
                                : "print the agent's answer"};
    int r = dv_cli_start(&cli, flags, argc, argv, op->npos, op->npos);
    if (r != DV_CLI_PROCEED)
        return r;
    _cleanup_json_ json_t *body = request_body(op, &o, &cli);
    _cleanup_json_ json_t *answer = NULL;
    const char *suffix = o.force ? "?force=1" : op->action;
    if (dv_cli_task_call(&cli, op->method, cli.pos[0], suffix, body, &answer) < 0)
        return DV_EXIT_ERROR;
    /* The answer names the whole id (the argument may be a prefix). */
    const char *id = json_string_value(json_object_get(answer, "id")) ?: cli.pos[0];
    if (op->follow && !o.detach)
        return dv_cli_follow_state(&cli, id, false, op->want);
    if (cli.json)
        dv_cli_print_json(answer);
    else if (op == &rm_op)
        printf("%s\n", id);
    return DV_EXIT_OK;
}

int dv_cmd_stop(int argc, char **argv)
{
    return task_op(&stop_op, argc, argv);
}

int dv_cmd_restart(int argc, char **argv)
{
    return task_op(&restart_op, argc, argv);
}

int dv_cmd_rm(int argc, char **argv)
{
    return task_op(&rm_op, argc, argv);
}

int dv_cmd_signal(int argc, char **argv)
{
    return task_op(&signal_op, argc, argv);
}
