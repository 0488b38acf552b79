/* Linux capability names as the docker driver takes them: case-insensitive,
 * with or without "CAP_", plus "ALL". */
#ifndef DV_POLICY_CAPS_H
#define DV_POLICY_CAPS_H

#include <stdbool.h>
#include <stddef.h>

#define DV_CAP_NAME_MAX 32

/* Normalize NAME into OUT: lowercase, without "cap_" ("CAP_NET_RAW" →
 * "net_raw", "ALL" → "all"). False if it is no known capability nor "all". */
bool dv_cap_normalize(const char *name, char out[DV_CAP_NAME_MAX]);

/* Every capability the kernel knows (lowercase), and Docker's default set
 * (what a container gets without cap_add/cap_drop). */
extern const char *const dv_caps_all[];
extern const size_t dv_caps_all_n;
extern const char *const dv_caps_docker_default[];
extern const size_t dv_caps_docker_default_n;

/* The docs' default allow_caps: Docker's default set without net_raw. */
extern const char *const dv_caps_allow_default[];
extern const size_t dv_caps_allow_default_n;

#endif
