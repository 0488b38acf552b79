#include "lanes.h"

#include <assert.h>
#include <errno.h>

#include "clock.h"
#include "duration.h"

static const struct {
    const char *name;
    int threads;
    int queued; /* < 0: unbounded */
} lanes_def[DV_LANE_COUNT] = {
    [DV_LANE_LIFECYCLE] = {"lifecycle", 32, -1},
    /* A stop is never refused; 64 threads cover a drain of many tasks in parallel. */
    [DV_LANE_STOP] = {"stop", 64, -1},
    [DV_LANE_IMAGE] = {"image", 16, -1},
    /* Each exec may hold a few MiB of output in memory until it is answered. */
    [DV_LANE_EXEC] = {"exec", 8, 0},
    [DV_LANE_QUERY] = {"query", 8, 32},
    [DV_LANE_BACKGROUND] = {"background", 4, -1},
};

int dv_lanes_init(dv_lanes *lanes, dv_loop *loop, dv_error *err)
{
    (void)err;
    for (int i = 0; i < DV_LANE_COUNT; i++) {
        dv_workers_options o = {.max_threads = lanes_def[i].threads,
                                .max_queued = lanes_def[i].queued,
                                .idle_timeout_ns = DV_WORKERS_IDLE_TIMEOUT};
        lanes->lane[i] = dv_workers_new_with(loop, &o);
    }
    return 0;
}

const char *dv_lane_name(enum dv_lane lane)
{
    return lane < DV_LANE_COUNT ? lanes_def[lane].name : "?";
}

int dv_lanes_submit(dv_lanes *lanes, enum dv_lane lane, dv_work_fn work, dv_work_done_fn done,
                    dv_work_discard_fn discard, void *data)
{
    assert(lane < DV_LANE_COUNT);
    if (!lanes->lane[lane])
        return -ESHUTDOWN;
    return dv_workers_submit(lanes->lane[lane], work, done, discard, data);
}

int dv_lanes_busy(dv_lanes *lanes)
{
    int n = 0;
    for (int i = 0; i < DV_LANE_COUNT; i++)
        if (lanes->lane[i])
            n += dv_workers_busy(lanes->lane[i]);
    return n;
}

void dv_lanes_metrics(dv_lanes *lanes, dv_buf *b)
{
    dv_buf_appends(b, "# HELP dockvisor_lane_busy Blocking jobs queued or running, by lane.\n"
                      "# TYPE dockvisor_lane_busy gauge\n");
    for (int i = 0; i < DV_LANE_COUNT; i++)
        if (lanes->lane[i])
            dv_buf_printf(b, "dockvisor_lane_busy{lane=\"%s\"} %d\n", lanes_def[i].name,
                          dv_workers_busy(lanes->lane[i]));
    dv_buf_appends(b, "# HELP dockvisor_lane_threads Worker threads alive, by lane.\n"
                      "# TYPE dockvisor_lane_threads gauge\n");
    for (int i = 0; i < DV_LANE_COUNT; i++)
        if (lanes->lane[i])
            dv_buf_printf(b, "dockvisor_lane_threads{lane=\"%s\"} %d\n", lanes_def[i].name,
                          dv_workers_threads(lanes->lane[i]));
}

int dv_lanes_shutdown(dv_lanes *lanes, int64_t timeout_ns)
{
    int64_t end = dv_monotonic_ns() + timeout_ns;
    for (int i = 0; i < DV_LANE_COUNT; i++)
        if (lanes->lane[i])
            dv_workers_stop_accepting(lanes->lane[i]);
    int r = 0;
    for (int i = 0; i < DV_LANE_COUNT; i++) {
        if (!lanes->lane[i])
            continue;
        /* Idle threads need a moment to leave even when the time is up. */
        int64_t left = end - dv_monotonic_ns();
        if (dv_workers_shutdown(lanes->lane[i],
                                left > 100 * DV_NSEC_PER_MSEC ? left : 100 * DV_NSEC_PER_MSEC) < 0)
            r = -EBUSY;
    }
    return r;
}

void dv_lanes_free(dv_lanes *lanes)
{
    for (int i = 0; i < DV_LANE_COUNT; i++) {
        dv_workers_free(lanes->lane[i]);
        lanes->lane[i] = NULL;
    }
}
