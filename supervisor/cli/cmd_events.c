/* dockvisor events [-task ID] [-json]: the agent's event stream.
 *
 * With -task the task's recorded history comes first (B7), and the command ends
 * when the task is destroyed (B8): on its "destroyed" state line, or when the
 * agent ends the task's stream. Without -task it runs until interrupted; the
 * agent ending that stream (it stops) is an error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "cli_follow.h"
#include "cli_format.h"
#include "commands.h"
#include "xalloc.h"

struct events_print {
    bool json;
    bool one_task;
};

static int print_event(const json_t *ev, void *userdata)
{
    struct events_print *p = userdata;
    if (p->json) {
        dv_cli_print_json_line(ev);
    } else {
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (type && strcmp(type, "state") != 0 && strcmp(type, "progress") != 0)
            dv_cli_print_event(stdout, ev, true);
    }
    return p->one_task && dv_cli_event_is_destroyed(ev);
}

int dv_cmd_events(int argc, char **argv)
{
    const char *task = NULL;
    const dv_flag flags[] = {
        {"task", DV_FLAG_STRING, &task,
         "only this task's events, its history first; ends when the task is destroyed"},
        {0},
    };
    _cleanup_cli_ dv_cli cli = {.cmd = "events",
                                .usage = "dockvisor events [-task ID] [-json] [-address A]",
                                .json_help = "print the NDJSON stream as is"};
    int r = dv_cli_start(&cli, flags, argc, argv, 0, 0);
    if (r != DV_CLI_PROCEED)
        return r;
    _cleanup_free_ char *esc = task ? dv_api_escape(task) : NULL;
    _cleanup_free_ char *query = task ? dv_xasprintf("task=%s&history=1", esc) : NULL;
    dv_api_client *c = dv_cli_client(&cli);
    if (!c)
        return DV_EXIT_ERROR;
    struct events_print p = {.json = cli.json, .one_task = task != NULL};
    dv_error err;
    r = dv_cli_follow_events(c, query, print_event, &p, &err);
    /* One task's stream ends with the task (its destroyed line, or the agent
     * closing it): done. The agent's whole stream ends only when it stops. */
    if (r == -EPIPE && task)
        return DV_EXIT_OK;
    return r < 0 ? dv_cli_fail(&cli, &err) : DV_EXIT_OK;
}
