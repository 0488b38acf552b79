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
#include "commands.h"
#include "translate.h"

static int usage(void)
{
    fprintf(stderr, "usage: dockvisor validate [-config AGENT.json] SPEC.json\n");
    return DV_EXIT_USAGE;
}

static void agent_config_clearp(dv_agent_config *c)
{
    dv_agent_config_clear(c);
}

int dv_cmd_validate(int argc, char **argv)
{
    const char *config_path = NULL, *spec_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-config") == 0 || strcmp(a, "--config") == 0) {
            if (++i >= argc)
                return usage();
            config_path = argv[i];
        } else if (strncmp(a, "-config=", 8) == 0 || strncmp(a, "--config=", 9) == 0) {
            config_path = strchr(a, '=') + 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "-help") == 0) {
            fprintf(stdout, "usage: dockvisor validate [-config AGENT.json] SPEC.json\n");
            return DV_EXIT_OK;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "dockvisor validate: unknown option %s\n", a);
            return usage();
        } else if (spec_path) {
            return usage();
        } else {
            spec_path = a;
        }
    }
    if (!spec_path || (config_path && !*config_path))
        return usage();

    dv_spec_error err;
    dv_spec_error_clear(&err);
    __attribute__((cleanup(agent_config_clearp))) dv_agent_config config = {0};
    int r = config_path ? dv_agent_config_load(config_path, &config, &err)
                        : dv_agent_config_defaults(&config, &err);
    if (r < 0) {
        fprintf(stderr, "dockvisor validate: %s\n", err.err.msg);
        return DV_EXIT_ERROR;
    }

    json_error_t jerr;
    _cleanup_json_ json_t *spec = strcmp(spec_path, "-") == 0
                                      ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
                                      : json_load_file(spec_path, JSON_REJECT_DUPLICATES, &jerr);
    if (!spec) {
        fprintf(stderr, "dockvisor validate: %s:%d:%d: %s\n", spec_path, jerr.line, jerr.column,
                jerr.text);
        return DV_EXIT_ERROR;
    }
    _cleanup_json_ json_t *body = NULL;
    if (dv_translate_preview(spec, &config, NULL, &body, &err) < 0) {
        fprintf(stderr, "dockvisor validate: %s\n", err.err.msg);
        return DV_EXIT_ERROR;
    }
    if (json_dumpf(body, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 || fputc('\n', stdout) < 0 ||
        fflush(stdout) != 0) {
        fprintf(stderr, "dockvisor validate: writing the result: %s\n", strerror(errno));
        return DV_EXIT_ERROR;
    }
    return DV_EXIT_OK;
}
