/* dockvisor: the agent daemon and the operator CLI in one binary. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct dv_command commands[] = {
    {"version", "print the version", dv_cmd_version},
    {"validate", "print the Engine create body of a task spec (no agent needed)", dv_cmd_validate},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: dockvisor <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return DV_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
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
