#include "policy_caps.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

const char *const dv_caps_all[] = {
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
};
const size_t dv_caps_all_n = sizeof(dv_caps_all) / sizeof(dv_caps_all[0]);

/* moby oci/caps/defaults.go */
const char *const dv_caps_docker_default[] = {
    "chown",  "dac_override", "fsetid",  "fowner",           "mknod",      "net_raw", "setgid",
    "setuid", "setfcap",      "setpcap", "net_bind_service", "sys_chroot", "kill",    "audit_write",
};
const size_t dv_caps_docker_default_n =
    sizeof(dv_caps_docker_default) / sizeof(dv_caps_docker_default[0]);

const char *const dv_caps_allow_default[] = {
    "audit_write",      "chown",   "dac_override", "fowner",  "fsetid", "kill",       "mknod",
    "net_bind_service", "setfcap", "setgid",       "setpcap", "setuid", "sys_chroot",
};
const size_t dv_caps_allow_default_n =
    sizeof(dv_caps_allow_default) / sizeof(dv_caps_allow_default[0]);

bool dv_cap_normalize(const char *name, char out[DV_CAP_NAME_MAX])
{
    if (!name)
        return false;
    if (strncasecmp(name, "cap_", 4) == 0)
        name += 4;
    size_t n = strlen(name);
    if (n == 0 || n >= DV_CAP_NAME_MAX)
        return false;
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    if (strcmp(out, "all") == 0)
        return true;
    for (size_t i = 0; i < dv_caps_all_n; i++)
        if (strcmp(out, dv_caps_all[i]) == 0)
            return true;
    return false;
}
