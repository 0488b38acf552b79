#include "record_writer.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "uuid.h"
#include "xalloc.h"

struct op {
    struct op *next;
    uint64_t seq; /* the ticket of the first call it stands for */
    char task_id[DV_UUID_STRLEN + 1];
    bool remove;
    char *text; /* a save's */
    size_t len;
};

struct failure {
    struct failure *next;
    char task_id[DV_UUID_STRLEN + 1];
    bool removing;
    dv_error err;
};

struct dv_record_writer {
    dv_state_store *store;
    dv_record_writer_options o;

    pthread_mutex_t lock;
    pthread_cond_t work;     /* the thread: something queued, or stop */
    pthread_cond_t progress; /* waiters: done moved on */
    struct op *head, *tail;  /* queued, oldest first (seq grows along it) */
    struct op *busy;         /* the one the thread carries out now, or NULL */
    uint64_t issued;         /* the last ticket handed out */
    uint64_t done;           /* every ticket <= done is done */
    bool stopping;
    bool running; /* the thread runs (false: new, or after stop) */
    pthread_t thread;

    struct failure *failures; /* not yet handed to FAILED, newest first */
    bool report_posted;       /* a message to hand them over is queued on the loop */
};

static void op_free(struct op *op)
{
    if (!op)
        return;
    free(op->text);
    free(op);
}

/* Caller holds the lock. Tickets not standing for any op (a call folded into an
 * older op) are done with the op before them. */
static void advance(dv_record_writer *w)
{
    uint64_t d = w->issued;
    if (w->busy)
        d = w->busy->seq - 1;
    else if (w->head)
        d = w->head->seq - 1;
    if (d > w->done) {
        w->done = d;
        pthread_cond_broadcast(&w->progress);
    }
}

static int carry_out(dv_record_writer *w, const struct op *op, dv_error *err)
{
    if (op->remove)
        return dv_state_store_remove_task_synced(w->store, op->task_id, w->o.sync, err);
    return dv_state_store_write_task_text(w->store, op->task_id, op->text, op->len, w->o.sync, err);
}

static void report(dv_loop *loop, void *data);

static void report_discard(void *data)
{
    (void)data; /* what is left is reported by dv_record_writer_free */
}

/* Caller holds the lock. */
static void note_failure(dv_record_writer *w, const struct op *op, const dv_error *err)
{
    struct failure *f = dv_xcalloc(1, sizeof(*f));
    memcpy(f->task_id, op->task_id, sizeof(f->task_id));
    f->removing = op->remove;
    f->err = *err;
    f->next = w->failures;
    w->failures = f;
    if (!w->report_posted && w->o.loop && dv_loop_post(w->o.loop, report, report_discard, w) == 0)
        w->report_posted = true;
}

/* The failures in the order they happened; the list is the caller's. */
static struct failure *take_failures(dv_record_writer *w)
{
    struct failure *rev = NULL, *f = w->failures;
    while (f) {
        struct failure *next = f->next;
        f->next = rev;
        rev = f;
        f = next;
    }
    w->failures = NULL;
    return rev;
}

static void hand_over(dv_record_writer *w, struct failure *f)
{
    while (f) {
        struct failure *next = f->next;
        if (w->o.failed)
            w->o.failed(w->o.userdata, f->task_id, f->removing, &f->err);
        free(f);
        f = next;
    }
}

static void report(dv_loop *loop, void *data)
{
    (void)loop;
    dv_record_writer *w = data;
    pthread_mutex_lock(&w->lock);
    w->report_posted = false;
    struct failure *f = take_failures(w);
    pthread_mutex_unlock(&w->lock);
    hand_over(w, f);
}

/* Caller holds the lock; the op is dropped from the queue and done with. */
static void run_one_locked(dv_record_writer *w)
{
    struct op *op = w->head;
    w->head = op->next;
    if (!w->head)
        w->tail = NULL;
    w->busy = op;
    pthread_mutex_unlock(&w->lock);
    dv_error err;
    dv_error_clear(&err);
    int r = carry_out(w, op, &err);
    pthread_mutex_lock(&w->lock);
    if (r < 0)
        note_failure(w, op, &err);
    w->busy = NULL;
    advance(w);
    op_free(op);
}

