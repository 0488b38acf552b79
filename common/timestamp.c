#include "timestamp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NS_PER_SEC INT64_C(1000000000)
/* Go's zero time, 0001-01-01T00:00:00Z, in seconds since the epoch. */
#define GO_ZERO_SECONDS INT64_C(-62135596800)

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm:
 * exact for every year, no tables, no time zone database). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    *ret_y = y + (m <= 2);
    *ret_m = m;
    *ret_d = d;
}

static bool digits(const char *p, size_t n, unsigned *ret)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *ret = v;
    return true;
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int bad(dv_error *err, const char *text, size_t len, int code)
{
    int shown = len > 64 ? 64 : (int)len;
    return dv_error_set(err, code, "invalid timestamp \"%.*s\"%s", shown, text,
                        code == -ERANGE ? ": out of range" : "");
}

int dv_timestamp_parse(const char *text, size_t len, int64_t *ret_ns, dv_error *err)
{
    /* YYYY-MM-DDTHH:MM:SS = 19 chars, then [.f{1,9}], then Z or ±hh:mm */
    unsigned year, mon, day, hour, min, sec;
    if (len < 20 || !digits(text, 4, &year) || text[4] != '-' || !digits(text + 5, 2, &mon) ||
        text[7] != '-' || !digits(text + 8, 2, &day) || text[10] != 'T' ||
        !digits(text + 11, 2, &hour) || text[13] != ':' || !digits(text + 14, 2, &min) ||
        text[16] != ':' || !digits(text + 17, 2, &sec))
        return bad(err, text, len, -EINVAL);
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon < 1 || mon > 12 || day < 1 ||
        day > mdays[mon - 1] + (mon == 2 && leap((int64_t)year)) || hour > 23 || min > 59 ||
        sec > 59)
        return bad(err, text, len, -EINVAL);

    size_t i = 19;
    int64_t frac = 0;
    if (i < len && text[i] == '.') {
        i++;
        size_t n = 0;
        while (i < len && text[i] >= '0' && text[i] <= '9') {
            if (n == 9)
                return bad(err, text, len, -EINVAL); /* more than nanoseconds */
            frac = frac * 10 + (text[i] - '0');
            n++;
            i++;
        }
        if (n == 0)
            return bad(err, text, len, -EINVAL);
        for (; n < 9; n++)
            frac *= 10;
    }

    int64_t offset = 0;
    if (i < len && text[i] == 'Z') {
        i++;
    } else if (i + 6 == len && (text[i] == '+' || text[i] == '-') && text[i + 3] == ':') {
        unsigned oh, om;
        if (!digits(text + i + 1, 2, &oh) || !digits(text + i + 4, 2, &om) || oh > 23 || om > 59)
            return bad(err, text, len, -EINVAL);
        offset = ((int64_t)oh * 3600 + om * 60) * (text[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return bad(err, text, len, -EINVAL);
    }
    if (i != len)
        return bad(err, text, len, -EINVAL);

    int64_t seconds = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
    seconds -= offset;
    if (seconds == GO_ZERO_SECONDS && frac == 0) {
        *ret_ns = DV_TIMESTAMP_ZERO;
        return 0;
    }
    /* For times before the epoch, borrow a second so the lowest representable
     * instant (INT64_MIN) does not overflow on the way. */
    if (seconds < 0 && frac > 0) {
        seconds++;
        frac -= NS_PER_SEC;
    }
    int64_t ns;
    if (__builtin_mul_overflow(seconds, NS_PER_SEC, &ns) || __builtin_add_overflow(ns, frac, &ns))
        return bad(err, text, len, -ERANGE);
    *ret_ns = ns;
    return 0;
}

/* Floor division so times before 1970 split into (second, positive fraction). */
static void split(int64_t ns, int64_t *ret_sec, int64_t *ret_frac)
{
    int64_t sec = ns / NS_PER_SEC, frac = ns % NS_PER_SEC;
    if (frac < 0) {
        frac += NS_PER_SEC;
        sec--;
    }
    *ret_sec = sec;
    *ret_frac = frac;
}

static void format(int64_t ns, char buf[DV_TIMESTAMP_MAX], bool fixed)
{
    int64_t sec, frac;
    if (ns == DV_TIMESTAMP_ZERO) {
        sec = GO_ZERO_SECONDS;
        frac = 0;
    } else {
        split(ns, &sec, &frac);
    }
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(buf, DV_TIMESTAMP_MAX, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u", y, m, d,
                     (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
    if (fixed || frac) {
        char f[16];
        snprintf(f, sizeof(f), "%09" PRId64, frac);
        if (!fixed)
            for (int k = 8; k > 0 && f[k] == '0'; k--)
                f[k] = '\0';
        n += snprintf(buf + n, (size_t)(DV_TIMESTAMP_MAX - n), ".%s", f);
    }
    snprintf(buf + n, (size_t)(DV_TIMESTAMP_MAX - n), "Z");
}

void dv_timestamp_format(int64_t ns, char buf[DV_TIMESTAMP_MAX])
{
    format(ns, buf, false);
}

void dv_timestamp_format_fixed(int64_t ns, char buf[DV_TIMESTAMP_MAX])
{
    format(ns, buf, true);
}

void dv_timestamp_since(int64_t ns, char buf[DV_TIMESTAMP_SINCE_MAX])
{
    int64_t sec, frac;
    split(ns, &sec, &frac);
    snprintf(buf, DV_TIMESTAMP_SINCE_MAX, "%" PRId64 ".%09" PRId64, sec, frac);
}
