#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "clock.h"
#include "xalloc.h"

struct dv_loop_watch {
    dv_loop_io_fn fn;
    void *userdata;
    int fd;
    bool dead; /* unwatched during a dispatch batch: skip, free after the batch */
    struct dv_loop_watch *next;
};

struct dv_timer {
    dv_loop *loop;
    dv_timer_fn fn;
    void *userdata;
    bool armed;
    int64_t due_ns; /* CLOCK_MONOTONIC */
    struct dv_timer *prev, *next;
};

struct msg {
    dv_loop_msg_fn run;
    dv_loop_discard_fn discard;
    void *data;
    struct msg *next;
};

struct dv_loop {
    int epfd;
    int wakefd;  /* eventfd: posted messages and quit */
    int timerfd; /* one timerfd for all dv_timers */
    dv_loop_watch *wake_watch, *timer_watch;
    dv_loop_watch *watches;   /* live watches (for freeing) */
    dv_loop_watch *graveyard; /* unwatched, freed after the current batch */
    /* Unwatched after their fd had been closed (a caller breaking the contract): the
     * registration outlives the fd number while anyone (a child between fork and
     * exec) holds a copy of the file, so epoll may still hand these out. They stay
     * allocated (dead, skipped) until dv_loop_free rather than becoming a
     * use-after-free. */
    dv_loop_watch *limbo;
    dv_timer *timers;
    bool timers_dirty;     /* timerfd must be reprogrammed before sleeping */
    int64_t programmed_ns; /* deadline currently in the timerfd, 0 = none */
    atomic_bool quit;
    atomic_uint_least64_t wakeups;

    pthread_mutex_t lock; /* protects the message queue and `closed` */
    struct msg *head, *tail;
    bool closed;
};

