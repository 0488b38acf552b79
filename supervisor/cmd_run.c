/* dockvisor run [-detach] SPEC.json: submit a task and follow it to running (or failure). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "commands.h"

static const char usage[] = "dockvisor run [-detach] [-address A] SPEC.json   (SPEC \"-\" = stdin)";

struct run_follow {
    bool tty;
    bool progress_shown; /* a progress line is on screen without its newline */
    const char *want;    /* "running" for run/restart, NULL = any terminal state for stop */
    int exit_code;
    char final_state[32];
};

static bool terminal(const char *state)
{
    return strcmp(state, "exited") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "stopped") == 0 || strcmp(state, "destroyed") == 0;
}

/* Shared with restart and stop (commands.h): decide from "state" lines, print the rest. */
static int on_event(const json_t *ev, void *userdata)
{
    struct run_follow *f = userdata;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!type)
        return 0;
    if (strcmp(type, "progress") == 0) {
        if (f->tty) {
            fprintf(stderr, "\r%s\033[K", json_string_value(json_object_get(ev, "message")) ?: "");
            f->progress_shown = true;
        }
        return 0;
    }
    if (f->progress_shown) {
        fputc('\n', stderr);
        f->progress_shown = false;
    }
    if (strcmp(type, "state") != 0) {
        dv_cli_print_event(stdout, ev, false);
        return 0;
    }
    const char *state = json_string_value(json_object_get(ev, "state"));
    if (!state)
        return 0;
    snprintf(f->final_state, sizeof(f->final_state), "%s", state);
    if (f->want && strcmp(state, f->want) == 0) {
        f->exit_code = DV_EXIT_OK;
        return 1;
    }
    if (terminal(state)) {
        json_t *code = json_object_get(ev, "exit_code");
        bool success =
            strcmp(state, "exited") == 0 && json_is_integer(code) && json_integer_value(code) == 0;
        /* run: a task that completed successfully (echo hello) is a success too;
         * stop: any terminal state is what was asked for */
        f->exit_code = (!f->want || success) ? DV_EXIT_OK : DV_EXIT_ERROR;
        return 1;
    }
    return 0;
}

int dv_cli_follow_state(const char *cmd, dv_api_client *c, const char *id, bool history,
                        const char *want)
{
    struct run_follow f = {.tty = isatty(STDERR_FILENO), .want = want, .exit_code = DV_EXIT_ERROR};
    dv_error err;
    _cleanup_free_ char *esc = dv_api_escape(id);
    _cleanup_free_ char *query = NULL;
    if (!esc || asprintf(&query, "task=%s&history=%d", esc, history ? 1 : 0) < 0)
        return DV_EXIT_ERROR;
    if (dv_cli_follow_events(c, query, on_event, &f, &err) < 0) {
        if (f.progress_shown)
            fputc('\n', stderr);
        dv_cli_error(cmd, "following task %s: %s", id, err.msg);
        return DV_EXIT_ERROR;
    }
    if (f.exit_code != DV_EXIT_OK)
        dv_cli_error(cmd, "task %s is %s", id, f.final_state);
    return f.exit_code;
}

static json_t *read_spec(const char *path, dv_error *err)
{
    json_error_t jerr;
    json_t *spec =
        strcmp(path, "-") == 0 ? json_loadf(stdin, 0, &jerr) : json_load_file(path, 0, &jerr);
    if (!spec) {
        dv_error_set(err, -EINVAL, "%s: line %d: %s", strcmp(path, "-") == 0 ? "stdin" : path,
                     jerr.line, jerr.text);
        return NULL;
    }
    return spec;
}

int dv_cmd_run(int argc, char **argv)
{
    bool detach = false;
    const char *address = NULL;
    const dv_flag flags[] = {
        {"detach", DV_FLAG_BOOL, &detach, "print the task id and return at once"},
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
    dv_error err;
    _cleanup_json_ json_t *spec = read_spec(a.pos[0], &err);
    dv_cli_args_free(&a);
    if (!spec) {
        dv_cli_error("run", "%s", err.msg);
        return DV_EXIT_ERROR;
    }
    dv_api_client *c = dv_cli_connect("run", address);
    if (!c)
        return DV_EXIT_ERROR;
    _cleanup_json_ json_t *answer = NULL;
    if (dv_api_call_ok(c, "POST", "/v1/tasks", spec, &answer, &err) < 0) {
        dv_cli_error("run", "%s", err.msg);
        dv_api_client_free(c);
        return DV_EXIT_ERROR;
    }
    const char *id = json_string_value(json_object_get(answer, "id"));
    if (!id) {
        dv_cli_error("run", "the agent answered without a task id");
        dv_api_client_free(c);
        return DV_EXIT_ERROR;
    }
    if (detach) {
        printf("%s\n", id);
        dv_api_client_free(c);
        return DV_EXIT_OK;
    }
    printf("task %s submitted\n", id);
    fflush(stdout);
    int code = dv_cli_follow_state("run", c, id, true, "running");
    dv_api_client_free(c);
    return code;
}
