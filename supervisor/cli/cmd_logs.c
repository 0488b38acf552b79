/* dockvisor logs [-f] [-stderr] [-tail N] ID.
 *
 * -f follows the task, not one container (R6): the agent ends a follow when the
 * current container's docklog has drained, so when the stream ends and the task
 * will run again, the command reads the files again and prints only what is
 * beyond what it has already printed. docklog continues the same files in every
 * run, so "beyond" is a byte offset from the start of the oldest file; it is off
 * only if docklog rotated the oldest file away between two reads (a run that
 * writes more than max_file_size while this command waits a second). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "commands.h"
#include "xalloc.h"

struct logs {
    dv_cli *cli;
    const char *stream; /* "stdout" or "stderr" */
    uint64_t skip;      /* bytes from the start already printed (not printed again) */
    uint64_t total;     /* bytes received in this read */
    bool print;
    bool closed; /* stdout went away (| head): stop for good */
    bool gone;   /* the task was destroyed while we waited */
    int idle_calls;
};

static int on_data(const char *data, size_t len, void *userdata)
{
    struct logs *l = userdata;
    uint64_t start = l->total;
    l->total += len;
    if (!l->print || l->total <= l->skip)
        return 0;
    size_t off = start < l->skip ? (size_t)(l->skip - start) : 0;
    data += off;
    len -= off;
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            l->closed = true;
            return 1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The task's state into BUF (and whether a docklog collects its logs now);
 * 1 when the task is gone, 0, or a negative error (ERR). */
static int task_state(struct logs *l, char *buf, size_t size, bool *ret_collecting, dv_error *err)
{
    _cleanup_json_ json_t *task = NULL;
    int r = dv_cli_task_call_quiet(l->cli, "GET", l->cli->pos[0], NULL, NULL, &task, err);
    if (r == -ENOENT)
        return 1;
    if (r < 0)
        return r;
    snprintf(buf, size, "%s", json_string_value(json_object_get(task, "state")) ?: "");
    if (ret_collecting)
        *ret_collecting = json_is_object(json_object_get(task, "docklog"));
    return 0;
}

static bool will_not_run_again(const char *state)
{
    static const char *const final[] = {"exited", "failed", "stopped", "destroying"};
    for (size_t i = 0; i < DV_ARRAY_SIZE(final); i++)
        if (strcmp(state, final[i]) == 0)
            return true;
    return false;
}

/* While a follow waits (asked every 5 s, not every second): nothing more can come
 * when the task was destroyed, or when it will not run again and no docklog
 * collects its logs (an agent with log collection disabled or without the
 * docklog binary, B10: its stream would wait for ever). */
static int on_idle(void *userdata)
{
    struct logs *l = userdata;
    if (++l->idle_calls % 5 != 0)
        return 0;
    char state[32];
    bool collecting = true;
    dv_error err;
    int r = task_state(l, state, sizeof(state), &collecting, &err);
    if (r == 1 || (r == 0 && !collecting && will_not_run_again(state))) {
        l->gone = true;
        return 1;
    }
    return 0;
}

/* One GET of the logs; prints what lies beyond l->skip. */
static int read_logs(struct logs *l, bool follow, const char *tail, dv_error *err)
{
    _cleanup_free_ char *suffix =
        dv_xasprintf("/logs?type=%s%s%s%s", l->stream, follow ? "&follow=1" : "",
                     tail ? "&tail=" : "", tail ? tail : "");
    _cleanup_free_ char *path = dv_cli_task_path(l->cli->pos[0], suffix);
    dv_api_client *c = dv_cli_client(l->cli);
    if (!c)
        return -ENOTCONN; /* printed */
    l->total = 0;
    l->idle_calls = 0;
    return dv_api_stream_idle(c, "GET", path, NULL, on_data, follow ? on_idle : NULL, l, err);
}

/* No docklog can be writing in these: reading the files again would find nothing new. */
static bool between_runs(const char *state)
{
    return strcmp(state, "restarting") == 0 || strcmp(state, "pending") == 0 ||
           strcmp(state, "pulling") == 0;
}

/* After a follow ended: keep going while the task will run again (R6). */
static int follow_task(struct logs *l, dv_error *err)
{
    /* Where the last read ended: everything up to the files' current end was printed
     * (the stream ends only once docklog drained; the next docklog writes nothing
     * before its container has started). */
    l->print = false;
    int r = read_logs(l, false, NULL, err);
    if (r < 0)
        return r;
    l->skip = l->total;
    l->print = true;
    for (;;) {
        char state[32];
        r = task_state(l, state, sizeof(state), NULL, err);
        if (r != 0)
            return r > 0 ? 0 : r;
        bool last = will_not_run_again(state);
        if (last || !between_runs(state)) {
            r = read_logs(l, true, NULL, err);
            if (r < 0 || l->closed || l->gone)
                return r < 0 ? r : 0;
            if (l->total > l->skip)
                l->skip = l->total;
        }
        if (last)
            return 0;
        sleep(1);
    }
}

int dv_cmd_logs(int argc, char **argv)
{
    bool follow = false, err_stream = false;
    const char *tail = NULL;
    const dv_flag flags[] = {
        {"f", DV_FLAG_BOOL, &follow, "follow the task's output, across its restarts"},
        {"stderr", DV_FLAG_BOOL, &err_stream, "show stderr instead of stdout"},
        {"tail", DV_FLAG_STRING, &tail, "only the last N lines"},
        {0},
    };
    _cleanup_cli_ dv_cli cli = {.cmd = "logs",
                                .usage = "dockvisor logs [-f] [-stderr] [-tail N] [-address A] ID"};
    int r = dv_cli_start(&cli, flags, argc, argv, 1, 1);
    if (r != DV_CLI_PROCEED)
        return r;
    char *end = NULL;
    if (tail && (strtol(tail, &end, 10) < 0 || !end || *end || end == tail)) {
        dv_cli_error(cli.cmd, "-tail: \"%s\" is not a number of lines", tail);
        return dv_cli_usage_error(&cli);
    }
    struct logs l = {.cli = &cli, .stream = err_stream ? "stderr" : "stdout", .print = true};
    dv_error err;
    r = read_logs(&l, follow, tail, &err);
    if (r == 0 && follow && !l.closed && !l.gone)
        r = follow_task(&l, &err);
    if (r == -ENOTCONN)
        return DV_EXIT_ERROR;
    if (r == -EPIPE) { /* R7: the agent could not keep this stream going */
        dv_cli_error(cli.cmd,
                     "the agent cut the log stream off: it may be unable to watch the log files "
                     "for one more follower (inotify instances: fs.inotify.max_user_instances), "
                     "or it is stopping; its log says which");
        return DV_EXIT_ERROR;
    }
    return r < 0 ? dv_cli_fail(&cli, &err) : DV_EXIT_OK;
}
