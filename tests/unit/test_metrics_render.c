/* The whole exposition an agent renders (supervisor/api/metrics.c), on a runtime on
 * the fake Engine: each family declared once with HELP and TYPE before its samples,
 * the samples of a family together, label values escaped, and the per-task series
 * there for every task. promtool checks the real thing in
 * tests/integration/test_metrics_prometheus.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "cleanup.h"
#include "dangling.h"
#include "duration.h"
#include "fake_engine.h"
#include "image_gc.h"
#include "metrics.h"
#include "pull_metrics.h"
#include "test_runtime.h"
#include "test_support.h"

/* The metric name of a sample line; a histogram's _bucket, _sum and _count belong
 * to the family without the suffix when that one was declared a histogram. */
static void family_of(const char *line, const char *current, char *out, size_t size)
{
    size_t n = strcspn(line, "{ ");
    snprintf(out, size, "%.*s", (int)n, line);
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    for (size_t i = 0; i < DV_ARRAY_SIZE(suffixes); i++) {
        size_t sl = strlen(suffixes[i]), cl = strlen(current);
        if (n == cl + sl && strncmp(out, current, cl) == 0 && strcmp(out + cl, suffixes[i]) == 0)
            snprintf(out, size, "%s", current);
    }
}

/* Families in order; fails on a family declared twice, a TYPE without its HELP just
 * before, or a sample outside its family's block. */
static void check_exposition(const char *text)
{
    char seen[64][96];
    size_t nseen = 0;
    char current[96] = "", help[96] = "";
    _cleanup_free_ char *copy = strdup(text);
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[96];
        if (sscanf(line, "# HELP %95s", name) == 1) {
            snprintf(help, sizeof(help), "%s", name);
        } else if (sscanf(line, "# TYPE %95s", name) == 1) {
            if (strcmp(help, name) != 0)
                fail_msg("TYPE %s without its HELP first", name);
            for (size_t i = 0; i < nseen; i++)
                if (strcmp(seen[i], name) == 0)
                    fail_msg("family %s declared twice", name);
            assert_true(nseen < DV_ARRAY_SIZE(seen));
            snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
            snprintf(current, sizeof(current), "%s", name);
        } else {
            family_of(line, current, name, sizeof(name));
            if (strcmp(name, current) != 0)
                fail_msg("sample \"%s\" outside its family (in %s)", line, current);
        }
    }
}

static void test_render(void **state)
{
    (void)state;
    dv_fake *fake = dv_fake_start(NULL, NULL);
    assert_non_null(fake);
    dv_test_runtime *tr = dv_test_runtime_new(fake);
    assert_non_null(tr);
    dv_agent a = {0};
    a.config = tr->config;
    a.lanes = tr->lanes;
    a.run = tr->run;
    a.run.config = &a.config;
    a.run.lanes = &a.lanes;
    a.run.image_gc = dv_image_gc_new(&a.run);
    a.run.dangling = dv_dangling_new(&a.run);
    a.run.pulls = dv_pull_metrics_new();
    a.hub = dv_event_hub_new();

    dv_task *t1 = dv_task_new("11111111-1111-4111-8111-111111111111", "web \"a\\b\"");
    t1->state = DV_TASK_RUNNING;
    t1->restarts.total = 3;
    t1->log_gaps[0] = 2;
    dv_task *t2 = dv_task_new("22222222-2222-4222-8222-222222222222", "db");
    t2->state = DV_TASK_FAILED;
    assert_int_equal(dv_task_table_add(a.run.tasks, t1), 0);
    assert_int_equal(dv_task_table_add(a.run.tasks, t2), 0);
    dv_pull_metrics_observe(a.run.pulls, 3 * DV_NSEC_PER_SEC, true);

    _cleanup_buf_ dv_buf b = DV_BUF_INIT;
    dv_metrics_render(&a, &b);
    assert_non_null(b.data);
    check_exposition(b.data);
    const char *want[] = {
        "dockvisor_tasks{state=\"running\"} 1\n",
        "dockvisor_tasks{state=\"failed\"} 1\n",
        "dockvisor_task_state{task_id=\"11111111-1111-4111-8111-111111111111\",task_name=\"web "
        "\\\"a\\\\b\\\"\",state=\"running\"} 1\n",
        "dockvisor_task_state{task_id=\"22222222-2222-4222-8222-222222222222\",task_name=\"db\","
        "state=\"failed\"} 1\n",
        "dockvisor_task_restarts_total{task_id=\"11111111-1111-4111-8111-111111111111\","
        "task_name=\"web \\\"a\\\\b\\\"\"} 3\n",
        "dockvisor_task_restarts_total{task_id=\"22222222-2222-4222-8222-222222222222\","
        "task_name=\"db\"} 0\n",
        "dockvisor_log_gaps_total{task_id=\"11111111-1111-4111-8111-111111111111\","
        "task_name=\"web \\\"a\\\\b\\\"\",stream=\"stdout\"} 2\n",
        "# TYPE dockvisor_engine_request_duration_seconds histogram\n",
        "dockvisor_engine_errors_total{client=\"quick\",kind=\"unreachable\"} 0\n",
        "dockvisor_image_pull_duration_seconds_bucket{result=\"success\",le=\"5\"} 1\n",
        "dockvisor_image_pull_duration_seconds_count{result=\"failure\"} 0\n",
        "# TYPE dockvisor_task_cpu_seconds_total counter\n",
        "# TYPE dockvisor_docklog_entries_total counter\n",
        "# TYPE dockvisor_data_dir_free_bytes gauge\n",
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(want); i++)
        if (!strstr(b.data, want[i]))
            fail_msg("missing: %s\nin:\n%s", want[i], b.data);
    /* No sampler (no listener configured): no sampled series, only their families. */
    assert_null(strstr(b.data, "dockvisor_task_memory_bytes{"));

    dv_lanes_shutdown(&a.lanes, 5 * DV_NSEC_PER_SEC);
    dv_loop_close(a.run.loop);
    dv_image_gc_free(a.run.image_gc);
    dv_dangling_free(a.run.dangling);
    dv_pull_metrics_free(a.run.pulls);
    dv_event_hub_free(a.hub);
    dv_test_runtime_free(tr, NULL);
    dv_fake_stop(fake);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
