/* Unit tests for docklog's journald writer: the native protocol on the wire (plain
 * and binary-safe fields, the sealed memfd for large entries), Docker's fields, the
 * 16 KiB split, retries and the retry policy's waits, and the wait on a full queue (one
 * sleep, then the kernel). The receiving end is a local datagram socket standing in for
 * journald so the bytes can be checked; tests/integration has the real one. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "config.h"
#include "journal_retry.h"
#include "journal_sink.h"
#include "stop_signals.h"
#include "test_support.h"

/* A fresh directory for journald's stand-in, its socket's path in PATH. */
static char *socket_dir(char path[4096])
{
    char *dir = dv_test_tmpdir("dl-journal");
    snprintf(path, 4096, "%s/socket", dir);
    return dir;
}

/* Receive one entry (datagram or memfd) as raw bytes; *ret_memfd tells which. */
static void receive(int fd, dv_buf *out, bool *ret_memfd)
{
    static char buf[1 << 20];
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.b,
                        .msg_controllen = sizeof(control.b)};
    ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    assert_true(n >= 0);
    dv_buf_reset(out);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    *ret_memfd = c && c->cmsg_type == SCM_RIGHTS;
    if (*ret_memfd) {
        assert_int_equal(n, 0);
        int mfd;
        memcpy(&mfd, CMSG_DATA(c), sizeof(int));
        /* journald insists on a sealed memfd */
        int seals = fcntl(mfd, F_GET_SEALS);
        assert_true(seals & F_SEAL_WRITE);
        assert_true(seals & F_SEAL_SHRINK);
        assert_true(seals & F_SEAL_GROW);
        struct stat st;
        fstat(mfd, &st);
        char *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, mfd, 0);
        assert_true(m != MAP_FAILED);
        dv_buf_append(out, m, (size_t)st.st_size);
        munmap(m, (size_t)st.st_size);
        close(mfd);
    } else {
        dv_buf_append(out, buf, (size_t)n);
    }
}

/* Decode the native protocol: the value of NAME (first occurrence). */
static bool field(const dv_buf *e, const char *name, char *value, size_t size, size_t *ret_len)
{
    const char *p = e->data, *end = e->data + e->len;
    while (p < end) {
        size_t nlen = strcspn(p, "=\n");
        assert_true(p + nlen < end);
        const char *v;
        size_t vlen;
        if (p[nlen] == '=') {
            v = p + nlen + 1;
            const char *nl = memchr(v, '\n', (size_t)(end - v));
            assert_non_null(nl);
            vlen = (size_t)(nl - v);
        } else {
            uint64_t le = 0;
            for (int k = 7; k >= 0; k--)
                le = le << 8 | (unsigned char)p[nlen + 1 + k];
            v = p + nlen + 9;
            vlen = (size_t)le;
            assert_int_equal(v[vlen], '\n');
        }
        if (nlen == strlen(name) && strncmp(p, name, nlen) == 0) {
            size_t keep = vlen < size ? vlen : size - 1;
            memcpy(value, v, keep);
            value[keep] = '\0';
            if (ret_len)
                *ret_len = vlen;
            return true;
        }
        p = v + vlen + 1;
    }
    return false;
}

static dl_config config(const char *socket_path)
{
    dl_config c = {0};
    c.container_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    c.container_name = "web-1111";
    c.image = "dockvisor-test/payload:1";
    c.task_id = "11111111-2222-4333-8444-555555555555";
    c.task_name = "web";
    c.journald.enabled = true;
    c.journald.identifier = "web-ident";
    c.journald.socket = (char *)socket_path;
    return c;
}

