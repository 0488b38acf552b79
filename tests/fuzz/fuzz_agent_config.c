/* The agent config file as the agent reads it at start and on SIGHUP:
 * dv_agent_config_load (from a memfd), then what a reload does with it
 * (dv_agent_config_restart_field against the defaults). */
#include <stdint.h>
#include <stdlib.h>

#include "agent_config.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *path = fuzz_memfd_path(data, len);
    if (!path)
        abort();
    dv_spec_error err;
    dv_spec_error_clear(&err);
    dv_agent_config config = {0};
    if (dv_agent_config_load(path, &config, &err) < 0) {
        if (err.err.msg[0] == '\0')
            abort();
        return 0;
    }
    dv_agent_config defaults = {0};
    if (dv_agent_config_defaults(&defaults, NULL) < 0)
        abort();
    (void)dv_agent_config_restart_field(&defaults, &config);
    (void)dv_agent_config_restart_field(&config, &defaults);
    (void)dv_agent_config_cap_allowed(&config, "chown");
    dv_agent_config_clear(&defaults);
    dv_agent_config_clear(&config);
    return 0;
}
