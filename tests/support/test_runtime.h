/* A task runtime (runtime.h) on the fake Engine, for unit tests of what runs on
 * it (runner, jobs, recovery, image GC) without a daemon: agent defaults with a
 * temporary data dir, a real loop, lanes, state store, ports and task table;
 * both Engine clients point at FAKE. Observers are left for the test to set. */
#ifndef DV_TEST_RUNTIME_H
#define DV_TEST_RUNTIME_H

#include "fake_engine.h"
#include "runtime.h"

typedef struct dv_test_runtime {
    dv_runtime run;
    dv_agent_config config;
    dv_lanes lanes;
    char *dir; /* the data dir (removed by dv_test_runtime_free) */
} dv_test_runtime;

/* Returns NULL (after printing why) when something cannot be set up. */
dv_test_runtime *dv_test_runtime_new(dv_fake *fake);
/* Stops the workers, frees the tasks still in the table (FREE_RT first, may be
 * NULL), and everything else, data dir included. */
void dv_test_runtime_free(dv_test_runtime *tr, void (*free_rt)(dv_task *t));

#endif