static void test_fields_and_wire_format(void **state)
{
    (void)state;
    char path[4096];
    _cleanup_free_ char *dir = socket_dir(path);
    int srv = dv_test_bind_dgram(path);
    dl_config c = config(path);
    dl_journal_sink sink;
    dv_error err;
    assert_int_equal(dl_journal_sink_open(&sink, &c, &err), 0);
    _cleanup_buf_ dv_buf e = DV_BUF_INIT;
    char v[1 << 16];
    bool memfd;

    /* stdout line: trailing newline removed, PRIORITY 6, every Docker field. */
    assert_int_equal(dl_journal_sink_write(&sink, DL_STDOUT, "2024-05-01T12:34:56.000000001Z",
                                           "hello world\n", 12, NULL, &err),
                     0);
    receive(srv, &e, &memfd);
    assert_false(memfd);
    struct {
        const char *name, *value;
    } want[] = {
        {"MESSAGE", "hello world"},
        {"PRIORITY", "6"},
        {"CONTAINER_ID", "0123456789ab"},
        {"CONTAINER_ID_FULL", c.container_id},
        {"CONTAINER_NAME", "web-1111"},
        {"CONTAINER_TAG", "0123456789ab"},
        {"IMAGE_NAME", "dockvisor-test/payload:1"},
        {"SYSLOG_IDENTIFIER", "web-ident"},
        {"SYSLOG_TIMESTAMP", "2024-05-01T12:34:56.000000001Z"},
        {"DOCKVISOR_TASK_ID", c.task_id},
    };
    for (size_t i = 0; i < DV_ARRAY_SIZE(want); i++) {
        if (!field(&e, want[i].name, v, sizeof(v), NULL))
            fail_msg("no field %s in %.*s", want[i].name, (int)e.len, e.data);
        assert_string_equal(v, want[i].value);
    }
    assert_false(field(&e, "CONTAINER_PARTIAL_MESSAGE", v, sizeof(v), NULL));

    /* stderr, a message holding a newline (binary-safe encoding), and a partial line. */
    assert_int_equal(dl_journal_sink_write(&sink, DL_STDERR, "2024-05-01T12:34:56Z", "two\nlines",
                                           9, NULL, &err),
                     0);
    receive(srv, &e, &memfd);
    assert_true(field(&e, "PRIORITY", v, sizeof(v), NULL));
    assert_string_equal(v, "3");
    assert_true(field(&e, "MESSAGE", v, sizeof(v), NULL));
    assert_string_equal(v, "two\nlines");
    assert_true(field(&e, "CONTAINER_PARTIAL_MESSAGE", v, sizeof(v), NULL));
    assert_string_equal(v, "true");

    /* A 40 KiB line: three pieces of at most 16 KiB, all but the last partial. */
    static char big[40 * 1024 + 1];
    for (size_t i = 0; i < sizeof(big) - 1; i++)
        big[i] = (char)('a' + i % 26);
    big[sizeof(big) - 1] = '\n';
    assert_int_equal(dl_journal_sink_write(&sink, DL_STDOUT, "2024-05-01T12:34:56Z", big,
                                           sizeof(big), NULL, &err),
                     0);
    size_t total = 0;
    for (int piece = 0; piece < 3; piece++) {
        size_t len;
        receive(srv, &e, &memfd);
        assert_true(field(&e, "MESSAGE", v, sizeof(v), &len));
        assert_true(len <= DL_JOURNAL_PIECE_MAX);
        assert_memory_equal(v, big + total, len);
        total += len;
        assert_int_equal(field(&e, "CONTAINER_PARTIAL_MESSAGE", v, sizeof(v), NULL), piece < 2);
    }
    assert_int_equal(total, sizeof(big) - 1);

    /* A live entry: no SYSLOG_TIMESTAMP (journald's own receive time is as good),
     * every other field still there. */
    assert_int_equal(dl_journal_sink_write(&sink, DL_STDOUT, NULL, "live\n", 5, NULL, &err), 0);
    receive(srv, &e, &memfd);
    assert_false(field(&e, "SYSLOG_TIMESTAMP", v, sizeof(v), NULL));
    assert_true(field(&e, "DOCKVISOR_TASK_ID", v, sizeof(v), NULL));
    assert_true(field(&e, "MESSAGE", v, sizeof(v), NULL));
    assert_string_equal(v, "live");

    /* The memfd path (used when a datagram is too large) carries the same bytes. */
    sink.journal.force_memfd = true;
    assert_int_equal(dl_journal_sink_write(&sink, DL_STDOUT, "2024-05-01T12:34:56Z", "via memfd\n",
                                           10, NULL, &err),
                     0);
    receive(srv, &e, &memfd);
    assert_true(memfd);
    assert_true(field(&e, "MESSAGE", v, sizeof(v), NULL));
    assert_string_equal(v, "via memfd");
    assert_true(field(&e, "SYSLOG_IDENTIFIER", v, sizeof(v), NULL));
    assert_string_equal(v, "web-ident");

    dl_journal_sink_close(&sink);
    close(srv);
    dv_test_rm_rf(dir);
}

