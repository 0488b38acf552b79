/* dockvisor logs [-f] [-stderr] [-tail N] ID. */
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
    bool follow = false, err_stream = false;
    const char *tail = NULL;
    const dv_flag flags[] = {
        {"f", DV_FLAG_BOOL, &follow, "follow: keep printing new output"},
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
    _cleanup_free_ char *suffix = NULL;
    if (asprintf(&suffix, "/logs?type=%s%s%s%s", err_stream ? "stderr" : "stdout",
                 follow ? "&follow=1" : "", tail ? "&tail=" : "", tail ? tail : "") < 0)
        return DV_EXIT_ERROR;
    _cleanup_free_ char *path = dv_cli_task_path(cli.pos[0], suffix);
    dv_api_client *c = dv_cli_client(&cli);
    if (!path || !c)
        return DV_EXIT_ERROR;
    dv_error err;
    r = dv_api_stream(c, "GET", path, NULL, write_out, NULL, &err);
    if (r == -EPIPE) { /* R7: the agent could not keep this stream going */
        dv_cli_error(cli.cmd,
                     "the agent cut the log stream off: it may be unable to watch the log files "
                     "for one more follower (inotify instances: fs.inotify.max_user_instances), "
                     "or it is stopping; its log says which");
        return DV_EXIT_ERROR;
    }
    return r < 0 ? dv_cli_fail(&cli, &err) : DV_EXIT_OK;
}
