/* The event loop and the worker pool: ordering, cross-thread posts, timers,
 * removal from inside callbacks, shutdown discarding what cannot run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "cleanup.h"
#include "duration.h"
#include "lanes.h"
#include "loop.h"
#include "workers.h"

#define MS DV_NSEC_PER_MSEC

struct order {
    char seen[64];
    size_t n;
    int quit_after;
};

static void record(struct order *o, char c, dv_loop *loop)
{
    o->seen[o->n++] = c;
    if ((int)o->n == o->quit_after)
        dv_loop_quit(loop);
}

static void timer_a(dv_loop *loop, void *u)
{
    record(u, 'a', loop);
}
static void timer_b(dv_loop *loop, void *u)
{
    record(u, 'b', loop);
}
static void timer_c(dv_loop *loop, void *u)
{
    record(u, 'c', loop);
}

static void test_timers_fire_in_deadline_order(void **state)
{
    (void)state;
    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    struct order o = {.quit_after = 3};
    dv_timer *a = dv_timer_new(loop, timer_a, &o);
    dv_timer *b = dv_timer_new(loop, timer_b, &o);
    dv_timer *c = dv_timer_new(loop, timer_c, &o);
    dv_timer *never = dv_timer_new(loop, timer_a, &o);
    dv_timer_arm(a, 30 * MS);
    dv_timer_arm(b, 10 * MS);
    dv_timer_arm(c, 20 * MS);
    dv_timer_arm(never, 5 * MS);
    dv_timer_disarm(never);
    assert_false(dv_timer_armed(never));
    assert_true(dv_timer_armed(a));
    assert_int_equal(dv_loop_run(loop, NULL), 0);
    assert_memory_equal(o.seen, "bca", 3);
    assert_false(dv_timer_armed(a));
    dv_timer_free(never);
    dv_timer_free(b);
    dv_loop_free(loop); /* frees a and c */
}

struct self_free {
    dv_timer *t;
    int fired;
};

static void free_self(dv_loop *loop, void *u)
{
    struct self_free *s = u;
    s->fired++;
    dv_timer_free(s->t);
    s->t = NULL;
    dv_loop_quit(loop);
}

static void test_timer_frees_itself(void **state)
{
    (void)state;
    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    struct self_free s = {0};
    s.t = dv_timer_new(loop, free_self, &s);
    dv_timer_arm(s.t, 0);
    assert_int_equal(dv_loop_run(loop, NULL), 0);
    assert_int_equal(s.fired, 1);
    dv_loop_free(loop);
}

struct poster {
    dv_loop *loop;
    int id;
};

struct counts {
    int per_thread[4];
    int last[4];
    bool in_order;
    int total;
    pthread_t loop_thread;
    bool on_loop_thread;
};
static struct counts counts;

struct item {
    int thread;
    int seq;
};

static void count_msg(dv_loop *loop, void *data)
{
    struct item *it = data;
    if (it->seq != counts.last[it->thread] + 1)
        counts.in_order = false;
    counts.last[it->thread] = it->seq;
    counts.per_thread[it->thread]++;
    if (!pthread_equal(pthread_self(), counts.loop_thread))
        counts.on_loop_thread = false;
    free(it);
    if (++counts.total == 4 * 500)
        dv_loop_quit(loop);
}

static void *post_many(void *arg)
{
    struct poster *p = arg;
    for (int i = 1; i <= 500; i++) {
        struct item *it = malloc(sizeof(*it));
        *it = (struct item){p->id, i};
        assert_int_equal(dv_loop_post(p->loop, count_msg, free, it), 0);
    }
    return NULL;
}

