/* dockvisor: the agent daemon and the operator CLI in one binary. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "xalloc.h"

static const struct dv_command commands[] = {
    {"agent", "run the agent daemon (-config FILE)", dv_cmd_agent},
    {"run", "submit a task spec and follow it until it runs", dv_cmd_run},
    {"status", "list tasks, or show one task", dv_cmd_status},
    {"stop", "stop a task (kill_signal, kill_timeout)", dv_cmd_stop},
    {"restart", "restart a task", dv_cmd_restart},
    {"rm", "destroy a task (its container, directories and record)", dv_cmd_rm},
    {"logs", "print a task's logs", dv_cmd_logs},
    {"exec", "run a command in a task's container", dv_cmd_exec},
    {"signal", "send a signal to a task", dv_cmd_signal},
    {"stats", "CPU and memory usage of a task", dv_cmd_stats},
    {"events", "stream task events", dv_cmd_events},
    {"node-status", "the node: Docker, bridge IP, runtimes, policy", dv_cmd_node_status},
    {"allocs", "task groups' allocations and their tasks", dv_cmd_allocs},
    {"alloc-rm", "destroy an allocation: its tasks, then its infra container", dv_cmd_alloc_rm},
    {"drain", "stop every task and keep them stopped (decommissioning)", dv_cmd_drain},
    {"version", "print the version", dv_cmd_version},
    {"validate", "print the Engine create body of a task spec (no agent needed)", dv_cmd_validate},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: dockvisor [-address A] <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nglobal options:\n"
                 "  -address A   agent socket (unix:///path or a path; default $" DV_API_ADDR_ENV
                 ", then " DV_API_DEFAULT_SOCKET ")\n"
                 "\n`dockvisor <command> -h` shows a command's options. "
                 "Exit codes: 0 ok, 1 error, 2 usage.\n");
}

int main(int argc, char **argv)
{
    /* Before any json_t exists: Jansson's constructors then never fail for lack of memory
     * (common/xalloc.h). */
    dv_xalloc_jansson();
    int n = dv_cli_global_options(argc, argv);
    if (n < 0) {
        usage(stderr);
        return DV_EXIT_USAGE;
    }
    argc -= n;
    argv += n;
    if (argc < 2) {
        usage(stderr);
        return DV_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return DV_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dockvisor: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return DV_EXIT_USAGE;
}
