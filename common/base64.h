/* Base64 (RFC 4648): the URL-safe alphabet for Docker's X-Registry-Auth header
 * (base64url of a JSON object, padded, as the docker CLI sends it), and the standard
 * alphabet for the "auth" fields of docker config files ("user:password"). */
#ifndef DV_BASE64_H
#define DV_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Encode LEN bytes; URL selects "-_" instead of "+/". Output is padded with '='.
 * *ret gets a heap NUL-terminated string. Always 0 (aborts when memory runs out). */
int dv_base64_encode(const void *data, size_t len, bool url, char **ret);

/* Decode LEN characters of either alphabet, padded or not. *ret gets a heap buffer
 * (NUL-terminated for convenience, the NUL not counted in *ret_len). Returns 0,
 * -EINVAL for a character outside the alphabets, misplaced padding or a length
 * that cannot be base64, or -ENOMEM (checked: the text comes from a file). Outputs are untouched on
 * failure. */
int dv_base64_decode(const char *text, size_t len, void **ret, size_t *ret_len);

#endif
