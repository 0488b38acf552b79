#include "docker_stats.h"

#include <stdbool.h>
#include <string.h>

static uint64_t uint_at(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    json_int_t i = json_integer_value(v);
    return i > 0 ? (uint64_t)i : 0;
}

void dv_container_stats_parse(const json_t *s, dv_container_stats *ret)
{
    memset(ret, 0, sizeof(*ret));
    const json_t *cpu = json_object_get(s, "cpu_stats");
    const json_t *pre = json_object_get(s, "precpu_stats");
    ret->cpu_ns = uint_at(cpu, "cpu_usage", "total_usage");
    ret->precpu_ns = uint_at(pre, "cpu_usage", "total_usage");
    ret->system_ns = uint_at(cpu, "system_cpu_usage", NULL);
    ret->presystem_ns = uint_at(pre, "system_cpu_usage", NULL);
    uint64_t ncpu = uint_at(cpu, "online_cpus", NULL);
    if (ncpu == 0)
        ncpu = json_array_size(json_object_get(json_object_get(cpu, "cpu_usage"), "percpu_usage"));
    ret->online_cpus = ncpu == 0 ? 1 : ncpu > 65536 ? 65536 : (unsigned)ncpu;
    ret->throttled_periods = uint_at(cpu, "throttling_data", "throttled_periods");
    ret->throttled_ns = uint_at(cpu, "throttling_data", "throttled_time");

    const json_t *mem = json_object_get(s, "memory_stats");
    const json_t *ms = json_object_get(mem, "stats");
    ret->mem_usage = uint_at(mem, "usage", NULL);
    ret->mem_max_usage = uint_at(mem, "max_usage", NULL);
    bool v1 = json_object_get(ms, "rss") != NULL;
    ret->mem_rss = uint_at(ms, v1 ? "rss" : "anon", NULL);
    ret->mem_cache = uint_at(ms, v1 ? "cache" : "file", NULL);
    ret->mem_swap = v1 ? uint_at(ms, "swap", NULL) : 0;
    ret->mem_inactive_file = json_object_get(ms, "total_inactive_file")
                                 ? uint_at(ms, "total_inactive_file", NULL)
                                 : uint_at(ms, "inactive_file", NULL);
}

double dv_container_stats_cpu_percent(const dv_container_stats *s)
{
    if (s->cpu_ns <= s->precpu_ns || s->system_ns <= s->presystem_ns)
        return 0.0;
    return (double)(s->cpu_ns - s->precpu_ns) / (double)(s->system_ns - s->presystem_ns) *
           (double)s->online_cpus * 100.0;
}

uint64_t dv_container_stats_memory(const dv_container_stats *s)
{
    return s->mem_usage > s->mem_inactive_file ? s->mem_usage - s->mem_inactive_file : s->mem_usage;
}
