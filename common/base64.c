#include "base64.h"
#include "xalloc.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static const char STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int dv_base64_encode(const void *data, size_t len, bool url, char **ret)
{
    const char *alpha = url ? URL : STD;
    const uint8_t *in = data;
    assert(len <= (SIZE_MAX - 1) / 4 * 3 - 3); /* bytes already in memory */
    char *out = dv_xmalloc((len + 2) / 3 * 4 + 1);
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = alpha[v >> 18 & 63];
        *o++ = alpha[v >> 12 & 63];
        *o++ = alpha[v >> 6 & 63];
        *o++ = alpha[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        *o++ = alpha[v >> 18 & 63];
        *o++ = alpha[v >> 12 & 63];
        *o++ = i + 1 < len ? alpha[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    *ret = out;
    return 0;
}

static int value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int dv_base64_decode(const char *text, size_t len, void **ret, size_t *ret_len)
{
    /* Padding is optional, but if present it must complete the last quantum. */
    size_t pad = 0;
    while (pad < 2 && len > pad && text[len - 1 - pad] == '=')
        pad++;
    if (pad && len % 4 != 0)
        return -EINVAL;
    size_t n = len - pad;
    if (n % 4 == 1)
        return -EINVAL;
    uint8_t *out = malloc(n / 4 * 3 + 3);
    if (!out)
        return -ENOMEM;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = value(text[i]);
        if (v < 0) {
            free(out);
            return -EINVAL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero, or the text was not produced by an encoder. */
    if (acc != 0) {
        free(out);
        return -EINVAL;
    }
    out[o] = '\0';
    *ret = out;
    if (ret_len)
        *ret_len = o;
    return 0;
}