static void wake(dv_loop *loop)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: the loop wakes anyway. */
    if (write(loop->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        abort(); /* a broken eventfd would silently stall the agent */
}

static void free_msgs(struct msg *m)
{
    while (m) {
        struct msg *next = m->next;
        if (m->discard)
            m->discard(m->data);
        free(m);
        m = next;
    }
}

static void run_messages(dv_loop *loop, int fd, uint32_t revents, void *userdata)
{
    (void)fd;
    (void)revents;
    (void)userdata;
    uint64_t n;
    if (read(loop->wakefd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        abort();
    pthread_mutex_lock(&loop->lock);
    struct msg *m = loop->head;
    loop->head = loop->tail = NULL;
    pthread_mutex_unlock(&loop->lock);
    while (m) {
        struct msg *next = m->next;
        if (atomic_load(&loop->quit)) {
            /* Quit was requested by an earlier message: keep the rest for
             * dv_loop_close()/dv_loop_free() to discard, in order. */
            pthread_mutex_lock(&loop->lock);
            struct msg *last = m;
            while (last->next)
                last = last->next;
            last->next = loop->head;
            if (!loop->head)
                loop->tail = last;
            loop->head = m;
            pthread_mutex_unlock(&loop->lock);
            return;
        }
        m->run(loop, m->data);
        free(m);
        m = next;
    }
}

static void program_timerfd(dv_loop *loop)
{
    int64_t min = 0;
    for (dv_timer *t = loop->timers; t; t = t->next)
        if (t->armed && (min == 0 || t->due_ns < min))
            min = t->due_ns;
    loop->timers_dirty = false;
    if (min == loop->programmed_ns)
        return;
    struct itimerspec its = {0};
    if (min > 0) { /* absolute monotonic time, never all-zero (that would disarm) */
        its.it_value.tv_sec = min / 1000000000;
        its.it_value.tv_nsec = min % 1000000000;
    }
    if (timerfd_settime(loop->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        abort();
    loop->programmed_ns = min;
}

static void run_timers(dv_loop *loop, int fd, uint32_t revents, void *userdata)
{
    (void)fd;
    (void)revents;
    (void)userdata;
    uint64_t n;
    if (read(loop->timerfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        abort();
    loop->programmed_ns = 0;
    loop->timers_dirty = true;
    int64_t now = dv_monotonic_ns();
    /* Rescan after each callback: it may have freed or re-armed any timer. */
    for (;;) {
        if (atomic_load(&loop->quit))
            return;
        dv_timer *due = NULL;
        for (dv_timer *t = loop->timers; t; t = t->next)
            if (t->armed && t->due_ns <= now && (!due || t->due_ns < due->due_ns))
                due = t;
        if (!due)
            return;
        due->armed = false;
        due->fn(loop, due->userdata);
    }
}

int dv_loop_new(dv_loop **ret, dv_error *err)
{
    dv_loop *loop = dv_xcalloc(1, sizeof(*loop));
    loop->epfd = loop->wakefd = loop->timerfd = -1;
    pthread_mutex_init(&loop->lock, NULL);
    int r;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        r = dv_error_errno(err, errno, "epoll_create1");
        goto fail;
    }
    loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wakefd < 0) {
        r = dv_error_errno(err, errno, "eventfd");
        goto fail;
    }
    loop->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (loop->timerfd < 0) {
        r = dv_error_errno(err, errno, "timerfd_create");
        goto fail;
    }
    r = dv_loop_watch_fd(loop, loop->wakefd, EPOLLIN, run_messages, NULL, &loop->wake_watch, err);
    if (r < 0)
        goto fail;
    r = dv_loop_watch_fd(loop, loop->timerfd, EPOLLIN, run_timers, NULL, &loop->timer_watch, err);
    if (r < 0)
        goto fail;
    *ret = loop;
    return 0;
fail:
    dv_loop_free(loop);
    return r;
}

void dv_loop_close(dv_loop *loop)
{
    pthread_mutex_lock(&loop->lock);
    loop->closed = true;
    struct msg *m = loop->head;
    loop->head = loop->tail = NULL;
    pthread_mutex_unlock(&loop->lock);
    free_msgs(m);
}

void dv_loop_free(dv_loop *loop)
{
    if (!loop)
        return;
    dv_loop_close(loop);
    for (dv_loop_watch *w = loop->watches; w;) {
        dv_loop_watch *next = w->next;
        free(w);
        w = next;
    }
    for (dv_loop_watch *w = loop->graveyard; w;) {
        dv_loop_watch *next = w->next;
        free(w);
        w = next;
    }
    for (dv_loop_watch *w = loop->limbo; w;) {
        dv_loop_watch *next = w->next;
        free(w);
        w = next;
    }
    for (dv_timer *t = loop->timers; t;) {
        dv_timer *next = t->next;
        free(t);
        t = next;
    }
    dv_closep(&loop->timerfd);
    dv_closep(&loop->wakefd);
    dv_closep(&loop->epfd);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
}

int dv_loop_watch_fd(dv_loop *loop, int fd, uint32_t events, dv_loop_io_fn fn, void *userdata,
                     dv_loop_watch **ret, dv_error *err)
{
    dv_loop_watch *w = dv_xcalloc(1, sizeof(*w));
    w->fn = fn;
    w->userdata = userdata;
    w->fd = fd;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int r = dv_error_errno(err, errno, "epoll_ctl add fd %d", fd);
        free(w);
        return r;
    }
    w->next = loop->watches;
    loop->watches = w;
    if (ret)
        *ret = w;
    return 0;
}

void dv_loop_unwatch(dv_loop *loop, dv_loop_watch *watch)
{
    if (!watch)
        return;
    bool deleted = epoll_ctl(loop->epfd, EPOLL_CTL_DEL, watch->fd, NULL) == 0;
    for (dv_loop_watch **p = &loop->watches; *p; p = &(*p)->next)
        if (*p == watch) {
            *p = watch->next;
            break;
        }
    watch->dead = true;
    if (!deleted) { /* EBADF or ENOENT: its fd was closed (maybe reused) first */
        watch->next = loop->limbo;
        loop->limbo = watch;
        return;
    }
    /* The current epoll batch may still point at it. */
    watch->next = loop->graveyard;
    loop->graveyard = watch;
}

dv_timer *dv_timer_new(dv_loop *loop, dv_timer_fn fn, void *userdata)
{
    dv_timer *t = dv_xcalloc(1, sizeof(*t));
    t->loop = loop;
    t->fn = fn;
    t->userdata = userdata;
    t->next = loop->timers;
    if (t->next)
        t->next->prev = t;
    loop->timers = t;
    return t;
}

void dv_timer_arm(dv_timer *timer, int64_t delay_ns)
{
    if (delay_ns < 0)
        delay_ns = 0;
    timer->armed = true;
    timer->due_ns = dv_monotonic_ns() + delay_ns;
    timer->loop->timers_dirty = true;
}

void dv_timer_disarm(dv_timer *timer)
{
    if (timer && timer->armed) {
        timer->armed = false;
        timer->loop->timers_dirty = true;
    }
}

bool dv_timer_armed(const dv_timer *timer)
{
    return timer && timer->armed;
}

void dv_timer_free(dv_timer *timer)
{
    if (!timer)
        return;
    dv_loop *loop = timer->loop;
    if (timer->prev)
        timer->prev->next = timer->next;
    else
        loop->timers = timer->next;
    if (timer->next)
        timer->next->prev = timer->prev;
    if (timer->armed)
        loop->timers_dirty = true;
    free(timer);
}

int dv_loop_post(dv_loop *loop, dv_loop_msg_fn run, dv_loop_discard_fn discard, void *data)
{
    struct msg *m = dv_xcalloc(1, sizeof(*m));
    m->run = run;
    m->discard = discard;
    m->data = data;
    pthread_mutex_lock(&loop->lock);
    if (loop->closed) {
        pthread_mutex_unlock(&loop->lock);
        free(m);
        return -ESHUTDOWN;
    }
    if (loop->tail)
        loop->tail->next = m;
    else
        loop->head = m;
    loop->tail = m;
    pthread_mutex_unlock(&loop->lock);
    wake(loop);
    return 0;
}

void dv_loop_quit(dv_loop *loop)
{
    atomic_store(&loop->quit, true);
    wake(loop);
}

uint64_t dv_loop_wakeups(const dv_loop *loop)
{
    return atomic_load(&loop->wakeups);
}

int dv_loop_run(dv_loop *loop, dv_error *err)
{
    struct epoll_event events[32];
    while (!atomic_load(&loop->quit)) {
        if (loop->timers_dirty)
            program_timerfd(loop);
        int n = epoll_wait(loop->epfd, events, (int)DV_ARRAY_SIZE(events), -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return dv_error_errno(err, errno, "epoll_wait");
        }
        atomic_fetch_add(&loop->wakeups, 1);
        for (int i = 0; i < n && !atomic_load(&loop->quit); i++) {
            dv_loop_watch *w = events[i].data.ptr;
            if (!w->dead)
                w->fn(loop, w->fd, events[i].events, w->userdata);
        }
        while (loop->graveyard) {
            dv_loop_watch *next = loop->graveyard->next;
            free(loop->graveyard);
            loop->graveyard = next;
        }
    }
    return 0;
}
