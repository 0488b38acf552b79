#include "sync_gate.h"

#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool held, overdue;
static int waiting;
static int fail_errno;
static unsigned files;

static struct timespec deadline_in(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

void dv_sync_gate_reset(void)
{
    pthread_mutex_lock(&lock);
    held = overdue = false;
    fail_errno = 0;
    files = 0;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

void dv_sync_gate_hold(bool hold)
{
    pthread_mutex_lock(&lock);
    held = hold;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

void dv_sync_gate_fail(int errno_value)
{
    pthread_mutex_lock(&lock);
    fail_errno = errno_value;
    pthread_mutex_unlock(&lock);
}

int dv_sync_gate_sync(int fd)
{
    struct stat st;
    bool file = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    pthread_mutex_lock(&lock);
    if (file)
        files++;
    struct timespec end = deadline_in(10000);
    waiting++;
    pthread_cond_broadcast(&cond);
    while (held && !overdue)
        if (pthread_cond_timedwait(&cond, &lock, &end) == ETIMEDOUT)
            overdue = true;
    waiting--;
    int fail = file ? fail_errno : 0;
    pthread_mutex_unlock(&lock);
    if (fail) {
        errno = fail;
        return -1;
    }
    return fsync(fd);
}

bool dv_sync_gate_wait_held(int timeout_ms)
{
    pthread_mutex_lock(&lock);
    struct timespec end = deadline_in(timeout_ms);
    int r = 0;
    while (!(held && waiting > 0) && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&cond, &lock, &end);
    bool ok = held && waiting > 0;
    pthread_mutex_unlock(&lock);
    return ok;
}

unsigned dv_sync_gate_files(void)
{
    pthread_mutex_lock(&lock);
    unsigned n = files;
    pthread_mutex_unlock(&lock);
    return n;
}

bool dv_sync_gate_overdue(void)
{
    pthread_mutex_lock(&lock);
    bool o = overdue;
    pthread_mutex_unlock(&lock);
    return o;
}
