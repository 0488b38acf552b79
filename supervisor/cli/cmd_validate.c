/* dockvisor validate [-config AGENT.json] SPEC.json
 *
 * Prints the Engine create body the agent would send for SPEC (pretty JSON,
 * exit 0), or the one-line error naming the field (stderr, exit 1). Needs no
 * agent and no daemon; without -config the agent defaults apply. "-" reads
 * the spec from stdin. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent_config.h"
#include "cleanup.h"
#include "cli.h"
#include "commands.h"
#include "translate.h"

static void agent_config_clearp(dv_agent_config *c)
{
    dv_agent_config_clear(c);
}

int dv_cmd_validate(int argc, char **argv)
{
    const char *config_path = NULL;
    const dv_flag flags[] = {
        {"config", DV_FLAG_STRING, &config_path, "the agent config to validate against"},
        {0},
    };
    _cleanup_cli_ dv_cli cli = {.cmd = "validate",
                                .usage = "dockvisor validate [-config AGENT.json] SPEC.json",
                                .local = true};
    int r = dv_cli_start(&cli, flags, argc, argv, 1, 1);
    if (r != DV_CLI_PROCEED)
        return r;
    if (config_path && !*config_path)
        return dv_cli_usage_error(&cli);
    const char *spec_path = cli.pos[0];

    dv_spec_error err;
    dv_spec_error_clear(&err);
    __attribute__((cleanup(agent_config_clearp))) dv_agent_config config = {0};
    r = config_path ? dv_agent_config_load(config_path, &config, &err)
                    : dv_agent_config_defaults(&config, &err);
    if (r < 0) {
        dv_cli_error(cli.cmd, "%s", err.err.msg);
        return DV_EXIT_ERROR;
    }

    _cleanup_json_ json_t *spec = dv_cli_read_spec(spec_path, &err.err);
    if (!spec) {
        dv_cli_error(cli.cmd, "%s", err.err.msg);
        return DV_EXIT_ERROR;
    }
    _cleanup_json_ json_t *body = NULL;
    if (dv_translate_preview(spec, &config, NULL, &body, &err) < 0) {
        dv_cli_error(cli.cmd, "%s", err.err.msg);
        return DV_EXIT_ERROR;
    }
    if (json_dumpf(body, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 || fputc('\n', stdout) < 0 ||
        fflush(stdout) != 0) {
        dv_cli_error(cli.cmd, "writing the result: %s", strerror(errno));
        return DV_EXIT_ERROR;
    }
    return DV_EXIT_OK;
}
