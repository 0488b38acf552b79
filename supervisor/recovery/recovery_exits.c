/* Recovery's exit inspections, several at once (recovery_exits.h). */
#include "recovery_exits.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "cleanup.h"
#include "xalloc.h"

typedef struct fetch_run {
    dv_docker *docker;
    dv_exit_fetch *items;
    size_t n;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    size_t next; /* the next item to take */
    size_t done; /* items finished */
} fetch_run;

static void fetch_one(dv_docker *docker, dv_exit_fetch *item)
{
    _cleanup_json_ json_t *ins = NULL;
    dv_error e;
    dv_error_clear(&e);
    if (dv_docker_container_inspect(docker, item->container_id, &ins, &e) < 0 ||
        dv_exit_result_from_inspect(ins, &item->result, &e) < 0) {
        dv_exit_result_clear(&item->result);
        item->result = (dv_exit_result){.valid = false};
        item->result.error =
            dv_xstrdup(dv_docker_is_not_found(&e) ? "the container was removed"
                                                  : "its exit could not be inspected");
    }
}

/* Take items until none is left; also what the calling thread runs when no worker
 * could be started. */
static void *worker(void *arg)
{
    fetch_run *fr = arg;
    pthread_mutex_lock(&fr->lock);
    while (fr->next < fr->n) {
        dv_exit_fetch *item = &fr->items[fr->next++];
        pthread_mutex_unlock(&fr->lock);
        fetch_one(fr->docker, item);
        pthread_mutex_lock(&fr->lock);
        fr->done++;
        pthread_cond_signal(&fr->done_cond);
    }
    pthread_mutex_unlock(&fr->lock);
    return NULL;
}

void dv_recovery_fetch_exits(dv_docker *docker, dv_exit_fetch *items, size_t n, int parallel,
                             void (*tick)(void *userdata), void *userdata)
{
    if (n == 0)
        return;
    fetch_run fr = {.docker = docker, .items = items, .n = n};
    pthread_mutex_init(&fr.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fr.done_cond, &ca);
    pthread_condattr_destroy(&ca);

    size_t want = parallel < 1 ? 1 : (size_t)parallel;
    if (want > n)
        want = n;
    pthread_t *threads = dv_xcalloc(want, sizeof(*threads));
    size_t started = 0;
    while (started < want && pthread_create(&threads[started], NULL, worker, &fr) == 0)
        started++;
    if (started == 0) {
        worker(&fr);
    } else {
        pthread_mutex_lock(&fr.lock);
        while (fr.done < fr.n) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += 1;
            if (pthread_cond_timedwait(&fr.done_cond, &fr.lock, &until) == ETIMEDOUT && tick) {
                pthread_mutex_unlock(&fr.lock);
                tick(userdata);
                pthread_mutex_lock(&fr.lock);
            }
        }
        pthread_mutex_unlock(&fr.lock);
        for (size_t i = 0; i < started; i++)
            pthread_join(threads[i], NULL);
    }
    free(threads);
    pthread_cond_destroy(&fr.done_cond);
    pthread_mutex_destroy(&fr.lock);
}
