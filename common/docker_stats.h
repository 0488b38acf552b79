/* The Engine's container stats answer (GET /containers/{id}/stats, stream=false or
 * one-shot) read into numbers, once, for everyone who shows them: Nomad's stats
 * shape (the task API) and the per-task metrics. The answer's names differ by
 * cgroup version: v1 has rss/cache/swap/max_usage and total_inactive_file, v2
 * anon/file and inactive_file (and no swap or max usage there). A field the answer
 * lacks (or holds a negative or non-integer value for) reads as 0. */
#ifndef DV_DOCKER_STATS_H
#define DV_DOCKER_STATS_H

#include <stdint.h>

#include <jansson.h>

typedef struct dv_container_stats {
    uint64_t cpu_ns, precpu_ns;               /* cpu_usage.total_usage, now and before */
    uint64_t system_ns, presystem_ns;         /* system_cpu_usage, now and before */
    unsigned online_cpus;                     /* online_cpus, else percpu_usage's length, >= 1 */
    uint64_t throttled_periods, throttled_ns; /* throttling_data */
    uint64_t mem_usage, mem_max_usage;
    uint64_t mem_rss, mem_cache, mem_swap; /* v1 rss/cache/swap, v2 anon/file/0 */
    uint64_t mem_inactive_file;            /* v1 total_inactive_file, v2 inactive_file */
} dv_container_stats;

void dv_container_stats_parse(const json_t *answer, dv_container_stats *ret);

/* CPU use between the two samples the answer holds, in percent of one CPU (as
 * `docker stats`: 200 is two CPUs busy); 0 without a previous sample. */
double dv_container_stats_cpu_percent(const dv_container_stats *s);

/* Memory the container uses, as `docker stats` counts it: usage without the page
 * cache the kernel may take back (inactive files). */
uint64_t dv_container_stats_memory(const dv_container_stats *s);

#endif
