/* conn_hold SOCKET N KIND SECONDS: a client that holds N connections to a Unix
 * stream socket, for the API lockout tests (issue 12 item 5), without python or
 * socat.
 *
 * KIND is what each connection sends once connected:
 *   half    half a request (request line and a header, never the empty line)
 *   tls     the start of a TLS ClientHello (never a line end)
 *   idle    nothing
 *   mix     nine in ten "half", the rest "tls"
 *   events  a whole "GET /v1/events" request (the answer is a stream)
 * Connects are non-blocking: a connect the server's backlog refuses is counted
 * as failed, not waited for. Prints "ready" once all were tried, then watches
 * the connections for SECONDS (or until SIGTERM) and prints one line:
 *   connected=N failed=N open=N closed=N s200=N s400=N s408=N s503=N sother=N
 *   first_close_ms=N last_close_ms=N     (-1: none closed)
 * A connection counts as closed when the server ends it (EOF or reset); sNNN
 * counts the status lines received. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static const char half[] = "GET /v1/node HTTP/1.1\r\nHost: dockvisor\r\n";
static const char events[] = "GET /v1/events HTTP/1.1\r\nHost: dockvisor\r\n\r\n";
/* record header (handshake, TLS 1.0), length 0x00c8, ClientHello, ... */
static const char tls[] = "\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03\x5a\x1b\x2c\x3d";

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: conn_hold SOCKET N half|tls|idle|mix|events SECONDS\n");
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "conn_hold: socket path too long\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    int n = atoi(argv[2]);
    const char *kind = argv[3];
    int secs = atoi(argv[4]);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGPIPE, SIG_IGN);

    struct pollfd *p = calloc((size_t)n, sizeof(*p));
    int *status = calloc((size_t)n, sizeof(*status));
    if (!p || !status)
        return 1;
    int connected = 0, failed = 0;
    /* A full backlog (EAGAIN) is retried for a while: the server may just not
     * have accepted the previous ones yet. A server that accepts nothing more
     * costs the helper 5 s in all, not per connection. */
    long long retry_until = now_ms() + 5000;
    for (int i = 0; i < n; i++) {
        p[i].fd = -1;
        int fd = -1;
        for (;;) {
            fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (fd < 0) {
                perror("conn_hold: socket");
                break;
            }
            if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                break;
            int e = errno;
            close(fd);
            fd = -1;
            if (e != EAGAIN || now_ms() >= retry_until)
                break;
            usleep(2000);
        }
        if (fd < 0) {
            failed++;
            continue;
        }
        connected++;
        const char *msg = NULL;
        size_t len = 0;
        if (strcmp(kind, "half") == 0 || (strcmp(kind, "mix") == 0 && i % 10 != 9))
            msg = half, len = sizeof(half) - 1;
        else if (strcmp(kind, "tls") == 0 || strcmp(kind, "mix") == 0)
            msg = tls, len = sizeof(tls) - 1;
        else if (strcmp(kind, "events") == 0)
            msg = events, len = sizeof(events) - 1;
        if (msg && send(fd, msg, len, MSG_NOSIGNAL) < 0) {
            /* already closed by the server: seen below */
        }
        p[i].fd = fd;
        p[i].events = POLLIN;
    }
    printf("ready\n");
    fflush(stdout);

    long long start = now_ms(), first = -1, last = -1;
    int open = connected, closed = 0;
    while (!stop && open > 0 && (secs <= 0 || now_ms() - start < secs * 1000LL)) {
        int r = poll(p, (nfds_t)n, 100);
        if (r < 0 && errno != EINTR)
            break;
        for (int i = 0; r > 0 && i < n; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            char buf[4096];
            ssize_t got = recv(p[i].fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
            if (got > 0) {
                buf[got] = '\0';
                int code;
                if (!status[i] && sscanf(buf, "HTTP/1.%*d %d", &code) == 1)
                    status[i] = code;
                continue;
            }
            if (got < 0 && errno == EAGAIN)
                continue;
            close(p[i].fd);
            p[i].fd = -1;
            open--;
            closed++;
            last = now_ms() - start;
            if (first < 0)
                first = last;
        }
    }
    int s200 = 0, s400 = 0, s408 = 0, s503 = 0, sother = 0;
    for (int i = 0; i < n; i++) {
        if (status[i] == 200)
            s200++;
        else if (status[i] == 400)
            s400++;
        else if (status[i] == 408)
            s408++;
        else if (status[i] == 503)
            s503++;
        else if (status[i])
            sother++;
    }
    printf("connected=%d failed=%d open=%d closed=%d s200=%d s400=%d s408=%d s503=%d sother=%d "
           "first_close_ms=%lld last_close_ms=%lld\n",
           connected, failed, open, closed, s200, s400, s408, s503, sother, first, last);
    return 0;
}
