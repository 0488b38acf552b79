/* Random (version 4) UUIDs from getrandom(2), formatted lowercase
 * "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx". */
#ifndef DV_UUID_H
#define DV_UUID_H

#include <stdbool.h>

#include "error.h"

#define DV_UUID_STRLEN 36

int dv_uuid_v4(char ret[DV_UUID_STRLEN + 1], dv_error *err);

/* True if TEXT is a canonical lowercase or uppercase UUID string. */
bool dv_uuid_is_valid(const char *text);

#endif
