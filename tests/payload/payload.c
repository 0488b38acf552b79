/* payload: a static test program put into a FROM-scratch image.
 *
 * usage: payload STEP [ARGS] [-- STEP [ARGS]]...
 *   lines N [RATE] [SIZE]  print N numbered lines alternating stdout (odd) and
 *                          stderr (even): "<n> stdout|stderr <padding>"; RATE lines/s
 *                          (0 = as fast as possible); SIZE pads each line to SIZE bytes
 *   stdout-lines N [SIZE]  N numbered lines on stdout only, as fast as possible
 *   fast N [SIZE]          N numbered lines "<n> fast xxx" on stdout, SIZE bytes each
 *                          (default 100), written in 64 KiB blocks: the most a
 *                          container can log (benchmarks)
 *   exit CODE              exit with CODE
 *   sleep [SECONDS]        sleep (forever without SECONDS)
 *   ignore-term            ignore SIGTERM and SIGINT, then continue with the next step
 *   signals                report every signal received on stdout ("signal N NAME");
 *                          SIGTERM/SIGINT exit with 128+signal after reporting
 *   http PORT [BODY]       serve "HTTP/1.0 200" with BODY on 0.0.0.0:PORT until
 *                          SIGTERM or SIGINT, then exit 0
 *   env                    print the environment
 *   memhog MB              allocate and touch MB MiB (to trigger an OOM kill)
 * Steps run in order; the program exits 0 after the last one. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t last_signal;

static void die(const char *msg)
{
    fprintf(stderr, "payload: %s\n", msg);
    exit(2);
}

static long num(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s)
        die(what);
    return v;
}

static void pace(long rate, long i)
{
    if (rate <= 0)
        return;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000000L / rate};
    if (rate == 1)
        ts = (struct timespec){.tv_sec = 1};
    (void)i;
    nanosleep(&ts, NULL);
}

static void emit(FILE *f, long n, const char *stream, long size)
{
    char line[65536];
    int len = snprintf(line, sizeof(line), "%ld %s", n, stream);
    if (size > (long)sizeof(line) - 1)
        size = sizeof(line) - 1;
    while (len < size - 1) {
        line[len] = len % 10 == 0 ? ' ' : 'x';
        len++;
    }
    line[len++] = '\n';
    fwrite(line, 1, (size_t)len, f);
    fflush(f);
}

static void lines(long count, long rate, long size, int both)
{
    for (long i = 1; i <= count; i++) {
        int err = both && i % 2 == 0;
        emit(err ? stderr : stdout, i, err ? "stderr" : "stdout", size);
        pace(rate, i);
    }
}

static void fast(long count, long size)
{
    static char block[1 << 16];
    size_t used = 0;
    if (size < 16)
        size = 16;
    if (size > (long)sizeof(block))
        size = sizeof(block);
    for (long i = 1; i <= count; i++) {
        if (used + (size_t)size > sizeof(block)) {
            if (fwrite(block, 1, used, stdout) != used)
                die("write failed");
            used = 0;
        }
        char *line = block + used;
        int len = snprintf(line, (size_t)size, "%ld fast ", i);
        if (len > size - 1)
            len = (int)size - 1; /* truncated by snprintf */
        memset(line + len, 'x', (size_t)(size - len - 1));
        line[size - 1] = '\n';
        used += (size_t)size;
    }
    if (fwrite(block, 1, used, stdout) != used)
        die("write failed");
    fflush(stdout);
}

static void report(int sig)
{
    last_signal = sig;
}

/* Signals stay blocked except inside sigsuspend(), and the handler masks every other
 * signal, so each one is reported exactly once and in order: a signal that arrives
 * while we print (before we wait again) is not lost or overwritten by the next one. */
/* "pause": what an infra container runs, as Kubernetes' pause: nothing, until
 * SIGTERM or SIGINT ends it at once (as PID 1 a signal without a handler would be
 * ignored, and every stop would wait for the kill); children are reaped. */
static void on_pause_signal(int sig)
{
    if (sig == SIGCHLD) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        return;
    }
    _exit(0);
}

static void pause_mode(void)
{
    signal(SIGTERM, on_pause_signal);
    signal(SIGINT, on_pause_signal);
    signal(SIGCHLD, on_pause_signal);
    for (;;)
        pause();
}

