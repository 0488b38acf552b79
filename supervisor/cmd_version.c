#include <stdio.h>

#include "commands.h"

int dv_cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: dockvisor version\n");
        return DV_EXIT_USAGE;
    }
    printf("dockvisor %s\n", DV_VERSION);
    return DV_EXIT_OK;
}
