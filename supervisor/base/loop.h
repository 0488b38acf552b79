/* The agent's event loop: one thread, one epoll set.
 *
 * Contract:
 * - Everything registered here (fd watches, timers, posted messages) runs on
 *   the thread that calls dv_loop_run(), one callback at a time, so state owned
 *   by the loop (the task table) needs no locks.
 * - dv_loop_post() is the only entry point for other threads: it queues a
 *   message and wakes the loop through an eventfd. Messages run in FIFO order.
 *   A message that can no longer run (the loop was closed or freed) is handed
 *   to its discard function instead, so its data is never leaked.
 * - Timers share one timerfd (CLOCK_MONOTONIC): an idle loop with no armed
 *   timer sleeps in epoll_wait without any timeout (no polling).
 * - Watches and timers may be removed or freed from inside any callback,
 *   including their own.
 */
#ifndef DV_LOOP_H
#define DV_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

typedef struct dv_loop dv_loop;
typedef struct dv_loop_watch dv_loop_watch;
typedef struct dv_timer dv_timer;

typedef void (*dv_loop_io_fn)(dv_loop *loop, int fd, uint32_t revents, void *userdata);
typedef void (*dv_timer_fn)(dv_loop *loop, void *userdata);
typedef void (*dv_loop_msg_fn)(dv_loop *loop, void *data);
typedef void (*dv_loop_discard_fn)(void *data);

int dv_loop_new(dv_loop **ret, dv_error *err);
/* Discards queued messages, frees remaining watches (not their fds) and timers. */
void dv_loop_free(dv_loop *loop);

/* Watch FD for EVENTS (EPOLLIN, ...). The fd stays owned by the caller and must
 * be unwatched before it is closed: epoll keeps a closed fd's registration while
 * another copy of the file exists (a child between fork and exec), so a watch
 * closed first could still be reported after it was freed. (Defensively, a watch
 * unwatched after its fd was closed is kept allocated and silent until
 * dv_loop_free.) */
int dv_loop_watch_fd(dv_loop *loop, int fd, uint32_t events, dv_loop_io_fn fn, void *userdata,
                     dv_loop_watch **ret, dv_error *err);
void dv_loop_unwatch(dv_loop *loop, dv_loop_watch *watch);

/* A timer starts disarmed. Arming an armed timer moves its deadline. Never NULL. */
dv_timer *dv_timer_new(dv_loop *loop, dv_timer_fn fn, void *userdata);
void dv_timer_arm(dv_timer *timer, int64_t delay_ns);
void dv_timer_disarm(dv_timer *timer);
bool dv_timer_armed(const dv_timer *timer);
void dv_timer_free(dv_timer *timer);

/* From any thread. Returns 0, -ESHUTDOWN once the loop no longer accepts
 * messages (DATA is then still the caller's). */
int dv_loop_post(dv_loop *loop, dv_loop_msg_fn run, dv_loop_discard_fn discard, void *data);

/* Run until dv_loop_quit(). Returns 0, or a negative code if epoll itself failed. */
int dv_loop_run(dv_loop *loop, dv_error *err);
/* From any thread: make dv_loop_run() return after the current callback. */
void dv_loop_quit(dv_loop *loop);
/* Stop accepting posts; queued messages are discarded. Used at shutdown so
 * threads that finish late never touch freed agent state. */
void dv_loop_close(dv_loop *loop);

/* Number of epoll wakeups so far (for /v1/metrics: an idle agent should not wake). */
uint64_t dv_loop_wakeups(const dv_loop *loop);

#endif