struct retry_state {
    const char *path;
    int srv;
    unsigned calls;
    unsigned give_up_at;
};

static bool wait_cb(void *userdata, unsigned attempt, const dv_error *last)
{
    struct retry_state *rs = userdata;
    rs->calls++;
    assert_int_equal(attempt, rs->calls);
    assert_non_null(strstr(last->msg, "journal"));
    if (rs->give_up_at && attempt >= rs->give_up_at)
        return true;
    if (attempt == 3)
        rs->srv = dv_test_bind_dgram(rs->path); /* journald comes up */
    return false;
}

/* A late entry's SYSLOG_TIMESTAMP is Docker's stamp cut to the millisecond, so that
 * the entries of one millisecond of a flood share one value (one journald data
 * object) instead of each making its own. */
static void test_late_stamp_to_the_millisecond(void **state)
{
    (void)state;
    static const struct {
        int64_t ts;
        const char *want;
    } cases[] = {
        {1714566896123456789LL, "2024-05-01T12:34:56.123Z"},
        {1714566896123000000LL, "2024-05-01T12:34:56.123Z"},
        {1714566896123999999LL, "2024-05-01T12:34:56.123Z"}, /* cut, not rounded */
        {1714566896100000001LL, "2024-05-01T12:34:56.1Z"},
        {1714566896000999999LL, "2024-05-01T12:34:56Z"},
        {0, "1970-01-01T00:00:00Z"},
        {-1, "1969-12-31T23:59:59.999Z"}, /* towards the past before the epoch too */
    };
    char buf[DV_TIMESTAMP_MAX];
    for (size_t i = 0; i < DV_ARRAY_SIZE(cases); i++) {
        dl_journal_late_stamp(cases[i].ts, buf);
        assert_string_equal(buf, cases[i].want);
        int64_t back;
        assert_int_equal(dv_timestamp_parse(buf, strlen(buf), &back, NULL), 0);
        assert_true(back <= cases[i].ts && cases[i].ts - back < DV_NSEC_PER_MSEC);
    }
}

static void test_retry_until_journald_is_back(void **state)
{
    (void)state;
    char path[4096];
    _cleanup_free_ char *dir = socket_dir(path);
    dl_config c = config(path);
    dl_journal_sink sink;
    dv_error err;
    assert_int_equal(dl_journal_sink_open(&sink, &c, &err), 0);
    struct retry_state rs = {.path = path, .srv = -1};
    dl_retry retry = {.wait = wait_cb, .userdata = &rs};
    assert_int_equal(
        dl_journal_sink_write(&sink, DL_STDOUT, "2024-05-01T12:34:56Z", "kept\n", 5, &retry, &err),
        0);
    assert_int_equal(rs.calls, 3);
    _cleanup_buf_ dv_buf e = DV_BUF_INIT;
    bool memfd;
    char v[256];
    receive(rs.srv, &e, &memfd);
    assert_true(field(&e, "MESSAGE", v, sizeof(v), NULL));
    assert_string_equal(v, "kept");
    close(rs.srv);

    /* Gone again, and the caller asks to stop while retrying: -EINTR, not a drop. */
    unlink(path);
    struct retry_state rs2 = {.path = path, .srv = -1, .give_up_at = 2};
    retry.userdata = &rs2;
    assert_int_equal(
        dl_journal_sink_write(&sink, DL_STDOUT, "2024-05-01T12:34:56Z", "x\n", 2, &retry, &err),
        -EINTR);
    assert_int_equal(rs2.calls, 2);
    /* Without a retry policy the send error is returned as is. */
    assert_true(
        dl_journal_sink_write(&sink, DL_STDOUT, "2024-05-01T12:34:56Z", "x\n", 2, NULL, &err) < 0);
    assert_int_not_equal(err.code, -EINTR);
    dl_journal_sink_close(&sink);
    dv_test_rm_rf(dir);
}