static void *writer_main(void *data)
{
    dv_record_writer *w = data;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (w->head) {
            run_one_locked(w);
            continue;
        }
        if (w->stopping)
            break;
        pthread_cond_wait(&w->work, &w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int dv_record_writer_new(dv_state_store *store, const dv_record_writer_options *options,
                         dv_record_writer **ret, dv_error *err)
{
    assert(store && options);
    dv_record_writer *w = dv_xcalloc(1, sizeof(*w));
    w->store = store;
    w->o = *options;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->progress, NULL);
    /* Signals belong to the loop's signalfd: none may land on this thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&w->thread, NULL, writer_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        pthread_cond_destroy(&w->progress);
        pthread_cond_destroy(&w->work);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return dv_error_errno(err, -r, "start the record writer thread");
    }
    pthread_setname_np(w->thread, "dv-records");
    w->running = true;
    *ret = w;
    return 0;
}

/* Caller holds the lock. The newest op of TASK_ID not begun yet, or NULL: none
 * queued (the one under way, if any, is not in the queue: a new op goes after it). */
static struct op *newest_queued(dv_record_writer *w, const char *task_id)
{
    struct op *found = NULL;
    for (struct op *op = w->head; op; op = op->next)
        if (strcmp(op->task_id, task_id) == 0)
            found = op;
    return found;
}

static uint64_t enqueue(dv_record_writer *w, const char *task_id, bool remove, char *text,
                        size_t len)
{
    assert(strlen(task_id) == DV_UUID_STRLEN);
    pthread_mutex_lock(&w->lock);
    uint64_t ticket = ++w->issued;
    if (!w->running) {
        /* Stopped: at once, here (shutdown's last saves). */
        struct op op = {.seq = ticket, .remove = remove, .text = text, .len = len};
        memcpy(op.task_id, task_id, sizeof(op.task_id));
        dv_error err;
        dv_error_clear(&err);
        if (carry_out(w, &op, &err) < 0)
            note_failure(w, &op, &err);
        free(text);
        advance(w);
        pthread_mutex_unlock(&w->lock);
        return ticket;
    }
    struct op *op = newest_queued(w, task_id);
    if (op) {
        /* Folded into the op in the queue: it keeps its place, so every ticket
         * up to this one is done once it is. */
        free(op->text);
        op->remove = remove;
        op->text = text;
        op->len = len;
    } else {
        op = dv_xcalloc(1, sizeof(*op));
        op->seq = ticket;
        memcpy(op->task_id, task_id, sizeof(op->task_id));
        op->remove = remove;
        op->text = text;
        op->len = len;
        if (w->tail)
            w->tail->next = op;
        else
            w->head = op;
        w->tail = op;
        pthread_cond_signal(&w->work);
    }
    pthread_mutex_unlock(&w->lock);
    return ticket;
}

uint64_t dv_record_writer_save(dv_record_writer *w, const char *task_id, char *text, size_t len)
{
    assert(text);
    return enqueue(w, task_id, false, text, len);
}

uint64_t dv_record_writer_remove(dv_record_writer *w, const char *task_id)
{
    return enqueue(w, task_id, true, NULL, 0);
}

uint64_t dv_record_writer_latest(dv_record_writer *w)
{
    pthread_mutex_lock(&w->lock);
    uint64_t t = w->issued;
    pthread_mutex_unlock(&w->lock);
    return t;
}

void dv_record_writer_wait(dv_record_writer *w, uint64_t ticket)
{
    pthread_mutex_lock(&w->lock);
    assert(!w->running || !pthread_equal(pthread_self(), w->thread));
    while (w->done < ticket)
        pthread_cond_wait(&w->progress, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

bool dv_record_writer_pending(dv_record_writer *w, const char *task_id)
{
    pthread_mutex_lock(&w->lock);
    bool pending =
        (w->busy && strcmp(w->busy->task_id, task_id) == 0) || newest_queued(w, task_id) != NULL;
    pthread_mutex_unlock(&w->lock);
    return pending;
}

void dv_record_writer_stop(dv_record_writer *w)
{
    pthread_mutex_lock(&w->lock);
    if (!w->running) {
        pthread_mutex_unlock(&w->lock);
        return;
    }
    w->stopping = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_lock(&w->lock);
    w->running = false;
    advance(w);
    pthread_mutex_unlock(&w->lock);
}

void dv_record_writer_free(dv_record_writer *w)
{
    if (!w)
        return;
    dv_record_writer_stop(w);
    hand_over(w, take_failures(w));
    pthread_cond_destroy(&w->progress);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
