/* The version the binaries report: CMake's DV_VERSION_STRING (the project version, or
 * the one scripts/package.sh builds a package as). Defined in one generated object
 * (common/version.c.in), not as a compile definition of every file, so building the
 * same tree as another version recompiles that one file. */
#ifndef DV_VERSION_H
#define DV_VERSION_H

extern const char dv_version[];    /* "0.1.0" */
extern const char dv_user_agent[]; /* "dockvisor/0.1.0": the Engine API client's User-Agent */

#endif
