#include "passwd.h"

#include <errno.h>
#include <string.h>

#define ID_MAX UINT32_C(4294967294)

/* A decimal id of N bytes (no sign, no spaces). */
static bool parse_id(const char *s, size_t n, uint32_t *ret)
{
    if (n == 0 || n > 10)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > ID_MAX)
        return false;
    *ret = (uint32_t)v;
    return true;
}

static int copy_part(char *dst, const char *s, size_t n, const char *what, dv_error *err)
{
    if (n == 0)
        return dv_error_set(err, -EINVAL, "empty %s", what);
    if (n >= DV_USER_NAME_MAX)
        return dv_error_set(err, -EINVAL, "%s name longer than %d bytes", what,
                            DV_USER_NAME_MAX - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

int dv_user_spec_parse(const char *s, dv_user_spec *ret, dv_error *err)
{
    dv_user_spec u = {0};
    if (!s || !*s) {
        u.user_numeric = true; /* root, Docker's default */
        *ret = u;
        return 0;
    }
    const char *colon = strchr(s, ':');
    size_t ulen = colon ? (size_t)(colon - s) : strlen(s);
    int r = copy_part(u.user, s, ulen, "user", err);
    if (r < 0)
        return r;
    u.user_numeric = parse_id(s, ulen, &u.uid);
    if (colon) {
        const char *g = colon + 1;
        if ((r = copy_part(u.group, g, strlen(g), "group", err)) < 0)
            return r;
        u.has_group = true;
        u.group_numeric = parse_id(g, strlen(g), &u.gid);
    }
    *ret = u;
    return 0;
}

/* Field I (0-based) of the line [S, S+N), ':'-separated. */
static bool field(const char *s, size_t n, int i, const char **ret, size_t *ret_len)
{
    const char *end = s + n;
    for (; i > 0; i--) {
        const char *c = memchr(s, ':', (size_t)(end - s));
        if (!c)
            return false;
        s = c + 1;
    }
    const char *c = memchr(s, ':', (size_t)(end - s));
    *ret = s;
    *ret_len = c ? (size_t)(c - s) : (size_t)(end - s);
    return true;
}

/* Calls per line of TEXT until FN answers 0 (found) or the text ends (-ENOENT). */
typedef int (*line_fn)(const char *line, size_t n, const char *name, uint32_t *a, uint32_t *b);

static int each_line(const char *text, size_t len, line_fn fn, const char *name, uint32_t *a,
                     uint32_t *b)
{
    size_t off = 0;
    while (text && off < len) {
        const char *line = text + off;
        const char *nl = memchr(line, '\n', len - off);
        size_t n = nl ? (size_t)(nl - line) : len - off;
        off += n + (nl ? 1 : 0);
        if (memchr(line, '\0', n))
            continue;
        if (fn(line, n, name, a, b) == 0)
            return 0;
    }
    return -ENOENT;
}

static bool name_is(const char *line, size_t n, const char *name)
{
    const char *f;
    size_t fl;
    return field(line, n, 0, &f, &fl) && fl == strlen(name) && fl > 0 && memcmp(f, name, fl) == 0;
}

static int passwd_line(const char *line, size_t n, const char *name, uint32_t *uid, uint32_t *gid)
{
    const char *f;
    size_t fl;
    uint32_t u, g;
    if (!name_is(line, n, name) || !field(line, n, 2, &f, &fl) || !parse_id(f, fl, &u) ||
        !field(line, n, 3, &f, &fl) || !parse_id(f, fl, &g))
        return -ENOENT;
    *uid = u;
    *gid = g;
    return 0;
}

static int group_line(const char *line, size_t n, const char *name, uint32_t *gid, uint32_t *unused)
{
    (void)unused;
    const char *f;
    size_t fl;
    uint32_t g;
    if (!name_is(line, n, name) || !field(line, n, 2, &f, &fl) || !parse_id(f, fl, &g))
        return -ENOENT;
    *gid = g;
    return 0;
}

int dv_passwd_find(const char *text, size_t len, const char *name, uint32_t *ret_uid,
                   uint32_t *ret_gid)
{
    uint32_t u = 0, g = 0;
    int r = each_line(text, len, passwd_line, name, &u, &g);
    if (r == 0) {
        *ret_uid = u;
        *ret_gid = g;
    }
    return r;
}

int dv_group_find(const char *text, size_t len, const char *name, uint32_t *ret_gid)
{
    uint32_t g = 0, unused = 0;
    int r = each_line(text, len, group_line, name, &g, &unused);
    if (r == 0)
        *ret_gid = g;
    return r;
}