static void test_pause_adapts_to_what_a_wake_up_sends(void **state)
{
    (void)state;
    const int64_t first = DL_JOURNAL_PAUSE_FIRST_NS;
    assert_int_equal(dl_journal_pause(first, 0), 2 * first); /* nothing fitted: longer */
    assert_int_equal(dl_journal_pause(first, 2), 2 * first);
    for (unsigned sent = 3; sent <= 7; sent++) /* the aim: kept */
        assert_int_equal(dl_journal_pause(first, sent), first);
    assert_int_equal(dl_journal_pause(first, 8), first / 2); /* the queue ran dry: shorter */
    assert_int_equal(dl_journal_pause(first, 500), first / 2);
    /* Within the bounds. */
    assert_int_equal(dl_journal_pause(DL_JOURNAL_PAUSE_MAX_NS, 0), DL_JOURNAL_PAUSE_MAX_NS);
    assert_int_equal(dl_journal_pause(DL_JOURNAL_PAUSE_MAX_NS - 1, 0), DL_JOURNAL_PAUSE_MAX_NS);
    assert_int_equal(dl_journal_pause(DL_JOURNAL_PAUSE_MIN_NS, 100), DL_JOURNAL_PAUSE_MIN_NS);
    assert_int_equal(dl_journal_pause(DL_JOURNAL_PAUSE_MIN_NS + 1, 100), DL_JOURNAL_PAUSE_MIN_NS);
}

static const dl_journal_field one_field[] = {{"MESSAGE", "m", 1}};

/* Fill the receiver's queue: the entries that fit, then the send that would have
 * blocked (-EAGAIN after the timeout). Returns how many fit. */
static unsigned fill_queue(dl_journal *j)
{
    unsigned fit = 0;
    dv_error err;
    int64_t t0 = dv_monotonic_ns();
    while (dl_journal_send(j, one_field, 1, &err) == 0)
        fit++;
    assert_int_equal(err.code, -EAGAIN);
    /* It waited for room before giving up (an upper bound only against a hang). */
    int64_t waited = dv_monotonic_ns() - t0;
    assert_true(waited >= DL_JOURNAL_SEND_TIMEOUT_NS);
    assert_true(waited < 10 * DL_JOURNAL_SEND_TIMEOUT_NS);
    return fit;
}

struct sender {
    dl_journal *j;
    pid_t tid;
    int r;
};

static void *send_one(void *userdata)
{
    struct sender *s = userdata;
    __atomic_store_n(&s->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
    dv_error err;
    s->r = dl_journal_send(s->j, one_field, 1, &err);
    return NULL;
}

static void count_call(void *userdata)
{
    __atomic_add_fetch((unsigned *)userdata, 1, __ATOMIC_RELAXED);
}

/* While journald's queue stays full, the sender, after its one sleep, waits in the
 * kernel's queue of blocked senders (journald wakes one of them per free slot; timed
 * sleeps throughout made hundreds of helpers a herd of timer wake-ups), and runs the
 * caller's hook between the slices of that wait. Once there is room the entry goes,
 * in order; a queue that stays full gives -EAGAIN after the timeout. */
static void test_full_queue_waits_in_the_kernel(void **state)
{
    (void)state;
    char path[4096];
    _cleanup_free_ char *dir = socket_dir(path);
    int srv = dv_test_bind_dgram(path);
    dl_journal j;
    dv_error err;
    assert_int_equal(dl_journal_open(&j, path, &err), 0);
    /* The caller's hook runs while it waits (docklog holds Docker's new files). */
    unsigned waits = 0;
    dl_journal_on_wait(&j, count_call, &waits);
    unsigned fit = fill_queue(&j);
    assert_true(fit > 0);
    assert_true(waits > 0);

    struct sender s = {.j = &j, .r = 1};
    unsigned before = __atomic_load_n(&waits, __ATOMIC_RELAXED);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, send_one, &s), 0);
    pid_t tid;
    while ((tid = __atomic_load_n(&s.tid, __ATOMIC_ACQUIRE)) == 0)
        usleep(100);
    /* 200 ms: four slices of the wait in the kernel. */
    unsigned sleeping = 0, in_send = 0;
    for (int i = 0; i < 1000; i++) {
        long nr = dv_test_waiting_in(getpid(), tid);
        if (nr == SYS_clock_nanosleep)
            sleeping++;
        else if (nr == SYS_sendmsg)
            in_send++;
        usleep(200);
    }
    assert_true(sleeping + in_send >= 50);
    assert_true(in_send > sleeping);
    assert_true(__atomic_load_n(&waits, __ATOMIC_RELAXED) - before >= 2);

    /* Room for one: the waiting entry goes, after the ones before it. */
    _cleanup_buf_ dv_buf e = DV_BUF_INIT;
    bool memfd;
    receive(srv, &e, &memfd);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(s.r, 0);
    for (unsigned i = 0; i < fit; i++)
        receive(srv, &e, &memfd);
    char ch;
    assert_true(recv(srv, &ch, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN);
    dl_journal_on_wait(&j, NULL, NULL);
    dl_journal_close(&j);
    close(srv);
    dv_test_rm_rf(dir);
}

