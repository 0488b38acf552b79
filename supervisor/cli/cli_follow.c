#include "cli_follow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "cli_format.h"
#include "commands.h"
#include "xalloc.h"

struct dv_cli_lines {
    dv_buf buf;
    dv_cli_line_fn fn;
    void *userdata;
};

dv_cli_lines *dv_cli_lines_new(dv_cli_line_fn fn, void *userdata)
{
    dv_cli_lines *l = dv_xcalloc(1, sizeof(*l));
    l->fn = fn;
    l->userdata = userdata;
    return l;
}

int dv_cli_lines_feed(dv_cli_lines *l, const char *data, size_t len)
{
    if (dv_buf_append(&l->buf, data, len) < 0)
        return -ENOMEM;
    char *nl;
    while (l->buf.len > 0 && (nl = memchr(l->buf.data, '\n', l->buf.len))) {
        *nl = '\0';
        size_t used = (size_t)(nl - l->buf.data) + 1;
        int r = l->fn(l->buf.data, l->userdata);
        dv_buf_consume(&l->buf, used);
        if (r != 0)
            return r;
    }
    return 0;
}

void dv_cli_lines_free(dv_cli_lines *l)
{
    if (!l)
        return;
    dv_buf_free(&l->buf);
    free(l);
}

struct follow {
    dv_cli_event_fn fn;
    void *userdata;
    dv_cli_lines *lines;
    bool stopped;
};

static int follow_line(const char *line, void *userdata)
{
    struct follow *f = userdata;
    if (!*line)
        return 0;
    _cleanup_json_ json_t *ev = json_loads(line, 0, NULL);
    if (!ev)
        return 0;
    if (f->fn(ev, f->userdata) != 0) {
        f->stopped = true;
        return 1;
    }
    return 0;
}

static int follow_data(const char *data, size_t len, void *userdata)
{
    struct follow *f = userdata;
    return dv_cli_lines_feed(f->lines, data, len) != 0;
}

int dv_cli_follow_events(dv_api_client *c, const char *query, dv_cli_event_fn fn, void *userdata,
                         dv_error *err)
{
    struct follow f = {.fn = fn, .userdata = userdata};
    f.lines = dv_cli_lines_new(follow_line, &f);
    _cleanup_free_ char *path =
        dv_xasprintf("/v1/events%s%s", query ? "?" : "", query ? query : "");
    int r = dv_api_stream(c, "GET", path, NULL, follow_data, &f, err);
    dv_cli_lines_free(f.lines);
    if (r < 0)
        return r;
    if (!f.stopped)
        return dv_error_set(err, -EPIPE, "the agent ended the event stream");
    return 0;
}

bool dv_cli_event_is_destroyed(const json_t *ev)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *state = json_string_value(json_object_get(ev, "state"));
    return type && state && strcmp(type, "state") == 0 && strcmp(state, "destroyed") == 0;
}

void dv_cli_print_event(FILE *out, const json_t *ev, bool with_task)
{
    char when[32];
    int64_t ns = json_integer_value(json_object_get(ev, "time_ns"));
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;
    if (!localtime_r(&secs, &tm) || strftime(when, sizeof(when), "%H:%M:%S", &tm) == 0)
        snprintf(when, sizeof(when), "-");
    const char *type = json_string_value(json_object_get(ev, "type"));
    char msg[1024];
    dv_cli_readable(json_string_value(json_object_get(ev, "message")), msg, sizeof(msg));
    if (with_task) {
        char sid[9];
        fprintf(out, "%s  %s %s  %-15s %s\n", when,
                dv_cli_short_id(json_string_value(json_object_get(ev, "task_id")), sid),
                json_string_value(json_object_get(ev, "task_name")) ?: "-", type ? type : "-", msg);
    } else {
        fprintf(out, "%s  %-15s %s\n", when, type ? type : "-", msg);
    }
    fflush(out);
}

/* ---- following one task to a state (run, restart, stop) ---- */

struct state_follow {
    bool json;
    bool tty;
    bool progress_shown; /* a progress line is on screen without its newline */
    const char *want;    /* "running" for run/restart, NULL = any terminal state for stop */
    bool stop_seen;      /* a "stopping" state line ... */
    bool start_seen;     /* ... and a step of a new start after it */
    int exit_code;
    char final_state[32];
    json_t *final_line;
    char waiting[512]; /* the task waits for the Docker Engine: why */
    bool live;         /* the first state line is in: what follows is live, not history */
};

static bool terminal(const char *state)
{
    return strcmp(state, "exited") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "stopped") == 0 || strcmp(state, "destroyed") == 0;
}

static void show(struct state_follow *f, const json_t *ev, const char *type)
{
    if (f->json) {
        dv_cli_print_json_line(ev);
        return;
    }
    if (strcmp(type, "progress") == 0) {
        /* Pull progress overwrites itself, on a terminal only. */
        if (f->tty) {
            fprintf(stderr, "\r%s\033[K", json_string_value(json_object_get(ev, "message")) ?: "");
            f->progress_shown = true;
        }
        return;
    }
    if (f->progress_shown) {
        fputc('\n', stderr);
        f->progress_shown = false;
    }
    if (strcmp(type, "state") != 0)
        dv_cli_print_event(stdout, ev, false);
}

