#include <stdio.h>

#include "cleanup.h"
#include "cli.h"
#include "cli_format.h"
#include "commands.h"
#include "version.h"

int dv_cmd_version(int argc, char **argv)
{
    _cleanup_cli_ dv_cli cli = {.cmd = "version",
                                .usage = "dockvisor version [-json]",
                                .json_help = "print {\"version\": ...}",
                                .local = true};
    int r = dv_cli_start(&cli, NULL, argc, argv, 0, 0);
    if (r != DV_CLI_PROCEED)
        return r;
    if (cli.json) {
        _cleanup_json_ json_t *v = json_pack("{s:s}", "version", dv_version);
        dv_cli_print_json(v);
    } else {
        printf("dockvisor %s\n", dv_version);
    }
    return DV_EXIT_OK;
}