/* journald down: docklog's retry waits 50 ms doubling to 5 s, and runs the journal's
 * wait hook between slices of each wait, so Docker's new files are held through an
 * outage as through a stall; a stop request ends the wait. */
static void test_retry_holds_files_through_an_outage(void **state)
{
    (void)state;
    assert_int_equal(dl_journal_retry_delay(1), 50 * DV_NSEC_PER_MSEC);
    assert_int_equal(dl_journal_retry_delay(2), 100 * DV_NSEC_PER_MSEC);
    assert_int_equal(dl_journal_retry_delay(7), 3200 * DV_NSEC_PER_MSEC);
    assert_int_equal(dl_journal_retry_delay(8), 5 * DV_NSEC_PER_SEC);
    assert_int_equal(dl_journal_retry_delay(1000), 5 * DV_NSEC_PER_SEC);

    char path[4096];
    _cleanup_free_ char *dir = socket_dir(path); /* nothing listens: journald is down */
    dl_journal j;
    dl_signals signals;
    dv_error err;
    assert_int_equal(dl_journal_open(&j, path, &err), 0);
    assert_int_equal(dl_signals_open(&signals, &err), 0);
    unsigned waits = 0;
    dl_journal_on_wait(&j, count_call, &waits);
    dl_journal_retry jr = {.signals = &signals, .journal = &j};
    assert_true(dl_journal_send(&j, one_field, 1, &err) < 0);
    /* 50 + 100 + 200 ms: one slice, two, four. */
    for (unsigned attempt = 1; attempt <= 3; attempt++)
        assert_false(dl_journal_retry_wait(&jr, attempt, &err));
    assert_int_equal(waits, 1 + 2 + 4);

    /* A stop request ends a 5 s wait at once. */
    raise(SIGTERM); /* blocked by dl_signals_open: read from its fd */
    int64_t t0 = dv_monotonic_ns();
    assert_true(dl_journal_retry_wait(&jr, 8, &err));
    assert_true(dv_monotonic_ns() - t0 < 5 * DV_NSEC_PER_SEC);

    /* No journal (journald output off) and no hook: the wait is only a wait. */
    jr.journal = NULL;
    signals.stop = false;
    assert_false(dl_journal_retry_wait(&jr, 1, &err));
    dl_signals_close(&signals);
    dl_journal_close(&j);
    dv_test_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_and_wire_format),
        cmocka_unit_test(test_late_stamp_to_the_millisecond),
        cmocka_unit_test(test_retry_until_journald_is_back),
        cmocka_unit_test(test_pause_adapts_to_what_a_wake_up_sends),
        cmocka_unit_test(test_full_queue_waits_in_the_kernel),
        cmocka_unit_test(test_retry_holds_files_through_an_outage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
