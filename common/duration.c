#include "duration.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int64_t ns;
} units[] = {
    {"ns", 1},
    {"us", DV_NSEC_PER_USEC},
    {"\xc2\xb5s", DV_NSEC_PER_USEC}, /* µs (micro sign) */
    {"\xce\xbcs", DV_NSEC_PER_USEC}, /* μs (greek mu) */
    {"ms", DV_NSEC_PER_MSEC},
    {"s", DV_NSEC_PER_SEC},
    {"m", 60 * DV_NSEC_PER_SEC},
    {"h", 3600 * DV_NSEC_PER_SEC},
};

static int bad(dv_error *err, const char *text, const char *why)
{
    return dv_error_set(err, -EINVAL, "invalid duration \"%s\": %s", text, why);
}

int dv_duration_parse(const char *text, int64_t *ret_ns, dv_error *err)
{
    if (!text)
        return bad(err, "", "empty");
    const char *s = text;
    bool negative = false;
    if (*s == '-' || *s == '+') {
        negative = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *ret_ns = 0;
        return 0;
    }
    if (*s == '\0')
        return bad(err, text, "empty");

    /* Accumulate in unsigned 64-bit so the overflow test is exact. */
    uint64_t total = 0;
    while (*s) {
        uint64_t whole = 0;
        bool digits = false;
        while (*s >= '0' && *s <= '9') {
            if (whole > (UINT64_MAX - 9) / 10)
                return bad(err, text, "out of range");
            whole = whole * 10 + (uint64_t)(*s - '0');
            s++;
            digits = true;
        }
        uint64_t frac = 0, scale = 1;
        bool frac_digits = false;
        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9') {
                if (scale < UINT64_C(1000000000000000000)) { /* extra digits cannot matter */
                    frac = frac * 10 + (uint64_t)(*s - '0');
                    scale *= 10;
                }
                s++;
                frac_digits = true;
            }
        }
        if (!digits && !frac_digits)
            return bad(err, text, "expected a number");
        int64_t unit = 0;
        size_t best = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t n = strlen(units[i].name);
            if (n > best && strncmp(s, units[i].name, n) == 0) {
                unit = units[i].ns;
                best = n;
            }
        }
        if (best == 0)
            return bad(err, text,
                       *s ? "unknown unit" : "missing unit (e.g. \"s\", \"ms\", \"m\", \"h\")");
        s += best;
        if (whole > UINT64_MAX / (uint64_t)unit)
            return bad(err, text, "out of range");
        uint64_t v = whole * (uint64_t)unit;
        /* frac/scale of a unit, rounded down as Go does */
        v += (uint64_t)((long double)frac * (long double)unit / (long double)scale);
        if (v > (uint64_t)INT64_MAX || total > (uint64_t)INT64_MAX - v)
            return bad(err, text, "out of range");
        total += v;
    }
    *ret_ns = negative ? -(int64_t)total : (int64_t)total;
    return 0;
}

void dv_duration_format(int64_t ns, char *buf, size_t size)
{
    if (ns == 0) {
        snprintf(buf, size, "0s");
        return;
    }
    const char *sign = ns < 0 ? "-" : "";
    uint64_t u = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
    if (u < (uint64_t)DV_NSEC_PER_SEC) {
        if (u < (uint64_t)DV_NSEC_PER_USEC)
            snprintf(buf, size, "%s%lluns", sign, (unsigned long long)u);
        else if (u < (uint64_t)DV_NSEC_PER_MSEC)
            snprintf(buf, size, "%s%gus", sign, (double)u / 1e3);
        else
            snprintf(buf, size, "%s%gms", sign, (double)u / 1e6);
        return;
    }
    uint64_t h = u / (3600 * (uint64_t)DV_NSEC_PER_SEC);
    u -= h * 3600 * (uint64_t)DV_NSEC_PER_SEC;
    uint64_t m = u / (60 * (uint64_t)DV_NSEC_PER_SEC);
    u -= m * 60 * (uint64_t)DV_NSEC_PER_SEC;
    uint64_t s = u / (uint64_t)DV_NSEC_PER_SEC;
    uint64_t frac = u % (uint64_t)DV_NSEC_PER_SEC;
    char secs[40];
    if (frac) {
        char f[16];
        snprintf(f, sizeof(f), "%09llu", (unsigned long long)frac);
        for (int i = 8; i > 0 && f[i] == '0'; i--)
            f[i] = '\0';
        snprintf(secs, sizeof(secs), "%llu.%ss", (unsigned long long)s, f);
    } else {
        snprintf(secs, sizeof(secs), "%llus", (unsigned long long)s);
    }
    if (h)
        snprintf(buf, size, "%s%lluh%llum%s", sign, (unsigned long long)h, (unsigned long long)m,
                 secs);
    else if (m)
        snprintf(buf, size, "%s%llum%s", sign, (unsigned long long)m, secs);
    else
        snprintf(buf, size, "%s%s", sign, secs);
}
