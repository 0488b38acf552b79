#include "test_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "task_runner.h"
#include "test_support.h"

dv_test_runtime *dv_test_runtime_new(dv_fake *fake)
{
    dv_test_runtime *tr = calloc(1, sizeof(*tr));
    dv_runtime *run = &tr->run;
    dv_error err;
    dv_error_clear(&err);
    tr->dir = dv_test_tmpdir("dvtest-runtime");
    run->config = &tr->config;
    run->lanes = &tr->lanes;
    run->log_loss_fd = -1;
    snprintf(run->node_id, sizeof(run->node_id), "%s", "00000000-0000-4000-8000-00000000a9e7");
    /* Shaped as a kernel boot id: a record's boot id of another length is ignored
     * when it is read back (so recovery could never see a reboot). */
    snprintf(run->boot_id, sizeof(run->boot_id), "%s", "b0070000-0000-4000-8000-000000000001");
    run->ncpus = 2;
    run->cpu_total_mhz = 4000;
    if (dv_agent_config_defaults(&tr->config, NULL) < 0)
        goto fail;
    free(tr->config.data_dir);
    tr->config.data_dir = strdup(tr->dir);
    tr->config.bind_address = (free(tr->config.bind_address), strdup("127.0.0.1"));
    dv_docker_config c = {.endpoint = dv_fake_endpoint(fake)};
    if (dv_state_store_open(tr->dir, &run->store, &err) < 0 ||
        dv_docker_new(&c, &run->docker, &err) < 0 ||
        dv_docker_new(&c, &run->quick_docker, &err) < 0 || dv_loop_new(&run->loop, &err) < 0 ||
        dv_lanes_init(&tr->lanes, run->loop, &err) < 0 ||
        dv_ports_new(tr->config.port_min, tr->config.port_max, tr->config.bind_address, &run->ports,
                     &err) < 0 ||
        !(run->tasks = dv_task_table_new()) || dv_runner_records_new(run, NULL, &err) < 0)
        goto fail;
    return tr;
fail:
    fprintf(stderr, "test runtime: %s\n", err.msg);
    dv_test_runtime_free(tr, NULL);
    return NULL;
}

void dv_test_runtime_free(dv_test_runtime *tr, void (*free_rt)(dv_task *t))
{
    if (!tr)
        return;
    dv_runtime *run = &tr->run;
    if (run->loop) {
        dv_lanes_shutdown(&tr->lanes, 5 * DV_NSEC_PER_SEC);
        dv_loop_close(run->loop);
    }
    dv_lanes_free(&tr->lanes);
    if (run->tasks)
        dv_task_table_free(run->tasks, free_rt);
    dv_ports_free(run->ports);
    dv_loop_free(run->loop);
    dv_record_writer_free(run->records);
    dv_docker_free(run->docker);
    dv_docker_free(run->quick_docker);
    dv_state_store_free(run->store);
    dv_agent_config_clear(&tr->config);
    dv_test_rm_rf(tr->dir);
    free(tr->dir);
    free(tr);
}