static int on_state_event(const json_t *ev, void *userdata)
{
    struct state_follow *f = userdata;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!type)
        return 0;
    show(f, ev, type);
    const char *state = json_string_value(json_object_get(ev, "state"));
    /* The task waits for an Engine that is down, maybe for long: say so and end
     * (the agent goes on by itself) rather than leave the operator waiting. */
    const char *waiting = strcmp(type, "Engine Unreachable") == 0
                              ? (f->live ? json_string_value(json_object_get(ev, "message")) : NULL)
                              : json_string_value(json_object_get(ev, "waiting"));
    if (strcmp(type, "state") == 0)
        f->live = true; /* the history (run) comes before it: a wait there may be over */
    if (waiting) {
        snprintf(f->waiting, sizeof(f->waiting), "%s", waiting);
        if (state)
            snprintf(f->final_state, sizeof(f->final_state), "%s", state);
        f->exit_code = DV_EXIT_ERROR;
        return 1;
    }
    if (strcmp(type, "state") != 0 || !state)
        return 0;
    snprintf(f->final_state, sizeof(f->final_state), "%s", state);
    if (strcmp(state, "stopping") == 0) {
        f->stop_seen = true;
        f->start_seen = false;
    } else if (strcmp(state, "pulling") == 0 || strcmp(state, "starting") == 0) {
        f->start_seen = true;
    }
    /* Running again with no new start since the stop (or at all, for `stop`): the
     * stop did not take, and the agent keeps it running (its events say why).
     * Waiting on would never end; calling it done would be a lie. */
    if (strcmp(state, "running") == 0 && (!f->want || (f->stop_seen && !f->start_seen))) {
        f->exit_code = DV_EXIT_ERROR;
        return 1;
    }
    if (f->want && strcmp(state, f->want) == 0) {
        f->exit_code = DV_EXIT_OK;
        return 1;
    }
    if (!terminal(state))
        return 0;
    json_decref(f->final_line);
    f->final_line = json_deep_copy(ev);
    json_t *code = json_object_get(ev, "exit_code");
    bool success =
        strcmp(state, "exited") == 0 && json_is_integer(code) && json_integer_value(code) == 0;
    /* run: a task that completed successfully (echo hello) is a success too;
     * stop: any terminal state is what was asked for */
    f->exit_code = (!f->want || success) ? DV_EXIT_OK : DV_EXIT_ERROR;
    return 1;
}

/* "failed", "exited with code 3", "was stopped", "was destroyed", "is still running: ..." */
static void became(const struct state_follow *f, char *buf, size_t size)
{
    json_t *code = json_object_get(f->final_line, "exit_code");
    if (strcmp(f->final_state, "exited") == 0 && json_is_integer(code))
        snprintf(buf, size, "exited with code %lld", json_integer_value(code));
    else if (strcmp(f->final_state, "failed") == 0)
        snprintf(buf, size, "failed");
    else if (strcmp(f->final_state, "stopped") == 0 || strcmp(f->final_state, "destroyed") == 0)
        snprintf(buf, size, "was %s", f->final_state);
    else if (strcmp(f->final_state, "running") == 0)
        snprintf(buf, size,
                 "is still running: the stop failed, or it was restarted (see "
                 "`dockvisor events -task`)");
    else
        snprintf(buf, size, "is %s", f->final_state[0] ? f->final_state : "in an unknown state");
}

int dv_cli_follow_state(dv_cli *cli, const char *id, bool history, const char *want)
{
    dv_api_client *c = dv_cli_client(cli);
    if (!c)
        return DV_EXIT_ERROR;
    struct state_follow f = {
        .json = cli->json, .tty = isatty(STDERR_FILENO), .want = want, .exit_code = DV_EXIT_ERROR};
    dv_error err;
    _cleanup_free_ char *esc = dv_api_escape(id);
    _cleanup_free_ char *query = dv_xasprintf("task=%s&history=%d", esc, history ? 1 : 0);
    int r = dv_cli_follow_events(c, query, on_state_event, &f, &err);
    if (f.progress_shown)
        fputc('\n', stderr);
    if (r < 0) {
        json_decref(f.final_line);
        dv_error_wrap(&err, "following task %s", id);
        return dv_cli_fail(cli, &err);
    }
    if (f.waiting[0]) {
        dv_cli_error(cli->cmd,
                     "task %s is %s and waits for the Docker Engine (%s); it goes on by itself "
                     "once the Engine answers again: see `dockvisor status %s`",
                     id, f.final_state[0] ? f.final_state : "held up", f.waiting, id);
    } else if (f.exit_code != DV_EXIT_OK) {
        char what[128];
        became(&f, what, sizeof(what));
        dv_cli_error(cli->cmd, "task %s %s", id, what);
    }
    json_decref(f.final_line);
    return f.exit_code;
}
