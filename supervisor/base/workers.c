#include "workers.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "duration.h"
#include "xalloc.h"

struct job {
    dv_work_fn work;
    dv_work_done_fn done;
    dv_work_discard_fn discard;
    void *data;
    struct job *next;
};

enum slot_state { SLOT_FREE, SLOT_RUNNING, SLOT_FINISHED };

/* A thread's place: its id stays joinable until someone reaps a finished slot. */
struct slot {
    struct dv_workers *w;
    pthread_t tid;
    enum slot_state state;
};

struct dv_workers {
    dv_loop *loop;
    dv_workers_options o;
    pthread_mutex_t lock;
    pthread_cond_t more;    /* CLOCK_MONOTONIC: a job was queued, or shutdown */
    pthread_cond_t settled; /* CLOCK_MONOTONIC: a thread went idle or exited */
    struct job *head, *tail;
    int queued;
    int threads; /* started and not yet exited */
    int idle;    /* threads waiting for a job */
    int running; /* jobs taken by a thread and not finished */
    bool stopping;
    struct slot *slots; /* max_threads */
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

static struct timespec deadline_in(int64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t total = (int64_t)ts.tv_nsec + ns % DV_NSEC_PER_SEC;
    ts.tv_sec += (time_t)(ns / DV_NSEC_PER_SEC + total / DV_NSEC_PER_SEC);
    ts.tv_nsec = (long)(total % DV_NSEC_PER_SEC);
    return ts;
}

/* Caller holds the lock. An exiting thread marks its slot finished while holding
 * the lock and needs it no more afterwards, so joining here cannot deadlock. */
static void reap_finished(dv_workers *w)
{
    for (int i = 0; i < w->o.max_threads; i++)
        if (w->slots[i].state == SLOT_FINISHED) {
            pthread_join(w->slots[i].tid, NULL);
            w->slots[i].state = SLOT_FREE;
        }
}

static void *worker_main(void *arg)
{
    struct slot *slot = arg;
    dv_workers *w = slot->w;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        bool expired = false;
        while (!w->head && !w->stopping && !expired) {
            w->idle++;
            pthread_cond_broadcast(&w->settled);
            if (w->o.idle_timeout_ns > 0) {
                struct timespec until = deadline_in(w->o.idle_timeout_ns);
                expired = pthread_cond_timedwait(&w->more, &w->lock, &until) == ETIMEDOUT;
            } else {
                pthread_cond_wait(&w->more, &w->lock);
            }
            w->idle--;
        }
        if (w->stopping || !w->head)
            break; /* shutdown, or idle long enough */
        struct job *j = w->head;
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
        w->queued--;
        w->running++;
        pthread_mutex_unlock(&w->lock);
        j->work(j->data);
        post_done(w, j);
        pthread_mutex_lock(&w->lock);
        w->running--;
    }
    w->threads--;
    bool burst_over = !w->stopping && w->threads == 0;
    slot->state = SLOT_FINISHED;
    pthread_cond_broadcast(&w->settled);
    pthread_mutex_unlock(&w->lock);
    /* The last thread of a burst leaves: what the burst's threads freed goes back to
     * the system. glibc spreads threads over several heap arenas and returns only the
     * top of a heap by itself. Three rounds of 40 tasks started and destroyed at once
     * left the agent at 18.6 MiB RSS with under 1 MiB of heap in use (malloc_stats):
     * free memory, not a leak; with this trim it was at 16.6 MiB once the threads had
     * left (a further malloc_trim from gdb gained nothing). Once per burst, on a
     * worker, never on the loop. */
    if (burst_over)
        malloc_trim(0);
    return NULL;
}

dv_workers *dv_workers_new_with(dv_loop *loop, const dv_workers_options *options)
{
    dv_workers *w = dv_xcalloc(1, sizeof(*w));
    w->o = *options;
    if (w->o.max_threads < 1)
        w->o.max_threads = 1;
    w->slots = dv_xcalloc((size_t)w->o.max_threads, sizeof(*w->slots));
    for (int i = 0; i < w->o.max_threads; i++)
        w->slots[i].w = w;
    w->loop = loop;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->more, &ca);
    pthread_cond_init(&w->settled, &ca);
    pthread_condattr_destroy(&ca);
    return w;
}