static void test_posts_from_threads_keep_per_thread_order(void **state)
{
    (void)state;
    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    memset(&counts, 0, sizeof(counts));
    counts.in_order = true;
    counts.on_loop_thread = true;
    counts.loop_thread = pthread_self();
    pthread_t th[4];
    struct poster p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = (struct poster){loop, i};
        pthread_create(&th[i], NULL, post_many, &p[i]);
    }
    assert_int_equal(dv_loop_run(loop, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_true(counts.in_order);
    assert_true(counts.on_loop_thread);
    for (int i = 0; i < 4; i++)
        assert_int_equal(counts.per_thread[i], 500);
    dv_loop_free(loop);
}

static int discarded;
static void discard_count(void *data)
{
    (void)data;
    discarded++;
}
static void never_run(dv_loop *loop, void *data)
{
    (void)loop;
    (void)data;
    fail_msg("a message ran after close");
}

static void test_close_discards_and_refuses(void **state)
{
    (void)state;
    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    discarded = 0;
    assert_int_equal(dv_loop_post(loop, never_run, discard_count, NULL), 0);
    assert_int_equal(dv_loop_post(loop, never_run, discard_count, NULL), 0);
    dv_loop_close(loop);
    assert_int_equal(discarded, 2);
    assert_int_equal(dv_loop_post(loop, never_run, discard_count, NULL), -ESHUTDOWN);
    assert_int_equal(discarded, 2); /* refused: DATA stays the caller's */
    dv_loop_free(loop);
}

struct two_fds {
    int fd[2];
    dv_loop_watch *w[2];
    int calls;
};

static void unwatch_other(dv_loop *loop, int fd, uint32_t revents, void *userdata)
{
    (void)revents;
    struct two_fds *t = userdata;
    t->calls++;
    /* Whichever fires first removes both; the other must not be called even if it
     * is in the same epoll batch. */
    for (int i = 0; i < 2; i++) {
        if (t->w[i]) {
            dv_loop_unwatch(loop, t->w[i]);
            t->w[i] = NULL;
        }
    }
    (void)fd;
    dv_loop_quit(loop);
}

static void test_unwatch_inside_batch(void **state)
{
    (void)state;
    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    struct two_fds t = {0};
    for (int i = 0; i < 2; i++) {
        t.fd[i] = eventfd(1, EFD_CLOEXEC); /* readable right away */
        assert_int_equal(dv_loop_watch_fd(loop, t.fd[i], EPOLLIN, unwatch_other, &t, &t.w[i], NULL),
                         0);
    }
    assert_int_equal(dv_loop_run(loop, NULL), 0);
    assert_int_equal(t.calls, 1);
    close(t.fd[0]);
    close(t.fd[1]);
    dv_loop_free(loop);
}

/* B1: a watch whose fd was closed before the unwatch (while a copy of the file
 * lives on, as in a child between fork and exec) may still be reported by epoll:
 * it must never be called, nor read after being freed (ASan checks the latter). */
struct limbo {
    int calls;
    int copy;
};

static void count_call(dv_loop *loop, int fd, uint32_t revents, void *u)
{
    (void)loop;
    (void)fd;
    (void)revents;
    ((struct limbo *)u)->calls++;
}

static void close_copy(dv_loop *loop, void *u)
{
    (void)loop;
    struct limbo *l = u;
    close(l->copy);
    l->copy = -1;
}

static void quit_timer(dv_loop *loop, void *u)
{
    (void)u;
    dv_loop_quit(loop);
}

static void test_unwatch_after_close(void **state)
{
    (void)state;
    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    struct limbo l = {0};
    int fd = eventfd(1, EFD_CLOEXEC); /* readable, level-triggered: reported every turn */
    dv_loop_watch *w;
    assert_int_equal(dv_loop_watch_fd(loop, fd, EPOLLIN, count_call, &l, &w, NULL), 0);
    l.copy = dup(fd);
    close(fd); /* the contract broken: closed first */
    dv_loop_unwatch(loop, w);
    dv_timer *t1 = dv_timer_new(loop, close_copy, &l);
    dv_timer *t2 = dv_timer_new(loop, quit_timer, NULL);
    dv_timer_arm(t1, 30 * MS);
    dv_timer_arm(t2, 60 * MS);
    assert_int_equal(dv_loop_run(loop, NULL), 0);
    assert_int_equal(l.calls, 0);
    assert_int_equal(l.copy, -1);
    dv_timer_free(t1);
    dv_timer_free(t2);
    dv_loop_free(loop);
}

struct job {
    int input;
    int output;
    pthread_t worker;
};
static int jobs_done;
static bool done_on_loop;
static pthread_t loop_tid;

static void square(void *data)
{
    struct job *j = data;
    j->output = j->input * j->input;
    j->worker = pthread_self();
    usleep(2000);
}

static void square_done(dv_loop *loop, void *data)
{
    struct job *j = data;
    assert_int_equal(j->output, j->input * j->input);
    if (!pthread_equal(pthread_self(), loop_tid))
        done_on_loop = false;
    free(j);
    if (++jobs_done == 40)
        dv_loop_quit(loop);
}

static void test_workers_post_results_to_the_loop(void **state)
{
    (void)state;
    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    dv_workers *w = dv_workers_new(loop, 4);
    jobs_done = 0;
    done_on_loop = true;
    loop_tid = pthread_self();
    for (int i = 0; i < 40; i++) {
        struct job *j = calloc(1, sizeof(*j));
        j->input = i;
        assert_int_equal(dv_workers_submit(w, square, square_done, free, j), 0);
    }
    assert_int_equal(dv_loop_run(loop, NULL), 0);
    assert_true(done_on_loop);
    assert_int_equal(dv_workers_shutdown(w, 5 * DV_NSEC_PER_SEC), 0);
    assert_int_equal(dv_workers_submit(w, square, square_done, free, NULL), -ESHUTDOWN);
    dv_workers_free(w);
    dv_loop_free(loop);
}

static void slow(void *data)
{
    (void)data;
    usleep(300 * 1000);
}

static void test_shutdown_times_out_on_a_stuck_job(void **state)
{
    (void)state;
    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    dv_workers *w = dv_workers_new(loop, 1);
    discarded = 0;
    assert_int_equal(dv_workers_submit(w, slow, NULL, discard_count, NULL), 0);
    usleep(50 * 1000); /* let it start */
    assert_int_equal(dv_workers_submit(w, slow, NULL, discard_count, NULL), 0);
    assert_int_equal(dv_workers_shutdown(w, 10 * MS), -EBUSY);
    assert_int_equal(discarded, 1); /* the queued one */
    /* Once the job ends, a full shutdown joins. */
    assert_int_equal(dv_workers_shutdown(w, 5 * DV_NSEC_PER_SEC), 0);
    dv_workers_free(w);
    dv_loop_free(loop);
}

/* B3: a job blocked until released, to fill a lane. */
static atomic_int release_jobs;
static atomic_int ran;

static void blocked(void *data)
{
    (void)data;
    while (!atomic_load(&release_jobs))
        usleep(1000);
    atomic_fetch_add(&ran, 1);
}

static void quick(void *data)
{
    (void)data;
    atomic_fetch_add(&ran, 1);
}

static void quit_loop(dv_loop *loop, void *data)
{
    (void)data;
    dv_loop_quit(loop);
}

static void test_bounded_queue_and_idle_exit(void **state)
{
    (void)state;
    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    dv_workers_options o = {.max_threads = 2, .max_queued = 1, .idle_timeout_ns = 100 * MS};
    dv_workers *w = dv_workers_new_with(loop, &o);
    atomic_store(&release_jobs, 0);
    atomic_store(&ran, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(dv_workers_submit(w, blocked, NULL, NULL, NULL), 0);
    /* 2 running + 1 waiting: the lane is full and says so instead of queueing. */
    assert_int_equal(dv_workers_submit(w, blocked, NULL, NULL, NULL), -EAGAIN);
    assert_int_equal(dv_workers_busy(w), 3);
    atomic_store(&release_jobs, 1);
    for (int i = 0; i < 500 && atomic_load(&ran) < 3; i++)
        usleep(2000);
    assert_int_equal(atomic_load(&ran), 3);
    assert_int_equal(dv_workers_threads(w), 2);
    /* Idle threads leave after idle_timeout (C3), and the pool grows again on demand. */
    for (int i = 0; i < 500 && dv_workers_threads(w) > 0; i++)
        usleep(2000);
    assert_int_equal(dv_workers_threads(w), 0);
    assert_int_equal(dv_workers_submit(w, quick, NULL, NULL, NULL), 0);
    for (int i = 0; i < 500 && atomic_load(&ran) < 4; i++)
        usleep(2000);
    assert_int_equal(atomic_load(&ran), 4);
    assert_int_equal(dv_workers_shutdown(w, 5 * DV_NSEC_PER_SEC), 0);
    dv_workers_free(w);
    dv_loop_free(loop);
}

/* This test program is linked with -Wl,--wrap=pthread_create (tests/CMakeLists.txt),
 * so thread creation can be made to fail as a pids limit makes it fail. */
int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
static atomic_int refuse_threads;

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
    if (atomic_load(&refuse_threads))
        return EAGAIN;
    return __real_pthread_create(t, a, fn, arg);
}

/* A lane whose idle threads have all left, and no thread can be made: the job is
 * refused, not queued for no one to run. With a thread alive it waits for it. */
static void test_no_thread_no_job(void **state)
{
    (void)state;
    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    dv_workers_options o = {.max_threads = 2, .max_queued = -1, .idle_timeout_ns = 50 * MS};
    dv_workers *w = dv_workers_new_with(loop, &o);
    atomic_store(&release_jobs, 0);
    atomic_store(&ran, 0);
    atomic_store(&refuse_threads, 1);
    assert_int_equal(dv_workers_submit(w, quick, NULL, NULL, NULL), -EAGAIN);
    assert_int_equal(dv_workers_busy(w), 0);
    atomic_store(&refuse_threads, 0);
    assert_int_equal(dv_workers_submit(w, blocked, NULL, NULL, NULL), 0);
    atomic_store(&refuse_threads, 1);
    assert_int_equal(dv_workers_submit(w, quick, NULL, NULL, NULL), 0); /* waits for it */
    atomic_store(&refuse_threads, 0);
    atomic_store(&release_jobs, 1);
    for (int i = 0; i < 500 && atomic_load(&ran) < 2; i++)
        usleep(2000);
    assert_int_equal(atomic_load(&ran), 2);
    assert_int_equal(dv_workers_shutdown(w, 5 * DV_NSEC_PER_SEC), 0);
    dv_workers_free(w);
    dv_loop_free(loop);
}

/* B3: a full exec lane refuses, and lifecycle work still runs at once. */
static void test_full_exec_lane_does_not_delay_lifecycle(void **state)
{
    (void)state;
    dv_loop *loop;
    assert_int_equal(dv_loop_new(&loop, NULL), 0);
    dv_lanes lanes = {0};
    assert_int_equal(dv_lanes_init(&lanes, loop, NULL), 0);
    atomic_store(&release_jobs, 0);
    atomic_store(&ran, 0);
    int accepted = 0;
    for (int i = 0; i < 100; i++) {
        int r = dv_lanes_submit(&lanes, DV_LANE_EXEC, blocked, NULL, NULL, NULL);
        if (r == -EAGAIN)
            break;
        assert_int_equal(r, 0);
        accepted++;
    }
    assert_true(accepted > 0 && accepted < 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(dv_lanes_submit(&lanes, DV_LANE_STOP, blocked, NULL, NULL, NULL), 0);
    /* Lifecycle work finishes while every exec and stop is still blocked. */
    assert_int_equal(dv_lanes_submit(&lanes, DV_LANE_LIFECYCLE, quick, quit_loop, NULL, NULL), 0);
    assert_int_equal(dv_loop_run(loop, NULL), 0);
    assert_int_equal(atomic_load(&ran), 1);
    atomic_store(&release_jobs, 1);
    assert_int_equal(dv_lanes_shutdown(&lanes, 10 * DV_NSEC_PER_SEC), 0);
    dv_lanes_free(&lanes);
    dv_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_fire_in_deadline_order),
        cmocka_unit_test(test_timer_frees_itself),
        cmocka_unit_test(test_posts_from_threads_keep_per_thread_order),
        cmocka_unit_test(test_close_discards_and_refuses),
        cmocka_unit_test(test_unwatch_inside_batch),
        cmocka_unit_test(test_unwatch_after_close),
        cmocka_unit_test(test_workers_post_results_to_the_loop),
        cmocka_unit_test(test_shutdown_times_out_on_a_stuck_job),
        cmocka_unit_test(test_bounded_queue_and_idle_exit),
        cmocka_unit_test(test_no_thread_no_job),
        cmocka_unit_test(test_full_exec_lane_does_not_delay_lifecycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
