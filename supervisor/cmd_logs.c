/* dockvisor logs [-f] [-stderr] [-tail N] ID, and dockvisor events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "commands.h"

static int write_out(const char *data, size_t len, void *userdata)
{
    (void)userdata;
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return 1; /* stdout closed (| head): stop */
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int dv_cmd_logs(int argc, char **argv)
{
    static const char usage[] = "dockvisor logs [-f] [-stderr] [-tail N] [-address A] ID";
    bool follow = false, err_stream = false;
    const char *tail = NULL, *address = NULL;
    const dv_flag flags[] = {
        {"f", DV_FLAG_BOOL, &follow, "follow: keep printing new output"},
        {"stderr", DV_FLAG_BOOL, &err_stream, "show stderr instead of stdout"},
        {"tail", DV_FLAG_STRING, &tail, "only the last N lines"},
        DV_CLI_ADDRESS_FLAG(address),
        {0},
    };
    dv_cli_args a;
    int r = dv_cli_parse(usage, flags, argc, argv, &a);
    if (r < 0)
        return r == -ECANCELED ? DV_EXIT_OK : DV_EXIT_USAGE;
    if (a.npos != 1) {
        dv_cli_usage(stderr, usage, flags);
        dv_cli_args_free(&a);
        return DV_EXIT_USAGE;
    }
    char *end = NULL;
    if (tail && (strtol(tail, &end, 10) < 0 || !end || *end || end == tail)) {
        dv_cli_error("logs", "-tail: \"%s\" is not a number of lines", tail);
        dv_cli_args_free(&a);
        return DV_EXIT_USAGE;
    }
    _cleanup_free_ char *esc = dv_api_escape(a.pos[0]);
    dv_cli_args_free(&a);
    _cleanup_free_ char *path = NULL;
    if (!esc ||
        asprintf(&path, "/v1/tasks/%s/logs?type=%s%s%s%s", esc, err_stream ? "stderr" : "stdout",
                 follow ? "&follow=1" : "", tail ? "&tail=" : "", tail ? tail : "") < 0)
        return DV_EXIT_ERROR;
    dv_api_client *c = dv_cli_connect("logs", address);
    if (!c)
        return DV_EXIT_ERROR;
    dv_error err;
    r = dv_api_stream(c, "GET", path, NULL, write_out, NULL, &err);
    dv_api_client_free(c);
    if (r < 0) {
        dv_cli_error("logs", "%s", err.msg);
        return DV_EXIT_ERROR;
    }
    return DV_EXIT_OK;
}

struct events_print {
    bool json;
};

static int print_event(const json_t *ev, void *userdata)
{
    struct events_print *p = userdata;
    if (p->json) {
        char *s = json_dumps(ev, JSON_COMPACT);
        if (s) {
            puts(s);
            fflush(stdout);
            free(s);
        }
        return 0;
    }
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && (strcmp(type, "state") == 0 || strcmp(type, "progress") == 0))
        return 0;
    dv_cli_print_event(stdout, ev, true);
    return 0;
}

int dv_cmd_events(int argc, char **argv)
{
    static const char usage[] = "dockvisor events [-task ID] [-json] [-address A]";
    bool as_json = false;
    const char *task = NULL, *address = NULL;
    const dv_flag flags[] = {
        {"task", DV_FLAG_STRING, &task, "only this task's events (its history first)"},
        {"json", DV_FLAG_BOOL, &as_json, "print the NDJSON stream as is"},
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
    _cleanup_free_ char *esc = task ? dv_api_escape(task) : NULL;
    _cleanup_free_ char *query = NULL;
    if (task && (!esc || asprintf(&query, "task=%s", esc) < 0))
        return DV_EXIT_ERROR;
    dv_api_client *c = dv_cli_connect("events", address);
    if (!c)
        return DV_EXIT_ERROR;
    struct events_print p = {.json = as_json};
    dv_error err;
    r = dv_cli_follow_events(c, query, print_event, &p, &err);
    dv_api_client_free(c);
    if (r < 0 && r != -EPIPE) {
        dv_cli_error("events", "%s", err.msg);
        return DV_EXIT_ERROR;
    }
    return DV_EXIT_OK;
}
