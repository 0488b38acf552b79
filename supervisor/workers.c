#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "duration.h"

struct job {
    dv_work_fn work;
    dv_work_done_fn done;
    dv_work_discard_fn discard;
    void *data;
    struct job *next;
};

struct dv_workers {
    dv_loop *loop;
    int max_threads;
    pthread_mutex_t lock;
    pthread_cond_t more;    /* a job was queued, or shutdown */
    pthread_cond_t settled; /* a thread went idle or exited */
    struct job *head, *tail;
    int queued;
    int threads; /* started and not yet exited */
    int idle;    /* threads waiting for a job */
    bool stopping;
    pthread_t *tids; /* max_threads slots; the first `started` are joinable */
    int started;
};

static void discard_job(struct job *j)
{
    if (j->discard)
        j->discard(j->data);
    free(j);
}

static void post_done(dv_workers *w, struct job *j)
{
    if (!j->done) {
        free(j);
        return;
    }
    if (dv_loop_post(w->loop, (dv_loop_msg_fn)j->done, j->discard, j->data) < 0 && j->discard)
        j->discard(j->data);
    free(j);
}

static void *worker_main(void *arg)
{
    dv_workers *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stopping) {
            w->idle++;
            pthread_cond_broadcast(&w->settled);
            pthread_cond_wait(&w->more, &w->lock);
            w->idle--;
        }
        if (w->stopping)
            break;
        struct job *j = w->head;
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
        w->queued--;
        pthread_mutex_unlock(&w->lock);
        j->work(j->data);
        post_done(w, j);
        pthread_mutex_lock(&w->lock);
    }
    w->threads--;
    pthread_cond_broadcast(&w->settled);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int dv_workers_new(dv_loop *loop, int max_threads, dv_workers **ret, dv_error *err)
{
    if (max_threads < 1)
        max_threads = 1;
    dv_workers *w = calloc(1, sizeof(*w));
    if (!w)
        return dv_error_set(err, -ENOMEM, "out of memory");
    w->tids = calloc((size_t)max_threads, sizeof(*w->tids));
    if (!w->tids) {
        free(w);
        return dv_error_set(err, -ENOMEM, "out of memory");
    }
    w->loop = loop;
    w->max_threads = max_threads;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->more, NULL);
    pthread_cond_init(&w->settled, NULL);
    *ret = w;
    return 0;
}

int dv_workers_submit(dv_workers *w, dv_work_fn work, dv_work_done_fn done,
                      dv_work_discard_fn discard, void *data)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->work = work;
    j->done = done;
    j->discard = discard;
    j->data = data;
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        free(j);
        return -ESHUTDOWN;
    }
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    /* Grow when every thread is busy; a failed pthread_create only means the
     * job waits for a busy thread. */
    if (w->idle < w->queued && w->started < w->max_threads &&
        pthread_create(&w->tids[w->started], NULL, worker_main, w) == 0) {
        w->started++;
        w->threads++;
    }
    pthread_cond_signal(&w->more);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

int dv_workers_busy(dv_workers *w)
{
    pthread_mutex_lock(&w->lock);
    int busy = w->queued + (w->threads - w->idle);
    pthread_mutex_unlock(&w->lock);
    return busy;
}

int dv_workers_shutdown(dv_workers *w, int64_t timeout_ns)
{
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    struct job *j = w->head;
    w->head = w->tail = NULL;
    w->queued = 0;
    pthread_cond_broadcast(&w->more);
    pthread_mutex_unlock(&w->lock);
    while (j) {
        struct job *next = j->next;
        discard_job(j);
        j = next;
    }

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline); /* pthread_cond_timedwait's default clock */
    int64_t ns = (int64_t)deadline.tv_nsec + timeout_ns % DV_NSEC_PER_SEC;
    deadline.tv_sec += (time_t)(timeout_ns / DV_NSEC_PER_SEC + ns / DV_NSEC_PER_SEC);
    deadline.tv_nsec = (long)(ns % DV_NSEC_PER_SEC);
    pthread_mutex_lock(&w->lock);
    while (w->threads > 0)
        if (pthread_cond_timedwait(&w->settled, &w->lock, &deadline) == ETIMEDOUT)
            break;
    int left = w->threads;
    pthread_mutex_unlock(&w->lock);
    if (left > 0)
        return -EBUSY;
    for (int i = 0; i < w->started; i++)
        pthread_join(w->tids[i], NULL);
    w->started = 0;
    return 0;
}

void dv_workers_free(dv_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    bool running = w->threads > 0 || w->started > 0;
    pthread_mutex_unlock(&w->lock);
    if (running && dv_workers_shutdown(w, INT64_MAX / 2) < 0)
        return;
    pthread_cond_destroy(&w->more);
    pthread_cond_destroy(&w->settled);
    pthread_mutex_destroy(&w->lock);
    free(w->tids);
    free(w);
}
