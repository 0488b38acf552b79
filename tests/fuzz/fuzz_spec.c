/* The task spec as POST /v1/tasks, POST /v1/validate and `dockvisor validate` take
 * it: JSON (duplicates refused) → dv_spec_parse → policy → Engine create body
 * (dv_translate_preview), plus the redacted copy every API answer shows. Inputs of
 * odd length are checked against a permissive agent config (privileged, every
 * capability, host volumes, extra labels, a pids limit), so the translation of what
 * the default policy refuses is reached too. */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "agent_config.h"
#include "spec.h"
#include "translate.h"

static dv_agent_config config, permissive;

static const char permissive_json[] =
    "{\"port_range\": \"25000-25049\", \"docker\": {\"allow_privileged\": true,"
    " \"allow_caps\": [\"all\"], \"allow_runtimes\": [\"runc\", \"nvidia\"],"
    " \"pids_limit\": 100, \"extra_labels\": [\"*\"], \"volumes\": {\"enabled\": true,"
    " \"selinuxlabel\": \"z\"}, \"logging\": {\"type\": \"journald\"}}}";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_t *j = json_loads(permissive_json, 0, NULL);
    if (!j || dv_agent_config_defaults(&config, NULL) < 0 ||
        dv_agent_config_parse(j, &permissive, NULL) < 0)
        abort();
    json_decref(j);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    json_t *spec = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
    if (!spec)
        return 0;
    dv_spec_error err;
    dv_spec_error_clear(&err);
    json_t *body = NULL;
    if (dv_translate_preview(spec, len % 2 ? &permissive : &config, NULL, &body, &err) == 0) {
        char *text = json_dumps(body, JSON_COMPACT);
        free(text);
        json_decref(body);
    } else if (err.err.msg[0] == '\0') {
        abort(); /* every refusal says why */
    }
    json_decref(dv_spec_redact(spec));
    json_decref(spec);
    return 0;
}