static void signals_mode(void)
{
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &all, NULL);
    struct sigaction sa = {.sa_handler = report, .sa_mask = all};
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
            sigaction(s, &sa, NULL);
    printf("waiting for signals\n");
    fflush(stdout);
    for (;;) {
        last_signal = 0;
        sigsuspend(&none); /* returns after exactly one handler ran: the rest stay pending */
        int s = last_signal;
        if (!s)
            continue;
        printf("signal %d %s\n", s, sigabbrev_np(s) ? sigabbrev_np(s) : "?");
        fflush(stdout);
        if (s == SIGTERM || s == SIGINT)
            exit(128 + s);
    }
}

static void http_mode(long port, const char *body)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0)
        die("cannot listen");
    printf("listening on %ld\n", port);
    fflush(stdout);
    signal(SIGPIPE, SIG_IGN);
    /* Like a real server, and unlike PID 1's default: SIGTERM/SIGINT end it cleanly.
     * No SA_RESTART, so a signal interrupts accept(). */
    struct sigaction sa = {.sa_handler = report};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    for (;;) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (last_signal) {
            printf("shutting down on %s\n", sigabbrev_np(last_signal));
            exit(0);
        }
        if (c < 0)
            continue;
        char req[4096];
        ssize_t n = read(c, req, sizeof(req) - 1);
        if (n > 0) {
            req[n] = '\0';
            char *eol = strpbrk(req, "\r\n");
            if (eol)
                *eol = '\0';
            printf("request: %s\n", req);
            fflush(stdout);
        }
        char head[256];
        int hl =
            snprintf(head, sizeof(head),
                     "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n",
                     strlen(body));
        if (write(c, head, (size_t)hl) < 0 || write(c, body, strlen(body)) < 0)
            fprintf(stderr, "write failed\n");
        close(c);
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (argc < 2)
        die("usage: payload STEP [ARGS] [-- STEP [ARGS]]...");
    for (int i = 1; i < argc;) {
        int end = i;
        while (end < argc && strcmp(argv[end], "--") != 0)
            end++;
        int n = end - i;
        char **a = argv + i;
        if (strcmp(a[0], "lines") == 0 && n >= 2)
            lines(num(a[1], "bad N"), n > 2 ? num(a[2], "bad RATE") : 0,
                  n > 3 ? num(a[3], "bad SIZE") : 0, 1);
        else if (strcmp(a[0], "stdout-lines") == 0 && n >= 2)
            lines(num(a[1], "bad N"), 0, n > 2 ? num(a[2], "bad SIZE") : 0, 0);
        else if (strcmp(a[0], "fast") == 0 && n >= 2)
            fast(num(a[1], "bad N"), n > 2 ? num(a[2], "bad SIZE") : 100);
        else if (strcmp(a[0], "exit") == 0 && n == 2)
            exit((int)num(a[1], "bad CODE"));
        else if (strcmp(a[0], "sleep") == 0) {
            if (n > 1)
                sleep((unsigned)num(a[1], "bad SECONDS"));
            else
                for (;;)
                    pause();
        } else if (strcmp(a[0], "ignore-term") == 0) {
            signal(SIGTERM, SIG_IGN);
            signal(SIGINT, SIG_IGN);
            printf("ignoring SIGTERM\n");
            fflush(stdout);
        } else if (strcmp(a[0], "signals") == 0)
            signals_mode();
        else if (strcmp(a[0], "pause") == 0)
            pause_mode();
        else if (strcmp(a[0], "http") == 0 && n >= 2)
            http_mode(num(a[1], "bad PORT"), n > 2 ? a[2] : "hello from payload\n");
        else if (strcmp(a[0], "env") == 0) {
            for (char **e = environ; *e; e++)
                printf("%s\n", *e);
            fflush(stdout);
        } else if (strcmp(a[0], "memhog") == 0 && n == 2) {
            long mb = num(a[1], "bad MB");
            for (long m = 0; m < mb; m++) {
                char *p = malloc(1 << 20);
                if (!p)
                    die("malloc failed");
                memset(p, 1, 1 << 20);
            }
            printf("allocated %ld MiB\n", mb);
            fflush(stdout);
        } else {
            fprintf(stderr, "payload: unknown step \"%s\"\n", a[0]);
            exit(2);
        }
        fflush(stdout);
        i = end + 1;
    }
    return 0;
}
