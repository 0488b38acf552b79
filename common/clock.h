/* Clock readings in int64 nanoseconds. Realtime for anything persisted or shown
 * (it means the same after a restart); monotonic for deadlines and intervals
 * within one process (it never jumps). */
#ifndef DV_CLOCK_H
#define DV_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t dv_clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

static inline int64_t dv_realtime_ns(void)
{
    return dv_clock_ns(CLOCK_REALTIME);
}

static inline int64_t dv_monotonic_ns(void)
{
    return dv_clock_ns(CLOCK_MONOTONIC);
}

#endif