dv_workers *dv_workers_new(dv_loop *loop, int max_threads)
{
    dv_workers_options o = {
        .max_threads = max_threads, .max_queued = -1, .idle_timeout_ns = DV_WORKERS_IDLE_TIMEOUT};
    return dv_workers_new_with(loop, &o);
}

/* Caller holds the lock. Takes queued job J out of the queue. */
static void unlink_job(dv_workers *w, struct job *j)
{
    struct job **p = &w->head, *prev = NULL;
    while (*p && *p != j) {
        prev = *p;
        p = &(*p)->next;
    }
    if (!*p)
        return;
    *p = j->next;
    if (w->tail == j)
        w->tail = prev;
    w->queued--;
}

/* Caller holds the lock. A failed pthread_create only means the job waits for a
 * busy thread (dv_workers_submit refuses it when there is none). */
static void grow(dv_workers *w)
{
    if (w->idle >= w->queued || w->threads >= w->o.max_threads)
        return;
    reap_finished(w);
    for (int i = 0; i < w->o.max_threads; i++)
        if (w->slots[i].state == SLOT_FREE) {
            if (pthread_create(&w->slots[i].tid, NULL, worker_main, &w->slots[i]) == 0) {
                w->slots[i].state = SLOT_RUNNING;
                w->threads++;
            }
            return;
        }
}

int dv_workers_submit(dv_workers *w, dv_work_fn work, dv_work_done_fn done,
                      dv_work_discard_fn discard, void *data)
{
    struct job *j = dv_xcalloc(1, sizeof(*j));
    j->work = work;
    j->done = done;
    j->discard = discard;
    j->data = data;
    pthread_mutex_lock(&w->lock);
    int r = w->stopping ? -ESHUTDOWN : 0;
    if (r == 0 && w->o.max_queued >= 0 &&
        w->queued + w->running >= w->o.max_threads + w->o.max_queued)
        r = -EAGAIN;
    if (r < 0) {
        pthread_mutex_unlock(&w->lock);
        free(j);
        return r;
    }
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    grow(w);
    if (w->threads == 0) {
        /* No thread, and none could be made (pthread_create failed: a pids limit):
         * idle threads exit, so nothing would ever run the job. Refuse it now; the
         * caller answers or retries. With a thread alive, the job waits for it. */
        unlink_job(w, j);
        pthread_mutex_unlock(&w->lock);
        free(j);
        return -EAGAIN;
    }
    pthread_cond_signal(&w->more);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

int dv_workers_busy(dv_workers *w)
{
    pthread_mutex_lock(&w->lock);
    int busy = w->queued + w->running;
    pthread_mutex_unlock(&w->lock);
    return busy;
}

int dv_workers_threads(dv_workers *w)
{
    pthread_mutex_lock(&w->lock);
    int n = w->threads;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void dv_workers_stop_accepting(dv_workers *w)
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
}

int dv_workers_shutdown(dv_workers *w, int64_t timeout_ns)
{
    dv_workers_stop_accepting(w);
    struct timespec until = deadline_in(timeout_ns);
    pthread_mutex_lock(&w->lock);
    while (w->threads > 0)
        if (pthread_cond_timedwait(&w->settled, &w->lock, &until) == ETIMEDOUT)
            break;
    int left = w->threads;
    if (left == 0)
        reap_finished(w);
    pthread_mutex_unlock(&w->lock);
    return left > 0 ? -EBUSY : 0;
}

void dv_workers_free(dv_workers *w)
{
    if (!w)
        return;
    if (dv_workers_shutdown(w, INT64_MAX / 4) < 0)
        return;
    pthread_cond_destroy(&w->more);
    pthread_cond_destroy(&w->settled);
    pthread_mutex_destroy(&w->lock);
    free(w->slots);
    free(w);
}
